package pipeline

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/simulate"
)

// writeSim writes a simulated example into a temp folder and returns its config.
func writeSim(t *testing.T, ex *simulate.Example, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "config.yaml")
}

// fakeFit fits config with the fake CmdStan (2 chains) and returns the run folder.
func fakeFit(t *testing.T, config string) string {
	t.Helper()
	home := fakecmdstan.New(t, fakecmdstan.OK)
	t.Setenv(fakecmdstan.Columns, programColumns(t, config))
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, CmdStanDir: home, Chains: 2}); err != nil {
		t.Fatal(err)
	}
	return runDir
}

// readCSV reads a CSV file whole.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// writeCSV writes records as a CSV file.
func writeCSV(t *testing.T, path string, recs [][]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(recs)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// lastWeeksPlan writes the rows of the data beside config dated in its last k weeks (every
// group's), as a plan, and returns its path.
func lastWeeksPlan(t *testing.T, config string, k int) string {
	t.Helper()
	recs := readCSV(t, filepath.Join(filepath.Dir(config), "data.csv"))
	date := slices.Index(recs[0], "date")
	var dates []string
	for _, r := range recs[1:] {
		dates = append(dates, r[date])
	}
	slices.Sort(dates)
	dates = slices.Compact(dates)
	last := dates[len(dates)-k:]
	plan := [][]string{recs[0]}
	for _, r := range recs[1:] {
		if slices.Contains(last, r[date]) {
			plan = append(plan, r)
		}
	}
	p := filepath.Join(t.TempDir(), "plan.csv")
	writeCSV(t, p, plan)
	return p
}

// rowKey identifies a row by its date and groups.
func forecastKey(date string, groups []string) string { return date + "|" + strings.Join(groups, "|") }

// closeRel reports whether got is within tol of want, relative to max(1, |want|).
func closeRel(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// TestForecastReproducesFittedValues forecasts a run's own last weeks, with the history
// before them: the expected value must be the fitted mean of fitted_values.csv and each
// contribution the decomposition's mean, to rounding, for a BLM, fixed and estimated
// transforms (the plan's first weeks carry over media from the history) and a panel.
func TestForecastReproducesFittedValues(t *testing.T) {
	cases := []struct {
		name   string
		config func(t *testing.T) string
	}{
		{"blm", func(t *testing.T) string { return writeExample(t) }},
		{"fixed transforms", func(t *testing.T) string { return withTransforms(t) }},
		{"estimated transforms", func(t *testing.T) string {
			ex, err := simulate.BLM(simulate.BLMOptions{Weeks: 60, Transforms: true})
			return writeSim(t, ex, err)
		}},
		{"panel", func(t *testing.T) string { return writePanel(t) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			config := c.config(t)
			runDir := fakeFit(t, config)
			plan := lastWeeksPlan(t, config, 10)
			out := filepath.Join(t.TempDir(), "forecast")
			if err := ForecastRun(context.Background(), ForecastOptions{RunDir: runDir, Plan: plan, Out: out, overlap: true}); err != nil {
				t.Fatal(err)
			}
			fit := readFitted(t, runDir)
			dec := readDecomposition(t, runDir)
			wantMean, wantObs := map[string]float64{}, map[string]float64{}
			for i, k := range fit.Keys {
				key := forecastKey(k.Date, k.Groups)
				wantMean[key], wantObs[key] = fit.Model.Mean[i], fit.Observed[i]
			}
			wantContrib := map[string]float64{}
			for i, k := range dec.Keys {
				wantContrib[forecastKey(k.Date, k.Groups)+"|"+dec.Terms[i]] = dec.Mean[i]
			}
			recs := readCSV(t, filepath.Join(out, runfolder.ForecastFile))
			head := recs[0]
			col := func(name string) int {
				j := slices.Index(head, name)
				if j < 0 {
					t.Fatalf("forecast.csv has no column %q: %v", name, head)
				}
				return j
			}
			obs, mean := col("observed"), col("expected_mean")
			n := 0
			for _, r := range recs[1:] {
				key := forecastKey(r[2], r[3:obs])
				want, ok := wantMean[key]
				if !ok {
					t.Fatalf("forecast row %v is not a fitted row", r[:obs])
				}
				got, _ := strconv.ParseFloat(r[mean], 64)
				if !closeRel(got, want, 1e-9) {
					t.Errorf("%s: expected_mean = %v; want the fitted mean %v (tol 1e-9)", key, got, want)
				}
				if o, _ := strconv.ParseFloat(r[obs], 64); o != wantObs[key] {
					t.Errorf("%s: observed = %v; want %v", key, o, wantObs[key])
				}
				for j, h := range head {
					term, ok := strings.CutPrefix(h, "contribution[")
					if !ok {
						continue
					}
					term = strings.TrimSuffix(term, "]")
					got, _ := strconv.ParseFloat(r[j], 64)
					if want := wantContrib[key+"|"+term]; !closeRel(got, want, 1e-9) {
						t.Errorf("%s: contribution of %s = %v; want the decomposition's %v (tol 1e-9)", key, term, got, want)
					}
				}
				n++
			}
			if groups := max(1, len(fit.Factors)); n < 10*groups || n != len(recs)-1 {
				t.Errorf("forecast.csv has %d rows; want 10 per group", n)
			}
			for _, f := range []string{runfolder.ForecastTotalsFile, runfolder.ForecastPlot} {
				if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
					t.Errorf("no %s: %v", f, err)
				}
			}
		})
	}
}

// TestForecastTotals checks forecast_totals.csv against forecast.csv on a panel's future
// weeks: the expected totals' means are the sums of the rows' means, per group and
// overall, and the predictive total's interval is wider than its expected value's.
func TestForecastTotals(t *testing.T) {
	config := writePanel(t)
	runDir := fakeFit(t, config)
	plan := futurePlan(t, config, 4)
	if err := ForecastRun(context.Background(), ForecastOptions{RunDir: runDir, Plan: plan}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(runDir, runfolder.StageForecast)
	rows := readCSV(t, filepath.Join(dir, runfolder.ForecastFile))
	mean := slices.Index(rows[0], "expected_mean")
	sums := map[string]float64{}
	for _, r := range rows[1:] {
		v, _ := strconv.ParseFloat(r[mean], 64)
		sums["all"] += v
		sums["market="+r[3]] += v
	}
	totals := readCSV(t, filepath.Join(dir, runfolder.ForecastTotalsFile))
	if got := strings.Join(totals[0], ","); got != "scope,quantity,rows,mean,q5,q25,q50,q75,q95" {
		t.Errorf("forecast_totals.csv header = %s", got)
	}
	seen := 0
	width := map[string]float64{}
	for _, r := range totals[1:] {
		m, _ := strconv.ParseFloat(r[3], 64)
		lo, _ := strconv.ParseFloat(r[4], 64)
		hi, _ := strconv.ParseFloat(r[8], 64)
		switch r[1] {
		case "kpi_expected":
			seen++
			if want := sums[r[0]]; !closeRel(m, want, 1e-9) {
				t.Errorf("%s: expected total %v; want the rows' sum %v", r[0], m, want)
			}
			width[r[0]+"e"] = hi - lo
		case "kpi_predictive":
			width[r[0]+"p"] = hi - lo
		}
	}
	if seen != len(sums) {
		t.Errorf("%d expected totals; want %d (all and each market)", seen, len(sums))
	}
	if width["allp"] <= width["alle"] {
		t.Errorf("predictive total's 90%% interval %v is not wider than the expected value's %v", width["allp"], width["alle"])
	}
}

// futurePlan writes a plan of the k weeks after the data beside config: each group's last
// row repeated with its date moved on, week by week.
func futurePlan(t *testing.T, config string, k int) string {
	t.Helper()
	recs := readCSV(t, filepath.Join(filepath.Dir(config), "data.csv"))
	date := slices.Index(recs[0], "date")
	last := ""
	for _, r := range recs[1:] {
		last = max(last, r[date])
	}
	plan := [][]string{recs[0]}
	for w := 1; w <= k; w++ {
		for _, r := range recs[1:] {
			if r[date] == last {
				row := slices.Clone(r)
				row[date] = shiftDate(t, last, 7*w)
				plan = append(plan, row)
			}
		}
	}
	p := filepath.Join(t.TempDir(), "plan.csv")
	writeCSV(t, p, plan)
	return p
}

// shiftDate moves a YYYY-MM-DD date on by days.
func shiftDate(t *testing.T, date string, days int) string {
	t.Helper()
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatal(err)
	}
	return d.AddDate(0, 0, days).Format(time.DateOnly)
}
