package pipeline

import (
	"context"
	"errors"
)

// The hidden flags of dsamstan run that make a run one task of a fan-out (Options.ScenarioTask
// and Options.TSCVFold).
const (
	ScenarioTaskFlag = "--scenario-task"
	TSCVFoldFlag     = "--tscv-fold"
)

// Task is one unit of a fan-out: `dsamstan run Config --run-dir RunDir Flags...` of the same
// binary. The task has completed when RunDir's run.json says so.
type Task struct {
	Name, Config, RunDir string
	Flags                []string
}

// Fanout is the work one step of a run hands to an Executor: the transform sensitivity
// scenarios ("sensitivity", each a "scenario") or the time-series CV folds ("tscv", each a
// "fold"). Dir is the step's folder, where the executor may keep its scripts and logs.
type Fanout struct {
	Step, Unit string
	Dir        string
	Tasks      []Task
}

// Executor runs a run's fan-outs somewhere other than this process (dsamstan run --executor
// slurm). Run waits until every task has ended and returns one error per task: nil for a task
// whose run.json says completed, else why it did not (the task's state and the run's own
// error). Its own error (a refused submission, an interrupt) stops the run.
type Executor interface {
	Run(ctx context.Context, f Fanout) ([]error, error)
}

// ErrNothingToFanOut refuses an Executor for a config with neither transforms.sensitivity nor
// time-series cross-validation.
var ErrNothingToFanOut = errors.New("pipeline: --executor slurm fans out the scenarios of transforms.sensitivity " +
	"and the folds of diagnostics.time_series_selection, and the config has neither; " +
	"to fit run configs as a Slurm job array use dsamstan batch CONFIG... --executor slurm --out DIR")
