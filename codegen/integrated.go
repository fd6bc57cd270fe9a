package codegen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// IntegratedTemplate is the panel program for one grouping factor with its group effects
// integrated out, as Program.Template names it.
const IntegratedTemplate = "integrated_hierarchical.stan"

// Integrated is the REChoice.Parameterization of every group-varying term in the
// integrated program: its group effects are not sampled but integrated out of the
// likelihood, and drawn from their exact conditional by Decode.
const Integrated = "integrated"

// drawStream separates the stream Decode draws group effects from from anything else
// seeded with the run's seed.
const drawStream = 0x6a09e667f3bcc908

// integratedStats is what Decode needs to draw the group effects of the integrated
// program: each group's QR statistics on the sampler's scale and the group-varying
// columns.
type integratedStats struct {
	r       [][]float64 // G·K rows: rows g·K to g·K+K−1 are group g's R
	qty     []float64   // G·K: group g's Qty at g·K
	varying []int       // P: the columns of the group-varying terms, in Grouping.Terms order
	// tr holds the estimated transforms (nil without): r and qty are then those at the
	// priors' centres, and Decode recomputes them at every draw from the standardised
	// design x (column by column), the response y and each group's rows.
	tr *estTransforms
	// joint holds the statistics of the joint program (JointTemplate, several factors);
	// the fields above are then unused.
	joint *jointStats
	spec  *ingest.Spec
	x     [][]float64
	y     []float64
	rows  [][]int
}

// integratedContext is everything integrated_hierarchical.stan.tmpl may use.
type integratedContext struct {
	Comment         string
	Template        string
	TemplateVersion string
	// K population coefficients, G groups, J group-varying terms.
	K, G, J int
	// Correlated is true for correlated group effects (an LKJ prior on L_1).
	Correlated bool
	// Varying lists the 1-based columns of the group-varying terms, as a Stan array.
	Varying string
	// Intercept is the intercept's 1-based position in beta (0: none); ShearBeta is true
	// when beta[Intercept] is the intercept at the predictors' means x_mean.
	Intercept int
	ShearBeta bool
	// Transforms is true when the model estimates media transforms: the groups' statistics
	// are then computed from the rows in the model block (see transforms.go).
	Transforms bool
}

// maxIntegratedEffects is the largest number of group effects (groups × group-varying
// terms, over all factors) for which auto integrates them out. The integrated program's
// gradient pays Stan's autodiff for a few small matrix operations per group (the joint
// program's for a D×D Cholesky factor), which costs more than the sampled program's few
// large vectorised ones: with 4 terms, 8 groups × 156 weeks fit in 1.36 s against 0.68 s,
// 50 × 260 in 4.6 s against 2.4 s (docs/hierarchical.md). Small panels are where the data
// are weak and the sampled program diverges; large ones keep its speed.
const maxIntegratedEffects = 80

// useIntegrated reports whether spec's panel is rendered with its group effects integrated
// out: the integrated program for one grouping factor (plain or composite key, with or
// without CRE terms), the joint program (JointTemplate) for several. It is when
// model.random_effects.parameterization is integrated, or auto with at most
// maxIntegratedEffects group effects over all factors. Larger panels under auto, and
// centered or noncentered, keep the sampled program (HierTemplate).
func useIntegrated(spec *ingest.Spec) bool {
	switch spec.Parameterization {
	case Integrated:
		return true
	case "", autoParam:
		effects := 0
		for _, g := range spec.Groups {
			effects += len(g.Levels) * len(g.Terms)
		}
		return effects <= maxIntegratedEffects
	}
	return false
}

// integratedChoices records the integrated program's treatment of every group-varying
// term of g, and what the groups' own fits say about each (for the sampler's scales).
func integratedChoices(spec *ingest.Spec, g *ingest.Grouping, x [][]float64, y []float64) (kinds []string, info []termInfo, choices []REChoice) {
	info = groupInfo(g, x, y)
	reason := "auto: one grouping factor, so the group effects are integrated out of the likelihood " +
		"(nothing to centre) and each draw's are drawn from their exact conditional in Go; " +
		"model.random_effects.parameterization centered or noncentered samples them instead"
	if len(spec.Groups) > 1 {
		reason = fmt.Sprintf("auto: %d grouping factors with at most %d group effects in all, so every factor's group effects are "+
			"integrated out of the likelihood jointly (nothing to centre) and each draw's are drawn from their exact joint conditional in Go; "+
			"model.random_effects.parameterization centered or noncentered samples them instead", len(spec.Groups), maxIntegratedEffects)
	}
	if hasEstimatedTransforms(spec) {
		reason = "estimated media transforms: only the integrated program computes the groups' statistics " +
			"from the rows at every draw's transforms; each draw's group effects are drawn from their exact " +
			"conditional in Go"
	}
	for _, k := range g.Terms {
		kinds = append(kinds, Integrated)
		choices = append(choices, REChoice{Factor: g.Factor, Index: g.Index, Term: spec.Terms[k].Name,
			Parameterization: Integrated, Reason: reason})
	}
	return kinds, info, choices
}

// renderIntegrated renders the integrated program for the one-factor panel spec from the
// layout renderHier built: choices are integratedChoices' records, r, qty and rss the
// groups' QR statistics, sdPriors the group-scale priors on the sampler's scale.
func renderIntegrated(t *template.Template, spec *ingest.Spec, lay *hierLayout, pop population, choices []REChoice,
	r [][]float64, qty []float64, rss float64, sdPriors []ingest.Prior) (*Program, error) {
	fl := &lay.factors[0]
	lay.integrated = &integratedStats{r: r, qty: qty, varying: fl.terms}
	var varying []string
	for _, k := range fl.terms {
		varying = append(varying, strconv.Itoa(k+1))
	}
	et, err := newEstTransforms(spec)
	if err != nil {
		return nil, err
	}
	ctx := integratedContext{Comment: header, Template: IntegratedTemplate, TemplateVersion: TemplateVersion,
		K: len(lay.terms), G: len(fl.levels), J: len(fl.terms), Correlated: fl.correlated,
		Varying: "{" + strings.Join(varying, ", ") + "}", Intercept: lay.intercept + 1, ShearBeta: lay.xMean != nil,
		Transforms: et != nil}
	code, err := execute(t, IntegratedTemplate, ctx)
	if err != nil {
		return nil, err
	}

	vars := []stanio.Var{{Name: "N", Value: spec.N}}
	if et == nil {
		vars = append(vars,
			stanio.Var{Name: "R", Value: r},
			stanio.Var{Name: "Qty", Value: qty},
			stanio.Var{Name: "rss_ls", Value: rss})
	} else {
		vars = append(vars, lay.integrated.useTransforms(spec, et, &spec.Groups[0])...)
	}
	vars = append(vars, populationVars(lay, pop)...)
	mean := make([]float64, len(sdPriors))
	sd := make([]float64, len(sdPriors))
	for j, p := range sdPriors {
		mean[j], sd[j] = p.Mean, p.SD
	}
	vars = append(vars,
		stanio.Var{Name: "sd_1_prior_mean", Value: mean},
		stanio.Var{Name: "sd_1_prior_sd", Value: sd})
	if fl.correlated {
		vars = append(vars, stanio.Var{Name: "lkj_eta_1", Value: LKJEta})
	}
	vars = append(vars, noiseVars(pop, lay.sigma2, spec.N)...)
	if et != nil {
		vars = append(vars, et.vars(spec)...)
		vars = append(vars, stanio.Var{Name: "t_varying", Value: et.varyingPositions(fl.terms)})
	}
	return &Program{Template: IntegratedTemplate, Code: code, Data: vars,
		Metric: integratedMetric, AdaptDelta: integratedAdaptDelta, RandomEffects: choices, hier: lay}, nil
}

// populationVars is the data of the integrated programs' population coefficients: their
// priors, the units and centre beta is sampled in, its bounds in those units, the
// Jacobian flag and the predictor means of a sheared intercept.
func populationVars(lay *hierLayout, pop population) []stanio.Var {
	lb, ub := slices.Clone(pop.lb), slices.Clone(pop.ub)
	for j, s := range lay.betaScale {
		lb[j] /= s
		ub[j] /= s
	}
	vars := []stanio.Var{
		{Name: "prior_mean", Value: pop.priorMean},
		{Name: "prior_sd", Value: pop.priorSD},
		{Name: "beta_scale", Value: lay.betaScale},
		{Name: "lb", Value: lb},
		{Name: "ub", Value: ub},
		{Name: "beta_centre", Value: lay.betaCentre},
		{Name: jacobianVar, Value: 1},
	}
	if lay.xMean != nil {
		vars = append(vars, stanio.Var{Name: "x_mean", Value: lay.xMean})
	}
	return vars
}

// useTransforms records what Decode needs to recompute the groups' statistics at every
// draw of the estimated transforms et, orders et's lag matrices group by group, and
// returns the program's row data: the standardised design (estimated columns 0) and
// response, group by group, and each group's first and last row.
func (st *integratedStats) useTransforms(spec *ingest.Spec, et *estTransforms, g *ingest.Grouping) []stanio.Var {
	st.tr, st.spec = et, spec
	st.x, st.y = standardise(spec)
	st.rows = rowsByLevel(g)
	var order, start, end []int
	for _, rows := range st.rows {
		start = append(start, len(order)+1)
		order = append(order, rows...)
		end = append(end, len(order))
	}
	y := make([]float64, len(order))
	for r, i := range order {
		y[r] = st.y[i]
	}
	et.permuteRows(order)
	return []stanio.Var{
		{Name: "X", Value: et.designRows(st.x, order)},
		{Name: "y", Value: y},
		{Name: "group_start", Value: start},
		{Name: "group_end", Value: end},
	}
}

// integratedMetric is the sampler metric of the integrated program: its few parameters
// (K + J + J(J−1)/2 + 1, whatever the group count) are correlated, and a dense metric
// that size costs nothing next to the likelihood.
const integratedMetric = "dense_e"

// integratedAdaptDelta is the integrated program's Program.AdaptDelta.
const integratedAdaptDelta = 0.95

// drawRNG returns the generator Decode draws chain ch's group effects with: seeded from
// the run's seed and the chain's id, so that decoding the same CSV twice gives the same
// draws, and different chains different ones.
func drawRNG(ch *stanio.Chain) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(ch.Config.Seed), drawStream^uint64(ch.Config.ID)))
}

// integratedCoefficients returns, on the sampler's scale, coef[j][g][i]: term j's
// coefficient in group g at draw i, b plus a draw of the group's effects from their
// conditional given draw i's b, S and σ (their conditional mean when mean is true, for a
// MAP fit). b is per term and draw, sd per varying term and draw, l the Cholesky factor
// of the correlation ([a][c][draw], nil for independent effects), logSigma per draw.
//
// With estimated transforms, tcols holds the transform parameters' draws in original
// units (estTransforms.readValues), and each group's statistics are recomputed at draw
// i's transforms.
func (lay *hierLayout) integratedCoefficients(n int, b, sd [][]float64, l [][][]float64, logSigma []float64, tcols [][]float64,
	rng *rand.Rand, mean bool) ([][][]float64, error) {
	st := lay.integrated
	fl := &lay.factors[0]
	k, jn, g := len(lay.terms), len(fl.terms), len(fl.levels)
	coef := make([][][]float64, jn)
	for j := range coef {
		coef[j] = make([][]float64, g)
		for l := range coef[j] {
			coef[j][l] = make([]float64, n)
		}
	}
	gg := newGroupGauss(k, jn)
	var x [][]float64 // the design at draw i's transforms (a copy: chains may decode concurrently)
	if st.tr != nil {
		x = make([][]float64, len(st.x))
		for c, col := range st.x {
			x[c] = slices.Clone(col)
		}
	}
	bi := make([]float64, k)
	s := make([]float64, jn*jn)
	d := make([]float64, jn)
	for i := range n {
		for c := range k {
			bi[c] = b[c][i]
		}
		for a := range jn {
			for c := 0; c <= a; c++ {
				switch {
				case l != nil:
					s[a*jn+c] = sd[a][i] * l[a][c][i]
				case a == c:
					s[a*jn+c] = sd[a][i]
				}
			}
		}
		sigma := math.Exp(logSigma[i])
		r, qty := st.r, st.qty
		if st.tr != nil {
			st.tr.setDesign(st.spec, x, tcols, i)
			r, qty, _ = cellStats(x, st.y, st.rows)
		}
		for grp := range g {
			if !gg.set(r[grp*k:(grp+1)*k], qty[grp*k:(grp+1)*k], st.varying, bi, s, sigma) {
				return nil, fmt.Errorf("codegen: draw %d: the group effects' conditional of %s is not finite (noise_sd %g)",
					i+1, fl.levels[grp], sigma)
			}
			if mean {
				gg.mean(d, s)
			} else {
				gg.draw(d, s, rng)
			}
			for j, t := range fl.terms {
				coef[j][grp][i] = bi[t] + d[j]
			}
		}
	}
	return coef, nil
}
