package loo

import (
	"math"

	"gonum.org/v1/gonum/dsp/fourier"
)

// directLags is how many autocovariance lags essWork sums directly before it computes
// the rest by FFT: Geyer's sequence usually stops within a few lags for likelihood
// values, and an FFT costs about as much as this many direct lags.
const directLags = 48

// essWork holds the buffers of one goroutine's relative-efficiency computations.
type essWork struct {
	m, n   int       // chains, draws per chain
	direct int       // lags summed directly before the FFT takes over; 0 means directLags
	y      []float64 // centred draws, chain after chain (m·n)
	means  []float64 // chain means
	acov   []float64 // acov[t]: mean over chains of loo's autocovariance at lag t
	rho    []float64 // rho[t]: loo's rho_hat_t[t+1]

	fft   *fourier.FFT
	pad   []float64
	coef  []complex128
	power []complex128
	seq   []float64
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
	w.y = grow(w.y, m*n)
	w.means = grow(w.means, m)
	w.acov = w.acov[:0]
	for c, xc := range x {
		mu := mean(xc)
		w.means[c] = mu
		yc := w.y[c*n : (c+1)*n]
		for i, v := range xc {
			yc[i] = v - mu
		}
	}
	scale := float64(fftNextGoodSize(n)) / (float64(n) * float64(n))
	w.acov = append(w.acov, w.lagProduct(0)*scale)

	meanVar := w.acov[0] * float64(n) / float64(n-1)
	varPlus := meanVar * float64(n-1) / float64(n)
	if m > 1 {
		varPlus += variance(w.means)
	}
	direct := w.direct
	if direct == 0 {
		direct = directLags
	}
	rhoAt := func(t int) float64 {
		for len(w.acov) <= t {
			if len(w.acov) >= direct {
				w.fftAutocovariance(scale)
				break
			}
			w.acov = append(w.acov, w.lagProduct(len(w.acov))*scale)
		}
		return 1 - (meanVar-w.acov[t])/varPlus
	}

	w.rho = grow(w.rho, n)
	clear(w.rho)
	rho := w.rho
	t := 0
	even, odd := 1.0, rhoAt(1)
	rho[0], rho[1] = even, odd
	for t < n-5 && !math.IsNaN(even+odd) && even+odd > 0 {
		t += 2
		even, odd = rhoAt(t), rhoAt(t+1)
		if even+odd >= 0 {
			rho[t], rho[t+1] = even, odd
		}
	}
	maxT := t
	if even > 0 {
		rho[maxT] = even
	}
	// Geyer's initial monotone sequence.
	for t = 0; t <= maxT-4; {
		t += 2
		if rho[t]+rho[t+1] > rho[t-2]+rho[t-1] {
			rho[t] = (rho[t-2] + rho[t-1]) / 2
			rho[t+1] = rho[t]
		}
	}
	ess := float64(m * n)
	sum := rho[0] // R's sum(rho_hat_t[1:max_t]) with max_t = 0 is rho_hat_t[1]
	if maxT > 0 {
		sum = 0
		for _, r := range rho[:maxT] {
			sum += r
		}
	}
	tau := -1 + 2*sum + rho[maxT]
	tau = math.Max(tau, 1/math.Log10(ess))
	return 1 / tau // ESS/S = (S/tau)/S
}

// lagProduct returns the mean over chains of Σ_i y[i]·y[i+t] (centred draws).
func (w *essWork) lagProduct(t int) float64 {
	m, n := w.m, w.n
	var s0, s1, s2, s3 float64
	for c := range m {
		y := w.y[c*n : (c+1)*n]
		a, b := y[:n-t], y[t:]
		b = b[:len(a)]
		i := 0
		for ; i+4 <= len(a); i += 4 {
			s0 += a[i] * b[i]
			s1 += a[i+1] * b[i+1]
			s2 += a[i+2] * b[i+2]
			s3 += a[i+3] * b[i+3]
		}
		for ; i < len(a); i++ {
			s0 += a[i] * b[i]
		}
	}
	return (s0 + s1 + s2 + s3) / float64(m)
}

// fftAutocovariance completes w.acov up to lag n-1 by FFT, as loo's autocovariance does:
// each chain is zero-padded to twice fft_next_good_size(n), so the circular
// autocorrelation is the linear one, and the chains' power spectra are summed so that one
// inverse transform serves them all. scale is the factor applied to the lag products.
func (w *essWork) fftAutocovariance(scale float64) {
	m, n := w.m, w.n
	size := 2 * fftNextGoodSize(n)
	if w.fft == nil || w.fft.Len() != size {
		if w.fft == nil {
			w.fft = fourier.NewFFT(size)
		} else {
			w.fft.Reset(size)
		}
		w.pad = make([]float64, size)
		w.coef = make([]complex128, size/2+1)
		w.power = make([]complex128, size/2+1)
		w.seq = make([]float64, size)
	}
	clear(w.power)
	for c := range m {
		copy(w.pad, w.y[c*n:(c+1)*n])
		clear(w.pad[n:])
		coef := w.fft.Coefficients(w.coef, w.pad)
		for k, z := range coef {
			re, im := real(z), imag(z)
			w.power[k] += complex(re*re+im*im, 0)
		}
	}
	// Sequence does not normalise: it returns size times the lag products' sum.
	seq := w.fft.Sequence(w.seq, w.power)
	f := scale / (float64(size) * float64(m))
	for t := len(w.acov); t < n; t++ {
		w.acov = append(w.acov, seq[t]*f)
	}
}

// fftNextGoodSize is loo's fft_next_good_size: the smallest N' ≥ n whose only prime
// factors are 2, 3 and 5, and 2 for n ≤ 2.
func fftNextGoodSize(n int) int {
	if n <= 2 {
		return 2
	}
	for ; ; n++ {
		k := n
		for _, f := range [...]int{2, 3, 5} {
			for k%f == 0 {
				k /= f
			}
		}
		if k == 1 {
			return n
		}
	}
}

// mean returns the mean of x with R's refinement pass (mean.default).
func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	s /= float64(len(x))
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return s
	}
	var t float64
	for _, v := range x {
		t += v - s
	}
	return s + t/float64(len(x))
}

// variance returns the sample variance of x (denominator len(x)-1), in two passes as R's
// var.
func variance(x []float64) float64 {
	mu := mean(x)
	var ss float64
	for _, v := range x {
		d := v - mu
		ss += d * d
	}
	return ss / float64(len(x)-1)
}

// grow returns s resized to length n, reusing its storage when it is large enough.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
