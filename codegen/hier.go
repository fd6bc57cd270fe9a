package codegen

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// HierTemplate is the panel program, as Program.Template names it.
const HierTemplate = "general_hierarchical.stan"

// Parameterisations of a group-varying term's effects θ_g (group g's coefficient), as
// REChoice.Parameterization names them; ingest.Spec.Parameterization may force the first
// two.
const (
	// Centered samples θ_g ~ normal(β, sd) itself.
	Centered = "centered"
	// Noncentered samples z_g ~ normal(0, 1), θ_g = β + sd·z_g.
	Noncentered = "noncentered"
	// Partial samples z_g with θ_g = w_g·β + (1 − w_g)·θ̂_g + sd·√w_g·z_g, where θ̂_g and
	// v_g are group g's own least-squares estimate and its sampling variance and
	// w_g = v_g/(v_g + sd²): θ_g centred on its conditional posterior given β and sd, in
	// units of its conditional sd. It is Noncentered where the data are weak next to sd
	// (w_g → 1) and a centred form standardised by the data where they are strong (w_g → 0),
	// at every value of sd the sampler visits (the partially non-centred parameterisation
	// of Papaspiliopoulos, Roberts and Sköld 2003, extended to the scale).
	Partial   = "partial"
	autoParam = "auto"
)

// noEstimate is the sampling variance given to a group that cannot estimate a Partial term
// on its own: its weight w_g is then 1, plain non-centring.
const noEstimate = 1e100

// LKJEta is the shape of the LKJ prior on correlated group effects: 2 puts a little more
// mass near independence than a uniform prior on correlation matrices (eta = 1) does.
const LKJEta = 2.0

// REChoice records how one group-varying term is parameterised in the program, and why
// (docs/architecture.md, decision 4). The pipeline writes it to run.json. A different choice is a different
// program, so data that change a choice compile once more.
type REChoice struct {
	// Factor is the grouping factor as written ("market", "market:brand"); Index is its
	// 1-based position, as in sd_<Index>[Term].
	Factor string `json:"factor"`
	Index  int    `json:"index"`
	// Term is the group-varying term ("(Intercept)", "m_tv").
	Term string `json:"term"`
	// Parameterization is Centered, Partial or Noncentered.
	Parameterization string `json:"parameterization"`
	// Reason says why: the configured override, or the data-based rule and its figures.
	Reason string `json:"reason"`
}

// factorLayout is one grouping factor as the program declares it. Its varying terms keep
// their Grouping.Terms order in sd_<f>; centred ones are rows of theta_<f>, the others
// (partial and non-centred) rows of z_<f>, each in that order. With correlation, the
// Cholesky factor L_<f> is over the terms in the order perm: centred first, then the rest.
type factorLayout struct {
	index  int
	factor string
	levels []string
	terms  []int    // indexes into spec.Terms
	kind   []string // per terms entry: Centered, Partial or Noncentered
	row    []int    // per terms entry: 0-based row in theta_<f> (centred) or z_<f>
	perm   []int    // positions in terms, centred first
	nc     int      // number of centred terms
	// partial is, per terms entry, its column in est and se2 (Partial terms; else -1);
	// est[g] and se2[g] hold group g's own estimates and their sampling variances.
	partial    []int
	est, se2   [][]float64
	correlated bool
	// unified is true for an independent factor of the sampled program: every term is a
	// row of z_<f> (row j for terms entry j) and whether it is centred travels as data
	// (centred_<f>), so the program does not depend on the choice; a non-centred term is
	// partial with no estimate (w = 1), and a varying intercept is always sheared.
	unified   bool
	cellLevel []int // per cell, this factor's level
	// shear is the terms entry of a centred or partial intercept, which the program samples
	// at each group's means of the predictors (xMean[g]); -1 when there is none.
	shear int
	xMean [][]float64
	// thetaScale[r][g] is the scale theta_<f>[r, g] is sampled in (its multiplier); in a
	// unified factor, the scale of row r of z_<f> when that term is centred (1 otherwise).
	thetaScale [][]float64
}

// hierLayout is what Decode needs to map a draw of the panel program back to original units.
type hierLayout struct {
	terms   []string
	pop     []Param
	noise   Param
	scale   []float64 // per term: coefficient (and group scale) back-map factor
	shift   []float64
	factors []factorLayout
	// intercept is the intercept's position in beta (-1: none); when xMean is not nil,
	// beta[intercept] is the intercept at the predictors' means xMean.
	intercept int
	xMean     []float64
	// betaScale are the units beta is sampled in: b = betaScale .* beta, then the shear.
	betaScale []float64
	// betaCentre is beta's approximate posterior mean, in betaScale's units (0 when
	// there is no approximation): the integrated program samples beta around it.
	betaCentre []float64
	// sigma2 estimates the residual variance on the sampler's scale.
	sigma2 float64
	// integrated holds the group statistics of the integrated program (IntegratedTemplate),
	// whose group effects Decode draws from their conditional; nil for HierTemplate.
	integrated *integratedStats
}

// hierContext is everything general_hierarchical.stan.tmpl may use: the structure of the
// model (sizes, which terms vary, how) and nothing from the data's values or names.
type hierContext struct {
	Comment         string
	Template        string
	TemplateVersion string
	// K is the number of population coefficients.
	K int
	// Cells is the number of cells: a literal for one factor (a cell is a group), else "C",
	// declared as data.
	Cells string
	// Multi is true with several grouping factors: cells then map to each factor's groups
	// through the data arrays cell_<f>.
	Multi bool
	// Intercept is the intercept's 1-based position in beta (0: none). ShearBeta is true
	// when beta[Intercept] is sampled as the intercept at the predictors' means x_mean
	// (an unbounded intercept), which decorrelates it from the slopes.
	Intercept int
	ShearBeta bool
	// Partial is true when some factor has partial terms: the program then declares the
	// functions they use.
	Partial bool
	Factors []factorContext
}

// factorContext is one grouping factor in the template.
type factorContext struct {
	F, G, J int
	// K is the number of population coefficients (columns of B_<F>).
	K          int
	Correlated bool
	// JC counts the centred terms (rows of theta_<F>), JN the others (rows of z_<F>), JP
	// the partial ones among those; Centred lists the centred terms but the intercept.
	JC, JN, JP int
	Centred    []termContext
	// Shear is the centred intercept, sampled at each group's means of the predictors
	// x_mean_<F> (in a unified factor the intercept, whatever its form); nil when the
	// factor has none.
	Shear *termContext
	// Perm lists the sd_<F> positions in L_<F>'s order (centred first), as a Stan array.
	Perm string
	// BetaC lists the beta positions of the centred terms, as a Stan array.
	BetaC string
	// Block lists a correlated factor's partial and non-centred terms in L's order.
	Block []termContext
	// Unified is true for an independent factor: each term's form is data (centred_<F>);
	// Slopes lists its terms but the sheared intercept, whose Row and P are the term's
	// position.
	Unified bool
	Slopes  []termContext
}

// termContext is one group-varying term in the template; all positions are 1-based.
type termContext struct {
	Beta int // position in beta
	SD   int // position in sd_<f>
	Row  int // row of theta_<f> or z_<f>, which is also its place in the centred or
	// non-centred block of L_<f>'s order
	P int // Partial terms: column of theta_hat_<f> and theta_var_<f>
	// L is the term's 1-based place in L_<f>'s order (correlated factors).
	L int
	// IsPartial is true for a Partial term in a correlated factor's non-centred block.
	IsPartial bool
}

// renderHier renders a panel program for spec, which has grouping factors: the
// integrated program (IntegratedTemplate) when integrated is true, which needs one
// factor, else the sampled one (HierTemplate). It works in four steps: the layout of
// coefficients and factors, each factor's parameterisation, the template context, and
// the data.
func renderHier(t *template.Template, spec *ingest.Spec, integrated bool) (*Program, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	if err := checkGroups(spec); err != nil {
		return nil, err
	}
	x, y := standardise(spec)
	pop := mapPopulation(spec)
	lay := newHierLayout(spec, pop, x)

	cells, cellRows := makeCells(spec)
	var choices []REChoice
	infos := make([][]termInfo, len(spec.Groups))
	for gi := range spec.Groups {
		fl, info, ch := layoutFactor(spec, gi, cells, x, y, lay.intercept, integrated)
		infos[gi] = info
		choices = append(choices, ch...)
		lay.factors = append(lay.factors, fl)
	}

	r, qty, rss := cellStats(x, y, cellRows)
	sdPriors := scaledSDPriors(spec, lay)
	lay.setScales(r, qty, pop.priorMean, pop.priorSD, rss/float64(spec.N), infos, sdPriors)
	if integrated {
		if len(lay.factors) > 1 {
			return renderJoint(t, spec, lay, pop, choices, r, qty, rss, sdPriors)
		}
		return renderIntegrated(t, spec, lay, pop, choices, r, qty, rss, sdPriors[0])
	}

	ctx := hierTemplateContext(spec, lay, len(cells))
	code, err := execute(t, HierTemplate, ctx)
	if err != nil {
		return nil, err
	}
	vars := hierData(spec, lay, pop, len(cells), r, qty, rss, sdPriors)
	return &Program{Template: HierTemplate, Code: code, Data: vars,
		Metric: hierMetric, RandomEffects: choices, hier: lay}, nil
}

// newHierLayout lays out the population coefficients: names, the map back to original
// units, the intercept, and the predictor means the intercept is sampled at when it is
// unbounded.
func newHierLayout(spec *ingest.Spec, pop population, x [][]float64) *hierLayout {
	k := len(spec.Terms)
	lay := &hierLayout{noise: pop.noise, pop: pop.params, intercept: -1,
		scale: make([]float64, k), shift: make([]float64, k)}
	for j, term := range spec.Terms {
		lay.terms = append(lay.terms, term.Name)
		lay.shift[j], lay.scale[j] = coefScale(spec, j)
		if term.Intercept {
			lay.intercept = j
		}
	}
	if i := lay.intercept; i >= 0 && math.IsInf(pop.lb[i], -1) && math.IsInf(pop.ub[i], 1) {
		lay.xMean = columnMeans(x, nil, i)
	}
	return lay
}

// layoutFactor lays out grouping factor gi: how each group-varying term is parameterised
// (and why), their order in the program, where the intercept is sampled, and the groups'
// own estimates that partial terms are centred on.
func layoutFactor(spec *ingest.Spec, gi int, cells [][]int, x [][]float64, y []float64, intercept int, integrated bool) (factorLayout, []termInfo, []REChoice) {
	g := &spec.Groups[gi]
	fl := factorLayout{index: g.Index, factor: g.Factor, levels: g.Levels,
		terms: g.Terms, correlated: !g.Independent && len(g.Terms) > 1, shear: -1}
	fl.unified = !integrated && !fl.correlated
	fl.cellLevel = make([]int, len(cells))
	for c, key := range cells {
		fl.cellLevel[c] = key[gi]
	}
	var info []termInfo
	var choices []REChoice
	if integrated {
		fl.kind, info, choices = integratedChoices(spec, g, x, y)
	} else {
		fl.kind, info, choices = chooseParameterization(spec, g, x, y)
	}
	fl.orderTerms()
	fl.shearIntercept(g, x, y, intercept, info)
	fl.partialEstimates(g, info)
	return fl, info, choices
}

// orderTerms puts the centred terms first: row is each term's row in theta (centred) or
// z (the rest), perm the order of the Cholesky factor of a correlated factor. A unified
// factor keeps the terms' order: row j of z for terms entry j.
func (fl *factorLayout) orderTerms() {
	fl.row = make([]int, len(fl.terms))
	if fl.unified {
		for j, kind := range fl.kind {
			fl.row[j] = j
			fl.perm = append(fl.perm, j)
			if kind == Centered {
				fl.nc++
			}
		}
		return
	}
	for _, centred := range []bool{true, false} {
		n := 0
		for j, kind := range fl.kind {
			if (kind == Centered) == centred {
				fl.row[j] = n
				n++
				fl.perm = append(fl.perm, j)
			}
		}
		if centred {
			fl.nc = n
		}
	}
}

// shearIntercept samples the group intercept at each group's means of the predictors when
// it is centred, or partial or in a unified factor (its own estimate is then the group's
// mean response, with sampling variance sigma²/n_g given the slopes). Not when partial in
// a correlated factor: there its prior mean at the means would depend on the deviations
// after it in L's order. (Putting it last in that order works, but its conditional sd then
// shrinks with the correlations and the example with correlated effects gave 3-14
// divergences per run.)
func (fl *factorLayout) shearIntercept(g *ingest.Grouping, x [][]float64, y []float64, intercept int, info []termInfo) {
	for j, t := range g.Terms {
		if t != intercept || !(fl.unified || fl.kind[j] == Centered || fl.kind[j] == Partial && !fl.correlated) {
			continue
		}
		fl.shear = j
		fl.xMean = make([][]float64, len(g.Levels))
		for l, rows := range rowsByLevel(g) {
			fl.xMean[l] = columnMeans(x, rows, t)
			if fl.kind[j] == Partial && info[j].sigma2 > 0 {
				info[j].est[l] = columnMeans([][]float64{y}, rows, -1)[0]
				info[j].se2[l] = info[j].sigma2 / float64(len(rows))
			}
		}
	}
}

// partialEstimates records, for the partial terms, each group's own estimate and its
// sampling variance (noEstimate where a group cannot estimate it); in a unified factor, for
// every term (noEstimate for a centred or non-centred one).
func (fl *factorLayout) partialEstimates(g *ingest.Grouping, info []termInfo) {
	fl.partial = make([]int, len(g.Terms))
	fl.est = make([][]float64, len(g.Levels))
	fl.se2 = make([][]float64, len(g.Levels))
	np := 0
	for j, kind := range fl.kind {
		fl.partial[j] = -1
		if kind != Partial && !fl.unified {
			continue
		}
		fl.partial[j] = np
		np++
		for l := range g.Levels {
			e, v := info[j].est[l], info[j].se2[l]
			if kind != Partial || math.IsNaN(e) || !(v > 0) {
				e, v = 0, noEstimate
			}
			fl.est[l] = append(fl.est[l], e)
			fl.se2[l] = append(fl.se2[l], v)
		}
	}
	if np == 0 {
		fl.est, fl.se2 = nil, nil
	}
}

// scaledSDPriors is each factor's group-scale priors on the sampler's scale.
func scaledSDPriors(spec *ingest.Spec, lay *hierLayout) [][]ingest.Prior {
	sdPriors := make([][]ingest.Prior, len(spec.Groups))
	for gi, fl := range lay.factors {
		sdPriors[gi] = slices.Clone(groupScalePriors(spec, &spec.Groups[gi])) // Render must not change spec
		for j, t := range fl.terms {
			sdPriors[gi][j].Mean /= lay.scale[t]
			sdPriors[gi][j].SD /= lay.scale[t]
		}
	}
	return sdPriors
}

// hierTemplateContext is what general_hierarchical.stan.tmpl renders from lay.
func hierTemplateContext(spec *ingest.Spec, lay *hierLayout, ncells int) hierContext {
	ctx := hierContext{Comment: header, Template: HierTemplate, TemplateVersion: TemplateVersion,
		K: len(spec.Terms), Multi: len(spec.Groups) > 1, Cells: "C", Intercept: lay.intercept + 1, ShearBeta: lay.xMean != nil}
	if !ctx.Multi {
		ctx.Cells = strconv.Itoa(ncells)
	}
	for _, fl := range lay.factors {
		fc := factorTemplateContext(fl)
		fc.K = ctx.K
		ctx.Partial = ctx.Partial || fc.JP > 0 || fc.Unified
		ctx.Factors = append(ctx.Factors, fc)
	}
	return ctx
}

// factorTemplateContext is one factor's part of the template context: a unified factor's
// terms, or a correlated factor's terms by treatment and the Stan array literals of their
// order.
func factorTemplateContext(fl factorLayout) factorContext {
	if fl.unified {
		fc := factorContext{F: fl.index, G: len(fl.levels), J: len(fl.terms), Unified: true, JN: len(fl.terms), JP: len(fl.terms)}
		for j, t := range fl.terms {
			tc := termContext{Beta: t + 1, SD: j + 1, Row: j + 1, P: j + 1}
			if j == fl.shear {
				fc.Shear = &tc
			} else {
				fc.Slopes = append(fc.Slopes, tc)
			}
		}
		return fc
	}
	fc := factorContext{F: fl.index, G: len(fl.levels), J: len(fl.terms), Correlated: fl.correlated, JC: fl.nc}
	fc.JN = fc.J - fc.JC
	var perm, betaC []string
	for _, j := range fl.perm {
		perm = append(perm, strconv.Itoa(j+1))
		if fl.kind[j] == Centered {
			betaC = append(betaC, strconv.Itoa(fl.terms[j]+1))
		}
	}
	for a := fl.nc; a < len(fl.perm); a++ {
		j := fl.perm[a]
		fc.Block = append(fc.Block, termContext{Beta: fl.terms[j] + 1, SD: j + 1, Row: fl.row[j] + 1,
			P: fl.partial[j] + 1, L: a + 1, IsPartial: fl.kind[j] == Partial})
	}
	for j, t := range fl.terms {
		tc := termContext{Beta: t + 1, SD: j + 1, Row: fl.row[j] + 1, P: fl.partial[j] + 1}
		switch {
		case j == fl.shear: // a correlated factor shears only a centred intercept
			fc.Shear = &tc
		case fl.kind[j] == Centered:
			fc.Centred = append(fc.Centred, tc)
		}
		if fl.kind[j] == Partial {
			fc.JP++
		}
	}
	fc.Perm = "{" + strings.Join(perm, ", ") + "}"
	fc.BetaC = "{" + strings.Join(betaC, ", ") + "}"
	return fc
}

// hierData is the sampled program's data, in declaration order.
func hierData(spec *ingest.Spec, lay *hierLayout, pop population, ncells int, r [][]float64, qty []float64, rss float64, sdPriors [][]ingest.Prior) []stanio.Var {
	vars := []stanio.Var{{Name: "N", Value: spec.N}}
	if len(spec.Groups) > 1 {
		vars = append(vars, stanio.Var{Name: "C", Value: ncells})
		for _, fl := range lay.factors {
			idx := make([]int, ncells)
			for c, l := range fl.cellLevel {
				idx[c] = l + 1
			}
			vars = append(vars, stanio.Var{Name: fmt.Sprintf("cell_%d", fl.index), Value: idx})
		}
	}
	lb, ub := slices.Clone(pop.lb), slices.Clone(pop.ub)
	for j, s := range lay.betaScale {
		lb[j] /= s
		ub[j] /= s
	}
	vars = append(vars,
		stanio.Var{Name: "R", Value: r},
		stanio.Var{Name: "Qty", Value: qty},
		stanio.Var{Name: "rss_ls", Value: rss},
		stanio.Var{Name: "prior_mean", Value: pop.priorMean},
		stanio.Var{Name: "prior_sd", Value: pop.priorSD},
		stanio.Var{Name: "beta_scale", Value: lay.betaScale},
		stanio.Var{Name: "lb", Value: lb},
		stanio.Var{Name: "ub", Value: ub},
		stanio.Var{Name: "beta_centre", Value: lay.betaCentre},
		stanio.Var{Name: jacobianVar, Value: 1},
	)
	if lay.xMean != nil {
		vars = append(vars, stanio.Var{Name: "x_mean", Value: lay.xMean})
	}
	for gi, fl := range lay.factors {
		mean := make([]float64, len(fl.terms))
		sd := make([]float64, len(fl.terms))
		for j, p := range sdPriors[gi] {
			mean[j], sd[j] = p.Mean, p.SD
		}
		if fl.unified {
			centred := make([]int, len(fl.terms))
			for j, kind := range fl.kind {
				if kind == Centered {
					centred[j] = 1
				}
			}
			vars = append(vars, stanio.Var{Name: fmt.Sprintf("centred_%d", fl.index), Value: centred})
		}
		if fl.thetaScale != nil {
			vars = append(vars, stanio.Var{Name: fmt.Sprintf("theta_scale_%d", fl.index), Value: fl.thetaScale})
		}
		if fl.xMean != nil {
			vars = append(vars, stanio.Var{Name: fmt.Sprintf("x_mean_%d", fl.index), Value: fl.xMean})
		}
		if fl.est != nil {
			vars = append(vars,
				stanio.Var{Name: fmt.Sprintf("theta_hat_%d", fl.index), Value: fl.est},
				stanio.Var{Name: fmt.Sprintf("theta_var_%d", fl.index), Value: fl.se2})
		}
		vars = append(vars,
			stanio.Var{Name: fmt.Sprintf("sd_%d_prior_mean", fl.index), Value: mean},
			stanio.Var{Name: fmt.Sprintf("sd_%d_prior_sd", fl.index), Value: sd})
		if fl.correlated {
			vars = append(vars, stanio.Var{Name: fmt.Sprintf("lkj_eta_%d", fl.index), Value: LKJEta})
		}
	}
	return append(vars, noiseVars(pop, lay.sigma2, spec.N)...)
}

// setScales sets the units the program samples beta and theta in (betaScale and each
// factor's thetaScale): their posterior sds under the Gaussian approximation of the
// model at the hyperparameters the groups' own fits estimate (see laplace), so that every
// sampled coordinate has a posterior sd near 1 from the first iteration; and beta's
// approximate posterior mean in those units (betaCentre). r and qty are the cells' QR
// statistics; sigma2 is the fallback residual variance; sdPriors are the group-scale
// priors on the sampler's scale, whose sd stands in for τ when no group estimates a term.
// When the approximation is too large, the scales are 1 and the centres 0.
func (lay *hierLayout) setScales(r [][]float64, qty, priorMean, priorSD []float64, sigma2 float64, infos [][]termInfo, sdPriors [][]ingest.Prior) {
	k := len(lay.terms)
	lay.betaScale = make([]float64, k)
	lay.betaCentre = make([]float64, k)
	for j := range lay.betaScale {
		lay.betaScale[j] = 1
	}
	tau2 := make([][]float64, len(lay.factors))
	for fi, fl := range lay.factors {
		tau2[fi] = make([]float64, len(fl.terms))
		for j, in := range infos[fi] {
			if in.sigma2 > 0 {
				sigma2 = in.sigma2
			}
			t2 := math.Max(in.ratio()*in.v, 0.25*in.v)
			if !(t2 > 0) || math.IsInf(t2, 0) {
				t2 = sdPriors[fi][j].SD * sdPriors[fi][j].SD
			}
			tau2[fi][j] = t2
		}
	}
	if !(sigma2 > 0) {
		sigma2 = 1
	}
	lay.sigma2 = sigma2
	la := newLaplace(lay, r, priorSD, sigma2, tau2)
	for fi := range lay.factors {
		fl := &lay.factors[fi]
		rows := fl.nc
		if fl.unified {
			rows = len(fl.terms) // the data are the same shape whatever the choices
		}
		if rows == 0 {
			continue
		}
		fl.thetaScale = make([][]float64, rows)
		for row := range fl.thetaScale {
			fl.thetaScale[row] = make([]float64, len(fl.levels))
			for g := range fl.levels {
				fl.thetaScale[row][g] = 1
			}
		}
	}
	if la == nil {
		return
	}
	mean := la.mean(lay, r, qty, priorMean, priorSD, sigma2)
	for j := range k {
		w := map[int]float64{j: 1}
		if j == lay.intercept && lay.xMean != nil { // the intercept at the predictors' means
			for c, m := range lay.xMean {
				if c != j && m != 0 {
					w[c] += m
				}
			}
		}
		lay.betaScale[j] = positive(la.sd(w))
		c := 0.0
		for _, i := range slices.Sorted(maps.Keys(w)) { // in index order: the same bits every run
			c += w[i] * mean[i]
		}
		lay.betaCentre[j] = c / lay.betaScale[j]
	}
	for fi := range lay.factors {
		fl := &lay.factors[fi]
		for j, t := range fl.terms {
			if fl.kind[j] != Centered {
				continue
			}
			for g := range fl.levels {
				w := map[int]float64{t: 1, la.u(lay, fi, g, j): 1}
				if j == fl.shear { // the intercept at the group's predictor means
					for jj, tt := range fl.terms {
						if m := fl.xMean[g][tt]; jj != j && m != 0 && (!fl.correlated || fl.kind[jj] == Centered) {
							w[la.u(lay, fi, g, jj)] += m
						}
					}
					for c, m := range fl.xMean[g] {
						if c != t && m != 0 {
							w[c] += m
						}
					}
				}
				fl.thetaScale[fl.row[j]][g] = positive(la.sd(w))
			}
		}
	}
}

// positive returns v, or 1 when v is not a positive finite number.
func positive(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	return v
}

// columnMeans returns the mean of every column of x over rows (all rows when nil), with 0
// in column skip (the intercept's).
func columnMeans(x [][]float64, rows []int, skip int) []float64 {
	m := make([]float64, len(x))
	for k, col := range x {
		if k == skip {
			continue
		}
		if rows == nil {
			for _, v := range col {
				m[k] += v
			}
			m[k] /= float64(len(col))
			continue
		}
		for _, i := range rows {
			m[k] += col[i]
		}
		m[k] /= float64(len(rows))
	}
	return m
}

// rowsByLevel lists the rows (0-based) of each level of g.
func rowsByLevel(g *ingest.Grouping) [][]int {
	rows := make([][]int, len(g.Levels))
	for i, l := range g.Of {
		rows[l] = append(rows[l], i)
	}
	return rows
}

// hierMetric is the sampler metric recommended for the panel program; see Program.Metric.
const hierMetric = "diag_e"

// checkGroups rejects grouping factors the panel program cannot represent. ingest builds
// them; these checks guard the contract between the packages.
func checkGroups(spec *ingest.Spec) error {
	switch spec.Parameterization {
	case "", autoParam, Integrated, Centered, Noncentered:
	default:
		return fmt.Errorf("codegen: parameterization %q is unknown; use %q, %q, %q or %q", spec.Parameterization, autoParam, Integrated, Centered, Noncentered)
	}
	for _, g := range spec.Groups {
		switch {
		case len(g.Levels) == 0:
			return fmt.Errorf("codegen: grouping factor %s has no levels", g.Factor)
		case len(g.Of) != spec.N:
			return fmt.Errorf("codegen: grouping factor %s has %d row labels for %d rows", g.Factor, len(g.Of), spec.N)
		case len(g.Terms) == 0:
			return fmt.Errorf("codegen: grouping factor %s has no group-varying terms; add 1 or a term inside ( … | %s )", g.Factor, g.Factor)
		case len(g.SDPriors) != 0 && len(g.SDPriors) != len(g.Terms):
			return fmt.Errorf("codegen: grouping factor %s has %d group-scale priors for %d terms", g.Factor, len(g.SDPriors), len(g.Terms))
		}
		used := make([]bool, len(g.Levels))
		for i, l := range g.Of {
			if l < 0 || l >= len(g.Levels) {
				return fmt.Errorf("codegen: %s: grouping factor %s has level %d of %d", rowName(spec, i), g.Factor, l, len(g.Levels))
			}
			used[l] = true
		}
		if l := slices.Index(used, false); l >= 0 {
			return fmt.Errorf("codegen: grouping factor %s: level %q has no rows", g.Factor, g.Levels[l])
		}
		seen := map[int]bool{}
		for _, t := range g.Terms {
			if t < 0 || t >= len(spec.Terms) || seen[t] {
				return fmt.Errorf("codegen: grouping factor %s: group-varying term index %d is out of range or repeated", g.Factor, t)
			}
			seen[t] = true
		}
		for j, p := range g.SDPriors {
			if !finite(p.Mean) || !(p.SD > 0) || !finite(p.SD) {
				return fmt.Errorf("codegen: %s prior normal(%g, %g) needs a finite mean and a positive, finite sd",
					ingest.GroupScaleName(g.Index, spec.Terms[g.Terms[j]].Name), p.Mean, p.SD)
			}
		}
	}
	return nil
}

// makeCells lists the cells of a panel, one per combination of all factors' levels that
// occurs, in order of first appearance (with one factor: the factor's levels, in order),
// with each cell's level per factor and its rows.
func makeCells(spec *ingest.Spec) (cells [][]int, rows [][]int) {
	if len(spec.Groups) == 1 {
		g := &spec.Groups[0]
		rows = rowsByLevel(g)
		for l := range g.Levels {
			cells = append(cells, []int{l})
		}
		return cells, rows
	}
	index := map[string]int{}
	key := make([]string, len(spec.Groups))
	for i := range spec.N {
		levels := make([]int, len(spec.Groups))
		for f, g := range spec.Groups {
			levels[f] = g.Of[i]
			key[f] = strconv.Itoa(g.Of[i])
		}
		s := strings.Join(key, ",")
		c, ok := index[s]
		if !ok {
			c = len(cells)
			index[s] = c
			cells = append(cells, levels)
			rows = append(rows, nil)
		}
		rows[c] = append(rows[c], i)
	}
	return cells, rows
}

// cellStats returns the QR sufficient statistics of every cell, stacked: rows c·K to
// c·K+K-1 of r and qty are cell c's R and Qty; rss is the sum of their residual sums of
// squares (the program needs only the total).
func cellStats(x [][]float64, y []float64, cellRows [][]int) (r [][]float64, qty []float64, rss float64) {
	k := len(x)
	for _, rows := range cellRows {
		xc := make([][]float64, k)
		for j := range xc {
			xc[j] = make([]float64, len(rows))
			for i, row := range rows {
				xc[j][i] = x[j][row]
			}
		}
		yc := make([]float64, len(rows))
		for i, row := range rows {
			yc[i] = y[row]
		}
		s := newSuffStats(xc, yc)
		r = append(r, s.r...)
		qty = append(qty, s.qty...)
		rss += s.rss
	}
	return r, qty, rss
}

// groupScalePriors returns g's group-scale priors, or, when ingest left them empty, the
// default ingest computes (DSAMbayes's rule, docs/dsambayes.md#default-priors): s = the sd of the group means of
// the standardised response, rounded to 2 decimals and at least 0.01; normal(0, s·sd(y))
// for the intercept and normal(0, s·sd(y)/sd(x)) for a slope on x, truncated at 0.
func groupScalePriors(spec *ingest.Spec, g *ingest.Grouping) []ingest.Prior {
	if len(g.SDPriors) == len(g.Terms) {
		return g.SDPriors
	}
	meanY, sdY := meanSD(spec.Y)
	sum := make([]float64, len(g.Levels))
	cnt := make([]float64, len(g.Levels))
	for i, l := range g.Of {
		sum[l] += spec.Y[i]
		cnt[l]++
	}
	means := make([]float64, len(g.Levels))
	for l := range means {
		means[l] = (sum[l]/cnt[l] - meanY) / sdY
	}
	_, between := meanSD(means)
	if len(means) < 2 {
		between = 0
	}
	between = math.Round(between*100) / 100
	if !(between >= 0.01) {
		between = 0.01
	}
	priors := make([]ingest.Prior, len(g.Terms))
	for j, k := range g.Terms {
		sd := between * sdY
		if !spec.Terms[k].Intercept {
			_, sdX := meanSD(spec.X[k])
			sd /= sdX
		}
		priors[j] = ingest.Prior{Mean: 0, SD: sd, Default: true}
	}
	return priors
}

// meanSD returns the mean and sample sd (n−1) of x; an sd that is 0 or undefined is 1.
func meanSD(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(len(x)-1))
	if !(sd > 0) || math.IsInf(sd, 0) {
		sd = 1
	}
	return mean, sd
}

// noiseVars is the noise_sd prior and the centre and units log(noise_sd) is sampled in,
// for both panel programs: sigma2 estimates the residual variance on the sampler's scale,
// and the posterior sd of log(noise_sd) is about 1/sqrt(2N) in a Gaussian model.
func noiseVars(pop population, sigma2 float64, n int) []stanio.Var {
	return []stanio.Var{
		{Name: "prior_family_noise_sd", Value: pop.noiseFlag},
		{Name: "noise_sd_prior_a", Value: pop.noiseA},
		{Name: "noise_sd_prior_b", Value: pop.noiseB},
		{Name: "log_noise_sd_centre", Value: 0.5 * math.Log(sigma2)},
		{Name: "log_noise_sd_scale", Value: 1 / math.Sqrt(2*float64(n))},
	}
}
