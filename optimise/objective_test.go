package optimise

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dsamstan/dsamstan/summarise"
)

// quantileSelect must agree with summarise.Quantile (R type 7) on the sorted data.
func TestQuantileSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := range 300 {
		n := 1 + rng.IntN(60)
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Round(rng.NormFloat64() * 4) // ties on purpose
		}
		p := rng.Float64()
		sorted := slices.Clone(x)
		slices.Sort(sorted)
		want := summarise.Quantile(sorted, p)
		if got := quantileSelect(slices.Clone(x), p); got != want {
			t.Fatalf("trial %d: quantileSelect(n=%d, p=%v) = %v; want %v", trial, n, p, got, want)
		}
	}
}

// cvarSelect against its definition on sorted draws.
func TestCVaRSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 1))
	for trial := range 300 {
		n := 1 + rng.IntN(60)
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Round(rng.NormFloat64() * 4)
		}
		alpha := rng.Float64()
		if trial%10 == 0 {
			alpha = 1
		}
		sorted := slices.Clone(x)
		slices.Sort(sorted)
		m := alpha * float64(n)
		want, left := 0.0, m
		for _, v := range sorted { // weight 1 per draw until m is used up
			w := math.Min(1, left)
			want += w * v
			left -= w
			if left <= 0 {
				break
			}
		}
		want /= m
		if got := cvarSelect(slices.Clone(x), alpha); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Fatalf("trial %d: cvarSelect(n=%d, alpha=%v) = %v; want %v", trial, n, alpha, got, want)
		}
	}
}

func TestMeanSDAndGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	resp := []Response{{Type: ResponseHill, EC50: 50, Slope: 1.5}, {Type: ResponseLog1p, Scale: 20}, {Type: ResponseIdentity}}
	beta := make([][]float64, 3)
	for c := range beta {
		beta[c] = make([]float64, 500)
		for d := range beta[c] {
			beta[c][d] = float64(c+1) + rng.NormFloat64()
		}
	}
	m := newModel(resp, beta, Objective{Type: ObjectiveMeanMinusSD, Lambda: 1.5})
	ev := m.evaluator()
	s := []float64{40, 70, 3}
	totals := make([]float64, m.nd)
	m.drawTotals(s, totals)
	want := riskValue(m.obj, totals)
	if got := ev.objective(s); math.Abs(got-want) > 1e-10*math.Abs(want) {
		t.Errorf("mean_minus_sd by covariance = %v; by draws %v", got, want)
	}
	g := make([]float64, 3)
	ev.objectiveGrad(s, g)
	for c := range s {
		h := 1e-5 * s[c]
		up, down := slices.Clone(s), slices.Clone(s)
		up[c] += h
		down[c] -= h
		num := (ev.objective(up) - ev.objective(down)) / (2 * h)
		if math.Abs(g[c]-num) > 1e-6*math.Max(1, math.Abs(num)) {
			t.Errorf("gradient[%d] = %v; central difference %v", c, g[c], num)
		}
	}
}
