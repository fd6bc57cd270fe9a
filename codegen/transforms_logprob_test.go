package codegen

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// naiveBLMTransforms is the single-market model with estimated transforms computed by
// loops in the model block.
const naiveBLMTransforms = "testdata/naive_blm_transforms.stan"

// naivePanelTransforms is the integrated panel model with estimated transforms computed by
// loops and a dense multivariate normal per group.
const naivePanelTransforms = "testdata/naive_panel_transforms.stan"

// shuffledMarketSpec is a single market of n weeks whose rows are not in date order, with
// spend columns that are sometimes 0, and estimated transforms of every kind: m_tv
// (adstock and Hill, all estimated), m_search (fixed adstock, estimated half saturation
// under a gamma prior, fixed shape), m_social (estimated adstock with a longer max_lag, no
// saturation); price is not transformed.
func shuffledMarketSpec(n int) *ingest.Spec {
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	date := rng.Perm(n) // row i holds week date[i]
	week := make([]int, n)
	for i, d := range date {
		week[d] = i
	}
	s := &ingest.Spec{Name: "shuffled", Response: "kpi", N: n, Scale: true,
		NoiseSD: ingest.NoisePrior{Family: ingest.NoiseNormal, Mean: 0, SD: 50, Default: true}}
	cols := map[string][]float64{}
	names := []string{ingest.InterceptName, "m_tv", "m_search", "m_social", "price"}
	for _, name := range names {
		col := make([]float64, n)
		for i := range col {
			switch name {
			case ingest.InterceptName:
				col[i] = 1
			case "price":
				col[i] = 10 + rng.NormFloat64()
			default:
				if rng.Float64() < 0.25 {
					continue // no spend this week
				}
				col[i] = 100 * rng.ExpFloat64()
			}
		}
		cols[name] = col
		s.Terms = append(s.Terms, ingest.Term{Name: name, Intercept: name == ingest.InterceptName})
		s.X = append(s.X, col)
		s.Priors = append(s.Priors, ingest.Prior{Mean: 0, SD: 10})
		s.Bounds = append(s.Bounds, ingest.Unbounded)
	}
	s.Bounds[1] = ingest.Bound{Lower: 0, Upper: math.Inf(1)}
	s.Y = make([]float64, n)
	for i := range s.Y {
		s.Y[i] = 1000 + 2*cols["m_tv"][i] + 3*cols["m_search"][i] + cols["m_social"][i] - 20*cols["price"][i] + 30*rng.NormFloat64()
	}
	s.Lines = make([]int, n)
	for i := range s.Lines {
		s.Lines[i] = i + 2
	}
	s.Scaling = identityScaling(len(names))
	s.Scaling.YCentre, s.Scaling.YScale = mean(s.Y), sampleSD(s.Y)
	for k := 1; k < len(names); k++ {
		s.Scaling.XScale[k] = sampleSD(s.X[k])
	}
	return withTransforms(s, [][]int{week},
		ingest.Transform{Column: "m_tv", Adstock: true, MaxLag: 6, Hill: true,
			DecayPrior:          &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2},
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(80), B: 1},
			ShapePrior:          &ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}},
		ingest.Transform{Column: "m_search", Adstock: true, Decay: 0.4, MaxLag: 3, Hill: true, Shape: 1.3,
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorGamma, A: 3, B: 0.03}},
		ingest.Transform{Column: "m_social", Adstock: true, MaxLag: 10,
			DecayPrior: &ingest.TransformPrior{Family: ingest.PriorGamma, A: 2, B: 5}})
}

// naiveTransformVars is the *_naive data of the naive programs: the raw columns, their
// scales, the fixed values, and the series (rows listed series by series).
func naiveTransformVars(spec *ingest.Spec) []stanio.Var {
	var raw [][]float64
	var rawScales, xScale, decay, half, shape []float64
	var adstock, maxLag []int
	for _, tr := range spec.Transforms {
		if !tr.Estimated() {
			continue
		}
		k := -1
		for j, term := range spec.Terms {
			if term.Name == tr.Column {
				k = j
			}
		}
		raw = append(raw, tr.Raw)
		rawScales = append(rawScales, rawScale(tr.Raw))
		xScale = append(xScale, spec.Scaling.XScale[k])
		a := 0
		if tr.Adstock {
			a = 1
		}
		adstock, maxLag = append(adstock, a), append(maxLag, tr.MaxLag)
		decay, half, shape = append(decay, tr.Decay), append(half, tr.HalfSaturation), append(shape, tr.Shape)
	}
	var order, start, end []int
	for _, rows := range spec.Series {
		start = append(start, len(order)+1)
		for _, i := range rows {
			order = append(order, i+1)
		}
		end = append(end, len(order))
	}
	return []stanio.Var{
		{Name: "raw_naive", Value: raw}, {Name: "raw_scale_naive", Value: rawScales}, {Name: "x_scale_naive", Value: xScale},
		{Name: "adstock_naive", Value: adstock}, {Name: "decay_naive", Value: decay}, {Name: "max_lag_naive", Value: maxLag},
		{Name: "half_naive", Value: half}, {Name: "shape_naive", Value: shape},
		{Name: "S_naive", Value: len(start)}, {Name: "series_order", Value: order},
		{Name: "series_start", Value: start}, {Name: "series_end", Value: end},
	}
}

// randomTransformPoint draws transform parameters: decays on (0.05, 0.95), half
// saturations around the raw scale (1 on the sampler's scale), shapes on (0.3, 3).
func randomTransformPoint(t *testing.T, rng *rand.Rand, p *Program) []stanio.Var {
	draw := func(name string, lo, hi float64) stanio.Var {
		v := make([]float64, dataVar(t, p, "n_"+name).(int))
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float64()
		}
		return stanio.Var{Value: v}
	}
	d, h, s := draw("decay", 0.05, 0.95), draw("half", 0.2, 3), draw("shape", 0.3, 3)
	d.Name, h.Name, s.Name = stanDecay, stanHalf, stanShape
	return []stanio.Var{d, h, s}
}

// TestTransformsLogProbMatchesNaive checks the programs with estimated transforms against
// naive row-wise programs that compute the transformed columns by loops over each series
// in original units: same gradient, same log density up to a constant, at random points.
func TestTransformsLogProbMatchesNaive(t *testing.T) {
	r := cmdstanRunner(t)
	t.Run("single market", func(t *testing.T) {
		spec := shuffledMarketSpec(40)
		p := render(t, spec)
		lb, ub := dataVar(t, p, "lb").([]float64), dataVar(t, p, "ub").([]float64)
		rng := rand.New(rand.NewPCG(5, 5))
		var points [][]stanio.Var
		for range 6 {
			beta := make([]float64, len(lb))
			for k := range beta {
				beta[k] = inside(rng.NormFloat64(), lb[k], ub[k], 1)
			}
			points = append(points, append([]stanio.Var{{Name: "beta", Value: beta},
				{Name: "noise_sd", Value: 0.2 + rng.Float64()}}, randomTransformPoint(t, rng, p)...))
		}
		d, err := newBLMData(spec)
		if err != nil {
			t.Fatal(err)
		}
		compareBoundedLogProb(t, r, p.Code, naiveBLMTransforms, d, p.Data, append(naiveTransformVars(spec), p.Data...), points)
	})
	for _, c := range []struct {
		name string
		opts panelOptions
	}{
		{"panel", panelOptions{groups: 4, weeks: 20}},
		{"panel, CRE, correlated", panelOptions{groups: 3, weeks: 20, cre: true, correlated: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := panelTransformSpec(c.opts)
			p := render(t, spec)
			if p.Template != IntegratedTemplate {
				t.Fatalf("Template %s; want %s", p.Template, IntegratedTemplate)
			}
			naive := append(naivePanelVars(spec, p, "X_naive", "y_naive"), naiveTransformVars(spec)...)
			rng := rand.New(rand.NewPCG(22, uint64(c.opts.groups)))
			var points [][]stanio.Var
			for i := range 6 {
				points = append(points, append(randomPanelPoint(t, rng, p, i == 5), randomTransformPoint(t, rng, p)...))
			}
			compareBoundedLogProb(t, r, p.Code, naivePanelTransforms, integratedBetaMap(t, p), p.Data, append(naive, p.Data...), points)
		})
	}
}
