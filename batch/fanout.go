package batch

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/runfolder"
)

// FanoutSlurm runs each fan-out of a run (dsamstan run CONFIG --executor slurm: the
// transform sensitivity scenarios, the time-series CV folds) as one Slurm job array: array
// task i runs the fan-out's task i, a `dsamstan run CONFIG --run-dir DIR FLAGS...` of the
// same binary, and the parent waits for all of them (squeue and scontrol, never sacct),
// cancelling the array on Ctrl-C. It is a pipeline.Executor.
type FanoutSlurm struct {
	Slurm SlurmOptions // Jobs 0: every task at once
	// Binary is the dsamstan the tasks run (Preflight's answer); CmdStan is --cmdstan.
	Binary, CmdStan string
	// Chains, Cores and Timeout are the parent's --chains, --cores and --timeout, passed on
	// to each task as fitting in-process passes them to each scenario and fold.
	Chains, Cores int
	Timeout       time.Duration
	// Poll is how often Slurm is asked about the tasks (0: 10s).
	Poll time.Duration
	Log  io.Writer
}

var _ pipeline.Executor = (*FanoutSlurm)(nil)

// script renders the job script of fan-out f.
func (e *FanoutSlurm) script(f pipeline.Fanout) []byte {
	var b strings.Builder
	e.Slurm.WriteHeader(&b, fmt.Sprintf("Written by dsamstan run --executor slurm: array task i fits %s %s i+1.", f.Step, f.Unit),
		"dsamstan-"+f.Step, filepath.Join(f.Dir, runfolder.FanoutLogs, "task_%a_%A.log"))
	b.WriteString("case \"$SLURM_ARRAY_TASK_ID\" in\n")
	for i, t := range f.Tasks {
		fmt.Fprintf(&b, "%d) set -- %s --run-dir %s", i, shellQuote(t.Config), shellQuote(t.RunDir))
		for _, a := range t.Flags {
			fmt.Fprintf(&b, " %s", shellWord(a))
		}
		b.WriteString(" ;;\n")
	}
	fmt.Fprintf(&b, "*) echo \"dsamstan run: no %s for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n", f.Unit)
	fmt.Fprintf(&b, "exec %s run \"$@\"", shellQuote(e.Binary))
	if e.CmdStan != "" {
		fmt.Fprintf(&b, " --cmdstan %s", shellQuote(e.CmdStan))
	}
	if e.Chains > 0 {
		fmt.Fprintf(&b, " --chains %d", e.Chains)
	}
	if e.Cores > 0 {
		fmt.Fprintf(&b, " --cores %d", e.Cores)
	}
	if e.Timeout > 0 {
		fmt.Fprintf(&b, " --timeout %s", e.Timeout)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// Run submits f's tasks as one job array, waits until every task has ended and returns each
// task's outcome: nil when its run.json says completed, else the task's Slurm state and the
// run's own error (or the last error of the task's log).
func (e *FanoutSlurm) Run(ctx context.Context, f pipeline.Fanout) ([]error, error) {
	dir, jobs := f.Dir, f.Tasks
	log := e.Log
	if log == nil {
		log = io.Discard
	}
	if err := os.MkdirAll(filepath.Join(dir, runfolder.FanoutLogs), 0o755); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	path := filepath.Join(dir, runfolder.FanoutScript)
	if err := os.WriteFile(path, e.script(f), 0o755); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	idx := make([]int, len(jobs))
	refs := make([]TaskRef, len(jobs))
	for i := range jobs {
		idx[i] = i
	}
	n := e.Slurm.Jobs
	if n <= 0 {
		n = len(jobs)
	}
	id, array, err := SubmitArray(ctx, path, idx, n)
	if err != nil {
		return nil, fmt.Errorf("run: --executor slurm: %w", err)
	}
	for i := range jobs {
		refs[i] = TaskRef{JobID: id, Index: i}
	}
	fmt.Fprintf(log, "%s: submitted Slurm job array %s (--array=%s), one task per %s; logs in %s\n",
		f.Step, id, array, f.Unit, filepath.Join(dir, runfolder.FanoutLogs))
	poll := e.Poll
	if poll <= 0 {
		poll = 10 * time.Second
	}
	states := make([]*TaskState, len(jobs))
	last := make([]string, len(jobs))
	misses := 0
	for {
		got, err := QueryTasks(ctx, refs)
		if ctx.Err() != nil {
			return nil, e.cancel(ctx, f.Step, id)
		}
		done := err == nil
		if err != nil {
			if misses++; misses >= 6 {
				return nil, fmt.Errorf("run: cannot ask Slurm about job array %s (%w); it may still be running: cancel it with scancel %s, or wait for it and rerun", id, err, id)
			}
		} else {
			misses = 0
			for i, r := range refs {
				t := got[r.Key()]
				states[i] = t
				if t != nil && (t.Waiting() || t.Active()) {
					done = false
				}
				now := "ended"
				if t != nil {
					now = t.Why()
				}
				if now != last[i] {
					fmt.Fprintf(log, "%s: %s %02d (%s): Slurm task %s %s\n", f.Step, f.Unit, i+1, jobs[i].Name, r.Key(), now)
					last[i] = now
				}
			}
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return nil, e.cancel(ctx, f.Step, id)
		case <-time.After(poll):
		}
	}
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		info, rerr := runfolder.ReadRunInfo(runfolder.Detect(j.RunDir))
		if rerr == nil && info.Status == runfolder.StatusCompleted {
			continue
		}
		why := "forgotten by Slurm"
		if states[i] != nil {
			why = states[i].Why()
		}
		logPath := filepath.Join(dir, runfolder.FanoutLogs, fmt.Sprintf("task_%d_%s.log", i, id))
		msg := fmt.Sprintf("Slurm task %s %s", refs[i].Key(), why)
		switch {
		case rerr == nil && info.Error != "":
			msg += ": " + info.Error
		case LastError(logPath) != "":
			msg += ": " + LastError(logPath)
		case rerr != nil:
			msg += ": no run.json in " + j.RunDir
		default:
			msg += ": run.json says " + info.Status
		}
		errs[i] = fmt.Errorf("%s (log %s)", msg, logPath)
	}
	return errs, nil
}

// cancel cancels the job array after Ctrl-C and says so.
func (e *FanoutSlurm) cancel(ctx context.Context, step, id string) error {
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), slurmTimeout)
	defer stop()
	if err := CancelJob(cctx, id); err != nil {
		return fmt.Errorf("%w: stopped, but scancel %s failed (%v): cancel the job array by hand", pipeline.ErrInterrupted, id, err)
	}
	return fmt.Errorf("%w: %s stopped and Slurm job %s cancelled (%w)", pipeline.ErrInterrupted, step, id, context.Cause(ctx))
}
