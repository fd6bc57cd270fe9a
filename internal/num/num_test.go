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

// TestAppendFormatIsFormat: the tables written with AppendFormat read as those written
// with Format, to the byte.
func TestAppendFormatIsFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vals := []float64{0, math.Copysign(0, -1), -0.5, 1e-300, 5e-324, math.MaxFloat64, 1.0 / 3, 123456789, math.Inf(1), math.Inf(-1), math.NaN()}
	for range 1000 {
		vals = append(vals, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(40)-20)))
	}
	prefix := []byte("x,")
	for _, v := range vals {
		if got, want := string(AppendFormat(prefix, v)), "x,"+Format(v); got != want {
			t.Errorf("AppendFormat(%v) = %q; want %q", v, got, want)
		}
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

func TestMeanVariance(t *testing.T) {
	// R: mean(c(1, 2, 3, 4)) = 2.5, var(c(1, 2, 3, 4)) = 1.666667 (5/3).
	x := []float64{1, 2, 3, 4}
	if got := Mean(x); got != 2.5 {
		t.Errorf("Mean(1..4) = %v; want 2.5", got)
	}
	if got, want := Variance(x), 5.0/3; math.Abs(got-want) > 1e-15 {
		t.Errorf("Variance(1..4) = %v; want %v (tol 1e-15)", got, want)
	}
	// The refinement pass gives constant data their value exactly, where the plain sum
	// of ten 0.1s divided by 10 is 0.09999999999999999.
	tenths := slices.Repeat([]float64{0.1}, 10)
	if got := Mean(tenths); got != 0.1 {
		t.Errorf("Mean(ten 0.1s) = %v; want 0.1", got)
	}
	if got := Variance(tenths); got != 0 {
		t.Errorf("Variance(ten 0.1s) = %v; want 0", got)
	}
	// R's mean(numeric(0)) is NaN and var of fewer than two values NA.
	if !math.IsNaN(Mean(nil)) || !math.IsNaN(Variance(nil)) || !math.IsNaN(Variance([]float64{3})) {
		t.Errorf("Mean(nil), Variance(nil), Variance([3]) = %v, %v, %v; want NaN", Mean(nil), Variance(nil), Variance([]float64{3}))
	}
}

func TestCompare(t *testing.T) {
	nan := math.NaN()
	x := []float64{3, nan, -1, math.Inf(1), nan, 0, math.Inf(-1), 2}
	asc := slices.Clone(x)
	slices.SortFunc(asc, Compare)
	want := []float64{math.Inf(-1), -1, 0, 2, 3, math.Inf(1), nan, nan}
	if !slices.EqualFunc(asc, want, same) {
		t.Errorf("sorted by Compare: %v; want %v", asc, want)
	}
	desc := slices.Clone(x)
	slices.SortFunc(desc, CompareDesc)
	want = []float64{math.Inf(1), 3, 2, 0, -1, math.Inf(-1), nan, nan}
	if !slices.EqualFunc(desc, want, same) {
		t.Errorf("sorted by CompareDesc: %v; want %v", desc, want)
	}
	if Compare(nan, nan) != 0 || Compare(0, math.Copysign(0, -1)) != 0 {
		t.Error("Compare: NaN must equal NaN and -0 equal +0")
	}
}

func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
