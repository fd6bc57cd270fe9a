package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/batch"
)

type batchOptions struct {
	io        streams
	Configs   []string
	Jobs      int
	CmdStan   string
	Executor  string
	Out       string
	Status    string
	Resume    string
	Partition string
	Time      time.Duration
	Mem       string
	CPUs      int
	NoWait    bool
	Poll      time.Duration
	jobsSet   bool
}

func newBatchCmd(io streams, runF func(*batchOptions) error) *cobra.Command {
	opts := &batchOptions{io: io}
	cmd := &cobra.Command{
		Use:   "batch CONFIG... [--jobs N] [--executor local|slurm --out DIR] | batch --status DIR | batch --resume DIR",
		Short: "Fit several run configs, N at a time or as a Slurm job array, with one summary line per run",
		Long: `Fit several run configs, --jobs at a time. Runs share the compile cache safely: a
model structure compiles once even when two runs need it at the same moment (the second
waits for the first's compile). Each run writes its own run folder; its log goes to
00_run_metadata/run.log there. One line per run reports its status, diagnostics verdict,
time and folder. Exits 1 when any run failed, 130 when interrupted.

--out DIR makes a batch folder: manifest.json (each config, its sha256 and run folder),
logs/, runs/NN_<config>/ and batch_summary.csv (one row per run: status, reason, verdict,
wall time, elpd_loo, R², …). --status DIR prints each run's state (pending, running,
completed, failed and why) and rewrites the summary; --resume DIR reruns what failed or
never ran, and any run whose config changed since, keeping what completed.

--executor slurm submits one Slurm job array (sbatch --array=0-(n-1)%jobs) whose task i
runs "dsamstan run CONFIG --run-dir runs/NN_<config>" with this same dsamstan binary, then
watches squeue and scontrol (never sacct) and prints each change, unless --no-wait.
Ctrl-C cancels the array with scancel. The binary, the configs, their data, --out and the
compile cache ($DSAMSTAN_CACHE) must be on a filesystem every node sees; the tasks
inherit the environment.`,
		Example: `  dsamstan batch configs/*.yaml --jobs 2

  # on a Slurm cluster: one job array, at most 8 tasks at once
  dsamstan batch configs/*.yaml --executor slurm --out batches/nightly --partition short --time 30m --mem 4G --jobs 8
  dsamstan batch --status batches/nightly
  dsamstan batch --resume batches/nightly

  # a Makefile target for nightly fits
  nightly:
  	dsamstan batch $(wildcard configs/*.yaml) --jobs 2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Configs = args
			opts.CmdStan, _ = cmd.Flags().GetString("cmdstan")
			if err := checkBatchFlags(cmd, opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runBatch(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Jobs, "jobs", 1, "runs at once (Slurm: array tasks at once)")
	f.StringVar(&opts.Executor, "executor", batch.Local, "where the runs go: local (this machine) or slurm (a job array)")
	f.StringVar(&opts.Out, "out", "", "write a batch folder here: manifest, logs, run folders, batch_summary.csv")
	f.StringVar(&opts.Status, "status", "", "print the state of each run of the batch folder DIR and write its summary")
	f.StringVar(&opts.Resume, "resume", "", "rerun what did not complete in the batch folder DIR")
	f.StringVar(&opts.Partition, "partition", "", "Slurm partition (default: the cluster's default)")
	f.DurationVar(&opts.Time, "time", 0, "Slurm time limit per run, e.g. 30m (default: the partition's)")
	f.StringVar(&opts.Mem, "mem", "", "Slurm memory per run, e.g. 4G (default: the partition's)")
	f.IntVar(&opts.CPUs, "cpus", 0, "Slurm CPUs per run, e.g. 4 for four chains at once (default: one)")
	f.BoolVar(&opts.NoWait, "no-wait", false, "return once the Slurm array is submitted; follow it with --status")
	f.DurationVar(&opts.Poll, "poll", 10*time.Second, "how often to ask Slurm about the tasks")
	return cmd
}

// checkBatchFlags refuses flag combinations that cannot mean anything.
func checkBatchFlags(cmd *cobra.Command, opts *batchOptions) error {
	opts.jobsSet = cmd.Flags().Changed("jobs")
	if opts.Jobs < 1 {
		return flagErrorf("--jobs is %d; must be at least 1", opts.Jobs)
	}
	if opts.Status != "" && opts.Resume != "" {
		return flagErrorf("give --status or --resume, not both")
	}
	if opts.Status != "" || opts.Resume != "" {
		if len(opts.Configs) > 0 {
			return flagErrorf("--status and --resume take the batch folder, not configs: the batch's configs are in its manifest.json")
		}
		if cmd.Flags().Changed("out") || cmd.Flags().Changed("executor") {
			return flagErrorf("--status and --resume use the batch folder's own executor; drop --out and --executor")
		}
		return nil
	}
	if len(opts.Configs) == 0 {
		return flagErrorf("%s needs CONFIG... (or --status DIR, --resume DIR)", cmd.CommandPath())
	}
	if opts.Executor != batch.Local && opts.Executor != batch.Slurm {
		return flagErrorf("--executor is %q; use local or slurm", opts.Executor)
	}
	if opts.Executor == batch.Slurm && opts.Out == "" {
		return flagErrorf("--executor slurm needs --out DIR, a batch folder on the filesystem every node sees")
	}
	if opts.Executor == batch.Local {
		for _, name := range []string{"partition", "time", "mem", "cpus", "no-wait"} {
			if cmd.Flags().Changed(name) {
				return flagErrorf("--%s is a Slurm setting; add --executor slurm", name)
			}
		}
	}
	if opts.Time < 0 || opts.Poll <= 0 {
		return flagErrorf("--time and --poll must be positive")
	}
	return nil
}

func runBatch(ctx context.Context, opts *batchOptions) error {
	bo := batch.Options{
		Configs:  opts.Configs,
		Executor: opts.Executor,
		Out:      opts.Out,
		Jobs:     opts.Jobs,
		CmdStan:  opts.CmdStan,
		Version:  version,
		Slurm:    batch.SlurmOptions{Partition: opts.Partition, Mem: opts.Mem, CPUs: opts.CPUs},
		NoWait:   opts.NoWait,
		Poll:     opts.Poll,
		Stdout:   opts.io.Out,
		Stderr:   opts.io.Err,
	}
	if opts.Time > 0 {
		bo.Slurm.Time = batch.SlurmTime(opts.Time)
	}
	switch {
	case opts.Status != "":
		return batch.Check(ctx, opts.Status, opts.io.Out)
	case opts.Resume != "":
		if !opts.jobsSet {
			bo.Jobs = 0 // the batch's own
		}
		return batch.Resume(ctx, opts.Resume, bo)
	}
	return batch.Run(ctx, bo)
}
