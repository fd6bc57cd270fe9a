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
			for i, p := range probs {
				if want := summarise.Quantile(sorted, p); math.Abs(got[i]-want) > 1e-12 {
					t.Fatalf("n=%d p=%g: quantile %v; want %v", n, p, got[i], want)
				}
			}
		}
	}
}
