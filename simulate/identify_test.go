package simulate

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/ingest"
)

// TestTransformsAreIdentifiable checks that the --transforms examples inform their
// transform parameters. It profiles the residual sum of squares over one parameter at a
// time (the other transform parameters at their true values; the coefficients, each
// market's own intercept and media slopes in a panel, by least squares). The set where
// ΔRSS/noise_sd² ≤ 6.63 (a 99% profile interval, χ²₁) must cover the truth, and the 90%
// profile interval (ΔRSS/noise_sd² ≤ 2.71) must be narrower than shrink × the default
// prior's 90% interval (for the positive parameters on the log scale): every parameter of
// the 8-market panel, and TV's and social's in the single market, whose 156 weeks cannot
// tell the shape of the always-on search curve from its coefficient (a small shape with a
// large coefficient is nearly a log response). A profile with the other
// parameters fixed is narrower than their marginal posterior would be, so this is a
// necessary check of the design, not a recovery test.
func TestTransformsAreIdentifiable(t *testing.T) {
	for _, c := range []struct {
		name    string
		ex      func() (*Example, error)
		shrink  float64
		columns []string // whose intervals are checked; nil: all
	}{
		{"blm", func() (*Example, error) { return BLM(BLMOptions{Transforms: true}) }, 0.5, []string{"m_tv", "m_social"}},
		{"hierarchical", func() (*Example, error) { return Hierarchical(PanelOptions{Transforms: true}) }, 0.5, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ex, err := c.ex()
			if err != nil {
				t.Fatal(err)
			}
			profileTransforms(t, ex, c.shrink, c.columns)
		})
	}
}

func profileTransforms(t *testing.T, ex *Example, shrink float64, columns []string) {
	d := readTransformsCSV(t, ex)
	n := len(d.cols["kpi_value"])
	markets := map[string]int{"": 0}
	if d.market != nil {
		markets = map[string]int{}
		for _, m := range d.market {
			if _, ok := markets[m]; !ok {
				markets[m] = len(markets)
			}
		}
	}
	g := len(markets)
	y := mat.NewVecDense(n, d.cols["kpi_value"])
	rss := func(ts []mediaTransform) float64 {
		// Columns: each market's intercept, the controls, each market's media slopes.
		X := mat.NewDense(n, g+len(transformControls)+g*len(ts), nil)
		for i := range n {
			m := 0
			if d.market != nil {
				m = markets[d.market[i]]
			}
			X.Set(i, m, 1)
			for j, c := range transformControls {
				X.Set(i, g+j, d.cols[c][i])
			}
		}
		for k, mt := range ts {
			for i, v := range naiveTransform(d.cols[mt.column], d.market, mt.adstock, mt.decay, mt.maxLag, mt.hill, mt.half, mt.shape) {
				m := 0
				if d.market != nil {
					m = markets[d.market[i]]
				}
				X.Set(i, g+len(transformControls)+k*g+m, v)
			}
		}
		var qr mat.QR
		qr.Factorize(X)
		var beta, fit, res mat.VecDense
		if err := qr.SolveVecTo(&beta, false, y); err != nil {
			t.Fatal(err)
		}
		fit.MulVec(X, &beta)
		res.SubVec(y, &fit)
		return mat.Dot(&res, &res)
	}
	s2 := ex.Truth.NoiseSD * ex.Truth.NoiseSD
	// 90% intervals of the default priors: beta(2, 2) (qbeta(c(0.05, 0.95), 2, 2) =
	// 0.135, 0.865), and 2·1.645·sdlog for the lognormals (sdlog 1 and 0.5).
	priorWidth := map[string]float64{ingest.DecayParam: 0.865 - 0.135, ingest.HalfSaturationParam: 2 * 1.645, ingest.ShapeParam: 2 * 1.645 * 0.5}
	for k, mt := range exampleTransforms {
		for _, kind := range []string{ingest.DecayParam, ingest.HalfSaturationParam, ingest.ShapeParam} {
			truth := map[string]float64{ingest.DecayParam: mt.decay, ingest.HalfSaturationParam: mt.half, ingest.ShapeParam: mt.shape}[kind]
			var grid []float64
			for i := range 101 {
				if kind == ingest.DecayParam {
					grid = append(grid, 0.005+0.99*float64(i)/100)
				} else {
					grid = append(grid, truth*math.Exp(-2.5+5*float64(i)/100)) // log scale
				}
			}
			prof := make([]float64, len(grid))
			best := math.Inf(1)
			for i, v := range grid {
				ts := append([]mediaTransform(nil), exampleTransforms...)
				switch kind {
				case ingest.DecayParam:
					ts[k].decay = v
				case ingest.HalfSaturationParam:
					ts[k].half = v
				case ingest.ShapeParam:
					ts[k].shape = v
				}
				prof[i] = rss(ts)
				best = math.Min(best, prof[i])
			}
			interval := func(chi2 float64) (lo, hi float64) {
				lo, hi = math.Inf(1), math.Inf(-1)
				for i, v := range grid {
					if (prof[i]-best)/s2 <= chi2 {
						lo, hi = math.Min(lo, v), math.Max(hi, v)
					}
				}
				return lo, hi
			}
			name := ingest.TransformParamName(kind, mt.column)
			lo, hi := interval(6.63)
			if truth < lo || truth > hi {
				t.Errorf("%s: truth %g outside the 99%% profile interval [%.3g, %.3g]", name, truth, lo, hi)
			}
			lo, hi = interval(2.71)
			width := hi - lo
			if kind != ingest.DecayParam {
				width = math.Log(hi / lo)
			}
			t.Logf("%s: truth %g, 90%% profile interval [%.3g, %.3g]", name, truth, lo, hi)
			if (columns == nil || slices.Contains(columns, mt.column)) && width > shrink*priorWidth[kind] {
				t.Errorf("%s: 90%% profile interval [%.3g, %.3g] is wider than %g × the default prior's", name, lo, hi, shrink)
			}
		}
	}
}
