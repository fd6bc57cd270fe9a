package codegen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"text/template"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// JointTemplate is the panel program for several grouping factors with all their group
// effects integrated out jointly, as Program.Template names it.
const JointTemplate = "integrated_joint.stan"

// With several grouping factors (crossed, as market and market:brand, or any others) a
// row's coefficients take one group effect from each factor, so the groups' rows are no
// longer independent given b and the per-group algebra of integrate.go does not apply.
// The same algebra holds for all D = Σ_f G_f·J_f effects at once: stacked, u ~ N(0, S Sᵀ)
// with S block diagonal (factor f's S_f = diag(sd_f)·L_f once per group), y = X b + Z u
// + e, and with r = y − X b, U = Z S/σ,
//
//	M = I_D + UᵀU = I + Sᵀ(ZᵀZ)S/σ²,   v = Uᵀr/σ = Sᵀ(Zᵀy − ZᵀX b)/σ²
//	log p(y | b, S, σ) = −(N/2) log 2π − N log σ − ||r||²/(2σ²) − ½ log|M| + ½ vᵀM⁻¹v
//	u | y, b, S, σ ~ N(S M⁻¹ v, S M⁻¹ Sᵀ),
//
// from ZᵀZ (D×D), ZᵀX (D×K) and Zᵀy, which the cells' QR statistics give: cell c (a
// combination of levels) contributes R_cᵀR_c and R_cᵀQty_c to the entries of its groups.
// Its cost is O(D³) per gradient, so auto takes it for small panels only (maxIntegratedEffects).

// jointStats is what Decode needs to draw the effects of the joint program.
type jointStats struct {
	d      int
	offset []int // per factor: the position of its first effect among the D
	ztz    *mat.SymDense
	ztx    *mat.Dense // D×K
	zty    []float64
}

// effect is the position among the D effects of factor fi's group g, term j.
func (js *jointStats) effect(lay *hierLayout, fi, g, j int) int {
	return js.offset[fi] + g*len(lay.factors[fi].terms) + j
}

// newJointStats computes ZᵀZ, ZᵀX and Zᵀy from the cells' QR statistics r and qty (K rows
// per cell, as cellStats returns them): cell c's Gram matrix R_cᵀR_c and R_cᵀQty_c, added
// to the entries of the groups cell c belongs to.
func newJointStats(lay *hierLayout, r [][]float64, qty []float64) *jointStats {
	k := len(lay.terms)
	js := &jointStats{}
	for _, fl := range lay.factors {
		js.offset = append(js.offset, js.d)
		js.d += len(fl.levels) * len(fl.terms)
	}
	js.ztz = mat.NewSymDense(js.d, nil)
	js.ztx = mat.NewDense(js.d, k, nil)
	js.zty = make([]float64, js.d)
	type col struct{ effect, term int }
	var cols []col
	gram := mat.NewDense(k, k, nil)
	xty := make([]float64, k)
	for c := range len(r) / k {
		rc, qc := r[c*k:(c+1)*k], qty[c*k:(c+1)*k]
		for a := range k {
			for b := range k {
				v := 0.0
				for l := 0; l <= min(a, b); l++ {
					v += rc[l][a] * rc[l][b]
				}
				gram.Set(a, b, v)
			}
			v := 0.0
			for l := 0; l <= a; l++ {
				v += rc[l][a] * qc[l]
			}
			xty[a] = v
		}
		cols = cols[:0]
		for fi, fl := range lay.factors {
			for j, t := range fl.terms {
				cols = append(cols, col{js.effect(lay, fi, fl.cellLevel[c], j), t})
			}
		}
		for _, p := range cols {
			for _, q := range cols {
				if p.effect <= q.effect {
					js.ztz.SetSym(p.effect, q.effect, js.ztz.At(p.effect, q.effect)+gram.At(p.term, q.term))
				}
			}
			for b := range k {
				js.ztx.Set(p.effect, b, js.ztx.At(p.effect, b)+gram.At(p.term, b))
			}
			js.zty[p.effect] += xty[p.term]
		}
	}
	return js
}

// jointContext is everything integrated_joint.stan.tmpl may use.
type jointContext struct {
	Comment         string
	Template        string
	TemplateVersion string
	// K population coefficients, Cells QR cells, D group effects in all.
	K, Cells, D int
	Factors     []jointFactor
	// Correlated is true when some factor's effects are correlated: S is then built as a
	// matrix (covariance form) instead of a vector of scales (precision form).
	Correlated bool
	// Intercept is the intercept's 1-based position in beta (0: none); ShearBeta is true
	// when beta[Intercept] is the intercept at the predictors' means x_mean.
	Intercept int
	ShearBeta bool
}

// jointFactor is one grouping factor of jointContext: its index (sd_<Index>), G groups, J
// group-varying terms, the 0-based position of its first effect among the D.
type jointFactor struct {
	Index, G, J, Offset int
	Correlated          bool
}

// renderJoint renders the joint program for the panel spec with several grouping factors
// from the layout renderHier built: r, qty and rss are the cells' QR statistics, sdPriors
// the group-scale priors on the sampler's scale, per factor.
func renderJoint(t *template.Template, spec *ingest.Spec, lay *hierLayout, pop population, choices []REChoice,
	r [][]float64, qty []float64, rss float64, sdPriors [][]ingest.Prior) (*Program, error) {
	js := newJointStats(lay, r, qty)
	lay.integrated = &integratedStats{joint: js}
	ctx := jointContext{Comment: header, Template: JointTemplate, TemplateVersion: TemplateVersion,
		K: len(lay.terms), Cells: len(r) / len(lay.terms), D: js.d,
		Intercept: lay.intercept + 1, ShearBeta: lay.xMean != nil}
	for fi, fl := range lay.factors {
		ctx.Factors = append(ctx.Factors, jointFactor{Index: fl.index, G: len(fl.levels), J: len(fl.terms),
			Offset: js.offset[fi], Correlated: fl.correlated})
		ctx.Correlated = ctx.Correlated || fl.correlated
	}
	code, err := execute(t, JointTemplate, ctx)
	if err != nil {
		return nil, err
	}
	vars := []stanio.Var{
		{Name: "N", Value: spec.N},
		{Name: "R", Value: r},
		{Name: "Qty", Value: qty},
		{Name: "rss_ls", Value: rss},
		{Name: "ZtZ", Value: denseRows(js.ztz)},
		{Name: "ZtX", Value: denseRows(js.ztx)},
		{Name: "Zty", Value: js.zty},
	}
	vars = append(vars, populationVars(lay, pop)...)
	for fi, fl := range lay.factors {
		mean := make([]float64, len(sdPriors[fi]))
		sd := make([]float64, len(sdPriors[fi]))
		for j, p := range sdPriors[fi] {
			mean[j], sd[j] = p.Mean, p.SD
		}
		vars = append(vars,
			stanio.Var{Name: fmt.Sprintf("sd_%d_prior_mean", fl.index), Value: mean},
			stanio.Var{Name: fmt.Sprintf("sd_%d_prior_sd", fl.index), Value: sd})
		if fl.correlated {
			vars = append(vars, stanio.Var{Name: fmt.Sprintf("lkj_eta_%d", fl.index), Value: LKJEta})
		}
	}
	vars = append(vars, noiseVars(pop, lay.sigma2, spec.N)...)
	return &Program{Template: JointTemplate, Code: code, Data: vars,
		Metric: integratedMetric, AdaptDelta: integratedAdaptDelta, RandomEffects: choices, hier: lay}, nil
}

// denseRows returns m's rows as slices, for the data JSON.
func denseRows(m mat.Matrix) [][]float64 {
	rows, cols := m.Dims()
	out := make([][]float64, rows)
	for i := range out {
		out[i] = make([]float64, cols)
		for j := range out[i] {
			out[i][j] = m.At(i, j)
		}
	}
	return out
}

// jointGauss is the joint algebra at one value of (b, S, σ).
type jointGauss struct {
	s    *mat.Dense // D×D block-diagonal S
	chol mat.Cholesky
	l    mat.TriDense
	v, m *mat.VecDense // v and M⁻¹ v
	ee   float64       // ||Qty − R b||², the cells' part of ||r||²
}

// set computes the joint algebra at b (K), the factors' scales sd[f][j] and Cholesky
// factors l[f] (J×J row-major lower, nil for independent factors) and σ, with the cells'
// QR statistics r and qty for ||r||². It reports false when M is not positive definite,
// which happens only for non-finite inputs.
func (jg *jointGauss) set(js *jointStats, lay *hierLayout, r [][]float64, qty []float64, b []float64, sd [][]float64, l [][]float64, sigma float64) bool {
	d := js.d
	jg.s = mat.NewDense(d, d, nil)
	for fi, fl := range lay.factors {
		jn := len(fl.terms)
		for g := range fl.levels {
			o := js.effect(lay, fi, g, 0)
			for a := range jn {
				for c := 0; c <= a; c++ {
					switch {
					case l[fi] != nil:
						jg.s.Set(o+a, o+c, sd[fi][a]*l[fi][a*jn+c])
					case a == c:
						jg.s.Set(o+a, o+c, sd[fi][a])
					}
				}
			}
		}
	}
	s2 := sigma * sigma
	var t, m mat.Dense
	t.Mul(js.ztz, jg.s)
	m.Mul(jg.s.T(), &t)
	msym := mat.NewSymDense(d, nil)
	for a := range d {
		for c := a; c < d; c++ {
			v := 0.5 * (m.At(a, c) + m.At(c, a)) / s2
			if a == c {
				v++
			}
			msym.SetSym(a, c, v)
		}
	}
	if !jg.chol.Factorize(msym) {
		return false
	}
	jg.chol.LTo(&jg.l)
	zte := mat.NewVecDense(d, nil) // Z'y − Z'X b
	zte.MulVec(js.ztx, mat.NewVecDense(len(b), b))
	for a := range d {
		zte.SetVec(a, js.zty[a]-zte.AtVec(a))
	}
	jg.v = mat.NewVecDense(d, nil)
	jg.v.MulVec(jg.s.T(), zte)
	jg.v.ScaleVec(1/s2, jg.v)
	jg.m = mat.NewVecDense(d, nil)
	if err := jg.chol.SolveVecTo(jg.m, jg.v); err != nil {
		return false
	}
	k := len(b)
	jg.ee = 0
	for c := range len(r) / k {
		for a := range k {
			e := qty[c*k+a]
			for col := a; col < k; col++ {
				e -= r[c*k+a][col] * b[col]
			}
			jg.ee += e * e
		}
	}
	return true
}

// logLik is log p(y | b, S, σ) in full, constants included, for n rows whose least-squares
// residual sum of squares over the cells is rss.
func (jg *jointGauss) logLik(n int, rss, sigma float64) float64 {
	v := 0.5 * mat.Dot(jg.v, jg.m)
	for a := range jg.m.Len() {
		v -= math.Log(jg.l.At(a, a))
	}
	return v - 0.5*float64(n)*math.Log(2*math.Pi) - float64(n)*math.Log(sigma) - (jg.ee+rss)/(2*sigma*sigma)
}

// effects sets u to S (M⁻¹ v + L_M⁻ᵀ z) with z ~ N(0, I) from rng, a draw from the
// conditional, or to the conditional mean S M⁻¹ v when rng is nil.
func (jg *jointGauss) effects(u []float64, rng *rand.Rand) {
	d := jg.m.Len()
	x := mat.NewVecDense(d, nil)
	x.CopyVec(jg.m)
	if rng != nil {
		z := mat.NewVecDense(d, nil)
		for a := range d {
			z.SetVec(a, rng.NormFloat64())
		}
		var w mat.VecDense
		if err := w.SolveVec(jg.l.T(), z); err == nil {
			x.AddVec(x, &w)
		}
	}
	mat.NewVecDense(d, u).MulVec(jg.s, x)
}

// jointCoefficients returns, on the sampler's scale, coef[f][j][g][i]: factor f's term j's
// coefficient in group g at draw i, b plus that group's effect, from a draw of all effects
// from their joint conditional given draw i's b, scales, correlations and σ (the
// conditional mean when mean is true). fcols are the factors' Stan columns.
func (lay *hierLayout) jointCoefficients(n int, b [][]float64, fcols []factorColumns, logSigma []float64,
	rng *rand.Rand, mean bool) ([][][][]float64, error) {
	js := lay.integrated.joint
	k := len(lay.terms)
	coef := make([][][][]float64, len(lay.factors))
	for fi, fl := range lay.factors {
		coef[fi] = make([][][]float64, len(fl.terms))
		for j := range coef[fi] {
			coef[fi][j] = make([][]float64, len(fl.levels))
			for g := range coef[fi][j] {
				coef[fi][j][g] = make([]float64, n)
			}
		}
	}
	var jg jointGauss
	bi := make([]float64, k)
	sd := make([][]float64, len(lay.factors))
	l := make([][]float64, len(lay.factors))
	u := make([]float64, js.d)
	draws := rng
	if mean {
		draws = nil
	}
	for i := range n {
		for c := range k {
			bi[c] = b[c][i]
		}
		for fi, fl := range lay.factors {
			jn := len(fl.terms)
			sd[fi] = sd[fi][:0]
			for j := range jn {
				sd[fi] = append(sd[fi], fcols[fi].sd[j][i])
			}
			if fl.correlated {
				l[fi] = make([]float64, jn*jn)
				for a := range jn {
					for c := 0; c <= a; c++ {
						l[fi][a*jn+c] = fcols[fi].l[a][c][i]
					}
				}
			}
		}
		sigma := math.Exp(logSigma[i])
		if !jg.set(js, lay, nil, nil, bi, sd, l, sigma) {
			return nil, fmt.Errorf("codegen: draw %d: the group effects' joint conditional is not finite (noise_sd %g)", i+1, sigma)
		}
		jg.effects(u, draws)
		for fi, fl := range lay.factors {
			for j, t := range fl.terms {
				for g := range fl.levels {
					coef[fi][j][g][i] = bi[t] + u[js.effect(lay, fi, g, j)]
				}
			}
		}
	}
	return coef, nil
}
