package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
)

// Faults during a run, with the fake CmdStan of internal/fakecmdstan. Each test checks the
// error the caller gets, what run.json records, and that no file is left looking complete:
// no posterior_summary.csv after a failure, no temporary files.

// noLeftovers fails the test when a failed run left a summary or temporary files.
func noLeftovers(t *testing.T, runDir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(runDir, runfolder.StagePostRun, "posterior_summary.csv")); err == nil {
		t.Error("a failed run wrote posterior_summary.csv")
	}
	for _, pattern := range []string{".*.tmp*", "*/.*.tmp*"} {
		if m, _ := filepath.Glob(filepath.Join(runDir, pattern)); len(m) > 0 {
			t.Errorf("temporary files left behind: %v", m)
		}
	}
}

func TestRunChainCrashesMidRun(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.CrashMid)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 3})
	var re *cmdstan.RunError
	if !errors.As(err, &re) || re.Chain != 2 || re.ExitCode != -1 {
		t.Fatalf("err = %v; want a *cmdstan.RunError for chain 2 killed by a signal", err)
	}
	for _, want := range []string{"chain 2", "signal: killed", "Metropolis proposal is about to be rejected"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if errors.Is(err, ErrInterrupted) {
		t.Error("a crashed chain is reported as interrupted")
	}
	info := readRunInfo(t, runDir)
	if info.Status != runfolder.StatusFailed || info.Error != err.Error() {
		t.Errorf("run.json: status %q error %q; want failed with %q", info.Status, info.Error, err)
	}
	noLeftovers(t, runDir)
	// The crashed chain's partial CSV is kept, and reading it says it was cut short.
	partial := filepath.Join(runDir, runfolder.StageModelFit, "chain_2.csv")
	if _, err := stanio.ReadCSVFile(partial); err == nil || !strings.Contains(err.Error(), "the file ends after 250 of its 1000 draws") {
		t.Errorf("reading the crashed chain's CSV: %v; want it refused as cut short", err)
	}
}

func TestRunTimeoutIsRecorded(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.Hang)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	_, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Timeout: 500 * time.Millisecond})
	var te *cmdstan.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T); want a *cmdstan.TimeoutError", err, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("a 500ms timeout took %v to end the run", d)
	}
	if errors.Is(err, ErrInterrupted) {
		t.Error("a timeout is reported as an interrupt")
	}
	info := readRunInfo(t, runDir)
	if info.Status != runfolder.StatusFailed || !strings.Contains(info.Error, "sampling did not finish within 500ms") {
		t.Errorf("run.json: status %q error %q; want failed with the timeout", info.Status, info.Error)
	}
	noLeftovers(t, runDir)
}

func TestRunFolderUnderAFile(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	file := filepath.Join(t.TempDir(), "results")
	if err := os.WriteFile(file, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(file, "run")
	_, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: runDir, CmdStanDir: home})
	if err == nil || !strings.Contains(err.Error(), "pipeline: run folder "+runDir) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v; want the run folder and \"not a directory\"", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "not a folder" {
		t.Errorf("the file in the way was changed: %q", b)
	}
}

// TestRunStageFolderIsAFile blocks 20_model_fit with a file: the run fails when it gets
// there, says why in run.json, and writes no model, data or chains.
func TestRunStageFolderIsAFile(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runDir, runfolder.StageModelFit), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: runDir, CmdStanDir: home})
	if err == nil || !strings.Contains(err.Error(), runfolder.StageModelFit) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v; want one naming %s and \"not a directory\"", err, runfolder.StageModelFit)
	}
	info := readRunInfo(t, runDir)
	if info.Status != runfolder.StatusFailed || info.Error != err.Error() {
		t.Errorf("run.json: status %q error %q; want failed with %q", info.Status, info.Error, err)
	}
	noLeftovers(t, runDir)
	if fakecmdstan.MakeCalls(home) != 0 {
		t.Error("the run compiled although it could not write its model")
	}
}

// TestRunDiskFull runs the pipeline in a child process whose files may not grow past 64 KiB
// (RLIMIT_FSIZE, with SIGXFSZ ignored, so writes fail with EFBIG as on a full disk). The
// chains' CSVs are about 100 KiB, so they are cut short while the fake sampler, like a
// sampler that does not check its writes, exits 0. The run must fail, saying so.
func TestRunDiskFull(t *testing.T) {
	if os.Getenv("DSAMSTAN_DISKFULL_HELPER") == "1" {
		diskFullHelper()
		return
	}
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunDiskFull$")
	cmd.Env = append(os.Environ(), "DSAMSTAN_DISKFULL_HELPER=1", "DSAMSTAN_DISKFULL_ARGS="+cfg+"\n"+runDir+"\n"+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	msg := string(out)
	if !strings.HasPrefix(msg, "run error: stanio: "+filepath.Join(runDir, runfolder.StageModelFit, "chain_")) {
		t.Fatalf("helper said %q; want a run error naming a chain CSV", msg)
	}
	if !strings.Contains(msg, "was cut short, by a stopped run or a full disk") {
		t.Errorf("the error does not say the CSV is cut short:\n%s", msg)
	}
	info := readRunInfo(t, runDir)
	if info.Status != runfolder.StatusFailed || !strings.Contains(msg, info.Error) {
		t.Errorf("run.json: status %q error %q; want failed with the helper's error", info.Status, info.Error)
	}
	noLeftovers(t, runDir)
}

// diskFullHelper is the child of TestRunDiskFull.
func diskFullHelper() {
	args := strings.Split(os.Getenv("DSAMSTAN_DISKFULL_ARGS"), "\n")
	signal.Ignore(syscall.SIGXFSZ)
	lim := syscall.Rlimit{Cur: 64 << 10, Max: 64 << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	_, err := Run(context.Background(), Options{noReport: true, ConfigPath: args[0], RunDir: args[1], CmdStanDir: args[2], Chains: 2})
	fmt.Printf("run error: %v", err)
	os.Exit(0)
}

// TestRunsCompileOnceTogether starts two runs of the same model at once: one compiles, the
// other waits for it and takes the binary from the cache, and both complete.
func TestRunsCompileOnceTogether(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	base := t.TempDir()
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			results[i], errs[i] = Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: filepath.Join(base, fmt.Sprint(i)), CmdStanDir: home, Chains: 1})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if results[0].CacheHit == results[1].CacheHit {
		t.Errorf("cache hits %v, %v; want one compile and one hit", results[0].CacheHit, results[1].CacheHit)
	}
	if n := fakecmdstan.MakeCalls(home); n != 1 {
		t.Errorf("make ran %d times; want once", n)
	}
}

// TestRunRebuildsACorruptCacheEntry damages the cached executable between two runs: the
// second run notices, rebuilds and completes.
func TestRunRebuildsACorruptCacheEntry(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	first, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: filepath.Join(t.TempDir(), "1"), CmdStanDir: home, Chains: 1})
	if err != nil {
		t.Fatal(err)
	}
	key := first.Info.CompileKey
	exe := filepath.Join(os.Getenv("DSAMSTAN_CACHE"), key[:2], key, "model")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatalf("damaging the cached executable: %v", err)
	}
	var log strings.Builder
	second, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: filepath.Join(t.TempDir(), "2"), CmdStanDir: home, Chains: 1, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if second.CacheHit || fakecmdstan.MakeCalls(home) != 2 {
		t.Errorf("after corruption: cache hit %v, %d makes; want a rebuild", second.CacheHit, fakecmdstan.MakeCalls(home))
	}
	if !strings.Contains(log.String(), "was corrupt") {
		t.Errorf("the log does not report the corrupt entry:\n%s", log.String())
	}
}
