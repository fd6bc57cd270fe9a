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
		"calibration.csv", "calibration_ranks.csv", "verdict.txt", "Bonferroni",
		"Refused", "transforms.<column>.adstock.decay", "fit.method optimise"} {
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
