package acf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ar1 returns m centred AR(1) chains of n draws with coefficient phi, one after another.
func ar1(rng *rand.Rand, m, n int, phi float64) []float64 {
	y := make([]float64, m*n)
	for c := range m {
		var z, s float64
		for i := range n {
			z = phi*z + rng.NormFloat64()
			y[c*n+i] = z
			s += z
		}
		for i := range n {
			y[c*n+i] -= s / float64(n)
		}
	}
	return y
}

// lagSum is the textbook double loop LagSum must agree with.
func lagSum(y []float64, m, n, t int) float64 {
	var s float64
	for c := range m {
		for i := 0; i+t < n; i++ {
			s += y[c*n+i] * y[c*n+i+t]
		}
	}
	return s
}

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestNextFastLen(t *testing.T) {
	// Values of R's nextn().
	for n, want := range map[int]int{1: 1, 2: 2, 7: 8, 11: 12, 13: 15, 500: 500, 1001: 1024, 4999: 5000} {
		if got := NextFastLen(n); got != want {
			t.Errorf("NextFastLen(%d) = %d; want %d", n, got, want)
		}
	}
}

// TestLagSums: the direct sums, the paired direct sums and the FFT give the lag
// products of the textbook double loop, up to rounding, at every lag.
func TestLagSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var c Chains
	for _, size := range []struct{ m, n int }{{1, 2}, {1, 7}, {3, 100}, {4, 333}, {2, 1000}} {
		m, n := size.m, size.n
		y := ar1(rng, m, n, 0.7)
		copy(c.Reset(m, n), y)
		seq, fftLen := c.FFTLagSums()
		if want := 2 * NextFastLen(n); fftLen != want {
			t.Fatalf("m=%d n=%d: FFT length %d; want %d", m, n, fftLen, want)
		}
		tol := 1e-12 * lagSum(y, m, n, 0)
		for lag := range n {
			want := lagSum(y, m, n, lag)
			if got := c.LagSum(lag); math.Abs(got-want) > tol {
				t.Errorf("m=%d n=%d: LagSum(%d) = %v; want %v (tol %g)", m, n, lag, got, want, tol)
			}
			var want1 float64
			if lag+1 < n {
				want1 = lagSum(y, m, n, lag+1)
			}
			if got, got1 := c.LagSumPair(lag); math.Abs(got-want) > tol || math.Abs(got1-want1) > tol {
				t.Errorf("m=%d n=%d: LagSumPair(%d) = %v, %v; want %v, %v (tol %g)", m, n, lag, got, got1, want, want1, tol)
			}
			if got := seq[lag] / float64(fftLen); math.Abs(got-want) > tol {
				t.Errorf("m=%d n=%d: FFT lag sum %d = %v; want %v (tol %g)", m, n, lag, got, want, tol)
			}
		}
		if a, b := c.LagSumPair(n); a != 0 || b != 0 {
			t.Errorf("m=%d n=%d: LagSumPair(n) = %v, %v; want 0, 0", m, n, a, b)
		}
	}
}

func TestGeyerTau(t *testing.T) {
	buf := make([]float64, 1000)
	for _, c := range []struct {
		name string
		n    int
		s    float64
		rho  func(t int) float64
		want float64
	}{
		// Independent draws: tau = 1, ESS = S.
		{"iid", 1000, 4000, func(int) float64 { return 0 }, 1},
		// AR(1) autocorrelations phi^t: tau = (1+phi)/(1-phi) = 3 for phi = 1/2, up to the
		// tail phi^t beyond the last positive pair, below 1e-15 here.
		{"ar1", 1000, 4000, func(t int) float64 { return math.Pow(0.5, float64(t)) }, 3},
		// The sequence stops at once (rho_0 + rho_1 < 0): R's 1:0 makes the sum rho_0, so
		// tau = -1 + 2·1 + 1 = 2, as posterior and loo compute it.
		{"stop at once", 10, 40, func(int) float64 { return -1.5 }, 2},
		// Strongly antithetic draws: tau is capped at 1/log10(S).
		{"capped", 1000, 4000, func(t int) float64 { return math.Pow(-0.99, float64(t)) }, 1 / math.Log10(4000)},
	} {
		calls := 0
		got := GeyerTau(c.n, c.s, buf, func(t int) float64 {
			calls++
			if t != calls {
				panic("lags out of order")
			}
			return c.rho(t)
		})
		if !near(got, c.want, 1e-12) {
			t.Errorf("GeyerTau(%s) = %v; want %v (tol %g)", c.name, got, c.want, 1e-12)
		}
	}
}

// TestGeyerTauMonotone: a pair sum that rises is replaced by the mean of the pair before,
// Geyer's initial monotone sequence. rho = 1, .5, .2, .1, .3, .3, then negative:
// pairs (1.5, .3, .6 → .3): tau = -1 + 2(1 + .5 + .2 + .1 + .15 + .15) = 3.2.
func TestGeyerTauMonotone(t *testing.T) {
	rho := []float64{1, 0.5, 0.2, 0.1, 0.3, 0.3, -0.4, -0.4, 0, 0, 0, 0}
	got := GeyerTau(len(rho), 1e6, make([]float64, len(rho)), func(t int) float64 { return rho[t] })
	if want := 3.2; !near(got, want, 1e-14) {
		t.Errorf("GeyerTau = %v; want %v (tol %g)", got, want, 1e-14)
	}
}

func TestPooled(t *testing.T) {
	// One series 1..5: mean 3, deviations -2..2, Σd² = 10; lag 1: (-1·-2 + 0 + 1·0 +
	// 2·1) = 4, lag 2: (0·-2 + 1·-1 + 2·0) = -1.
	r, n := Pooled([][]float64{{1, 2, 3, 4, 5}}, 2)
	if n != 5 || !near(r[0], 0.4, 1e-15) || !near(r[1], -0.1, 1e-15) {
		t.Errorf("Pooled(1..5) = %v, n = %d; want [0.4 -0.1], n = 5", r, n)
	}
	// Two series: each centred on its own mean, no product across the boundary, so
	// the second (a shifted copy) doubles both sums and leaves r as it was.
	r2, n2 := Pooled([][]float64{{1, 2, 3, 4, 5}, {11, 12, 13, 14, 15}}, 2)
	if n2 != 10 || !near(r2[0], 0.4, 1e-15) || !near(r2[1], -0.1, 1e-15) {
		t.Errorf("Pooled(1..5, 11..15) = %v, n = %d; want [0.4 -0.1], n = 10", r2, n2)
	}
	// An empty series adds nothing.
	if r3, n3 := Pooled([][]float64{{}, {1, 2, 3, 4, 5}}, 1); n3 != 5 || r3[0] != r[0] {
		t.Errorf("Pooled with an empty series = %v, n = %d; want %v, n = 5", r3, n3, r[:1])
	}
}

// BenchmarkLagSums times one direct lag, one paired direct lag and every lag by FFT for
// 8 chains of n draws.
func BenchmarkLagSums(b *testing.B) {
	for _, n := range []int{50, 500, 5000} {
		var c Chains
		copy(c.Reset(8, n), ar1(rand.New(rand.NewPCG(1, 3)), 8, n, 0.5))
		b.Run(fmt.Sprintf("lag/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				c.LagSum(3)
			}
		})
		b.Run(fmt.Sprintf("pair/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				c.LagSumPair(3)
			}
		})
		b.Run(fmt.Sprintf("fft/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				c.FFTLagSums()
			}
		})
	}
}

// TestACF: an alternating series has lag-1 autocorrelation −(n−1)/n and lag-2 (n−2)/n;
// pooling two series adds numerators and denominators, pairs never crossing series.
func TestPooledAlternating(t *testing.T) {
	alt := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(1 - 2*(i%2))
		}
		return s
	}
	r, n := Pooled([][]float64{alt(10)}, 2)
	if n != 10 || math.Abs(r[0]+0.9) > 1e-12 || math.Abs(r[1]-0.8) > 1e-12 {
		t.Errorf("Pooled(alternating 10) = %v (n %d); want [-0.9 0.8] (n 10)", r, n)
	}
	r, _ = Pooled([][]float64{alt(4), alt(6)}, 1)
	if want := -8.0 / 10; math.Abs(r[0]-want) > 1e-12 {
		t.Errorf("pooled lag-1 = %v; want %v", r[0], want)
	}
}
