package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/pipeline"
)

// The fake Slurm: sbatch, squeue, scontrol and scancel on PATH are scripts that run this
// test binary as TestHelperProcess, which plays the command named by FAKE_SLURM_CMD against
// a state file in FAKE_SLURM_DIR. The fake sbatch runs each array task's job script at once
// (with SLURM_ARRAY_TASK_ID set, output to the --output file), and remembers how it ended;
// squeue then reports each task PENDING, then RUNNING, then as it ended.

// fakeState is the fake cluster.
type fakeState struct {
	NextID int `json:"next_id"`
	// Ping is what scontrol ping says: "UP" (default), "DOWN", or "fail" to exit 1.
	Ping string `json:"ping"`
	// SbatchErr makes sbatch fail with this message.
	SbatchErr string `json:"sbatch_err"`
	// Squeue and Scontrol, when set, are printed as they are, for tests of the parsers and
	// of each state; Gone makes squeue and scontrol say the job is unknown.
	Squeue   string `json:"squeue"`
	Scontrol string `json:"scontrol"`
	Gone     bool   `json:"gone"`
	// Down makes squeue and scontrol fail as without a controller.
	Down bool `json:"down"`
	// Hang keeps submitted tasks RUNNING for ever.
	Hang  bool                 `json:"hang"`
	Tasks map[string]*fakeTask `json:"tasks"`
	// Polls counts squeue calls since the last submission.
	Polls int `json:"polls"`
}

type fakeTask struct {
	State, Reason, Exit string
	Cancelled           bool
}

func readState(t testing.TB, dir string) *fakeState {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s fakeState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// writeState writes the fake cluster's state atomically: a fake command killed by a
// cancelled context must not leave half a state for the next one.
func writeState(t testing.TB, dir string, s *fakeState) {
	b, _ := json.Marshal(s)
	tmp := filepath.Join(dir, fmt.Sprintf("state.json.%d", os.Getpid()))
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "state.json")); err != nil {
		t.Fatal(err)
	}
}

// fakeSlurm puts the fake Slurm commands first on PATH and returns the folder of its state
// and call log. Commands named in without are left out.
func fakeSlurm(t *testing.T, st *fakeState, without ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	for _, name := range []string{"sbatch", "squeue", "scontrol", "scancel"} {
		if contains(without, name) {
			continue
		}
		body := fmt.Sprintf("#!/bin/sh\nDSAMSTAN_WANT_HELPER_PROCESS=1 FAKE_SLURM_CMD=%s FAKE_SLURM_DIR=%s exec %s -test.run='^TestHelperProcess$' -- \"$@\"\n",
			name, shellQuote(dir), shellQuote(exe))
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := bin + string(os.PathListSeparator) + "/usr/bin:/bin"
	if len(without) > 0 {
		path = bin // the real Slurm commands may be installed in /usr/bin
	}
	t.Setenv("PATH", path)
	if st.NextID == 0 {
		st.NextID = 1000
	}
	writeState(t, dir, st)
	return dir
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// calls returns the fake commands' command lines, one per call.
func calls(dir string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, "calls.log"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

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

// TestHelperProcess plays a Slurm command; it is no test by itself.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("DSAMSTAN_WANT_HELPER_PROCESS") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	name, dir := os.Getenv("FAKE_SLURM_CMD"), os.Getenv("FAKE_SLURM_DIR")
	f, _ := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	fmt.Fprintln(f, name+" "+strings.Join(args, " "))
	f.Close()
	st := readState(t, dir)
	code := 0
	switch name {
	case "scontrol":
		if args[0] == "ping" {
			switch st.Ping {
			case "fail":
				fmt.Fprintln(os.Stderr, "slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)")
				code = 1
			case "DOWN":
				fmt.Println("Slurmctld(primary) at ctl is DOWN")
			default:
				fmt.Println("Slurmctld(primary) at ctl is UP")
			}
			break
		}
		if st.Gone || (st.Scontrol == "" && st.Squeue != "") {
			fmt.Fprintln(os.Stderr, "slurm_load_jobs error: Invalid job id specified")
			code = 1
			break
		}
		if st.Scontrol != "" {
			fmt.Print(st.Scontrol)
			break
		}
		for key, tk := range st.Tasks {
			job, idx, _ := strings.Cut(key, "_")
			fmt.Printf("JobId=9%s ArrayJobId=%s ArrayTaskId=%s JobName=dsamstan-batch JobState=%s Reason=%s Dependency=(null) ExitCode=%s\n",
				idx, job, idx, tk.State, tk.Reason, tk.Exit)
		}
	case "squeue":
		if st.Down {
			fmt.Fprintln(os.Stderr, "slurm_load_jobs error: Unable to contact slurm controller (connect failure)")
			code = 1
			break
		}
		if st.Gone {
			fmt.Fprintln(os.Stderr, "slurm_load_jobs error: Invalid job id specified")
			code = 1
			break
		}
		if st.Squeue != "" {
			fmt.Print(st.Squeue)
			break
		}
		st.Polls++
		for key, tk := range st.Tasks {
			state, reason := tk.State, "None"
			switch {
			case tk.Cancelled:
				state = "CANCELLED"
			case st.Polls == 1:
				state, reason = "PENDING", "Priority"
			case st.Polls == 2 || st.Hang:
				state = "RUNNING"
			}
			fmt.Printf("%s|%s|%s\n", key, state, reason)
		}
	case "scancel":
		for key, tk := range st.Tasks {
			if strings.HasPrefix(key, args[0]+"_") {
				tk.Cancelled = true
				tk.State = "CANCELLED"
			}
		}
	case "sbatch":
		if st.SbatchErr != "" {
			fmt.Fprintln(os.Stderr, "sbatch: error: "+st.SbatchErr)
			code = 1
			break
		}
		var array, script string
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "--array="); ok {
				array = v
			} else if !strings.HasPrefix(a, "--") {
				script = a
			}
		}
		body, err := os.ReadFile(script)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.WriteFile(filepath.Join(dir, "script"), body, 0o644)
		out := regexp.MustCompile(`(?m)^#SBATCH --output=(.*)$`).FindStringSubmatch(string(body))[1]
		id := st.NextID
		st.NextID++
		st.Polls = 0
		if st.Tasks == nil {
			st.Tasks = map[string]*fakeTask{}
		}
		for _, i := range expandIndices(array) {
			log := strings.NewReplacer("%a", fmt.Sprint(i), "%A", fmt.Sprint(id)).Replace(out)
			lf, _ := os.Create(log)
			cmd := exec.Command("/bin/sh", script)
			cmd.Env = append(os.Environ(), fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i), fmt.Sprintf("SLURM_ARRAY_JOB_ID=%d", id))
			cmd.Stdout, cmd.Stderr = lf, lf
			tk := &fakeTask{State: "COMPLETED", Reason: "None", Exit: "0:0"}
			if !st.Hang {
				if err := cmd.Run(); err != nil {
					tk = &fakeTask{State: "FAILED", Reason: "NonZeroExitCode", Exit: fmt.Sprintf("%d:0", cmd.ProcessState.ExitCode())}
				}
			}
			lf.Close()
			st.Tasks[fmt.Sprintf("%d_%d", id, i)] = tk
		}
		fmt.Printf("%d;cluster\n", id)
	}
	writeState(t, dir, st)
	os.Exit(code)
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
