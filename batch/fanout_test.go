package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/internal/slurmtest"
	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/runfolder"
)

var scenarioNow = func() time.Time { return time.Date(2026, 11, 27, 9, 30, 5, 0, time.UTC) }

// runFanoutTask is the dsamstan of the fake Slurm's fan-out tasks (TestHelperProcess runs it
// for the fake "dsamstan"): `run CFG --run-dir DIR (--scenario-task | --tscv-fold N)
// [--cmdstan HOME] [--chains N]`, fitted by the pipeline with the fake CmdStan. A run folder
// ending in $FAIL_SCENARIO is fitted with a crashing CmdStan.
func runFanoutTask(args []string) {
	opts := pipeline.Options{ConfigPath: args[1], Version: "test", Now: scenarioNow}
	for i := 2; i+1 < len(args); i++ {
		switch args[i] {
		case "--run-dir":
			opts.RunDir = args[i+1]
		case "--cmdstan":
			opts.CmdStanDir = args[i+1]
		case "--chains":
			opts.Chains, _ = strconv.Atoi(args[i+1])
		case "--tscv-fold":
			opts.TSCVFold, _ = strconv.Atoi(args[i+1])
		}
	}
	opts.ScenarioTask = contains(args, "--scenario-task")
	if f := os.Getenv("FAIL_SCENARIO"); f != "" && strings.HasSuffix(opts.RunDir, f) {
		os.Setenv("FAKE_MODE", fakecmdstan.Crash)
	}
	if _, err := pipeline.Run(context.Background(), opts); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// scenarioConfig writes the simulated example with m_tv's decay in three scenarios.
func scenarioConfig(t *testing.T) string {
	cfg := exampleConfigs(t, "sens")[0]
	b, _ := os.ReadFile(cfg)
	b = append(b, `transforms:
  m_tv:
    adstock:    { type: geometric, decay: 0.5, max_lag: 8 }
    saturation: { type: hill, half_saturation: 100, shape: 1 }
  sensitivity:
    m_tv.decay: [0.1, 0.5, 0.8]
`...)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeFanoutSlurm is fakeSlurm with a fake dsamstan for the job scripts to run (this test
// binary, as runFanoutTask); it returns the cluster's folder and that dsamstan.
func fakeFanoutSlurm(t *testing.T, st *fakeState) (dir, dsamstan string) {
	t.Helper()
	dir = slurmtest.Fake(t, st, []string{"dsamstan"})
	return dir, filepath.Join(dir, "bin", "dsamstan")
}

// TestScenarioSlurm fits a sensitivity run's scenarios through the fake Slurm (each task the
// pipeline with the fake CmdStan) and checks that the tables are byte for byte those of the
// in-process path; then a run whose second scenario crashes reports it with its Slurm state
// and the run's own error.
func TestScenarioSlurm(t *testing.T) {
	if raceEnabled {
		// The fake sbatch fits every task before it answers; three pipeline runs of a -race
		// binary on a busy machine outlast the minute dsamstan waits for sbatch.
		t.Skip("-race: the fake sbatch's synchronous tasks outlast sbatch's timeout")
	}
	dir, bin := fakeFanoutSlurm(t, &fakeState{}) // first: it sets PATH, where the fake CmdStan adds its make
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := scenarioConfig(t)
	local := filepath.Join(t.TempDir(), "run")
	if _, err := pipeline.Run(context.Background(), pipeline.Options{ConfigPath: cfg, RunDir: local, CmdStanDir: home, Chains: 2, Version: "test", Now: scenarioNow}); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	ex := &FanoutSlurm{Binary: bin, CmdStan: home, Chains: 2, Poll: time.Millisecond, Log: &log,
		Slurm: SlurmOptions{Partition: "debug", Mem: "2G"}}
	remote := filepath.Join(t.TempDir(), "run")
	if _, err := pipeline.Run(context.Background(), pipeline.Options{ConfigPath: cfg, RunDir: remote, CmdStanDir: home, Chains: 2, Version: "test", Now: scenarioNow, Executor: ex, Log: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if c := strings.Join(calls(dir), "\n"); !strings.Contains(c, "sbatch --parsable --array=0-2%3 "+filepath.Join(remote, pipeline.ScenariosDir, runfolder.FanoutScript)) || strings.Contains(c, "sacct") {
		t.Errorf("Slurm calls:\n%s", c)
	}
	script, _ := os.ReadFile(filepath.Join(remote, pipeline.ScenariosDir, runfolder.FanoutScript))
	if !strings.Contains(string(script), "#SBATCH --partition=debug") || !strings.Contains(string(script), "--scenario-task ;;") || !strings.Contains(string(script), "run \"$@\" --cmdstan") {
		t.Errorf("job script:\n%s", script)
	}
	for _, name := range []string{
		"10_pre_run/" + runfolder.TransformSensitivityFile,
		"30_post_run/posterior_summary.csv",
		"30_post_run/decomposition_totals.csv",
		"scenarios/01/30_post_run/posterior_summary.csv",
		"scenarios/03/50_model_selection/loo_pointwise.csv",
	} {
		want, err := os.ReadFile(filepath.Join(local, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(remote, name))
		if err != nil {
			t.Fatalf("through Slurm: %v\n%s", err, log.String())
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs through Slurm:\n--- local\n%s\n--- slurm\n%s", name, want, got)
		}
	}

	// Scenario 02 crashes: it is a failed row, with the task's state and the run's error.
	t.Setenv("FAIL_SCENARIO", "/02")
	log = lockedBuffer{}
	ex.Log = &log
	failed := filepath.Join(t.TempDir(), "run")
	if _, err := pipeline.Run(context.Background(), pipeline.Options{ConfigPath: cfg, RunDir: failed, CmdStanDir: home, Chains: 2, Version: "test", Now: scenarioNow, Executor: ex, Log: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	raw, _ := os.ReadFile(filepath.Join(failed, "10_pre_run", runfolder.TransformSensitivityFile))
	if !strings.Contains(string(raw), "failed: Slurm task") || !strings.Contains(string(raw), "FAILED (NonZeroExitCode, exit 1:0)") {
		t.Errorf("the summary does not show scenario 02's Slurm failure:\n%s", raw)
	}
	info, err := runfolder.ReadRunInfo(runfolder.Detect(filepath.Join(failed, "scenarios", "02")))
	if err != nil || info.Error == "" || !strings.Contains(string(raw), firstLine(info.Error)) {
		t.Errorf("the summary does not carry scenario 02's run.json error %q (%v):\n%s", info.Error, err, raw)
	}
	if !strings.Contains(log.String(), "scenario 02 (") || !strings.Contains(log.String(), "failed: Slurm task") {
		t.Errorf("log:\n%s", log.String())
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// TestScenarioSlurmInterrupt: Ctrl-C while the tasks run cancels the array with scancel.
func TestScenarioSlurmInterrupt(t *testing.T) {
	cfg := scenarioConfig(t)
	dir := fakeSlurm(t, &fakeState{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	var log lockedBuffer
	ex := &FanoutSlurm{Binary: "/bin/false", Poll: time.Millisecond, Log: &log}
	go func() {
		for !strings.Contains(log.String(), "RUNNING") {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := pipeline.Run(ctx, pipeline.Options{ConfigPath: cfg, RunDir: filepath.Join(t.TempDir(), "run"), Executor: ex, Log: &log})
	if !errors.Is(err, pipeline.ErrInterrupted) || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err = %v", err)
	}
	if c := strings.Join(calls(dir), "\n"); !strings.Contains(c, "scancel 1000") {
		t.Errorf("no scancel of the array:\n%s", c)
	}
}

// tscvConfig writes the simulated example with a three-fold rolling time-series CV.
func tscvConfig(t *testing.T) string {
	cfg := exampleConfigs(t, "cv")[0]
	b, _ := os.ReadFile(cfg)
	b = append(b, "diagnostics:\n  time_series_selection: { enabled: true, folds: 3, horizon: 13, min_train: 52, window: rolling }\n"...)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestTSCVSlurm cross-validates through the fake Slurm (each fold a task of one array, run
// by the pipeline with the fake CmdStan) and checks that the scores are byte for byte those of
// the in-process path; then a run whose second fold crashes fails, naming the fold with its
// Slurm state and the fold's own error.
func TestTSCVSlurm(t *testing.T) {
	dir, bin := fakeFanoutSlurm(t, &fakeState{})
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := tscvConfig(t)
	local := filepath.Join(t.TempDir(), "run")
	if _, err := pipeline.Run(context.Background(), pipeline.Options{ConfigPath: cfg, RunDir: local, CmdStanDir: home, Chains: 2, Version: "test", Now: scenarioNow}); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	ex := &FanoutSlurm{Binary: bin, CmdStan: home, Chains: 2, Poll: time.Millisecond, Log: &log, Slurm: SlurmOptions{Jobs: 2}}
	remote := filepath.Join(t.TempDir(), "run")
	if _, err := pipeline.Run(context.Background(), pipeline.Options{ConfigPath: cfg, RunDir: remote, CmdStanDir: home, Chains: 2, Version: "test", Now: scenarioNow, Executor: ex, Log: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	tscv := filepath.Join(remote, runfolder.StageModelSelection, pipeline.TSCVDir)
	if c := strings.Join(calls(dir), "\n"); !strings.Contains(c, "sbatch --parsable --array=0-2%2 "+filepath.Join(tscv, runfolder.FanoutScript)) || strings.Contains(c, "sacct") {
		t.Errorf("Slurm calls:\n%s", c)
	}
	script, _ := os.ReadFile(filepath.Join(tscv, runfolder.FanoutScript))
	if !strings.Contains(string(script), "#SBATCH --job-name=dsamstan-tscv") || !strings.Contains(string(script), "--tscv-fold 3 ;;") {
		t.Errorf("job script:\n%s", script)
	}
	for _, name := range []string{pipeline.TSCVSummaryFile, pipeline.TSCVFoldsFile, pipeline.TSCVPredictionsFile, "tscv/fold_02/chain_1.csv"} {
		want, err := os.ReadFile(filepath.Join(local, runfolder.StageModelSelection, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(remote, runfolder.StageModelSelection, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs through Slurm (%v):\n--- local\n%s\n--- slurm\n%s", name, err, want, got)
		}
	}
	if !strings.Contains(log.String(), "tscv: fold 03 (holdout from 2024-") {
		t.Errorf("log:\n%s", log.String())
	}

	// Fold 2 crashes: the run fails, naming it, its Slurm state and its run.json error.
	t.Setenv("FAIL_SCENARIO", "/fold_02")
	log = lockedBuffer{}
	ex.Log = &log
	failed := filepath.Join(t.TempDir(), "run")
	_, err := pipeline.Run(context.Background(), pipeline.Options{ConfigPath: cfg, RunDir: failed, CmdStanDir: home, Chains: 2, Version: "test", Now: scenarioNow, Executor: ex, Log: &log})
	if err == nil || !strings.Contains(err.Error(), "1 of 3 folds did not complete") || !strings.Contains(err.Error(), "fold 2: Slurm task") ||
		!strings.Contains(err.Error(), "FAILED (NonZeroExitCode, exit 1:0)") {
		t.Fatalf("err = %v\n%s", err, log.String())
	}
	info, rerr := runfolder.ReadRunInfo(runfolder.Detect(filepath.Join(failed, runfolder.StageModelSelection, pipeline.TSCVDir, "fold_02")))
	if rerr != nil || info.Status != runfolder.StatusFailed || !strings.Contains(err.Error(), firstLine(info.Error)) {
		t.Errorf("the error does not carry fold 2's run.json error %q (%v)", info.Error, rerr)
	}
}
