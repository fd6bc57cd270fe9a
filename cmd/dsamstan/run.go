package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/pipeline"
)

type runOptions struct {
	io      streams
	Config  string
	RunDir  string
	CmdStan string
	Chains  int
	Cores   int
	Timeout time.Duration
	FailOn  string
}

func newRunCmd(io streams, runF func(*runOptions) error) *cobra.Command {
	opts := &runOptions{io: io}
	cmd := &cobra.Command{
		Use:   "run CONFIG | run --config CONFIG",
		Short: "Fit the model of a run config and write its run folder",
		Long: `Fit the model described by a YAML run config with CmdStan and write a run folder:

  00_run_metadata/  config.original.yaml, config.resolved.yaml, run.json, session_info.txt, priors.csv
  10_pre_run/       model_spec.json, vif.csv, media_spend.csv (what the report needs from the data)
  20_model_fit/     model.stan, data.json, the chain CSVs and their logs
  30_post_run/      posterior_summary.csv (parameter,mean,sd,q5,q50,q95,rhat,ess_bulk,ess_tail,mcse_mean),
                    posterior_draws.csv, fitted_values.csv, fit_metrics.csv,
                    decomposition.csv, decomposition_totals.csv
  40_diagnostics/   diagnostics_report.csv (P0 data checks, P1 sampler checks)

A failing P0 data check (a constant column, an infinite response) stops the run before
anything is compiled. --fail-on warn|fail makes a bad diagnostics verdict exit 4, for CI.

The folder is --run-dir, else outputs.run_dir, else <outputs.root_dir>/YYYYMMDD_HHMMSS_<model.name>/.
The compiled model is cached by content: a second run of the same model structure compiles
nothing. Ctrl-C stops the chains, keeps what they wrote and marks run.json "interrupted".

The config is the one argument, or --config FILE as DSAMbayes's runner takes it (not both).`,
		Example: `  dsamstan example blm --out demo
  dsamstan run demo/config.yaml
  dsamstan run demo/config.yaml --run-dir demo/run --chains 2 --cores 2
  dsamstan run --config demo/config.yaml --run-dir demo/run`,
		Args: configArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = configPath(cmd, args)
			opts.CmdStan, _ = cmd.Flags().GetString("cmdstan")
			if opts.FailOn != "" && opts.FailOn != "warn" && opts.FailOn != "fail" {
				return flagErrorf("--fail-on is %q; use warn or fail", opts.FailOn)
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().String("config", "", "the run config (instead of the CONFIG argument)")
	cmd.Flags().StringVar(&opts.RunDir, "run-dir", "", "write the run folder here (beats outputs.run_dir)")
	cmd.Flags().IntVar(&opts.Chains, "chains", 0, "number of chains (default fit.mcmc.chains)")
	cmd.Flags().IntVar(&opts.Cores, "cores", 0, "chains run at once (default fit.mcmc.cores)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "stop sampling after this long, e.g. 30m (default: no limit)")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "", "exit 4 when the diagnostics verdict is at least this bad: warn or fail")
	return cmd
}

func runRun(ctx context.Context, opts *runOptions) error {
	res, err := pipeline.Run(ctx, pipeline.Options{
		ConfigPath: opts.Config,
		RunDir:     opts.RunDir,
		CmdStanDir: opts.CmdStan,
		Chains:     opts.Chains,
		Cores:      opts.Cores,
		Timeout:    opts.Timeout,
		Version:    version,
		Log:        opts.io.Err,
		Progress:   opts.io.Err,
	})
	if err != nil {
		if res != nil {
			fmt.Fprintf(opts.io.Err, "Run folder: %s\n", res.RunDir)
		}
		return err
	}
	printSummary(opts.io.Out, res.Summary)
	printVerdict(opts.io.Out, res.Report)
	fmt.Fprintf(opts.io.Out, "\nRun complete: %s\n", res.RunDir)
	return diagnostics.Gate(res.Report, opts.FailOn)
}

// printVerdict prints the diagnostics verdict and every check that did not pass.
func printVerdict(w io.Writer, rep *diagnostics.Report) {
	if rep == nil {
		return
	}
	fmt.Fprintf(w, "\nDiagnostics (%s): %s\n", rep.Mode, rep.Status())
	for _, c := range rep.Checks {
		if c.ID == diagnostics.OverallID || c.Status == diagnostics.StatusPass || c.Status == diagnostics.StatusSkipped {
			continue
		}
		fmt.Fprintf(w, "  %-4s %s: %s\n", c.Status, c.ID, c.Message)
	}
}
