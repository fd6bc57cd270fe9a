package posterior

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/dsamstan/dsamstan/ingest"
)

// Options tune Derive.
type Options struct {
	// LogMedian reports exp(μ) on the KPI scale of log(y) models (log_response: median)
	// instead of the conditional mean exp(μ + σ²/2).
	LogMedian bool
	// Seed seeds the noise draws behind the 95% predictive interval, per row.
	Seed uint64
	// Workers is the number of goroutines (<= 0: GOMAXPROCS).
	Workers int
}

// FitProbs are the quantiles reported for fitted values: 2.5, 5, 50, 95 and 97.5%.
var FitProbs = []float64{0.025, 0.05, 0.5, 0.95, 0.975}

// decompProbs are the quantiles reported for contributions: a 90% interval and the median.
var decompProbs = []float64{0.05, 0.5, 0.95}

// Band is the summary of one row's draws of a quantity.
type Band struct {
	Mean float64
	Q    [5]float64 // at FitProbs
	// PredLo and PredHi bound the 95% predictive interval (fit plus noise).
	PredLo, PredHi float64
}

// RowFit is one row's fitted values.
type RowFit struct {
	Observed    float64 // model scale (log units for log(y))
	Model       Band    // model scale
	KPIObserved float64 // KPI scale (= Observed for identity models)
	KPI         Band    // KPI scale
}

// Contribution summarises one term's contribution to one row.
type Contribution struct {
	Mean, Q5, Q50, Q95 float64
	// MultMean is the mean of exp(c) over draws: the term's multiplier on the KPI scale of
	// a log(y) model (NaN for identity models).
	MultMean float64
}

// DrawMetric holds the in-sample fit of one draw, on the model scale.
type DrawMetric struct {
	R2, RMSE, SMAPE float64
}

// Result is everything Derive computes.
type Result struct {
	// Terms names the decomposition columns: the population terms, then "offset" when the
	// formula has one.
	Terms []string
	Rows  []RowFit
	// Decomp[i][k] is term k's contribution to row i.
	Decomp [][]Contribution
	// Draws has one entry per draw, chains concatenated.
	Draws []DrawMetric
	// Totals[k][s] is term k's contribution summed over all rows, per draw; GroupTotals
	// [f][g][k][s] the same over the rows of group g of factor f.
	Totals      [][]float64
	GroupTotals [][][][]float64
}

// Derive computes fitted values, the decomposition, per-draw metrics and contribution
// totals, in one pass over the rows on several goroutines.
func Derive(ctx context.Context, spec *ingest.Spec, d *Draws, opts Options) (*Result, error) {
	if err := d.check(spec); err != nil {
		return nil, err
	}
	tr, err := d.transforms(spec)
	if err != nil {
		return nil, err
	}
	S, K, N := d.S(), len(spec.Terms), spec.N
	terms := append([]string(nil), d.Terms...)
	nTerms := K
	if spec.Offset != nil {
		terms = append(terms, "offset")
		nTerms++
	}
	res := &Result{
		Terms:  terms,
		Rows:   make([]RowFit, N),
		Decomp: make([][]Contribution, N),
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(1, N))

	// Rows are handed out in blocks of a fixed size. Each block's per-draw sums are
	// added up on their own and then into the totals in block order, so that the sums,
	// and every digit of the result, do not depend on which worker took which block.
	const block = 64
	next := make(chan int)
	go func() {
		defer close(next)
		for lo := 0; lo < N; lo += block {
			select {
			case next <- lo:
			case <-ctx.Done():
				return
			}
		}
	}()
	sums := newBlockMerger(spec, S, nTerms)
	var wg sync.WaitGroup
	for range workers {
		acc := newAccumulator(spec, d, nTerms)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				bs := sums.get()
				for i := lo; i < min(lo+block, N); i++ {
					acc.row(spec, d, tr, opts, i, res, bs, sums)
				}
				sums.put(lo/block, bs)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sse, smape := sums.sse, sums.smape
	res.Totals, res.GroupTotals = sums.totals, sums.groupTotals
	ybar := mean(spec.Y)
	var sst float64
	for _, y := range spec.Y {
		sst += (y - ybar) * (y - ybar)
	}
	res.Draws = make([]DrawMetric, S)
	for s := range res.Draws {
		res.Draws[s] = DrawMetric{R2: 1 - sse[s]/sst, RMSE: math.Sqrt(sse[s] / float64(N)), SMAPE: smape[s] / float64(N)}
	}
	return res, nil
}

func addTo(dst, src []float64) {
	for i, v := range src {
		dst[i] += v
	}
}

// accumulator is one worker's scratch space, and the last summary of each term's
// contribution.
type accumulator struct {
	theta, c   [][]float64
	mu, buf, x []float64
	q          []float64
	last       []lastContribution  // [term]
	sorted     []sortedCoefficient // [term]
}

// sortedContributions lets tests turn off the summaries of contributions from sorted
// coefficients.
var sortedContributions = true

// sortedCoefficient is a term's coefficient draws θ_k,s in ascending order, for the group
// levels they were sorted at: θ depends on the row only through its levels, so a
// contribution x·θ of any row with those levels has its quantiles from them in O(1)
// (scaledQuantiles) instead of a selection over the draws. usable is false when θ has a
// zero draw.
type sortedCoefficient struct {
	ok, usable bool
	levels     []int
	theta      []float64
}

// sortedFor returns term k's sorted coefficient draws for row i, whose draws are theta,
// sorting them when row i's levels differ from those they were sorted at; nil when they
// cannot serve (a zero draw).
func (a *accumulator) sortedFor(spec *ingest.Spec, k, i int, theta []float64) []float64 {
	sc := &a.sorted[k]
	same := sc.ok
	for f, g := range spec.Groups {
		same = same && sc.levels[f] == g.Of[i]
	}
	if !same {
		sc.ok = true
		for f, g := range spec.Groups {
			sc.levels[f] = g.Of[i]
		}
		sc.theta = append(sc.theta[:0], theta...)
		slices.Sort(sc.theta)
		sc.usable = !slices.Contains(sc.theta, 0)
	}
	if !sc.usable {
		return nil
	}
	return sc.theta
}

// reuseSummaries lets tests turn off the reuse of lastContribution.
var reuseSummaries = true

// lastContribution remembers the summary of the last contribution a worker computed for a
// term and what it was computed from. A term's contribution to row i is x_k,i·θ_k,i,s,
// and θ depends on the row only through its group levels, so a row with the same x (to
// the bit) and the same levels (the intercept's rows of one market, the weeks a medium
// has no spend) has the very same draws: their summary is reused, not recomputed. Terms
// with estimated transforms, whose x varies by draw, are never reused.
type lastContribution struct {
	ok     bool
	x      uint64 // math.Float64bits of x_k,i (the offset for the offset's column)
	levels []int  // the row's level of each grouping factor
	c      Contribution
}

func newAccumulator(spec *ingest.Spec, d *Draws, nTerms int) *accumulator {
	S, K := d.S(), len(spec.Terms)
	a := &accumulator{
		theta: matrix(K, S), c: matrix(nTerms, S),
		mu: make([]float64, S), buf: make([]float64, S), x: make([]float64, S), q: make([]float64, len(FitProbs)),
		last: make([]lastContribution, nTerms), sorted: make([]sortedCoefficient, K),
	}
	for k := range a.last {
		a.last[k].levels = make([]int, len(spec.Groups))
	}
	for k := range a.sorted {
		a.sorted[k].levels = make([]int, len(spec.Groups))
	}
	return a
}

// sameContribution reports whether term k's contribution to row i has the draws of the
// one a.last[k] summarises; if not, it records row i's key there (not yet ok).
func (a *accumulator) sameContribution(spec *ingest.Spec, tr *transformed, i, k int) bool {
	if !reuseSummaries {
		return false
	}
	var x float64
	switch {
	case k == len(spec.Terms):
		x = spec.Offset[i]
	case tr != nil && tr.byTerm[k] != nil:
		return false
	default:
		x = spec.X[k][i]
	}
	l := &a.last[k]
	same := l.ok && l.x == math.Float64bits(x)
	for f, g := range spec.Groups {
		same = same && l.levels[f] == g.Of[i]
	}
	if !same {
		l.ok, l.x = false, math.Float64bits(x)
		for f, g := range spec.Groups {
			l.levels[f] = g.Of[i]
		}
	}
	return same
}

// blockSums are the per-draw sums over the rows of one block: squared errors, sMAPE
// terms, each term's contributions in all and per group level. Only the group levels
// the block's rows belong to have a matrix, taken from the merger's pool.
type blockSums struct {
	sse, smape []float64
	totals     [][]float64
	cellOf     [][]int // [factor][level]: index into cells, or -1
	cells      []groupCell
}

type groupCell struct {
	f, l int
	m    [][]float64 // [term][draw]
}

// group returns the matrix of level l of factor f, taking one from m's pool the first
// time the block meets that level.
func (b *blockSums) group(f, l int, m *blockMerger) [][]float64 {
	if j := b.cellOf[f][l]; j >= 0 {
		return b.cells[j].m
	}
	b.cellOf[f][l] = len(b.cells)
	b.cells = append(b.cells, groupCell{f: f, l: l, m: m.cell()})
	return b.cells[len(b.cells)-1].m
}

// blockMerger hands out zeroed blockSums and adds finished ones to the run's sums in
// block order (0, 1, 2, …), whatever order the workers finish them in; a block that
// finishes early waits, already summed, for those before it.
type blockMerger struct {
	S, nTerms int

	mu          sync.Mutex
	next        int // the block to add next
	pending     map[int]*blockSums
	free        []*blockSums
	freeCells   [][][]float64
	levels      []int // levels per factor
	sse, smape  []float64
	totals      [][]float64
	groupTotals [][][][]float64
}

func newBlockMerger(spec *ingest.Spec, S, nTerms int) *blockMerger {
	m := &blockMerger{
		S: S, nTerms: nTerms, pending: map[int]*blockSums{},
		sse: make([]float64, S), smape: make([]float64, S), totals: matrix(nTerms, S),
		groupTotals: make([][][][]float64, len(spec.Groups)),
	}
	for f, g := range spec.Groups {
		m.levels = append(m.levels, len(g.Levels))
		m.groupTotals[f] = make([][][]float64, len(g.Levels))
		for l := range g.Levels {
			m.groupTotals[f][l] = matrix(nTerms, S)
		}
	}
	return m
}

// get returns zeroed sums for a block.
func (m *blockMerger) get() *blockSums {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.free); n > 0 {
		b := m.free[n-1]
		m.free = m.free[:n-1]
		return b
	}
	b := &blockSums{sse: make([]float64, m.S), smape: make([]float64, m.S), totals: matrix(m.nTerms, m.S),
		cellOf: make([][]int, len(m.levels))}
	for f, n := range m.levels {
		b.cellOf[f] = make([]int, n)
		for l := range b.cellOf[f] {
			b.cellOf[f][l] = -1
		}
	}
	return b
}

// cell returns a zeroed term × draw matrix from the pool.
func (m *blockMerger) cell() [][]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.freeCells); n > 0 {
		c := m.freeCells[n-1]
		m.freeCells = m.freeCells[:n-1]
		return c
	}
	return matrix(m.nTerms, m.S)
}

// put hands in the sums of block index, and adds every block that is now next in line.
func (m *blockMerger) put(index int, b *blockSums) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending[index] = b
	for {
		b, ok := m.pending[m.next]
		if !ok {
			return
		}
		delete(m.pending, m.next)
		m.next++
		addTo(m.sse, b.sse)
		addTo(m.smape, b.smape)
		clear(b.sse)
		clear(b.smape)
		for k, v := range b.totals {
			addTo(m.totals[k], v)
			clear(v)
		}
		for _, c := range b.cells {
			for k, v := range c.m {
				addTo(m.groupTotals[c.f][c.l][k], v)
				clear(v)
			}
			b.cellOf[c.f][c.l] = -1
			m.freeCells = append(m.freeCells, c.m)
		}
		b.cells = b.cells[:0]
		m.free = append(m.free, b)
	}
}

// row processes row i: contributions, fitted values on both scales and the predictive
// band into res, per-draw error sums and totals into the block's sums bs.
func (a *accumulator) row(spec *ingest.Spec, d *Draws, tr *transformed, opts Options, i int, res *Result, bs *blockSums, merger *blockMerger) {
	K := len(spec.Terms)
	d.row(spec, tr, i, a.theta, a.c[:K], a.mu, a.x)
	if spec.Offset != nil {
		off := a.c[K]
		for s := range off {
			off[s] = spec.Offset[i]
		}
	}
	y := spec.Y[i]
	for s, m := range a.mu {
		e := y - m
		bs.sse[s] += e * e
		if den := math.Abs(y) + math.Abs(m); den > 0 {
			bs.smape[s] += 2 * math.Abs(e) / den
		}
	}
	for k, ck := range a.c {
		addTo(bs.totals[k], ck)
	}
	for f, g := range spec.Groups {
		cell := bs.group(f, g.Of[i], merger)
		for k, ck := range a.c {
			addTo(cell[k], ck)
		}
	}

	// Decomposition summaries.
	dec := make([]Contribution, len(a.c))
	q3 := a.q[:len(decompProbs)]
	for k, ck := range a.c {
		if a.sameContribution(spec, tr, i, k) {
			dec[k] = a.last[k].c
			continue
		}
		m := mean(ck)
		if sorted := a.sortedTheta(spec, tr, i, k); sorted != nil {
			scaledQuantiles(sorted, spec.X[k][i], decompProbs, q3)
		} else {
			copy(a.buf, ck)
			quantiles(a.buf, decompProbs, q3)
		}
		dec[k] = Contribution{Mean: m, Q5: q3[0], Q50: q3[1], Q95: q3[2], MultMean: math.NaN()}
		if spec.LogResponse {
			var e float64
			for _, v := range ck {
				e += math.Exp(v)
			}
			dec[k].MultMean = e / float64(len(ck))
		}
		if l := &a.last[k]; k == len(spec.Terms) || tr == nil || tr.byTerm[k] == nil {
			l.ok, l.c = true, dec[k]
		}
	}
	res.Decomp[i] = dec

	// Fitted values: the model scale, then the KPI scale, each with a predictive band
	// from one seeded noise draw per posterior draw.
	rf := RowFit{Observed: y, KPIObserved: y}
	rf.Model = a.band(a.mu)
	rng := rand.New(rand.NewPCG(opts.Seed, uint64(i)))
	pred := a.buf
	for s, m := range a.mu {
		pred[s] = m + d.NoiseSD[s]*rng.NormFloat64()
	}
	rf.Model.PredLo, rf.Model.PredHi = a.interval95(pred)
	rf.KPI = rf.Model
	if spec.LogResponse {
		rf.KPIObserved = math.Exp(y)
		// pred still holds the model-scale predictive draws; exp is monotone, so the
		// KPI-scale predictive interval is the exponential of the model-scale one.
		kpi := make([]float64, len(a.mu))
		for s, m := range a.mu {
			if opts.LogMedian {
				kpi[s] = math.Exp(m)
			} else {
				sg := d.NoiseSD[s]
				kpi[s] = math.Exp(m + sg*sg/2)
			}
		}
		rf.KPI = a.band(kpi)
		rf.KPI.PredLo, rf.KPI.PredHi = math.Exp(rf.Model.PredLo), math.Exp(rf.Model.PredHi)
	}
	res.Rows[i] = rf
}

// sortedTheta returns term k's sorted coefficient draws for row i when its contribution's
// quantiles can come from them (scaledQuantiles): a term of the design (not the offset)
// without estimated transforms, at a finite non-zero x; else nil.
func (a *accumulator) sortedTheta(spec *ingest.Spec, tr *transformed, i, k int) []float64 {
	if !sortedContributions || k >= len(spec.Terms) || (tr != nil && tr.byTerm[k] != nil) {
		return nil
	}
	if x := spec.X[k][i]; x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	return a.sortedFor(spec, k, i, a.theta[k])
}

// band summarises x (left unchanged) as mean and FitProbs quantiles.
func (a *accumulator) band(x []float64) Band {
	tmp := make([]float64, len(x))
	copy(tmp, x)
	var b Band
	b.Mean = mean(tmp)
	quantiles(tmp, FitProbs, b.Q[:])
	return b
}

// interval95 returns the 2.5% and 97.5% quantiles of x, reordering it.
func (a *accumulator) interval95(x []float64) (lo, hi float64) {
	var q [2]float64
	quantiles(x, []float64{0.025, 0.975}, q[:])
	return q[0], q[1]
}
