package cmdstan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/stanio"
)

// Faults: processes that die half-way or overrun. The fakes are the
// helper processes of run_test.go.

func TestSampleChainCrashesMidRun(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_CRASH_MID=2")
	out := t.TempDir()
	rec := newRecorder()
	paths, err := f.Sample(context.Background(), "/fake/bernoulli", "", out, SampleOptions{Chains: 3, Cores: 3}, rec)
	var re *RunError
	if !errors.As(err, &re) || re.Chain != 2 || re.ExitCode != -1 {
		t.Fatalf("err = %v; want a *RunError for chain 2 killed by a signal", err)
	}
	want := "cmdstan: chain 2: bernoulli failed: signal: killed:\nInformational Message: The current Metropolis proposal is about to be rejected"
	if err.Error() != want {
		t.Errorf("message =\n%s\nwant\n%s", err, want)
	}
	if errors.Is(err, ErrInterrupted) {
		t.Error("a chain killed by the system is reported as interrupted by the user")
	}
	if rec.done[2] == nil || len(rec.updates[2]) == 0 {
		t.Errorf("progress of chain 2: updates %v, done %v; want updates, then the failure", rec.updates[2], rec.done[2])
	}
	// The partial CSV is kept, and reading it says it was cut short.
	partial := filepath.Join(out, "chain_2.csv")
	if !containsString(paths, partial) {
		t.Fatalf("kept CSVs %q lack chain 2's", paths)
	}
	_, err = stanio.ReadCSVFile(partial)
	var ce *stanio.CSVError
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "the file ends after 1 of its 200 draws (num_samples = 200, thin = 1): it was cut short") {
		t.Errorf("reading the partial CSV: %v; want it refused as cut short", err)
	}
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// TestCompileMakeKilled kills make (as the OOM killer would) after it wrote half an
// executable: the compile fails with make's output, nothing is cached, and the next compile
// builds again.
func TestCompileMakeKilled(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_MAKE_KILLED=1")
	_, err := f.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{})
	var ce *CompileError
	if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "cmdstan: compile failed (signal: killed); last lines of make's output:") {
		t.Fatalf("err = %v; want a *CompileError saying make was killed", err)
	}
	if errors.Is(err, ErrInterrupted) {
		t.Error("a make killed by the system is reported as interrupted by the user")
	}
	if entries := cacheEntries(t, f.cache); len(entries) != 0 {
		t.Errorf("a killed compile left cache entries %q", entries)
	}
	target := strings.Fields(f.callLines(t)[0])
	if _, err := os.Stat(filepath.Dir(target[len(target)-1])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("build dir left behind (%v)", err)
	}
	g := newFakeWith(f.install, f.cache, f.calls)
	c, err := g.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheHit || f.countCalls(t, "make") != 2 {
		t.Errorf("compile after a killed one: hit %v, %d makes; want a build", c.CacheHit, f.countCalls(t, "make"))
	}
}

// TestCompileProcessKilled kills a whole dsamstan process (this test binary playing it)
// with SIGKILL while make is compiling, then the make and its compiler: the cache holds no
// entry and no staged files, the lock is free, and the next compile builds.
func TestCompileProcessKilled(t *testing.T) {
	f := newFake(t)
	program := filepath.Join(t.TempDir(), "model.stan")
	if err := os.WriteFile(program, []byte(bernoulliProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := fakeCommandContext([]string{"DSAMSTAN_FAKE_MAKE_HANG=1"})(context.Background(), "dsamstan-compile", f.install.Dir, f.cache.Dir, f.calls, program)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ccPid := 0
	for deadline := time.Now().Add(20 * time.Second); ccPid == 0; {
		for _, l := range f.callLines(t) {
			fmt.Sscanf(l, "cc1plus pid %d", &ccPid)
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the compiler never started; process output:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	makeGroup, err := syscall.Getpgid(ccPid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-makeGroup, syscall.SIGKILL) })
	cmd.Process.Kill() // kill -9 dsamstan: no deferred clean-up runs
	cmd.Wait()
	syscall.Kill(-makeGroup, syscall.SIGKILL) // and its orphaned make and compiler
	// The killed process's build folder is orphaned too: find it from make's command line.
	target := strings.Fields(f.callLines(t)[0])
	os.RemoveAll(filepath.Dir(target[len(target)-1]))

	if entries := cacheEntries(t, f.cache); len(entries) != 0 {
		t.Errorf("a killed compile left cache entries %q", entries)
	}
	if staged, _ := os.ReadDir(filepath.Join(f.cache.Dir, "tmp")); len(staged) != 0 {
		t.Errorf("a killed compile left staged files %v", staged)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{})
	if err != nil {
		t.Fatalf("compile after a killed process: %v (is the lock still held?)", err)
	}
	if c.CacheHit || f.countCalls(t, "make") != 2 {
		t.Errorf("compile after a killed process: hit %v, %d makes; want a build", c.CacheHit, f.countCalls(t, "make"))
	}
}

// TestSampleTimeoutNamesTheChainsThatRan times out 4 chains on 2 cores: the error names the
// 2 that were running and the 2 that never started, apart.
func TestSampleTimeoutNamesTheChainsThatRan(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_HANG=1")
	out := t.TempDir()
	_, err := f.Sample(context.Background(), "/fake/bernoulli", "", out,
		SampleOptions{Chains: 4, Cores: 2, Timeout: 500 * time.Millisecond}, nil)
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T); want a *TimeoutError", err, err)
	}
	want := "cmdstan: sampling did not finish within 500ms: stopped chain(s) 1, 2 (chain(s) 3, 4 had not started); partial output kept in " + out + " (raise the timeout, or check the model for hung chains)"
	if err.Error() != want {
		t.Errorf("message =\n%s\nwant\n%s", err, want)
	}
}
