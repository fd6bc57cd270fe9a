package codegen

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// withTransforms turns spec's columns ts[i].Column into transformed ones, as ingest does
// for estimated transforms: Raw is the column as it was, each estimated parameter's value
// field its prior's centre, X the column transformed at those values, and (when spec is
// scaled) its predictor scale the sample sd of that column. series is Spec.Series.
func withTransforms(s *ingest.Spec, series [][]int, ts ...ingest.Transform) *ingest.Spec {
	adstock := false
	for _, t := range ts {
		k := slices.IndexFunc(s.Terms, func(term ingest.Term) bool { return term.Name == t.Column })
		t.Raw = slices.Clone(s.X[k])
		if t.DecayPrior != nil {
			t.Decay = t.DecayPrior.Centre()
		}
		if t.HalfSaturationPrior != nil {
			t.HalfSaturation = t.HalfSaturationPrior.Centre()
		}
		if t.ShapePrior != nil {
			t.Shape = t.ShapePrior.Centre()
		}
		s.X[k] = t.Apply(t.Raw, series)
		if s.Scale {
			s.Scaling.XScale[k] = sampleSD(s.X[k])
		}
		s.Transforms = append(s.Transforms, t)
		adstock = adstock || t.Adstock
	}
	if adstock {
		s.Series = series
	}
	return s
}

// oneSeries is the series of n rows in date order.
func oneSeries(n int) [][]int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return [][]int{rows}
}

// blmTransformSpec is the weekly model with three kinds of estimated transform: m_tv with
// adstock and Hill all estimated; m_search with a fixed adstock and an estimated half
// saturation (gamma prior) at a fixed shape; price untransformed.
func blmTransformSpec(decay, half, shape ingest.TransformPrior) *ingest.Spec {
	s := weekSpec(specOptions{intercept: true, terms: []string{"m_tv", "m_search", "price"}, scale: true})
	return withTransforms(s, oneSeries(s.N),
		ingest.Transform{Column: "m_tv", Adstock: true, MaxLag: 3, Hill: true,
			DecayPrior: &decay, HalfSaturationPrior: &half, ShapePrior: &shape},
		ingest.Transform{Column: "m_search", Adstock: true, Decay: 0.3, MaxLag: 2, Hill: true, Shape: 1.5,
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorGamma, A: 4, B: 0.1}})
}

// defaultBLMTransformSpec is blmTransformSpec with the default priors.
func defaultBLMTransformSpec() *ingest.Spec {
	return blmTransformSpec(
		ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2, Default: true},
		ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(180), B: 1, Default: true},
		ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5, Default: true})
}

// TestLagMatrix checks the lag matrices against a hand-worked case: two interleaved
// series, one of them not in row order, a max_lag above the longest series (truncated to
// it), one below it, and a fixed adstock applied in Go.
func TestLagMatrix(t *testing.T) {
	raw := []float64{1, 2, 3, 4, 5, 6}
	series := [][]int{{0, 2, 4}, {5, 3, 1}} // series B's dates run from row 6 to row 2
	s := &ingest.Spec{N: 6, Series: series,
		Terms:   []ingest.Term{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		Scaling: identityScaling(3)}
	beta := &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}
	s.Transforms = []ingest.Transform{
		{Column: "a", Adstock: true, MaxLag: 5, Decay: 0.5, DecayPrior: beta, Raw: raw},
		{Column: "b", Adstock: true, MaxLag: 1, Decay: 0.5, DecayPrior: beta, Raw: raw},
		{Column: "c", Adstock: true, MaxLag: 1, Decay: 0.5, Hill: true, HalfSaturation: 3, Shape: 1,
			ShapePrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}, Raw: raw},
	}
	et, err := newEstTransforms(s)
	if err != nil {
		t.Fatal(err)
	}
	if et.nLag != 3 {
		t.Fatalf("n_lag = %d; want 3 (max_lag 5 truncated to the longest series, 3 rows)", et.nLag)
	}
	const sc = 3.5 // median of 1..6
	for i, c := range et.cols {
		if c.scale != sc {
			t.Errorf("column %d: raw scale %g; want %g", i, c.scale, sc)
		}
	}
	// Column c: fixed decay 0.5, max_lag 1: weights 2/3, 1/3.
	want := [][]float64{
		// a: lags 0, 1, 2
		{1, 0, 0}, {2, 4, 6}, {3, 1, 0}, {4, 6, 0}, {5, 3, 1}, {6, 0, 0},
		// b: max_lag 1
		{1, 0, 0}, {2, 4, 0}, {3, 1, 0}, {4, 6, 0}, {5, 3, 0}, {6, 0, 0},
		// c: adstock applied, one column
		{2.0 / 3, 0, 0}, {2*2.0/3 + 4.0/3, 0, 0}, {3*2.0/3 + 1.0/3, 0, 0}, {4*2.0/3 + 6.0/3, 0, 0}, {5*2.0/3 + 3.0/3, 0, 0}, {6 * 2.0 / 3, 0, 0},
	}
	for r := range want {
		for l := range want[r] {
			if got := et.lags[r][l] * sc; math.Abs(got-want[r][l]) > 1e-12 {
				t.Errorf("x_lag[%d][%d] = %g (× scale); want %g", r+1, l+1, got, want[r][l])
			}
		}
	}
	if got := []int{et.cols[0].maxLag, et.cols[1].maxLag, et.cols[2].maxLag}; !slices.Equal(got, []int{5, 1, 0}) {
		t.Errorf("t_max_lag = %v; want [5 1 0] (a fixed adstock is applied in Go)", got)
	}
	// The program's weights on the lag matrix give ingest's adstock.
	for ci, c := range et.cols[:2] {
		w := ingest.AdstockWeights(0.5, c.maxLag)
		tr := c.tr.With(0.5, 0, 0)
		direct := tr.Apply(raw, series)
		for i := range raw {
			a := 0.0
			for l := 0; l < et.nLag && l < len(w); l++ {
				a += w[l] * et.lags[ci*6+i][l] * sc
			}
			if math.Abs(a-direct[i]) > 1e-12 {
				t.Errorf("column %d, row %d: weights × lags = %g; Transform.Apply = %g", ci, i+1, a, direct[i])
			}
		}
	}
}

// TestTransformParams checks the back-maps of the transform parameters and the priors
// mapped to the sampler's scale.
func TestTransformParams(t *testing.T) {
	s := defaultBLMTransformSpec()
	p := render(t, s)
	k := len(s.Terms)
	if len(p.Params) != k+1+4 {
		t.Fatalf("%d params; want %d terms, noise_sd and 4 transform parameters", len(p.Params), k)
	}
	scTV, scSearch := rawScale(s.Transforms[0].Raw), rawScale(s.Transforms[1].Raw)
	want := []Param{
		{Column: "adstock_decay.1", Name: "adstock_decay[m_tv]", Scale: 1},
		{Column: "half_saturation.1", Name: "half_saturation[m_tv]", Scale: scTV},
		{Column: "half_saturation.2", Name: "half_saturation[m_search]", Scale: scSearch},
		{Column: "hill_shape.1", Name: "hill_shape[m_tv]", Scale: 1},
	}
	got := p.Params[k+1:]
	if len(got) != len(want) {
		t.Fatalf("transform params %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("param %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	if p.Params[k].Column != "noise_sd" {
		t.Errorf("param %d is %s; want noise_sd before the transform parameters", k, p.Params[k].Column)
	}
	// Round trip: a half saturation of 150 (original units) is 150/s on the sampler's
	// scale, and its prior's density there is the original one's, times s.
	if h := got[1].Unscale(150 / scTV); relErr(h, 150) > 1e-12 {
		t.Errorf("half_saturation round trip = %g; want 150", h)
	}
	half := dataVar(t, p, "half_prior_a").([]float64)
	halfB := dataVar(t, p, "half_prior_b").([]float64)
	fam := dataVar(t, p, "half_prior_family").([]int)
	if !slices.Equal(fam, []int{transformFlagLognormal, transformFlagGamma}) {
		t.Errorf("half_prior_family = %v; want [1 2]", fam)
	}
	lognormal := func(x, mu, sigma float64) float64 {
		z := (math.Log(x) - mu) / sigma
		return -0.5*z*z - math.Log(x*sigma*math.Sqrt(2*math.Pi))
	}
	gamma := func(x, a, b float64) float64 {
		lg, _ := math.Lgamma(a)
		return a*math.Log(b) - lg + (a-1)*math.Log(x) - b*x
	}
	for _, x := range []float64{20, 150, 900} {
		orig := lognormal(x, math.Log(180), 1) + math.Log(scTV)
		if got := lognormal(x/scTV, half[0], halfB[0]); math.Abs(got-orig) > 1e-10 {
			t.Errorf("lognormal prior at %g: %g on the sampler's scale; want %g", x, got, orig)
		}
		orig = gamma(x, 4, 0.1) + math.Log(scSearch)
		if got := gamma(x/scSearch, half[1], halfB[1]); math.Abs(got-orig) > 1e-10 {
			t.Errorf("gamma prior at %g: %g on the sampler's scale; want %g", x, got, orig)
		}
	}
	// Fixed values: m_search's shape 1.5, its adstock applied in Go (max lag 0).
	if got := dataVar(t, p, "shape_fixed").([]float64); got[1] != 1.5 {
		t.Errorf("shape_fixed = %v; want m_search's 1.5", got)
	}
	if got := dataVar(t, p, "t_max_lag").([]int); !slices.Equal(got, []int{3, 0}) {
		t.Errorf("t_max_lag = %v; want [3 0]", got)
	}
	if got := dataVar(t, p, "t_col").([]int); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("t_col = %v; want [2 3]", got)
	}
}

// TestTransformProgramIndependentOfValues renders two specs that differ only in their
// transforms' values, priors and max_lag: the programs must be the same bytes, and
// contain no column name.
func TestTransformProgramIndependentOfValues(t *testing.T) {
	a := render(t, defaultBLMTransformSpec())
	b := render(t, blmTransformSpec(
		ingest.TransformPrior{Family: ingest.PriorLognormal, A: -1, B: 0.3},
		ingest.TransformPrior{Family: ingest.PriorGamma, A: 3, B: 0.01},
		ingest.TransformPrior{Family: ingest.PriorGamma, A: 2, B: 2}))
	if !bytes.Equal(a.Code, b.Code) {
		t.Errorf("programs differ between transform values:\n%s", lineDiff(string(a.Code), string(b.Code)))
	}
	plain := render(t, goldenSpec(t, "scaled-default-priors"))
	if bytes.Equal(a.Code, plain.Code) {
		t.Errorf("the program with estimated transforms is the plain one")
	}
	for _, name := range []string{"m_tv", "m_search", "price", "kpi"} {
		if bytes.Contains(a.Code, []byte(name)) {
			t.Errorf("program contains %q from the spec", name)
		}
	}
}

// TestTransformErrors checks that Render refuses transforms it cannot represent.
func TestTransformErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		modify func(s *ingest.Spec)
		want   string
	}{
		{"beta half saturation", func(s *ingest.Spec) {
			s.Transforms[0].HalfSaturationPrior = &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}
		}, "half_saturation[m_tv] prior is beta"},
		{"unknown family", func(s *ingest.Spec) {
			s.Transforms[0].ShapePrior = &ingest.TransformPrior{Family: "cauchy", A: 0, B: 1}
		}, `hill_shape[m_tv] prior family "cauchy" is unknown`},
		{"no term", func(s *ingest.Spec) { s.Transforms[0].Column = "m_radio" }, `column "m_radio" belongs to no term`},
		{"no series", func(s *ingest.Spec) { s.Series = nil }, "the adstock series list 0 of the 12 rows"},
		{"negative spend", func(s *ingest.Spec) {
			s.Transforms[0].Raw = slices.Clone(s.Transforms[0].Raw)
			s.Transforms[0].Raw[3] = -1
		}, `row 4 (line 5): column "m_tv" is -1`},
		{"decay prior without adstock", func(s *ingest.Spec) {
			s.Transforms[1].Adstock = false
			s.Transforms[1].DecayPrior = s.Transforms[0].DecayPrior
		},
			"adstock_decay[m_search] has a prior but column \"m_search\" has no adstock"},
	} {
		s := defaultBLMTransformSpec()
		c.modify(s)
		_, err := Render(t.Context(), nil, s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want one containing %q", c.name, err, c.want)
		}
	}
}

// panelTransformSpec is panelTestSpec with estimated transforms: m_tv (group-varying)
// with adstock and Hill all estimated, m_search (group-varying) with an estimated half
// saturation under a gamma prior at a fixed shape, and trend (population only) with an
// estimated adstock; each market is one series.
func panelTransformSpec(o panelOptions) *ingest.Spec {
	s := panelTestSpec(o)
	series := rowsByLevel(&s.Groups[0])
	if o.brands { // a series is a market and brand
		series = rowsByLevel(&s.Groups[1])
	}
	return withTransforms(s, series,
		ingest.Transform{Column: "trend", Adstock: true, MaxLag: 2,
			DecayPrior: &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}},
		ingest.Transform{Column: "m_tv", Adstock: true, MaxLag: 4, Hill: true,
			DecayPrior:          &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2},
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(60), B: 1},
			ShapePrior:          &ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}},
		ingest.Transform{Column: "m_search", Hill: true, Shape: 2,
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorGamma, A: 4, B: 0.2}})
}

// TestPanelTransformsProgram checks the program a panel with estimated transforms gets:
// the integrated one, whatever its size under auto, the same text for other transform
// values, and clear errors where it cannot serve.
func TestPanelTransformsProgram(t *testing.T) {
	big := panelTransformSpec(panelOptions{groups: 50, weeks: 12})
	if useIntegrated(big) {
		t.Fatal("50 groups × 3 terms should exceed maxIntegratedEffects")
	}
	p := render(t, big)
	if p.Template != IntegratedTemplate {
		t.Errorf("50 groups with estimated transforms: template %s; want %s", p.Template, IntegratedTemplate)
	}
	for _, ch := range p.RandomEffects {
		if ch.Parameterization != Integrated || !strings.Contains(ch.Reason, "estimated media transforms") {
			t.Errorf("%s: parameterization %s (%s); want integrated, for the transforms", ch.Term, ch.Parameterization, ch.Reason)
		}
	}
	a := render(t, panelTransformSpec(panelOptions{groups: 8, weeks: 26}))
	other := panelTransformSpec(panelOptions{groups: 8, weeks: 26})
	other.Transforms[1].DecayPrior = &ingest.TransformPrior{Family: ingest.PriorGamma, A: 1, B: 3}
	other.Transforms[1].MaxLag = 7
	other.Transforms[2].Shape = 0.7
	b := render(t, other)
	if !bytes.Equal(a.Code, b.Code) {
		t.Errorf("programs differ between transform values:\n%s", lineDiff(string(a.Code), string(b.Code)))
	}
	for _, c := range []struct {
		name string
		spec *ingest.Spec
		want string
	}{
		{"two factors", panelTransformSpec(panelOptions{groups: 8, weeks: 26, brands: true}), "need a panel with one grouping factor"},
		{"centered", panelTransformSpec(panelOptions{groups: 8, weeks: 26, param: Centered}), `parameterization is "centered"`},
	} {
		_, err := Render(t.Context(), nil, c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want one containing %q", c.name, err, c.want)
		}
	}
}
