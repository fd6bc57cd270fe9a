package acf

import "math"

// GeyerTau returns the integrated autocorrelation time τ of chains of n draws (s draws
// in all) from their autocorrelations: rho(t) is the autocorrelation at lag t, averaged
// over chains, ρ̂_0 = 1. It sums autocorrelations by Geyer's initial positive sequence
// (pairs of an even and the following odd lag, until a pair's sum turns negative) made
// monotone by Geyer's initial monotone sequence, with the truncation of Vehtari et al.
// (2021) that adds the last positive even lag, and caps τ below at 1/log10(s), so that
// the effective sample size s/τ is at most s·log10(s).
//
// This is the part that posterior's .ess and loo's ess_rfun share step for step,
// including R's 1:0 when the sequence stops at once (max_t = 0), which makes the sum
// take ρ̂_0 alone. rho is called at lags 1, 2, 3, … in increasing order, each at most
// once. buf is scratch of length at least n; n must be at least 2.
func GeyerTau(n int, s float64, buf []float64, rho func(t int) float64) float64 {
	r := buf[:n]
	even, odd := 1.0, rho(1)
	r[0], r[1] = even, odd
	t := 0
	for t < n-5 && !math.IsNaN(even+odd) && even+odd > 0 {
		t += 2
		even, odd = rho(t), rho(t+1)
		if even+odd >= 0 {
			r[t], r[t+1] = even, odd
		} else {
			r[t], r[t+1] = 0, 0
		}
	}
	maxT := t
	if even > 0 { // the improved truncation
		r[maxT] = even
	}
	// Geyer's initial monotone sequence.
	for t = 0; t <= maxT-4; {
		t += 2
		if r[t]+r[t+1] > r[t-2]+r[t-1] {
			r[t] = (r[t-2] + r[t-1]) / 2
			r[t+1] = r[t]
		}
	}
	// tau = -1 + 2*sum(rho[1:max_t]) + rho[max_t+1] in R's 1-based indexing; when max_t
	// is 0, R's 1:0 selects rho[1] alone.
	sum := r[0]
	for i := 1; i < maxT; i++ {
		sum += r[i]
	}
	tau := -1 + 2*sum + r[maxT]
	return max(tau, 1/math.Log10(s))
}
