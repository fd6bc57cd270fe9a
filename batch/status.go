package batch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
)

// States of a run in a batch.
const (
	Pending   = "pending"
	Running   = "running"
	Completed = "completed"
	Failed    = "failed"
)

// Status is what is known of one run: its state, why it failed, and a few figures from its
// run folder.
type Status struct {
	Run   *Entry
	State string
	// Reason says why a run failed (Slurm's state and reason, the run's own error), or
	// what a pending run waits for.
	Reason string
	// Slurm is the task's Slurm state (COMPLETED, TIMEOUT, …); "" when Slurm no longer
	// knows the task or the batch is local.
	Slurm string
	// Verdict is the diagnostics verdict: pass, warn or fail ("" when none).
	Verdict string
	// Wall is the run's wall time in seconds (NaN when unknown).
	Wall float64
	// ELPD, ELPDSE and PLOO come from loo_summary.csv; BadK counts observations with
	// Pareto k̂ > 0.7. R2 and RMSE are the in-sample fit over all rows. NaN when absent.
	ELPD, ELPDSE, PLOO float64
	BadK               int
	R2, RMSE           float64
	Method             string
	CacheHit           string
}

// final reports whether the state can no longer change.
func (s *Status) final() bool { return s.State == Completed || s.State == Failed }

// TaskState is what squeue or scontrol says of one array task.
type TaskState struct {
	State    string
	Reason   string
	ExitCode string
}

// Slurm job states, by what they mean for a run.
var (
	slurmWaiting = map[string]bool{"PENDING": true, "CONFIGURING": true, "REQUEUED": true, "REQUEUE_HOLD": true,
		"REQUEUE_FED": true, "RESIZING": true, "SUSPENDED": true, "STOPPED": true, "SPECIAL_EXIT": true}
	slurmActive = map[string]bool{"RUNNING": true, "COMPLETING": true, "STAGE_OUT": true, "SIGNALING": true}
)

// statusOf decides a run's state from Slurm's view of its task (nil when Slurm no longer
// knows it, or for a local run) and its run folder. slurmErr says Slurm could not be asked
// at all: then a run folder without a result is pending, not failed.
func statusOf(m *Manifest, r *Entry, task *TaskState, slurmErr error) *Status {
	s := &Status{Run: r, Wall: math.NaN(), ELPD: math.NaN(), ELPDSE: math.NaN(), PLOO: math.NaN(),
		R2: math.NaN(), RMSE: math.NaN(), BadK: -1}
	if task != nil {
		s.Slurm = task.State
	}
	switch {
	case m.Executor == Slurm && r.JobID == "":
		s.State, s.Reason = Pending, "not submitted yet: dsamstan batch --resume "+m.Dir+" submits it"
		return s
	case m.Executor == Local && r.Attempts == 0:
		s.State, s.Reason = Pending, "not started"
		return s
	case task != nil && slurmWaiting[task.State]:
		s.State, s.Reason = Pending, slurmWhy(task)
		return s
	case task != nil && slurmActive[task.State]:
		s.State = Running
		s.readFolder()
		return s
	}
	info, infoErr := s.readFolder()
	runSays := ""
	switch {
	case infoErr == nil && info.Status == runfolder.StatusCompleted:
		if task == nil || task.State == "COMPLETED" {
			s.State = Completed
			return s
		}
	case infoErr == nil && info.Status == runfolder.StatusRunning:
		if m.Executor == Local && task == nil {
			s.State = Running
			return s
		}
		runSays = "the run stopped without finishing run.json (killed by a time or memory limit?)"
	case infoErr == nil:
		runSays = "run " + info.Status
		if info.Error != "" {
			runSays += ": " + oneLine(info.Error)
		}
	default:
		e := lastError(m.path(r.Log))
		switch {
		case e == "" && slurmErr != nil:
			s.State, s.Reason = Pending, "no result in the run folder yet, and Slurm cannot be asked: "+slurmErr.Error()
			return s
		case e == "" && m.Executor == Local && exists(m.path(r.Log)):
			s.State = Running // loading its config and data: run.json comes next
			return s
		}
		runSays = "no run.json"
		if e != "" {
			runSays += "; the log says: " + e
		} else if r.Log != "" {
			if _, err := os.Stat(m.path(r.Log)); err != nil {
				runSays += " and no log: the task never started"
			} else {
				runSays += "; see " + m.path(r.Log)
			}
		}
	}
	s.State = Failed
	if task != nil {
		s.Reason = "slurm " + slurmWhy(task) + "; " + runSays
	} else {
		s.Reason = runSays
	}
	return s
}

// Waiting reports whether the task waits to run (pending, held, requeued, suspended).
func (t *TaskState) Waiting() bool { return slurmWaiting[t.State] }

// Active reports whether the task is running.
func (t *TaskState) Active() bool { return slurmActive[t.State] }

// Why renders the task's state, reason and exit code: "TIMEOUT (TimeLimit, exit 0:15)".
func (t *TaskState) Why() string { return slurmWhy(t) }

// LastError returns the last "Error: …" line dsamstan printed to a task's log, or
// slurmstepd's word on a cancelled or killed task; "" when none.
func LastError(path string) string { return lastError(path) }

// slurmWhy renders a task's state, reason and exit code: "TIMEOUT (TimeLimit, exit 0:15)".
func slurmWhy(t *TaskState) string {
	var extra []string
	if t.Reason != "" && t.Reason != "None" {
		extra = append(extra, t.Reason)
	}
	if t.ExitCode != "" && t.ExitCode != "0:0" {
		extra = append(extra, "exit "+t.ExitCode)
	}
	if len(extra) == 0 {
		return t.State
	}
	return t.State + " (" + strings.Join(extra, ", ") + ")"
}

// readFolder fills the figures a run folder holds and returns its run.json.
func (s *Status) readFolder() (*runfolder.RunInfo, error) {
	f := runfolder.Detect(s.Run.RunDir)
	info, err := runfolder.ReadRunInfo(f)
	if err != nil {
		return nil, err
	}
	s.Verdict = info.Diagnostics
	s.Method = info.Method
	if info.CompileCacheHit != nil {
		s.CacheHit = strconv.FormatBool(*info.CompileCacheHit)
	}
	if info.Finished != nil {
		s.Wall = info.Finished.Sub(info.Started).Seconds()
	}
	if p, ok := f.Find(runfolder.StageModelSelection, runfolder.LOOSummary); ok {
		if res, err := readWith(p, loo.ReadSummaryCSV); err == nil {
			s.ELPD, s.ELPDSE, s.PLOO = res.ELPD, res.ELPDSE, res.PLOO
			s.BadK = res.KCounts[2] + res.KCounts[3]
		}
	}
	if p, ok := f.Find(runfolder.StagePostRun, runfolder.FitMetrics); ok {
		if ms, err := readWith(p, posterior.ReadMetrics); err == nil {
			for _, fm := range ms {
				if fm.Scope == "all" {
					s.R2, s.RMSE = fm.R2, fm.RMSE
				}
			}
		}
	}
	return info, nil
}

func readWith[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return read(f)
}

// lastError returns the last "Error: …" line dsamstan printed to a task's log, or "".
func lastError(path string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "Error: "); i >= 0 {
			last = strings.TrimSpace(line[i+len("Error: "):])
		} else if strings.Contains(line, "*** JOB") || strings.Contains(line, "oom-kill") {
			last = strings.TrimSpace(line) // slurmstepd's own word on a cancelled or killed task
		}
	}
	return last
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	return s
}

// summaryHeader is batch_summary.csv's header.
var summaryHeader = []string{"index", "config", "status", "reason", "verdict", "wall_seconds",
	"elpd_loo", "elpd_loo_se", "p_loo", "pareto_k_over_0.7", "r2", "rmse", "fit_method",
	"compile_cache_hit", "slurm_task", "slurm_state", "run_dir"}

// WriteSummary writes batch_summary.csv into the batch folder: one row per run.
func WriteSummary(m *Manifest, st []*Status) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(summaryHeader)
	for _, s := range st {
		badK := ""
		if s.BadK >= 0 {
			badK = strconv.Itoa(s.BadK)
		}
		w.Write([]string{strconv.Itoa(s.Run.Index), s.Run.Config, s.State, s.Reason, s.Verdict,
			fnum(s.Wall, 1), fnum(s.ELPD, 2), fnum(s.ELPDSE, 2), fnum(s.PLOO, 2), badK,
			fnum(s.R2, 4), fnum(s.RMSE, 4), s.Method, s.CacheHit, s.Run.Task(), s.Slurm, s.Run.RunDir})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if err := atomicfile.WriteFile(m.path(runfolder.BatchSummary), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	return nil
}

// fnum formats a figure for the summary: empty when unknown.
func fnum(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// PrintStatus prints one line per run: state, verdict, wall time, config, and the reason of
// a failed or pending run.
func PrintStatus(w io.Writer, st []*Status) {
	for _, s := range st {
		verdict := s.Verdict
		if verdict == "" {
			verdict = "-"
		}
		wall := "     -"
		if !math.IsNaN(s.Wall) {
			wall = fmt.Sprintf("%6.1fs", s.Wall)
		}
		task := s.Run.Task()
		if task == "" {
			task = "-"
		}
		fmt.Fprintf(w, "%-9s %-4s %s  %-12s %s", s.State, verdict, wall, task, s.Run.Name())
		if !math.IsNaN(s.ELPD) {
			fmt.Fprintf(w, "  elpd_loo %.1f", s.ELPD)
		}
		if s.Reason != "" && s.State != Completed {
			fmt.Fprintf(w, "\n          %s", s.Reason)
		}
		fmt.Fprintln(w)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
