package pipeline

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/posterior"
)

// exampleTransforms fixes adstock and Hill on m_tv and Hill on m_social of the BLM example.
const exampleTransforms = `transforms:
  m_tv:
    adstock:    { type: geometric, decay: 0.5, max_lag: 8 }
    saturation: { type: hill, half_saturation: 100, shape: 1 }
  m_social:
    saturation: { type: hill, half_saturation: 25, shape: 1.5 }
`

// withTransforms writes the BLM example with the transforms section appended and returns
// its config path; replace edits the config text first (old, new pairs).
func withTransforms(t *testing.T, replace ...string) string {
	t.Helper()
	cfg := writeExample(t)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(text, replace[i]) {
			t.Fatalf("the example config has no %q", replace[i])
		}
		text = strings.Replace(text, replace[i], replace[i+1], 1)
	}
	if err := os.WriteFile(cfg, []byte(text+exampleTransforms), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func readFitted(t *testing.T, runDir string) *posterior.FittedTable {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, "30_post_run/fitted_values.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fit, err := posterior.ReadFitted(f)
	if err != nil {
		t.Fatal(err)
	}
	return fit
}

func readDecomposition(t *testing.T, runDir string) *posterior.DecompositionTable {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, "30_post_run/decomposition.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := posterior.ReadDecomposition(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRunWithFixedTransforms(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := withTransforms(t)
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	txt, err := os.ReadFile(filepath.Join(runDir, "10_pre_run/transform_assumptions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"m_tv: geometric adstock, decay 0.5, max_lag 8",
		"then Hill saturation, half_saturation 100 (in m_tv's units), shape 1",
		"m_social: no adstock; then Hill saturation, half_saturation 25 (in m_social's units), shape 1.5",
	} {
		if !strings.Contains(string(txt), want) {
			t.Errorf("transform_assumptions.txt lacks %q:\n%s", want, txt)
		}
	}

	// The contribution of a transformed term is its coefficient times the transformed
	// column, and the contributions sum to the fit.
	_, spec, err := ingest.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	draws, err := readDraws(filepath.Join(runDir, "30_post_run/posterior_draws.csv"))
	if err != nil {
		t.Fatal(err)
	}
	mean := func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s / float64(len(x))
	}
	raw, _, err := mustTable(t, cfg, spec).Numeric("m_social")
	if err != nil {
		t.Fatal(err)
	}
	d := readDecomposition(t, runDir)
	byRow := map[int]float64{}
	social := 0
	for i, term := range d.Terms {
		byRow[d.Keys[i].Row] += d.Mean[i]
		if term != "m_social" {
			continue
		}
		row := d.Keys[i].Row - 1
		want := mean(draws["m_social"]) * ingest.HillValue(raw[row], 25, 1.5)
		if math.Abs(d.Mean[i]-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("row %d: m_social contribution %v; want mean coefficient × hill(spend) = %v", row+1, d.Mean[i], want)
		}
		social++
	}
	if social != spec.N {
		t.Fatalf("%d m_social contributions for %d rows", social, spec.N)
	}
	fit := readFitted(t, runDir)
	for i, k := range fit.Keys {
		if got, want := byRow[k.Row], fit.Model.Mean[i]; math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("row %d: contributions sum to %v; fitted mean %v", k.Row, got, want)
		}
	}

	// The allocation prices m_tv and m_social on the model's own Hill curves.
	alloc, err := os.ReadFile(filepath.Join(runDir, "60_optimisation/allocation.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hill(ec50=100, slope=1)", "hill(ec50=25, slope=1.5)"} {
		if !strings.Contains(string(alloc), want) {
			t.Errorf("allocation.csv lacks %s:\n%s", want, alloc)
		}
	}
}

// mustTable loads the data file of spec's run (the example's data.csv beside config cfg).
func mustTable(t *testing.T, cfg string, spec *ingest.Spec) *ingest.Table {
	t.Helper()
	if spec.Dropped != 0 {
		t.Fatalf("the example dropped %d rows; the test indexes the data by row", spec.Dropped)
	}
	tab, err := ingest.LoadCSV(filepath.Join(filepath.Dir(cfg), "data.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestRunWithoutTransformsSaysSo(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	txt, err := os.ReadFile(filepath.Join(runDir, "10_pre_run/transform_assumptions.txt"))
	if err != nil || !strings.HasPrefix(string(txt), "No media transforms") {
		t.Errorf("transform_assumptions.txt = %q, %v; want it to say there are none", txt, err)
	}
}

func TestAllocationOnTransformedTerms(t *testing.T) {
	ctx := context.Background()
	load := func(cfg string) (*ingest.Config, *ingest.Spec, *ingest.Table) {
		t.Helper()
		c, spec, err := ingest.Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := ingest.LoadCSV(c.Data.Path)
		if err != nil {
			t.Fatal(err)
		}
		return c, spec, tab
	}
	// The model's responses: Hill where saturated, identity for adstock alone.
	c, spec, tab := load(withTransforms(t))
	got := ModelResponses(spec)
	want := map[string]optimise.Response{
		"m_tv":     {Type: optimise.ResponseHill, EC50: 100, Slope: 1},
		"m_social": {Type: optimise.ResponseHill, EC50: 25, Slope: 1.5},
	}
	if len(got) != len(want) || got["m_tv"] != want["m_tv"] || got["m_social"] != want["m_social"] {
		t.Errorf("ModelResponses = %v; want %v", got, want)
	}
	if err := CheckAllocation(ctx, c, spec, tab); err != nil {
		t.Errorf("CheckAllocation: %v", err)
	}
	adstockOnly := &ingest.Spec{Transforms: []ingest.Transform{{Column: "m_tv", Adstock: true, Decay: 0.3, MaxLag: 8}}}
	if r := ModelResponses(adstockOnly)["m_tv"]; r.Type != optimise.ResponseIdentity {
		t.Errorf("adstock alone: %v; want identity", r)
	}

	// A hand-written response on a transformed term is an error that says why.
	c, spec, tab = load(withTransforms(t,
		"{ term: m_tv, name: tv, spend_col: m_tv, bounds: { min: 30, max: 90 } }",
		"{ term: m_tv, name: tv, spend_col: m_tv, bounds: { min: 30, max: 90 }, response: { type: hill, ec50: 50 } }"))
	err := CheckAllocation(ctx, c, spec, tab)
	var se *optimise.ScenarioError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "config.yaml:31:78: `allocation.channels[0].response` is set, but the model transforms m_tv itself, so the channel's response is the model's steady-state curve, hill(ec50=100, slope=1)") {
		t.Errorf("hand-written response: %v", err)
	}

	// A Hill-saturated term priced in another column's units is refused.
	c, spec, tab = load(withTransforms(t,
		"{ term: m_social, name: social, spend_col: m_social,",
		"{ term: m_social, name: social, spend_col: m_search,"))
	err = CheckAllocation(ctx, c, spec, tab)
	if err == nil || !strings.Contains(err.Error(), "`allocation.channels[2].spend_col` is \"m_search\", but the model saturates m_social with a half-saturation in the units of column m_social") {
		t.Errorf("spend_col of another column: %v", err)
	}
}
