package summarise

import (
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/dsamstan/dsamstan/internal/acf"
	"github.com/dsamstan/dsamstan/internal/num"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// RhatRank returns the rank-normalised split-Rhat of the chains: the larger of the
// split-Rhat of the rank-normalised draws (bulk) and of the rank-normalised draws
// folded around their median (tail), as posterior::rhat. Values above about 1.01
// mean the chains have not mixed. All chains must have the same length.
func RhatRank(chains [][]float64) float64 { return with(chains, (*workspace).rhatRank) }

// RhatBasic returns the classic potential scale reduction factor of the chains, of
// their halves when split is true, as posterior::rhat_basic. With one unsplit chain
// there is no between-chain variance and it returns NaN. All chains must have the
// same length.
func RhatBasic(chains [][]float64, split bool) float64 {
	return with(chains, func(w *workspace) float64 {
		if split {
			return w.rhat(w.xs, w.ms, w.ns)
		}
		return w.rhat(w.x, w.m, w.n)
	})
}

// ESSBulk returns the bulk effective sample size: the ESS of the rank-normalised
// split chains, as posterior::ess_bulk. All chains must have the same length.
func ESSBulk(chains [][]float64) float64 { return with(chains, (*workspace).essBulk) }

// ESSTail returns the tail effective sample size: the smaller of the ESS of the 5%
// and the 95% quantile, as posterior::ess_tail. All chains must have the same
// length.
func ESSTail(chains [][]float64) float64 { return with(chains, (*workspace).essTail) }

// ESSMean returns the effective sample size for the mean: the ESS of the split
// chains, as posterior::ess_mean. All chains must have the same length.
func ESSMean(chains [][]float64) float64 { return with(chains, (*workspace).essMean) }

// ESSSD returns the effective sample size for the standard deviation: the ESS of the
// split chains of the squared deviations from the mean, as posterior::ess_sd
// (posterior ≥ 1.6). All chains must have the same length.
func ESSSD(chains [][]float64) float64 { return with(chains, (*workspace).essSD) }

// ESSMedian returns the effective sample size for the median, ESSQuantile(chains, 0.5).
func ESSMedian(chains [][]float64) float64 { return ESSQuantile(chains, 0.5) }

// ESSQuantile returns the effective sample size for the p-quantile: the ESS of the
// split chains of the indicator I(x <= q), q the p-quantile of all draws, as
// posterior::ess_quantile. All chains must have the same length, and p must be in
// [0, 1].
func ESSQuantile(chains [][]float64, p float64) float64 {
	checkProb(p)
	return with(chains, func(w *workspace) float64 { return w.essQuantile(p) })
}

// ESSBasic returns the effective sample size of the chains, of their halves when
// split is true, with no rank normalisation, as posterior::ess_basic. All chains
// must have the same length.
func ESSBasic(chains [][]float64, split bool) float64 {
	return with(chains, func(w *workspace) float64 {
		if split {
			return w.ess(w.xs, w.ms, w.ns)
		}
		return w.ess(w.x, w.m, w.n)
	})
}

// MCSEMean returns the Monte Carlo standard error of the mean, sd / sqrt(ESSMean),
// as posterior::mcse_mean. All chains must have the same length.
func MCSEMean(chains [][]float64) float64 { return with(chains, (*workspace).mcseMean) }

// MCSESD returns the Monte Carlo standard error of the standard deviation, from the
// variance of the variance estimate (Kenney and Keeping 1951) and a first-order
// Taylor expansion, as posterior::mcse_sd. All chains must have the same length.
func MCSESD(chains [][]float64) float64 { return with(chains, (*workspace).mcseSD) }

// MCSEMedian returns the Monte Carlo standard error of the median,
// MCSEQuantile(chains, 0.5).
func MCSEMedian(chains [][]float64) float64 { return MCSEQuantile(chains, 0.5) }

// MCSEQuantile returns the Monte Carlo standard error of the p-quantile: half the
// distance between the order statistics that bound a central 68% interval of the
// quantile's beta posterior given ESSQuantile, as posterior::mcse_quantile. All
// chains must have the same length, and p must be in [0, 1].
func MCSEQuantile(chains [][]float64, p float64) float64 {
	checkProb(p)
	return with(chains, func(w *workspace) float64 { return w.mcseQuantile(p) })
}

func checkProb(p float64) {
	if !(p >= 0 && p <= 1) {
		panic("summarise: quantile probability outside [0, 1]")
	}
}

// pool keeps workspaces (and their FFT plans) between calls of the exported
// single-parameter functions.
var pool = sync.Pool{New: func() any { return new(workspace) }}

// with loads chains into a pooled workspace and returns f of it.
func with(chains [][]float64, f func(*workspace) float64) float64 {
	w := pool.Get().(*workspace)
	defer pool.Put(w)
	w.load(chains)
	return f(w)
}

// machineEps is R's .Machine$double.eps, posterior's tolerance for constant draws.
const machineEps = 0x1p-52

// workspace holds one parameter's draws in the layouts the diagnostics need and
// every buffer they use, so that a worker summarises parameter after parameter
// without allocating. Results shared by several diagnostics (the sort, the ranks)
// are computed once per load.
type workspace struct {
	m, n   int       // chains and draws per chain
	x      []float64 // all draws, chain after chain
	ms, ns int       // split chains and their length
	xs     []float64 // split chains, chain after chain; aliases x unless n is odd
	xsBuf  []float64
	na     bool // posterior's should_return_NA(x): a non-finite draw, or constant draws
	finite bool // no NaN or ±Inf
	hasNaN bool

	haveMoments bool
	mu, sd      float64 // mean and sd of x

	haveArgsort bool
	sorter      argsorter
	svals       []float64 // xs in ascending order
	sidx        []int32   // position in xs of each svals element

	haveSorted bool
	sorted     []float64 // x in ascending order
	sortedBuf  []float64

	haveRanks    bool
	zBulk, zFold []float64 // rank-normalised xs, and rank-normalised |xs - median(x)|
	fvals        []float64
	fidx         []int32
	ztab         []float64 // ztab[2r]: normal score of (average) rank r, NaN until needed
	ztabS        int

	// ess buffers.
	am, an     int        // chains and length of the series in ac
	ac         acf.Chains // centred chains of the series whose ESS is computed
	means      []float64  // their means
	vars       []float64  // and variances, for rhat
	acov       []float64  // mean autocovariances computed so far, by lag
	directLags int        // lags to sum directly before switching to the FFT
	rho        []float64
	tmp        []float64
}

// load copies one parameter's chains into the workspace and forgets the previous
// parameter's derived results.
func (w *workspace) load(chains [][]float64) {
	m, n := len(chains), 0
	if m > 0 {
		n = len(chains[0])
	}
	for _, c := range chains {
		if len(c) != n {
			panic("summarise: chains have unequal lengths")
		}
	}
	w.m, w.n = m, n
	w.x = grow(w.x, m*n)
	for c, ch := range chains {
		copy(w.x[c*n:], ch)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var bad float64
	for _, v := range w.x {
		bad += v - v // NaN once v is ±Inf or NaN
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	w.finite = bad == 0
	w.hasNaN = false
	if !w.finite {
		w.hasNaN = slices.ContainsFunc(w.x, math.IsNaN)
	}
	w.na = !w.finite || len(w.x) == 0 || hi-lo < machineEps

	// posterior's .split_chains: x[1:floor(n/2)] and x[ceiling(n/2+1):n] of each chain.
	switch {
	case n < 2:
		w.ms, w.ns, w.xs = m, n, w.x
	case n%2 == 0:
		w.ms, w.ns, w.xs = 2*m, n/2, w.x // the halves of each chain are already in place
	default:
		h := n / 2
		w.ms, w.ns = 2*m, h
		w.xsBuf = grow(w.xsBuf, 2*m*h)
		for c, ch := range chains {
			copy(w.xsBuf[2*c*h:], ch[:h])
			copy(w.xsBuf[(2*c+1)*h:], ch[n-h:])
		}
		w.xs = w.xsBuf
	}
	w.haveArgsort, w.haveSorted, w.haveRanks, w.haveMoments = false, false, false, false
}

// moments returns the mean and the standard deviation of all draws, as R's mean
// and sd, computed once per load.
func (w *workspace) moments() (mu, sd float64) {
	if !w.haveMoments {
		w.mu = num.Mean(w.x)
		w.sd = math.NaN()
		if len(w.x) > 1 {
			var ss float64
			for _, v := range w.x {
				d := v - w.mu
				ss += d * d
			}
			w.sd = math.Sqrt(ss / float64(len(w.x)-1))
		}
		w.haveMoments = true
	}
	return w.mu, w.sd
}

// argsortXs sorts the split draws once per load. It needs draws without NaN.
func (w *workspace) argsortXs() ([]float64, []int32) {
	if !w.haveArgsort {
		w.svals = grow(w.svals, len(w.xs))
		w.svals, w.sidx = w.sorter.sort(w.xs, w.svals)
		w.haveArgsort = true
	}
	return w.svals, w.sidx
}

// sortedX returns all draws in ascending order. It needs draws without NaN.
func (w *workspace) sortedX() []float64 {
	if !w.haveSorted {
		if len(w.xs) == len(w.x) {
			w.sorted, _ = w.argsortXs() // same draws
		} else {
			w.sortedBuf = append(w.sortedBuf[:0], w.x...)
			slices.Sort(w.sortedBuf)
			w.sorted = w.sortedBuf
		}
		w.haveSorted = true
	}
	return w.sorted
}

// ranks computes the rank-normalised split draws (z_scale(.split_chains(x))) and the
// rank-normalised folded ones (z_scale(.split_chains(fold_draws(x)))) from the one
// sort of the split draws: folding around the median turns the sorted draws into
// two sorted runs, walking out from the median, which merge in linear time.
func (w *workspace) ranks() {
	if w.haveRanks {
		return
	}
	w.haveRanks = true
	svals, sidx := w.argsortXs()
	S := len(svals)
	w.zBulk = grow(w.zBulk, S)
	w.zFold = grow(w.zFold, S)
	w.normalScores(svals, sidx, w.zBulk)

	med := median(w.sortedX())
	w.fvals = grow(w.fvals, S)
	w.fidx = grow(w.fidx, S)
	r := sort.SearchFloat64s(svals, med) // first draw >= median
	l := r - 1
	// |x - med| exactly as R computes it (fl(med-v) = -fl(v-med)); each run is
	// non-decreasing because rounded subtraction is monotone.
	var fr, fl float64
	if r < S {
		fr = svals[r] - med
	}
	if l >= 0 {
		fl = med - svals[l]
	}
	for k := range S {
		if r < S && (l < 0 || fr <= fl) {
			w.fvals[k], w.fidx[k] = fr, sidx[r]
			if r++; r < S {
				fr = svals[r] - med
			}
		} else {
			w.fvals[k], w.fidx[k] = fl, sidx[l]
			if l--; l >= 0 {
				fl = med - svals[l]
			}
		}
	}
	w.normalScores(w.fvals, w.fidx, w.zFold)
}

// normalScores writes to out[idx[i]] the normal score qnorm((r - 3/8)/(S + 1/4)) of
// the rank r of vals[i], vals in ascending order, ties given their average rank (R's
// rank(ties.method = "average") and posterior's z_scale).
func (w *workspace) normalScores(vals []float64, idx []int32, out []float64) {
	S := len(vals)
	if w.ztabS != S || len(w.ztab) != 2*S+1 {
		w.ztab = grow(w.ztab, 2*S+1)
		for i := range w.ztab {
			w.ztab[i] = math.NaN()
		}
		w.ztabS = S
	}
	for i := 0; i < S; {
		j := i + 1
		for j < S && vals[j] == vals[i] {
			j++
		}
		// 0-based positions i..j-1 hold ranks i+1..j, whose average is (i+1+j)/2.
		r2 := i + 1 + j
		z := w.ztab[r2]
		if math.IsNaN(z) {
			z = mathext.NormalQuantile((float64(r2)/2 - 3.0/8) / (float64(S) + 0.25))
			w.ztab[r2] = z
		}
		for k := i; k < j; k++ {
			out[idx[k]] = z
		}
		i = j
	}
}

func (w *workspace) rhatRank() float64 {
	if !w.finite || len(w.x) == 0 {
		return math.NaN()
	}
	w.ranks()
	return nanMax(w.rhat(w.zBulk, w.ms, w.ns), w.rhat(w.zFold, w.ms, w.ns))
}

func (w *workspace) essBulk() float64 {
	if !w.finite || len(w.x) == 0 {
		return math.NaN()
	}
	w.ranks()
	return w.ess(w.zBulk, w.ms, w.ns)
}

func (w *workspace) essTail() float64 {
	return nanMin(w.essQuantile(0.05), w.essQuantile(0.95))
}

func (w *workspace) essMean() float64 { return w.ess(w.xs, w.ms, w.ns) }

func (w *workspace) essQuantile(p float64) float64 {
	if w.na {
		return math.NaN()
	}
	S := float64(len(w.x))
	if p == 1 {
		p = (S - 0.5) / S
	}
	q := Quantile(w.sortedX(), p)
	ind := grow(w.tmp, len(w.xs))
	w.tmp = ind
	for i, v := range w.xs {
		if v <= q {
			ind[i] = 1
		} else {
			ind[i] = 0
		}
	}
	return w.ess(ind, w.ms, w.ns)
}

func (w *workspace) essSD() float64 {
	ess, _ := w.essSquares()
	return ess
}

// essSquares returns the ESS of the split squared deviations from the mean, and the
// mean, which ess_sd and mcse_sd share.
func (w *workspace) essSquares() (ess, mu float64) {
	mu, _ = w.moments()
	sq := grow(w.tmp, len(w.xs))
	w.tmp = sq
	for i, v := range w.xs {
		d := v - mu
		sq[i] = d * d
	}
	return w.ess(sq, w.ms, w.ns), mu
}

func (w *workspace) mcseMean() float64 {
	_, sd := w.moments()
	return sd / math.Sqrt(w.essMean())
}

func (w *workspace) mcseSD() float64 {
	ess, mu := w.essSquares()
	if math.IsNaN(ess) {
		return math.NaN()
	}
	var m2, m4 float64
	for _, v := range w.x {
		d := v - mu
		d2 := d * d
		m2 += d2
		m4 += d2 * d2
	}
	S := float64(len(w.x))
	m2 /= S
	m4 /= S
	varvar := (m4 - m2*m2) / ess
	return math.Sqrt(varvar / m2 / 4)
}

// Probabilities of a standard normal below -1 and +1, as written in posterior.
const (
	pLowerSigma = 0.1586553
	pUpperSigma = 0.8413447
)

func (w *workspace) mcseQuantile(p float64) float64 {
	ess := w.essQuantile(p)
	if math.IsNaN(ess) {
		return math.NaN()
	}
	b := distuv.Beta{Alpha: ess*p + 1, Beta: ess*(1-p) + 1}
	a1, a2 := b.Quantile(pLowerSigma), b.Quantile(pUpperSigma)
	s := w.sortedX()
	S := len(s)
	i1 := max(int(math.Floor(a1*float64(S))), 1)
	i2 := min(int(math.Ceil(a2*float64(S))), S)
	return (s[i2-1] - s[i1-1]) / 2
}

// rhat is posterior's .rhat on m chains of n draws stored one after another in x.
func (w *workspace) rhat(x []float64, m, n int) float64 {
	if len(x) == 0 || !w.chainMoments(x, m, n) {
		return math.NaN()
	}
	var within float64
	for _, v := range w.vars[:m] {
		within += v
	}
	within /= float64(m)
	between := float64(n) * num.Variance(w.means[:m])
	return math.Sqrt((between/within + float64(n) - 1) / float64(n))
}

// chainMoments stores the mean and the variance (divisor n-1) of each of the m
// chains of x in w.means and w.vars, in two passes over the draws. It returns false
// where posterior's should_return_NA(x) is true: a non-finite draw, or a range
// below .Machine$double.eps.
func (w *workspace) chainMoments(x []float64, m, n int) bool {
	w.means = grow(w.means, m)
	w.vars = grow(w.vars, m)
	lo, hi := x[0], x[0]
	var bad float64
	for c := range m {
		seg := x[c*n : (c+1)*n]
		var s float64
		for _, v := range seg {
			s += v
			bad += v - v // NaN once v is ±Inf or NaN
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
		mu := s / float64(n)
		var ss float64
		for _, v := range seg {
			d := v - mu
			ss += d * d
		}
		w.means[c] = mu
		w.vars[c] = ss / float64(n-1)
	}
	return bad == 0 && hi-lo >= machineEps
}

// ess is posterior's .ess on m chains of n draws stored one after another in x:
// autocovariances averaged over chains, then Geyer's initial positive and initial
// monotone sequences with posterior's improved (antithetic-aware) truncation and its
// cap of the ESS at S·log10(S).
func (w *workspace) ess(x []float64, m, n int) float64 {
	if n < 3 || !w.centre(x, m, n) {
		return math.NaN()
	}
	fn := float64(n)
	meanVar := w.acovAt(0) * fn / (fn - 1)
	varPlus := meanVar * (fn - 1) / fn
	if m > 1 {
		varPlus += num.Variance(w.means[:m])
	}
	w.rho = grow(w.rho, n)
	S := float64(m * n)
	// posterior's ESS, S/tau, from autocovariances of chains centred on their plain
	// means with divisor n (acovAt). loo's relative efficiency shares Geyer's sequence
	// but differs from this on purpose in its centring and scaling: it follows loo's
	// ess_rfun instead (package loo).
	tau := acf.GeyerTau(n, S, w.rho, func(t int) float64 {
		return 1 - (meanVar-w.acovAt(t))/varPlus
	})
	return S / tau
}

// centre stores in w.ac the m chains of x minus their means (exact zeros for a
// constant chain, whose autocovariances posterior sets to zero), the means in
// w.means, and forgets the autocovariances of the previous series. It returns
// false where posterior's should_return_NA(x) is true.
func (w *workspace) centre(x []float64, m, n int) bool {
	w.am, w.an = m, n
	y := w.ac.Reset(m, n)
	w.means = grow(w.means, m)
	w.acov = w.acov[:0]
	lo, hi := x[0], x[0]
	var bad float64
	for c := range m {
		seg, yc := x[c*n:(c+1)*n], y[c*n:(c+1)*n]
		var s float64
		clo, chi := seg[0], seg[0]
		for _, v := range seg {
			s += v
			bad += v - v // NaN once v is ±Inf or NaN
			if v < clo {
				clo = v
			}
			if v > chi {
				chi = v
			}
		}
		lo, hi = min(lo, clo), max(hi, chi)
		mu := s / float64(n)
		w.means[c] = mu
		if clo == chi {
			clear(yc)
			continue
		}
		for i, v := range seg {
			yc[i] = v - mu
		}
	}
	// A lag computed directly costs about m*n multiply-adds; all lags by FFT cost
	// about m forward transforms of 2n points and one inverse. Geyer's sequence
	// usually stops after a few lags, so the first lags are summed directly and
	// the FFT is used only once the sequence runs past the break-even lag.
	w.directLags = int(directLagFactor * math.Log2(float64(2*n)))
	return bad == 0 && hi-lo >= machineEps
}

// directLagFactor sets the break-even lag between direct sums and the FFT, in
// units of log2 of the FFT length (measured with BenchmarkAutocovariance).
var directLagFactor = 10.0

// acovAt returns the lag-t autocovariance (divisor n) of the centred chains,
// averaged over chains: posterior's rowMeans of autocovariance(), whose rescaling
// by var(x) reduces to dividing by n. Lags are requested in increasing order, in
// pairs (even, odd) after lag 1, and summed directly in pairs.
func (w *workspace) acovAt(t int) float64 {
	for len(w.acov) <= t && len(w.acov) < w.directLags {
		s0, s1 := w.ac.LagSumPair(len(w.acov))
		mn := float64(w.am * w.an)
		w.acov = append(w.acov, s0/mn, s1/mn)
	}
	if t >= len(w.acov) {
		w.fftAutocovariance()
	}
	return w.acov[t]
}

// fftAutocovariance completes w.acov up to lag n-1 from the lag sums of one FFT.
func (w *workspace) fftAutocovariance() {
	seq, size := w.ac.FFTLagSums()
	scale := 1 / (float64(size) * float64(w.am) * float64(w.an))
	for t := len(w.acov); t < w.an; t++ {
		w.acov = append(w.acov, seq[t]*scale)
	}
}

// median is R's median: the middle value, or the mean of the two middle values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// nanMax and nanMin propagate NaN as R's max and min propagate NA.
func nanMax(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return max(a, b)
}

func nanMin(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return min(a, b)
}
