package optimise

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/dsamstan/dsamstan/internal/num"
)

// Solver names, as reported in summary.json.
const (
	SolverFixed      = "fixed"                  // the bounds leave one allocation
	SolverCorner     = "linear-corner"          // identity responses, mean objective
	SolverLagrange   = "lagrange-bisection"     // concave responses, mean objective
	SolverBFGS       = "bfgs-multistart"        // smooth objective, non-concave or risk-aware
	SolverNelderMead = "nelder-mead-multistart" // quantile and cvar (after a BFGS surrogate stage)
)

// solution is an allocation and how it was found.
type solution struct {
	spend     []float64
	solver    string
	starts    int // starts of the general solver (0 for the exact ones)
	converged int // starts whose gonum run ended without an error status
}

// problemAt is one allocation problem: the budget and the bounds, with each upper bound
// tightened to what the budget and the other minimums leave, so every bound is finite.
type problemAt struct {
	budget float64
	lo, hi []float64
}

func newProblemAt(budget float64, lo, hi []float64) problemAt {
	sumLo := 0.0
	for _, v := range lo {
		sumLo += v
	}
	p := problemAt{budget: budget, lo: lo, hi: make([]float64, len(hi))}
	for c := range hi {
		p.hi[c] = math.Max(lo[c], math.Min(hi[c], budget-(sumLo-lo[c])))
	}
	return p
}

// solveOptions steer the general solver's starting points.
type solveOptions struct {
	rng     *rand.Rand
	random  int         // random starts
	corners bool        // one start per channel, giving it as much as the bounds allow
	warm    [][]float64 // further starting allocations
	finish  int         // Nelder–Mead finishes of a non-smooth objective (default 1)
	ref     []float64   // the reference spend, as a starting shape
}

// solve finds the allocation maximising the objective under the budget and bounds. The
// result sums to the budget exactly (see fixSum) and respects every bound.
func (m *model) solve(ctx context.Context, p problemAt, so solveOptions) (solution, error) {
	c := m.channels()
	sumLo, sumHi := 0.0, 0.0
	for i := range c {
		sumLo += p.lo[i]
		sumHi += p.hi[i]
	}
	var sol solution
	switch {
	case p.budget <= sumLo:
		sol = solution{spend: slices.Clone(p.lo), solver: SolverFixed}
	case p.budget >= sumHi:
		sol = solution{spend: slices.Clone(p.hi), solver: SolverFixed}
	case m.obj.Type == ObjectiveMean && m.allLinear():
		sol = solution{spend: m.corner(p), solver: SolverCorner}
	case m.obj.Type == ObjectiveMean && m.meanConcave():
		sol = solution{spend: m.lagrange(p), solver: SolverLagrange}
	default:
		var err error
		if sol, err = m.general(ctx, p, so); err != nil {
			return solution{}, err
		}
	}
	if !fixSum(sol.spend, p.lo, p.hi, p.budget) {
		return solution{}, fmt.Errorf("optimise: internal error: allocation %v cannot be made to sum to %v within the bounds %v %v (%s)", sol.spend, p.budget, p.lo, p.hi, sol.solver)
	}
	return sol, nil
}

// allLinear reports whether every response is the identity (the mean objective is linear).
func (m *model) allLinear() bool {
	for c := range m.resp {
		if !m.linear(c) {
			return false
		}
	}
	return true
}

// linear reports whether channel c's curve is a straight line through the origin (in every
// draw, for curves that vary by draw: its expected contribution then has slope β̄).
func (m *model) linear(c int) bool {
	if m.draws[c] == nil {
		return m.resp[c].linear()
	}
	for _, r := range m.draws[c] {
		if !r.linear() {
			return false
		}
	}
	return true
}

// meanConcave reports whether every channel's expected contribution β̄·f(s) is concave, so
// that equalising marginal returns gives the optimum of the mean objective. For curves that
// vary by draw, (1/S) Σ_d β_d f_d(s) is concave when every f_d is and every β_d ≥ 0.
func (m *model) meanConcave() bool {
	for c, r := range m.resp {
		if m.linear(c) {
			continue
		}
		if m.draws[c] == nil {
			if !(r.concave() && m.mean[c] >= 0) {
				return false
			}
			continue
		}
		for d, rd := range m.draws[c] {
			if !rd.concave() || m.beta[c][d] < 0 {
				return false
			}
		}
	}
	return true
}

// corner solves the linear problem: everything at its minimum, then the rest of the budget
// to channels in decreasing order of mean coefficient, each up to its maximum.
func (m *model) corner(p problemAt) []float64 {
	s := slices.Clone(p.lo)
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		// slope of the expected contribution: β̄ (a power of 1 is the identity)
		return num.CompareDesc(m.mean[a], m.mean[b])
	})
	rest := p.budget
	for _, v := range s {
		rest -= v
	}
	for _, c := range order {
		add := math.Min(rest, p.hi[c]-p.lo[c])
		if add <= 0 {
			break
		}
		s[c] += add
		rest -= add
	}
	return s
}

// lagrange solves the concave mean problem by equalising marginal returns: for a
// multiplier λ each channel takes s_c(λ) = argmax β̄_c f_c(s) − λ s on its bounds, which
// decreases in λ; bisection finds the λ at which Σ s_c(λ) crosses the budget, and the two
// allocations that bracket it are mixed to spend the budget exactly.
func (m *model) lagrange(p problemAt) []float64 {
	c := m.channels()
	sa, sb := make([]float64, c), make([]float64, c)
	total := func(lambda float64, s []float64) float64 {
		sum := 0.0
		for i := range c {
			s[i] = m.spendAt(i, lambda, p.lo[i], p.hi[i])
			sum += s[i]
		}
		return sum
	}
	la, lb := -1.0, 1.0 // total(la) ≥ budget ≥ total(lb)
	for i := 0; total(la, sa) < p.budget && i < 2100; i++ {
		la *= 2
	}
	for i := 0; total(lb, sb) > p.budget && i < 2100; i++ {
		lb *= 2
	}
	for range 3000 {
		mid := la + (lb-la)/2
		if mid <= la || mid >= lb {
			break
		}
		if total(mid, sa) >= p.budget {
			la = mid
		} else {
			lb = mid
		}
	}
	ta, tb := total(la, sa), total(lb, sb)
	s := sa
	if ta > tb {
		t := (p.budget - tb) / (ta - tb)
		for i := range s {
			s[i] = sb[i] + t*(sa[i]-sb[i])
		}
	}
	return s
}

// spendAt is channel i's spend at multiplier λ: the maximiser of β̄ f(s) − λ s on [lo, hi].
func (m *model) spendAt(i int, lambda, lo, hi float64) float64 {
	r, b := m.resp[i], m.mean[i]
	if m.draws[i] != nil && !m.linear(i) {
		return m.spendAtDraws(i, lambda, lo, hi)
	}
	if m.linear(i) || b == 0 { // a straight line of slope b (flat when b = 0)
		if b > lambda {
			return hi
		}
		return lo
	}
	// Concave with b ≥ 0: the marginal return b·f'(s) decreases in s.
	switch {
	case b*r.Deriv(lo) <= lambda:
		return lo
	case b*r.Deriv(hi) >= lambda:
		return hi
	}
	return r.solveDeriv(lambda/b, lo, hi)
}

// spendAtDraws is spendAt for curves that vary by draw: the expected marginal return
// g'(s) = (1/S) Σ_d β_d f_d'(s) decreases in s (meanConcave), so bisection finds where it
// equals λ.
func (m *model) spendAtDraws(i int, lambda, lo, hi float64) float64 {
	switch {
	case m.meanDeriv(i, lo) <= lambda:
		return lo
	case m.meanDeriv(i, hi) >= lambda:
		return hi
	}
	a, b := lo, hi
	for range 2000 {
		mid := a + (b-a)/2
		if mid <= a || mid >= b {
			break
		}
		if m.meanDeriv(i, mid) > lambda {
			a = mid
		} else {
			b = mid
		}
	}
	return a + (b-a)/2
}

// general maximises any objective with gonum from several starts, over unconstrained
// variables that the boundedMap turns into allocations meeting the budget and bounds by
// construction. Smooth objectives (the mean with non-concave curves, mean_minus_sd) use
// BFGS with the exact gradient. The quantile and CVaR are not smooth; for a normal T they
// equal mean − λ·sd with λ from normalLambda, so BFGS on that surrogate finds the basins
// from every start, and Nelder–Mead on the objective itself finishes from the best three
// points found (so.finish of them).
func (m *model) general(ctx context.Context, p problemAt, so solveOptions) (solution, error) {
	starts := m.starts(p, so)
	if m.smooth() {
		ends, conv, err := m.descend(ctx, p, starts, true)
		if err != nil {
			return solution{}, err
		}
		return solution{spend: m.top(p, ends, 1)[0], solver: SolverBFGS, starts: len(starts), converged: conv}, nil
	}
	sur := *m
	sur.obj = Objective{Type: ObjectiveMeanMinusSD, Lambda: normalLambda(m.obj)}
	ends, conv, err := sur.descend(ctx, p, starts, true)
	if err != nil {
		return solution{}, err
	}
	cands := m.top(p, append(ends, starts...), max(so.finish, 1))
	finals, conv2, err := m.descend(ctx, p, cands, false)
	if err != nil {
		return solution{}, err
	}
	return solution{spend: m.top(p, append(finals, cands...), 1)[0], solver: SolverNelderMead,
		starts: len(starts) + len(cands), converged: conv + conv2}, nil
}

// normalLambda is the λ for which mean − λ·sd equals the objective when T is normal:
// −Φ⁻¹(q) for the q-quantile, φ(Φ⁻¹(α))/α for the CVaR.
func normalLambda(o Objective) float64 {
	probit := func(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
	switch o.Type {
	case ObjectiveQuantile:
		return -probit(o.Q)
	case ObjectiveCVaR:
		if o.Alpha >= 1 {
			return 0
		}
		z := probit(o.Alpha)
		return math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) / o.Alpha
	}
	return o.Lambda
}

// top returns up to k of the allocations, best objective first, skipping near-duplicates.
func (m *model) top(p problemAt, points [][]float64, k int) [][]float64 {
	ev := m.evaluator()
	vals := make([]float64, len(points))
	order := make([]int, len(points))
	for i, s := range points {
		vals[i], order[i] = ev.objective(s), i
	}
	slices.SortStableFunc(order, func(a, b int) int { return num.CompareDesc(vals[a], vals[b]) })
	var out [][]float64
	for _, i := range order {
		dup := false
		for _, o := range out {
			dist := 0.0
			for c := range o {
				dist = math.Max(dist, math.Abs(o[c]-points[i][c]))
			}
			dup = dup || dist <= 1e-6*p.budget
		}
		if !dup {
			out = append(out, points[i])
		}
		if len(out) == k {
			break
		}
	}
	return out
}

// descend runs a local gonum minimisation of −objective from each start (BFGS when useGrad,
// else Nelder–Mead) and returns where each ended. Each run restarts from its end point
// while that still improves the objective: a share pressed against an end of its interval
// (σ ≈ 0 or 1) has almost no gradient, and re-centring it lets the method move it back.
// converged counts the runs whose last gonum call ended without an error status.
func (m *model) descend(ctx context.Context, p problemAt, starts [][]float64, useGrad bool) (ends [][]float64, converged int, err error) {
	bm := newBoundedMap(p)
	ev := m.evaluator()
	c := m.channels()
	s, g := make([]float64, c), make([]float64, c)

	// Scale the objective to order one so that the convergence thresholds mean the same for
	// any KPI unit.
	scale := 0.0
	for _, st := range starts {
		scale = math.Max(scale, math.Abs(ev.objective(st)))
	}
	if !(scale > 0) || math.IsInf(scale, 0) {
		scale = 1
	}
	fn := optimize.Problem{Func: func(z []float64) float64 {
		bm.spend(z, s)
		return -ev.objective(s) / scale
	}}
	prob := fn
	if useGrad {
		prob.Grad = func(grad, z []float64) {
			bm.spend(z, s)
			ev.objectiveGrad(s, g)
			for i := range g {
				g[i] = -g[i] / scale
			}
			bm.grad(z, g, grad)
		}
	}
	for _, st := range starts {
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("optimise: %w", err)
		}
		best := make([]float64, c)
		bm.spend(bm.inverse(st), best)
		bestVal := ev.objective(best)
		if c == 1 {
			ends, converged = append(ends, best), converged+1
			continue
		}
		ok := false
		rounds := 4
		if !useGrad {
			rounds = 2 // Nelder–Mead rebuilds its simplex once
		}
		for range rounds {
			var z []float64
			z, ok, err = minimize(prob, bm.inverse(best), useGrad)
			if err != nil {
				return nil, 0, err
			}
			if !ok && useGrad {
				// BFGS stopped on a failed line search (flat or kinked ground): finish with
				// the gradient-free method from where it stopped.
				if z, ok, err = minimize(fn, z, false); err != nil {
					return nil, 0, err
				}
			}
			end := make([]float64, c)
			bm.spend(z, end)
			v := ev.objective(end)
			if !(v > bestVal+1e-10*math.Abs(bestVal)) {
				if v > bestVal {
					best, bestVal = end, v
				}
				break
			}
			best, bestVal = end, v
		}
		if ok {
			converged++
		}
		ends = append(ends, best)
	}
	return ends, converged, nil
}

// minimize runs one gonum minimisation from z0 and returns the best point found. ok is
// false when the run ended early (err or Status.Err() non-nil: a failed line search, an
// iteration limit); the point is still feasible and is used. err is returned only for a
// misuse of gonum (no result at all).
func minimize(prob optimize.Problem, z0 []float64, useGrad bool) (z []float64, ok bool, err error) {
	settings := &optimize.Settings{
		MajorIterations: 3000,
		Converger:       &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-7, Iterations: 20},
	}
	var method optimize.Method = &optimize.NelderMead{SimplexSize: 0.5}
	if useGrad {
		settings.GradientThreshold = 1e-10
		settings.Converger = &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-13, Iterations: 20}
		method = &optimize.BFGS{}
	}
	res, err := optimize.Minimize(prob, slices.Clone(z0), settings, method)
	if res == nil {
		return nil, false, fmt.Errorf("optimise: gonum optimize: %w", err)
	}
	if err != nil || res.Status.Err() != nil || !finite(res.X) {
		if !finite(res.X) {
			return z0, false, nil
		}
		return res.X, false, nil
	}
	return res.X, true, nil
}

func finite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// starts lists the general solver's starting allocations: any warm starts, an equal
// split, the reference spend's shape, the optimum of the mean objective when it is exact,
// a corner per channel and seeded random allocations.
func (m *model) starts(p problemAt, so solveOptions) [][]float64 {
	c := m.channels()
	var out [][]float64
	out = append(out, so.warm...)
	ones := make([]float64, c)
	for i := range ones {
		ones[i] = 1
	}
	out = append(out, fill(p, ones))
	if so.ref != nil {
		out = append(out, fill(p, so.ref))
	}
	if m.obj.Type != ObjectiveMean && (m.allLinear() || m.meanConcave()) {
		meanModel := *m
		meanModel.obj = Objective{Type: ObjectiveMean}
		if meanModel.allLinear() {
			out = append(out, meanModel.corner(p))
		} else {
			out = append(out, meanModel.lagrange(p))
		}
	}
	if so.corners && c > 1 {
		for i := range c {
			w := make([]float64, c)
			for j := range w {
				w[j] = 1e-3
			}
			w[i] = 1
			out = append(out, fill(p, w))
		}
	}
	for range so.random {
		w := make([]float64, c)
		for j := range w {
			w[j] = so.rng.ExpFloat64() // Dirichlet(1, …, 1) weights
		}
		out = append(out, fill(p, w))
	}
	return out
}

// fill spends the budget above the minimums in proportion to the weights w, capping each
// channel at its maximum and sharing what a cap leaves among the others (water filling).
// Zero or negative weights count as equal weights when nothing else can take the budget.
func fill(p problemAt, w []float64) []float64 {
	c := len(w)
	w = slices.Clone(w) // the caller's weights (the reference spend) stay as they are
	s := slices.Clone(p.lo)
	rest := p.budget
	for _, v := range s {
		rest -= v
	}
	open := make([]bool, c)
	for i := range open {
		open[i] = p.hi[i] > p.lo[i]
	}
	for range c + 1 {
		if rest <= 0 {
			break
		}
		sumW := 0.0
		for i := range c {
			if open[i] && w[i] > 0 {
				sumW += w[i]
			}
		}
		weight := func(i int) float64 {
			if !open[i] {
				return 0
			}
			if sumW == 0 {
				return 1
			}
			return math.Max(w[i], 0) / sumW
		}
		if sumW == 0 {
			n := 0
			for i := range c {
				if open[i] {
					n++
				}
			}
			if n == 0 {
				break
			}
			sumW = float64(n)
			for i := range c {
				if open[i] {
					w[i] = 1
				}
			}
		}
		used := 0.0
		for i := range c {
			add := math.Min(rest*weight(i), p.hi[i]-s[i])
			if add > 0 {
				s[i] += add
				used += add
			}
			if s[i] >= p.hi[i] {
				open[i] = false
			}
		}
		rest -= used
	}
	return s
}

// boundedMap maps z ∈ R^(C−1) onto the allocations that sum to the budget within the
// bounds, by breaking the budget channel by channel: channel c takes
// s_c = a_c + (b_c − a_c)·σ(z_c), where [a_c, b_c] is what its bounds and the remaining
// channels' bounds allow out of the budget R_c still unspent, and the last channel takes
// what is left. Every z gives a feasible allocation, so gonum needs no constraints.
type boundedMap struct {
	p            problemAt
	sufLo, sufHi []float64 // sums of lo and hi over the channels after c
	// per-call intermediates for the gradient
	rem, sig, da, db []float64
}

func newBoundedMap(p problemAt) *boundedMap {
	c := len(p.lo)
	bm := &boundedMap{p: p, sufLo: make([]float64, c), sufHi: make([]float64, c),
		rem: make([]float64, c), sig: make([]float64, c), da: make([]float64, c), db: make([]float64, c)}
	for i := c - 2; i >= 0; i-- {
		bm.sufLo[i] = bm.sufLo[i+1] + p.lo[i+1]
		bm.sufHi[i] = bm.sufHi[i+1] + p.hi[i+1]
	}
	return bm
}

// interval is the range channel i may take out of the unspent budget r.
func (bm *boundedMap) interval(i int, r float64) (a, b float64, da, db float64) {
	a, b = bm.p.lo[i], bm.p.hi[i]
	if v := r - bm.sufHi[i]; v > a {
		a, da = v, 1
	}
	if v := r - bm.sufLo[i]; v < b {
		b, db = v, 1
	}
	if b < a { // rounding
		b = a
	}
	return a, b, da, db
}

// spend writes the allocation for z to s.
func (bm *boundedMap) spend(z, s []float64) {
	c := len(s)
	r := bm.p.budget
	for i := range c - 1 {
		a, b, da, db := bm.interval(i, r)
		sig := 1 / (1 + math.Exp(-z[i]))
		bm.rem[i], bm.sig[i], bm.da[i], bm.db[i] = r, sig, da, db
		s[i] = a + (b-a)*sig
		r -= s[i]
	}
	s[c-1] = math.Min(math.Max(r, bm.p.lo[c-1]), bm.p.hi[c-1])
}

// grad turns the gradient gs in spend at spend(z) into the gradient gz in z (reverse
// mode through the budget-breaking steps). spend(z, ·) must have been the last call.
func (bm *boundedMap) grad(z, gs, gz []float64) {
	c := len(gs)
	gr := gs[c-1] // adjoint of the unspent budget R_{i+1}
	for i := c - 2; i >= 0; i-- {
		a, b, _, _ := bm.interval(i, bm.rem[i])
		sig := bm.sig[i]
		direct := gs[i] - gr // s_i feeds the objective and is taken out of R_{i+1}
		gz[i] = direct * (b - a) * sig * (1 - sig)
		dsdr := bm.da[i]*(1-sig) + bm.db[i]*sig
		gr += direct * dsdr
	}
}

// inverse returns a z whose allocation is close to s (shares are kept away from the
// interval ends, where σ has no slope).
func (bm *boundedMap) inverse(s []float64) []float64 {
	c := len(s)
	z := make([]float64, max(c-1, 0))
	r := bm.p.budget
	for i := range c - 1 {
		a, b, _, _ := bm.interval(i, r)
		u := 0.5
		if b > a {
			u = math.Min(math.Max((s[i]-a)/(b-a), 1e-4), 1-1e-4)
		}
		z[i] = math.Log(u / (1 - u))
		r -= a + (b-a)*(1/(1+math.Exp(-z[i])))
	}
	return z
}

// fixSum clips s to its bounds and makes its sum equal budget exactly: first the
// difference goes to the channels with the most room, then one channel's value is searched
// bit by bit (a sum rises monotonically with it) for one at which the sum is the budget.
// The sum is the left-to-right float64 sum in channel order; when no value of any one
// channel achieves that (a channel fixed by min = max can leave only sums that round past
// the budget), the exact sum rounded once to float64 (exactSum: R's sum, Python's
// math.fsum) is made equal instead. It reports whether it succeeded; lo ≥ 0, hi finite.
func fixSum(s, lo, hi []float64, budget float64) bool {
	for i := range s {
		s[i] = math.Min(math.Max(s[i], lo[i]), hi[i])
	}
	for range 8 {
		d := budget - sum(s)
		if d == 0 {
			return true
		}
		j := roomiest(s, lo, hi, d > 0)
		if j < 0 {
			return false
		}
		s[j] = math.Min(math.Max(s[j]+d, lo[j]), hi[j])
	}
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return num.CompareDesc(hi[a]-lo[a], hi[b]-lo[b]) })
	for _, total := range []func([]float64) float64{sum, exactSum} {
		for _, j := range order {
			if hi[j] > lo[j] && exactOn(s, j, lo[j], hi[j], budget, total) {
				return true
			}
		}
	}
	return false
}

// exactOn searches s[j] in [lo, hi] for the smallest value at which total(s) reaches
// budget and keeps it if the total is then exactly the budget. Non-negative floats order
// like their bit patterns, so the search is a bisection over those.
func exactOn(s []float64, j int, lo, hi, budget float64, total func([]float64) float64) bool {
	orig := s[j]
	at := func(bits uint64) float64 {
		s[j] = math.Float64frombits(bits)
		return total(s)
	}
	a, b := math.Float64bits(lo), math.Float64bits(hi)
	if at(a) > budget || at(b) < budget {
		s[j] = orig
		return false
	}
	for a < b { // invariant: the smallest bits reaching the budget lie in [a, b]
		mid := a + (b-a)/2
		if at(mid) >= budget {
			b = mid
		} else {
			a = mid + 1
		}
	}
	if at(a) == budget {
		return true
	}
	s[j] = orig
	return false
}

// exactSum is the exact sum of x rounded once to the nearest float64.
func exactSum(x []float64) float64 {
	acc := new(big.Float).SetPrec(2200) // enough bits for any sum of a few finite float64s
	for _, v := range x {
		acc.Add(acc, big.NewFloat(v))
	}
	f, _ := acc.Float64()
	return f
}

// sum adds left to right, the order every check of the budget uses.
func sum(x []float64) float64 {
	t := 0.0
	for _, v := range x {
		t += v
	}
	return t
}

// roomiest is the channel with the most room to move up (or down), or −1.
func roomiest(s, lo, hi []float64, up bool) int {
	j, best := -1, 0.0
	for i := range s {
		room := s[i] - lo[i]
		if up {
			room = hi[i] - s[i]
		}
		if room > best {
			j, best = i, room
		}
	}
	return j
}
