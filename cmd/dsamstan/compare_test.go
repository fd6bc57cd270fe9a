package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

func TestCompareRanksRunsAndMarksFailures(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	cfg := filepath.Join(dir, "config.yaml")
	a, b := filepath.Join(dir, "run_a"), filepath.Join(dir, "run_b")
	for _, rd := range []string{a, b} {
		if code, _, stderr := cli(t, "run", cfg, "--cmdstan", home, "--run-dir", rd, "--chains", "2"); code != 0 {
			t.Fatalf("run: %s", stderr)
		}
	}
	// Mark run_b's diagnostics as failed, as a bad fit would record them.
	p := filepath.Join(b, "00_run_metadata", "run.json")
	raw, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(raw), `"diagnostics": "pass"`, `"diagnostics": "fail"`, 1)), 0o644)

	code, out, stderr := cli(t, "compare", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "rank") {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.Contains(out, "FAIL: do not prefer") {
		t.Errorf("the failing run is not marked:\n%s", out)
	}
	if code, _, stderr := cli(t, "compare", a, dir); code != exitError || !strings.Contains(stderr, "loo_pointwise.csv") {
		t.Errorf("a folder without LOO: exit %d, %q", code, stderr)
	}
}
