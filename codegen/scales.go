package codegen

import (
	"maps"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// maxLaplaceDim bounds the dimension of the dense Gaussian approximation behind the
// sampler's scales: its dense Cholesky costs dim³/3 flops (0.3 Gflop at 1000, well under a
// second). Larger panels with one grouping factor use the same approximation in block form
// (newBlockLaplace: O(G·(K³ + J³))); larger panels with several factors sample without
// preconditioning (scale 1), and adapt the metric instead.
const maxLaplaceDim = 1000

// laplace is the posterior covariance of the population coefficients b and the group
// deviations u of a panel model, on the sampler's scale, given its hyperparameters: the
// Gaussian model y* = X*(b + Σ_f u_f) + e, e ~ N(0, σ²), u_{f,g,j} ~ N(0, τ²_{f,j}),
// b ~ N(prior_mean, prior_sd²), at σ² and τ² estimated by the groups' own fits. Its
// marginal sds are the scales the program samples beta and theta in, so that they all
// start near sd 1: CmdStan's warmup begins with a unit metric and spends most of its work
// finding the scales otherwise.
type laplace struct {
	k     int
	start []int // per factor: index of u_{f,0,0}; u_{f,g,j} is at start[f] + g·J_f + j
	cov   *mat.SymDense
	// block replaces cov for a large panel with one grouping factor.
	block *blockCov
}

// at is the approximation's covariance of entries i and j of (b, u).
func (la *laplace) at(i, j int) float64 {
	if la.block != nil {
		return la.block.at(i, j)
	}
	return la.cov.At(i, j)
}

// newLaplace builds the approximation from the cells' QR factors r (stacked K rows per
// cell, as cellStats returns them); nil when it would be too large or is singular.
func newLaplace(lay *hierLayout, r [][]float64, priorSD []float64, sigma2 float64, tau2 [][]float64) *laplace {
	k := len(lay.terms)
	la := &laplace{k: k}
	dim := k
	for _, fl := range lay.factors {
		la.start = append(la.start, dim)
		dim += len(fl.levels) * len(fl.terms)
	}
	if !(sigma2 > 0) {
		return nil
	}
	if dim > maxLaplaceDim {
		if len(lay.factors) != 1 {
			return nil
		}
		return newBlockLaplace(lay, r, priorSD, sigma2, tau2[0])
	}
	p := mat.NewSymDense(dim, nil)
	cells := len(r) / k
	var idx [][]int
	for c := range cells {
		idx = la.cellIndex(lay, c, idx)
		// P += T' M T / σ², where M = R'R is the cell's Gram matrix X*'X* and T maps (b, u)
		// to the cell's coefficients: column a's coefficient is the sum of idx[a]'s entries.
		// Each entry belongs to one column, so only the upper triangle needs adding to.
		rc := r[c*k : (c+1)*k]
		for a := range k {
			for b := range k {
				m := 0.0
				for l := 0; l <= min(a, b); l++ {
					m += rc[l][a] * rc[l][b]
				}
				m /= sigma2
				for _, ia := range idx[a] {
					for _, ib := range idx[b] {
						if ia <= ib {
							p.SetSym(ia, ib, p.At(ia, ib)+m)
						}
					}
				}
			}
		}
	}
	for col := range k {
		p.SetSym(col, col, p.At(col, col)+1/(priorSD[col]*priorSD[col]))
	}
	for fi, fl := range lay.factors {
		for g := range fl.levels {
			for j := range fl.terms {
				i := la.start[fi] + g*len(fl.terms) + j
				p.SetSym(i, i, p.At(i, i)+1/tau2[fi][j])
			}
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(p) {
		return nil
	}
	la.cov = mat.NewSymDense(dim, nil)
	if chol.InverseTo(la.cov) != nil {
		return nil
	}
	return la
}

// cellIndex returns, per design column, the entries of (b, u) that cell c's coefficient
// of that column sums, reusing idx's storage.
func (la *laplace) cellIndex(lay *hierLayout, c int, idx [][]int) [][]int {
	if idx == nil {
		idx = make([][]int, la.k)
	}
	for col := range la.k {
		idx[col] = append(idx[col][:0], col)
	}
	for fi, fl := range lay.factors {
		g := fl.cellLevel[c]
		for j, t := range fl.terms {
			idx[t] = append(idx[t], la.start[fi]+g*len(fl.terms)+j)
		}
	}
	return idx
}

// mean returns the approximation's mean of (b, u): cov · (T' Σ_c X*_c'y*_c / σ² +
// prior_mean / prior_sd²), with X*_c'y*_c = R_c'Qty_c from the cells' QR statistics (r,
// qty stacked K per cell, as cellStats returns them). The group deviations' prior mean
// is 0.
func (la *laplace) mean(lay *hierLayout, r [][]float64, qty, priorMean, priorSD []float64, sigma2 float64) []float64 {
	k := la.k
	dim := k
	for _, fl := range lay.factors {
		dim += len(fl.levels) * len(fl.terms)
	}
	rhs := mat.NewVecDense(dim, nil)
	var idx [][]int
	for c := range len(r) / k {
		idx = la.cellIndex(lay, c, idx)
		rc, qc := r[c*k:(c+1)*k], qty[c*k:(c+1)*k]
		for a := range k {
			xty := 0.0 // column a of X*_c' y*_c: Σ_l R_c[l][a] Qty_c[l], R_c upper triangular
			for l := 0; l <= a; l++ {
				xty += rc[l][a] * qc[l]
			}
			for _, i := range idx[a] {
				rhs.SetVec(i, rhs.AtVec(i)+xty/sigma2)
			}
		}
	}
	for col := range k {
		rhs.SetVec(col, rhs.AtVec(col)+priorMean[col]/(priorSD[col]*priorSD[col]))
	}
	if la.block != nil {
		return la.block.solve(rhs.RawVector().Data)
	}
	var m mat.VecDense
	m.MulVec(la.cov, rhs)
	return m.RawVector().Data
}

// sd returns the sd of the linear combination Σ w[i]·ξ_i of (b, u), given as index→weight.
// It sums in index order, so that the result does not depend on map order.
func (la *laplace) sd(w map[int]float64) float64 {
	idx := slices.Sorted(maps.Keys(w))
	v := 0.0
	for _, i := range idx {
		for _, j := range idx {
			v += w[i] * w[j] * la.at(i, j)
		}
	}
	return math.Sqrt(math.Max(v, 0))
}

// u returns the index of u_{f,g,j}.
func (la *laplace) u(lay *hierLayout, f, g, j int) int {
	return la.start[f] + g*len(lay.factors[f].terms) + j
}

// blockCov is the covariance of (b, u) for one grouping factor of G groups and J terms
// in block form. The precision is an arrow: P_bb, a K×J block P_bg per group and a
// block-diagonal P_uu with J×J blocks P_gg. With A_g = P_gg⁻¹ and H_g = A_g P_gb:
//
//	Cov(b)      = C = (P_bb − Σ_g P_bg H_g)⁻¹
//	Cov(b, u_g) = −C H_gᵀ
//	Cov(u_g, u_h) = δ_gh A_g + H_g C H_hᵀ
//
// (the Schur complement of P_uu), the same numbers as the dense inverse at O(G·(K³ + J³)).
type blockCov struct {
	k, j int
	c    *mat.SymDense
	a    []*mat.SymDense // per group: A_g
	h    []*mat.Dense    // per group: H_g, J×K
}

// newBlockLaplace is newLaplace for one grouping factor, in block form; tau2 holds the
// factor's τ² per term.
func newBlockLaplace(lay *hierLayout, r [][]float64, priorSD []float64, sigma2 float64, tau2 []float64) *laplace {
	k := len(lay.terms)
	fl := lay.factors[0]
	nj, ng := len(fl.terms), len(fl.levels)
	pbb := mat.NewSymDense(k, nil)
	pbg := make([]*mat.Dense, ng)    // K×J
	pgg := make([]*mat.SymDense, ng) // J×J
	for g := range ng {
		pbg[g] = mat.NewDense(k, nj, nil)
		pgg[g] = mat.NewSymDense(nj, nil)
		for j := range nj {
			pgg[g].SetSym(j, j, 1/tau2[j])
		}
	}
	for c := range len(r) / k {
		g := fl.cellLevel[c]
		rc := r[c*k : (c+1)*k]
		gram := func(a, b int) float64 { // (R'R)[a][b] / σ², R upper triangular
			m := 0.0
			for l := 0; l <= min(a, b); l++ {
				m += rc[l][a] * rc[l][b]
			}
			return m / sigma2
		}
		for a := range k {
			for b := a; b < k; b++ {
				pbb.SetSym(a, b, pbb.At(a, b)+gram(a, b))
			}
			for j, t := range fl.terms {
				pbg[g].Set(a, j, pbg[g].At(a, j)+gram(a, t))
			}
		}
		for j, t := range fl.terms {
			for jj := j; jj < nj; jj++ {
				pgg[g].SetSym(j, jj, pgg[g].At(j, jj)+gram(t, fl.terms[jj]))
			}
		}
	}
	for col := range k {
		pbb.SetSym(col, col, pbb.At(col, col)+1/(priorSD[col]*priorSD[col]))
	}
	bc := &blockCov{k: k, j: nj}
	schur := mat.NewDense(k, k, nil)
	schur.Copy(pbb)
	for g := range ng {
		var chol mat.Cholesky
		if !chol.Factorize(pgg[g]) {
			return nil
		}
		a := mat.NewSymDense(nj, nil)
		if chol.InverseTo(a) != nil {
			return nil
		}
		h := mat.NewDense(nj, k, nil)
		h.Mul(a, pbg[g].T())
		var ph mat.Dense
		ph.Mul(pbg[g], h)
		schur.Sub(schur, &ph)
		bc.a = append(bc.a, a)
		bc.h = append(bc.h, h)
	}
	sym := mat.NewSymDense(k, nil)
	for a := range k {
		for b := a; b < k; b++ {
			sym.SetSym(a, b, 0.5*(schur.At(a, b)+schur.At(b, a)))
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(sym) {
		return nil
	}
	bc.c = mat.NewSymDense(k, nil)
	if chol.InverseTo(bc.c) != nil {
		return nil
	}
	return &laplace{k: k, start: []int{k}, block: bc}
}

// split returns entry i of (b, u) as (-1, i) for b_i and (g, j) for u_{g,j}.
func (bc *blockCov) split(i int) (g, j int) {
	if i < bc.k {
		return -1, i
	}
	return (i - bc.k) / bc.j, (i - bc.k) % bc.j
}

// at is the covariance of entries i and j of (b, u).
func (bc *blockCov) at(i, j int) float64 {
	gi, ji := bc.split(i)
	gj, jj := bc.split(j)
	if gi < 0 && gj < 0 {
		return bc.c.At(ji, jj)
	}
	if gi >= 0 && gj < 0 { // Cov(u, b) = Cov(b, u)ᵀ
		gi, ji, gj, jj = gj, jj, gi, ji
	}
	if gi < 0 { // −(C H_gᵀ)[ji][jj]
		v := 0.0
		for c := range bc.k {
			v -= bc.c.At(ji, c) * bc.h[gj].At(jj, c)
		}
		return v
	}
	v := 0.0 // (H_g C H_hᵀ)[ji][jj]
	for c := range bc.k {
		hc := 0.0
		for d := range bc.k {
			hc += bc.c.At(c, d) * bc.h[gj].At(jj, d)
		}
		v += bc.h[gi].At(ji, c) * hc
	}
	if gi == gj {
		v += bc.a[gi].At(ji, jj)
	}
	return v
}

// solve returns P⁻¹ rhs: m_b = C (rhs_b − Σ_g H_gᵀ rhs_g), m_g = A_g rhs_g − H_g m_b.
func (bc *blockCov) solve(rhs []float64) []float64 {
	k, nj := bc.k, bc.j
	rb := mat.NewVecDense(k, slices.Clone(rhs[:k]))
	for g, h := range bc.h {
		var t mat.VecDense
		t.MulVec(h.T(), mat.NewVecDense(nj, rhs[k+g*nj:k+(g+1)*nj]))
		rb.SubVec(rb, &t)
	}
	var mb mat.VecDense
	mb.MulVec(bc.c, rb)
	out := slices.Clone(mb.RawVector().Data)
	for g, h := range bc.h {
		var mg, hm mat.VecDense
		mg.MulVec(bc.a[g], mat.NewVecDense(nj, rhs[k+g*nj:k+(g+1)*nj]))
		hm.MulVec(h, &mb)
		mg.SubVec(&mg, &hm)
		out = append(out, mg.RawVector().Data...)
	}
	return out
}
