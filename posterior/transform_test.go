package posterior

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// transformFixture builds two interleaved series of n/2 rows (row i is week i/2 of series
// i%2) with three terms besides the intercept: m_tv with adstock (max_lag 3) and Hill, all
// three parameters estimated; m_social with Hill, half_saturation estimated and shape fixed
// at 1.5; price untransformed. Spec.X holds the transforms at the prior centres, as ingest
// leaves it, and the draws vary the parameters widely around them.
func transformFixture(t testing.TB, n, chains, per int) (*ingest.Spec, *Draws) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	spec := &ingest.Spec{N: n,
		Terms: []ingest.Term{{Name: ingest.InterceptName, Intercept: true}, {Name: "m_tv"}, {Name: "m_social"}, {Name: "price"}}}
	spec.X = [][]float64{make([]float64, n), nil, nil, make([]float64, n)}
	spec.Y = make([]float64, n)
	spec.Series = [][]int{nil, nil}
	for i := 0; i < n; i++ {
		spec.Series[i%2] = append(spec.Series[i%2], i)
	}
	tv, social := make([]float64, n), make([]float64, n)
	for i := range tv {
		tv[i], social[i] = 100*rng.Float64(), 20*rng.Float64()
		spec.X[0][i], spec.X[3][i] = 1, rng.NormFloat64()
	}
	tv[4] = 0 // a week without spend
	tvT := ingest.Transform{Column: "m_tv", Adstock: true, MaxLag: 3, Hill: true, Raw: tv,
		DecayPrior:          &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2},
		HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(50), B: 1},
		ShapePrior:          &ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}}
	tvT = tvT.With(tvT.DecayPrior.Centre(), tvT.HalfSaturationPrior.Centre(), tvT.ShapePrior.Centre())
	socialT := ingest.Transform{Column: "m_social", Hill: true, Shape: 1.5, Raw: social,
		HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(10), B: 1}}
	socialT = socialT.With(0, socialT.HalfSaturationPrior.Centre(), 1.5)
	spec.Transforms = []ingest.Transform{tvT, socialT}
	spec.X[1], spec.X[2] = tvT.Apply(tv, spec.Series), socialT.Apply(social, spec.Series)

	S := chains * per
	d := &Draws{Terms: []string{ingest.InterceptName, "m_tv", "m_social", "price"}, Chains: chains, PerChain: per,
		Beta: matrix(4, S), NoiseSD: make([]float64, S)}
	td := []TransformDraws{
		{Term: 1, Decay: make([]float64, S), HalfSaturation: make([]float64, S), Shape: make([]float64, S)},
		{Term: 2, HalfSaturation: make([]float64, S)},
	}
	for s := 0; s < S; s++ {
		d.Beta[0][s], d.Beta[1][s], d.Beta[2][s], d.Beta[3][s] = 1+0.1*rng.NormFloat64(), 3+rng.NormFloat64(), 2+0.5*rng.NormFloat64(), -0.5
		d.NoiseSD[s] = 0.3 + 0.1*rng.Float64()
		td[0].Decay[s] = 0.9 * rng.Float64()
		td[0].HalfSaturation[s] = 50 * math.Exp(0.8*rng.NormFloat64())
		td[0].Shape[s] = math.Exp(0.5 * rng.NormFloat64())
		td[1].HalfSaturation[s] = 10 * math.Exp(0.8*rng.NormFloat64())
	}
	d.Transforms = td
	for i := range spec.Y {
		spec.Y[i] = 1 + 3*spec.X[1][i] + 2*spec.X[2][i] - 0.5*spec.X[3][i] + 0.3*rng.NormFloat64()
	}
	return spec, d
}

// drawColumns returns each draw's design, computed independently of the row pass: the
// whole column transformed with that draw's parameters by ingest.Transform.Apply.
func drawColumns(spec *ingest.Spec, d *Draws, s int) [][]float64 {
	x := make([][]float64, len(spec.X))
	copy(x, spec.X)
	for _, td := range d.Transforms {
		var t ingest.Transform
		for _, st := range spec.Transforms {
			if st.Column == spec.Terms[td.Term].Name {
				t = st
			}
		}
		decay, half, shape := t.Decay, t.HalfSaturation, t.Shape
		if td.Decay != nil {
			decay = td.Decay[s]
		}
		if td.HalfSaturation != nil {
			half = td.HalfSaturation[s]
		}
		if td.Shape != nil {
			shape = td.Shape[s]
		}
		x[td.Term] = t.With(decay, half, shape).Apply(t.Raw, spec.Series)
	}
	return x
}

// TestEstimatedTransformsPerDraw checks that a term with an estimated transform contributes
// β_s · x_{i,s}, with x_{i,s} draw s's transformed column, that the contributions sum to the
// fit per draw, and that the log-likelihood uses the same fit.
func TestEstimatedTransformsPerDraw(t *testing.T) {
	spec, d := transformFixture(t, 40, 2, 30)
	S, K := d.S(), len(spec.Terms)
	tr, err := d.transforms(spec)
	if err != nil {
		t.Fatal(err)
	}
	logLik, err := logLikOf(d, spec)
	if err != nil {
		t.Fatal(err)
	}
	theta, c, mu, x := matrix(K, S), matrix(K, S), make([]float64, S), make([]float64, S)
	cols := make([][][]float64, S)
	for s := range cols {
		cols[s] = drawColumns(spec, d, s)
	}
	for i := 0; i < spec.N; i++ {
		d.row(spec, tr, i, theta, c, mu, x)
		ll := logLik(i)
		for s := 0; s < S; s++ {
			want := 0.0
			for k := range c {
				ck := d.Beta[k][s] * cols[s][k][i]
				if math.Abs(c[k][s]-ck) > 1e-13*math.Max(1, math.Abs(ck)) {
					t.Fatalf("row %d draw %d: %s contributes %v; want β·x = %v", i, s, spec.Terms[k].Name, c[k][s], ck)
				}
				want += ck
			}
			if math.Abs(mu[s]-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Fatalf("row %d draw %d: fit %v; contributions sum to %v", i, s, mu[s], want)
			}
			wantLL := normalLogPDF(spec.Y[i], want, d.NoiseSD[s])
			if got := ll[s/d.PerChain][s%d.PerChain]; math.Abs(got-wantLL) > 1e-9*math.Max(1, math.Abs(wantLL)) {
				t.Fatalf("row %d draw %d: log-lik %v; want %v", i, s, got, wantLL)
			}
		}
	}
	// Fixing the transforms at the prior centres (Spec.X) gives another likelihood.
	fixed, fixedSpec := *d, *spec
	fixed.Transforms, fixedSpec.Transforms = nil, nil
	fixedLL, err := logLikOf(&fixed, &fixedSpec)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := logLik(7)[0][0], fixedLL(7)[0][0]; a == b {
		t.Errorf("row 8: the same log-lik %v with the transform per draw and fixed at its centre", a)
	}

	// Through Derive: the mean contributions sum to the mean fit, and the totals per draw
	// are Σ_i β_s x_{i,s}.
	res, err := Derive(context.Background(), spec, d, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range res.Decomp {
		var sum float64
		for _, ct := range row {
			sum += ct.Mean
		}
		if want := res.Rows[i].Model.Mean; math.Abs(sum-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Fatalf("row %d: mean contributions sum to %v; mean fit %v", i, sum, want)
		}
	}
	for s := 0; s < S; s += 7 {
		want := 0.0
		for i := 0; i < spec.N; i++ {
			want += d.Beta[1][s] * cols[s][1][i]
		}
		if got := res.Totals[1][s]; math.Abs(got-want) > 1e-9*math.Abs(want) {
			t.Fatalf("draw %d: m_tv total %v; want %v", s, got, want)
		}
	}
	one, _ := Derive(context.Background(), spec, d, Options{Workers: 1})
	var wa, wb bytes.Buffer
	WriteDecomposition(&wa, spec, res)
	WriteDecomposition(&wb, spec, one)
	if wa.String() != wb.String() {
		t.Error("the decomposition with estimated transforms depends on the number of workers")
	}
}

// TestTransformDrawsMustFitTheSpec checks the transform draws against the spec: every
// estimated parameter present with one value per draw, none for a fixed one.
func TestTransformDrawsMustFitTheSpec(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(d *Draws)
		want string
	}{
		{"missing", func(d *Draws) { d.Transforms = d.Transforms[:1] }, "the model estimates m_social's transform, but the draws have none"},
		{"short", func(d *Draws) { d.Transforms[0].Shape = d.Transforms[0].Shape[:3] }, "hill_shape[m_tv] has 3 draws; want 20"},
		{"fixed", func(d *Draws) { d.Transforms[1].Shape = make([]float64, 20) }, "draws of hill_shape[m_social], which the model fixes"},
		{"not estimated", func(d *Draws) { d.Transforms = append(d.Transforms, TransformDraws{Term: 3}) }, "transform draws for price, whose transform the model does not estimate"},
		{"twice", func(d *Draws) { d.Transforms = append(d.Transforms, d.Transforms[0]) }, "transform draws for m_tv twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, d := transformFixture(t, 10, 2, 10)
			c.edit(d)
			_, err := Derive(context.Background(), spec, d, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Derive: %v; want %q", err, c.want)
			}
			if _, err := d.Pointwise(spec); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Pointwise: %v; want %q", err, c.want)
			}
		})
	}
}
