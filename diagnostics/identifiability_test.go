package diagnostics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

func closeTo(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// alternating returns n draws ±s around m: sample variance s²·n/(n−1) for even n.
func alternating(n int, m, s float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = m + s
		if i%2 == 1 {
			x[i] = m - s
		}
	}
	return x
}

func TestContraction(t *testing.T) {
	// ±1 around 0.3, 1000 draws: sample variance 1000/999; a normal(0, 2) prior has
	// variance 4.
	d := alternating(1000, 0.3, 1)
	if got, want := Contraction(d, 4), 1-1000.0/999/4; !closeTo(got, want, 1e-12) {
		t.Errorf("Contraction(±1, 4) = %v; want %v (tol 1e-12)", got, want)
	}
	if got := Contraction(d, math.Inf(1)); got != 1 {
		t.Errorf("Contraction with a flat prior = %v; want 1", got)
	}
	for _, c := range []struct {
		draws []float64
		prior float64
	}{{d, 0}, {d, math.NaN()}, {d[:1], 4}, {[]float64{1, math.NaN(), 2}, 4}} {
		if got := Contraction(c.draws, c.prior); !math.IsNaN(got) {
			t.Errorf("Contraction(%v…, %v) = %v; want NaN", c.draws[0], c.prior, got)
		}
	}
}

func TestCorrelation(t *testing.T) {
	x := []float64{1, -1, 1, -1}
	y := []float64{1, 1, -1, -1}
	// x and y are orthogonal with mean 0: correlation 0; x with x+y: (x·x)/(|x||x+y|) =
	// 4/(2·√8) = 1/√2.
	sum := []float64{2, 0, 0, -2}
	for _, c := range []struct {
		a, b []float64
		want float64
	}{{x, y, 0}, {x, sum, 1 / math.Sqrt2}, {x, []float64{-3, 5, -3, 5}, -1}, {y, []float64{7, 7, 3, 3}, 1}} {
		if got := Correlation(c.a, c.b); !closeTo(got, c.want, 1e-12) {
			t.Errorf("Correlation(%v, %v) = %v; want %v (tol 1e-12)", c.a, c.b, got, c.want)
		}
	}
	if got := Correlation(x, []float64{2, 2, 2, 2}); !math.IsNaN(got) {
		t.Errorf("Correlation with a constant = %v; want NaN", got)
	}
}

// TestTruncNormalVariance checks the closed form against the half-normal's sd²(1 − 2/π)
// and against the variance integrated numerically (Simpson's rule, 20 000 panels).
func TestTruncNormalVariance(t *testing.T) {
	if got, want := TruncNormalVariance(0, 2, 0, math.Inf(1)), 4*(1-2/math.Pi); !closeTo(got, want, 1e-12) {
		t.Errorf("TruncNormalVariance(half-normal sd 2) = %v; want %v (tol 1e-12)", got, want)
	}
	if got := TruncNormalVariance(1, 3, math.Inf(-1), math.Inf(1)); !closeTo(got, 9, 1e-12) {
		t.Errorf("TruncNormalVariance(untruncated sd 3) = %v; want 9", got)
	}
	simpson := func(mean, sd, lo, hi float64) float64 {
		const n = 20000
		h := (hi - lo) / n
		var m0, m1, m2 float64
		for i := 0; i <= n; i++ {
			x := lo + float64(i)*h
			w := 2.0
			switch {
			case i == 0 || i == n:
				w = 1
			case i%2 == 1:
				w = 4
			}
			f := w * math.Exp(-0.5*(x-mean)*(x-mean)/(sd*sd))
			m0 += f
			m1 += f * x
			m2 += f * x * x
		}
		mu := m1 / m0
		return m2/m0 - mu*mu
	}
	for _, c := range [][4]float64{{0.5, 1, 0, 2}, {-1, 0.3, 0, 1}, {3, 2, -1, 0.5}, {0, 1, 2, 4}} {
		got, want := TruncNormalVariance(c[0], c[1], c[2], c[3]), simpson(c[0], c[1], c[2], c[3])
		if !closeTo(got, want, 1e-8) {
			t.Errorf("TruncNormalVariance%v = %v; want %v (tol 1e-8)", c, got, want)
		}
	}
	if got := TruncNormalVariance(0, 1, 1, 1); !math.IsNaN(got) {
		t.Errorf("TruncNormalVariance on an empty interval = %v; want NaN", got)
	}
}

func TestTransformPriorVariance(t *testing.T) {
	for _, c := range []struct {
		p    ingest.TransformPrior
		want float64
	}{
		// beta(2, 2): ab/((a+b)²(a+b+1)) = 4/(16·5)
		{ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}, 0.05},
		// lognormal(0, 0.5): (e^0.25 − 1)e^0.25
		{ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}, (math.Exp(0.25) - 1) * math.Exp(0.25)},
		// lognormal(log 100, 1): 100²(e − 1)e
		{ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(100), B: 1}, 1e4 * (math.E - 1) * math.E},
		// gamma(shape 2, rate 4): 2/16
		{ingest.TransformPrior{Family: ingest.PriorGamma, A: 2, B: 4}, 0.125},
	} {
		if got := TransformPriorVariance(c.p); !closeTo(got, c.want, 1e-12) {
			t.Errorf("TransformPriorVariance(%+v) = %v; want %v (tol 1e-12)", c.p, got, c.want)
		}
	}
}

// identSpec is a model with an intercept, a trend control and three media terms, priors
// normal(0, 1) (m_search bounded below at 0) and an estimated decay on the media column social.
func identSpec() *ingest.Spec {
	spec := &ingest.Spec{
		Terms:  []ingest.Term{{Name: ingest.InterceptName, Intercept: true}, {Name: "trend"}, {Name: "m_tv"}, {Name: "m_search"}, {Name: "social"}},
		Priors: []ingest.Prior{{Mean: 0, SD: 10}, {Mean: 0, SD: 1}, {Mean: 0, SD: 1}, {Mean: 0, SD: 1}, {Mean: 0, SD: 1}},
		Bounds: []ingest.Bound{ingest.Unbounded, ingest.Unbounded, ingest.Unbounded, {Lower: 0, Upper: math.Inf(1)}, ingest.Unbounded},
		Transforms: []ingest.Transform{{Column: "social", Adstock: true, Decay: 0.5, MaxLag: 4,
			DecayPrior: &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}}},
	}
	return spec
}

// identParamsFor draws: m_tv and m_search share most of their variation with opposite
// signs (correlation −0.98); social is pinned down; its decay and the trend are wide.
func identParamsFor(n int) []Param {
	rng := rand.New(rand.NewPCG(1, 1))
	tv, search, social, decay, trend, icpt := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for s := range n {
		u, v := rng.NormFloat64(), rng.NormFloat64()
		tv[s] = 0.5 + 0.2*u + 0.04*v
		search[s] = 0.5 - 0.2*u + 0.04*rng.NormFloat64()
		social[s] = 0.3 + 0.05*rng.NormFloat64()
		decay[s] = 0.5 + 0.22*rng.NormFloat64() // prior sd √0.05 = 0.224
		trend[s] = rng.NormFloat64()
		icpt[s] = rng.NormFloat64()
	}
	half := func(x []float64) [][]float64 { return [][]float64{x[:n/2], x[n/2:]} }
	return []Param{{Name: ingest.InterceptName, Draws: half(icpt)}, {Name: "trend", Draws: half(trend)}, {Name: "m_tv", Draws: half(tv)},
		{Name: "m_search", Draws: half(search)}, {Name: "social", Draws: half(social)}, {Name: "adstock_decay[social]", Draws: half(decay)},
		{Name: "noise_sd", Draws: half(icpt)}}
}

// defaultLimits are the limits of a config without diagnostics.identifiability.
var defaultLimits = ingest.DiagnosticsConfig{}.IdentifiabilityLimits()

func TestIsMediaTerm(t *testing.T) {
	spec := identSpec()
	var got []string
	for k := range spec.Terms {
		if IsMediaTerm(spec, k) {
			got = append(got, spec.Terms[k].Name)
		}
	}
	if strings.Join(got, ",") != "m_tv,m_search,social" {
		t.Errorf("media terms = %v; want m_tv, m_search (m_*) and social (transformed)", got)
	}
}

func TestIdentifiability(t *testing.T) {
	spec := identSpec()
	params := identParamsFor(4000)
	rows := Identifiability(spec, params, defaultLimits, ModePublish)
	if len(rows) != 2 || rows[0].ID != "identifiability_contraction_min" || rows[1].ID != "identifiability_correlation_max" {
		t.Fatalf("rows = %+v", rows)
	}
	c, r := rows[0], rows[1]
	// The decay's posterior is about its prior: contraction ≈ 1 − 0.22²/0.05 ≈ 0.03.
	if c.Status != StatusWarn || !closeTo(c.Value, 1-0.22*0.22/0.05, 0.05) ||
		!strings.Contains(c.Message, "at adstock_decay[social]") || !strings.Contains(c.Message, "priors.overrides") {
		t.Errorf("contraction row = %+v", c)
	}
	// corr(tv, search) = −0.04/(0.04+0.0016) ≈ −0.96.
	want := 0.04 / (0.04 + 0.0016)
	if r.Status != StatusWarn || !closeTo(r.Value, want, 0.01) || !strings.Contains(r.Message, "between m_tv and m_search") ||
		!strings.Contains(r.Message, "combine the columns") || r.Threshold != "warn > 0.9" {
		t.Errorf("correlation row = %+v (want |r| ≈ %.3f)", r, want)
	}
	// trend is a control and the intercept is not media: neither is named.
	for _, row := range rows {
		if strings.Contains(row.Message, "trend") || strings.Contains(row.Message, "Intercept") {
			t.Errorf("%s names a control: %s", row.ID, row.Message)
		}
	}

	strict := Identifiability(spec, params, defaultLimits, ModeStrict)
	if strict[0].Status != StatusFail || strict[1].Status != StatusFail || strict[1].Threshold != "fail > 0.9" {
		t.Errorf("strict statuses = %s, %s; want fail, fail", strict[0].Status, strict[1].Status)
	}
	// Looser limits pass both.
	loose := Identifiability(spec, params, ingest.IdentifiabilityConfig{Enabled: true, MaxAbsCorrelation: 0.99, MinContraction: 0.01}, ModeExplore)
	if loose[0].Status != StatusPass || loose[1].Status != StatusPass || loose[1].Threshold != "warn > 0.99" {
		t.Errorf("loose rows = %+v", loose)
	}
	off := Identifiability(spec, params, ingest.IdentifiabilityConfig{MaxAbsCorrelation: 0.9, MinContraction: 0.1}, "")
	if off[0].Status != StatusSkipped || off[1].Status != StatusSkipped || !strings.Contains(off[0].Message, "enabled is false") {
		t.Errorf("switched-off rows = %+v", off)
	}

	// The half-normal prior of m_search (bounded at 0) has variance 1 − 2/π: a posterior
	// equal to it contracts by 0, where ignoring the bound would have claimed 1 − 0.36.
	hn := make([]float64, 20000)
	rng := rand.New(rand.NewPCG(2, 2))
	for s := range hn {
		hn[s] = math.Abs(rng.NormFloat64())
	}
	got := identParams(spec, []Param{{Name: "m_search", Draws: [][]float64{hn}}})
	if len(got) != 1 || math.Abs(Contraction(got[0].draws, got[0].priorVar)) > 0.03 {
		t.Errorf("contraction of a posterior equal to the half-normal prior = %v; want ≈ 0", Contraction(got[0].draws, got[0].priorVar))
	}
}

func TestIdentifiabilitySkipped(t *testing.T) {
	spec := &ingest.Spec{Terms: []ingest.Term{{Name: "trend"}}, Priors: []ingest.Prior{{SD: 1}}, Bounds: []ingest.Bound{ingest.Unbounded}}
	rows := Identifiability(spec, []Param{{Name: "trend", Draws: [][]float64{{1, 2, 3}}}}, defaultLimits, "")
	for _, r := range rows {
		if r.Status != StatusSkipped || !math.IsNaN(r.Value) {
			t.Errorf("%s without media terms = %+v; want skipped", r.ID, r)
		}
	}
}

// TestIdentifiabilityTransformPair: a coefficient that trades off against its own Hill
// half saturation (spend never reaching saturation) is named with the transform advice.
func TestIdentifiabilityTransformPair(t *testing.T) {
	spec := &ingest.Spec{
		Terms:  []ingest.Term{{Name: "m_tv"}},
		Priors: []ingest.Prior{{Mean: 0, SD: 1}},
		Bounds: []ingest.Bound{{Lower: 0, Upper: math.Inf(1)}},
		Transforms: []ingest.Transform{{Column: "m_tv", Hill: true, HalfSaturation: 100, Shape: 1,
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(100), B: 1}}},
	}
	// beta = 0.5 + 0.1u, half = 100 + 20u: correlation 1.
	u := alternating(1000, 0, 1)
	beta, half := make([]float64, len(u)), make([]float64, len(u))
	for s, v := range u {
		beta[s], half[s] = 0.5+0.1*v, 100+20*v
	}
	rows := Identifiability(spec, []Param{{Name: "m_tv", Draws: [][]float64{beta}}, {Name: "half_saturation[m_tv]", Draws: [][]float64{half}}}, defaultLimits, "")
	r := rows[1]
	if r.Status != StatusWarn || !closeTo(r.Value, 1, 1e-12) || !strings.Contains(r.Message, "between m_tv and half_saturation[m_tv]") ||
		!strings.Contains(r.Message, "fix its value in the transforms section") {
		t.Errorf("correlation row = %+v", r)
	}
}
