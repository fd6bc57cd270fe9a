package slurmtest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// The fake Slurm, for unit tests that need no cluster: sbatch, squeue, scontrol and scancel
// on PATH are scripts that run the test binary as its TestHelperProcess, which hands them to
// Play. Play plays the command against a state file: the fake sbatch runs each array task's
// job script at once (with SLURM_ARRAY_TASK_ID set and its output in the --output file) and
// remembers how it ended; squeue then reports each task PENDING, then RUNNING, then as it
// ended; scontrol show job reports each ended task with its exit code.

// FakeState is the fake cluster.
type FakeState struct {
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
	// Down makes squeue fail as without a controller.
	Down bool `json:"down"`
	// Hang keeps submitted tasks RUNNING for ever, without running them.
	Hang bool `json:"hang"`
	// Crash lists array tasks run with FAKE_MODE=crash (the fake CmdStan's crash mode).
	Crash []int                `json:"crash"`
	Tasks map[string]*FakeTask `json:"tasks"`
	// Polls counts squeue calls since the last submission.
	Polls int `json:"polls"`
}

// FakeTask is how an array task of the fake cluster ended.
type FakeTask struct{ State, Reason, Exit string }

// The environment of a fake command's run of the test binary.
const (
	helperEnv = "DSAMSTAN_WANT_HELPER_PROCESS"
	cmdEnv    = "FAKE_SLURM_CMD"
	dirEnv    = "FAKE_SLURM_DIR"
)

// Fake puts the fake Slurm commands, and the commands named in extra (played by the test's
// own TestHelperProcess), first on PATH, and returns the folder of the cluster's state and
// call log; extra command C is dir/bin/C. Commands named in without are left out, and so is
// every PATH folder holding a real one.
func Fake(t *testing.T, st *FakeState, extra []string, without ...string) (dir string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	for _, name := range append([]string{"sbatch", "squeue", "scontrol", "scancel"}, extra...) {
		if slices.Contains(without, name) {
			continue
		}
		body := fmt.Sprintf("#!/bin/sh\n%s=1 %s=%s %s=%s exec %s -test.run='^TestHelperProcess$' -- \"$@\"\n",
			helperEnv, cmdEnv, name, dirEnv, quote(dir), quote(exe))
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := []string{bin}
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		if !slices.ContainsFunc(without, func(name string) bool { _, err := os.Stat(filepath.Join(p, name)); return err == nil }) {
			path = append(path, p)
		}
	}
	t.Setenv("PATH", strings.Join(path, string(os.PathListSeparator)))
	if st.NextID == 0 {
		st.NextID = 1000
	}
	WriteState(t, dir, st)
	return dir
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Calls returns the fake Slurm commands' command lines, one per call.
func Calls(dir string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, "calls.log"))
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ReadState reads the fake cluster's state.
func ReadState(t testing.TB, dir string) *FakeState {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s FakeState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// WriteState writes the fake cluster's state atomically: a fake command killed by a
// cancelled context must not leave half a state for the next one.
func WriteState(t testing.TB, dir string, s *FakeState) {
	b, _ := json.Marshal(s)
	tmp := filepath.Join(dir, fmt.Sprintf("state.json.%d", os.Getpid()))
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "state.json")); err != nil {
		t.Fatal(err)
	}
}

// HelperCommand says whether the test binary runs as a fake command, and which one with what
// arguments; TestHelperProcess returns at once when it does not.
func HelperCommand() (name string, args []string, ok bool) {
	if os.Getenv(helperEnv) != "1" {
		return "", nil, false
	}
	args = os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	return os.Getenv(cmdEnv), args, true
}

// Play plays Slurm command name with args against the fake cluster, logs the call and exits.
func Play(t testing.TB, name string, args []string) {
	dir := os.Getenv(dirEnv)
	f, _ := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	fmt.Fprintln(f, name+" "+strings.Join(args, " "))
	f.Close()
	st := ReadState(t, dir)
	code := 0
	switch name {
	case "scontrol":
		code = st.scontrol(args)
	case "squeue":
		code = st.squeue()
	case "scancel":
		for key, tk := range st.Tasks {
			if strings.HasPrefix(key, args[0]+"_") {
				tk.State, tk.Reason, tk.Exit = "CANCELLED", "None", "0:15"
			}
		}
	case "sbatch":
		code = st.sbatch(args)
	default:
		fmt.Fprintf(os.Stderr, "fake Slurm: no command %s\n", name)
		code = 2
	}
	WriteState(t, dir, st)
	os.Exit(code)
}

func (st *FakeState) scontrol(args []string) int {
	if args[0] == "ping" {
		switch st.Ping {
		case "fail":
			fmt.Fprintln(os.Stderr, "slurm_load_ctl_conf error: Unable to contact slurm controller (connect failure)")
			return 1
		case "DOWN":
			fmt.Println("Slurmctld(primary) at ctl is DOWN")
		default:
			fmt.Println("Slurmctld(primary) at ctl is UP")
		}
		return 0
	}
	if st.Gone || (st.Scontrol == "" && st.Squeue != "") {
		fmt.Fprintln(os.Stderr, "slurm_load_jobs error: Invalid job id specified")
		return 1
	}
	if st.Scontrol != "" {
		fmt.Print(st.Scontrol)
		return 0
	}
	for key, tk := range st.Tasks {
		job, idx, _ := strings.Cut(key, "_")
		if job == args[len(args)-1] {
			fmt.Printf("JobId=9%s ArrayJobId=%s ArrayTaskId=%s JobName=dsamstan JobState=%s Reason=%s Dependency=(null) ExitCode=%s\n",
				idx, job, idx, tk.State, tk.Reason, tk.Exit)
		}
	}
	return 0
}

func (st *FakeState) squeue() int {
	switch {
	case st.Down:
		fmt.Fprintln(os.Stderr, "slurm_load_jobs error: Unable to contact slurm controller (connect failure)")
		return 1
	case st.Gone:
		fmt.Fprintln(os.Stderr, "slurm_load_jobs error: Invalid job id specified")
		return 1
	case st.Squeue != "":
		fmt.Print(st.Squeue)
		return 0
	}
	st.Polls++
	for key, tk := range st.Tasks {
		state, reason := tk.State, "None"
		switch {
		case tk.State == "CANCELLED":
		case st.Polls == 1:
			state, reason = "PENDING", "Priority"
		case st.Polls == 2 || st.Hang:
			state = "RUNNING"
		}
		fmt.Printf("%s|%s|%s\n", key, state, reason)
	}
	return 0
}

var outputLine = regexp.MustCompile(`(?m)^#SBATCH --output=(.*)$`)

func (st *FakeState) sbatch(args []string) int {
	if st.SbatchErr != "" {
		fmt.Fprintln(os.Stderr, "sbatch: error: "+st.SbatchErr)
		return 1
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
		return 1
	}
	out := outputLine.FindStringSubmatch(string(body))[1]
	id := st.NextID
	st.NextID++
	st.Polls = 0
	if st.Tasks == nil {
		st.Tasks = map[string]*FakeTask{}
	}
	spec, _, _ := strings.Cut(array, "%")
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, _ := strconv.Atoi(lo)
		b := a
		if isRange {
			b, _ = strconv.Atoi(hi)
		}
		for i := a; i <= b; i++ {
			log := strings.NewReplacer("%a", fmt.Sprint(i), "%A", fmt.Sprint(id)).Replace(out)
			lf, _ := os.Create(log)
			cmd := exec.Command("/bin/sh", script)
			cmd.Env = append(os.Environ(), fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i), fmt.Sprintf("SLURM_ARRAY_JOB_ID=%d", id))
			if slices.Contains(st.Crash, i) {
				cmd.Env = append(cmd.Env, "FAKE_MODE="+fakecmdstan.Crash)
			}
			cmd.Stdout, cmd.Stderr = lf, lf
			tk := &FakeTask{State: "COMPLETED", Reason: "None", Exit: "0:0"}
			if !st.Hang {
				if err := cmd.Run(); err != nil {
					tk = &FakeTask{State: "FAILED", Reason: "NonZeroExitCode", Exit: fmt.Sprintf("%d:0", cmd.ProcessState.ExitCode())}
				}
			}
			lf.Close()
			st.Tasks[fmt.Sprintf("%d_%d", id, i)] = tk
		}
	}
	fmt.Printf("%d;cluster\n", id)
	return 0
}
