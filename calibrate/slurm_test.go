package calibrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/batch"
	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/internal/slurmtest"
)

// The fake Slurm is slurmtest's. The job script's dsamstan is this test binary too, which
// runs `calibrate --sim-task DIR --index I` with RunTask, as the real one does.
type fakeState = slurmtest.FakeState

// fakeSlurm puts the fake Slurm commands first on PATH (without those named in without)
// and returns the folder of its state and call log, and the fake dsamstan binary.
func fakeSlurm(t *testing.T, st *fakeState, without ...string) (dir, dsamstan string) {
	t.Helper()
	dir = slurmtest.Fake(t, st, []string{"dsamstan"}, without...)
	return dir, filepath.Join(dir, "bin", "dsamstan")
}

func calls(dir string) []string { return slurmtest.Calls(dir) }

// TestHelperProcess plays a Slurm command or dsamstan; it is no test by itself.
func TestHelperProcess(t *testing.T) {
	name, args, ok := slurmtest.HelperCommand()
	if !ok {
		return
	}
	if name != "dsamstan" {
		slurmtest.Play(t, name, args)
	}
	// calibrate --sim-task DIR --index I, as the CLI runs it
	if len(args) != 5 || args[0] != "calibrate" || args[1] != "--sim-task" || args[3] != "--index" {
		fmt.Fprintf(os.Stderr, "Error: fake dsamstan: unexpected arguments %q\n", args)
		os.Exit(2)
	}
	i, _ := strconv.Atoi(args[4])
	if err := RunTask(context.Background(), args[2], i, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// localStudy runs a local calibration of config with seed 3 and 20 + 20 iterations per
// chain, one simulation at a time, and returns its folder.
func localStudy(t *testing.T, config string, sims int) string {
	return localStudyWith(t, config, sims, 3, 20)
}

// localStudyWith runs a local calibration of config with iters warmup and iters draws per
// chain, one simulation at a time, and returns its folder.
func localStudyWith(t *testing.T, config string, sims int, seed int64, iters int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "local")
	if _, err := Run(context.Background(), Options{ConfigPath: config, Out: out, Sims: sims, Jobs: 1, Seed: &seed,
		Warmup: iters, Samples: iters}); err != nil {
		t.Fatal(err)
	}
	return out
}

// dropSeconds removes the last column (seconds) of calibration_sims.csv.
func dropSeconds(b []byte) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		out = append(out, line[:strings.LastIndexByte(line, ',')])
	}
	return strings.Join(out, "\n")
}

// sameAsLocal asks that the gathered study in dir wrote what the local study in local did:
// the same ranks, byte for byte, the same summary and verdict, the same simulations but
// for their wall time.
func sameAsLocal(t *testing.T, dir, local string) {
	t.Helper()
	for _, f := range []string{"calibration_ranks.csv", "calibration.csv", "verdict.txt"} {
		a, err1 := os.ReadFile(filepath.Join(local, f))
		b, err2 := os.ReadFile(filepath.Join(dir, f))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from the local study's (%v, %v):\nlocal:\n%s\nslurm:\n%s", f, err1, err2, a, b)
		}
	}
	a, _ := os.ReadFile(filepath.Join(local, "calibration_sims.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "calibration_sims.csv"))
	if dropSeconds(a) != dropSeconds(b) {
		t.Errorf("calibration_sims.csv differs from the local study's:\nlocal:\n%s\nslurm:\n%s", a, b)
	}
	if _, err := os.Stat(filepath.Join(dir, "rank_histograms_1.png")); err != nil {
		t.Error(err)
	}
}

// TestSlurmStudy submits 5 simulations as 3 array tasks of up to 2 against the fake Slurm
// and the fake CmdStan, with the sampler of task 1 crashing: the watch reports the failed
// task with Slurm's state and the task's error, the finished simulations are gathered with
// 2 missing, --status says so, and --resume reruns task 1 alone. The gathered files are
// then those of a local study of the same seed, and the program was compiled once, before
// submission.
func TestSlurmStudy(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	state, bin := fakeSlurm(t, &fakeState{Crash: []int{1}})
	config := exampleConfig(t, 0, 0)
	out := filepath.Join(t.TempDir(), "sbc")
	seed := int64(3)
	var stdout, log bytes.Buffer
	res, err := Submit(context.Background(),
		Options{ConfigPath: config, Out: out, Sims: 5, Seed: &seed, Warmup: 20, Samples: 20, CmdStanDir: home, Log: &log},
		SlurmOptions{Slurm: batch.SlurmOptions{Partition: "debug", Time: batch.SlurmTime(time.Hour), Mem: "2G", Jobs: 2},
			SimsPerTask: 2, Binary: bin, Poll: time.Millisecond, Stdout: &stdout})
	var me *MissingError
	if !errors.As(err, &me) || me.Missing != 2 || me.FailedTasks != 1 {
		t.Fatalf("Submit: %v; want 2 simulations missing from 1 failed task\n%s%s", err, stdout.String(), log.String())
	}
	t.Logf("the watch:\n%s", stdout.String())
	if res == nil || res.Sims != 3 || res.Missing != 2 {
		t.Fatalf("result %+v; want 3 simulations gathered, 2 missing", res)
	}
	if n := fakecmdstan.MakeCalls(home); n != 1 {
		t.Errorf("make ran %d times; want once, before submission", n)
	}
	script := filepath.Join(out, "calibration.sbatch")
	c := calls(state)
	if c[0] != "scontrol ping" || !slices.Contains(c, "sbatch --parsable --array=0-2%2 "+script) {
		t.Errorf("calls %q; want scontrol ping, then one sbatch of tasks 0-2, 2 at once", c)
	}
	body, _ := os.ReadFile(script)
	for _, want := range []string{"#SBATCH --partition=debug", "#SBATCH --time=0-01:00:00", "#SBATCH --mem=2G",
		"#SBATCH --output=" + filepath.Join(out, "logs", "task_%a_%A.log"),
		"exec " + shellQuote(bin) + " calibrate --sim-task " + shellQuote(out) + ` --index "$SLURM_ARRAY_TASK_ID"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the job script lacks %q:\n%s", want, body)
		}
	}
	watched := strings.Join(strings.Fields(stdout.String()), " ")
	for _, want := range []string{"submitted Slurm job array 1000: 3 tasks of up to 2 simulations, 2 at a time",
		"pending 1000_1 sims 3-4", "running 1000_1 sims 3-4", "completed 1000_0 sims 1-2", "completed 1000_2 sim 5",
		"failed 1000_1 sims 3-4: slurm FAILED (NonZeroExitCode, exit 1:0); 0 of 2 simulations written; the log says: calibrate: simulation 3:",
		"3 of 5 simulations finished, 2 missing"} {
		if !strings.Contains(watched, want) {
			t.Errorf("the watch lacks %q:\n%s", want, stdout.String())
		}
	}
	ranks, _ := os.ReadFile(filepath.Join(out, "calibration_ranks.csv"))
	var sims []string
	for _, line := range strings.Split(strings.TrimSpace(string(ranks)), "\n")[1:] {
		s, _, _ := strings.Cut(line, ",")
		if !slices.Contains(sims, s) {
			sims = append(sims, s)
		}
	}
	if !slices.Equal(sims, []string{"1", "2", "5"}) {
		t.Errorf("gathered simulations %q; want 1, 2 and 5", sims)
	}

	stdout.Reset()
	if _, err := Status(context.Background(), out, &stdout); !errors.As(err, &me) {
		t.Errorf("Status: %v; want a MissingError", err)
	}
	if s := stdout.String(); !strings.Contains(s, "failed    1000_1") || !strings.Contains(s, "2 missing") {
		t.Errorf("status:\n%s", s)
	}

	// The crash is fixed: --resume reruns task 1 alone.
	st := slurmtest.ReadState(t, state)
	st.Crash = nil
	slurmtest.WriteState(t, state, st)
	stdout.Reset()
	res, err = Resume(context.Background(), out, SlurmOptions{Binary: bin, Poll: time.Millisecond, Stdout: &stdout}, &log)
	if err != nil || res.Sims != 5 || res.Missing != 0 {
		t.Fatalf("Resume: %+v, %v\n%s%s", res, err, stdout.String(), log.String())
	}
	if c := calls(state); !slices.Contains(c, "sbatch --parsable --array=1%2 "+script) {
		t.Errorf("resume did not submit task 1 alone: %q", c)
	}
	sf, err := loadStudy(out)
	if err != nil {
		t.Fatal(err)
	}
	if sf.CmdStan != home || sf.Seed != 3 || sf.Warmup != 20 || sf.Samples != 20 || sf.SimsPerTask != 2 || sf.Slurm.Jobs != 2 {
		t.Errorf("study settings: %+v; want the CmdStan %s, seed 3, 20 + 20 iterations, 2 simulations a task, 2 tasks at once", sf, home)
	}
	if sf.Tasks[1].name() != "1001_1" || sf.Tasks[1].Attempts != 2 || sf.Tasks[0].name() != "1000_0" || len(sf.Submissions) != 2 {
		t.Errorf("study after resume: %+v %+v %+v", sf.Tasks[0], sf.Tasks[1], sf.Submissions)
	}
	if n := fakecmdstan.MakeCalls(home); n != 1 {
		t.Errorf("make ran %d times; want once", n)
	}
	sameAsLocal(t, out, localStudy(t, config, 5))
}

// TestSlurmGatherPartial gathers a study folder of which only some simulations finished,
// without Slurm: the summary is over those, the missing ones are counted.
func TestSlurmGatherPartial(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	config := exampleConfig(t, 0, 0)
	local := localStudy(t, config, 4)
	out := filepath.Join(t.TempDir(), "sbc")
	sum, _ := hashFile(config)
	sf := &studyFile{Dir: out, Config: config, ConfigSHA256: sum, Sims: 4, SimsPerTask: 4, Seed: 3, Warmup: 20, Samples: 20,
		Alpha: 0.01, CmdStan: home, Tasks: []*arrayTask{{Index: 0, First: 1, Last: 4}}}
	os.MkdirAll(filepath.Join(out, "sims"), 0o755)
	if err := sf.save(); err != nil {
		t.Fatal(err)
	}
	if _, err := Gather(out); !errors.Is(err, ErrNoSims) {
		t.Errorf("Gather of no simulation: %v; want ErrNoSims", err)
	}
	if err := RunTask(context.Background(), out, 0, nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(resultPath(out, 3))
	res, err := Gather(out)
	if err != nil || res.Sims != 3 || res.Missing != 1 {
		t.Fatalf("Gather: %+v, %v; want 3 simulations and 1 missing", res, err)
	}
	summary, _ := os.ReadFile(filepath.Join(out, "calibration.csv"))
	if !strings.Contains(string(summary), "noise_sd,3,") {
		t.Errorf("calibration.csv is not over the 3 simulations:\n%s", summary)
	}
	// The task reruns the missing simulation alone; the gathered study is the local one.
	if err := RunTask(context.Background(), out, 0, nil); err != nil {
		t.Fatal(err)
	}
	if res, err = Gather(out); err != nil || res.Sims != 4 || res.Missing != 0 {
		t.Fatalf("Gather: %+v, %v", res, err)
	}
	sameAsLocal(t, out, local)
	if err := RunTask(context.Background(), out, 1, nil); err == nil || !strings.Contains(err.Error(), "no array task 1") {
		t.Errorf("RunTask of a task the study lacks: %v", err)
	}
	os.WriteFile(config, append(mustRead(t, config), "\n# edited\n"...), 0o644)
	if err := RunTask(context.Background(), out, 0, nil); err == nil || !strings.Contains(err.Error(), "changed since the study") {
		t.Errorf("RunTask after the config changed: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSlurmInterruptAndRefusals: Ctrl-C during the watch cancels the array with scancel
// and is an interruption; without sbatch, or with a controller that is down, nothing is
// written or submitted.
func TestSlurmInterruptAndRefusals(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	config := exampleConfig(t, 0, 0)
	opts := func(out string) Options {
		return Options{ConfigPath: config, Out: out, Sims: 3, Warmup: 20, Samples: 20, CmdStanDir: home}
	}
	t.Run("interrupt", func(t *testing.T) {
		state, bin := fakeSlurm(t, &fakeState{Hang: true})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for !strings.Contains(strings.Join(calls(state), "\n"), "squeue") {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
		}()
		var log bytes.Buffer
		o := opts(filepath.Join(t.TempDir(), "sbc"))
		o.Log = &log
		_, err := Submit(ctx, o, SlurmOptions{Binary: bin, Poll: 10 * time.Millisecond})
		if !errors.Is(err, cmdstan.ErrInterrupted) {
			t.Fatalf("Submit: %v; want an interruption", err)
		}
		if !slices.Contains(calls(state), "scancel 1000") || !strings.Contains(log.String(), "cancelled Slurm job array 1000") {
			t.Errorf("no scancel 1000: %q\n%s", calls(state), log.String())
		}
	})
	for _, tc := range []struct {
		name    string
		st      fakeState
		without []string
		want    string
	}{
		{name: "no sbatch", without: []string{"sbatch"}, want: "sbatch not found on PATH; run dsamstan calibrate on a Slurm login node"},
		{name: "controller down", st: fakeState{Ping: "DOWN"}, want: "does not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, bin := fakeSlurm(t, &tc.st, tc.without...)
			out := filepath.Join(t.TempDir(), "sbc")
			_, err := Submit(context.Background(), opts(out), SlurmOptions{Binary: bin})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Submit: %v; want it to say %q", err, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a refused study wrote its folder")
			}
			for _, c := range calls(state) {
				if strings.HasPrefix(c, "sbatch") {
					t.Errorf("a refused study ran %q", c)
				}
			}
		})
	}
}

// TestResultFileRoundTrip: a simulation's result survives its file exactly, NaN and
// infinities included.
func TestResultFileRoundTrip(t *testing.T) {
	r := &simResult{sim: 7, seed: 42, divergences: 1, thin: 3, draws: 250, minESS: 123.456789, maxRhat: math.NaN(),
		seconds: 1.25, program: [32]byte{1, 2, 3}, rank: []int{0, 250}, covered: []bool{true, false},
		z: []float64{math.Inf(1), -0.1}, postVar: []float64{1e-300, 2.5}, truth: []float64{math.Pi, -1e21}}
	got, names, err := decodeResult(encodeResult(r, []string{"a", "cor_1[a,b]"}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"a", "cor_1[a,b]"}) {
		t.Errorf("names %q", names)
	}
	if string(simRow(nil, got)) != string(simRow(nil, r)) || string(rankRows(nil, got, names)) != string(rankRows(nil, r, names)) ||
		got.program != r.program || !math.IsInf(got.z[0], 1) || got.z[1] != r.z[1] || got.postVar[0] != r.postVar[0] ||
		got.truth[0] != math.Pi || got.truth[1] != r.truth[1] || !slices.Equal(got.covered, r.covered) {
		t.Errorf("round trip: %+v; want %+v", got, r)
	}
	if _, _, err := decodeResult([]byte(`{"sim": 1, "parameters": ["a"], "rank": []}`)); err == nil {
		t.Error("a result whose lists do not match its parameters was read")
	}
}

// TestTaskStates reads a task's state from Slurm's word on it, its result files and its
// log.
func TestTaskStates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ts       *batch.TaskState
		slurmErr error
		results  []int
		log      string
		noJob    bool
		state    string
		reason   []string
	}{
		{name: "not submitted", noJob: true, state: batch.Pending, reason: []string{"not submitted yet: dsamstan calibrate --resume"}},
		{name: "pending", ts: &batch.TaskState{State: "PENDING", Reason: "Priority"}, state: batch.Pending, reason: []string{"PENDING (Priority)"}},
		{name: "running", ts: &batch.TaskState{State: "RUNNING", Reason: "None"}, results: []int{3}, state: batch.Running, reason: []string{"1 of 2 simulations done"}},
		{name: "completed", ts: &batch.TaskState{State: "COMPLETED"}, results: []int{3, 4}, state: batch.Completed},
		{name: "every result, whatever Slurm says", ts: &batch.TaskState{State: "FAILED", ExitCode: "1:0"}, results: []int{3, 4}, state: batch.Completed},
		{name: "timeout", ts: &batch.TaskState{State: "TIMEOUT", Reason: "TimeLimit", ExitCode: "0:15"}, results: []int{3},
			log:   "calibrate: simulation 3 done in 12.0s\nslurmstepd: error: *** JOB 1001 ON n1 CANCELLED AT 2026-01-01T00:30:00 DUE TO TIME LIMIT ***\n",
			state: batch.Failed, reason: []string{"slurm TIMEOUT (TimeLimit, exit 0:15); 1 of 2 simulations written; the log says: slurmstepd: error: *** JOB 1001"}},
		{name: "simulation failed, Slurm forgot", log: "Error: calibrate: simulation 4: cmdstan: chain 2 failed\n", results: []int{3},
			state: batch.Failed, reason: []string{"1 of 2 simulations written; the log says: calibrate: simulation 4: cmdstan: chain 2 failed"}},
		{name: "never started", state: batch.Failed, reason: []string{"0 of 2 simulations written; no log: the task never started"}},
		{name: "Slurm unreachable", slurmErr: errors.New("squeue: Unable to contact slurm controller"), log: "calibrate: array task 1\n",
			state: batch.Pending, reason: []string{"Slurm cannot be asked: squeue: Unable to contact"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "sims"), 0o755)
			os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
			one := 1
			task := &arrayTask{Index: 1, First: 3, Last: 4, JobID: "1000", ArrayIndex: &one, Attempts: 1, Log: "logs/task_1_1000.log"}
			if tc.noJob {
				task = &arrayTask{Index: 1, First: 3, Last: 4}
			}
			for _, sim := range tc.results {
				os.WriteFile(resultPath(dir, sim), []byte("{}"), 0o644)
			}
			if tc.log != "" {
				os.WriteFile(filepath.Join(dir, task.Log), []byte(tc.log), 0o644)
			}
			sf := &studyFile{Dir: dir, Sims: 4, Tasks: []*arrayTask{task}}
			s := sf.statusOf(task, tc.ts, tc.slurmErr)
			if s.state != tc.state {
				t.Errorf("state %q (%s); want %q", s.state, s.reason, tc.state)
			}
			for _, want := range tc.reason {
				if !strings.Contains(s.reason, want) {
					t.Errorf("reason %q lacks %q", s.reason, want)
				}
			}
		})
	}
}
