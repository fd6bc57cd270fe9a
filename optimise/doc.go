// Package optimise splits a media budget across channels using the posterior draws of a
// fitted model's population-level coefficients, and reports the allocation with its
// uncertainty, the response curves, the efficient frontier and a sensitivity table. It
// stands alone: it takes a Scenario (the run config's allocation section, or a scenario
// file) and plain Inputs (terms, coefficient draws, spend columns), and knows nothing of
// CmdStan or the run folder.
//
// DSAMbayes documents its scenario keys but not its objectives or response transforms
// (docs/dsambayes.md, budget optimisation); the definitions below are dsamstan's own.
//
// # Units
//
// Every spend amount (budget_total, bounds, reference spend) is per model row, in the
// data's units: per week for weekly data. The coefficient draws are in original units
// (after undoing any scaling), so a channel's contribution is in KPI units per row. For a
// log(kpi) model the contributions are on the log scale (≈ relative lift) and ROI/CPA are
// not currency ratios; optimising them maximises the expected log-KPI lift.
//
// For a panel, Inputs.Draws holds the population (fixed-effect) coefficients, as DSAMbayes's
// tutorial advises: bounds apply at population level. Per-group optimisation is the same
// call with one group's draws (population plus that group's effects) and its own spend
// columns; Inputs.Group labels the result.
//
// # Response transforms
//
// A channel's model variable is x = f(s) of its spend s ≥ 0, so the scenario must describe
// how the model's column was built from spend:
//
//	identity            f(s) = s
//	hill {ec50, slope}  f(s) = s^slope / (s^slope + ec50^slope)      (slope defaults to 1)
//	log1p {scale}       f(s) = log(1 + s/scale)
//	power {exponent}    f(s) = s^exponent
//
// log1p, hill with slope ≤ 1 and power with exponent ≤ 1 are concave (diminishing
// returns); hill with slope > 1 is S-shaped and power with exponent > 1 convex.
//
// A term whose column the model transforms itself (adstock and Hill saturation) needs no
// response: Inputs.ModelResponses holds the model's steady-state curve for it, which its
// channel takes. Constant spend s gives an adstocked value of s (the weights sum to 1), so
// the curve is hill {ec50: half_saturation, slope: shape} with Hill saturation and the
// identity with adstock alone, whether the decay is fixed or estimated (an estimated
// adstock without saturation is linear in spend: β·s). When the model estimates the
// saturation, the curve differs by draw: Inputs.ModelResponseDraws holds draw d's
// hill {ec50: half_saturation_d, slope: shape_d}, so the contribution in draw d is
// β_{d,c}·f_{d,c}(s_c), and the channel's response, as reported, is marked per draw with the
// posterior medians of the parameters (for display only). A channel on such a term that
// writes its own response is an error, and so is a Hill-saturated one whose spend_col is
// not the term's column: the half-saturation is in that column's units, so the spend must
// be too.
//
// # Contributions and objectives
//
// With β_{d,c} the coefficient of channel c's term in draw d (d = 1…S), the channel's
// contribution in draw d is β_{d,c}·f_c(s_c) and the total is
//
//	T_d(s) = Σ_c β_{d,c} f_c(s_c)
//
// (f_{d,c} in place of f_c for a curve that varies by draw; everything below then reads so).
// The optimiser maximises one of, over allocations with Σ_c s_c = budget_total and
// min_c ≤ s_c ≤ max_c:
//
//	mean            (1/S) Σ_d T_d                                 (the default)
//	mean_minus_sd   mean − λ·sd, sd = √(Σ_d (T_d − mean)² / (S−1))  (lambda ≥ 0, default 1)
//	quantile        the q-quantile of T_1…T_S, R's type 7:        (0 < q < 1, default 0.1)
//	                h = 1 + (S−1)q, Q = (1 − (h−⌊h⌋))·T_(⌊h⌋) + (h−⌊h⌋)·T_(⌊h⌋+1)
//	cvar            the mean of the worst alpha fraction: with     (0 < alpha ≤ 1, default 0.1)
//	                m = αS, k = ⌊m⌋, CVaR = (T_(1)+…+T_(k) + (m−k)·T_(k+1)) / m
//
// where T_(i) is the i-th smallest total. The objective and its parameter come from
// `objective: {type, lambda, q, alpha}`, or `objective: <type>` with the parameter in a
// `risk: {…}` section.
//
// # Reported quantities
//
// Intervals are the 5% and 95% quantiles over the draws (type 7), so "90% interval". Since
// f ≥ 0, a channel's contribution at spend s has mean β̄_c·f_c(s) and quantiles
// f_c(s)·q(β_c); for a curve that varies by draw, the mean and quantiles of
// β_{d,c}·f_{d,c}(s) over the draws. For model.kpi_type revenue, ROI = mean contribution /
// spend; for subscriptions, CPA = spend / mean contribution (undefined values are NA in CSV,
// null in JSON). The marginal ROI is the slope of the mean contribution at the optimised
// spend, β̄_c·f_c'(s_c), or (1/S) Σ_d β_{d,c} f_{d,c}'(s_c) (marginal KPI per unit of spend,
// for either KPI type). Response curves, ROI and marginal ROI all come from these curves.
// At an interior optimum of the mean objective the marginal ROIs of all channels strictly
// inside their bounds are equal. The current allocation is the reference spend: reference_spend by
// channel name, else the mean of the channel's spend_col (missing values skipped).
//
// # Solvers
//
// Every solver works on the bounds tightened to what the budget allows
// (max_c ← min(max_c, budget − Σ_{j≠c} min_j)), so all bounds are finite.
//
//   - linear-corner: every response identity and the mean objective. The problem is linear
//     (summary.json says so, linear: true): every channel gets its minimum, then the rest
//     of the budget goes to channels in decreasing order of mean coefficient, each up to its
//     maximum. A risk objective with identity responses is not linear (sd is convex in
//     spend) and goes to the general solver.
//   - lagrange-bisection: the mean objective with every β̄_c·f_c concave (concave f with
//     β̄_c ≥ 0, or identity; for a curve that varies by draw, every f_{d,c} concave and every
//     β_{d,c} ≥ 0, its expected marginal return then found by bisection). The optimum
//     equalises marginal returns: for a multiplier λ each channel takes
//     s_c(λ) = argmax β̄_c f_c(s) − λs on its bounds (f_c'(s) = λ/β̄_c, solved in closed
//     form for log1p, power and hill with slope 1, by bisection otherwise), and bisection
//     on λ finds where Σ s_c(λ) crosses the budget; the two bracketing allocations
//     are mixed to spend it exactly. This is exact to rounding.
//   - bfgs-multistart: the mean with non-concave responses (hill slope > 1, power exponent
//     > 1, or a negative mean coefficient on a curved response; for curves that vary by
//     draw, any draw's) and mean_minus_sd; gonum's BFGS with the exact gradient (draw by
//     draw when a curve varies by draw).
//   - nelder-mead-multistart: quantile and cvar, which are not smooth. Because for a normal
//     T they equal mean − λ·sd with λ = −Φ⁻¹(q) (quantile) or φ(Φ⁻¹(α))/α (cvar), BFGS on
//     that smooth surrogate first runs from every start; gonum's Nelder–Mead on the
//     objective itself then finishes from the three best points found.
//
// The general solvers search over z ∈ R^(C−1), mapped to allocations that meet the budget
// and bounds by construction: channel c takes s_c = a_c + (b_c − a_c)·σ(z_c), where
// [a_c, b_c] = [max(min_c, R_c − Σ_{j>c} max_j), min(max_c, R_c − Σ_{j>c} min_j)] is what
// its bounds and the later channels' bounds leave of the unspent budget R_c, and the last
// channel takes what is left. Starts: an equal split, the reference spend's shape, the mean
// optimum when it is exact (for risk objectives), one start per channel giving it all it
// can take, and Options.Starts seeded random splits (Dirichlet(1) weights). Each run
// restarts from its end point while that still improves the objective, so shares pressed
// against a bound (where σ is flat) can move back. For every gonum run both the returned
// error and Result.Status.Err() are checked; a run that ended early still yields a
// feasible point, and summary.json counts the starts that converged. Random starts come
// from a PCG stream seeded by Options.Seed (frontier budget i uses stream i+1), so results
// are reproducible and do not depend on Options.Workers.
//
// Finally each allocation is clipped to its bounds and its last bits adjusted so that its
// left-to-right float64 sum in channel order is budget_total exactly. Where no such value
// exists (a channel fixed by min = max can leave only sums that round past the budget), the
// exact sum rounded once to float64, as R's sum() and Python's math.fsum() compute it, is
// made equal to the budget instead.
//
// # Outputs
//
// Result.WriteFiles writes, into the run's 60_optimisation/ folder:
//
//	allocation.csv       channel, term, current_spend, optimised_spend, current_mean,
//	                     current_q05, current_q95, optimised_mean, optimised_q05,
//	                     optimised_q95, current_roi, optimised_roi (current_cpa, optimised_cpa
//	                     for subscriptions), marginal_roi, min_spend, max_spend, response
//	response_curves.csv  channel, term, spend, mean, q05, q95: 101 spend levels from 0 to
//	                     twice the larger of current and optimised spend
//	frontier.csv         budget, budget_ratio, objective, total_mean, total_q05, total_q95,
//	                     solver, spend_<channel>…: the optimum at 21 budgets from 50% to 150%
//	                     of budget_total (budgets outside the sums of the bounds are skipped
//	                     and listed in summary.json)
//	sensitivity.csv      channel, term, change, spend, total_spend, total_mean, total_q05,
//	                     total_q95, objective, delta_mean: each channel's optimised spend
//	                     moved by −20% and +20% with the others fixed (bounds not enforced)
//	summary.json         objective, budget, solver, starts, linear flag, notes, seed, and
//	                     current vs optimised totals (spend, KPI mean and interval, objective,
//	                     ROI or CPA), with the per-draw lift (optimised − current) and the
//	                     share of draws in which it is positive
//
// # Scenario format
//
//	channels:
//	  - term: m_tv                  # model population term (required, unique)
//	    name: tv                    # label (default: term; unique)
//	    spend_col: spend_tv         # data column for the reference spend (default: name)
//	    bounds: {min: 2000, max: 8000}   # default 0 and unbounded
//	    response: {type: hill, ec50: 4000, slope: 1.5}
//	  - term: m_search
//	    response: {type: log1p, scale: 1500}
//	budget_total: 12000             # per model row; within [Σ min, Σ max]
//	reference_spend: {tv: 5000}     # optional, by channel name
//	objective: {type: cvar, alpha: 0.05}
//
// ParseScenario decodes a file strictly: unknown keys, mistyped values, duplicate channels
// or terms, negative or crossed bounds, a hill without ec50, a parameter of another type
// and a budget outside the bounds are all reported at once in a *ScenarioError whose lines
// read
//
//	optimise: scenario.yaml:4:5: `channels[1].term` "m_tv" repeats channels[0]; each term can be allocated once
//
// The run config's allocation section is the same format: Scenario implements the
// Unmarshaler of package internal/strictyaml, so package ingest decodes it with the rest of
// the config and reports its problems in the same round, keyed under allocation
// (`allocation.channels[1].term`). Terms the model lacks and missing spend columns are
// found when Optimise binds the scenario to the inputs, with positions in the file the
// scenario came from.
package optimise
