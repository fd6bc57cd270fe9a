package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

func TestForecastCommand(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	runDir := filepath.Join(dir, "run")
	if code, _, stderr := cli(t, "run", filepath.Join(dir, "config.yaml"), "--cmdstan", home, "--run-dir", runDir, "--chains", "2"); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	if code, _, stderr := cli(t, "forecast", runDir); code != exitUsage || !strings.Contains(stderr, "--plan FILE is required") {
		t.Errorf("no --plan: exit %d, %q; want a usage error", code, stderr)
	}
	// Two weeks after the example's last (2024-12-23).
	plan := filepath.Join(dir, "plan.csv")
	src := "date,trend,seasonality,brand_metric,m_tv,m_search,m_social\n" +
		"2024-12-30,3,0,50,100,30,20\n2025-01-06,3.02,0.12,50,0,30,20\n"
	if err := os.WriteFile(plan, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fc")
	code, stdout, stderr := cli(t, "forecast", runDir, "--plan", plan, "--out", out)
	if code != 0 {
		t.Fatalf("forecast: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"forecast.csv", "forecast_totals.csv", "forecast.png"} {
		if !strings.Contains(stdout, filepath.Join(out, f)) {
			t.Errorf("stdout does not name %s:\n%s", f, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, "70_forecast")); err == nil {
		t.Error("forecast --out wrote into the run folder")
	}
	// A plan that skips a week is refused with its line; exit 1.
	if err := os.WriteFile(plan, []byte(strings.Replace(src, "2025-01-06", "2025-01-13", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = cli(t, "forecast", runDir, "--plan", plan)
	if want := plan + ":3: the plan steps from 2024-12-30 (line 2) to 2025-01-13, 14 days"; code != exitError || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitError, want)
	}
}
