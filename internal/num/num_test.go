package num

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestFormatParseRoundTrip(t *testing.T) {
	for _, v := range []float64{0, -0.5, 1e-300, math.MaxFloat64, 1.0 / 3, math.Inf(1), math.Inf(-1)} {
		got, err := Parse(Format(v))
		if err != nil || got != v {
			t.Errorf("Parse(Format(%v)) = %v, %v", v, got, err)
		}
	}
	if got, _ := Parse(Format(math.NaN())); !math.IsNaN(got) || Format(math.NaN()) != "NA" {
		t.Error("NaN does not round-trip as NA")
	}
}

func TestSelectKthMatchesSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{1, 2, 15, 16, 17, 100, 1001} {
		for trial := 0; trial < 30; trial++ {
			x := make([]float64, n)
			for i := range x {
				x[i] = math.Round(rng.NormFloat64() * 3) // ties
			}
			sorted := slices.Clone(x)
			slices.Sort(sorted)
			k := rng.IntN(n)
			SelectKth(x, 0, n-1, k)
			if x[k] != sorted[k] {
				t.Fatalf("n=%d k=%d: got %v; want %v", n, k, x[k], sorted[k])
			}
			for i := range x {
				if (i < k && x[i] > x[k]) || (i > k && x[i] < x[k]) {
					t.Fatalf("n=%d k=%d: x[%d]=%v on the wrong side of %v", n, k, i, x[i], x[k])
				}
			}
		}
	}
}
