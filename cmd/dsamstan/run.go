package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/batch"
	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/ingest"
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

	// --executor slurm fits the transform sensitivity scenarios as a Slurm job array.
	Executor     string
	Partition    string
	Time         time.Duration
	Mem          string
	CPUs, Jobs   int
	Poll         time.Duration
	ScenarioTask bool // hidden: this run is one scenario task of such an array
	TSCVFold     int  // hidden: this run is fold N of a time-series CV fitted by such an array
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

The config is the one argument, or --config FILE as DSAMbayes's runner takes it (not both).

--executor slurm hands the run's fan-outs to Slurm, one job array each (--jobs tasks at once,
each a dsamstan run of the same binary); the run waits for them and goes on as usual:
  transforms.sensitivity             one task per scenario, each fitting the scenario's own
                                     config into <run>/scenarios/NN; the run then ranks them
                                     and fits the best here
  diagnostics.time_series_selection  one task per CV fold, each fitting the fold into
                                     <run>/50_model_selection/tscv/fold_NN; the run scores them
The compile cache must be on a filesystem the nodes share (DSAMSTAN_CACHE). Ctrl-C cancels
the array. To run whole configs on Slurm use dsamstan batch --executor slurm.`,
		Example: `  dsamstan example blm --out demo
  dsamstan run demo/config.yaml
  dsamstan run demo/config.yaml --run-dir demo/run --chains 2 --cores 2
  dsamstan run --config demo/config.yaml --run-dir demo/run
  dsamstan run demo/config.yaml --executor slurm --partition short --time 1h --jobs 5`,
		Args: configArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = configPath(cmd, args)
			opts.CmdStan, _ = cmd.Flags().GetString("cmdstan")
			if opts.FailOn != "" && opts.FailOn != "warn" && opts.FailOn != "fail" {
				return flagErrorf("--fail-on is %q; use warn or fail", opts.FailOn)
			}
			if err := checkRunExecutor(cmd, opts); err != nil {
				return err
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
	f := cmd.Flags()
	f.StringVar(&opts.Executor, "executor", batch.Local, "where sensitivity scenarios and CV folds are fitted: local (this process) or slurm (a job array)")
	f.StringVar(&opts.Partition, "partition", "", "Slurm partition (default: the cluster's default)")
	f.DurationVar(&opts.Time, "time", 0, "Slurm time limit per task, e.g. 30m (default: the partition's)")
	f.StringVar(&opts.Mem, "mem", "", "Slurm memory per task, e.g. 4G (default: the partition's)")
	f.IntVar(&opts.CPUs, "cpus", 0, "Slurm CPUs per task, e.g. 4 for four chains at once (default: one)")
	f.IntVar(&opts.Jobs, "jobs", 0, "Slurm array tasks at once (default: every task)")
	f.DurationVar(&opts.Poll, "poll", 10*time.Second, "how often to ask Slurm about the tasks")
	f.BoolVar(&opts.ScenarioTask, "scenario-task", false, "run as one scenario of a sensitivity run (no time-series CV)")
	f.MarkHidden("scenario-task")
	f.IntVar(&opts.TSCVFold, "tscv-fold", 0, "run as fold N of a time-series CV, into --run-dir")
	f.MarkHidden("tscv-fold")
	return cmd
}

// checkRunExecutor refuses Slurm settings without --executor slurm and bad values.
func checkRunExecutor(cmd *cobra.Command, opts *runOptions) error {
	switch opts.Executor {
	case batch.Local:
		for _, name := range []string{"partition", "time", "mem", "cpus", "jobs", "poll"} {
			if cmd.Flags().Changed(name) {
				return flagErrorf("--%s is a Slurm setting; add --executor slurm", name)
			}
		}
	case batch.Slurm:
	default:
		return flagErrorf("--executor is %q; use local or slurm", opts.Executor)
	}
	if opts.Time < 0 || opts.Poll <= 0 || opts.Jobs < 0 || opts.CPUs < 0 {
		return flagErrorf("--time, --poll, --jobs and --cpus must be positive")
	}
	if opts.TSCVFold < 0 || opts.TSCVFold > 0 && (opts.ScenarioTask || opts.Executor != batch.Local || opts.RunDir == "") {
		return flagErrorf("--tscv-fold N (a fold task of dsamstan run --executor slurm) takes a positive N and --run-dir, without --scenario-task or --executor")
	}
	return nil
}

func runRun(ctx context.Context, opts *runOptions) error {
	po := pipeline.Options{
		ConfigPath:   opts.Config,
		RunDir:       opts.RunDir,
		CmdStanDir:   opts.CmdStan,
		Chains:       opts.Chains,
		Cores:        opts.Cores,
		Timeout:      opts.Timeout,
		Version:      version,
		Log:          opts.io.Err,
		Progress:     opts.io.Err,
		ScenarioTask: opts.ScenarioTask,
		TSCVFold:     opts.TSCVFold,
	}
	if opts.Executor == batch.Slurm {
		ex, err := fanoutExecutor(ctx, opts)
		if err != nil {
			return err
		}
		po.Executor = ex
	}
	res, err := pipeline.Run(ctx, po)
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

// fanoutExecutor refuses --executor slurm for a config with neither transforms.sensitivity
// nor time-series CV (exit 2), checks Slurm (batch.Preflight) and returns the job-array
// executor.
func fanoutExecutor(ctx context.Context, opts *runOptions) (*batch.FanoutSlurm, error) {
	cfg, err := ingest.LoadConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	if len(cfg.SensitivityScenarios()) == 0 && !cfg.CrossValidates() {
		return nil, flagErrorf("%v (%s)", pipeline.ErrNothingToFanOut, opts.Config)
	}
	so := batch.SlurmOptions{Partition: opts.Partition, Mem: opts.Mem, CPUs: opts.CPUs, Jobs: opts.Jobs}
	if opts.Time > 0 {
		so.Time = batch.SlurmTime(opts.Time)
	}
	bin, err := batch.Preflight(ctx, "run", so, "", opts.io.Err)
	if err != nil {
		return nil, err
	}
	return &batch.FanoutSlurm{Slurm: so, Binary: bin, CmdStan: opts.CmdStan, Chains: opts.Chains, Cores: opts.Cores,
		Timeout: opts.Timeout, Poll: opts.Poll, Log: opts.io.Err}, nil
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
