package codegen

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dsamstan/dsamstan/ingest"
)

// centredAbove is the information ratio τ²/v above which a group-varying term is centred.
// In the normal hierarchy θ_g ~ N(β, τ²), θ̂_g ~ N(θ_g, v), the centred form mixes at rate
// v/(v+τ²) and the non-centred one at τ²/(v+τ²) (Papaspiliopoulos, Roberts and Sköld
// 2007, "A general framework for the parametrization of hierarchical models",
// Statistical Science 22(1)): they cross at τ²/v = 1.
const centredAbove = 1.0

// confidence is the level of the lower confidence bound on τ² that the rule compares with
// centredAbove. The centred form fails (divergences in the funnel) when the posterior
// reaches group scales far below the groups' sampling sd, which it does when the data
// cannot rule out a small τ; the bound asks that they can, with few groups too, and in
// the far tail a run of 4000 draws visits. Measured on the hierarchical example (8 × 156,
// seeds 1-7 and 42): with a 95% bound a slope with τ²/v = 3.4 was centred and gave 1-2
// divergences per run; with 99.9% it is partial and no run diverges.
const confidence = 0.999

// chooseParameterization decides, for each group-varying term of g, how its group effects
// are parameterised, from the data x, y on the sampler's scale (docs/architecture.md, decision 4), unless
// spec.Parameterization forces Centered or Noncentered. It returns the choice for each
// g.Terms entry, what the groups' own fits say about each, and the choices as users see
// them.
//
// The rule: fit every group alone by least squares (the group-varying columns first, then
// the other population columns, dropping any column that is collinear with earlier ones in
// that group, such as a CRE mean or a slope variable constant within the group), with the
// residual variance pooled over groups. For term t this gives m per-group estimates d_g
// with sampling variances v_g, mean v. Between groups, (m−1)·var(d_g)/(τ² + v) is about
// χ²(m−1), so the method of moments gives τ² = var(d_g) − v and a one-sided lower
// confidence bound τ²_lo = (m−1)·var(d_g)/χ²_q(m−1) − v, q = confidence (99.9%).
//
//   - Centered when τ²_lo/v >= centredAbove: even a group scale at the low end of what the
//     data allow is pinned down by each group's data at least as well as by the
//     population. With 8 groups this asks for τ²/v >= 5.9, with 50 groups for τ²/v >= 2.5.
//   - Partial otherwise, when at least two groups estimate the term: the posterior of the
//     group scale then reaches both regions, small scales where centring makes a funnel
//     and large ones where non-centring does, and the partially non-centred form follows
//     each group's conditional posterior at every scale.
//   - Noncentered when fewer than two groups estimate the term: nothing to centre on (in a
//     correlated factor Partial with no estimate, which is the same: w = 1).
//
// The choice does not change the program's text: in an independent factor it travels as
// data (factorLayout.unified), and a correlated factor's terms are always partial under
// the rule; so datasets of one model structure share one compiled program.
//
// In a correlated factor a term the rule would centre is partial instead. Measured on the
// hierarchical example with correlated effects (4 data seeds): centring the intercept
// and TV slope there (standardised through the Cholesky factor of their covariance, whose
// curvature changes with the correlations) with the other terms non-centred gave 7-21
// divergences per run and 4-8 times the gradients per draw; all four terms partial gave
// none, with 5-9 bulk-ESS per 1000 gradients (30-80 for independent effects).
func chooseParameterization(spec *ingest.Spec, g *ingest.Grouping, x [][]float64, y []float64) (kinds []string, info []termInfo, choices []REChoice) {
	kinds = make([]string, len(g.Terms))
	choices = make([]REChoice, len(g.Terms))
	mode := spec.Parameterization
	if mode == "" {
		mode = autoParam
	}
	info = groupInfo(g, x, y)
	correlated := !g.Independent && len(g.Terms) > 1
	for j, k := range g.Terms {
		ch := REChoice{Factor: g.Factor, Index: g.Index, Term: spec.Terms[k].Name}
		in := info[j]
		lo := in.lowerRatio()
		scale := ingest.GroupScaleName(g.Index, ch.Term)
		_, unit := coefScale(spec, k)
		figures := in.figures(unit, ch.Term)
		force := "model.random_effects.parameterization: centered or noncentered forces a form"
		switch {
		case mode == Centered || mode == Noncentered:
			kinds[j] = mode
			ch.Reason = fmt.Sprintf("model.random_effects.parameterization is %s", mode)
		case in.groups < 2:
			why := fmt.Sprintf("only %d of %d groups can estimate %s from their own rows (too few rows, or the column is constant or collinear with others within a group), so its group effects rest on the prior of %s",
				in.groups, len(g.Levels), ch.Term, scale)
			kinds[j], ch.Reason = Noncentered, "auto: non-centred: "+why
			if correlated {
				// Partial with no group's estimate is non-centred (w = 1), and keeps the
				// correlated factor's program the same whatever the data.
				kinds[j], ch.Reason = Partial, "auto: partial, non-centred in effect: "+why
			}
		case lo >= centredAbove && correlated:
			kinds[j] = Partial
			ch.Reason = fmt.Sprintf("auto: partial (it would be centred, but its factor's effects are correlated: partial then acts as centred and leaves the correlation free to move): %s", figures)
		case lo >= centredAbove:
			kinds[j] = Centered
			ch.Reason = fmt.Sprintf("auto: centred: %s; even at that bound each group's own data pin its coefficient down, so centring makes no funnel", figures)
		default:
			kinds[j] = Partial
			ch.Reason = fmt.Sprintf("auto: partial: %s; the data cannot rule out a group scale too small to centre (the bound must reach %g standard error), so the posterior of %s may lean on its prior, and the partial form follows it at every scale; %s",
				figures, centredAbove, scale, force)
		}
		ch.Parameterization = kinds[j]
		choices[j] = ch
	}
	return kinds, info, choices
}

// figures says, in the coefficient's own units (unit per sampler unit), how far the
// groups' own estimates of term spread, how precise each is, and the group scale they
// imply with its lower confidence bound: the figures behind the rule, in terms a user can
// compare with the fitted sd_ and the prior.
func (t termInfo) figures(unit float64, term string) string {
	spread := math.Sqrt(t.s2) * unit
	se := math.Sqrt(t.v) * unit
	tau := math.Sqrt(t.ratio()*t.v) * unit
	lo := math.Sqrt(t.lowerRatio()*t.v) * unit
	return fmt.Sprintf("the %d groups' own least-squares estimates of %s spread with sd %.3g, each with a standard error of about %.3g, "+
		"which puts the group scale at %.3g (%g%% lower bound %.3g, %.3g standard errors)",
		t.groups, term, spread, se, tau, 100*confidence, lo, math.Sqrt(t.lowerRatio()))
}

// termInfo is what the groups' own fits say about one group-varying term.
type termInfo struct {
	groups int     // m: groups that estimate the term
	s2     float64 // variance (m−1 denominator) of the per-group estimates
	v      float64 // mean sampling variance of the per-group estimates
	// est and se2 are each group's estimate and its sampling variance (NaN when the
	// group does not estimate the term).
	est, se2 []float64
	// sigma2 is the residual variance pooled over the groups' fits (0 when none fits).
	sigma2 float64
}

// ratio is the method-of-moments information ratio max(0, s2 − v)/v (0 when fewer than
// two groups estimate the term).
func (t termInfo) ratio() float64 {
	if t.groups < 2 || !(t.v > 0) {
		return 0
	}
	return math.Max(0, t.s2-t.v) / t.v
}

// lowerRatio is τ²_lo/v, with τ²_lo the one-sided lower confidence bound on τ² at level
// confidence (0 when fewer than two groups estimate the term).
func (t termInfo) lowerRatio() float64 {
	if t.groups < 2 || !(t.v > 0) {
		return 0
	}
	df := float64(t.groups - 1)
	q := distuv.ChiSquared{K: df}.Quantile(confidence)
	return math.Max(0, df*t.s2/q-t.v) / t.v
}

// groupInfo fits every group of g alone and summarises, per g.Terms entry, the spread of
// the per-group estimates against their sampling variance (see chooseParameterization).
func groupInfo(g *ingest.Grouping, x [][]float64, y []float64) []termInfo {
	rows := rowsByLevel(g)
	// Column order: the group-varying terms, then the others.
	var order []int
	varying := map[int]bool{}
	for _, k := range g.Terms {
		order = append(order, k)
		varying[k] = true
	}
	for k := range x {
		if !varying[k] {
			order = append(order, k)
		}
	}

	type fit struct {
		est, cov []float64 // per g.Terms entry; cov NaN when the column was dropped
	}
	fits := make([]*fit, len(rows)) // per level; nil when the group has no fit
	var rssSum, dfSum float64
	for l, r := range rows {
		kept, xtx, xty, yty := groupGram(x, y, r, order)
		p := len(kept)
		if len(r) <= p {
			continue // no residual degrees of freedom
		}
		var chol mat.Cholesky
		if !chol.Factorize(mat.NewSymDense(p, xtx)) {
			continue
		}
		var inv mat.SymDense
		if chol.InverseTo(&inv) != nil {
			continue
		}
		var b mat.VecDense
		if chol.SolveVecTo(&b, mat.NewVecDense(p, xty)) != nil {
			continue
		}
		// rss = y'y - b'X'y for the least-squares b.
		rss := yty - mat.Dot(&b, mat.NewVecDense(p, xty))
		rssSum += math.Max(rss, 0)
		dfSum += float64(len(r) - p)
		f := &fit{est: make([]float64, len(g.Terms)), cov: make([]float64, len(g.Terms))}
		for j := range g.Terms {
			f.est[j], f.cov[j] = math.NaN(), math.NaN()
			for i, c := range kept {
				if c == j { // the first len(g.Terms) entries of order are the varying terms
					f.est[j] = b.AtVec(i)
					f.cov[j] = inv.At(i, i)
				}
			}
		}
		fits[l] = f
	}
	out := make([]termInfo, len(g.Terms))
	for j := range out {
		out[j].est = make([]float64, len(rows))
		out[j].se2 = make([]float64, len(rows))
		for l := range rows {
			out[j].est[l], out[j].se2[l] = math.NaN(), math.NaN()
		}
	}
	if dfSum == 0 {
		return out
	}
	sigma2 := rssSum / dfSum
	for j := range g.Terms {
		out[j].sigma2 = sigma2
		var est, v []float64
		for l, f := range fits {
			if f != nil && !math.IsNaN(f.est[j]) {
				est = append(est, f.est[j])
				v = append(v, sigma2*f.cov[j])
				out[j].est[l], out[j].se2[l] = f.est[j], sigma2*f.cov[j]
			}
		}
		out[j].groups = len(est)
		if len(est) < 2 {
			continue
		}
		m, vm := 0.0, 0.0
		for i := range est {
			m += est[i]
			vm += v[i]
		}
		m /= float64(len(est))
		vm /= float64(len(est))
		s2 := 0.0
		for _, e := range est {
			s2 += (e - m) * (e - m)
		}
		out[j].s2 = s2 / float64(len(est)-1)
		out[j].v = vm
	}
	return out
}

// groupGram returns the Gram matrix X'X (row-major), X'y and y'y of the rows r of the
// columns order, keeping only the columns that are not collinear with earlier ones:
// kept lists their positions in order. A column is dropped when less than 1e-8 of its
// sum of squares is left after projecting out the kept columns before it (Gram–Schmidt).
func groupGram(x [][]float64, y []float64, r []int, order []int) (kept []int, xtx, xty []float64, yty float64) {
	n := len(r)
	var basis [][]float64 // orthonormal columns of the kept ones
	var cols [][]float64
	for pos, k := range order {
		col := make([]float64, n)
		for i, row := range r {
			col[i] = x[k][row]
		}
		w := append([]float64(nil), col...)
		norm0 := dot(w, w)
		for _, q := range basis {
			c := dot(q, w)
			for i := range w {
				w[i] -= c * q[i]
			}
		}
		left := dot(w, w)
		if !(norm0 > 0) || left < 1e-8*norm0 {
			continue
		}
		s := 1 / math.Sqrt(left)
		for i := range w {
			w[i] *= s
		}
		basis = append(basis, w)
		cols = append(cols, col)
		kept = append(kept, pos)
	}
	p := len(cols)
	xtx = make([]float64, p*p)
	xty = make([]float64, p)
	yc := make([]float64, n)
	for i, row := range r {
		yc[i] = y[row]
	}
	for a := range p {
		for b := a; b < p; b++ {
			v := dot(cols[a], cols[b])
			xtx[a*p+b], xtx[b*p+a] = v, v
		}
		xty[a] = dot(cols[a], yc)
	}
	return kept, xtx, xty, dot(yc, yc)
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
