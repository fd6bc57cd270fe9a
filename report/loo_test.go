package report

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/runfolder"
)

// editPIT rewrites the pit column of the run's loo_pit.csv with f(pit).
func editPIT(t *testing.T, dir string, f func(pit float64) float64) {
	t.Helper()
	p := filepath.Join(dir, runfolder.StageModelSelection, runfolder.LOOPIT)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := loo.ReadPITCSV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := range tab.Rows {
		tab.Rows[i].PIT = f(tab.Rows[i].PIT)
	}
	var buf bytes.Buffer
	if err := loo.WritePITCSV(&buf, tab); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLOOPIT: the fixtures' PIT values stay inside the simultaneous band; the same values
// pushed towards 0 and 1 (the predictive sd three times too small: Φ(3·Φ⁻¹(pit))) leave
// it, and the figure says so.
func TestLOOPIT(t *testing.T) {
	for _, fixture := range []string{"blm", "panel"} {
		dir := copyFixture(t, fixture)
		fig, err := drawLOOPIT(newInputs(runfolder.Folder{Dir: dir}))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(fig.subtitle, "stays inside the band") {
			t.Errorf("%s: subtitle %q; want the ECDF inside the band", fixture, fig.subtitle)
		}
		editPIT(t, dir, func(pit float64) float64 {
			z := -math.Sqrt2 * math.Erfcinv(2*pit)
			return normCDF(3 * z)
		})
		fig, err = drawLOOPIT(newInputs(runfolder.Folder{Dir: dir}))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(fig.subtitle, "leaves the band") || len(fig.legend) != 3 {
			t.Errorf("%s, too narrow predictive intervals: subtitle %q, %d legend entries; want the ECDF outside the band marked", fixture, fig.subtitle, len(fig.legend))
		}
		if p := plotOf(t, build(t, dir, fast), "loo_pit.png"); p.Status != PlotWritten {
			t.Errorf("%s: loo_pit.png %s (%s); want written", fixture, p.Status, p.Reason)
		}
	}
}

// TestLOOPlotsOlderRun: a run written before loo_pit.csv gets elpd_influence.png (its rows
// from fitted_values.csv) and loo_pit.png is skipped with the reason; a PIT outside [0, 1]
// fails only the plots that read loo_pit.csv.
func TestLOOPlotsOlderRun(t *testing.T) {
	dir := copyFixture(t, "panel")
	pitFile := filepath.Join(dir, runfolder.StageModelSelection, runfolder.LOOPIT)
	if err := os.Remove(pitFile); err != nil {
		t.Fatal(err)
	}
	m := build(t, dir, fast)
	if p := plotOf(t, m, "loo_pit.png"); p.Status != PlotSkipped || !strings.Contains(p.Reason, "loo_pit.csv") {
		t.Errorf("loo_pit.png without loo_pit.csv: %s (%s); want skipped, naming the file", p.Status, p.Reason)
	}
	if p := plotOf(t, m, "elpd_influence.png"); p.Status != PlotWritten {
		t.Errorf("elpd_influence.png without loo_pit.csv: %s (%s); want written from fitted_values.csv", p.Status, p.Reason)
	}

	dir = copyFixture(t, "blm")
	editPIT(t, dir, func(pit float64) float64 { return pit + 1 })
	m = build(t, dir, fast)
	if p := plotOf(t, m, "loo_pit.png"); p.Status != PlotFailed || !strings.Contains(p.Reason, "not in [0, 1]") {
		t.Errorf("loo_pit.png with a pit above 1: %s (%s); want failed", p.Status, p.Reason)
	}
	if f := m.Failed(); len(f) != 1 {
		t.Errorf("%d plots failed; want only loo_pit.png: %v", len(f), f)
	}
}

// TestELPDInfluence: observations with k > 0.7 (an infinite k too) are counted and ringed;
// loo_pointwise.csv and the rows' keys must describe the same observations.
func TestELPDInfluence(t *testing.T) {
	dir := copyFixture(t, "blm")
	point := filepath.Join(dir, runfolder.StageModelSelection, runfolder.LOOPointwise)
	b, err := os.ReadFile(point)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, c := range []struct {
		line int
		k    float64
	}{{1, 0.85}, {40, math.Inf(1)}, {41, 0.69}} {
		f := strings.Split(lines[c.line], ",")
		f[7] = num.Format(c.k) // pareto_k
		lines[c.line] = strings.Join(f, ",")
	}
	if err := os.WriteFile(point, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	fig, err := drawELPDInfluence(newInputs(runfolder.Folder{Dir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fig.subtitle, "2 with Pareto k > 0.7") {
		t.Errorf("subtitle %q; want 2 observations with k > 0.7", fig.subtitle)
	}
	if p := plotOf(t, build(t, dir, fast), "elpd_influence.png"); p.Status != PlotWritten {
		t.Errorf("elpd_influence.png: %s (%s); want written", p.Status, p.Reason)
	}

	// One observation fewer in loo_pointwise.csv than in loo_pit.csv.
	if err := os.WriteFile(point, []byte(strings.Join(append(lines[:2:2], lines[3:]...), "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = drawELPDInfluence(newInputs(runfolder.Folder{Dir: dir}))
	if err == nil || !strings.Contains(err.Error(), "155 rows, 50_model_selection/loo_pit.csv 156") {
		t.Errorf("mismatched rows: err = %v; want both files and counts named", err)
	}
}
