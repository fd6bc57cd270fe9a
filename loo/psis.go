package loo

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dsamstan/dsamstan/internal/num"
)

// Pareto k̂ band limits (loo 2.5's pareto_k_table; each band is closed on the right).
const (
	KOK       = 0.5 // k̂ ≤ KOK: good
	KBad      = 0.7 // KOK < k̂ ≤ KBad: ok; above: the observation is influential and PSIS unreliable
	KVeryBad  = 1.0 // KBad < k̂ ≤ KVeryBad: bad; above: very bad, PSIS fails
	minTail   = 5   // loo's enough_tail_samples: fewer tail draws leave k̂ = +Inf, unsmoothed
	mcseScore = 1000
)

// BandNames names the Pareto k̂ bands of Result.KCounts, as loo prints them.
var BandNames = [4]string{"good", "ok", "bad", "very_bad"}

// Band returns the index in BandNames of k̂'s band: 0 for k ≤ 0.5, 1 for (0.5, 0.7], 2 for
// (0.7, 1], 3 for k > 1 (and +Inf).
func Band(k float64) int {
	switch {
	case k <= KOK:
		return 0
	case k <= KBad:
		return 1
	case k <= KVeryBad:
		return 2
	}
	return 3
}

// Result is PSIS-LOO for one model.
type Result struct {
	// ELPD is elpd_loo, the sum of the pointwise ELPDs (higher is better); ELPDSE its
	// standard error sqrt(N·var(pointwise)).
	ELPD, ELPDSE float64
	// PLOO is p_loo = lpd − elpd_loo, the effective number of parameters.
	PLOO, PLOOSE float64
	// LOOIC is −2·elpd_loo (lower is better).
	LOOIC, LOOICSE float64
	// MCSE is the Monte Carlo standard error of ELPD, sqrt(Σ mcse_i²); NaN when any k̂ > 0.7,
	// where loo reports NA.
	MCSE float64
	// N is the number of observations, S the number of draws (0 when read back from
	// loo_pointwise.csv, which does not record it).
	N, S int
	// KThreshold is min(1 − 1/log10(S), 0.7), the sample-size-dependent k̂ threshold of
	// loo ≥ 2.6, for information (NaN when S is unknown); KCounts and Warnings use the fixed
	// bands.
	KThreshold float64
	// KCounts counts observations per Pareto k̂ band: k ≤ 0.5, (0.5, 0.7], (0.7, 1], > 1.
	KCounts [4]int
	// Pointwise holds one Point per observation, in order.
	Pointwise []Point
	// Warnings say what users should be told: k̂ above 0.5 or 0.7, tails too short to fit.
	Warnings []string
}

// Point is PSIS-LOO for one observation: the columns of loo's pointwise table, plus its
// diagnostics.
type Point struct {
	// ELPD is elpd_loo = log Σ_s w_s·p(y_i | θ_s), the log of the PSIS estimate of
	// p(y_i | y_-i); MCSE its Monte Carlo standard error (mcse_elpd_loo).
	ELPD, MCSE float64
	// LPD is log mean_s p(y_i | θ_s), the in-sample log predictive density.
	LPD float64
	// PLOO is LPD − ELPD; LOOIC is −2·ELPD.
	PLOO, LOOIC float64
	// ParetoK is the Pareto shape k̂ of the importance ratios (loo's influence_pareto_k);
	// +Inf when the tail was too short or constant to fit.
	ParetoK float64
	// NEff is the PSIS effective sample size r_eff/Σ w²; REff the relative efficiency of
	// the likelihood values.
	NEff, REff float64
}

// Influential reports k̂ > 0.7: the observation pulls the posterior so much that PSIS-LOO
// is unreliable for it.
func (p Point) Influential() bool { return p.ParetoK > KBad }

// PSIS computes PSIS-LOO from the pointwise log-likelihood of n observations.
// loglik(i), for i in [0, n), returns observation i's log-likelihood per chain and draw
// (chains × draws, every chain the same length, at least 2 draws); the chains give the
// relative efficiencies as loo::relative_eff does. Every observation must have the same
// chains and draws, and every value must be finite.
//
// PSIS calls loglik once per observation, from up to workers goroutines at once
// (workers ≤ 0 means GOMAXPROCS), so loglik must be safe for concurrent use; PSIS neither
// modifies nor keeps the slices it returns. Memory is O(workers·S) besides the result,
// whatever n, so loglik can compute each observation's values on demand.
func PSIS(n int, loglik func(i int) [][]float64, workers int) (*Result, error) {
	r, _, err := psis(n, func(i int) ([][]float64, [][]float64) { return loglik(i), nil }, false, workers)
	return r, err
}

// PSISExpect computes PSIS-LOO as PSIS does and, in the same pass, the leave-one-out
// expectation of a per-draw quantity for every observation (loo's E_loo with type "mean"):
// E_i = Σ_s w_is·f_i,s, with w_is observation i's normalised, Pareto-smoothed importance
// weights, the weights its elpd_loo uses. pointwise(i) returns observation i's
// log-likelihood ll and quantity f, both chains × draws, every value finite (one call, as
// both usually come from the same per-draw predictions); it has PSIS's loglik's
// concurrency contract. The Result is the one PSIS returns.
//
// With f_i,s = F(y_i | θ_s), the predictive CDF of draw s at the observed value, E_i is the
// LOO probability integral transform (LOO-PIT) of observation i, P(ỹ_i ≤ y_i | y_−i): for a
// well-calibrated model the values are close to uniform on [0, 1]. Computing the expectation
// of the CDF, rather than counting predictive draws at or below y_i as loo_pit does for
// draws of ỹ, leaves no ties and no extra Monte Carlo noise.
func PSISExpect(n int, pointwise func(i int) (ll, f [][]float64), workers int) (*Result, []float64, error) {
	if pointwise == nil {
		return nil, nil, fmt.Errorf("loo: PSISExpect needs a function of the draws")
	}
	return psis(n, pointwise, true, workers)
}

// psis is PSIS, and PSISExpect when expectF (pointwise's f is then used).
func psis(n int, pointwise func(i int) (ll, f [][]float64), expectF bool, workers int) (*Result, []float64, error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("loo: %d observations; need at least 1", n)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	pts := make([]Point, n)
	errs := make([]error, n)
	var expect []float64
	if expectF {
		expect = make([]float64, n)
	}
	var (
		next   atomic.Int64
		failed atomic.Bool
		shape  [2]int // chains, draws of observation 0
		wg     sync.WaitGroup
	)
	first, firstF := pointwise(0)
	if err := checkShape(0, first, nil); err != nil {
		return nil, nil, err
	}
	shape = [2]int{len(first), len(first[0])}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var w work
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				ll, f := first, firstF
				if i > 0 {
					ll, f = pointwise(i)
				}
				if err := checkShape(i, ll, &shape); err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
				p, err := w.point(i, ll)
				if err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
				pts[i] = p
				if expectF {
					if expect[i], err = w.expect(i, f, shape); err != nil {
						errs[i] = err
						failed.Store(true)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return newResult(pts, shape[0]*shape[1]), expect, nil
}

// expect returns Σ_s w_s·v_s over the normalised log weights w.lw that point left for
// observation i (0-based, for messages); v must have the shape of the log-likelihood.
func (w *work) expect(i int, v [][]float64, shape [2]int) (float64, error) {
	if len(v) != shape[0] || (len(v) > 0 && len(v[0]) != shape[1]) {
		d := 0
		if len(v) > 0 {
			d = len(v[0])
		}
		return 0, fmt.Errorf("loo: observation %d: the quantity to average has %d chains of %d draws, the log-likelihood %d of %d", i+1, len(v), d, shape[0], shape[1])
	}
	n := shape[1]
	var e float64
	for c, ch := range v {
		if len(ch) != n {
			return 0, fmt.Errorf("loo: observation %d: the quantity to average has chains of unequal lengths", i+1)
		}
		for d, x := range ch {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return 0, fmt.Errorf("loo: observation %d, chain %d, draw %d: the quantity to average is %v; every value must be finite", i+1, c+1, d+1, x)
			}
			e += math.Exp(w.lw[c*n+d]) * x
		}
	}
	return e, nil
}

// checkShape checks that ll has at least one chain of at least 2 draws, chains of equal
// length, and, with want, the shape want.
func checkShape(i int, ll [][]float64, want *[2]int) error {
	if len(ll) == 0 || len(ll[0]) < 2 {
		d := 0
		if len(ll) > 0 {
			d = len(ll[0])
		}
		return fmt.Errorf("loo: observation %d has %d chains of %d draws; need at least 1 chain of 2 draws", i+1, len(ll), d)
	}
	for c, ch := range ll {
		if len(ch) != len(ll[0]) {
			return fmt.Errorf("loo: observation %d: chain %d has %d draws, chain 1 %d; chains must have equal lengths", i+1, c+1, len(ch), len(ll[0]))
		}
	}
	if want != nil && (len(ll) != want[0] || len(ll[0]) != want[1]) {
		return fmt.Errorf("loo: observation %d has %d chains of %d draws, observation 1 has %d of %d; every observation needs the same draws", i+1, len(ll), len(ll[0]), want[0], want[1])
	}
	return nil
}

// newResult totals the pointwise values as loo's table_of_estimates does.
func newResult(pts []Point, s int) *Result {
	n := len(pts)
	r := &Result{N: n, S: s, Pointwise: pts, KThreshold: math.NaN()}
	if s > 0 {
		r.KThreshold = math.Min(1-1/math.Log10(float64(s)), KBad)
	}
	col := make([]float64, n)
	total := func(f func(Point) float64) (sum, se float64) {
		for i, p := range pts {
			col[i] = f(p)
			sum += col[i]
		}
		if n < 2 {
			return sum, math.NaN() // R's var of one value is NA
		}
		return sum, math.Sqrt(float64(n) * num.Variance(col))
	}
	r.ELPD, r.ELPDSE = total(func(p Point) float64 { return p.ELPD })
	r.PLOO, r.PLOOSE = total(func(p Point) float64 { return p.PLOO })
	r.LOOIC, r.LOOICSE = total(func(p Point) float64 { return p.LOOIC })

	var mc2 float64
	var tooShort, bad, ok []int
	for i, p := range pts {
		r.KCounts[Band(p.ParetoK)]++
		mc2 += p.MCSE * p.MCSE
		switch {
		case math.IsInf(p.ParetoK, 1):
			tooShort = append(tooShort, i+1)
			bad = append(bad, i+1)
		case p.ParetoK > KBad:
			bad = append(bad, i+1)
		case p.ParetoK > KOK:
			ok = append(ok, i+1)
		}
	}
	r.MCSE = math.Sqrt(mc2)
	if len(bad) > 0 {
		r.MCSE = math.NaN()
	}
	if len(tooShort) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"%s (%s): Pareto k is Inf: the generalized Pareto distribution could not be fitted (fewer than %d tail draws, a constant tail, or one draw carrying all the weight) and the weights are not smoothed; use more draws",
			count(len(tooShort), "observation"), listObs(tooShort), minTail))
	}
	if len(bad) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"%s of %d %s Pareto k > 0.7 (%s): PSIS-LOO is unreliable for them and elpd_loo has no Monte Carlo SE; check those rows for outliers, and prefer time-series cross-validation when there are many",
			count(len(bad), "observation"), n, hasHave(len(bad)), listObs(bad)))
	} else if len(ok) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"%s of %d %s Pareto k in (0.5, 0.7] (%s): PSIS-LOO is usable but monitor them",
			count(len(ok), "observation"), n, hasHave(len(ok)), listObs(ok)))
	}
	return r
}

// count returns "1 observation" or "3 observations".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// hasHave returns the verb for n subjects.
func hasHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

// listObs lists up to 10 1-based observation numbers, as loo's warnings do.
func listObs(obs []int) string {
	var b strings.Builder
	for j, i := range obs {
		if j == 10 {
			fmt.Fprintf(&b, ", … %d more", len(obs)-10)
			break
		}
		if j > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, i)
	}
	return b.String()
}

// work holds one goroutine's buffers; every slice has length S once used.
type work struct {
	ess    essWork
	ll     []float64 // log-likelihood, chains concatenated (loo's matrix column)
	lik    [][]float64
	likBuf []float64 // exp(ll - max ll), per chain in lik
	lw     []float64 // log weights
	sorted []float64
	cand   []draw
	tail   []float64
	grid   []float64
	tmp    []float64 // ll + lw
	wt, et []float64 // logSumExp terms of lw and of ll + lw
}

// draw is a log ratio and its draw index, for sorting the tail.
type draw struct {
	v float64
	i int
}

// point computes PSIS-LOO for observation i (0-based, for messages) from ll.
func (w *work) point(i int, ll [][]float64) (Point, error) {
	m, n := len(ll), len(ll[0])
	s := m * n
	w.ll = grow(w.ll, s)
	for c, ch := range ll {
		for d, v := range ch {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Point{}, fmt.Errorf("loo: observation %d, chain %d, draw %d: log-likelihood is %v; every value must be finite", i+1, c+1, d+1, v)
			}
		}
		copy(w.ll[c*n:], ch)
	}
	llMax := slices.Max(w.ll)

	// r_eff from the likelihood values; ESS is scale-free, so exp(ll - max) serves.
	w.likBuf = grow(w.likBuf, s)
	w.lik = w.lik[:0]
	for c := range m {
		lc := w.likBuf[c*n : (c+1)*n]
		for d, v := range w.ll[c*n : (c+1)*n] {
			lc[d] = math.Exp(v - llMax)
		}
		w.lik = append(w.lik, lc)
	}
	rEff := w.ess.relEff(w.lik)

	// Pareto-smoothed log weights of the ratios -ll (loo's do_psis_i).
	tailLen := int(math.Ceil(math.Min(0.2*float64(s), 3*math.Sqrt(float64(s)/rEff))))
	k := w.smooth(tailLen)

	p := Point{ParetoK: k, REff: rEff}
	// Normalise, then elpd_loo = log Σ exp(ll + lw), lpd = log mean exp(ll); the latter
	// from the likelihood values above, which are logSumExp's terms for ll. Each
	// logSumExp keeps its terms exp(x - max x), to give exp(x - lse) below without
	// another exp per draw.
	w.wt = grow(w.wt, s)
	w.tmp = grow(w.tmp, s)
	w.et = grow(w.et, s)
	lse, lwMax := logSumExpTerms(w.lw, w.wt)
	for d := range w.lw {
		w.lw[d] -= lse
		w.tmp[d] = w.ll[d] + w.lw[d]
	}
	var tmpMax float64
	p.ELPD, tmpMax = logSumExpTerms(w.tmp, w.et)
	p.LPD = llMax + math.Log1p(sumExcept(w.likBuf, slices.Index(w.ll, llMax))) - math.Log(float64(s))
	p.PLOO = p.LPD - p.ELPD
	p.LOOIC = -2 * p.ELPD

	// loo's mcse_elpd and psis_n_eff. Its variance Σ w²·(lik − E)², divided by E², is
	// Σ (w·lik/E − w)² with w·lik/E = exp(ll + lw − elpd): scale-free, and finite even
	// where w underflows to 0 and lik/E overflows. Both factors below are ≤ 1.
	var ss, sw2 float64
	fw, fe := math.Exp(lwMax-lse), math.Exp(tmpMax-p.ELPD)
	for d := range w.lw {
		wd := w.wt[d] * fw   // exp(lw), normalised
		e := w.et[d]*fe - wd // exp(ll + lw - elpd) - w
		sw2 += wd * wd
		ss += e * e
	}
	p.MCSE = math.Sqrt(logNormalScoreVar(math.Sqrt(ss), w.tmp) / rEff)
	p.NEff = rEff / sw2
	return p, nil
}

// sumExcept returns the sum of x without x[skip].
func sumExcept(x []float64, skip int) float64 {
	var s float64
	for i, v := range x {
		if i != skip {
			s += v
		}
	}
	return s
}

// smooth sets w.lw to the Pareto-smoothed, unnormalised log weights of the ratios -w.ll
// with a tail of tailLen draws, and returns k̂ (+Inf when nothing was smoothed).
func (w *work) smooth(tailLen int) float64 {
	s := len(w.ll)
	w.lw = grow(w.lw, s)
	lrMax := -slices.Min(w.ll)
	for d, v := range w.ll {
		w.lw[d] = -v - lrMax
	}
	k := math.Inf(1)
	if tailLen >= minTail && tailLen < s {
		// The tail is the last tailLen draws of a stable ascending sort (R's radix
		// sort.int), after the cut-off draw. Select the cut-off value, then sort only the
		// draws at or above it by (value, index), which orders them as a stable sort would.
		w.sorted = grow(w.sorted, s)
		copy(w.sorted, w.lw)
		cutoff := kthSmallest(w.sorted, s-tailLen-1)
		w.cand = w.cand[:0]
		for d, v := range w.lw {
			if v >= cutoff {
				w.cand = append(w.cand, draw{v, d})
			}
		}
		slices.SortFunc(w.cand, func(a, b draw) int {
			return cmp.Or(cmp.Compare(a.v, b.v), cmp.Compare(a.i, b.i))
		})
		tail := w.cand[len(w.cand)-tailLen:]
		if math.Abs(tail[len(tail)-1].v-tail[0].v) >= epsilon/100 {
			k = w.smoothTail(tail, cutoff)
		}
	}
	for d, v := range w.lw {
		w.lw[d] = math.Min(v, 0) + lrMax // cap at the largest raw weight
	}
	return k
}

// epsilon is R's .Machine$double.eps.
const epsilon = 0x1p-52

// smoothTail is loo's psis_smooth_tail: it fits a generalized Pareto distribution to the
// tail's exceedances of exp(cutoff) and replaces the tail's log weights in w.lw by the log
// of its expected order statistics. It returns k̂, leaving w.lw alone when k̂ is not finite.
func (w *work) smoothTail(tail []draw, cutoff float64) float64 {
	n := len(tail)
	expCutoff := math.Exp(cutoff)
	w.tail = grow(w.tail, n)
	for j, t := range tail {
		w.tail[j] = math.Exp(t.v) - expCutoff
	}
	var k, sigma float64
	k, sigma, w.grid = gpdFit(w.tail, w.grid)
	if math.IsInf(k, 0) || math.IsNaN(k) {
		return k
	}
	for j, t := range tail {
		p := (float64(j+1) - 0.5) / float64(n)
		w.lw[t.i] = math.Log(qgpd(p, k, sigma) + expCutoff)
	}
	return k
}

// normalScores are loo's zn in mcse_elpd: qnorm((r - 3/8)/(S - 2·3/8 + 1)), r = 1…1000.
var normalScores = sync.OnceValue(func() []float64 {
	z := make([]float64, mcseScore)
	const c = 3.0 / 8
	for r := range z {
		p := (float64(r+1) - c) / (mcseScore - 2*c + 1)
		z[r] = -math.Sqrt2 * math.Erfcinv(2*p)
	}
	return z
})

// logNormalScoreVar returns var(log(z[z > 0])) for z = E + sd·zn, from c = sd/E: the
// variance does not depend on E, so it is that of log1p(c·zn) over 1 + c·zn > 0. buf is
// scratch of length ≥ 1000.
func logNormalScoreVar(c float64, buf []float64) float64 {
	v := buf[:0]
	for _, z := range normalScores() {
		if x := 1 + c*z; x > 0 {
			v = append(v, math.Log1p(c*z))
		}
	}
	if len(v) < 2 {
		return math.NaN()
	}
	return num.Variance(v)
}

// kthSmallest returns the value at index k of x sorted ascending (x has no NaN); it
// reorders x.
func kthSmallest(x []float64, k int) float64 {
	num.SelectKth(x, 0, len(x)-1, k)
	return x[k]
}
