package summarise

import (
	"math"
	"testing"
)

func TestQuantile(t *testing.T) {
	// Values of R's quantile(c(1, 2, 3, 4, 10), p) (type 7).
	sorted := []float64{1, 2, 3, 4, 10}
	for _, c := range []struct{ p, want float64 }{
		{0, 1}, {0.05, 1.2}, {0.33, 2.32}, {0.5, 3}, {0.95, 8.8}, {1, 10},
	} {
		if got, tol := Quantile(sorted, c.p), 1e-14; math.Abs(got-c.want) > tol {
			t.Errorf("Quantile(%v, %v) = %v; want %v (tol %g)", sorted, c.p, got, c.want, tol)
		}
	}
	// Ties are never interpolated, so x <= Quantile(x, p) holds for the tied values.
	tied := []float64{0.1, 0.1, 0.7, 0.7, 0.7}
	if got, want := Quantile(tied, 0.6), 0.7; got != want {
		t.Errorf("Quantile(%v, 0.6) = %v; want %v exactly", tied, got, want)
	}
	if got := Quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("Quantile(nil, 0.5) = %v; want NaN", got)
	}
	if got, want := Quantile([]float64{4}, 0.3), 4.0; got != want {
		t.Errorf("Quantile([4], 0.3) = %v; want %v", got, want)
	}
}

func TestQuantileBadProbPanics(t *testing.T) {
	for _, p := range []float64{-0.1, 1.1, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Quantile(x, %v) did not panic", p)
				}
			}()
			Quantile([]float64{1, 2}, p)
		}()
	}
}
