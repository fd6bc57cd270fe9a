package optimise

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// normalDraws returns draws[s][k] ~ N(means[k], sds[k]) from a seeded stream.
func normalDraws(seed uint64, n int, means, sds []float64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([][]float64, n)
	for s := range out {
		out[s] = make([]float64, len(means))
		for k := range means {
			out[s][k] = means[k] + sds[k]*rng.NormFloat64()
		}
	}
	return out
}

// gridSearch maximises Σ_c β̄_c f_c(s_c) over the grid s = (i, j, n−i−j)·budget/n within
// the bounds: the brute-force reference for three channels.
func gridSearch(sc *Scenario, means []float64, n int) []float64 {
	h := sc.BudgetTotal / float64(n)
	val := make([][]float64, 3)
	for c, ch := range sc.Channels {
		val[c] = make([]float64, n+1)
		for i := range val[c] {
			s := float64(i) * h
			if s < ch.Bounds.Min-1e-9 || s > ch.Bounds.Max+1e-9 {
				val[c][i] = math.Inf(-1)
			} else {
				val[c][i] = means[c] * ch.Response.Value(s)
			}
		}
	}
	best, bi, bj := math.Inf(-1), 0, 0
	for i := 0; i <= n; i++ {
		for j := 0; i+j <= n; j++ {
			if v := val[0][i] + val[1][j] + val[2][n-i-j]; v > best {
				best, bi, bj = v, i, j
			}
		}
	}
	return []float64{float64(bi) * h, float64(bj) * h, float64(n-bi-bj) * h}
}

// On three Hill channels the optimiser lands within 0.1% of the budget of a brute-force
// grid search (grid step 0.02% of the budget), concave (exact solver) and S-shaped
// (gonum BFGS), with and without a binding bound.
func TestHillMatchesGridSearch(t *testing.T) {
	means := []float64{3, 2, 1.5}
	draws := normalDraws(1, 2000, means, []float64{1, 0.5, 0.1})
	colMeans := make([]float64, 3) // the posterior means the optimiser sees
	for _, d := range draws {
		for k, v := range d {
			colMeans[k] += v / float64(len(draws))
		}
	}
	cases := []struct {
		name       string
		slope      float64
		maxA       float64
		wantSolver string
	}{
		{"concave", 0.8, math.Inf(1), SolverLagrange},
		{"hill-slope-1", 1, math.Inf(1), SolverLagrange},
		{"s-shaped", 2.5, math.Inf(1), SolverBFGS},
		{"concave-bound", 0.8, 100, SolverLagrange},
		{"s-shaped-bound", 2, 120, SolverBFGS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := &Scenario{BudgetTotal: 300, Channels: []Channel{
				{Term: "a", Bounds: Bounds{Max: tc.maxA}, Response: Response{Type: ResponseHill, EC50: 100, Slope: tc.slope}},
				{Term: "b", Bounds: Bounds{Max: math.Inf(1)}, Response: Response{Type: ResponseHill, EC50: 50, Slope: tc.slope}},
				{Term: "c", Bounds: Bounds{Min: 10, Max: math.Inf(1)}, Response: Response{Type: ResponseHill, EC50: 30, Slope: tc.slope}},
			}, ReferenceSpend: map[string]float64{"a": 100, "b": 100, "c": 100}}
			res, err := Optimise(context.Background(), sc, Inputs{Terms: []string{"a", "b", "c"}, Draws: draws}, Options{Seed: 3, FrontierSteps: -1})
			if err != nil {
				t.Fatal(err)
			}
			if res.Summary.Solver != tc.wantSolver {
				t.Errorf("solver = %s; want %s", res.Summary.Solver, tc.wantSolver)
			}
			grid := gridSearch(sc, colMeans, 5000)
			got := make([]float64, 3)
			for c := range got {
				got[c] = res.Channels[c].OptimisedSpend
			}
			for c := range got {
				if d := math.Abs(got[c] - grid[c]); d > 0.001*sc.BudgetTotal {
					t.Errorf("channel %s: optimised %.4f; grid search %.4f (off by %.3g%% of the budget; tol 0.1%%)",
						sc.Channels[c].Term, got[c], grid[c], 100*d/sc.BudgetTotal)
				}
			}
			value := func(s []float64) float64 {
				v := 0.0
				for c, ch := range sc.Channels {
					v += colMeans[c] * ch.Response.Value(s[c])
				}
				return v
			}
			if vo, vg := value(got), value(grid); vo < vg-1e-12*math.Abs(vg) {
				t.Errorf("objective at optimum %v < grid best %v", vo, vg)
			}
		})
	}
}

// Risk-aware objectives: the optimum is at least as good as the best point of a grid over
// the budget (step 0.5%), evaluated over the same draws.
func TestRiskObjectivesBeatGrid(t *testing.T) {
	draws := normalDraws(2, 300, []float64{3, 2, 1.5}, []float64{1.2, 0.4, 0.1})
	beta := make([][]float64, 3)
	for c := range beta {
		for _, d := range draws {
			beta[c] = append(beta[c], d[c])
		}
	}
	resp := []Response{{Type: ResponseHill, EC50: 100, Slope: 1.5}, {Type: ResponseHill, EC50: 50, Slope: 0.8}, {Type: ResponseLog1p, Scale: 30}}
	for _, obj := range []Objective{
		{Type: ObjectiveMeanMinusSD, Lambda: 1},
		{Type: ObjectiveQuantile, Q: 0.1},
		{Type: ObjectiveCVaR, Alpha: 0.2},
	} {
		t.Run(obj.Type, func(t *testing.T) {
			sc := &Scenario{BudgetTotal: 300, Objective: obj, ReferenceSpend: map[string]float64{"a": 100, "b": 100, "c": 100}}
			for c, term := range []string{"a", "b", "c"} {
				sc.Channels = append(sc.Channels, Channel{Term: term, Bounds: Bounds{Max: math.Inf(1)}, Response: resp[c]})
			}
			res, err := Optimise(context.Background(), sc, Inputs{Terms: []string{"a", "b", "c"}, Draws: draws}, Options{Seed: 5, FrontierSteps: -1})
			if err != nil {
				t.Fatal(err)
			}
			m := newModel(resp, beta, obj)
			totals := make([]float64, m.nd)
			value := func(s []float64) float64 {
				m.drawTotals(s, totals)
				return riskValue(obj, totals)
			}
			const n = 200
			h := sc.BudgetTotal / n
			best, bestS := math.Inf(-1), []float64(nil)
			for i := 0; i <= n; i++ {
				for j := 0; i+j <= n; j++ {
					s := []float64{float64(i) * h, float64(j) * h, float64(n-i-j) * h}
					if v := value(s); v > best {
						best, bestS = v, s
					}
				}
			}
			got := res.Summary.Optimised.Objective
			if got < best-1e-9*math.Abs(best) {
				t.Errorf("%v at the optimum = %v; below the grid's best %v at %v", obj, got, best, bestS)
			}
			for c := range bestS {
				if d := math.Abs(res.Channels[c].OptimisedSpend - bestS[c]); d > 0.02*sc.BudgetTotal {
					t.Errorf("channel %d: optimised %.2f; grid best %.2f (more than 2%% of the budget apart)", c, res.Channels[c].OptimisedSpend, bestS[c])
				}
			}
		})
	}
}

// With every response identity the mean problem is linear: the corner fills channels by
// mean coefficient within their bounds, and the result says so.
func TestLinearCorner(t *testing.T) {
	draws := normalDraws(3, 100, []float64{1, 3, 2, -1}, []float64{0.1, 0.1, 0.1, 0.1})
	sc := &Scenario{BudgetTotal: 1000, Channels: []Channel{
		{Term: "a", Bounds: Bounds{Min: 50, Max: math.Inf(1)}},
		{Term: "b", Bounds: Bounds{Max: 400}},
		{Term: "c", Bounds: Bounds{Min: 100, Max: 300}},
		{Term: "d", Bounds: Bounds{Min: 20, Max: 500}},
	}, ReferenceSpend: map[string]float64{"a": 250, "b": 250, "c": 250, "d": 250}}
	res, err := Optimise(context.Background(), sc, Inputs{Terms: []string{"a", "b", "c", "d"}, Draws: draws}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// minimums 50+0+100+20 = 170; b (3) takes 400, c (2) 200 more to 300, a (1) the rest.
	want := []float64{1000 - 400 - 300 - 20, 400, 300, 20}
	for c, w := range want {
		if got := res.Channels[c].OptimisedSpend; got != w {
			t.Errorf("channel %s = %v; want %v", sc.Channels[c].Term, got, w)
		}
	}
	if !res.Summary.Linear || res.Summary.Solver != SolverCorner || len(res.Summary.Notes) == 0 {
		t.Errorf("summary: linear %v, solver %s, notes %q; want the linear note and %s", res.Summary.Linear, res.Summary.Solver, res.Summary.Notes, SolverCorner)
	}
}

// The budget-breaking map's gradient against central differences, and its allocations
// against the budget and bounds.
func TestBoundedMap(t *testing.T) {
	p := newProblemAt(500, []float64{10, 0, 50, 20}, []float64{200, math.Inf(1), 300, 100})
	bm := newBoundedMap(p)
	rng := rand.New(rand.NewPCG(9, 1))
	gs := []float64{1.5, -0.7, 0.3, 2.0} // an arbitrary linear objective Σ gs_c s_c
	f := func(z []float64) float64 {
		s := make([]float64, 4)
		bm.spend(z, s)
		v := 0.0
		for c := range s {
			v += gs[c] * s[c]
		}
		return v
	}
	for range 50 {
		z := []float64{rng.NormFloat64() * 2, rng.NormFloat64() * 2, rng.NormFloat64() * 2}
		s := make([]float64, 4)
		bm.spend(z, s)
		if d := sum(s) - p.budget; math.Abs(d) > 1e-9 {
			t.Fatalf("spend(%v) = %v sums to %v", z, s, sum(s))
		}
		for c := range s {
			if s[c] < p.lo[c] || s[c] > p.hi[c] {
				t.Fatalf("spend(%v)[%d] = %v outside [%v, %v]", z, c, s[c], p.lo[c], p.hi[c])
			}
		}
		gz := make([]float64, 3)
		bm.grad(z, gs, gz)
		for i := range z {
			up, down := slices.Clone(z), slices.Clone(z)
			up[i] += 1e-6
			down[i] -= 1e-6
			num := (f(up) - f(down)) / 2e-6
			if math.Abs(gz[i]-num) > 1e-4*math.Max(1, math.Abs(num)) {
				t.Errorf("grad at %v [%d] = %v; central difference %v", z, i, gz[i], num)
			}
		}
		// inverse gives back the allocation (away from the interval ends).
		back := make([]float64, 4)
		bm.spend(bm.inverse(s), back)
		for c := range s {
			if math.Abs(back[c]-s[c]) > 1e-6*p.budget && math.Abs(z[min(c, 2)]) < 8 {
				t.Errorf("spend(inverse(%v)) = %v", s, back)
				break
			}
		}
	}
}

// Property: over random scenarios (responses, bounds, budgets at and between the extremes,
// objectives) every allocation, the frontier's included, sums to its budget exactly and
// respects every bound. Exactly means the left-to-right float64 sum, or, where a fixed
// channel makes that unreachable, the correctly rounded sum (see fixSum); the fallback
// must stay rare.
func TestAllocationFeasibleProperty(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 50
	}
	rng := rand.New(rand.NewPCG(11, 13))
	objectives := []Objective{{Type: ObjectiveMean}, {Type: ObjectiveMeanMinusSD, Lambda: 2}, {Type: ObjectiveQuantile, Q: 0.25}, {Type: ObjectiveCVaR, Alpha: 0.3}}
	checked, fallbacks := 0, 0
	defer func() {
		t.Logf("%d allocations checked; %d needed the correctly rounded sum", checked, fallbacks)
		if fallbacks*50 > checked {
			t.Errorf("%d of %d allocations needed the correctly rounded sum; want under 2%%", fallbacks, checked)
		}
	}()
	for trial := range n {
		sc, in := randomScenario(rng)
		sc.Objective = objectives[rng.IntN(len(objectives))]
		res, err := Optimise(context.Background(), sc, in, Options{Seed: uint64(trial), Starts: 1, FrontierSteps: 3, CurvePoints: 2})
		if err != nil {
			var se *ScenarioError
			if errors.As(err, &se) {
				continue // an infeasible draw of bounds and budget
			}
			t.Fatalf("trial %d: %v", trial, err)
		}
		check := func(what string, budget float64, spend []float64) {
			checked++
			if got := sum(spend); got != budget {
				if exactSum(spend) != budget {
					t.Fatalf("trial %d %s: allocation %v sums to %v; want exactly %v", trial, what, spend, got, budget)
				}
				fallbacks++
			}
			for c, ch := range sc.Channels {
				if !(spend[c] >= ch.Bounds.Min && spend[c] <= ch.Bounds.Max) {
					t.Fatalf("trial %d %s: channel %d spend %v outside [%v, %v]", trial, what, c, spend[c], ch.Bounds.Min, ch.Bounds.Max)
				}
			}
		}
		spend := make([]float64, len(res.Channels))
		for c, r := range res.Channels {
			spend[c] = r.OptimisedSpend
		}
		check(fmt.Sprintf("%s/%s", sc.Objective, res.Summary.Solver), sc.BudgetTotal, spend)
		for _, f := range res.Frontier {
			check(fmt.Sprintf("frontier %g", f.Ratio), f.Budget, f.Spend)
		}
	}
}

// randomScenario draws a scenario and matching inputs.
func randomScenario(rng *rand.Rand) (*Scenario, Inputs) {
	nc := 1 + rng.IntN(6)
	sc := &Scenario{ReferenceSpend: map[string]float64{}}
	in := Inputs{}
	means, sds := make([]float64, nc), make([]float64, nc)
	sumLo, sumHi := 0.0, 0.0
	for c := range nc {
		term := fmt.Sprintf("m%d", c)
		lo := 0.0
		if rng.IntN(2) == 0 {
			lo = rng.Float64() * 50
		}
		hi := math.Inf(1)
		switch rng.IntN(10) {
		case 0:
			hi = lo
		case 1, 2, 3, 4, 5:
			hi = lo + rng.Float64()*200
		}
		var r Response
		switch rng.IntN(4) {
		case 0:
			r = Response{Type: ResponseIdentity}
		case 1:
			r = Response{Type: ResponseHill, EC50: 10 + rng.Float64()*190, Slope: 0.3 + rng.Float64()*2.7}
		case 2:
			r = Response{Type: ResponseLog1p, Scale: 5 + rng.Float64()*95}
		case 3:
			r = Response{Type: ResponsePower, Exponent: 0.2 + rng.Float64()*1.3}
		}
		sc.Channels = append(sc.Channels, Channel{Term: term, Bounds: Bounds{Min: lo, Max: hi}, Response: r})
		sc.ReferenceSpend[term] = rng.Float64() * 100
		in.Terms = append(in.Terms, term)
		means[c], sds[c] = -0.5+rng.Float64()*3.5, rng.Float64()
		sumLo += lo
		sumHi += hi
	}
	switch u := rng.IntN(5); {
	case u == 0:
		sc.BudgetTotal = sumLo
	case u == 1 && !math.IsInf(sumHi, 1):
		sc.BudgetTotal = sumHi
	case math.IsInf(sumHi, 1):
		sc.BudgetTotal = sumLo + rng.Float64()*1000
	default:
		sc.BudgetTotal = sumLo + rng.Float64()*(sumHi-sumLo)
	}
	in.Draws = normalDraws(rng.Uint64(), 40, means, sds)
	return sc, in
}

// fill water-fills the budget above the minimums by weight, caps at the maximums, treats
// all-zero weights as equal and leaves the weights alone.
func TestFill(t *testing.T) {
	p := newProblemAt(100, []float64{10, 0, 0}, []float64{20, math.Inf(1), 50})
	cases := []struct{ w, want []float64 }{
		{[]float64{1, 1, 1}, []float64{20, 40, 40}},     // 30 each above the minimum; the first capped at 20, its 20 shared
		{[]float64{0, 0, 0}, []float64{20, 40, 40}},     // no weight: equal
		{[]float64{0, 3, 1}, []float64{10, 67.5, 22.5}}, // 90 split 3:1
		{[]float64{0, 1, 9}, []float64{10, 40, 50}},     // the third capped at 50, the rest to the second
	}
	for _, tc := range cases {
		w := slices.Clone(tc.w)
		got := fill(p, w)
		for c := range got {
			if math.Abs(got[c]-tc.want[c]) > 1e-9 {
				t.Errorf("fill(%v) = %v; want %v", tc.w, got, tc.want)
				break
			}
		}
		if !slices.Equal(w, tc.w) {
			t.Errorf("fill changed its weights to %v", w)
		}
	}
}
