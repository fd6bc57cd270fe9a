package loo

import (
	"github.com/dsamstan/dsamstan/internal/acf"
	"github.com/dsamstan/dsamstan/internal/num"
)

// directLags is how many autocovariance lags essWork sums directly before it computes
// the rest by FFT: Geyer's sequence usually stops within a few lags for likelihood
// values, and an FFT costs about as much as this many direct lags.
const directLags = 48

// essWork holds the buffers of one goroutine's relative-efficiency computations.
type essWork struct {
	m, n   int        // chains, draws per chain
	direct int        // lags summed directly before the FFT takes over; 0 means directLags
	ac     acf.Chains // centred draws
	means  []float64  // chain means
	acov   []float64  // acov[t]: mean over chains of loo's autocovariance at lag t
	rho    []float64  // Geyer's sequence's scratch
}

// relEff returns loo's relative_eff for one observation: ess_rfun(x)/S, where x holds
// the chains of one quantity (for PSIS-LOO the likelihood values exp(ll), here divided by
// a constant, which leaves the result unchanged). All chains have n ≥ 2 draws.
//
// It is ess_rfun of loo 2.5.1 (R/effective_sample_sizes.R) line for line, including two
// of its quirks, kept so that the values match: the autocovariances are scaled by
// fft_next_good_size(n)/n² rather than 1/n (see the package doc), and when Geyer's
// sequence stops at once (max_t = 0) R's 1:0 makes the sum take rho[1], so tau = 2.
func (w *essWork) relEff(x [][]float64) float64 {
	m, n := len(x), len(x[0])
	w.m, w.n = m, n
	y := w.ac.Reset(m, n)
	w.means = grow(w.means, m)
	w.acov = w.acov[:0]
	for c, xc := range x {
		mu := num.Mean(xc)
		w.means[c] = mu
		yc := y[c*n : (c+1)*n]
		for i, v := range xc {
			yc[i] = v - mu
		}
	}
	// fft_next_good_size(n) is R's nextn(n) for the n ≥ 2 draws loo needs.
	scale := float64(acf.NextFastLen(n)) / (float64(n) * float64(n))
	w.acov = append(w.acov, w.lagProduct(0)*scale)

	meanVar := w.acov[0] * float64(n) / float64(n-1)
	varPlus := meanVar * float64(n-1) / float64(n)
	if m > 1 {
		varPlus += num.Variance(w.means)
	}
	direct := w.direct
	if direct == 0 {
		direct = directLags
	}
	w.rho = grow(w.rho, n)
	// loo's ess_rfun: chains centred on R's mean, autocovariances scaled as above, and
	// r_eff = ESS/S = 1/tau. It differs from posterior's ESS (package summarise) on
	// purpose, to match loo; only Geyer's sequence is shared.
	tau := acf.GeyerTau(n, float64(m*n), w.rho, func(t int) float64 {
		for len(w.acov) <= t {
			if len(w.acov) >= direct {
				seq, size := w.ac.FFTLagSums()
				f := scale / (float64(size) * float64(m))
				for t := len(w.acov); t < n; t++ {
					w.acov = append(w.acov, seq[t]*f)
				}
				break
			}
			w.acov = append(w.acov, w.lagProduct(len(w.acov))*scale)
		}
		return 1 - (meanVar-w.acov[t])/varPlus
	})
	return 1 / tau // ESS/S = (S/tau)/S
}

// lagProduct returns the mean over chains of Σ_i y[i]·y[i+t] (centred draws).
func (w *essWork) lagProduct(t int) float64 {
	return w.ac.LagSum(t) / float64(w.m)
}

// grow returns s resized to length n, reusing its storage when it is large enough.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
