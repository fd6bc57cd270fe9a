package loo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func pointwise(elpd []float64) *Result {
	r := &Result{N: len(elpd)}
	for _, e := range elpd {
		r.Pointwise = append(r.Pointwise, Point{ELPD: e})
		r.ELPD += e
	}
	return r
}

// TestStackingTwoModels checks the weights against the optimum found independently: for two
// models the objective's derivative in w = w_1, Σ_i (p_i1 − p_i2)/(w p_i1 + (1−w) p_i2),
// falls from left to right, so its root (or the end it does not cross) is found by bisection.
func TestStackingTwoModels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 20 {
		n := 5 + rng.IntN(60)
		a, b := make([]float64, n), make([]float64, n)
		shift := rng.NormFloat64() * 0.3
		for i := range a {
			a[i] = -1 + 0.8*rng.NormFloat64()
			b[i] = -1 + shift + 0.8*rng.NormFloat64()
		}
		w, err := StackingWeights([]*Result{pointwise(a), pointwise(b)})
		if err != nil {
			t.Fatal(err)
		}
		grad := func(x float64) float64 {
			g := 0.0
			for i := range a {
				p1, p2 := math.Exp(a[i]), math.Exp(b[i])
				g += (p1 - p2) / (x*p1 + (1-x)*p2)
			}
			return g
		}
		var want float64
		switch {
		case grad(0) <= 0:
			want = 0
		case grad(1) >= 0:
			want = 1
		default:
			lo, hi := 0.0, 1.0
			for range 200 {
				mid := (lo + hi) / 2
				if grad(mid) > 0 {
					lo = mid
				} else {
					hi = mid
				}
			}
			want = (lo + hi) / 2
		}
		if math.Abs(w[0]-want) > 1e-4 || math.Abs(w[0]+w[1]-1) > 1e-12 {
			t.Errorf("trial %d: weights %v; want w_1 = %.6f", trial, w, want)
		}
	}
}

// TestStackingDominated: a model worse at every point gets weight 0, and identical models
// share the weight.
func TestStackingDominated(t *testing.T) {
	good := []float64{-1, -0.5, -2, -1.2}
	bad := []float64{-3, -2.5, -4, -3.2}
	w, err := StackingWeights([]*Result{pointwise(bad), pointwise(good)})
	if err != nil {
		t.Fatal(err)
	}
	if w[0] > 1e-3 || math.Abs(w[1]-1) > 1e-3 {
		t.Errorf("weights %v; want [0 1]", w)
	}
	w, err = StackingWeights([]*Result{pointwise(good), pointwise(good), pointwise(bad)})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(w[0]-w[1]) > 1e-9 || w[2] > 1e-3 {
		t.Errorf("weights %v; want [0.5 0.5 0]", w)
	}
	if _, err := StackingWeights([]*Result{pointwise(good), pointwise(good[:2])}); err == nil {
		t.Error("different observation counts accepted")
	}
}
