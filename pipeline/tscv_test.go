package pipeline

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// weekly returns n weekly dates from 2024-01-01, each repeated for every group (panel rows
// grouped by date, as a long table holds them).
func weekly(n, groups int) []time.Time {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []time.Time
	for g := 0; g < groups; g++ {
		for w := 0; w < n; w++ {
			out = append(out, start.AddDate(0, 0, 7*w))
		}
	}
	return out
}

func TestMakeFolds(t *testing.T) {
	week := func(w int) time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 7*w) }
	cases := []struct {
		name              string
		weeks, groups     int
		cfg               ingest.TimeSeriesSelectionConfig
		wantTrain         [][2]int // per fold: first training week, cut-off week (exclusive end)
		wantHoldPerGroups int
	}{
		{"expanding", 100, 1, ingest.TimeSeriesSelectionConfig{Folds: 3, Horizon: 10, MinTrain: 50, Window: "expanding"},
			[][2]int{{0, 70}, {0, 80}, {0, 90}}, 10},
		{"rolling", 100, 1, ingest.TimeSeriesSelectionConfig{Folds: 3, Horizon: 10, MinTrain: 50, Window: "rolling"},
			[][2]int{{20, 70}, {30, 80}, {40, 90}}, 10},
		{"exactly enough weeks", 117, 1, ingest.TimeSeriesSelectionConfig{Folds: 5, Horizon: 13, MinTrain: 52, Window: "expanding"},
			[][2]int{{0, 52}, {0, 65}, {0, 78}, {0, 91}, {0, 104}}, 13},
		{"panel cut at the same date", 60, 3, ingest.TimeSeriesSelectionConfig{Folds: 2, Horizon: 4, MinTrain: 20, Window: "rolling"},
			[][2]int{{32, 52}, {36, 56}}, 4},
	}
	for _, c := range cases {
		times := weekly(c.weeks, c.groups)
		folds, err := makeFolds(times, c.cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(folds) != c.cfg.Folds {
			t.Fatalf("%s: %d folds; want %d", c.name, len(folds), c.cfg.Folds)
		}
		for f, fd := range folds {
			lo, cut := c.wantTrain[f][0], c.wantTrain[f][1]
			if !fd.Cut.Equal(week(cut)) || !fd.TrainStart.Equal(week(lo)) || !fd.HoldEnd.Equal(week(cut+c.cfg.Horizon-1)) {
				t.Errorf("%s fold %d: train from %v, cut %v, holdout to %v; want weeks %d, %d, %d", c.name, f+1, fd.TrainStart, fd.Cut, fd.HoldEnd, lo, cut, cut+c.cfg.Horizon-1)
			}
			if len(fd.Train) != (cut-lo)*c.groups || len(fd.Hold) != c.wantHoldPerGroups*c.groups {
				t.Errorf("%s fold %d: %d training and %d holdout rows; want %d and %d", c.name, f+1, len(fd.Train), len(fd.Hold), (cut-lo)*c.groups, c.wantHoldPerGroups*c.groups)
			}
			for _, i := range fd.Train {
				if !times[i].Before(fd.Cut) || times[i].Before(fd.TrainStart) {
					t.Errorf("%s fold %d: training row %d dated %v", c.name, f+1, i, times[i])
				}
			}
			for _, i := range fd.Hold {
				if times[i].Before(fd.Cut) || times[i].After(fd.HoldEnd) {
					t.Errorf("%s fold %d: holdout row %d dated %v", c.name, f+1, i, times[i])
				}
			}
		}
		if last := folds[len(folds)-1].HoldEnd; !last.Equal(week(c.weeks - 1)) {
			t.Errorf("%s: the last holdout ends %v; want the last week %v", c.name, last, week(c.weeks-1))
		}
	}
	_, err := makeFolds(weekly(116, 1), ingest.TimeSeriesSelectionConfig{Folds: 5, Horizon: 13, MinTrain: 52, Window: "expanding"})
	if err == nil || !strings.Contains(err.Error(), "52 + 5·13 = 117 dates; the data have 116") {
		t.Errorf("too few weeks: err = %v", err)
	}
}

func TestScoreRow(t *testing.T) {
	// Two draws: N(0, 1) and N(2, 2); y = 1.
	mu, sigma := []float64{0, 2}, []float64{1, 2}
	r := scoreRow(1, mu, sigma, false)
	p1 := math.Exp(-0.5) / math.Sqrt(2*math.Pi)         // N(1 | 0, 1)
	p2 := math.Exp(-0.125) / (2 * math.Sqrt(2*math.Pi)) // N(1 | 2, 2)
	if want := math.Log((p1 + p2) / 2); math.Abs(r.lpd-want) > 1e-12 {
		t.Errorf("lpd = %v; want %v", r.lpd, want)
	}
	// Prediction 1 = y: no error; the mixture CDF at 1 is (Φ(1) + Φ(−0.5))/2 ≈ 0.57: covered.
	if r.sqErr != 0 || r.ape != 0 || !r.covered {
		t.Errorf("score = %+v; want no error, covered", r)
	}
	// Far out: y = 10 is above the 95% quantile.
	if r := scoreRow(10, mu, sigma, false); r.covered || math.Abs(r.sqErr-81) > 1e-12 || math.Abs(r.ape-2*9.0/11) > 1e-12 {
		t.Errorf("y=10: %+v; want not covered, squared error 81, ape 18/11", r)
	}
	// Log response: the prediction is mean exp(μ + σ²/2), compared with exp(y).
	r = scoreRow(math.Log(3), []float64{0}, []float64{1}, true)
	pred := math.Exp(0.5)
	if math.Abs(r.sqErr-(3-pred)*(3-pred)) > 1e-12 {
		t.Errorf("log response squared error %v; want %v", r.sqErr, (3-pred)*(3-pred))
	}
	// One draw N(3, 2): the 90% interval is 3 ± 1.6448536·2; y = 6.2 lies just inside, 6.3 outside.
	r = scoreRow(6.2, []float64{3}, []float64{2}, false)
	if math.Abs(r.q05-(3-2*1.6448536)) > 1e-4 || math.Abs(r.q95-(3+2*1.6448536)) > 1e-4 || !r.covered || r.obs != 6.2 || r.pred != 3 {
		t.Errorf("N(3, 2) at 6.2: %+v", r)
	}
	if r := scoreRow(6.3, []float64{3}, []float64{2}, false); r.covered {
		t.Error("6.3 is outside N(3, 2)'s 90% interval")
	}
	// A mixture's quantile: N(0,1) and N(10,1) half each; the median is 5 by symmetry.
	if q := mixtureQuantile(0.5, []float64{0, 10}, []float64{1, 1}); math.Abs(q-5) > 1e-4 {
		t.Errorf("mixture median %v; want 5", q)
	}
	sc := aggregate([]rowScore{{lpd: -1, sqErr: 4, ape: 0.1, covered: true}, {lpd: -2, sqErr: 16, ape: 0.3}})
	want := tscvScore{ELPD: -3, RMSE: math.Sqrt(10), SMAPE: 20, Coverage90: 0.5, N: 2}
	if math.Abs(sc.ELPD-want.ELPD) > 1e-12 || math.Abs(sc.RMSE-want.RMSE) > 1e-12 || math.Abs(sc.SMAPE-want.SMAPE) > 1e-12 || sc.Coverage90 != want.Coverage90 || sc.N != 2 {
		t.Errorf("aggregate = %+v; want %+v", sc, want)
	}
}

// enableTSCV adds a diagnostics.time_series_selection section to a config file.
func enableTSCV(t *testing.T, cfg, section string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, []byte("diagnostics:\n  time_series_selection:\n"+section)...)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunTimeSeriesCV(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	enableTSCV(t, cfg, "    enabled: true\n    folds: 3\n    horizon: 13\n    min_train: 52\n    window: rolling\n")
	runDir := filepath.Join(t.TempDir(), "run")
	var log strings.Builder
	logBuf := &syncBuffer{} // Cores 4 and 2 chains: two folds at a time
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Cores: 4, Version: "test", Now: fixedNow, Log: logBuf, Progress: &log}); err != nil {
		t.Fatal(err)
	}
	for f := 1; f <= 3; f++ {
		for _, name := range []string{"model.stan", "data.json", "chain_1.csv", "chain_2.csv"} {
			if _, err := os.Stat(filepath.Join(runDir, "50_model_selection/tscv", "fold_0"+string(rune('0'+f)), name)); err != nil {
				t.Errorf("fold %d: %v", f, err)
			}
		}
	}
	if l := string(logBuf.Bytes()); !strings.Contains(l, "3 folds (rolling window, horizon 13), 2 at a time") || !strings.Contains(l, "3 of 3 share the run's compiled program") {
		t.Errorf("log:\n%s", logBuf.Bytes())
	}
	if _, err := os.Stat(filepath.Join(runDir, "50_model_selection/tscv/fold_04")); err == nil {
		t.Error("a fourth fold folder")
	}
	main, _ := os.ReadFile(filepath.Join(runDir, "20_model_fit/model.stan"))
	fold, _ := os.ReadFile(filepath.Join(runDir, "50_model_selection/tscv/fold_01/model.stan"))
	if string(main) != string(fold) {
		t.Error("fold 1's program differs from the run's")
	}
	sum, err := os.ReadFile(filepath.Join(runDir, "50_model_selection", TSCVSummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sum)), "\n")
	if len(lines) != 5 || lines[0] != "fold,train_start,cutoff,holdout_end,n_train,elpd_holdout,rmse,smape,coverage90,n" {
		t.Fatalf("tscv_summary.csv:\n%s", sum)
	}
	if !strings.HasPrefix(lines[1], "1,") || !strings.HasSuffix(lines[1], ",13") || !strings.Contains(lines[1], ",52,") ||
		!strings.HasPrefix(lines[4], "all,,,,,") || !strings.HasSuffix(lines[4], ",39") {
		t.Errorf("tscv_summary.csv:\n%s", sum)
	}
	folds, err := os.ReadFile(filepath.Join(runDir, "50_model_selection", TSCVFoldsFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(folds), "\n"); got != 5 || !strings.HasPrefix(string(folds), "fold,group,elpd_holdout") || !strings.Contains(string(folds), "\nall,all,") {
		t.Errorf("tscv_folds.csv:\n%s", folds)
	}
	pred, err := os.ReadFile(filepath.Join(runDir, "50_model_selection", TSCVPredictionsFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(pred), "\n"); got != 40 || !strings.HasPrefix(string(pred), "fold,date,group,line,observed,predicted,q05,q95\n1,") {
		t.Errorf("tscv_predictions.csv has %d lines:\n%.300s", got, pred)
	}
	if _, err := os.Stat(filepath.Join(runDir, "50_model_selection", "tscv_holdout_fit.png")); err != nil {
		t.Errorf("no held-out fit plot: %v", err)
	}
	if info := readRunInfo(t, runDir); info.Status != "completed" {
		t.Errorf("run.json status %q", info.Status)
	}
}

// TestRunTimeSeriesCVPanel cross-validates a 3-market panel: every market is cut at the same
// date, and tscv_folds.csv has a row per fold and market, then per market over all folds.
func TestRunTimeSeriesCVPanel(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writePanel(t)
	t.Setenv(fakecmdstan.Columns, programColumns(t, cfg))
	enableTSCV(t, cfg, "    enabled: true\n    folds: 2\n    horizon: 4\n    min_train: 30\n")
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Log: &syncBuffer{}, Progress: &syncBuffer{}}); err != nil {
		t.Fatal(err)
	}
	sum, _ := os.ReadFile(filepath.Join(runDir, "50_model_selection", TSCVSummaryFile))
	lines := strings.Split(strings.TrimSpace(string(sum)), "\n")
	// 52 weeks: fold 1 trains on weeks 0-43 (44 weeks × 3 markets) and holds out 44-47.
	if len(lines) != 4 || !strings.Contains(lines[1], ",132,") || !strings.HasSuffix(lines[1], ",12") || !strings.HasSuffix(lines[3], ",24") {
		t.Errorf("tscv_summary.csv:\n%s", sum)
	}
	folds, _ := os.ReadFile(filepath.Join(runDir, "50_model_selection", TSCVFoldsFile))
	rows := strings.Split(strings.TrimSpace(string(folds)), "\n")
	if len(rows) != 1+2*3+3 {
		t.Fatalf("tscv_folds.csv:\n%s", folds)
	}
	for _, r := range rows[1:] {
		if !strings.HasSuffix(r, ",4") && !strings.HasSuffix(r, ",8") {
			t.Errorf("tscv_folds.csv row %q: want 4 held-out weeks per fold and market (8 over both)", r)
		}
	}
	pred, _ := os.ReadFile(filepath.Join(runDir, "50_model_selection", TSCVPredictionsFile))
	dates := map[string]map[string]bool{} // fold → dates held out, across markets
	for _, r := range strings.Split(strings.TrimSpace(string(pred)), "\n")[1:] {
		c := strings.Split(r, ",")
		if dates[c[0]] == nil {
			dates[c[0]] = map[string]bool{}
		}
		dates[c[0]][c[1]] = true
	}
	if len(dates) != 2 || len(dates["1"]) != 4 || len(dates["2"]) != 4 {
		t.Errorf("held-out dates per fold: %v; want the same 4 dates for every market", dates)
	}
}
