package optimise

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// hillScenario is a three-channel scenario with S-shaped and concave Hill curves, solved
// by the general (seeded) solver under a risk objective.
func hillScenario(obj Objective) *Scenario {
	return &Scenario{BudgetTotal: 300, Objective: obj, Channels: []Channel{
		{Term: "a", Name: "tv", Bounds: Bounds{Min: 20, Max: 250}, Response: Response{Type: ResponseHill, EC50: 100, Slope: 2}},
		{Term: "b", Name: "search", Bounds: Bounds{Max: math.Inf(1)}, Response: Response{Type: ResponseHill, EC50: 50, Slope: 0.7}},
		{Term: "c", Name: "social", Bounds: Bounds{Max: math.Inf(1)}, Response: Response{Type: ResponseLog1p, Scale: 40}},
	}}
}

func hillInputs() Inputs {
	return Inputs{
		Terms: []string{"a", "b", "c"},
		Draws: normalDraws(21, 800, []float64{3, 2, 1.5}, []float64{1, 0.5, 0.3}),
		SpendColumns: map[string][]float64{
			"tv": {90, 110, 100}, "search": {80, 120}, "social": {100, math.NaN(), 100},
		},
	}
}

// A seeded run is reproducible, and does not depend on how many frontier budgets are
// solved at once.
func TestReproducible(t *testing.T) {
	for _, obj := range []Objective{{Type: ObjectiveCVaR, Alpha: 0.1}, {Type: ObjectiveMeanMinusSD, Lambda: 0.5}} {
		sc, in := hillScenario(obj), hillInputs()
		a, err := Optimise(context.Background(), sc, in, Options{Seed: 42, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Optimise(context.Background(), sc, in, Options{Seed: 42, Workers: 4})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%v: two runs with seed 42 differ:\n%+v\n%+v", obj, a.Channels, b.Channels)
		}
		if a.Summary.Seed != 42 || a.Summary.Solver == SolverLagrange {
			t.Errorf("%v: summary seed %d solver %s; want 42 and a general solver", obj, a.Summary.Seed, a.Summary.Solver)
		}
	}
}

// Per-group optimisation differs from population optimisation when markets differ: north
// responds to TV three times as strongly as to search, south the other way round, and the
// population (the average market) sits in between.
func TestPerGroupDiffersFromPopulation(t *testing.T) {
	sc := &Scenario{BudgetTotal: 1000, Channels: []Channel{
		{Term: "m_tv", Name: "tv", Bounds: Bounds{Max: math.Inf(1)}, Response: Response{Type: ResponseHill, EC50: 400, Slope: 1}},
		{Term: "m_search", Name: "search", Bounds: Bounds{Max: math.Inf(1)}, Response: Response{Type: ResponseHill, EC50: 400, Slope: 1}},
	}, ReferenceSpend: map[string]float64{"tv": 500, "search": 500}}
	terms := []string{"(Intercept)", "m_tv", "m_search"}
	groups := map[string]Inputs{
		"":      {Terms: terms, Draws: normalDraws(1, 1000, []float64{10, 2, 2}, []float64{1, 0.2, 0.2})},
		"north": {Terms: terms, Draws: normalDraws(2, 1000, []float64{10, 3, 1}, []float64{1, 0.2, 0.2}), Group: "north"},
		"south": {Terms: terms, Draws: normalDraws(3, 1000, []float64{10, 1, 3}, []float64{1, 0.2, 0.2}), Group: "south"},
	}
	tv := map[string]float64{}
	for name, in := range groups {
		res, err := Optimise(context.Background(), sc, in, Options{FrontierSteps: -1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Summary.Group != name {
			t.Errorf("summary group %q; want %q", res.Summary.Group, name)
		}
		tv[name] = res.Channels[0].OptimisedSpend
	}
	// Symmetric curves and coefficients: the population splits evenly. For north, with
	// β̄ = (3, 1) and ec50 = 400, equal marginal returns 3·400/(400+x)² = 400/(1400−x)²
	// give √3·(1400−x) = 400+x; south is the mirror image.
	wantNorth := (1400*math.Sqrt(3) - 400) / (1 + math.Sqrt(3))
	if math.Abs(tv[""]-500) > 5 {
		t.Errorf("population tv spend %.1f; want about 500", tv[""])
	}
	if math.Abs(tv["north"]-wantNorth) > 10 || math.Abs(tv["south"]-(1000-wantNorth)) > 10 {
		t.Errorf("tv spend north %.1f, south %.1f; want about %.1f and %.1f", tv["north"], tv["south"], wantNorth, 1000-wantNorth)
	}
}

// The output files: headers, one allocation row per channel summing to the budget, ROI for
// revenue and CPA for subscriptions, 21 frontier budgets from 50% to 150%, ±20% rows.
func TestWriteFiles(t *testing.T) {
	for _, kpi := range []string{KPIRevenue, KPISubscriptions} {
		sc, in := hillScenario(Objective{Type: ObjectiveMean}), hillInputs()
		in.KPIType = kpi
		res, err := Optimise(context.Background(), sc, in, Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := res.WriteFiles(dir); err != nil {
			t.Fatal(err)
		}
		eff := map[string]string{KPIRevenue: "roi", KPISubscriptions: "cpa"}[kpi]
		alloc := readCSV(t, filepath.Join(dir, AllocationFile))
		wantHead := "channel,term,current_spend,optimised_spend,current_mean,current_q05,current_q95,optimised_mean,optimised_q05,optimised_q95," +
			"current_" + eff + ",optimised_" + eff + ",marginal_roi,min_spend,max_spend,response"
		if got := strings.Join(alloc[0], ","); got != wantHead {
			t.Errorf("%s header:\n%s\nwant\n%s", AllocationFile, got, wantHead)
		}
		if len(alloc) != 4 {
			t.Fatalf("%s has %d rows; want 3 channels", AllocationFile, len(alloc)-1)
		}
		total := 0.0
		for _, row := range alloc[1:] {
			total += parse(t, row[3])
		}
		if total != sc.BudgetTotal {
			t.Errorf("optimised_spend in %s sums to %v; want exactly %v", AllocationFile, total, sc.BudgetTotal)
		}
		// reference spend: mean of the spend column, missing values skipped.
		if got := parse(t, alloc[3][2]); got != 100 {
			t.Errorf("social current_spend = %v; want 100 (mean of 100, NA, 100)", got)
		}
		// the efficiency column against its definition
		mean, spend := parse(t, alloc[1][7]), parse(t, alloc[1][3])
		want := mean / spend
		if kpi == KPISubscriptions {
			want = spend / mean
		}
		if got := parse(t, alloc[1][11]); math.Abs(got-want) > 1e-12*want {
			t.Errorf("optimised_%s = %v; want %v", eff, got, want)
		}

		front := readCSV(t, filepath.Join(dir, FrontierFile))
		if len(front) != 22 || parse(t, front[1][1]) != 0.5 || parse(t, front[21][1]) != 1.5 {
			t.Errorf("%s: %d rows from ratio %s to %s; want 21 from 0.5 to 1.5", FrontierFile, len(front)-1, front[1][1], front[len(front)-1][1])
		}
		prev := math.Inf(-1)
		for _, row := range front[1:] { // a mean optimum cannot fall as the budget grows (all β̄ > 0)
			v := parse(t, row[2])
			if v < prev-1e-9*math.Abs(prev) {
				t.Errorf("frontier objective falls from %v to %v at budget %s", prev, v, row[0])
			}
			prev = v
		}
		sens := readCSV(t, filepath.Join(dir, SensitivityFile))
		if len(sens) != 7 || sens[1][2] != "-0.2" || sens[2][2] != "0.2" {
			t.Errorf("%s: rows %v; want −0.2 and +0.2 for each of 3 channels", SensitivityFile, sens)
		}
		for i, row := range sens[1:] { // one channel moves, the others stay: spend and KPI follow
			c, change := i/2, parse(t, row[2])
			opt := res.Channels[c].OptimisedSpend
			if got, want := parse(t, row[4]), sc.BudgetTotal+change*opt; math.Abs(got-want) > 1e-9*want {
				t.Errorf("sensitivity %s %v: total_spend %v; want %v", row[0], change, got, want)
			}
			if d := parse(t, row[9]); math.Signbit(d) != math.Signbit(change) {
				t.Errorf("sensitivity %s %v: delta_mean %v has the wrong sign (every coefficient is positive)", row[0], change, d)
			}
		}
		curves := readCSV(t, filepath.Join(dir, ResponseCurvesFile))
		if len(curves) != 1+3*101 || strings.Join(curves[0], ",") != "channel,term,spend,mean,q05,q95" {
			t.Errorf("%s: %d rows, header %v", ResponseCurvesFile, len(curves), curves[0])
		}

		raw, err := os.ReadFile(filepath.Join(dir, SummaryFile))
		if err != nil {
			t.Fatal(err)
		}
		var sum map[string]any
		if err := json.Unmarshal(raw, &sum); err != nil {
			t.Fatalf("%s: %v\n%s", SummaryFile, err, raw)
		}
		opt := sum["optimised"].(map[string]any)
		if sum["kpi_type"] != kpi || sum["solver"] != SolverBFGS || opt[eff] == nil || opt["spend"].(float64) != 300 {
			t.Errorf("%s:\n%s", SummaryFile, raw)
		}
	}
}

// A non-finite number (ROI at zero spend) is NA in CSV and null in JSON.
func TestUndefinedNumbers(t *testing.T) {
	res := &Result{Summary: Summary{KPIType: KPIRevenue, Current: Totals{ROI: math.NaN()}},
		Channels: []ChannelResult{{Channel: "tv", CurrentROI: math.NaN(), MarginalROI: math.Inf(1), Max: math.Inf(1)}}}
	var buf bytes.Buffer
	if err := res.WriteAllocation(&buf); err != nil {
		t.Fatal(err)
	}
	if row := strings.Split(strings.TrimSpace(buf.String()), "\n")[1]; !strings.Contains(row, ",NA,") || !strings.Contains(row, ",Inf,") {
		t.Errorf("allocation row %q; want NA and Inf", row)
	}
	buf.Reset()
	if err := res.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"roi": null`) {
		t.Errorf("summary:\n%s\nwant \"roi\": null", buf.String())
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Optimise(ctx, hillScenario(Objective{Type: ObjectiveCVaR, Alpha: 0.1}), hillInputs(), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v; want context.Canceled", err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func parse(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
