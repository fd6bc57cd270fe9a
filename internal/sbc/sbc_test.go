package sbc

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRank(t *testing.T) {
	chains := [][]float64{{5, 1, 7, 2, 9, 3}, {4, 8, 6, 0, 2, 1}}
	for _, c := range []struct {
		thin    int
		truth   float64
		rank, n int
		desc    string
	}{
		{1, 4.5, 7, 12, "all draws: 1 2 3 | 4 0 2 1 below"},
		{2, 4.5, 5, 6, "draws 2, 4, 6 of each chain: 1 2 3 | 8 0 1"},
		{3, 4.5, 2, 4, "draws 3, 6: 7 3 | 6 1"},
		{6, 100, 2, 2, "the last draw of each chain"},
		{1, -1, 0, 12, "truth below every draw"},
	} {
		rank, n := Rank(chains, c.truth, c.thin)
		if rank != c.rank || n != c.n {
			t.Errorf("Rank(thin %d, truth %g) = %d of %d; want %d of %d (%s)", c.thin, c.truth, rank, n, c.rank, c.n, c.desc)
		}
	}
}

func TestThin(t *testing.T) {
	for _, c := range []struct {
		draws, chains int
		ess           float64
		want          int
	}{
		{4000, 4, 4000, 1},
		{4000, 4, 5000, 1}, // antithetic chains: no thinning
		{4000, 4, 399, 11}, // ceil(4000/399)
		{4000, 4, 400, 10},
		{4000, 4, 0.5, 1000}, // at most one draw per chain left
		{4000, 4, math.NaN(), 1000},
		{4000, 4, math.Inf(1), 1000},
	} {
		if got := Thin(c.draws, c.chains, c.ess); got != c.want {
			t.Errorf("Thin(%d, %d, %g) = %d; want %d", c.draws, c.chains, c.ess, got, c.want)
		}
	}
}

func TestHistogramExpected(t *testing.T) {
	// Ranks in 0..2 over 2 bins: 0 and 1 fall in bin 0, 2 in bin 1, so the expected
	// counts are 2/3 and 1/3 per rank; ranks in 0..9 fill 5 bins evenly.
	counts, expected := Histogram([]int{0, 2, 5, 9}, []int{2, 2, 9, 9}, 2)
	want := []float64{2.0/3 + 2.0/3 + 0.5 + 0.5, 1.0/3 + 1.0/3 + 0.5 + 0.5}
	if !slices.Equal(counts, []float64{1, 3}) {
		t.Errorf("counts %v; want [1 3]", counts)
	}
	for b := range want {
		if math.Abs(expected[b]-want[b]) > 1e-12 {
			t.Errorf("expected %v; want %v", expected, want)
		}
	}
}

// TestUniformity checks the chi-square test against reference values: counts 10 and 0
// where 5 and 5 are expected give chi-square 10 on 1 degree of freedom, p =
// pchisq(10, 1, lower.tail = FALSE) = 0.0015654 (R 4.3).
func TestUniformity(t *testing.T) {
	ranks := make([]int, 10)
	ns := make([]int, 10)
	for i := range ns {
		ns[i] = 99
	}
	chi2, p := Uniformity(ranks, ns, 2)
	if math.Abs(chi2-10) > 1e-9 || math.Abs(p-0.0015654022580025) > 1e-9 {
		t.Errorf("Uniformity(all 0) = %v, %v; want 10, 0.0015654 (tol 1e-9)", chi2, p)
	}
	for i := range ranks {
		ranks[i] = 10 * i // one per bin of 10
	}
	if chi2, p := Uniformity(ranks, ns, 10); math.Abs(chi2) > 1e-20 || math.Abs(p-1) > 1e-12 {
		t.Errorf("Uniformity(one rank per bin) = %v, %v; want 0, 1", chi2, p)
	}
	if chi2, p := Uniformity(nil, nil, 10); !math.IsNaN(chi2) || !math.IsNaN(p) {
		t.Errorf("Uniformity(no ranks) = %v, %v; want NaN", chi2, p)
	}
}

// TestBand checks the binomial band against qbinom(c(0.005, 0.995), 100, 0.1) = 3, 18
// (R 4.3).
func TestBand(t *testing.T) {
	if lo, hi := Band(100, 0.1, 0.99); lo != 3 || hi != 18 {
		t.Errorf("Band(100, 0.1, 0.99) = %v, %v; want 3, 18", lo, hi)
	}
}

func TestCovered(t *testing.T) {
	draws := make([]float64, 101)
	for i := range draws {
		draws[100-i] = float64(i) // 0..100, unsorted
	}
	// type 7 quantiles of 0..100: q5 = 5, q95 = 95.
	for truth, want := range map[float64]bool{50: true, 5: true, 95: true, 4.9: false, 95.1: false} {
		if got := Covered(slices.Clone(draws), truth, 0.9); got != want {
			t.Errorf("Covered(0..100, %v) = %v; want %v", truth, got, want)
		}
	}
}

// TestCalibratedPosterior checks the whole recipe on known truth: θ ~ normal(0, 1),
// y ~ normal(θ, 1); the exact posterior normal(y/2, 1/√2) gives uniform ranks, one
// shifted by half its sd does not.
func TestCalibratedPosterior(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const sims, draws = 400, 99
	for _, c := range []struct {
		shift   float64
		uniform bool
	}{{0, true}, {0.5, false}} {
		var ranks, ns []int
		covered := 0
		for range sims {
			theta := rng.NormFloat64()
			y := theta + rng.NormFloat64()
			post := make([]float64, draws)
			for i := range post {
				post[i] = y/2 + c.shift/math.Sqrt2 + rng.NormFloat64()/math.Sqrt2
			}
			r, n := Rank([][]float64{post}, theta, 1)
			ranks, ns = append(ranks, r), append(ns, n)
			if Covered(post, theta, 0.9) {
				covered++
			}
		}
		_, p := Uniformity(ranks, ns, Bins(sims))
		if c.uniform && p < 0.001 || !c.uniform && p > 1e-6 {
			t.Errorf("shift %v: uniformity p = %.3g; want uniform %v", c.shift, p, c.uniform)
		}
		if share := float64(covered) / sims; c.uniform && math.Abs(share-0.9) > 0.05 {
			t.Errorf("coverage of the exact posterior %.3f; want 0.9 ± 0.05", share)
		}
	}
}

// TestTruncNormal checks the truncated normal's moments against the formulas of Johnson,
// Kotz and Balakrishnan (1994), Continuous Univariate Distributions 1, section 10.1: with
// λ = φ(α)/(1 − Φ(α)) for a lower bound at α sds, the mean is μ + σλ and the variance
// σ²(1 + αλ − λ²).
func TestTruncNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		mean, sd, lo, hi float64
		wantMean, wantSD float64
	}{
		// α = −0.5: φ = 0.35206533, 1 − Φ = 0.69146246, λ = 0.50915956
		{0.5, 1, 0, math.Inf(1), 0.5 + 0.50915956, math.Sqrt(1 - 0.5*0.50915956 - 0.50915956*0.50915956)},
		// half-normal: mean σ√(2/π), sd σ√(1 − 2/π)
		{0, 2, 0, math.Inf(1), 2 * math.Sqrt(2/math.Pi), 2 * math.Sqrt(1-2/math.Pi)},
		// the same, as an upper bound (mirrored)
		{0, 2, math.Inf(-1), 0, -2 * math.Sqrt(2/math.Pi), 2 * math.Sqrt(1-2/math.Pi)},
		// far tail, α = 10: λ = 10.098155
		{0, 1, 10, math.Inf(1), 10.098155, math.Sqrt(1 + 10*10.098155 - 10.098155*10.098155)},
	} {
		const n = 40000
		x := make([]float64, n)
		for i := range x {
			v, err := TruncNormal(rng, c.mean, c.sd, c.lo, c.hi)
			if err != nil {
				t.Fatal(err)
			}
			if v < c.lo || v > c.hi {
				t.Fatalf("TruncNormal(%g, %g, [%g, %g]) = %g, outside the bounds", c.mean, c.sd, c.lo, c.hi, v)
			}
			x[i] = v
		}
		m, s := meanSD(x)
		tol := 5 * c.wantSD / math.Sqrt(n)
		if math.Abs(m-c.wantMean) > tol || math.Abs(s-c.wantSD) > 0.03*c.wantSD {
			t.Errorf("TruncNormal(%g, %g, [%g, %g]): mean %.4f sd %.4f; want %.4f (tol %.3g), %.4f (3%%)",
				c.mean, c.sd, c.lo, c.hi, m, s, c.wantMean, tol, c.wantSD)
		}
	}
	if _, err := TruncNormal(rng, 0, 1, 50, math.Inf(1)); err == nil {
		t.Error("TruncNormal 50 sds into the tail: no error; want one")
	}
}

func meanSD(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		sd += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)-1))
}

// TestLKJCholesky checks that the draws are Cholesky factors of correlation matrices and
// that the correlations of LKJ(η) in dimension 3 has the marginal of 2·Beta(b, b) − 1 with
// b = η − 1 + 3/2 (Lewandowski, Kurowicka and Joe 2009, section 3.2): for η = 2, mean 0
// and variance 1/(2b + 1) = 1/6.
func TestLKJCholesky(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var r []float64
	for range 20000 {
		l := LKJCholesky(rng, 3, 2)
		for a := range 3 {
			s := 0.0
			for c := range 3 {
				s += l[a][c] * l[a][c]
			}
			if math.Abs(s-1) > 1e-12 || l[a][a] <= 0 {
				t.Fatalf("row %d of %v: squared norm %v", a, l, s)
			}
		}
		r = append(r, l[2][0]*l[1][0]+l[2][1]*l[1][1], l[1][0])
	}
	m, s := meanSD(r)
	if math.Abs(m) > 0.015 || math.Abs(s*s-1.0/6) > 0.01 {
		t.Errorf("cor[2,3] of LKJ(2): mean %.4f variance %.4f; want 0, 1/6 (tol 0.015, 0.01)", m, s*s)
	}
}
