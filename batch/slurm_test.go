package batch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/internal/slurmtest"
	"github.com/dsamstan/dsamstan/pipeline"
)

// The fake Slurm is slurmtest's; fakeSlurm and fakeState name it here.
type fakeState = slurmtest.FakeState

// fakeSlurm puts the fake Slurm commands first on PATH and returns the folder of its state
// and call log. Commands named in without are left out.
func fakeSlurm(t *testing.T, st *fakeState, without ...string) string {
	t.Helper()
	return slurmtest.Fake(t, st, nil, without...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func calls(dir string) []string { return slurmtest.Calls(dir) }

// fakeDsamstan writes a dsamstan stand-in for the job script to run: `run CFG --run-dir DIR`
// fails with an ingest error when the config names missing.csv, and otherwise writes a
// completed run.json and a loo_summary.csv. Each call is appended to runs.log.
func fakeDsamstan(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "dsamstan")
	body := `#!/bin/sh
echo "$@" >> ` + shellQuote(filepath.Join(dir, "runs.log")) + `
cfg=$2 run=$4
if grep -q missing.csv "$cfg"; then
  echo "Error: ingest: data.path missing.csv: no such file" >&2
  exit 1
fi
mkdir -p "$run/00_run_metadata" "$run/50_model_selection"
cat > "$run/00_run_metadata/run.json" <<EOF
{"status": "completed", "diagnostics": "pass", "fit_method": "mcmc",
 "started": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:00:42Z", "timings_seconds": {}}
EOF
printf 'elpd_loo,se_elpd_loo,p_loo,se_p_loo,looic,se_looic,mcse_elpd_loo,n,s,unused,k_good,k_ok,k_bad,k_very_bad,k_threshold\n' > /dev/null
`
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func fakeRuns(bin string) []string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(bin), "runs.log"))
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestHelperProcess plays a Slurm command, or the dsamstan of fakeFanoutSlurm; it is no
// test by itself.
func TestHelperProcess(t *testing.T) {
	name, args, ok := slurmtest.HelperCommand()
	switch {
	case !ok:
	case name == "dsamstan":
		runFanoutTask(args)
	default:
		slurmtest.Play(t, name, args)
	}
}

// slurmOpts are the options of a Slurm batch of configs into a new folder.
func slurmOpts(t *testing.T, cfgs []string, bin string) (Options, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return Options{Configs: cfgs, Executor: Slurm, Out: filepath.Join(t.TempDir(), "batch"), Jobs: 2, Binary: bin,
		Slurm: SlurmOptions{Partition: "debug", Time: SlurmTime(30 * time.Minute), Mem: "4G"},
		Poll:  time.Millisecond, Stdout: &stdout, Stderr: &stderr}, &stdout, &stderr
}

// TestSlurmSubmitWatchResume submits three configs, one broken, as one array, watches it
// through pending and running to the end, and resumes after the config is fixed: only the
// broken run is resubmitted.
func TestSlurmSubmitWatchResume(t *testing.T) {
	state := fakeSlurm(t, &fakeState{})
	t.Setenv("DSAMSTAN_CACHE", filepath.Join(t.TempDir(), "cache"))
	bin := fakeDsamstan(t)
	cfgs := exampleConfigs(t, "a", "b", "c")
	breakConfig(t, cfgs[1])
	opts, stdout, stderr := slurmOpts(t, cfgs, bin)
	err := Run(context.Background(), opts)
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 1 {
		t.Fatalf("Run: %v; want one failed run\n%s%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr.String(), "warning: the compile cache") || !strings.Contains(stderr.String(), "export DSAMSTAN_CACHE=") {
		t.Errorf("no warning about a compile cache under /tmp:\n%s", stderr)
	}
	c := calls(state)
	if c[0] != "scontrol ping" {
		t.Errorf("first call %q; want scontrol ping", c[0])
	}
	script := filepath.Join(opts.Out, "batch.sbatch")
	if !contains(c, "sbatch --parsable --array=0-2%2 "+script) {
		t.Errorf("no sbatch of the whole array in %q", c)
	}
	body, _ := os.ReadFile(script)
	for _, want := range []string{"#SBATCH --partition=debug", "#SBATCH --time=0-00:30:00", "#SBATCH --mem=4G",
		"#SBATCH --output=" + filepath.Join(opts.Out, "logs", "task_%a_%A.log"),
		"1) set -- " + shellQuote(cfgs[1]) + " " + shellQuote(filepath.Join(opts.Out, "runs", "1_b")),
		"exec " + shellQuote(bin) + ` run "$1" --run-dir "$2"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the job script lacks %q:\n%s", want, body)
		}
	}
	out := strings.Join(strings.Fields(stdout.String()), " ")
	for _, want := range []string{"submitted Slurm job array 1000", "pending 1000_0 a.yaml", "running 1000_2 c.yaml", "completed 1000_0 a.yaml",
		"failed 1000_1 b.yaml: slurm FAILED (NonZeroExitCode, exit 1:0); no run.json; the log says: ingest: data.path missing.csv"} {
		if !strings.Contains(out, want) {
			t.Errorf("the watch lacks %q:\n%s", want, out)
		}
	}
	m, _ := Load(opts.Out)
	if m.Runs[2].Task() != "1000_2" || m.Runs[2].Log != "logs/task_2_1000.log" || len(m.Submissions) != 1 {
		t.Errorf("manifest: %+v %+v", m.Runs[2], m.Submissions)
	}
	rows := readSummary(t, opts.Out)
	if rows[0]["status"] != Completed || rows[0]["wall_seconds"] != "42.0" || rows[0]["verdict"] != "pass" || rows[1]["status"] != Failed {
		t.Errorf("summary: %v", rows)
	}
	if n := len(fakeRuns(bin)); n != 3 {
		t.Errorf("%d runs; want 3", n)
	}

	// Fix b; --resume resubmits task 1 alone, with the batch's settings.
	b, _ := os.ReadFile(cfgs[1])
	os.WriteFile(cfgs[1], bytes.Replace(b, []byte("missing.csv"), []byte("data.csv"), 1), 0o644)
	stdout.Reset()
	if err := Resume(context.Background(), opts.Out, Options{Binary: bin, Poll: time.Millisecond, Stdout: stdout, Stderr: stderr}); err != nil {
		t.Fatalf("Resume: %v\n%s%s", err, stdout, stderr)
	}
	c = calls(state)
	if last := c[len(c)-1]; !contains(c, "sbatch --parsable --array=1%2 "+script) {
		t.Errorf("resume did not submit task 1 alone: %q (last %q)", c, last)
	}
	if runs := fakeRuns(bin); len(runs) != 4 || !strings.Contains(runs[3], "b.yaml") {
		t.Errorf("runs: %q", runs)
	}
	for _, row := range readSummary(t, opts.Out) {
		if row["status"] != Completed {
			t.Errorf("after resume: %v", row)
		}
	}
	m, _ = Load(opts.Out)
	if m.Runs[1].Task() != "1001_1" || m.Runs[0].Task() != "1000_0" || m.Runs[1].Attempts != 2 {
		t.Errorf("manifest after resume: %+v %+v", m.Runs[0], m.Runs[1])
	}
}

// TestSlurmStates reads each Slurm state, with and without the run's own word.
func TestSlurmStates(t *testing.T) {
	const (
		completedJSON = `{"status": "completed", "diagnostics": "warn"}`
		failedJSON    = `{"status": "failed", "error": "cmdstan: sampler failed: chain 1 exited 70"}`
		interruptJSON = `{"status": "interrupted", "error": "cmdstan: interrupted: stopped"}`
		runningJSON   = `{"status": "running"}`
	)
	for _, tc := range []struct {
		name, squeue, scontrol, runJSON, log string
		gone, down                           bool
		state                                string
		reason                               []string
	}{
		{name: "pending", squeue: "1000_0|PENDING|Resources\n", state: Pending, reason: []string{"PENDING (Resources)"}},
		{name: "pending remainder", squeue: "1000_[0-3%2]|PENDING|JobArrayTaskLimit\n", state: Pending, reason: []string{"JobArrayTaskLimit"}},
		{name: "running", squeue: "1000_0|RUNNING|None\n", runJSON: runningJSON, state: Running},
		{name: "completing", squeue: "1000_0|COMPLETING|None\n", state: Running},
		{name: "completed", squeue: "1000_0|COMPLETED|None\n", runJSON: completedJSON, state: Completed},
		{name: "completed, no run.json", squeue: "1000_0|COMPLETED|None\n", state: Failed, reason: []string{"slurm COMPLETED", "no run.json"}},
		{name: "failed", squeue: "1000_0|FAILED|NonZeroExitCode\n", runJSON: failedJSON,
			scontrol: "JobId=1001 ArrayJobId=1000 ArrayTaskId=0 JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0\n",
			state:    Failed, reason: []string{"FAILED (NonZeroExitCode, exit 3:0)", "chain 1 exited 70"}},
		{name: "cancelled", squeue: "1000_0|CANCELLED|None\n", runJSON: interruptJSON,
			scontrol: "JobId=1001 ArrayJobId=1000 ArrayTaskId=0 JobState=CANCELLED Reason=None ExitCode=0:15\n",
			state:    Failed, reason: []string{"CANCELLED (exit 0:15)", "run interrupted"}},
		{name: "timeout", squeue: "1000_0|TIMEOUT|TimeLimit\n", runJSON: interruptJSON,
			scontrol: "JobId=1001 ArrayJobId=1000 ArrayTaskId=0 JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15\n",
			state:    Failed, reason: []string{"TIMEOUT (TimeLimit, exit 0:15)", "run interrupted"}},
		{name: "out of memory", squeue: "1000_0|OUT_OF_MEMORY|OutOfMemory\n", runJSON: runningJSON,
			scontrol: "JobId=1001 ArrayJobId=1000 ArrayTaskId=0 JobState=OUT_OF_MEMORY Reason=OutOfMemory ExitCode=0:125\n",
			state:    Failed, reason: []string{"OUT_OF_MEMORY (OutOfMemory, exit 0:125)", "killed by a time or memory limit"}},
		{name: "gone, completed", gone: true, runJSON: completedJSON, state: Completed},
		{name: "gone, failed", gone: true, runJSON: failedJSON, state: Failed, reason: []string{"run failed: cmdstan: sampler failed"}},
		{name: "gone, killed", gone: true, runJSON: runningJSON, state: Failed, reason: []string{"stopped without finishing run.json"}},
		{name: "gone, config did not load", gone: true, log: "Error: ingest: config.yaml:3:1: unknown key\n", state: Failed,
			reason: []string{"no run.json; the log says: ingest: config.yaml:3:1: unknown key"}},
		{name: "gone, never started", gone: true, state: Failed, reason: []string{"no log: the task never started"}},
		{name: "slurm unreachable, no result yet", down: true, state: Pending, reason: []string{"Slurm cannot be asked", "Unable to contact"}},
		{name: "slurm unreachable, completed", down: true, runJSON: completedJSON, state: Completed},
		{name: "slurm unreachable, config did not load", down: true, log: "Error: ingest: bad\n", state: Failed, reason: []string{"ingest: bad"}},
		{name: "gone from squeue, scontrol knows", squeue: "\n",
			scontrol: "JobId=1001 ArrayJobId=1000 ArrayTaskId=0 JobName=x JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:15\n",
			runJSON:  interruptJSON, state: Failed, reason: []string{"slurm TIMEOUT (TimeLimit, exit 0:15)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakeSlurm(t, &fakeState{Squeue: tc.squeue, Scontrol: tc.scontrol, Gone: tc.gone, Down: tc.down})
			dir := t.TempDir()
			zero := 0
			r := &Entry{Index: 0, Config: "/cfg/a.yaml", RunDir: filepath.Join(dir, "runs", "0_a"), JobID: "1000", ArrayIndex: &zero,
				Attempts: 1, Log: "logs/task_0_1000.log"}
			m := &Manifest{Dir: dir, Executor: Slurm, Runs: []*Entry{r}}
			if tc.runJSON != "" {
				os.MkdirAll(filepath.Join(r.RunDir, "00_run_metadata"), 0o755)
				os.WriteFile(filepath.Join(r.RunDir, "00_run_metadata", "run.json"), []byte(tc.runJSON), 0o644)
			}
			if tc.log != "" || tc.runJSON != "" {
				os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
				os.WriteFile(filepath.Join(dir, r.Log), []byte(tc.log), 0o644)
			}
			s := statuses(context.Background(), m)[0]
			if s.State != tc.state {
				t.Errorf("state %q (%s); want %q", s.State, s.Reason, tc.state)
			}
			for _, want := range tc.reason {
				if !strings.Contains(s.Reason, want) {
					t.Errorf("reason %q lacks %q", s.Reason, want)
				}
			}
		})
	}
}

// TestSlurmInterrupt cancels a watched batch, as Ctrl-C does: the array is scancelled and
// the error is an interruption (exit 130).
func TestSlurmInterrupt(t *testing.T) {
	state := fakeSlurm(t, &fakeState{Hang: true})
	t.Setenv("DSAMSTAN_CACHE", filepath.Join(os.Getenv("HOME"), ".cache", "dsamstan-test-unused"))
	opts, _, _ := slurmOpts(t, exampleConfigs(t, "a", "b"), fakeDsamstan(t))
	var stdout, stderr lockedBuffer // read while Run writes
	opts.Stdout, opts.Stderr = &stdout, &stderr
	opts.Poll = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Run(ctx, opts) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "running") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	err := <-done
	if !errors.Is(err, pipeline.ErrInterrupted) {
		t.Fatalf("Run: %v; want an interruption\n%s%s", err, stdout.String(), stderr.String())
	}
	if c := calls(state); c[len(c)-1] != "scancel 1000" && !contains(c, "scancel 1000") {
		t.Errorf("no scancel 1000 in %q", c)
	}
	if !strings.Contains(stderr.String(), "cancelled Slurm job array 1000") || strings.Contains(stderr.String(), "compile cache") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(opts.Out, "batch_summary.csv")); err != nil {
		t.Errorf("no summary after the interruption: %v", err)
	}
}

// TestSlurmRefusals: without sbatch, or with a controller that does not answer, nothing is
// written or submitted; an sbatch error is reported with sbatch's message.
func TestSlurmRefusals(t *testing.T) {
	cfgs := exampleConfigs(t, "a")
	for _, tc := range []struct {
		name    string
		st      fakeState
		without []string
		want    string
		written bool
	}{
		{name: "no sbatch", without: []string{"sbatch"}, want: "sbatch not found on PATH"},
		{name: "controller down", st: fakeState{Ping: "DOWN"}, want: "does not answer"},
		{name: "controller unreachable", st: fakeState{Ping: "fail"}, want: "Unable to contact slurm controller"},
		{name: "sbatch error", st: fakeState{SbatchErr: "invalid partition specified: debug"}, want: "invalid partition specified", written: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := fakeSlurm(t, &tc.st, tc.without...)
			opts, _, _ := slurmOpts(t, cfgs, "/no/dsamstan")
			err := Run(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v; want it to say %q", err, tc.want)
			}
			if !tc.written {
				if _, err := os.Stat(opts.Out); err == nil {
					t.Error("a refused batch wrote its folder")
				}
			}
			for _, c := range calls(state) {
				if strings.HasPrefix(c, "sbatch") && !tc.written {
					t.Errorf("a refused batch ran %q", c)
				}
			}
		})
	}
}

func TestSlurmHelpers(t *testing.T) {
	for _, tc := range []struct {
		idx  []int
		jobs int
		want string
	}{
		{[]int{0, 1, 2}, 2, "0-2%2"},
		{[]int{5, 1, 3, 4}, 1, "1,3-5%1"},
		{[]int{7}, 8, "7%8"},
	} {
		if got := arraySpec(tc.idx, tc.jobs); got != tc.want {
			t.Errorf("arraySpec(%v, %d) = %q; want %q", tc.idx, tc.jobs, got, tc.want)
		}
	}
	for d, want := range map[time.Duration]string{30 * time.Minute: "0-00:30:00", 26*time.Hour + 90*time.Second: "1-02:01:30", 1500 * time.Millisecond: "0-00:00:02"} {
		if got := SlurmTime(d); got != want {
			t.Errorf("SlurmTime(%v) = %q; want %q", d, got, want)
		}
	}
	for dir, want := range map[string]string{"/tmp/x/cache": "/tmp", "/dev/shm/c": "/dev/shm", "/home/u/.cache/dsamstan": "", "/tmpfoo": ""} {
		t.Setenv("TMPDIR", "")
		if got := nodeLocal(dir); got != want {
			t.Errorf("nodeLocal(%q) = %q; want %q", dir, got, want)
		}
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("shellQuote: %s", got)
	}
}

// lockedBuffer is a bytes.Buffer a test can read while another goroutine writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
