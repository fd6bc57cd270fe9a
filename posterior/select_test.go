package posterior

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dsamstan/dsamstan/summarise"
)

// TestQuantilesMatchTypeSeven checks the selection-based quantiles against sorting and
// summarise.Quantile (R's type 7), including ties and tiny samples.
func TestQuantilesMatchTypeSeven(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	probs := []float64{0, 0.025, 0.05, 0.5, 0.95, 0.975, 1}
	for _, n := range []int{1, 2, 3, 7, 16, 17, 100, 1001, 4000} {
		for trial := 0; trial < 20; trial++ {
			x := make([]float64, n)
			for i := range x {
				x[i] = rng.NormFloat64()
				if trial%3 == 0 {
					x[i] = math.Round(x[i] * 2) // many ties
				}
			}
			sorted := slices.Clone(x)
			slices.Sort(sorted)
			got := make([]float64, len(probs))
			quantiles(x, probs, got)
			exact := make([]float64, len(probs))
			scaledQuantiles(sorted, 1, probs, exact) // the same arithmetic on the sorted draws
			for i, p := range probs {
				if want := summarise.Quantile(sorted, p); math.Abs(got[i]-want) > 1e-12 {
					t.Fatalf("n=%d p=%g: quantile %v; want %v", n, p, got[i], want)
				}
				if got[i] != exact[i] { // == : which of tied zeros is picked may differ in sign
					t.Fatalf("n=%d p=%g: quantile %v; the sorted draws give %v", n, p, got[i], exact[i])
				}
			}
			for _, ps := range [][]float64{FitProbs, decompProbs, {0.025, 0.975}, {0.5}, {0.3, 0.3, 0.31}} {
				y := slices.Clone(sorted)
				rng.Shuffle(len(y), func(a, b int) { y[a], y[b] = y[b], y[a] })
				got, want := make([]float64, len(ps)), make([]float64, len(ps))
				quantiles(y, ps, got)
				scaledQuantiles(sorted, 1, ps, want)
				for i := range ps {
					if got[i] != want[i] {
						t.Fatalf("n=%d probs %v: quantile %d %v; the sorted draws give %v", n, ps, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestScaledQuantilesAreExact checks that the quantiles of x·θ taken from the sorted θ
// (scaledQuantiles) are, to the bit, those selection gives on the products, for positive
// and negative x, with ties.
func TestScaledQuantilesAreExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, n := range []int{1, 2, 5, 100, 4000} {
		for trial := range 10 {
			theta := make([]float64, n)
			for i := range theta {
				theta[i] = rng.NormFloat64() + 0.1
				if trial%2 == 0 {
					theta[i] = math.Round(theta[i]*4)/4 + 0.125 // ties, never 0
				}
			}
			sorted := slices.Clone(theta)
			slices.Sort(sorted)
			for _, x := range []float64{3.7, -0.013, -250, 1e-3} {
				c := make([]float64, n)
				for i, v := range theta {
					c[i] = x * v
				}
				for _, ps := range [][]float64{FitProbs, decompProbs} {
					got, want := make([]float64, len(ps)), make([]float64, len(ps))
					scaledQuantiles(sorted, x, ps, got)
					quantiles(c, ps, want)
					for i := range ps {
						if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
							t.Fatalf("n=%d x=%g p=%g: %v from the sorted θ, %v by selection", n, x, ps[i], got[i], want[i])
						}
					}
				}
			}
		}
	}
}
