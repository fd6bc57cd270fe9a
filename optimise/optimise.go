package optimise

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/internal/strictyaml"
	"github.com/dsamstan/dsamstan/summarise"
)

// KPI types (model.kpi_type): revenue reports ROI, subscriptions CPA.
const (
	KPIRevenue       = "revenue"
	KPISubscriptions = "subscriptions"
)

// Inputs binds a scenario to a fitted model: the population-level coefficient draws and
// the data columns that give the reference spend. For per-group optimisation pass each
// group's own draws (population plus group effects) and its rows' spend columns.
type Inputs struct {
	// Terms are the model's population terms.
	Terms []string
	// Draws[s][k] is the coefficient of Terms[k] in draw s, in original units.
	Draws [][]float64
	// SpendColumns are data columns by name; a channel's reference spend defaults to the
	// mean of its spend_col.
	SpendColumns map[string][]float64
	// KPIType is revenue (the default) or subscriptions.
	KPIType string
	// Group labels the result ("" for the population).
	Group string
	// ModelResponses are the responses the model itself fixes, by term: a term whose column
	// the model transforms (adstock and saturation) has the model's steady-state curve,
	// so a channel on it takes that response and must not write its own.
	ModelResponses map[string]Response
	// ModelResponseDraws are the model's own curves that vary by draw, by term: a term whose
	// saturation the model estimates has draw s's curve in ModelResponseDraws[term][s], one
	// per coefficient draw. A channel on it takes them, as with ModelResponses.
	ModelResponseDraws map[string][]Response
}

// Options tune Optimise; the zero value gives the defaults.
type Options struct {
	// Seed seeds the random starts of the general solver; the same seed gives the same
	// result.
	Seed uint64
	// Starts is the number of random starts of the general solver (default 8; negative
	// for none). Deterministic starts are always added.
	Starts int
	// FrontierSteps is the number of budgets on the efficient frontier (default 21;
	// negative for no frontier), from FrontierMin to FrontierMax times the budget
	// (defaults 0.5 and 1.5).
	FrontierSteps            int
	FrontierMin, FrontierMax float64
	// SensitivityStep is the relative change of one channel's spend in the sensitivity
	// table (default 0.2, i.e. ±20%).
	SensitivityStep float64
	// CurvePoints is the number of spend levels per response curve (default 101).
	CurvePoints int
	// Workers bounds the frontier budgets solved at once (default GOMAXPROCS).
	Workers int
}

func (o Options) withDefaults() (Options, error) {
	if o.Starts == 0 {
		o.Starts = 8
	}
	o.Starts = max(o.Starts, 0)
	if o.FrontierSteps == 0 {
		o.FrontierSteps = 21
	}
	if o.FrontierMin == 0 && o.FrontierMax == 0 {
		o.FrontierMin, o.FrontierMax = 0.5, 1.5
	}
	if o.SensitivityStep == 0 {
		o.SensitivityStep = 0.2
	}
	if o.CurvePoints == 0 {
		o.CurvePoints = 101
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case !(o.FrontierMin > 0) || !(o.FrontierMax >= o.FrontierMin) || math.IsInf(o.FrontierMax, 0):
		return o, fmt.Errorf("optimise: frontier range %g to %g of the budget; must satisfy 0 < min ≤ max", o.FrontierMin, o.FrontierMax)
	case !(o.SensitivityStep > 0 && o.SensitivityStep < 1):
		return o, fmt.Errorf("optimise: sensitivity step %g; must lie in (0, 1)", o.SensitivityStep)
	case o.CurvePoints < 2:
		return o, fmt.Errorf("optimise: %d response-curve points; need at least 2", o.CurvePoints)
	}
	return o, nil
}

// Interval is a posterior mean with its 90% interval (5% and 95% quantiles, R type 7).
type Interval struct {
	Mean, Q05, Q95 float64
}

// Result is an optimised allocation with everything the outputs show.
type Result struct {
	Summary     Summary
	Channels    []ChannelResult
	Curves      []CurvePoint
	Frontier    []FrontierPoint
	Sensitivity []SensitivityPoint
}

// Summary is the headline of a result (summary.json).
type Summary struct {
	Group       string
	KPIType     string
	Objective   Objective
	BudgetTotal float64
	Channels    int
	Draws       int
	// Solver is one of the Solver constants; Starts and ConvergedStarts count the general
	// solver's starts and those whose gonum run ended without an error status.
	Solver                  string
	Starts, ConvergedStarts int
	// Linear is true when every response is the identity: the expected KPI is linear in
	// spend and the mean optimum is a corner.
	Linear bool
	Notes  []string
	Seed   uint64
	// Current and Optimised total the reference and optimised allocations.
	Current, Optimised Totals
	// Lift is the per-draw difference optimised − current of the total contribution;
	// ProbPositive the share of draws in which it is above zero.
	Lift         Interval
	ProbPositive float64
	// FrontierSkipped lists frontier budgets outside the sums of the bounds.
	FrontierSkipped []float64
}

// Totals sums an allocation over channels.
type Totals struct {
	Spend float64
	// KPI is the total contribution of the channels, per model row.
	KPI Interval
	// Objective is the scenario's objective at this allocation.
	Objective float64
	// ROI = KPI.Mean / Spend and CPA = Spend / KPI.Mean; NaN when undefined.
	ROI, CPA float64
}

// ChannelResult is one row of allocation.csv.
type ChannelResult struct {
	Channel, Term                string
	CurrentSpend, OptimisedSpend float64
	// Current and Optimised are the channel's contribution β·f(spend) over the draws.
	Current, Optimised Interval
	// ROI = contribution/spend, CPA = spend/contribution (posterior means; NaN when
	// undefined).
	CurrentROI, OptimisedROI, CurrentCPA, OptimisedCPA float64
	// MarginalROI is d contribution / d spend at the optimised spend: β̄·f'(s).
	MarginalROI float64
	Min, Max    float64
	Response    Response
}

// CurvePoint is the contribution of a channel at one spend level (response_curves.csv).
type CurvePoint struct {
	Channel, Term string
	Spend         float64
	Contribution  Interval
}

// FrontierPoint is the optimum at one total budget (frontier.csv).
type FrontierPoint struct {
	Budget float64
	// Ratio is Budget / budget_total.
	Ratio     float64
	Objective float64
	KPI       Interval
	// Spend is the allocation, in scenario channel order.
	Spend  []float64
	Solver string
}

// SensitivityPoint is the total when one channel's optimised spend changes by Change
// (a fraction, e.g. −0.2), the others fixed; bounds and budget are not enforced here.
type SensitivityPoint struct {
	Channel, Term string
	Change        float64
	Spend         float64
	TotalSpend    float64
	KPI           Interval
	Objective     float64
	// DeltaMean is KPI.Mean minus the optimised total's mean.
	DeltaMean float64
}

// Optimise allocates the scenario's budget over its channels to maximise the objective
// over the coefficient draws in, and computes the allocation table, response curves,
// frontier and sensitivity. Scenario problems (including terms the model lacks) come back
// as a *ScenarioError.
func Optimise(ctx context.Context, sc *Scenario, in Inputs, opts Options) (*Result, error) {
	if sc == nil {
		return nil, fmt.Errorf("optimise: no scenario; add an allocation section or pass --scenario")
	}
	written := sc
	sc = sc.withDefaults()
	if err := sc.errorOf(sc.validate(true)); err != nil {
		return nil, err
	}
	sc, err := sc.withModelResponses(written, in.ModelResponses, in.ModelResponseDraws)
	if err != nil {
		return nil, err
	}
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b, err := bind(sc, in)
	if err != nil {
		return nil, err
	}
	m := newModel(b.resp, b.beta, sc.Objective)
	m.setDraws(b.draws)
	main := newProblemAt(sc.BudgetTotal, b.lo, b.hi)
	sol, err := m.solve(ctx, main, solveOptions{
		rng: rand.New(rand.NewPCG(opts.Seed, 0)), random: opts.Starts, corners: true, ref: b.ref, finish: 3,
	})
	if err != nil {
		return nil, err
	}

	res := &Result{}
	res.Summary = m.summary(sc, in, b, sol, opts)
	res.Channels = m.channelRows(sc, b, sol.spend)
	res.Curves = m.curves(sc, b, sol.spend, opts.CurvePoints)
	res.Sensitivity = m.sensitivity(sc, sol.spend, opts.SensitivityStep)
	if opts.FrontierSteps > 0 {
		res.Frontier, res.Summary.FrontierSkipped, err = m.frontier(ctx, sc, b, sol, opts)
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// bound is a scenario bound to the inputs.
type bound struct {
	kpiType string
	resp    []Response
	draws   [][]Response // per channel, per draw; nil for a channel with one curve
	beta    [][]float64  // per channel, per draw
	lo, hi  []float64
	ref     []float64 // reference (current) spend
}

// bind checks the inputs against the scenario and gathers each channel's draws and
// reference spend.
func bind(sc *Scenario, in Inputs) (bound, error) {
	b := bound{kpiType: in.KPIType}
	if b.kpiType == "" {
		b.kpiType = KPIRevenue
	}
	if b.kpiType != KPIRevenue && b.kpiType != KPISubscriptions {
		return b, fmt.Errorf("optimise: KPI type %q; must be %s or %s (model.kpi_type)", in.KPIType, KPIRevenue, KPISubscriptions)
	}
	index := map[string]int{}
	for k, t := range in.Terms {
		if _, dup := index[t]; dup {
			return b, fmt.Errorf("optimise: term %q appears twice in the model's terms", t)
		}
		index[t] = k
	}
	if len(in.Draws) == 0 {
		return b, fmt.Errorf("optimise: no coefficient draws; fit the model first")
	}
	for s, row := range in.Draws {
		if len(row) != len(in.Terms) {
			return b, fmt.Errorf("optimise: draw %d has %d coefficients for %d terms", s, len(row), len(in.Terms))
		}
	}

	var p problems
	for i, ch := range sc.Channels {
		key := fmt.Sprintf("%schannels[%d]", sc.pre, i)
		k, ok := index[ch.Term]
		if !ok {
			p.add(key+".term", "`%s.term` %q is not a population term of the model; terms are %s", key, ch.Term, showList(in.Terms))
			continue
		}
		col := make([]float64, len(in.Draws))
		for s, row := range in.Draws {
			if v := row[k]; math.IsNaN(v) || math.IsInf(v, 0) {
				return b, fmt.Errorf("optimise: draw %d of %q is %v; the draws must be finite", s, ch.Term, v)
			}
			col[s] = row[k]
		}
		var draws []Response
		if ch.Response.PerDraw {
			draws = in.ModelResponseDraws[ch.Term]
			if len(draws) != len(in.Draws) {
				return b, fmt.Errorf("optimise: %d response curves of %q for %d coefficient draws", len(draws), ch.Term, len(in.Draws))
			}
			for s, r := range draws {
				if err := r.check(); err != nil {
					return b, fmt.Errorf("optimise: draw %d of %q's response: %w", s, ch.Term, err)
				}
			}
		}
		b.resp = append(b.resp, ch.Response)
		b.draws = append(b.draws, draws)
		b.beta = append(b.beta, col)
		b.lo = append(b.lo, ch.Bounds.Min)
		b.hi = append(b.hi, ch.Bounds.Max)

		ref, ok := sc.ReferenceSpend[ch.Name]
		if !ok {
			ref = math.NaN()
			if data, found := in.SpendColumns[ch.SpendCol]; !found {
				p.add(key+".spend_col", "`%s.spend_col` %q is not a data column (columns: %s); name the channel's spend column or set reference_spend.%s",
					key, ch.SpendCol, showList(sortedKeys(in.SpendColumns)), strictyaml.Show(ch.Name))
			} else if ref = finiteMean(data); math.IsNaN(ref) || ref < 0 {
				p.add(key+".spend_col", "`%s.spend_col` %q has no usable values (mean %g); set reference_spend.%s", key, ch.SpendCol, ref, strictyaml.Show(ch.Name))
			}
		}
		b.ref = append(b.ref, ref)
	}
	if err := sc.errorOf(p); err != nil {
		return b, err
	}
	return b, nil
}

// finiteMean is the mean of the finite values of x (NaN marks a missing value).
func finiteMean(x []float64) float64 {
	s, n := 0.0, 0
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			s += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// totals evaluates an allocation over the draws.
func (m *model) totals(spend []float64, kpiType string) (Totals, []float64) {
	t := make([]float64, m.nd)
	m.drawTotals(spend, t)
	tot := Totals{Spend: sum(spend), KPI: interval(t), Objective: riskValue(m.obj, slices.Clone(t))}
	tot.ROI, tot.CPA = ratios(tot.KPI.Mean, tot.Spend)
	return tot, t
}

// ratios returns ROI = kpi/spend and CPA = spend/kpi, NaN where undefined (no spend, or a
// contribution ≤ 0 for the CPA).
func ratios(kpi, spend float64) (roi, cpa float64) {
	roi, cpa = math.NaN(), math.NaN()
	if spend > 0 {
		roi = kpi / spend
	}
	if kpi > 0 {
		cpa = spend / kpi
	}
	return roi, cpa
}

// interval summarises draws by their mean and 5% and 95% quantiles.
func interval(x []float64) Interval {
	sorted := slices.Clone(x)
	slices.Sort(sorted)
	return Interval{Mean: meanOf(x), Q05: summarise.Quantile(sorted, 0.05), Q95: summarise.Quantile(sorted, 0.95)}
}

func (m *model) summary(sc *Scenario, in Inputs, b bound, sol solution, opts Options) Summary {
	s := Summary{
		Group: in.Group, KPIType: b.kpiType, Objective: sc.Objective, BudgetTotal: sc.BudgetTotal,
		Channels: m.channels(), Draws: m.nd, Solver: sol.solver, Starts: sol.starts,
		ConvergedStarts: sol.converged, Linear: m.allLinear(), Seed: opts.Seed,
	}
	var cur, opt []float64
	s.Current, cur = m.totals(b.ref, b.kpiType)
	s.Optimised, opt = m.totals(sol.spend, b.kpiType)
	lift := make([]float64, len(cur))
	pos := 0
	for d := range lift {
		lift[d] = opt[d] - cur[d]
		if lift[d] > 0 {
			pos++
		}
	}
	s.Lift, s.ProbPositive = interval(lift), float64(pos)/float64(len(lift))

	switch {
	case s.Linear && sc.Objective.Type == ObjectiveMean:
		s.Notes = append(s.Notes, "every response is identity, so the expected KPI is linear in spend and the optimum is a corner: "+
			"the budget above the minimums goes to channels in decreasing order of mean coefficient, each up to its maximum; "+
			"give channels saturating responses (hill, log1p, power) for a spread allocation")
	case s.Linear:
		s.Notes = append(s.Notes, fmt.Sprintf("every response is identity, so the expected KPI is linear in spend; the %s objective is not, so the general solver was used", sc.Objective))
	}
	if math.Abs(s.Current.Spend-sc.BudgetTotal) > 1e-9*sc.BudgetTotal {
		s.Notes = append(s.Notes, fmt.Sprintf("the reference spend totals %g, not the budget %g: the current and optimised totals differ in spend", s.Current.Spend, sc.BudgetTotal))
	}
	if sol.starts > 0 && sol.converged < sol.starts {
		s.Notes = append(s.Notes, fmt.Sprintf("%d of %d solver starts stopped early (line search or iteration limit); the best point found is reported", sol.starts-sol.converged, sol.starts))
	}
	return s
}

// channelRows builds allocation.csv.
func (m *model) channelRows(sc *Scenario, b bound, spend []float64) []ChannelResult {
	rows := make([]ChannelResult, m.channels())
	for c, ch := range sc.Channels {
		q := m.contribution(c)
		r := ChannelResult{
			Channel: ch.Name, Term: ch.Term, CurrentSpend: b.ref[c], OptimisedSpend: spend[c],
			Current:   q(b.ref[c]),
			Optimised: q(spend[c]),
			Min:       ch.Bounds.Min, Max: ch.Bounds.Max, Response: ch.Response,
		}
		r.CurrentROI, r.CurrentCPA = ratios(r.Current.Mean, r.CurrentSpend)
		r.OptimisedROI, r.OptimisedCPA = ratios(r.Optimised.Mean, r.OptimisedSpend)
		r.MarginalROI = m.meanDeriv(c, spend[c])
		rows[c] = r
	}
	return rows
}

// coefQuantiles are a coefficient's mean and 90% interval; since f(s) ≥ 0 the
// contribution β·f(s) has mean β̄·f(s) and quantiles f(s)·q(β).
type coefQuantiles Interval

func newCoefQuantiles(beta []float64) coefQuantiles { return coefQuantiles(interval(beta)) }

func (q coefQuantiles) at(x float64) Interval {
	return Interval{Mean: q.Mean * x, Q05: q.Q05 * x, Q95: q.Q95 * x}
}

// contribution returns channel c's contribution at a spend, as a mean and 90% interval:
// from the coefficient's quantiles for one curve, from the draws β_d·f_d(s) for curves
// that vary by draw.
func (m *model) contribution(c int) func(spend float64) Interval {
	if m.draws[c] == nil {
		q := newCoefQuantiles(m.beta[c])
		return func(s float64) Interval { return q.at(m.resp[c].Value(s)) }
	}
	x := make([]float64, m.nd)
	return func(s float64) Interval {
		for d, r := range m.draws[c] {
			x[d] = m.beta[c][d] * r.Value(s)
		}
		return interval(x)
	}
}

// curves samples each channel's contribution from zero to twice the larger of its current
// and optimised spend (to the budget when both are zero).
func (m *model) curves(sc *Scenario, b bound, spend []float64, n int) []CurvePoint {
	var out []CurvePoint
	for c, ch := range sc.Channels {
		q := m.contribution(c)
		upper := 2 * math.Max(b.ref[c], spend[c])
		if !(upper > 0) {
			upper = sc.BudgetTotal
		}
		for k := range n {
			s := upper * float64(k) / float64(n-1)
			out = append(out, CurvePoint{Channel: ch.Name, Term: ch.Term, Spend: s, Contribution: q(s)})
		}
	}
	return out
}

// sensitivity moves each channel's optimised spend by ±step, the others fixed.
func (m *model) sensitivity(sc *Scenario, spend []float64, step float64) []SensitivityPoint {
	t := make([]float64, m.nd)
	m.drawTotals(spend, t)
	base := meanOf(t)
	var out []SensitivityPoint
	for c, ch := range sc.Channels {
		for _, change := range []float64{-step, step} {
			s := slices.Clone(spend)
			s[c] = spend[c] * (1 + change)
			m.drawTotals(s, t)
			kpi := interval(t)
			out = append(out, SensitivityPoint{
				Channel: ch.Name, Term: ch.Term, Change: change, Spend: s[c], TotalSpend: sum(s),
				KPI: kpi, Objective: riskValue(m.obj, t), DeltaMean: kpi.Mean - base,
			})
		}
	}
	return out
}

// frontier optimises at each budget level, in parallel; each level has its own seeded
// random stream, so the result does not depend on scheduling.
func (m *model) frontier(ctx context.Context, sc *Scenario, b bound, main solution, opts Options) ([]FrontierPoint, []float64, error) {
	sumLo, sumHi := sum(b.lo), sum(b.hi)
	var budgets, levels []float64
	var skipped []float64
	for i := range opts.FrontierSteps {
		r := opts.FrontierMin
		if opts.FrontierSteps > 1 {
			r += float64(i) * (opts.FrontierMax - opts.FrontierMin) / float64(opts.FrontierSteps-1)
		}
		budget := r * sc.BudgetTotal
		if math.Abs(r-1) < 1e-12 {
			r, budget = 1, sc.BudgetTotal
		}
		if budget < sumLo || budget > sumHi {
			skipped = append(skipped, budget)
			continue
		}
		budgets, levels = append(budgets, budget), append(levels, r)
	}
	points := make([]FrontierPoint, len(budgets))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, budget := range budgets {
		g.Go(func() error {
			sol := main
			if budget != sc.BudgetTotal {
				p := newProblemAt(budget, b.lo, b.hi)
				above := make([]float64, len(main.spend))
				for c := range above {
					above[c] = main.spend[c] - b.lo[c]
				}
				var err error
				sol, err = m.solve(ctx, p, solveOptions{
					rng:    rand.New(rand.NewPCG(opts.Seed, uint64(i)+1)),
					random: min(opts.Starts, 2), warm: [][]float64{fill(p, above)}, ref: b.ref,
				})
				if err != nil {
					return err
				}
			}
			tot, _ := m.totals(sol.spend, b.kpiType)
			points[i] = FrontierPoint{Budget: budget, Ratio: levels[i], Objective: tot.Objective, KPI: tot.KPI,
				Spend: sol.spend, Solver: sol.solver}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return points, skipped, nil
}
