package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/batch"
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

	// Slurm
	Executor    string
	Status      string
	Resume      string
	Partition   string
	Time        time.Duration
	Mem         string
	CPUs        int
	NoWait      bool
	Poll        time.Duration
	SimsPerTask int
	jobsSet     bool
	// SimTask and Index run one array task of a Slurm study (hidden: the job script's).
	SimTask string
	Index   int
}

func newCalibrateCmd(io streams, runF func(*calibrateOptions) error) *cobra.Command {
	opts := &calibrateOptions{io: io}
	cmd := &cobra.Command{
		Use:   "calibrate CONFIG --sims N [--jobs N] [--out DIR] [--seed N] [--executor slurm --out DIR] | calibrate --status DIR | calibrate --resume DIR",
		Short: "Simulation-based calibration of a config's model on its own design",
		Long: `Check that the model of a run config, fitted as a run fits it, recovers what its priors
say (simulation-based calibration). Each of --sims simulations draws every parameter from
the priors the fitted program uses (population coefficients normal(mean, sd) truncated to
their boundaries, group scales normal truncated at 0, correlations LKJ, noise_sd from its
family, estimated media transforms from theirs), simulates the response on the config's
own data design (predictors, groups, offset, media transforms at the drawn values), fits it with the config's fit.mcmc settings (chains,
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

--executor slurm runs the simulations as one Slurm job array instead (--out DIR is then
required: the study folder, on a filesystem every node sees). The program is compiled
once, through the compile cache, before anything is submitted; each array task runs
"dsamstan calibrate --sim-task DIR --index i" with this same binary for --sims-per-task
consecutive simulations (default ceil(sims / 100): at most 100 tasks), exactly as a local
calibration runs them (same seeds, same ranks), and writes each one's result to
DIR/sims/sim_NNNN.json. dsamstan watches squeue and scontrol (never sacct), prints each
change, and when every task has ended gathers the results into the files above; --no-wait
returns after submitting. Ctrl-C cancels the array with scancel. --status DIR prints each
task's state (pending, running, completed, failed and why) and gathers what finished,
saying how many simulations are missing; --resume DIR resubmits the tasks that failed,
whose finished simulations are kept. --partition, --time, --mem, --cpus and --jobs (tasks
at once) go to sbatch.

Refused: pooling.enabled, whose pooled coefficients it cannot draw yet; and
fit.method optimise, which has no posterior draws.`,
		Example: `  dsamstan example hierarchical --out panel
  dsamstan calibrate panel/config.yaml --sims 100
  dsamstan calibrate panel/config.yaml --sims 30 --warmup 300 --samples 300 --out panel/sbc --seed 7

  # on a Slurm cluster: 1000 simulations as 100 array tasks of 10, at most 20 at once
  dsamstan calibrate panel/config.yaml --sims 1000 --executor slurm --out /shared/sbc --time 2h --mem 4G --cpus 4 --jobs 20
  dsamstan calibrate --status /shared/sbc
  dsamstan calibrate --resume /shared/sbc`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.CmdStan, _ = cmd.Flags().GetString("cmdstan")
			if done, err := checkCalibrateFolderFlags(cmd, opts, args); done || err != nil {
				if err == nil && runF != nil {
					return runF(opts)
				}
				if err == nil {
					return runCalibrateFolder(cmd.Context(), opts)
				}
				return err
			}
			if err := exactArgs(1, "CONFIG")(cmd, args); err != nil {
				return err
			}
			opts.Config = args[0]
			if err := checkCalibrateSlurmFlags(cmd, opts); err != nil {
				return err
			}
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
	cmd.Flags().IntVar(&opts.Jobs, "jobs", 0, "simulations at once (default one per CPU); with --executor slurm, array tasks at once (default all)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "output folder (default <outputs.root_dir>/<timestamp>_<model.name>_calibrate)")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 0, "simulation i uses seed+i for its draws and its chains (default fit.mcmc.seed)")
	cmd.Flags().IntVar(&opts.Warmup, "warmup", 0, "warmup iterations per chain (default fit.mcmc.warmup)")
	cmd.Flags().IntVar(&opts.Samples, "samples", 0, "draws per chain (default fit.mcmc.iter - warmup)")
	cmd.Flags().Float64Var(&opts.Alpha, "alpha", 0.01, "family-wise level of the uniformity tests (Bonferroni over the parameters)")
	f := cmd.Flags()
	f.StringVar(&opts.Executor, "executor", batch.Local, "where the simulations run: local (this machine) or slurm (a job array; needs --out)")
	f.StringVar(&opts.Status, "status", "", "print the state of each array task of the Slurm study folder DIR and gather what finished")
	f.StringVar(&opts.Resume, "resume", "", "resubmit the array tasks of the Slurm study folder DIR that did not finish")
	f.StringVar(&opts.Partition, "partition", "", "Slurm partition (default: the cluster's default)")
	f.DurationVar(&opts.Time, "time", 0, "Slurm time limit per array task, e.g. 30m (default: the partition's)")
	f.StringVar(&opts.Mem, "mem", "", "Slurm memory per array task, e.g. 4G (default: the partition's)")
	f.IntVar(&opts.CPUs, "cpus", 0, "Slurm CPUs per array task: the chains of a simulation run this many at a time (default: one)")
	f.BoolVar(&opts.NoWait, "no-wait", false, "return once the Slurm array is submitted; follow it with --status")
	f.DurationVar(&opts.Poll, "poll", 10*time.Second, "how often to ask Slurm about the tasks")
	f.IntVar(&opts.SimsPerTask, "sims-per-task", 0, "simulations per Slurm array task (default ceil(sims / 100))")
	f.StringVar(&opts.SimTask, "sim-task", "", "run one array task of the Slurm study folder DIR (the job script's)")
	f.IntVar(&opts.Index, "index", -1, "the array task --sim-task runs")
	f.MarkHidden("sim-task")
	f.MarkHidden("index")
	return cmd
}

// slurmFlags are the flags that only mean something to a Slurm study.
var slurmFlags = []string{"partition", "time", "mem", "cpus", "no-wait", "poll", "sims-per-task"}

// checkCalibrateFolderFlags checks the forms that take a study folder instead of a config
// (--status, --resume, --sim-task); done says one of them was given.
func checkCalibrateFolderFlags(cmd *cobra.Command, opts *calibrateOptions, args []string) (done bool, err error) {
	opts.jobsSet = cmd.Flags().Changed("jobs")
	n := 0
	for _, s := range []string{opts.Status, opts.Resume, opts.SimTask} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		if cmd.Flags().Changed("index") {
			return false, flagErrorf("--index goes with --sim-task")
		}
		return false, nil
	case n > 1:
		return true, flagErrorf("give one of --status, --resume and --sim-task")
	case len(args) > 0:
		return true, flagErrorf("--status and --resume take the study folder, not a config: the study's config is in its %s", "calibration_study.json")
	}
	for _, name := range []string{"sims", "out", "executor", "seed", "warmup", "samples", "alpha", "cmdstan"} {
		if cmd.Flags().Changed(name) {
			return true, flagErrorf("--%s is fixed when a study is submitted; --status, --resume and --sim-task use the study folder's own", name)
		}
	}
	if opts.SimTask != "" && opts.Index < 0 {
		return true, flagErrorf("--sim-task needs --index, the array task to run")
	}
	if opts.Status != "" {
		for _, name := range slurmFlags {
			if cmd.Flags().Changed(name) {
				return true, flagErrorf("--%s goes with a submission or --resume, not --status", name)
			}
		}
	}
	if opts.Jobs < 0 || opts.CPUs < 0 || opts.Time < 0 || opts.Poll <= 0 {
		return true, flagErrorf("--jobs, --cpus, --time and --poll must be positive")
	}
	if cmd.Flags().Changed("sims-per-task") {
		return true, flagErrorf("--sims-per-task is fixed when a study is submitted")
	}
	return true, nil
}

// checkCalibrateSlurmFlags checks --executor and the Slurm settings of a new study.
func checkCalibrateSlurmFlags(cmd *cobra.Command, opts *calibrateOptions) error {
	switch opts.Executor {
	case batch.Local:
		for _, name := range slurmFlags {
			if cmd.Flags().Changed(name) {
				return flagErrorf("--%s is a Slurm setting; add --executor slurm", name)
			}
		}
	case batch.Slurm:
		if opts.Out == "" {
			return flagErrorf("--executor slurm needs --out DIR, a study folder on the filesystem every node sees")
		}
		if opts.Time < 0 || opts.Poll <= 0 || opts.CPUs < 0 || opts.SimsPerTask < 0 {
			return flagErrorf("--time, --poll, --cpus and --sims-per-task must be positive")
		}
	default:
		return flagErrorf("--executor is %q; use local or slurm", opts.Executor)
	}
	return nil
}

// calibrateSlurm is the Slurm settings of the command line.
func calibrateSlurm(opts *calibrateOptions) calibrate.SlurmOptions {
	so := calibrate.SlurmOptions{
		Slurm:       batch.SlurmOptions{Partition: opts.Partition, Mem: opts.Mem, CPUs: opts.CPUs, Jobs: opts.Jobs},
		SimsPerTask: opts.SimsPerTask, NoWait: opts.NoWait, Poll: opts.Poll, Stdout: opts.io.Out,
	}
	if opts.Time > 0 {
		so.Slurm.Time = batch.SlurmTime(opts.Time)
	}
	return so
}

// runCalibrateFolder runs --status, --resume or --sim-task on a Slurm study folder.
func runCalibrateFolder(ctx context.Context, opts *calibrateOptions) error {
	var res *calibrate.Result
	var err error
	switch {
	case opts.SimTask != "":
		return interruption(ctx, calibrate.RunTask(ctx, opts.SimTask, opts.Index, opts.io.Err))
	case opts.Status != "":
		res, err = calibrate.Status(ctx, opts.Status, opts.io.Out)
	default:
		so := calibrateSlurm(opts)
		if !opts.jobsSet {
			so.Slurm.Jobs = 0 // the study's own
		}
		res, err = calibrate.Resume(ctx, opts.Resume, so, opts.io.Err)
	}
	return calibrationDone(ctx, opts, res, err)
}

// calibrationDone prints a calibration's result, if any, and passes its error on.
func calibrationDone(ctx context.Context, opts *calibrateOptions, res *calibrate.Result, err error) error {
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

func runCalibrate(ctx context.Context, opts *calibrateOptions) error {
	co := calibrate.Options{
		ConfigPath: opts.Config, Out: opts.Out, Sims: opts.Sims, Jobs: opts.Jobs,
		Warmup: opts.Warmup, Samples: opts.Samples, Alpha: opts.Alpha,
		CmdStanDir: opts.CmdStan, Log: opts.io.Err,
	}
	if opts.SeedSet {
		co.Seed = &opts.Seed
	}
	if opts.Executor == batch.Slurm {
		co.Jobs = 0
		so := calibrateSlurm(opts)
		if !opts.jobsSet {
			so.Slurm.Jobs = 0 // every task at once: the cluster's scheduler decides
		}
		res, err := calibrate.Submit(ctx, co, so)
		return calibrationDone(ctx, opts, res, err)
	}
	res, err := calibrate.Run(ctx, co)
	return calibrationDone(ctx, opts, res, err)
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
	if res.Missing > 0 {
		fmt.Fprintf(w, "Simulations missing: %d (the verdict is over the %d that finished)\n", res.Missing, res.Sims)
	}
	fmt.Fprintf(w, "Verdict: %s\n", res.Verdict)
	fmt.Fprintf(w, "Output folder: %s\n", res.Dir)
}
