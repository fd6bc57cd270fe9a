package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dsamstan/dsamstan/runfolder"
)

// Options configure a batch.
type Options struct {
	// Configs are the run configs, in batch order.
	Configs []string
	// Executor is Local (the default) or Slurm.
	Executor string
	// Out is the batch folder; "" runs a local batch without one.
	Out string
	// Jobs is how many runs go at once.
	Jobs int
	// CmdStan is --cmdstan, passed on to every run.
	CmdStan string
	// Version is dsamstan's version, recorded by local runs.
	Version string
	// Binary is the dsamstan executable Slurm tasks run (default: this executable).
	Binary string
	// Slurm holds the sbatch settings (Jobs is taken from Jobs).
	Slurm SlurmOptions
	// NoWait returns once the array is submitted.
	NoWait bool
	// Poll is how often to ask Slurm about the tasks (default 10s).
	Poll time.Duration
	// Stdout gets the per-run lines, Stderr warnings and errors.
	Stdout, Stderr io.Writer
}

func (o *Options) defaults() {
	if o.Executor == "" {
		o.Executor = Local
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	if o.Poll <= 0 {
		o.Poll = 10 * time.Second
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
}

// FailedError reports how many runs of a batch did not complete.
type FailedError struct{ Failed, Total int }

func (e *FailedError) Error() string {
	return fmt.Sprintf("batch: %d of %d runs failed", e.Failed, e.Total)
}

// Run runs a new batch: in this process (Local), or as one Slurm job array, watched until
// every task has finished unless NoWait. With Out it writes the batch folder: manifest.json,
// one log per run, the run folders and batch_summary.csv. It returns a *FailedError when a
// run failed.
func Run(ctx context.Context, opts Options) error {
	opts.defaults()
	switch opts.Executor {
	case Local:
		if opts.Out == "" {
			return runLocal(ctx, &opts, nil, plainRuns(opts.Configs))
		}
	case Slurm:
		if opts.Out == "" {
			return errors.New("batch: --executor slurm needs --out DIR, a folder on the shared filesystem for the batch's manifest, logs and run folders")
		}
	default:
		return fmt.Errorf("batch: --executor %q; use %s or %s", opts.Executor, Local, Slurm)
	}
	if _, err := os.Stat(filepath.Join(opts.Out, runfolder.BatchManifest)); err == nil {
		return fmt.Errorf("batch: %s already holds a batch; see it with dsamstan batch --status %s, finish it with --resume, or choose another --out", opts.Out, opts.Out)
	}
	m, err := newManifest(opts.Out, opts.Executor, opts.Configs)
	if err != nil {
		return err
	}
	m.CmdStan = opts.CmdStan
	if opts.Executor == Slurm {
		if m.CmdStan != "" {
			if m.CmdStan, err = filepath.Abs(m.CmdStan); err != nil {
				return fmt.Errorf("batch: --cmdstan: %w", err)
			}
		}
		if err := slurmPreflight(ctx, &opts); err != nil {
			return err
		}
		so := opts.Slurm
		so.Jobs = opts.Jobs
		m.Slurm = &so
		m.Binary = opts.Binary
	}
	if err := os.MkdirAll(filepath.Join(m.Dir, runfolder.BatchLogs), 0o755); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if err := m.Save(); err != nil {
		return err
	}
	if opts.Executor == Local {
		return runLocal(ctx, &opts, m, m.Runs)
	}
	return runSlurm(ctx, &opts, m, m.Runs)
}

// Resume reruns what did not complete in the batch folder dir, and any run whose config
// changed since it ran; completed runs are kept. Options set here (Jobs, Slurm settings,
// NoWait, Poll, streams) override the batch's own where given: zero values keep them.
func Resume(ctx context.Context, dir string, opts Options) error {
	jobs := opts.Jobs
	opts.defaults()
	m, err := Load(dir)
	if err != nil {
		return err
	}
	if m.Executor == Slurm {
		so := m.Slurm.Merge(opts.Slurm, jobs)
		opts.Slurm, opts.Jobs = so, so.Jobs
		if err := slurmPreflight(ctx, &opts); err != nil {
			return err
		}
		// The resubmitted tasks run the dsamstan that resumes them, as a new batch would.
		m.Slurm, m.Binary = &so, opts.Binary
	}
	if opts.CmdStan != "" {
		abs, err := filepath.Abs(opts.CmdStan)
		if err != nil {
			return fmt.Errorf("batch: --cmdstan: %w", err)
		}
		m.CmdStan = abs
	}
	opts.CmdStan = m.CmdStan
	st := statuses(ctx, m)
	var redo []*Entry
	for _, s := range st {
		sum, err := hashFile(s.Run.Config)
		if err != nil {
			return err
		}
		changed := sum != s.Run.SHA256
		switch {
		case m.Executor == Slurm && (s.State == Running || (s.State == Pending && s.Run.JobID != "")):
			fmt.Fprintf(opts.Stderr, "batch: %s is still %s in Slurm task %s; left alone\n", s.Run.Name(), s.State, s.Run.Task())
			continue
		case s.State == Completed && !changed:
			continue
		case s.State == Completed:
			fmt.Fprintf(opts.Stderr, "batch: %s changed since it ran; running it again\n", s.Run.Name())
		}
		if err := retire(s.Run); err != nil {
			return err
		}
		s.Run.SHA256 = sum
		redo = append(redo, s.Run)
	}
	if len(redo) == 0 {
		fmt.Fprintf(opts.Stdout, "batch: nothing to resume: every run of %s completed or is still in Slurm\n", m.Dir)
		return finish(m, st, opts.Stdout, false)
	}
	if err := m.Save(); err != nil {
		return err
	}
	if m.Executor == Local {
		return runLocal(ctx, &opts, m, redo)
	}
	return runSlurm(ctx, &opts, m, redo)
}

// Check prints the state of every run of the batch folder dir and writes its
// batch_summary.csv. It returns a *FailedError when a run failed.
func Check(ctx context.Context, dir string, stdout io.Writer) error {
	m, err := Load(dir)
	if err != nil {
		return err
	}
	st := statuses(ctx, m)
	return finish(m, st, stdout, true)
}

// finish writes the summary, prints it when asked, and counts the failures.
func finish(m *Manifest, st []*Status, w io.Writer, print bool) error {
	if print {
		PrintStatus(w, st)
	}
	if err := WriteSummary(m, st); err != nil {
		return err
	}
	failed := 0
	for _, s := range st {
		if s.State == Failed {
			failed++
		}
	}
	if print {
		fmt.Fprintf(w, "summary: %s\n", m.path(runfolder.BatchSummary))
	}
	if failed > 0 {
		return &FailedError{failed, len(st)}
	}
	return nil
}

// statuses returns the state of every run of m: from Slurm's squeue and scontrol, when
// the batch runs there, and from the run folders.
func statuses(ctx context.Context, m *Manifest) []*Status {
	var tasks map[string]*TaskState
	var slurmErr error
	if m.Executor == Slurm {
		tasks, slurmErr = querySlurm(ctx, m.Runs)
	}
	out := make([]*Status, len(m.Runs))
	for i, r := range m.Runs {
		out[i] = statusOf(m, r, tasks[r.Task()], slurmErr)
	}
	return out
}
