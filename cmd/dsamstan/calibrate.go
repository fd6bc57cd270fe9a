package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/calibrate"
)

type calibrateOptions struct {
	io      streams
	Config  string
	Sims    int
	Jobs    int
	Out     string
	Seed    int64
	SeedSet bool
	Warmup  int
	Samples int
	Alpha   float64
	CmdStan string
}

func newCalibrateCmd(io streams, runF func(*calibrateOptions) error) *cobra.Command {
	opts := &calibrateOptions{io: io}
	cmd := &cobra.Command{
		Use:   "calibrate CONFIG --sims N [--jobs N] [--out DIR] [--seed N]",
		Short: "Simulation-based calibration of a config's model on its own design",
		Long: `Check that the model of a run config, fitted as a run fits it, recovers what its priors
say (simulation-based calibration). Each of --sims simulations draws every parameter from
the priors the fitted program uses (population coefficients normal(mean, sd) truncated to
their boundaries, group scales normal truncated at 0, correlations LKJ, noise_sd from its
family), simulates the response on the config's own data design (predictors, groups,
offset, fixed media transforms), fits it with the config's fit.mcmc settings (chains,
warmup, iter, adapt_delta, max_treedepth; --warmup and --samples override them) and
records the rank of each true value among the posterior draws, thinned by the smallest
bulk ESS so that they are close to independent. All simulations share one compiled
program; only the data file changes.

The output folder (--out, else <outputs.root_dir>/YYYYMMDD_HHMMSS_<model.name>_calibrate/):

  calibration.csv          per parameter: n_sims, bins, chi_square, p_value (uniformity of
                           the ranks), flagged, coverage_90 (share of central 90% intervals
                           holding the truth), mean_z, contraction
  calibration_ranks.csv    sim,parameter,rank,n_draws, appended as each simulation ends
  calibration_sims.csv     per simulation: seed, divergences, thinning, min ESS, max Rhat
  rank_histograms_<k>.png  rank histograms with the 99% band of uniform ranks
  verdict.txt              "calibrated", or "not calibrated: <parameters> (…)" when a
                           parameter's p-value is below --alpha over the number of
                           parameters (Bonferroni)

--jobs simulations run at once (default: one per CPU), each running its chains
max(1, CPUs / jobs) at a time: independent simulations keep the CPUs busier than a
simulation's chains of unequal length. Ctrl-C stops the chains, summarises the simulations that finished
and exits 130.

Refused: a config that estimates media transforms (transforms.<column>.adstock.decay,
.saturation.half_saturation or .saturation.shape set to estimate), whose true values
would change the design; and fit.method optimise, which has no posterior draws.`,
		Example: `  dsamstan example hierarchical --out panel
  dsamstan calibrate panel/config.yaml --sims 100
  dsamstan calibrate panel/config.yaml --sims 30 --warmup 300 --samples 300 --out panel/sbc --seed 7`,
		Args: exactArgs(1, "CONFIG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = args[0]
			opts.CmdStan, _ = cmd.Flags().GetString("cmdstan")
			opts.SeedSet = cmd.Flags().Changed("seed")
			switch {
			case !cmd.Flags().Changed("sims"):
				return flagErrorf("--sims is required: the number of simulations, e.g. --sims 100")
			case opts.Sims < 1:
				return flagErrorf("--sims is %d; must be at least 1", opts.Sims)
			case opts.Jobs < 0:
				return flagErrorf("--jobs is %d; must be at least 1 (or 0 for one per CPU)", opts.Jobs)
			case opts.Warmup < 0 || opts.Samples < 0:
				return flagErrorf("--warmup and --samples must be at least 1 (got %d and %d)", opts.Warmup, opts.Samples)
			case opts.SeedSet && (opts.Seed < 0 || opts.Seed > 1<<32-1-int64(opts.Sims)):
				return flagErrorf("--seed is %d; must be between 0 and %d for %d simulations", opts.Seed, int64(1<<32-1)-int64(opts.Sims), opts.Sims)
			case !(opts.Alpha > 0 && opts.Alpha < 1):
				return flagErrorf("--alpha is %g; must be between 0 and 1", opts.Alpha)
			}
			if runF != nil {
				return runF(opts)
			}
			return runCalibrate(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Sims, "sims", 0, "number of simulations (required)")
	cmd.Flags().IntVar(&opts.Jobs, "jobs", 0, "simulations at once (default one per CPU)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "output folder (default <outputs.root_dir>/<timestamp>_<model.name>_calibrate)")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 0, "simulation i uses seed+i for its draws and its chains (default fit.mcmc.seed)")
	cmd.Flags().IntVar(&opts.Warmup, "warmup", 0, "warmup iterations per chain (default fit.mcmc.warmup)")
	cmd.Flags().IntVar(&opts.Samples, "samples", 0, "draws per chain (default fit.mcmc.iter - warmup)")
	cmd.Flags().Float64Var(&opts.Alpha, "alpha", 0.01, "family-wise level of the uniformity tests (Bonferroni over the parameters)")
	return cmd
}

func runCalibrate(ctx context.Context, opts *calibrateOptions) error {
	co := calibrate.Options{
		ConfigPath: opts.Config, Out: opts.Out, Sims: opts.Sims, Jobs: opts.Jobs,
		Warmup: opts.Warmup, Samples: opts.Samples, Alpha: opts.Alpha,
		CmdStanDir: opts.CmdStan, Log: opts.io.Err,
	}
	if opts.SeedSet {
		co.Seed = &opts.Seed
	}
	res, err := calibrate.Run(ctx, co)
	if res != nil && res.Sims > 0 {
		printCalibration(opts.io.Out, res)
	}
	if err != nil {
		if res != nil && res.Dir != "" {
			fmt.Fprintf(opts.io.Err, "Output folder: %s\n", res.Dir)
		}
		return interruption(ctx, err)
	}
	return nil
}

// printCalibration prints the least uniform parameters, the divergences and the verdict.
func printCalibration(w io.Writer, res *calibrate.Result) {
	ps := slices.Clone(res.Params)
	slices.SortStableFunc(ps, func(a, b calibrate.ParamSummary) int { return cmp.Compare(a.P, b.P) })
	fmt.Fprintf(w, "%d simulations, %d parameters; least uniform ranks:\n", res.Sims, len(ps))
	fmt.Fprintf(w, "  %-40s %10s %12s %8s\n", "parameter", "p_value", "coverage_90", "mean_z")
	for _, p := range ps[:min(10, len(ps))] {
		fmt.Fprintf(w, "  %-40s %10.3g %12.2f %8.2f\n", p.Parameter, p.P, p.Coverage90, p.MeanZ)
	}
	fmt.Fprintf(w, "Simulations with divergent transitions: %d of %d\n", res.Divergent, res.Sims)
	fmt.Fprintf(w, "Verdict: %s\n", res.Verdict)
	fmt.Fprintf(w, "Output folder: %s\n", res.Dir)
}
