package calibrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/batch"
	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/runfolder"
)

// MaxTasks is how many Slurm array tasks a study is cut into at most by default: a study of
// sims simulations runs ceil(sims / MaxTasks) of them per task (DefaultSimsPerTask), so
// 100 simulations are 100 tasks of one and 1000 are 100 tasks of ten, not 1000 jobs for the
// scheduler.
const MaxTasks = 100

// DefaultSimsPerTask is the number of simulations an array task runs, one after another,
// unless told otherwise: ceil(sims / MaxTasks).
func DefaultSimsPerTask(sims int) int { return max(1, (sims+MaxTasks-1)/MaxTasks) }

// settleTime is how long a watch waits for the results of a task Slurm says COMPLETED to
// show on this node before calling the task failed (a network filesystem may lag).
const settleTime = 60 * time.Second

// SlurmOptions configure a calibration run as one Slurm job array.
type SlurmOptions struct {
	// Slurm holds the sbatch settings; Slurm.Jobs is how many array tasks run at once
	// (0: all of them; Slurm's scheduler decides).
	Slurm batch.SlurmOptions
	// SimsPerTask is how many simulations one array task runs (0: DefaultSimsPerTask).
	SimsPerTask int
	// Binary is the dsamstan executable the tasks run (default: this executable).
	Binary string
	// NoWait returns once the array is submitted.
	NoWait bool
	// Poll is how often to ask Slurm about the tasks (default 10s).
	Poll time.Duration
	// Stdout gets the state of the tasks as it changes.
	Stdout io.Writer
}

func (so *SlurmOptions) defaults() {
	if so.Poll <= 0 {
		so.Poll = 10 * time.Second
	}
	if so.Stdout == nil {
		so.Stdout = io.Discard
	}
}

// studyFile is calibration_study.json: what every array task needs to run its
// simulations exactly as a local study would (the config and the study settings), and the
// tasks with their Slurm jobs, as a batch manifest records its runs.
type studyFile struct {
	// Dir is the study folder (absolute); not stored.
	Dir          string    `json:"-"`
	Created      time.Time `json:"created"`
	Config       string    `json:"config"`
	ConfigSHA256 string    `json:"config_sha256"`
	Sims         int       `json:"sims"`
	SimsPerTask  int       `json:"sims_per_task"`
	// Seed is the first simulation's seed (simulation i uses Seed + i − 1); Warmup and
	// Samples are the iterations per chain.
	Seed        int64              `json:"seed"`
	Warmup      int                `json:"warmup"`
	Samples     int                `json:"samples"`
	Alpha       float64            `json:"alpha"`
	CmdStan     string             `json:"cmdstan,omitempty"`
	Binary      string             `json:"binary"`
	Slurm       batch.SlurmOptions `json:"slurm"`
	Tasks       []*arrayTask       `json:"tasks"`
	Submissions []batch.Submission `json:"submissions,omitempty"`
}

// arrayTask is one array task of a study: a run of consecutive simulations.
type arrayTask struct {
	Index int `json:"index"`
	// First and Last are the task's simulations, numbered from 1 as in the CSVs.
	First int `json:"first_sim"`
	Last  int `json:"last_sim"`
	// Log is the task's log, relative to the study folder ("" before it is submitted).
	Log string `json:"log,omitempty"`
	// JobID is the Slurm job array it was last submitted in, ArrayIndex its task there.
	JobID      string `json:"slurm_job_id,omitempty"`
	ArrayIndex *int   `json:"slurm_array_index,omitempty"`
	Attempts   int    `json:"attempts"`
}

func (t *arrayTask) ref() batch.TaskRef {
	if t.JobID == "" || t.ArrayIndex == nil {
		return batch.TaskRef{}
	}
	return batch.TaskRef{JobID: t.JobID, Index: *t.ArrayIndex}
}

// name is the task's Slurm id, JOBID_INDEX, or "-" before it is submitted.
func (t *arrayTask) name() string {
	if r := t.ref(); r.JobID != "" {
		return r.Key()
	}
	return "-"
}

// sims renders the task's simulations: "sims 11-20".
func (t *arrayTask) sims() string {
	if t.First == t.Last {
		return fmt.Sprintf("sim %d", t.First)
	}
	return fmt.Sprintf("sims %d-%d", t.First, t.Last)
}

func (sf *studyFile) path(rel string) string {
	if rel == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(sf.Dir, rel)
}

// resultPath is the result file of simulation sim (from 1).
func resultPath(dir string, sim int) string {
	return filepath.Join(dir, runfolder.CalibrationResults, fmt.Sprintf(runfolder.CalibrationResult, sim))
}

func (sf *studyFile) save() error {
	b, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(sf.Dir, runfolder.CalibrationStudy), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	return nil
}

// loadStudy reads the calibration_study.json of the study folder dir.
func loadStudy(dir string) (*studyFile, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %s: %w", dir, err)
	}
	p := filepath.Join(abs, runfolder.CalibrationStudy)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("calibrate: %s has no %s: is it a study folder written by dsamstan calibrate --executor slurm --out?", dir, runfolder.CalibrationStudy)
	}
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	var sf studyFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, fmt.Errorf("calibrate: %s: %w", p, err)
	}
	if sf.Sims < 1 || len(sf.Tasks) == 0 || sf.Config == "" {
		return nil, fmt.Errorf("calibrate: %s: no config, simulations or tasks", p)
	}
	sf.Dir = abs
	return &sf, nil
}

func hashFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("calibrate: config %s: %w", path, err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// checkConfig refuses a study whose config changed since it was submitted: its results
// would mix two models.
func (sf *studyFile) checkConfig() error {
	sum, err := hashFile(sf.Config)
	if err != nil {
		return err
	}
	if sum != sf.ConfigSHA256 {
		return fmt.Errorf("calibrate: %s changed since the study in %s was submitted (its sha256 differs); its simulations would mix two models: restore the config, or start a new study with another --out", sf.Config, sf.Dir)
	}
	return nil
}

// options are the Options a task of the study runs its simulations with.
func (sf *studyFile) options(log io.Writer) Options {
	seed := sf.Seed
	return Options{ConfigPath: sf.Config, Out: sf.Dir, Sims: sf.Sims, Jobs: 1, Seed: &seed,
		Warmup: sf.Warmup, Samples: sf.Samples, Alpha: sf.Alpha, CmdStanDir: sf.CmdStan, Log: log}
}

// prepare loads the study's config and compiles its program through the cache, so that the
// array tasks find it there and compile nothing.
func (sf *studyFile) prepare(ctx context.Context, log io.Writer) (*study, error) {
	opts := sf.options(log)
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	cfg, spec, err := load(sf.Config)
	if err != nil {
		return nil, err
	}
	st, err := newStudy(ctx, cfg, spec, opts)
	if err != nil {
		return nil, err
	}
	p, _, err := st.program(ctx, 0)
	if err != nil {
		return nil, err
	}
	if _, err := st.compile(ctx, p); err != nil {
		return nil, err
	}
	return st, nil
}

// Submit runs a calibration as one Slurm job array: it compiles the program once (through
// the compile cache the tasks share), writes the study folder opts.Out and submits
// ceil(Sims / SimsPerTask) array tasks, each running `dsamstan calibrate --sim-task DIR
// --index i` for its simulations. Unless so.NoWait it watches the tasks to the end and
// gathers their results into the files a local calibration writes (Gather); the result is
// nil with NoWait. A task that failed leaves a *MissingError.
func Submit(ctx context.Context, opts Options, so SlurmOptions) (*Result, error) {
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	so.defaults()
	if opts.Out == "" {
		return nil, errors.New("calibrate: --executor slurm needs --out DIR, a folder on the shared filesystem for the study's tasks, logs and results")
	}
	if so.SimsPerTask < 0 {
		return nil, fmt.Errorf("calibrate: --sims-per-task is %d; it must be at least 1", so.SimsPerTask)
	}
	if so.SimsPerTask == 0 {
		so.SimsPerTask = DefaultSimsPerTask(opts.Sims)
	}
	if _, err := os.Stat(filepath.Join(opts.Out, runfolder.CalibrationStudy)); err == nil {
		return nil, fmt.Errorf("calibrate: %s already holds a calibration study; see it with dsamstan calibrate --status %s, finish it with --resume, or choose another --out", opts.Out, opts.Out)
	}
	cfg, spec, err := load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	bin, err := batch.Preflight(ctx, "calibrate", so.Slurm, so.Binary, opts.Log)
	if err != nil {
		return nil, err
	}
	sf := &studyFile{Created: time.Now().UTC().Truncate(time.Second), Sims: opts.Sims, SimsPerTask: so.SimsPerTask,
		Alpha: opts.Alpha, Binary: bin, Slurm: so.Slurm}
	if sf.Dir, err = filepath.Abs(opts.Out); err != nil {
		return nil, fmt.Errorf("calibrate: --out: %w", err)
	}
	if sf.Config, err = filepath.Abs(cfg.Path); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if sf.ConfigSHA256, err = hashFile(sf.Config); err != nil {
		return nil, err
	}
	opts.Out, opts.Jobs = sf.Dir, 1
	st, err := newStudy(ctx, cfg, spec, opts)
	if err != nil {
		return nil, err
	}
	// The tasks use the CmdStan the program is compiled with here, whatever they would
	// find by themselves.
	if sf.CmdStan, err = filepath.Abs(st.home); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	sf.Seed, sf.Warmup, sf.Samples = st.seed, st.sample.Warmup, st.sample.Samples
	for i, first := 0, 1; first <= opts.Sims; i, first = i+1, first+so.SimsPerTask {
		sf.Tasks = append(sf.Tasks, &arrayTask{Index: i, First: first, Last: min(first+so.SimsPerTask-1, opts.Sims)})
	}
	if sf.Slurm.Jobs < 1 {
		sf.Slurm.Jobs = len(sf.Tasks)
	}
	so.Slurm.Jobs = sf.Slurm.Jobs
	fmt.Fprintf(opts.Log, "calibrate: %d simulations of %s as %d Slurm array tasks of up to %d, %d tasks at a time; %d chains × (%d warmup + %d draws) each; study folder %s\n",
		opts.Sims, cfg.Path, len(sf.Tasks), so.SimsPerTask, sf.Slurm.Jobs, st.sample.Chains, sf.Warmup, sf.Samples, sf.Dir)
	p, _, err := st.program(ctx, 0)
	if err != nil {
		return nil, err
	}
	if _, err := st.compile(ctx, p); err != nil {
		return nil, err
	}
	for _, d := range []string{runfolder.CalibrationLogs, runfolder.CalibrationResults} {
		if err := os.MkdirAll(filepath.Join(sf.Dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	if err := sf.save(); err != nil {
		return nil, err
	}
	return sf.submit(ctx, &so, opts.Log, sf.Tasks)
}

// Resume resubmits the tasks of the study folder dir whose simulations did not all finish
// (failed, or never submitted) and watches them as Submit does; tasks Slurm still runs or
// holds are left alone. Settings given in so (partition, time, memory, CPUs, jobs, binary)
// override the study's; zero values keep them.
func Resume(ctx context.Context, dir string, so SlurmOptions, log io.Writer) (*Result, error) {
	if log == nil {
		log = io.Discard
	}
	jobs := so.Slurm.Jobs
	so.defaults()
	sf, err := loadStudy(dir)
	if err != nil {
		return nil, err
	}
	if err := sf.checkConfig(); err != nil {
		return nil, err
	}
	so.Slurm = sf.Slurm.Merge(so.Slurm, jobs)
	bin, err := batch.Preflight(ctx, "calibrate", so.Slurm, so.Binary, log)
	if err != nil {
		return nil, err
	}
	var redo []*arrayTask
	for _, ts := range sf.statuses(ctx) {
		switch {
		case ts.state == batch.Completed:
			continue
		case ts.state == batch.Running || (ts.state == batch.Pending && ts.task.JobID != ""):
			fmt.Fprintf(log, "calibrate: array task %d (%s) is still %s in Slurm task %s; left alone\n", ts.task.Index, ts.task.sims(), ts.state, ts.task.name())
			continue
		}
		redo = append(redo, ts.task)
	}
	if len(redo) == 0 {
		fmt.Fprintf(so.Stdout, "calibrate: nothing to resume: every task of %s finished or is still in Slurm\n", sf.Dir)
		return sf.report(sf.statuses(ctx), so.Stdout)
	}
	if _, err := sf.prepare(ctx, log); err != nil {
		return nil, err
	}
	sf.Slurm, sf.Binary = so.Slurm, bin // the resubmitted tasks run the dsamstan that resumes them
	return sf.submit(ctx, &so, log, redo)
}

// script renders the job script: array task i runs the simulations of task i.
func (sf *studyFile) script() []byte {
	var b strings.Builder
	sf.Slurm.WriteHeader(&b, "Written by dsamstan calibrate: array task i runs the simulations of task i of "+runfolder.CalibrationStudy+".",
		"dsamstan-calibrate", filepath.Join(sf.Dir, runfolder.CalibrationLogs, "task_%a_%A.log"))
	fmt.Fprintf(&b, "exec %s calibrate --sim-task %s --index \"$SLURM_ARRAY_TASK_ID\"\n", shellQuote(sf.Binary), shellQuote(sf.Dir))
	return []byte(b.String())
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// submit writes the job script, submits tasks as one job array and, unless NoWait, watches
// it to the end.
func (sf *studyFile) submit(ctx context.Context, so *SlurmOptions, log io.Writer, tasks []*arrayTask) (*Result, error) {
	path := filepath.Join(sf.Dir, runfolder.CalibrationScript)
	if err := os.WriteFile(path, sf.script(), 0o755); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	idx := make([]int, len(tasks))
	for i, t := range tasks {
		idx[i] = t.Index
	}
	id, array, err := batch.SubmitArray(ctx, path, idx, sf.Slurm.Jobs)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w; fix it and run dsamstan calibrate --resume %s", err, sf.Dir)
	}
	sf.Submissions = append(sf.Submissions, batch.Submission{JobID: id, Array: array, Submitted: time.Now().UTC().Truncate(time.Second)})
	for _, t := range tasks {
		i := t.Index
		t.JobID, t.ArrayIndex = id, &i
		t.Attempts++
		t.Log = filepath.Join(runfolder.CalibrationLogs, fmt.Sprintf("task_%d_%s.log", i, id))
	}
	if err := sf.save(); err != nil {
		return nil, err
	}
	fmt.Fprintf(so.Stdout, "submitted Slurm job array %s: %d tasks of up to %d simulations, %d at a time; study folder %s\n",
		id, len(tasks), sf.SimsPerTask, sf.Slurm.Jobs, sf.Dir)
	if so.NoWait {
		fmt.Fprintf(so.Stdout, "follow it with: dsamstan calibrate --status %s\n", sf.Dir)
		return nil, nil
	}
	return sf.watch(ctx, so, log, tasks, id)
}

// watch polls Slurm and the result files until every task of tasks has finished, printing
// each change of state, then gathers the results. When ctx is cancelled (Ctrl-C) it
// cancels the job array with scancel and gathers what finished.
func (sf *studyFile) watch(ctx context.Context, so *SlurmOptions, log io.Writer, tasks []*arrayTask, id string) (*Result, error) {
	last := map[int]string{}
	completedAt := map[int]time.Time{}
	mine := map[int]bool{}
	for _, t := range tasks {
		mine[t.Index] = true
	}
	for {
		st := sf.statuses(ctx)
		done := true
		for _, s := range st {
			if !mine[s.task.Index] {
				continue
			}
			if s.slurm == "COMPLETED" && s.state == batch.Failed {
				// The task exited 0, so its simulations finished: a network filesystem may
				// take a while to show this node their results.
				if _, ok := completedAt[s.task.Index]; !ok {
					completedAt[s.task.Index] = time.Now()
				}
				if time.Since(completedAt[s.task.Index]) < settleTime {
					s.state, s.reason = batch.Running, "finished; waiting for its results to show"
				}
			}
			if s.state != batch.Completed && s.state != batch.Failed {
				done = false
			}
			if line := s.state + s.reason; line != last[s.task.Index] {
				last[s.task.Index] = line
				fmt.Fprintf(so.Stdout, "%s  %-9s %-12s %s", time.Now().Format("15:04:05"), s.state, s.task.name(), s.task.sims())
				if s.state == batch.Failed {
					fmt.Fprintf(so.Stdout, ": %s", s.reason)
				}
				fmt.Fprintln(so.Stdout)
			}
		}
		if done {
			fmt.Fprintln(so.Stdout)
			return sf.report(st, so.Stdout)
		}
		t := time.NewTimer(so.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			bg := context.WithoutCancel(ctx)
			if err := batch.CancelJob(bg, id); err != nil {
				fmt.Fprintf(log, "calibrate: could not cancel Slurm job %s: %v; cancel it with scancel %s\n", id, err, id)
			} else {
				fmt.Fprintf(log, "calibrate: cancelled Slurm job array %s (scancel %s)\n", id, id)
			}
			res, gerr := sf.gather()
			if gerr != nil && !errors.Is(gerr, ErrNoSims) {
				fmt.Fprintln(log, gerr)
			}
			return res, fmt.Errorf("%w: calibration stopped and Slurm job %s cancelled; rerun what did not finish with dsamstan calibrate --resume %s (%w)",
				cmdstan.ErrInterrupted, id, sf.Dir, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// taskStatus is what is known of one array task.
type taskStatus struct {
	task   *arrayTask
	state  string // batch.Pending, Running, Completed or Failed
	reason string
	slurm  string // Slurm's state of the task; "" when it no longer knows it
	done   int    // simulations with a result file
}

// statuses returns the state of every task of the study, from Slurm's squeue and scontrol
// and from the result files.
func (sf *studyFile) statuses(ctx context.Context) []*taskStatus {
	var refs []batch.TaskRef
	for _, t := range sf.Tasks {
		if r := t.ref(); r.JobID != "" {
			refs = append(refs, r)
		}
	}
	tasks, slurmErr := batch.QueryTasks(ctx, refs)
	out := make([]*taskStatus, len(sf.Tasks))
	for i, t := range sf.Tasks {
		var ts *batch.TaskState
		if r := t.ref(); r.JobID != "" {
			ts = tasks[r.Key()]
		}
		out[i] = sf.statusOf(t, ts, slurmErr)
	}
	return out
}

// statusOf decides a task's state from Slurm's view of it (nil when Slurm no longer knows
// it) and its simulations' result files. slurmErr says Slurm could not be asked at all.
func (sf *studyFile) statusOf(t *arrayTask, ts *batch.TaskState, slurmErr error) *taskStatus {
	s := &taskStatus{task: t}
	for sim := t.First; sim <= t.Last; sim++ {
		if _, err := os.Stat(resultPath(sf.Dir, sim)); err == nil {
			s.done++
		}
	}
	n := t.Last - t.First + 1
	if ts != nil {
		s.slurm = ts.State
	}
	switch {
	case s.done == n:
		s.state = batch.Completed
		return s
	case t.JobID == "":
		s.state, s.reason = batch.Pending, "not submitted yet: dsamstan calibrate --resume "+sf.Dir+" submits it"
		return s
	case ts != nil && ts.Waiting():
		s.state, s.reason = batch.Pending, ts.Why()
		return s
	case ts != nil && ts.Active():
		s.state, s.reason = batch.Running, fmt.Sprintf("%d of %d simulations done", s.done, n)
		return s
	}
	logPath := sf.path(t.Log)
	e := batch.LastError(logPath)
	if e == "" && slurmErr != nil {
		s.state, s.reason = batch.Pending, fmt.Sprintf("%d of %d simulations done, and Slurm cannot be asked: %v", s.done, n, slurmErr)
		return s
	}
	says := fmt.Sprintf("%d of %d simulations written", s.done, n)
	switch _, err := os.Stat(logPath); {
	case e != "":
		says += "; the log says: " + e
	case err != nil:
		says += "; no log: the task never started"
	default:
		says += "; see " + logPath
	}
	s.state = batch.Failed
	if ts != nil {
		s.reason = "slurm " + ts.Why() + "; " + says
	} else {
		s.reason = says
	}
	return s
}

// MissingError reports simulations of a Slurm calibration without a result, and how many
// array tasks failed.
type MissingError struct {
	Missing, Sims int
	FailedTasks   int
	Dir           string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("calibrate: %d of %d simulations missing (%d array tasks failed); dsamstan calibrate --resume %s reruns them", e.Missing, e.Sims, e.FailedTasks, e.Dir)
}

// report gathers the finished simulations and prints the state of the tasks that did not
// complete. It returns a *MissingError when a task failed.
func (sf *studyFile) report(st []*taskStatus, w io.Writer) (*Result, error) {
	failed, waiting := 0, 0
	for _, s := range st {
		switch s.state {
		case batch.Failed:
			failed++
		case batch.Pending, batch.Running:
			waiting++
		}
	}
	res, err := sf.gather()
	if err != nil && !errors.Is(err, ErrNoSims) {
		return res, err
	}
	missing := sf.Sims
	if res != nil {
		missing = res.Missing
	}
	if missing > 0 {
		fmt.Fprintf(w, "%d of %d simulations finished, %d missing (failed array tasks: %d, pending or running: %d)\n", sf.Sims-missing, sf.Sims, missing, failed, waiting)
	}
	if failed > 0 {
		return res, &MissingError{Missing: missing, Sims: sf.Sims, FailedTasks: failed, Dir: sf.Dir}
	}
	if res == nil {
		return nil, err
	}
	return res, nil
}

// Status prints the state of every array task of the study folder dir (pending, running,
// completed, failed and why) and gathers the simulations that finished (Gather). It returns
// a *MissingError when a task failed.
func Status(ctx context.Context, dir string, w io.Writer) (*Result, error) {
	sf, err := loadStudy(dir)
	if err != nil {
		return nil, err
	}
	st := sf.statuses(ctx)
	for _, s := range st {
		fmt.Fprintf(w, "%-9s %-12s %-12s %d/%d done", s.state, s.task.name(), s.task.sims(), s.done, s.task.Last-s.task.First+1)
		if s.reason != "" && s.state != batch.Completed {
			fmt.Fprintf(w, "\n          %s", s.reason)
		}
		fmt.Fprintln(w)
	}
	return sf.report(st, w)
}

// Gather reads the result files of the Slurm study folder dir and writes
// calibration_ranks.csv, calibration_sims.csv (in simulation order), calibration.csv,
// verdict.txt and the rank histograms, as a local calibration writes them, from the
// simulations that finished. Result.Missing counts those without a result; with none
// finished it returns ErrNoSims.
func Gather(dir string) (*Result, error) {
	sf, err := loadStudy(dir)
	if err != nil {
		return nil, err
	}
	return sf.gather()
}

// gather is Gather.
func (sf *studyFile) gather() (*Result, error) {
	var results []*simResult
	var names []string
	programs := map[[32]byte]bool{}
	for sim := 1; sim <= sf.Sims; sim++ {
		p := resultPath(sf.Dir, sim)
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
		r, nm, err := decodeResult(b)
		if err != nil {
			return nil, fmt.Errorf("calibrate: %s: %w", p, err)
		}
		if r.sim != sim {
			return nil, fmt.Errorf("calibrate: %s holds simulation %d", p, r.sim)
		}
		if names == nil {
			names = nm
		} else if !slices.Equal(names, nm) {
			return nil, fmt.Errorf("calibrate: simulation %d reports other parameters than the first", sim)
		}
		programs[r.program] = true
		results = append(results, r)
	}
	ranks, sims := []byte(ranksHeader), []byte(simsHeader)
	for _, r := range results {
		ranks = rankRows(ranks, r, names)
		sims = simRow(sims, r)
	}
	for name, b := range map[string][]byte{runfolder.CalibrationRanks: ranks, runfolder.CalibrationSims: sims} {
		if err := atomicfile.WriteFile(filepath.Join(sf.Dir, name), b, 0o644); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	res, err := summariseResults(sf.Dir, names, results, sf.Alpha, len(programs))
	if res != nil {
		res.Missing = sf.Sims - len(results)
	}
	return res, err
}

// RunTask runs the simulations of array task index of the study folder dir, one after
// another, exactly as a local calibration runs them (same seeds, same ranks), and writes
// each one's result to sims/sim_NNNN.json (atomically: a temp file renamed), which Gather
// reads. Simulations with a result already are skipped. It is what each Slurm array task
// runs (dsamstan calibrate --sim-task DIR --index i). It returns the first failure after
// trying every simulation of the task.
func RunTask(ctx context.Context, dir string, index int, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	sf, err := loadStudy(dir)
	if err != nil {
		return err
	}
	var t *arrayTask
	for _, x := range sf.Tasks {
		if x.Index == index {
			t = x
		}
	}
	if t == nil {
		return fmt.Errorf("calibrate: %s has no array task %d (tasks 0-%d)", sf.Dir, index, len(sf.Tasks)-1)
	}
	if err := sf.checkConfig(); err != nil {
		return err
	}
	opts := sf.options(log)
	if err := checkOptions(&opts); err != nil {
		return err
	}
	cfg, spec, err := load(sf.Config)
	if err != nil {
		return err
	}
	st, err := newStudy(ctx, cfg, spec, opts)
	if err != nil {
		return err
	}
	// The task's simulations run one after another, each with its chains on the CPUs
	// Slurm gave the task (sbatch --cpus-per-task), else on those this process sees.
	if c, err := strconv.Atoi(os.Getenv("SLURM_CPUS_PER_TASK")); err == nil && c > 0 {
		st.sample.Cores = max(1, min(st.sample.Chains, c))
	}
	n := t.Last - t.First + 1
	fmt.Fprintf(log, "calibrate: array task %d: %s of %d of %s, %d chains × (%d warmup + %d draws) each, %d cores\n",
		index, t.sims(), sf.Sims, sf.Config, st.sample.Chains, st.sample.Warmup, st.sample.Samples, st.sample.Cores)
	var first error
	failed := 0
	for sim := t.First; sim <= t.Last; sim++ {
		path := resultPath(sf.Dir, sim)
		if _, err := os.Stat(path); err == nil {
			fmt.Fprintf(log, "calibrate: simulation %d finished earlier; kept\n", sim)
			continue
		}
		r, names, err := st.simulate(ctx, sim-1)
		if err == nil {
			err = atomicfile.WriteFile(path, encodeResult(r, names), 0o644)
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %w", cmdstan.ErrInterrupted, context.Cause(ctx))
			}
			failed++
			if first == nil {
				first = err
			}
			fmt.Fprintf(log, "calibrate: simulation %d failed: %v\n", sim, err)
			continue
		}
		fmt.Fprintf(log, "calibrate: simulation %d done in %.1fs: %d divergences, %d draws kept (thin %d, min ESS %.0f)\n",
			sim, r.seconds, r.divergences, r.draws, r.thin, r.minESS)
	}
	os.Remove(filepath.Join(sf.Dir, workDir))
	if first != nil {
		return fmt.Errorf("%w (%d of the %d simulations of array task %d failed)", first, failed, n, index)
	}
	return nil
}

// resultFile is a simulation's result file: its row of calibration_sims.csv, its rows of
// calibration_ranks.csv and what the summary needs.
type resultFile struct {
	Sim         int      `json:"sim"`
	Seed        int64    `json:"seed"`
	Divergences int      `json:"divergences"`
	Thin        int      `json:"thin"`
	Draws       int      `json:"n_draws"`
	MinESS      jfloat   `json:"min_ess_bulk"`
	MaxRhat     jfloat   `json:"max_rhat"`
	Seconds     jfloat   `json:"seconds"`
	Program     string   `json:"program_sha256"`
	Parameters  []string `json:"parameters"`
	Rank        []int    `json:"rank"`
	Covered     []bool   `json:"covered_90"`
	Z           []jfloat `json:"z"`
	PostVar     []jfloat `json:"posterior_variance"`
	Truth       []jfloat `json:"truth"`
}

func encodeResult(r *simResult, names []string) []byte {
	f := resultFile{Sim: r.sim, Seed: r.seed, Divergences: r.divergences, Thin: r.thin, Draws: r.draws,
		MinESS: jfloat(r.minESS), MaxRhat: jfloat(r.maxRhat), Seconds: jfloat(r.seconds),
		Program: hex.EncodeToString(r.program[:]), Parameters: names, Rank: r.rank, Covered: r.covered,
		Z: jfloats(r.z), PostVar: jfloats(r.postVar), Truth: jfloats(r.truth)}
	b, _ := json.Marshal(f) // jfloat encodes any float64
	return append(b, '\n')
}

func decodeResult(b []byte) (*simResult, []string, error) {
	var f resultFile
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return nil, nil, err
	}
	k := len(f.Parameters)
	if k == 0 || len(f.Rank) != k || len(f.Covered) != k || len(f.Z) != k || len(f.PostVar) != k || len(f.Truth) != k {
		return nil, nil, errors.New("the per-parameter lists do not match the parameters")
	}
	r := &simResult{sim: f.Sim, seed: f.Seed, divergences: f.Divergences, thin: f.Thin, draws: f.Draws,
		minESS: float64(f.MinESS), maxRhat: float64(f.MaxRhat), seconds: float64(f.Seconds),
		rank: f.Rank, covered: f.Covered, z: floats(f.Z), postVar: floats(f.PostVar), truth: floats(f.Truth)}
	p, err := hex.DecodeString(f.Program)
	if err != nil || len(p) != len(r.program) {
		return nil, nil, fmt.Errorf("program_sha256 %q", f.Program)
	}
	copy(r.program[:], p)
	return r, f.Parameters, nil
}

// jfloat is a float64 that survives JSON exactly, NaN and infinities included (as strings).
type jfloat float64

func (v jfloat) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte(strconv.Quote(strconv.FormatFloat(f, 'g', -1, 64))), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (v *jfloat) UnmarshalJSON(b []byte) error {
	s := string(b)
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*v = jfloat(f)
	return nil
}

func jfloats(x []float64) []jfloat {
	out := make([]jfloat, len(x))
	for i, v := range x {
		out[i] = jfloat(v)
	}
	return out
}

func floats(x []jfloat) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
