package pipeline

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/simulate"
)

// TestIntegrationForecastCoversHeldOutWeeks fits a simulated panel (3 markets) on its
// first 78 weeks with the real CmdStan and forecasts the last 26 as a plan: the model is
// the one that generated the data, so the 90% predictive intervals must cover the held-out
// KPI at about the nominal rate (80–97% of the 78 rows).
func TestIntegrationForecastCoversHeldOutWeeks(t *testing.T) {
	needCmdStan(t)
	ex, err := simulate.Hierarchical(simulate.PanelOptions{Markets: 3, Weeks: 104})
	config := writeSim(t, ex, err)
	data := filepath.Join(filepath.Dir(config), "data.csv")
	recs := readCSV(t, data)
	date, dates := dataDates(recs)
	cut := dates[78]
	train, hold := [][]string{recs[0]}, [][]string{recs[0]}
	for _, r := range recs[1:] {
		if r[date] < cut {
			train = append(train, r)
		} else {
			hold = append(hold, r)
		}
	}
	writeCSV(t, data, train)
	plan := filepath.Join(t.TempDir(), "plan.csv")
	writeCSV(t, plan, hold)

	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{noReport: true, ConfigPath: config, RunDir: runDir, Cores: 2}); err != nil {
		t.Fatal(err)
	}
	if err := ForecastRun(context.Background(), ForecastOptions{RunDir: runDir, Plan: plan}); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(runDir, runfolder.StageForecast, runfolder.ForecastFile))
	col := func(name string) int { return slices.Index(rows[0], name) }
	obs, lo, hi, elo, ehi := col("observed"), col("pred_q5"), col("pred_q95"), col("expected_q5"), col("expected_q95")
	covered, coveredExpected := 0, 0
	for _, r := range rows[1:] {
		v := func(j int) float64 { x, _ := strconv.ParseFloat(r[j], 64); return x }
		if y := v(obs); y >= v(lo) && y <= v(hi) {
			covered++
		}
		if y := v(obs); y >= v(elo) && y <= v(ehi) {
			coveredExpected++
		}
	}
	n := len(rows) - 1
	rate := float64(covered) / float64(n)
	t.Logf("90%% predictive intervals cover %d of %d held-out rows (%.1f%%); the expected value's 90%% intervals %d", covered, n, 100*rate, coveredExpected)
	if n != 78 {
		t.Errorf("forecast.csv has %d rows; want 78 (26 weeks × 3 markets)", n)
	}
	if rate < 0.80 || rate > 0.97 {
		t.Errorf("90%% predictive coverage = %.3f; want 0.80–0.97", rate)
	}
	if coveredExpected >= covered {
		t.Errorf("the expected value's intervals cover %d rows, the predictive ones %d; want fewer without the noise", coveredExpected, covered)
	}
}
