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

	"github.com/dsamstan/dsamstan/ingest"
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
	if _, err := Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, CmdStanDir: home, Chains: 2, noReport: true}); err != nil {
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

// dataDates returns the date column of the data records recs (header first) and its
// distinct values in order.
func dataDates(recs [][]string) (int, []string) {
	date := slices.Index(recs[0], "date")
	var dates []string
	for _, r := range recs[1:] {
		dates = append(dates, r[date])
	}
	slices.Sort(dates)
	return date, slices.Compact(dates)
}

// loadInputs loads config, its data and its spec as a run does.
func loadInputs(t *testing.T, config string) (*ingest.Config, *ingest.Table, *ingest.Spec) {
	t.Helper()
	cfg, err := ingest.LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ingest.LoadData(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ingest.BuildSpec(cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, data, spec
}

// lastWeeksPlan writes the rows of the data beside config dated in its last k weeks (every
// group's), as a plan, and returns its path.
func lastWeeksPlan(t *testing.T, config string, k int) string {
	t.Helper()
	recs := readCSV(t, filepath.Join(filepath.Dir(config), "data.csv"))
	date, dates := dataDates(recs)
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
		{"panel with CRE", func(t *testing.T) string {
			ex, err := simulate.Hierarchical(simulate.PanelOptions{Markets: 3, Weeks: 52, CRE: true})
			return writeSim(t, ex, err)
		}},
		{"panel with fixed transforms", func(t *testing.T) string {
			config := writePanel(t)
			b, err := os.ReadFile(config)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(config, append(b, exampleTransforms...), 0o644); err != nil {
				t.Fatal(err)
			}
			return config
		}},
		{"categorical", func(t *testing.T) string {
			config := writeExample(t)
			addChannel(t, config)
			editConfig(t, config, "formula: kpi_value ~", "formula: kpi_value ~ channel +")
			return config
		}},
		{"log response", func(t *testing.T) string {
			config := writeExample(t)
			editConfig(t, config, "formula: kpi_value ~", "formula: log(kpi_value) ~")
			return config
		}},
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
			fitMean, fitObs := fit.Model.Mean, fit.Observed
			if fit.KPI != nil { // the forecast is on the KPI scale
				fitMean, fitObs = fit.KPI.Mean, fit.KPIObserved
			}
			for i, k := range fit.Keys {
				key := forecastKey(k.Date, k.Groups)
				wantMean[key], wantObs[key] = fitMean[i], fitObs[i]
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
				if o, _ := strconv.ParseFloat(r[obs], 64); !closeRel(o, wantObs[key], 1e-12) {
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
	if page, err := os.ReadFile(filepath.Join(runDir, runfolder.IndexHTML)); err != nil || !strings.Contains(string(page), runfolder.StageForecast+"/"+runfolder.ForecastPlot) {
		t.Errorf("index.html does not show %s (%v)", runfolder.ForecastPlot, err)
	}
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

// TestForecastPlanErrors checks what a bad plan is told, with the plan's file and line.
func TestForecastPlanErrors(t *testing.T) {
	load := func(config string) (*ingest.Config, *ingest.Spec, *ingest.Table, [][]string) {
		cfg, data, spec := loadInputs(t, config)
		return cfg, spec, data, readCSV(t, futurePlan(t, config, 3))
	}
	blm, panel, channel := writeExample(t), writePanel(t), writeExample(t)
	addChannel(t, channel)
	editConfig(t, channel, "formula: kpi_value ~", "formula: kpi_value ~ channel +")
	type edit func(recs [][]string)
	set := func(row int, column, value string) edit {
		return func(recs [][]string) { recs[row][slices.Index(recs[0], column)] = value }
	}
	shift := func(days int) edit {
		return func(recs [][]string) {
			for _, r := range recs[1:] {
				r[0] = shiftDate(t, r[0], days)
			}
		}
	}
	drop := func(columns ...string) edit {
		return func(recs [][]string) {
			for i, r := range recs {
				var kept []string
				for j, c := range r {
					if !slices.Contains(columns, recs[0][j]) {
						kept = append(kept, c)
					}
				}
				defer func() { recs[i] = kept }()
			}
		}
	}
	// The BLM example's data end on 2024-12-23 (line 157); its plan is the 3 weeks after.
	cases := []struct {
		name   string
		config string
		edits  []edit
		want   string
	}{
		{"missing columns", blm, []edit{drop("trend", "m_tv")},
			`forecast: plan.csv:1: the plan has no column "trend", "m_tv"; a plan gives, for every planned week (and group), the date, the grouping columns and every column the model reads: media, controls, and trend and seasonality too (dsamstan does not extrapolate them; CRE means and managed holidays are derived)`},
		{"not a number", blm, []edit{set(2, "m_tv", "abc"), set(3, "m_social", "1,234")},
			`ingest: plan.csv:3: column "m_tv": "abc" is not a number` + "\n" +
				`ingest: plan.csv:4: column "m_social": "1,234" is not a number (if , separates thousands, write 1234; if it is a decimal comma, write 1.234)`},
		{"missing value", blm, []edit{set(1, "m_search", "NA")},
			`forecast: plan.csv:2: column "m_search" is missing ("NA"); a plan needs every value of the columns the model reads`},
		{"bad date", blm, []edit{set(1, "date", "2025-13-45")},
			`ingest: plan.csv:2: column "date" (data.date_var): "2025-13-45" is not a date in the run's date format (YYYY-MM-DD)`},
		{"repeated week", blm, []edit{set(2, "date", "2024-12-30")},
			`forecast: plan.csv:3: repeats the week 2024-12-30 of line 2; give each week (and group) once` + "\n" +
				`forecast: plan.csv:4: the plan steps from 2024-12-30 (line 3) to 2025-01-13, 14 days; the run's dates are 7 days apart, and a plan's weeks must follow each other without gaps`},
		{"starts inside the data", blm, []edit{shift(-7)},
			`forecast: plan.csv:2: the plan starts at 2024-12-23, but the run's data reach 2024-12-23 (line 157); a plan forecasts the weeks after the fitted ones`},
		{"gap before the plan", blm, []edit{shift(14)},
			`forecast: plan.csv:2: the plan starts at 2025-01-13, 21 days after the run's last week 2024-12-23; it must start at the next week (7 days after), so that media carry over without a gap`},
		{"unknown level", channel, []edit{set(2, "channel", "d")},
			`forecast: plan.csv:3: column "channel": "d" is not a level of the run's data (its levels: a, b, c)`},
		{"unknown market", panel, []edit{set(2, "market", "atlantis")},
			`forecast: plan.csv:3: market "atlantis" is not a group of the run (its groups: north, south, east); a forecast needs a fitted group`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, spec, data, recs := load(c.config)
			for _, e := range c.edits {
				e(recs)
			}
			dir := t.TempDir()
			p := filepath.Join(dir, "plan.csv")
			writeCSV(t, p, recs)
			plan, err := ingest.LoadCSV(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = readPlan(cfg, spec, data, plan, false)
			if err == nil {
				t.Fatal("readPlan accepted the plan; want an error")
			}
			if got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""); got != c.want {
				t.Errorf("error =\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestRunForecastEnabled runs a fit whose config forecasts a plan: 70_forecast/ holds the
// forecast, run.json times it and the report page shows it; a bad plan stops the run
// before anything is compiled.
func TestRunForecastEnabled(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	config := writeExample(t)
	plan := futurePlan(t, config, 4)
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, append(b, []byte("forecast:\n  enabled: true\n  plan_path: "+plan+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, CmdStanDir: home, Chains: 2}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{runfolder.ForecastFile, runfolder.ForecastTotalsFile, runfolder.ForecastPlot} {
		if _, err := os.Stat(filepath.Join(runDir, runfolder.StageForecast, f)); err != nil {
			t.Errorf("no %s/%s: %v", runfolder.StageForecast, f, err)
		}
	}
	if _, ok := readRunInfo(t, runDir).Timings["forecast"]; !ok {
		t.Error("run.json has no timing for the forecast step")
	}
	if rows := readCSV(t, filepath.Join(runDir, runfolder.StageForecast, runfolder.ForecastFile)); len(rows) != 5 {
		t.Errorf("forecast.csv has %d lines; want a header and 4 weeks", len(rows))
	}
	page, err := os.ReadFile(filepath.Join(runDir, runfolder.IndexHTML))
	if err != nil || !strings.Contains(string(page), runfolder.StageForecast+"/"+runfolder.ForecastPlot) {
		t.Errorf("index.html does not show %s (%v)", runfolder.ForecastPlot, err)
	}

	// A plan without m_tv: refused before the fit, naming the plan's header line.
	recs := readCSV(t, plan)
	j := slices.Index(recs[0], "m_tv")
	for i := range recs {
		recs[i] = slices.Delete(recs[i], j, j+1)
	}
	writeCSV(t, plan, recs)
	runDir = filepath.Join(t.TempDir(), "run")
	_, err = Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, CmdStanDir: home, Chains: 2})
	if err == nil || !strings.Contains(err.Error(), `plan.csv:1: the plan has no column "m_tv"`) {
		t.Fatalf("err = %v; want the plan's missing column", err)
	}
	if _, err := os.Stat(filepath.Join(runDir, runfolder.StageModelFit, runfolder.ModelStan)); err == nil {
		t.Error("a run with a bad plan rendered its program; want it stopped at ingest")
	}
}

// TestForecastPlanHolidays checks that a plan's managed holiday columns are generated from
// the calendar for its weeks, and are 0 for a holiday with no event in them.
func TestForecastPlanHolidays(t *testing.T) {
	config := writeExample(t)
	dir := filepath.Dir(config)
	// New Year falls in the data (2024-01-01) and in the plan's first week (2024-12-30 to
	// 2025-01-05); Christmas only in the data.
	cal := "date,holiday\n2023-12-25,Christmas\n2024-12-25,Christmas\n2024-01-01,New Year\n2025-01-01,New Year\n"
	if err := os.WriteFile(filepath.Join(dir, "holidays.csv"), []byte(cal), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	on := "time_components:\n  enabled: true\n  holidays:\n    enabled: true\n    calendar_path: holidays.csv\n"
	if err := os.WriteFile(config, append(b, on...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, data, spec := loadInputs(t, config)
	plan, err := ingest.LoadCSV(futurePlan(t, config, 3))
	if err != nil {
		t.Fatal(err)
	}
	p, err := readPlan(cfg, spec, data, plan, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{"holiday_new_year": {1, 0, 0}, "holiday_christmas": {0, 0, 0}}
	for name, w := range want {
		k := slices.IndexFunc(spec.Terms, func(term ingest.Term) bool { return term.Name == name })
		if k < 0 {
			t.Fatalf("the model has no term %s: %v", name, spec.Terms)
		}
		if !slices.Equal(p.x[k], w) {
			t.Errorf("plan's %s = %v; want %v", name, p.x[k], w)
		}
	}
}

// addChannel adds a text column channel (levels a, b, c in turn) to the data beside config.
func addChannel(t *testing.T, config string) {
	t.Helper()
	data := filepath.Join(filepath.Dir(config), "data.csv")
	recs := readCSV(t, data)
	recs[0] = append(recs[0], "channel")
	for i := 1; i < len(recs); i++ {
		recs[i] = append(recs[i], []string{"a", "b", "c"}[i%3])
	}
	writeCSV(t, data, recs)
}
