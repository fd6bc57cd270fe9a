package loo

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestBand(t *testing.T) {
	// loo 2.5's k_cut: (-Inf, 0.5], (0.5, 0.7], (0.7, 1], (1, Inf).
	for _, c := range []struct {
		k    float64
		want int
	}{
		{-0.3, 0}, {0.5, 0}, {0.5000001, 1}, {0.7, 1}, {0.71, 2}, {1, 2}, {1.01, 3}, {math.Inf(1), 3},
	} {
		if got := Band(c.k); got != c.want {
			t.Errorf("Band(%v) = %d (%s); want %d (%s)", c.k, got, BandNames[got], c.want, BandNames[c.want])
		}
	}
}

// TestPSISWorkers: the result does not depend on the number of goroutines.
func TestPSISWorkers(t *testing.T) {
	m := withOutliers(t)
	one := psisOf(t, m, 1)
	for _, w := range []int{2, 7, 1000} {
		if got := psisOf(t, m, w); !reflect.DeepEqual(sanitise(got), sanitise(one)) {
			t.Errorf("PSIS with %d workers differs from 1 worker", w)
		}
	}
}

// sanitise replaces NaN (which DeepEqual never matches) by a sentinel.
func sanitise(r *Result) *Result {
	c := *r
	if math.IsNaN(c.MCSE) {
		c.MCSE = -12345
	}
	return &c
}

// TestPSISShortTail: with 10 draws the tail has ceil(0.2·10) = 2 < 5 draws, so nothing is
// smoothed, k̂ is Inf, and elpd_loo is the raw importance-sampling estimate, the log of
// the harmonic mean of the likelihoods: log(S / Σ 1/p(y_i|θ_s)).
func TestPSISShortTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	ll := make([][][]float64, 3)
	for i := range ll {
		ll[i] = [][]float64{make([]float64, 10)}
		for d := range ll[i][0] {
			ll[i][0][d] = -1 - rng.Float64()
		}
	}
	r, err := PSIS(3, func(i int) [][]float64 { return ll[i] }, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range r.Pointwise {
		var s float64
		for _, v := range ll[i][0] {
			s += math.Exp(-v)
		}
		if want := math.Log(10 / s); !near(p.ELPD, want, 1e-13) {
			t.Errorf("observation %d: elpd_loo = %v; want %v (harmonic mean)", i+1, p.ELPD, want)
		}
		if !math.IsInf(p.ParetoK, 1) {
			t.Errorf("observation %d: k̂ = %v; want +Inf", i+1, p.ParetoK)
		}
	}
	if r.KCounts != [4]int{0, 0, 0, 3} || !math.IsNaN(r.MCSE) {
		t.Errorf("KCounts = %v, MCSE = %v; want [0 0 0 3], NaN", r.KCounts, r.MCSE)
	}
	if len(r.Warnings) != 2 || !strings.Contains(r.Warnings[0], "could not be fitted (fewer than 5 tail draws") {
		t.Errorf("Warnings = %q; want the short-tail warning and the k > 0.7 warning", r.Warnings)
	}
}

func TestPSISErrors(t *testing.T) {
	good := [][]float64{{-1, -2, -3}, {-1, -2, -1.5}}
	for _, c := range []struct {
		name string
		n    int
		ll   func(i int) [][]float64
		want string
	}{
		{"no observations", 0, nil, "loo: 0 observations; need at least 1"},
		{"one draw", 1, func(int) [][]float64 { return [][]float64{{-1}} }, "loo: observation 1 has 1 chains of 1 draws; need at least 1 chain of 2 draws"},
		{"ragged chains", 2, func(i int) [][]float64 {
			if i == 1 {
				return [][]float64{{-1, -2, -3}, {-1, -2}}
			}
			return good
		}, "loo: observation 2: chain 2 has 2 draws, chain 1 3; chains must have equal lengths"},
		{"other shape", 2, func(i int) [][]float64 {
			if i == 1 {
				return [][]float64{{-1, -2, -3}}
			}
			return good
		}, "loo: observation 2 has 1 chains of 3 draws, observation 1 has 2 of 3; every observation needs the same draws"},
		{"infinite", 2, func(i int) [][]float64 {
			if i == 1 {
				return [][]float64{{-1, -2, -3}, {-1, math.Inf(-1), -1.5}}
			}
			return good
		}, "loo: observation 2, chain 2, draw 2: log-likelihood is -Inf; every value must be finite"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := PSIS(c.n, c.ll, 2)
			if err == nil || err.Error() != c.want {
				t.Errorf("PSIS error = %v; want %q", err, c.want)
			}
		})
	}
}

// TestGPDFitRecoversShape: on 20 000 generalized Pareto draws (inverse CDF, seeded), the
// Zhang–Stephens fit recovers k and σ (the prior's pull, 10/(n+10), is negligible here).
func TestGPDFitRecoversShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, want := range []struct{ k, sigma float64 }{{0.3, 1}, {0.8, 2}, {-0.2, 0.5}} {
		x := make([]float64, 20000)
		for i := range x {
			x[i] = qgpd(rng.Float64(), want.k, want.sigma)
		}
		slices.Sort(x)
		k, sigma, _ := gpdFit(x, nil)
		if math.Abs(k-want.k) > 0.04 || math.Abs(sigma/want.sigma-1) > 0.05 {
			t.Errorf("gpdFit(GPD(k=%g, σ=%g) draws) = k %v, σ %v", want.k, want.sigma, k, sigma)
		}
	}
}

// TestRelEffAR1: r_eff of AR(1) chains approaches (1-φ)/(1+φ); the FFT path gives the
// direct sums' value.
func TestRelEffAR1(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, phi := range []float64{0, 0.5, 0.9} {
		chains := make([][]float64, 4)
		for c := range chains {
			chains[c] = make([]float64, 5000)
			x := rng.NormFloat64() / math.Sqrt(1-phi*phi)
			for d := range chains[c] {
				x = phi*x + rng.NormFloat64()
				chains[c][d] = x
			}
		}
		var direct, fft essWork
		fft.direct = 1
		got := direct.relEff(chains)
		if want := (1 - phi) / (1 + phi); math.Abs(got/want-1) > 0.1 {
			t.Errorf("φ = %g: r_eff = %v; want about %v", phi, got, want)
		}
		if viaFFT := fft.relEff(chains); !near(viaFFT, got, 1e-10) {
			t.Errorf("φ = %g: r_eff by FFT = %.15g, direct %.15g", phi, viaFFT, got)
		}
	}
}

// TestPSISWideSpread: log-likelihoods spanning thousands of nats (where loo's exp(ll)
// underflows to 0 and its MCSE is NA) still give finite estimates bounded by the draws'
// log-likelihoods. One draw carries all the weight, so k̂ is +Inf, as in loo: the tail's
// exceedances underflow to 0 and the Pareto fit is NaN.
func TestPSISWideSpread(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ll := [][]float64{make([]float64, 500), make([]float64, 500)}
	for _, ch := range ll {
		for d := range ch {
			ch[d] = -5 - 3000*math.Abs(rng.NormFloat64())
		}
	}
	r, err := PSIS(1, func(int) [][]float64 { return ll }, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Pointwise[0]
	lo, hi := slices.Min(slices.Concat(ll...)), slices.Max(slices.Concat(ll...))
	if !(p.ELPD >= lo && p.ELPD <= p.LPD && p.LPD <= hi) {
		t.Errorf("elpd_loo %v, lpd %v; want min ll %v ≤ elpd_loo ≤ lpd ≤ max ll %v", p.ELPD, p.LPD, lo, hi)
	}
	if !math.IsInf(p.ParetoK, 1) {
		t.Errorf("k̂ = %v; want +Inf", p.ParetoK)
	}
	for name, v := range map[string]float64{"mcse": p.MCSE, "n_eff": p.NEff, "r_eff": p.REff} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %v; want finite", name, v)
		}
	}
}
