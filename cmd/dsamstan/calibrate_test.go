package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

func TestCalibrateHelp(t *testing.T) {
	code, out, _ := cli(t, "calibrate", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--sims", "--jobs", "--out", "--seed", "--warmup", "--samples", "--alpha",
		"--executor", "--status", "--resume", "--sims-per-task", "--partition", "--no-wait", "calibrate --sim-task DIR --index i",
		"calibration.csv", "calibration_ranks.csv", "verdict.txt", "Bonferroni",
		"Refused", "pooling.enabled", "fit.method optimise", "estimated media transforms from theirs"} {
		if !strings.Contains(out, want) {
			t.Errorf("calibrate --help does not mention %q", want)
		}
	}
}

func TestCalibrateFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"calibrate", "c.yaml"}, "--sims is required"},
		{[]string{"calibrate", "c.yaml", "--sims", "0"}, "--sims is 0; must be at least 1"},
		{[]string{"calibrate", "c.yaml", "--sims", "5", "--jobs", "-1"}, "--jobs is -1"},
		{[]string{"calibrate", "c.yaml", "--sims", "5", "--alpha", "1.5"}, "--alpha is 1.5"},
		{[]string{"calibrate", "c.yaml", "--sims", "5", "--seed", "-3"}, "--seed is -3"},
		{[]string{"calibrate", "c.yaml", "--sims", "5", "--warmup", "-3"}, "--warmup and --samples"},
		{[]string{"calibrate", "--sims", "5"}, "needs CONFIG"},
		{[]string{"calibrate", "c.yaml", "--sims", "x"}, "invalid argument"},
		{[]string{"calibrate", "c.yaml", "--sims", "5", "--partition", "short"}, "--partition is a Slurm setting; add --executor slurm"},
		{[]string{"calibrate", "c.yaml", "--sims", "5", "--executor", "slurm"}, "--executor slurm needs --out DIR"},
		{[]string{"calibrate", "c.yaml", "--sims", "5", "--executor", "pbs"}, `--executor is "pbs"`},
		{[]string{"calibrate", "c.yaml", "--status", "d"}, "take the study folder, not a config"},
		{[]string{"calibrate", "--status", "d", "--resume", "d"}, "give one of --status, --resume and --sim-task"},
		{[]string{"calibrate", "--resume", "d", "--sims", "5"}, "--sims is fixed when a study is submitted"},
		{[]string{"calibrate", "--status", "d", "--mem", "4G"}, "--mem goes with a submission or --resume"},
		{[]string{"calibrate", "--sim-task", "d"}, "--sim-task needs --index"},
		{[]string{"calibrate", "c.yaml", "--sims", "5", "--index", "2"}, "--index goes with --sim-task"},
	} {
		code, _, stderr := cli(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
}

// TestCalibrateFake runs the whole command against a fake CmdStan, whose draws have
// nothing to do with the data: every file is written, one program is compiled, and the
// verdict says the ranks are not uniform.
func TestCalibrateFake(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	out := filepath.Join(dir, "sbc")
	code, stdout, stderr := cli(t, "calibrate", filepath.Join(dir, "config.yaml"), "--sims", "12", "--jobs", "2",
		"--cmdstan", home, "--out", out, "--warmup", "50", "--samples", "50")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if n := fakecmdstan.MakeCalls(home); n != 1 {
		t.Errorf("make ran %d times for 12 simulations; want 1", n)
	}
	if !strings.Contains(stdout, "Verdict: not calibrated: ") {
		t.Errorf("stdout:\n%s", stdout)
	}
	verdict, err := os.ReadFile(filepath.Join(out, "verdict.txt"))
	if err != nil || !strings.HasPrefix(string(verdict), "not calibrated: ") {
		t.Errorf("verdict.txt: %q, %v", verdict, err)
	}
	ranks, _ := os.ReadFile(filepath.Join(out, "calibration_ranks.csv"))
	// 12 simulations × 8 parameters (6 coefficients, noise_sd) + the header
	if n := strings.Count(string(ranks), "\n"); n != 1+12*8 {
		t.Errorf("calibration_ranks.csv has %d lines; want %d", n, 1+12*8)
	}
	for _, f := range []string{"calibration.csv", "calibration_sims.csv", "rank_histograms_1.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "work")); !os.IsNotExist(err) {
		t.Errorf("the work folder is left behind: %v", err)
	}
}

// TestCalibrateStudyFolder: --status and --sim-task on a folder that holds no Slurm study
// say so (exit 1), and --sim-task is not in the help.
func TestCalibrateStudyFolder(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"calibrate", "--status", dir}, {"calibrate", "--sim-task", dir, "--index", "0"}} {
		code, _, stderr := cli(t, args...)
		if code != exitError || !strings.Contains(stderr, "has no calibration_study.json") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	_, out, _ := cli(t, "calibrate", "--help")
	if strings.Contains(out, "--sim-task string") || strings.Contains(out, "--index int") {
		t.Errorf("calibrate --help lists the hidden --sim-task and --index:\n%s", out)
	}
}
