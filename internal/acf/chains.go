package acf

import "gonum.org/v1/gonum/dsp/fourier"

// Chains holds m chains of n centred values each, one after another, and the buffers and
// FFT plan its lag sums use, so that an estimator computes series after series without
// allocating. The zero value is ready to use. A Chains is not safe for concurrent use.
type Chains struct {
	m, n  int
	y     []float64
	fft   *fourier.FFT
	pad   []float64
	coef  []complex128
	power []complex128
	seq   []float64
}

// Reset makes c hold m chains of n values and returns their storage, chain k at
// y[k*n:(k+1)*n], for the caller to fill with its centred values. What the storage held
// before is not cleared.
func (c *Chains) Reset(m, n int) []float64 {
	c.m, c.n = m, n
	if cap(c.y) < m*n {
		c.y = make([]float64, m*n)
	}
	c.y = c.y[:m*n]
	return c.y
}

// LagSum returns the lag-t product sum Σ_k Σ_i y_k[i]·y_k[i+t] over the chains k and
// 0 ≤ i < n−t. t must be in [0, n).
func (c *Chains) LagSum(t int) float64 {
	m, n := c.m, c.n
	var s0, s1, s2, s3 float64
	for k := range m {
		y := c.y[k*n : (k+1)*n]
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
	return s0 + s1 + s2 + s3
}

// LagSumPair returns the lag-t and lag-(t+1) product sums, as LagSum(t) and
// LagSum(t+1), from one pass over the chains: that halves the loads and doubles the
// independent additions. The sums are added in another order than LagSum's, so they may
// differ from it in the last bits. A lag at or beyond n gives 0.
func (c *Chains) LagSumPair(t int) (lagT, lagT1 float64) {
	m, n := c.m, c.n
	if t+1 >= n {
		if t >= n {
			return 0, 0
		}
		return c.LagSum(t), 0
	}
	var s0, s1, s2, s3, r0, r1, r2, r3 float64
	for k := range m {
		y := c.y[k*n : (k+1)*n]
		l := n - t - 1
		a, b, b1 := y[:l], y[t:t+l], y[t+1:t+1+l]
		i := 0
		for ; i+4 <= l; i += 4 {
			s0 += a[i] * b[i]
			s1 += a[i+1] * b[i+1]
			s2 += a[i+2] * b[i+2]
			s3 += a[i+3] * b[i+3]
			r0 += a[i] * b1[i]
			r1 += a[i+1] * b1[i+1]
			r2 += a[i+2] * b1[i+2]
			r3 += a[i+3] * b1[i+3]
		}
		for ; i < l; i++ {
			s0 += a[i] * b[i]
			r0 += a[i] * b1[i]
		}
		s1 += y[l] * y[l+t] // the last product of lag t
	}
	return s0 + s1 + s2 + s3, r0 + r1 + r2 + r3
}

// FFTLagSums returns the product sums of every lag at once: seq[t] is size·LagSum(t) up
// to rounding for 0 ≤ t < n, where size = 2·NextFastLen(n) is the transform length. Each
// chain is zero-padded to size, so that its circular autocorrelation equals the linear
// one at every lag, and the chains' power spectra are summed, so that one inverse
// transform serves them all. seq is valid until the next call; seq[n:] means nothing.
func (c *Chains) FFTLagSums() (seq []float64, size int) {
	m, n := c.m, c.n
	size = 2 * NextFastLen(n)
	if c.fft == nil || c.fft.Len() != size {
		if c.fft == nil {
			c.fft = fourier.NewFFT(size)
		} else {
			c.fft.Reset(size)
		}
		c.pad = make([]float64, size)
		c.coef = make([]complex128, size/2+1)
		c.power = make([]complex128, size/2+1)
		c.seq = make([]float64, size)
	}
	clear(c.power)
	for k := range m {
		copy(c.pad, c.y[k*n:(k+1)*n])
		clear(c.pad[n:])
		coef := c.fft.Coefficients(c.coef, c.pad)
		for j, z := range coef {
			re, im := real(z), imag(z)
			c.power[j] += complex(re*re+im*im, 0)
		}
	}
	// Sequence does not normalise: it returns size times the lag products' sum.
	return c.fft.Sequence(c.seq, c.power), size
}

// NextFastLen returns the smallest integer ≥ n whose only prime factors are 2, 3 and 5,
// the lengths gonum's FFT (like R's fft) transforms fastest: R's nextn(n). n must be
// positive.
func NextFastLen(n int) int {
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
