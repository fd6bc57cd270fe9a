package pipeline

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tscvOverall reads the "all" row of a run's tscv_summary.csv.
func tscvOverall(t *testing.T, runDir string) (elpd, coverage float64) {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, "50_model_selection", TSCVSummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	if last[0] != "all" {
		t.Fatalf("tscv_summary.csv ends in %v", last)
	}
	elpd, _ = strconv.ParseFloat(last[5], 64)
	coverage, _ = strconv.ParseFloat(last[8], 64)
	return elpd, coverage
}

// TestIntegrationTSCVPrefersTheTrueModel cross-validates the simulated single-market example
// (4 expanding folds of 13 weeks, short chains) with its true formula and with m_tv left
// out: the true model must have the higher holdout ELPD.
func TestIntegrationTSCVPrefersTheTrueModel(t *testing.T) {
	needCmdStan(t)
	start := time.Now()
	cfg := writeExample(t)
	raw, _ := os.ReadFile(cfg)
	base := regexp.MustCompile(`(?s)allocation:.*outputs:`).ReplaceAllString(string(raw), "outputs:")
	base = strings.Replace(base, "iter: 2000", "iter: 600", 1)
	base = strings.Replace(base, "warmup: 1000", "warmup: 300", 1)
	base = strings.Replace(base, "chains: 4", "chains: 2", 1)
	base += "diagnostics:\n  time_series_selection: {enabled: true, folds: 4, horizon: 13, min_train: 52}\n"
	missing := strings.Replace(base, " + m_tv", "", 1)
	missing = strings.Replace(missing, "    - { parameter: m_tv, lower: 0, upper: .Inf }\n", "", 1)
	dir := filepath.Dir(cfg)
	elpd := map[string]float64{}
	for name, text := range map[string]string{"true": base, "missing_tv": missing} {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		runDir := filepath.Join(t.TempDir(), name)
		if _, err := Run(context.Background(), Options{noReport: true, ConfigPath: p, RunDir: runDir}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e, cov := tscvOverall(t, runDir)
		elpd[name] = e
		t.Logf("%s: elpd_holdout %.1f, coverage90 %.2f", name, e, cov)
		if name == "true" && (cov < 0.75 || cov > 0.99) { // 52 rows: 0.9 ± 0.04
			t.Errorf("the true model's held-out 90%% coverage is %.2f", cov)
		}
	}
	if elpd["true"] <= elpd["missing_tv"] {
		t.Errorf("holdout ELPD: true model %.1f, model without m_tv %.1f; want the true model higher", elpd["true"], elpd["missing_tv"])
	}
	t.Logf("took %s", time.Since(start).Round(time.Second))
}
