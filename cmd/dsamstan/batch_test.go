package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// TestBatchCompilesOnce runs three configs that share one model structure, two at a time,
// against a fake CmdStan that counts its compiles: one compile, three completed runs, one
// summary line each.
func TestBatchCompilesOnce(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	var cfgs []string
	for _, name := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, name+".yaml")
		b, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
		s := strings.Replace(string(b), "name: example_blm", "name: batch_"+name, 1)
		s = strings.Replace(s, "chains: 4", "chains: 2", 1)
		os.WriteFile(p, []byte(s), 0o644)
		cfgs = append(cfgs, p)
	}
	code, out, stderr := cli(t, append([]string{"batch", "--jobs", "2", "--cmdstan", home}, cfgs...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if n := fakecmdstan.MakeCalls(home); n != 1 {
		t.Errorf("make ran %d times for three runs of one model; want 1", n)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d summary lines; want 3:\n%s", len(lines), out)
	}
	for _, l := range lines {
		// The fake sampler's draws do not fit the data, so the residual checks fail.
		if !strings.HasPrefix(l, "completed") || !strings.Contains(l, "fail") {
			t.Errorf("summary line %q; want completed with a fail verdict", l)
		}
		f := strings.Fields(l)
		if _, err := os.Stat(filepath.Join(f[len(f)-1], "00_run_metadata", "run.log")); err != nil {
			t.Errorf("no run.log: %v", err)
		}
	}
}

func TestBatchReportsFailures(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("schema_version: 1\ndata: {path: nope.csv}\nmodel: {formula: y ~ x}\n"), 0o644)
	code, out, stderr := cli(t, "batch", "--cmdstan", home, filepath.Join(dir, "config.yaml"), bad)
	if code != exitError {
		t.Errorf("exit %d; want %d", code, exitError)
	}
	if !strings.Contains(out, "failed") || !strings.Contains(out, "completed") || !strings.Contains(stderr, "nope.csv") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, stderr)
	}
}

func TestBatchFlagMistakes(t *testing.T) {
	for _, args := range [][]string{
		{"batch"},
		{"batch", "a.yaml", "--jobs", "0"},
		{"batch", "a.yaml", "--executor", "cloud", "--out", "x"},
		{"batch", "a.yaml", "--executor", "slurm"},
		{"batch", "a.yaml", "--partition", "short"},
		{"batch", "a.yaml", "--status", "x"},
		{"batch", "--status", "x", "--resume", "x"},
		{"batch", "--resume", "x", "--executor", "slurm"},
	} {
		if code, _, stderr := cli(t, args...); code != exitUsage {
			t.Errorf("dsamstan %s: exit %d; want %d (%s)", strings.Join(args, " "), code, exitUsage, stderr)
		}
	}
	code, _, stderr := cli(t, "batch", "--status", t.TempDir())
	if code != exitError || !strings.Contains(stderr, "manifest.json") {
		t.Errorf("--status of a folder without a batch: exit %d, %s", code, stderr)
	}
}

// TestBatchSlurmCtrlC runs the real dsamstan command (this test binary, see TestMain) on a
// fake Slurm whose task keeps running, sends it SIGINT as a user's Ctrl-C would, and checks
// that the array was cancelled with scancel and the exit status is 130.
func TestBatchSlurmCtrlC(t *testing.T) {
	dir := exampleDir(t)
	bin := filepath.Join(t.TempDir(), "bin")
	os.Mkdir(bin, 0o755)
	scancelLog := filepath.Join(t.TempDir(), "scancel.log")
	for name, body := range map[string]string{
		"sbatch":   "echo 77",
		"scontrol": `[ "$1" = ping ] && echo 'Slurmctld(primary) at ctl is UP'; exit 0`,
		"squeue":   "echo '77_0|RUNNING|None'",
		"scancel":  "echo \"$@\" >> " + scancelLog,
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out := filepath.Join(t.TempDir(), "batch")
	args, _ := json.Marshal([]string{"batch", filepath.Join(dir, "config.yaml"), "--executor", "slurm", "--out", out, "--poll", "50ms"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DSAMSTAN_TEST_MAIN="+string(args))
	var stdout, stderr syncBuf
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "running") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the task never showed as running:\n%s%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit = %v; want status %d\n%s", err, exitInterrupted, stderr.String())
	}
	if b, _ := os.ReadFile(scancelLog); strings.TrimSpace(string(b)) != "77" {
		t.Errorf("scancel ran with %q; want 77", b)
	}
	if !strings.Contains(stderr.String(), "--resume") {
		t.Errorf("the interruption does not say how to resume:\n%s", stderr.String())
	}
}

// syncBuf is a strings.Builder safe for a process's writes while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunExecutorRefusals: run --executor slurm is for transforms.sensitivity and
// time-series CV; without either, with Slurm settings but no --executor slurm, and with the
// hidden --tscv-fold misused, it is a usage error (exit 2).
func TestRunExecutorRefusals(t *testing.T) {
	dir := exampleDir(t)
	cfg := filepath.Join(dir, "config.yaml")
	code, _, stderr := cli(t, "run", cfg, "--executor", "slurm")
	if code != exitUsage || !strings.Contains(stderr, "transforms.sensitivity") || !strings.Contains(stderr, "diagnostics.time_series_selection") ||
		!strings.Contains(stderr, "dsamstan batch") {
		t.Errorf("--executor slurm without sensitivity: exit %d, %s", code, stderr)
	}
	for _, args := range [][]string{
		{"run", cfg, "--executor", "cloud"},
		{"run", cfg, "--partition", "short"},
		{"run", cfg, "--jobs", "2"},
		{"run", cfg, "--executor", "slurm", "--jobs", "-1"},
		{"run", cfg, "--tscv-fold", "1"},
		{"run", cfg, "--tscv-fold", "-1", "--run-dir", filepath.Join(dir, "fold")},
		{"run", cfg, "--tscv-fold", "1", "--run-dir", filepath.Join(dir, "fold"), "--scenario-task"},
	} {
		if code, _, stderr := cli(t, args...); code != exitUsage {
			t.Errorf("dsamstan %s: exit %d; want %d (%s)", strings.Join(args, " "), code, exitUsage, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "runs")); err == nil {
		t.Errorf("a refused run wrote %s", filepath.Join(dir, "runs"))
	}
}
