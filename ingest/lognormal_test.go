package ingest

import (
	"math"
	"testing"
)

func TestLognormalMS(t *testing.T) {
	// The lognormal's mean is exp(mu + sigma²/2) and its sd mean·sqrt(exp(sigma²) - 1).
	for _, ms := range [][2]float64{{40, 20}, {0.1, 0.05}, {1, 3}, {1e150, 1e150}} {
		m, s := ms[0], ms[1]
		mu, sigma := LognormalMS(m, s)
		gotM := math.Exp(mu + sigma*sigma/2)
		if m > 1e100 {
			gotM = math.Exp(mu+sigma*sigma/2-math.Log(m)) * m
		}
		gotS := m * math.Sqrt(math.Expm1(sigma*sigma))
		if math.Abs(gotM-m) > 1e-12*m || math.Abs(gotS-s) > 1e-12*s {
			t.Errorf("LognormalMS(%v, %v) = %v, %v: mean %v, sd %v (tol 1e-12)", m, s, mu, sigma, gotM, gotS)
		}
	}
}
