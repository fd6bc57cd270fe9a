package calibrate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// testDesign is what testSpec builds: y ~ 1 + x1 + x2 [+ (1 + x1 | market)
// [+ (1 | region)]], x2 bounded below at 0.
type testDesign struct {
	groups     int // 0: one market; 1: market; 2: market and region
	correlated bool
	noise      ingest.NoisePrior
	param      string // Spec.Parameterization
	transforms bool   // x1 and x2 with estimated transforms (withEstimatedTransforms)
}

func testSpec(d testDesign) *ingest.Spec {
	rng := rand.New(rand.NewPCG(7, 7))
	const markets, weeks = 6, 20
	n := markets * weeks
	s := &ingest.Spec{Name: "t", Response: "y", Scale: true, N: n, Parameterization: d.param}
	ones, x1, x2 := make([]float64, n), make([]float64, n), make([]float64, n)
	market, region := make([]int, n), make([]int, n)
	for i := range n {
		ones[i], x1[i], x2[i] = 1, 20+60*rng.Float64(), 10*rng.Float64()
		market[i], region[i] = i/weeks, (i/weeks)%2
	}
	s.Terms = []ingest.Term{{Name: ingest.InterceptName, Intercept: true}, {Name: "x1"}, {Name: "x2"}}
	s.X = [][]float64{ones, x1, x2}
	s.Priors = []ingest.Prior{{Mean: 100, SD: 20}, {Mean: 0.5, SD: 0.3}, {Mean: 0.5, SD: 1}}
	s.Bounds = []ingest.Bound{ingest.Unbounded, ingest.Unbounded, {Lower: 0, Upper: math.Inf(1)}}
	s.NoiseSD = d.noise
	s.Scaling = ingest.Scaling{YScale: 1, XScale: []float64{1, 17, 3}}
	s.Y = make([]float64, n)
	for i := range s.Y {
		s.Y[i] = 100 + x1[i]
	}
	s.Scaling.YCentre, s.Scaling.YScale = 150, 20
	levels := func(prefix string, k int) []string {
		l := make([]string, k)
		for i := range l {
			l[i] = fmt.Sprintf("%s%d", prefix, i+1)
		}
		return l
	}
	if d.groups >= 1 {
		s.Groups = append(s.Groups, ingest.Grouping{Factor: "market", Index: 1, Levels: levels("m", markets), Of: market,
			Terms: []int{0, 1}, Independent: !d.correlated, SDPriors: []ingest.Prior{{Mean: 0, SD: 2}, {Mean: 0.5, SD: 0.3}}})
	}
	if d.groups >= 2 {
		s.Groups = append(s.Groups, ingest.Grouping{Factor: "region", Index: 2, Levels: levels("r", 2), Of: region,
			Terms: []int{0}, Independent: true, SDPriors: []ingest.Prior{{Mean: 0, SD: 1}}})
	}
	if d.transforms {
		withEstimatedTransforms(s)
	}
	return s
}

var (
	halfNormal5 = ingest.NoisePrior{Family: ingest.NoiseNormal, Mean: 0, SD: 5}
	lognormal   = ingest.NoisePrior{Family: ingest.NoiseLognormalMS, Mean: 10, SD: 3}
)

// truncMoments returns the mean and sd of normal(mean, sd) truncated below at lo, by the
// formulas of Johnson, Kotz and Balakrishnan (1994), Continuous Univariate Distributions
// 1, section 10.1: λ = φ(α)/(1 − Φ(α)), α = (lo − mean)/sd; mean + sd·λ and
// sd·√(1 + αλ − λ²).
func truncMoments(mean, sd, lo float64) (float64, float64) {
	a := (lo - mean) / sd
	l := distuv.UnitNormal.Prob(a) / distuv.UnitNormal.Survival(a)
	return mean + sd*l, sd * math.Sqrt(1+a*l-l*l)
}

// TestDrawMoments draws many parameter sets and compares their moments with the priors:
// every parameter's prior is the one the program is given, truncation included.
func TestDrawMoments(t *testing.T) {
	for _, noise := range []ingest.NoisePrior{halfNormal5, lognormal} {
		spec := testSpec(testDesign{groups: 1, correlated: true, noise: noise})
		p := prior{spec: spec}
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 20000
		draws := map[string][]float64{}
		for range n {
			_, truth, err := p.draw(rng)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range truth {
				draws[k] = append(draws[k], v)
			}
		}
		type want struct{ mean, sd float64 }
		m, s := truncMoments(0.5, 1, 0)
		sdM, sdS := truncMoments(0.5, 0.3, 0)
		wants := map[string]want{
			"(Intercept)":       {100, 20},
			"x1":                {0.5, 0.3},
			"x2":                {m, s},
			"sd_1[(Intercept)]": {2 * math.Sqrt(2/math.Pi), 2 * math.Sqrt(1-2/math.Pi)},
			"sd_1[x1]":          {sdM, sdS},
			// LKJ(2) with 2 terms: r = 2·Beta(2, 2) − 1, variance 1/5
			"cor_1[(Intercept),x1]": {0, math.Sqrt(0.2)},
		}
		if noise.Family == ingest.NoiseNormal {
			wants["noise_sd"] = want{5 * math.Sqrt(2/math.Pi), 5 * math.Sqrt(1-2/math.Pi)}
		} else {
			wants["noise_sd"] = want{10, 3} // lognormal_ms: the natural-scale mean and sd
		}
		for name, w := range wants {
			x := draws[name]
			if len(x) != n {
				t.Fatalf("%s: %d draws; want %d", name, len(x), n)
			}
			mean, sd := meanSD(x)
			if tol := 5 * w.sd / math.Sqrt(n); math.Abs(mean-w.mean) > tol || math.Abs(sd-w.sd) > 0.04*w.sd {
				t.Errorf("%s (noise %s): mean %.4g sd %.4g; want %.4g (tol %.2g), %.4g (4%%)", name, noise.Family, mean, sd, w.mean, tol, w.sd)
			}
		}
		for name, lo := range map[string]float64{"x2": 0, "sd_1[(Intercept)]": 0, "sd_1[x1]": 0, "noise_sd": 0} {
			for _, v := range draws[name] {
				if v < lo {
					t.Fatalf("%s = %g below its bound %g", name, v, lo)
				}
			}
		}
		// A group's coefficient is the population one plus a normal(0, sd) deviation.
		var z []float64
		for i := range draws["x1"] {
			z = append(z, (draws["x1[market=m3]"][i]-draws["x1"][i])/draws["sd_1[x1]"][i])
		}
		if mean, sd := meanSD(z); math.Abs(mean) > 0.04 || math.Abs(sd-1) > 0.03 {
			t.Errorf("standardised deviation of x1[market=m3]: mean %.3f sd %.3f; want 0, 1", mean, sd)
		}
	}
}

// TestDrawResponse checks the simulated response against the drawn truth: with a large
// noise-free-looking check, the residuals of y given the true coefficients have the true
// noise_sd.
func TestDrawResponse(t *testing.T) {
	spec := testSpec(testDesign{groups: 2, noise: lognormal})
	spec.Offset = make([]float64, spec.N)
	for i := range spec.Offset {
		spec.Offset[i] = float64(i % 3)
	}
	p := prior{spec: spec}
	y, truth, err := p.draw(rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	var res []float64
	for i := range y {
		m := spec.Groups[0].Levels[spec.Groups[0].Of[i]]
		r := spec.Groups[1].Levels[spec.Groups[1].Of[i]]
		mu := spec.Offset[i] +
			truth["(Intercept)[market="+m+"]"] + truth["(Intercept)[region="+r+"]"] - truth["(Intercept)"] +
			truth["x1[market="+m+"]"]*spec.X[1][i] + truth["x2"]*spec.X[2][i]
		res = append(res, y[i]-mu)
	}
	mean, sd := meanSD(res)
	noise := truth["noise_sd"]
	if math.Abs(mean) > 4*noise/math.Sqrt(float64(len(y))) || math.Abs(sd/noise-1) > 0.2 {
		t.Errorf("residuals given the truth: mean %.3g sd %.3g; want 0 and noise_sd %.3g", mean, sd, noise)
	}
}

// TestPriorShift checks the test hook that mis-specifies the simulation's prior.
func TestPriorShift(t *testing.T) {
	spec := testSpec(testDesign{noise: halfNormal5})
	p := prior{spec: spec, shift: 3}
	rng := rand.New(rand.NewPCG(1, 1))
	var x []float64
	for range 4000 {
		_, truth, err := p.draw(rng)
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, truth["(Intercept)"])
	}
	if mean, _ := meanSD(x); math.Abs(mean-160) > 2 {
		t.Errorf("shifted intercept: mean %.2f; want 100 + 3·20 = 160", mean)
	}
}

var missingColumn = regexp.MustCompile(`has no column "([^"]+)"`)

// decodedNames returns the names p.Decode reports, from a chain it builds column by
// column from Decode's own errors.
func decodedNames(t *testing.T, p *codegen.Program) []string {
	t.Helper()
	ch := &stanio.Chain{}
	for range 10000 {
		names, _, err := p.Decode(ch)
		if err == nil {
			return names
		}
		m := missingColumn.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("decoding the %s program's columns: %v", p.Template, err)
		}
		ch.Columns = append(ch.Columns, m[1])
		ch.Draws = append(ch.Draws, []float64{0.5})
	}
	t.Fatal("the program reads more than 10000 columns")
	return nil
}

// TestTruthOfEveryParameter checks that every parameter Decode reports has a truth, and
// that nothing else does, for one market and for panels of every program.
func TestTruthOfEveryParameter(t *testing.T) {
	for _, d := range []testDesign{
		{noise: halfNormal5},
		{groups: 1, noise: lognormal},
		{groups: 1, correlated: true, noise: lognormal},
		{groups: 1, correlated: true, noise: halfNormal5, param: codegen.Centered},
		{groups: 1, noise: halfNormal5, param: codegen.Noncentered},
		{groups: 2, correlated: true, noise: lognormal},
		{noise: halfNormal5, transforms: true},
		{groups: 1, noise: lognormal, transforms: true},
	} {
		spec := testSpec(d)
		y, truth, err := (&prior{spec: spec}).draw(rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		p, err := codegen.Render(context.Background(), nil, withResponse(spec, y))
		if err != nil {
			t.Fatal(err)
		}
		names := decodedNames(t, p)
		for _, name := range names {
			if _, ok := truth[name]; !ok {
				t.Errorf("%+v (%s): no truth of %s", d, p.Template, name)
			}
		}
		if len(names) != len(truth) {
			t.Errorf("%+v (%s): Decode reports %d parameters, the draw %d", d, p.Template, len(names), len(truth))
		}
	}
}

// TestWithResponse checks that a simulated response is rescaled as ingest scales one and
// that the priors, in original units, and the original spec stay as they were.
func TestWithResponse(t *testing.T) {
	spec := testSpec(testDesign{groups: 1, noise: halfNormal5})
	y := make([]float64, spec.N)
	for i := range y {
		y[i] = float64(i % 4) // mean 1.5, sd sqrt(1.2605…)
	}
	s := withResponse(spec, y)
	mean, sd := meanSD(y)
	if s.Scaling.YCentre != mean || math.Abs(s.Scaling.YScale-sd) > 1e-12 {
		t.Errorf("scaling %+v; want centre %g scale %g", s.Scaling, mean, sd)
	}
	if spec.Scaling.YCentre != 150 || spec.Scaling.YScale != 20 || spec.Y[0] == y[0] {
		t.Errorf("withResponse changed the original spec: %+v", spec.Scaling)
	}
	if s.Priors[0] != spec.Priors[0] || s.NoiseSD != spec.NoiseSD {
		t.Error("withResponse changed the priors")
	}
	unscaled := *spec
	unscaled.Scale = false
	if s := withResponse(&unscaled, y); s.Scaling.YScale != 20 {
		t.Errorf("model.scale false: scaling %+v; want it unchanged", s.Scaling)
	}
}

// withEstimatedTransforms gives x1 an estimated geometric adstock (decay ~ beta(2, 2))
// and x2 a Hill saturation with half_saturation ~ lognormal(log 5, 0.5) and shape ~
// gamma(4, 4), both over their raw columns, with the rows in one series per market.
func withEstimatedTransforms(spec *ingest.Spec) {
	spec.Series = nil
	if len(spec.Groups) == 0 {
		var rows []int
		for i := range spec.N {
			rows = append(rows, i)
		}
		spec.Series = [][]int{rows}
	} else {
		spec.Series = make([][]int, len(spec.Groups[0].Levels))
		for i, g := range spec.Groups[0].Of {
			spec.Series[g] = append(spec.Series[g], i)
		}
	}
	spec.Transforms = []ingest.Transform{
		{Column: "x1", Adstock: true, MaxLag: 4, Decay: 0.5, DecayPrior: &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2},
			Raw: slices.Clone(spec.X[1])},
		{Column: "x2", Hill: true, HalfSaturation: 5, Shape: 1, Raw: slices.Clone(spec.X[2]),
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(5), B: 0.5},
			ShapePrior:          &ingest.TransformPrior{Family: ingest.PriorGamma, A: 4, B: 4}},
	}
}

// TestCheckTransformPriors: estimated transforms are drawn, a prior family that cannot be
// is refused with its key.
func TestCheckTransformPriors(t *testing.T) {
	spec := testSpec(testDesign{noise: halfNormal5})
	withEstimatedTransforms(spec)
	if err := Check(spec); err != nil {
		t.Fatalf("Check(estimated transforms) = %v", err)
	}
	spec.Transforms[1].ShapePrior = &ingest.TransformPrior{Family: "cauchy", A: 0, B: 1}
	err := Check(spec)
	if err == nil || !strings.Contains(err.Error(), "`transforms.x2.saturation.shape` has family \"cauchy\"") || strings.Contains(err.Error(), "x1") {
		t.Errorf("Check(cauchy shape) = %v; want that key named, and only it", err)
	}
}

// TestDrawTransforms checks the estimated transforms' draws against their priors' moments
// (beta(2, 2): mean 0.5, sd 0.2236; lognormal(log 5, 0.5): median 5; gamma(4, 4): mean 1,
// sd 0.5), and the response against the truth: given the drawn decay, half_saturation,
// shape and coefficients, the residuals of y have the drawn noise_sd.
func TestDrawTransforms(t *testing.T) {
	spec := testSpec(testDesign{groups: 1, noise: lognormal})
	withEstimatedTransforms(spec)
	p := prior{spec: spec}
	rng := rand.New(rand.NewPCG(9, 9))
	var decay, half, shape []float64
	for range 4000 {
		_, truth, err := p.draw(rng)
		if err != nil {
			t.Fatal(err)
		}
		decay = append(decay, truth["adstock_decay[x1]"])
		half = append(half, math.Log(truth["half_saturation[x2]"]))
		shape = append(shape, truth["hill_shape[x2]"])
	}
	for _, c := range []struct {
		name            string
		x               []float64
		mean, sd, tolSD float64
	}{
		{"adstock_decay[x1]", decay, 0.5, math.Sqrt(0.05), 0.01},
		{"log half_saturation[x2]", half, math.Log(5), 0.5, 0.02},
		{"hill_shape[x2]", shape, 1, 0.5, 0.02},
	} {
		m, sd := meanSD(c.x)
		if math.Abs(m-c.mean) > 4*c.sd/math.Sqrt(4000) || math.Abs(sd-c.sd) > c.tolSD {
			t.Errorf("%s: mean %.4f sd %.4f over 4000 draws; want %.4f and %.4f", c.name, m, sd, c.mean, c.sd)
		}
	}

	y, truth, err := p.draw(rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	tv := spec.Transforms[0].With(truth["adstock_decay[x1]"], 0, 0).Apply(spec.Transforms[0].Raw, spec.Series)
	hv := spec.Transforms[1].With(0, truth["half_saturation[x2]"], truth["hill_shape[x2]"]).Apply(spec.Transforms[1].Raw, spec.Series)
	var res []float64
	for i := range y {
		m := spec.Groups[0].Levels[spec.Groups[0].Of[i]]
		mu := truth["(Intercept)[market="+m+"]"] + truth["x1[market="+m+"]"]*tv[i] + truth["x2"]*hv[i]
		res = append(res, y[i]-mu)
	}
	mean, sd := meanSD(res)
	noise := truth["noise_sd"]
	if math.Abs(mean) > 4*noise/math.Sqrt(float64(len(y))) || math.Abs(sd/noise-1) > 0.2 {
		t.Errorf("residuals given the truth: mean %.3g sd %.3g; want 0 and noise_sd %.3g", mean, sd, noise)
	}
	if tv[5] == spec.X[1][5] {
		t.Errorf("the adstocked column equals the raw one at row 6: %v", tv[5])
	}
}

func TestCheckRefusesPooling(t *testing.T) {
	spec := testSpec(testDesign{noise: halfNormal5})
	spec.Pooling = &ingest.Pooling{}
	if err := Check(spec); err == nil || !strings.Contains(err.Error(), "`pooling.enabled` is true") {
		t.Errorf("Check(pooled) = %v; want pooling refused", err)
	}
}
