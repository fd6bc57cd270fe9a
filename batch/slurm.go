package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/runfolder"
)

// settleTime is how long watch waits for the run.json of a task Slurm says COMPLETED
// to show on this node, before calling the run failed.
const settleTime = 60 * time.Second

// slurmTimeout bounds each call of a Slurm command: a controller that does not answer
// must not hang the batch.
const slurmTimeout = 60 * time.Second

// SlurmTime renders a time limit as sbatch --time takes it: days-hours:minutes:seconds,
// rounded up to whole seconds.
func SlurmTime(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%d-%02d:%02d:%02d", s/86400, s%86400/3600, s%3600/60, s%60)
}

var (
	memRe       = regexp.MustCompile(`^[0-9]+[KMGT]?$`)
	partitionRe = regexp.MustCompile(`^[A-Za-z0-9_.,-]+$`)
)

// slurmPreflight checks everything a batch submission needs before anything is written
// (Preflight), and settles the binary the tasks run.
func slurmPreflight(ctx context.Context, opts *Options) error {
	bin, err := Preflight(ctx, "batch", opts.Slurm, opts.Binary, opts.Stderr)
	if err != nil {
		return err
	}
	opts.Binary = bin
	return nil
}

// Preflight checks everything a Slurm submission by dsamstan command needs before anything
// is written: sbatch on PATH, a controller that answers, sane settings; it warns on stderr
// when the compile cache looks local to this node. It returns the absolute path of the
// dsamstan binary the tasks are to run: binary, or this executable when binary is "".
func Preflight(ctx context.Context, command string, so SlurmOptions, binary string, stderr io.Writer) (string, error) {
	if _, err := exec.LookPath("sbatch"); err != nil {
		return "", fmt.Errorf("%s: --executor slurm: sbatch not found on PATH; run dsamstan %s on a Slurm login node (or load the Slurm module), or use --executor local; nothing was submitted", command, command)
	}
	if s := so.Mem; s != "" && !memRe.MatchString(s) {
		return "", fmt.Errorf("%s: --mem %q: give a size as sbatch takes it, such as 4G or 500M", command, s)
	}
	if s := so.Partition; s != "" && !partitionRe.MatchString(s) {
		return "", fmt.Errorf("%s: --partition %q: not a partition name", command, s)
	}
	out, err := slurmCmd(ctx, "scontrol", "ping")
	if err != nil || strings.Contains(out, "DOWN") || !strings.Contains(out, "UP") {
		why := strings.TrimSpace(out)
		if err != nil {
			why = err.Error()
		}
		return "", fmt.Errorf("%s: the Slurm controller does not answer (scontrol ping: %s); nothing was submitted. Check that slurmctld is up and SLURM_CONF points at the cluster's slurm.conf", command, why)
	}
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("%s: cannot find the dsamstan executable the tasks should run: %w", command, err)
		}
		binary = exe
	}
	if abs, err := filepath.EvalSymlinks(binary); err == nil {
		binary = abs
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if dir, err := cmdstan.DefaultCacheDir(); err == nil {
		if where := nodeLocal(dir); where != "" {
			fmt.Fprintf(stderr, "warning: the compile cache %s is under %s, which is usually local to each node: every node would compile its own copy of each model. "+
				"Put it on the shared filesystem before submitting, e.g. export DSAMSTAN_CACHE=$HOME/.cache/dsamstan; the tasks inherit the environment.\n", dir, where)
		}
	}
	return binary, nil
}

// nodeLocal returns the node-local folder dir is under (/tmp, /var/tmp, /dev/shm, /run,
// $TMPDIR), or "".
func nodeLocal(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm", "/run", os.Getenv("TMPDIR")} {
		if d == "" || d == "/" {
			continue
		}
		if abs == d || strings.HasPrefix(abs, strings.TrimSuffix(d, "/")+"/") {
			return d
		}
	}
	return ""
}

// slurmCmd runs a Slurm command and returns its stdout; a failure carries its stderr.
func slurmCmd(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, slurmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if ctx.Err() == context.DeadlineExceeded {
			msg = "no answer in " + slurmTimeout.String()
		}
		return stdout.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// shellWord is s as one shell word: bare when it holds only characters the shell takes
// literally (flags, numbers), else quoted.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.=/") == "" {
		return s
	}
	return shellQuote(s)
}

// script renders the job script: array task i runs `dsamstan run` on run i's config into its
// run folder, exactly as a user would run it by hand.
func script(m *Manifest) []byte {
	var b strings.Builder
	m.Slurm.WriteHeader(&b, "Written by dsamstan batch: array task i fits run i of manifest.json.",
		"dsamstan-batch", filepath.Join(m.Dir, runfolder.BatchLogs, "task_%a_%A.log"))
	b.WriteString("case \"$SLURM_ARRAY_TASK_ID\" in\n")
	for _, r := range m.Runs {
		fmt.Fprintf(&b, "%d) set -- %s %s ;;\n", r.Index, shellQuote(r.Config), shellQuote(r.RunDir))
	}
	b.WriteString("*) echo \"dsamstan batch: no run for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n")
	fmt.Fprintf(&b, "exec %s run \"$1\" --run-dir \"$2\"", shellQuote(m.Binary))
	if m.CmdStan != "" {
		fmt.Fprintf(&b, " --cmdstan %s", shellQuote(m.CmdStan))
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// arraySpec renders indices as sbatch --array takes them, ranges collapsed, with at most
// jobs running at once: "0-2,5%2".
func arraySpec(indices []int, jobs int) string {
	idx := slices.Clone(indices)
	sort.Ints(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		} else {
			parts = append(parts, strconv.Itoa(idx[i]))
		}
		i = j + 1
	}
	return fmt.Sprintf("%s%%%d", strings.Join(parts, ","), max(jobs, 1))
}

// submit writes the job script and submits runs as one job array; it records the job id in
// the manifest.
func submit(ctx context.Context, m *Manifest, runs []*Entry) (string, error) {
	path := m.path(runfolder.BatchScript)
	if err := os.WriteFile(path, script(m), 0o755); err != nil {
		return "", fmt.Errorf("batch: %w", err)
	}
	idx := make([]int, len(runs))
	for i, r := range runs {
		idx[i] = r.Index
	}
	id, array, err := SubmitArray(ctx, path, idx, m.Slurm.Jobs)
	if err != nil {
		return "", fmt.Errorf("batch: %w; fix it and run dsamstan batch --resume %s", err, m.Dir)
	}
	m.Submissions = append(m.Submissions, Submission{JobID: id, Array: array, Submitted: time.Now().UTC().Truncate(time.Second)})
	for _, r := range runs {
		i := r.Index
		r.JobID, r.ArrayIndex = id, &i
		r.Attempts++
		r.Log = filepath.Join(runfolder.BatchLogs, fmt.Sprintf("task_%d_%s.log", i, id))
	}
	return id, m.Save()
}

// SubmitArray submits the job script at path as one job array of the tasks indices, at
// most jobs at once (sbatch --parsable --array=…%jobs). It returns the job id and the
// --array it gave.
func SubmitArray(ctx context.Context, path string, indices []int, jobs int) (id, array string, err error) {
	array = arraySpec(indices, jobs)
	out, err := slurmCmd(ctx, "sbatch", "--parsable", "--array="+array, path)
	if err != nil {
		return "", "", fmt.Errorf("sbatch refused the job array, nothing was submitted: %w", err)
	}
	id, _, _ = strings.Cut(strings.TrimSpace(out), ";") // --parsable: jobid[;cluster]
	if _, err := strconv.Atoi(id); err != nil {
		return "", "", fmt.Errorf("sbatch --parsable printed %q, not a job id", strings.TrimSpace(out))
	}
	return id, array, nil
}

// runSlurm submits runs as one job array and, unless opts.NoWait, watches it to the end.
func runSlurm(ctx context.Context, opts *Options, m *Manifest, runs []*Entry) error {
	id, err := submit(ctx, m, runs)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Stdout, "submitted Slurm job array %s: %d runs, %d at a time; batch folder %s\n", id, len(runs), m.Slurm.Jobs, m.Dir)
	if opts.NoWait {
		fmt.Fprintf(opts.Stdout, "follow it with: dsamstan batch --status %s\n", m.Dir)
		return finish(m, statuses(ctx, m), opts.Stdout, false)
	}
	return watch(ctx, opts, m, runs, id)
}

// watch polls Slurm and the run folders until every run of runs has finished, printing each
// change of state. When ctx is cancelled (Ctrl-C) it cancels the job array with scancel.
func watch(ctx context.Context, opts *Options, m *Manifest, runs []*Entry, id string) error {
	last := map[int]string{}
	completedAt := map[int]time.Time{}
	mine := map[int]bool{}
	for _, r := range runs {
		mine[r.Index] = true
	}
	for {
		st := statuses(ctx, m)
		done := true
		for _, s := range st {
			if !mine[s.Run.Index] {
				continue
			}
			if s.Slurm == "COMPLETED" && s.State == Failed {
				// The task exited 0, so the run completed: a network filesystem may take
				// a while to show this node its run.json.
				if _, ok := completedAt[s.Run.Index]; !ok {
					completedAt[s.Run.Index] = time.Now()
				}
				if time.Since(completedAt[s.Run.Index]) < settleTime {
					s.State, s.Reason = Running, "finished; waiting for its run folder to show"
				}
			}
			if !s.final() {
				done = false
			}
			if line := s.State + s.Reason; line != last[s.Run.Index] {
				last[s.Run.Index] = line
				fmt.Fprintf(opts.Stdout, "%s  %-9s %-12s %s", time.Now().Format("15:04:05"), s.State, s.Run.Task(), s.Run.Name())
				if s.State == Failed {
					fmt.Fprintf(opts.Stdout, ": %s", s.Reason)
				}
				fmt.Fprintln(opts.Stdout)
			}
		}
		if done {
			fmt.Fprintln(opts.Stdout)
			return finish(m, st, opts.Stdout, true)
		}
		t := time.NewTimer(opts.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return cancelArray(ctx, opts, m, id)
		case <-t.C:
		}
	}
}

// cancelArray runs scancel on the job array after an interruption and writes the summary.
func cancelArray(ctx context.Context, opts *Options, m *Manifest, id string) error {
	bg := context.WithoutCancel(ctx)
	if _, err := slurmCmd(bg, "scancel", id); err != nil {
		fmt.Fprintf(opts.Stderr, "batch: could not cancel Slurm job %s: %v; cancel it with scancel %s\n", id, err, id)
	} else {
		fmt.Fprintf(opts.Stderr, "batch: cancelled Slurm job array %s (scancel %s)\n", id, id)
	}
	if err := finish(m, statuses(bg, m), opts.Stdout, false); err != nil {
		var fe *FailedError
		if !errors.As(err, &fe) {
			fmt.Fprintln(opts.Stderr, err)
		}
	}
	return fmt.Errorf("%w: batch stopped and Slurm job %s cancelled; rerun what did not complete with dsamstan batch --resume %s (%w)",
		pipeline.ErrInterrupted, id, m.Dir, context.Cause(ctx))
}

// querySlurm asks Slurm about the tasks of runs (QueryTasks).
func querySlurm(ctx context.Context, runs []*Entry) (map[string]*TaskState, error) {
	var refs []TaskRef
	for _, r := range runs {
		if r.JobID != "" && r.ArrayIndex != nil {
			refs = append(refs, TaskRef{JobID: r.JobID, Index: *r.ArrayIndex})
		}
	}
	return QueryTasks(ctx, refs)
}

// TaskRef names one task of a job array.
type TaskRef struct {
	JobID string
	Index int
}

// Key is the task's id, JOBID_INDEX, as QueryTasks's map has it.
func (r TaskRef) Key() string { return fmt.Sprintf("%s_%d", r.JobID, r.Index) }

// QueryTasks asks squeue, then scontrol show job for tasks squeue no longer lists or that
// ended badly (for their exit code), about the tasks refs, keyed JOBID_INDEX. It never
// needs sacct, which small clusters run without. Tasks Slurm has forgotten are absent from
// the map. The error says squeue could not be asked at all (not on PATH, no controller).
func QueryTasks(ctx context.Context, refs []TaskRef) (map[string]*TaskState, error) {
	var ids []string
	for _, r := range refs {
		if r.JobID != "" && !slices.Contains(ids, r.JobID) {
			ids = append(ids, r.JobID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	tasks := map[string]*TaskState{}
	out, err := slurmCmd(ctx, "squeue", "--noheader", "--array", "--states=all",
		"--jobs="+strings.Join(ids, ","), "--format=%i|%T|%r")
	if err != nil && !strings.Contains(err.Error(), "Invalid job id") {
		return nil, err
	}
	parseSqueue(out, tasks)
	ask := map[string]bool{}
	for _, r := range refs {
		t := tasks[r.Key()]
		if r.JobID != "" && (t == nil || !(t.Waiting() || t.Active() || t.State == "COMPLETED")) {
			ask[r.JobID] = true
		}
	}
	for _, id := range ids {
		if !ask[id] {
			continue
		}
		if out, err := slurmCmd(ctx, "scontrol", "show", "job", "--oneliner", id); err == nil {
			parseScontrol(out, tasks)
		}
	}
	return tasks, nil
}

// CancelJob cancels a job array with scancel.
func CancelJob(ctx context.Context, id string) error {
	_, err := slurmCmd(ctx, "scancel", id)
	return err
}

// parseSqueue reads `squeue --array --format=%i|%T|%r` lines: "123_4|RUNNING|None".
func parseSqueue(out string, tasks map[string]*TaskState) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 3 {
			continue
		}
		job, idx, ok := strings.Cut(f[0], "_")
		if !ok {
			continue
		}
		for _, i := range expandIndices(idx) {
			tasks[fmt.Sprintf("%s_%d", job, i)] = &TaskState{State: baseState(f[1]), Reason: f[2]}
		}
	}
}

var scontrolField = regexp.MustCompile(`(?:^|\s)(JobState|Reason|ExitCode|ArrayJobId|ArrayTaskId)=(\S*)`)

// parseScontrol reads `scontrol show job --oneliner` records, one per array task (or per
// pending remainder, "ArrayTaskId=3-5%2"). It keeps what squeue said of a task unless
// scontrol knows more.
func parseScontrol(out string, tasks map[string]*TaskState) {
	for _, line := range strings.Split(out, "\n") {
		kv := map[string]string{}
		for _, m := range scontrolField.FindAllStringSubmatch(line, -1) {
			kv[m[1]] = m[2]
		}
		if kv["ArrayJobId"] == "" || kv["JobState"] == "" {
			continue
		}
		for _, i := range expandIndices(kv["ArrayTaskId"]) {
			key := fmt.Sprintf("%s_%d", kv["ArrayJobId"], i)
			tasks[key] = &TaskState{State: baseState(kv["JobState"]), Reason: kv["Reason"], ExitCode: kv["ExitCode"]}
		}
	}
}

// baseState drops the flags Slurm may append to a state ("CANCELLED by 0").
func baseState(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	return strings.TrimRight(s, "+")
}

// expandIndices expands an array index list: "4", "[2-4%2]", "1,3-5".
func expandIndices(s string) []int {
	s = strings.Trim(s, "[]")
	s, _, _ = strings.Cut(s, "%")
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 100000 {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out
}
