package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/runfolder"
)

// fixtureTransforms are the transforms model_spec.json records: TV's adstock and Hill
// estimated under the default priors (half saturation centred on 60), search's adstock
// fixed, social's Hill fixed.
func fixtureTransforms() []runfolder.SpecTransform {
	num := func(v float64) *runfolder.Num { n := runfolder.Num(v); return &n }
	lag := 6
	return []runfolder.SpecTransform{
		{Column: "m_tv", Adstock: ingest.AdstockGeometric, MaxLag: &lag, Saturation: ingest.SaturationHill,
			DecayPrior:          &runfolder.SpecPrior{Family: ingest.PriorBeta, A: 2, B: 2, Default: true},
			HalfSaturationPrior: &runfolder.SpecPrior{Family: ingest.PriorLognormal, A: runfolder.Num(math.Log(60)), B: 1, Default: true},
			ShapePrior:          &runfolder.SpecPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5, Default: true}},
		{Column: "m_search", Adstock: ingest.AdstockGeometric, Decay: num(0.3), Saturation: ingest.TransformNone},
		{Column: "m_social", Adstock: ingest.TransformNone, Saturation: ingest.SaturationHill, HalfSaturation: num(20), Shape: num(1)},
	}
}

// setTransforms records ts in the run folder's model_spec.json.
func setTransforms(t *testing.T, dir string, ts []runfolder.SpecTransform) {
	t.Helper()
	f := runfolder.Folder{Dir: dir}
	spec, err := runfolder.ReadModelSpec(f)
	if err != nil {
		t.Fatal(err)
	}
	spec.Transforms = ts
	if err := spec.Save(f); err != nil {
		t.Fatal(err)
	}
}

// withTransforms turns the blm fixture into a run with media transforms: those above in
// model_spec.json and draws of TV's three parameters (seeded) appended to
// posterior_draws.csv, named as the runner names them.
func withTransforms(t *testing.T) string {
	t.Helper()
	dir := copyFixture(t, "blm")
	setTransforms(t, dir, fixtureTransforms())
	p := filepath.Join(dir, runfolder.StagePostRun, "posterior_draws.csv")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines[0] += ",adstock_decay[m_tv],half_saturation[m_tv],hill_shape[m_tv]"
	for i := 1; i < len(lines); i++ {
		lines[i] += fmt.Sprintf(",%g,%g,%g", 0.6+0.04*rng.NormFloat64(), 60*math.Exp(0.15*rng.NormFloat64()), 1.5+0.1*rng.NormFloat64())
	}
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTransformPlots(t *testing.T) {
	dir := withTransforms(t)
	m := build(t, dir, Options{})
	html := readIndex(t, dir)
	for _, name := range transformPlots {
		p := plotOf(t, m, name)
		if p.Status != PlotWritten {
			t.Errorf("%s: %s (%s); want written", name, p.Status, p.Reason)
			continue
		}
		checkPNG(t, filepath.Join(dir, filepath.FromSlash(p.Path)), 900)
		if !strings.Contains(html, `<img src="`+p.Path+`"`) {
			t.Errorf("index.html has no <img> for %s", p.Path)
		}
	}
	if m.Err() != nil {
		t.Errorf("Err() = %v", m.Err())
	}

	in := newInputs(runfolder.Folder{Dir: dir})
	ts, err := in.transforms()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ct := range ts {
		var ps []string
		for _, p := range ct.params() {
			ps = append(ps, fmt.Sprintf("%s:%v:%d", p.name, p.estimated, len(p.values)))
		}
		got = append(got, fmt.Sprintf("%s adstock=%v lag=%d hill=%v %s", ct.column, ct.adstock, ct.maxLag, ct.hill, strings.Join(ps, " ")))
	}
	want := []string{
		"m_tv adstock=true lag=6 hill=true adstock_decay[m_tv]:true:400 half_saturation[m_tv]:true:400 hill_shape[m_tv]:true:400",
		"m_search adstock=true lag=8 hill=false adstock_decay[m_search]:false:1",
		"m_social adstock=false lag=0 hill=true half_saturation[m_social]:false:1 hill_shape[m_social]:false:1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("transforms read from the run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The prior drawn is the one model_spec.json records: lognormal(log 60, 1), centred on 60.
	if pr := priorOf(ts[0].half); pr.pdf == nil || math.Abs(pr.centre-60) > 1e-9 || pr.label != "prior lognormal(4.09, 1)" {
		t.Errorf("half_saturation[m_tv] prior %q, centre %v; want the recorded lognormal(log 60, 1)", pr.label, pr.centre)
	}
}

// TestTransformPlotsSkip: a run whose model_spec.json estimates a parameter that posterior_draws.csv
// lacks (a run stopped early) skips what needs it and says which parameter is missing.
func TestTransformPlotsSkip(t *testing.T) {
	dir := withTransforms(t)
	spec := fixtureTransforms()
	spec[1].Decay, spec[1].DecayPrior = nil, &runfolder.SpecPrior{Family: ingest.PriorBeta, A: 2, B: 2, Default: true}
	spec[2].HalfSaturation, spec[2].HalfSaturationPrior = nil, &runfolder.SpecPrior{Family: ingest.PriorLognormal, A: 3, B: 1, Default: true}
	setTransforms(t, dir, spec)
	m := build(t, dir, fast)
	for _, name := range transformPlots {
		if p := plotOf(t, m, name); p.Status != PlotWritten {
			t.Errorf("%s: %s (%s); want written (TV still has every parameter)", name, p.Status, p.Reason)
		}
	}
	in := newInputs(runfolder.Folder{Dir: dir})
	ts, err := in.transforms()
	if err != nil {
		t.Fatal(err)
	}
	if _, left := usable(ts, false); len(left) != 1 || !strings.Contains(left[0], "adstock_decay[m_search]") {
		t.Errorf("adstock left out = %v; want m_search for its missing decay draws", left)
	}
	if _, left := usable(ts, true); len(left) != 1 || !strings.Contains(left[0], "half_saturation[m_social]") {
		t.Errorf("saturation left out = %v; want m_social for its missing half_saturation draws", left)
	}
}

func TestLagWeights(t *testing.T) {
	// decay 0.5, L = 2: 1, 0.5, 0.25 over 1.75.
	lo, mean, hi := lagWeights(transformParam{values: []float64{0.5}}, 2)
	for l, w := range []float64{1 / 1.75, 0.5 / 1.75, 0.25 / 1.75} {
		if math.Abs(mean[l]-w) > 1e-12 || lo[l] != mean[l] || hi[l] != mean[l] {
			t.Errorf("w_%d = %v [%v, %v]; want %v for a fixed decay", l, mean[l], lo[l], hi[l], w)
		}
	}
	// Draws of decay spread the band; the mean weights still sum to 1.
	_, mean, _ = lagWeights(transformParam{values: []float64{0.2, 0.4, 0.6, 0.8}, estimated: true}, 5)
	var s float64
	for _, w := range mean {
		s += w
	}
	if math.Abs(s-1) > 1e-12 {
		t.Errorf("mean lag weights sum to %v; want 1", s)
	}
}

func TestSaturationCurve(t *testing.T) {
	ct := columnTransform{hill: true, half: transformParam{values: []float64{10}}, shape: transformParam{values: []float64{2}}}
	// h(10) = 1/2, h(20) = 400/500; times the coefficient's draws 2 and 4 (mean 3).
	_, mean, _ := saturationCurve(ct, []float64{2, 4}, []float64{0, 10, 20})
	for i, want := range []float64{0, 1.5, 2.4} {
		if math.Abs(mean[i]-want) > 1e-12 {
			t.Errorf("mean curve at %d = %v; want %v", i, mean[i], want)
		}
	}
	_, mean, _ = saturationCurve(ct, nil, []float64{10})
	if mean[0] != 0.5 {
		t.Errorf("h(10) = %v; want 0.5", mean[0])
	}
}

// TestPriorPDF checks each family's density integrates to 1 over its support, and
// beta(2, 2) at 1/2 is 6/4 (its normalising constant is Γ(4)/(Γ(2)Γ(2)) = 6).
func TestPriorPDF(t *testing.T) {
	for _, c := range []struct {
		p   ingest.TransformPrior
		top float64
	}{
		{ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}, 1},
		{ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}, 30},
		{ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(60), B: 1}, 60 * math.Exp(8)},
		{ingest.TransformPrior{Family: ingest.PriorGamma, A: 3, B: 0.1}, 400},
	} {
		pdf := priorPDF(c.p)
		const n = 400000
		var s float64
		for i := range n {
			x := c.top * (float64(i) + 0.5) / n
			s += pdf(x) * c.top / n
		}
		if math.Abs(s-1) > 2e-3 {
			t.Errorf("%s(%g, %g) integrates to %v; want 1 (tol 2e-3)", c.p.Family, c.p.A, c.p.B, s)
		}
	}
	if d := priorPDF(ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2})(0.5); math.Abs(d-1.5) > 1e-12 {
		t.Errorf("beta(2, 2) density at 0.5 = %v; want 1.5", d)
	}
}

// TestTransformPriorFromModelSpec: the prior model_spec.json records, an override included,
// is the one drawn, with its family and parameters in the title.
func TestTransformPriorFromModelSpec(t *testing.T) {
	dir := withTransforms(t)
	ts := fixtureTransforms()
	ts[0].ShapePrior = &runfolder.SpecPrior{Family: ingest.PriorGamma, A: 16, B: 8}
	setTransforms(t, dir, ts)
	got, err := newInputs(runfolder.Folder{Dir: dir}).transforms()
	if err != nil {
		t.Fatal(err)
	}
	pr := priorOf(got[0].shape)
	if pr.pdf == nil || pr.label != "prior (priors.overrides) gamma(16, 8)" || math.Abs(pr.centre-2) > 1e-12 {
		t.Fatalf("prior %q (centre %v, drawn %v); want the recorded gamma(16, 8) override, centre 2", pr.label, pr.centre, pr.pdf != nil)
	}
	// gamma(16, 8) at its mode 15/8: 8^16/Γ(16) x^15 e^{−8x}.
	x := 15.0 / 8
	lg, _ := math.Lgamma(16)
	want := math.Exp(16*math.Log(8) + 15*math.Log(x) - 8*x - lg)
	if got := pr.pdf(x); math.Abs(got-want) > 1e-12*want {
		t.Errorf("density at the mode %v; want %v", got, want)
	}
}
