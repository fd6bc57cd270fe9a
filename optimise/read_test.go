package optimise

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestReadFilesRoundTrip writes the five files of a result and reads each back with its
// reader.
func TestReadFilesRoundTrip(t *testing.T) {
	sc, err := ParseScenario([]byte(`
channels:
  - {term: m_tv, name: tv, bounds: {min: 100, max: 700}, response: {type: hill, ec50: 400, slope: 1}}
  - {term: m_search, name: search, response: {type: log1p, scale: 100}}
budget_total: 1000
reference_spend: {search: 0}
`), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Optimise(context.Background(), sc, Inputs{
		Terms:        []string{"(Intercept)", "m_tv", "m_search"},
		Draws:        [][]float64{{5000, 2600, 310}, {5100, 2400, 290}, {4900, 2500, 300}},
		SpendColumns: map[string][]float64{"tv": {700, 800, 900}},
		KPIType:      KPIRevenue,
	}, Options{Seed: 1, FrontierSteps: 3, CurvePoints: 4})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := res.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}

	a, err := ReadAllocation(open(AllocationFile))
	if err != nil {
		t.Fatal(err)
	}
	c := res.Channels[1]
	if a.Efficiency != "roi" || len(a.Rows) != 2 || a.Rows[1].Channel != c.Channel || a.Rows[1].OptimisedSpend != c.OptimisedSpend ||
		a.Rows[1].Optimised != c.Optimised || !math.IsNaN(a.Rows[1].CurrentEff) != !math.IsNaN(c.CurrentROI) || a.Rows[0].Response != res.Channels[0].Response.String() {
		t.Errorf("allocation.csv read back %+v; want %+v", a.Rows[1], c)
	}
	curves, err := ReadResponseCurves(open(ResponseCurvesFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(curves, res.Curves) {
		t.Errorf("response_curves.csv read back %+v; want %+v", curves, res.Curves)
	}
	fr, err := ReadFrontier(open(FrontierFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fr.Channels, []string{"tv", "search"}) || !reflect.DeepEqual(fr.Points, res.Frontier) {
		t.Errorf("frontier.csv read back %+v; want %+v", fr, res.Frontier)
	}
	sens, err := ReadSensitivity(open(SensitivityFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sens, res.Sensitivity) {
		t.Errorf("sensitivity.csv read back %+v; want %+v", sens, res.Sensitivity)
	}
	s, err := ReadSummary(open(SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	want := res.Summary
	if s.KPIType != want.KPIType || s.BudgetTotal != want.BudgetTotal || s.Solver != want.Solver || s.Current.Spend != want.Current.Spend ||
		s.Optimised.KPI != want.Optimised.KPI || s.Lift != want.Lift || s.ProbPositive != want.ProbPositive || s.Optimised.ROI != want.Optimised.ROI ||
		!math.IsNaN(s.Current.CPA) {
		t.Errorf("summary.json read back %+v; want %+v", s, want)
	}
}
