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

// ScenarioSlurm fits the scenarios of a transform sensitivity run as one Slurm job array
// (dsamstan run CONFIG --executor slurm): array task i runs `dsamstan run NN.yaml --run-dir
// NN --scenario-task` of the same binary, and the parent waits for all of them (squeue and
// scontrol, never sacct), cancelling the array on Ctrl-C. It is a pipeline.ScenarioExecutor.
type ScenarioSlurm struct {
	Slurm SlurmOptions // Jobs 0: every scenario at once
	// Binary is the dsamstan the tasks run (Preflight's answer); CmdStan is --cmdstan.
	Binary, CmdStan string
	// Chains, Cores and Timeout are the parent's --chains, --cores and --timeout, passed on
	// to each task as fitting in-process passes them to each scenario.
	Chains, Cores int
	Timeout       time.Duration
	// Poll is how often Slurm is asked about the tasks (0: 10s).
	Poll time.Duration
	Log  io.Writer
}

var _ pipeline.ScenarioExecutor = (*ScenarioSlurm)(nil)

// script renders the job script of the scenarios jobs.
func (e *ScenarioSlurm) script(dir string, jobs []pipeline.ScenarioJob) []byte {
	var b strings.Builder
	e.Slurm.WriteHeader(&b, "Written by dsamstan run --executor slurm: array task i fits transform sensitivity scenario i+1.",
		"dsamstan-scenarios", filepath.Join(dir, runfolder.ScenarioLogs, "task_%a_%A.log"))
	b.WriteString("case \"$SLURM_ARRAY_TASK_ID\" in\n")
	for i, j := range jobs {
		fmt.Fprintf(&b, "%d) set -- %s %s ;;\n", i, shellQuote(j.Config), shellQuote(j.RunDir))
	}
	b.WriteString("*) echo \"dsamstan run: no scenario for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n")
	fmt.Fprintf(&b, "exec %s run \"$1\" --run-dir \"$2\" --scenario-task", shellQuote(e.Binary))
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

// FitScenarios submits jobs as one job array, waits until every task has ended and returns
// each scenario's outcome: nil when its run.json says completed, else the task's Slurm state
// and the run's own error (or the last error of the task's log).
func (e *ScenarioSlurm) FitScenarios(ctx context.Context, dir string, jobs []pipeline.ScenarioJob) ([]error, error) {
	log := e.Log
	if log == nil {
		log = io.Discard
	}
	if err := os.MkdirAll(filepath.Join(dir, runfolder.ScenarioLogs), 0o755); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	path := filepath.Join(dir, runfolder.ScenarioScript)
	if err := os.WriteFile(path, e.script(dir, jobs), 0o755); err != nil {
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
	fmt.Fprintf(log, "sensitivity: submitted Slurm job array %s (--array=%s), one task per scenario; logs in %s\n",
		id, array, filepath.Join(dir, runfolder.ScenarioLogs))
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
			return nil, e.cancel(ctx, id)
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
					fmt.Fprintf(log, "sensitivity: scenario %02d (%s): Slurm task %s %s\n", i+1, jobs[i].Name, r.Key(), now)
					last[i] = now
				}
			}
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return nil, e.cancel(ctx, id)
		case <-time.After(poll):
		}
	}
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		info, rerr := runfolder.ReadRunInfo(runfolder.Detect(j.RunDir))
		if rerr == nil && info.Status == "completed" {
			continue
		}
		why := "forgotten by Slurm"
		if states[i] != nil {
			why = states[i].Why()
		}
		logPath := filepath.Join(dir, runfolder.ScenarioLogs, fmt.Sprintf("task_%d_%s.log", i, id))
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
func (e *ScenarioSlurm) cancel(ctx context.Context, id string) error {
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), slurmTimeout)
	defer stop()
	if err := CancelJob(cctx, id); err != nil {
		return fmt.Errorf("%w: stopped, but scancel %s failed (%v): cancel the job array by hand", pipeline.ErrInterrupted, id, err)
	}
	return fmt.Errorf("%w: sensitivity run stopped and Slurm job %s cancelled (%w)", pipeline.ErrInterrupted, id, context.Cause(ctx))
}
