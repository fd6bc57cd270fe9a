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

	// With time-series cross-validation in both runs, a second table ranks by holdout ELPD.
	const head = "fold,train_start,cutoff,holdout_end,n_train,elpd_holdout,rmse,smape,coverage90,n\n1,2024-01-01,2025-01-06,2025-03-31,53,-50,2,3,0.9,13\n"
	os.WriteFile(filepath.Join(a, "50_model_selection", "tscv_summary.csv"), []byte(head+"all,,,,,-50,2,3,0.9,13\n"), 0o644)
	os.WriteFile(filepath.Join(b, "50_model_selection", "tscv_summary.csv"), []byte(head+"all,,,,,-40.5,1.5,2,0.85,13\n"), 0o644)
	code, out, stderr = cli(t, "compare", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, holdout, found := strings.Cut(out, "time-series cross-validation")
	lines = strings.Split(strings.TrimSpace(holdout), "\n")
	if !found || len(lines) != 4 || strings.Join(strings.Fields(lines[2])[:4], " ") != "1 run_b -40.5 0.0" || strings.Join(strings.Fields(lines[3])[:4], " ") != "2 run_a -50.0 -9.5" {
		t.Errorf("holdout ranking:\n%s", out)
	}
	// Different folds are not compared.
	os.WriteFile(filepath.Join(b, "50_model_selection", "tscv_summary.csv"), []byte(strings.Replace(head, "2025-01-06", "2025-01-13", 1)+"all,,,,,-40.5,1.5,2,0.85,13\n"), 0o644)
	if _, out, _ := cli(t, "compare", a, b); !strings.Contains(out, "holdout ELPD not compared") {
		t.Errorf("different folds:\n%s", out)
	}
}
