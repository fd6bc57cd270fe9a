package codegen

import (
	"maps"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// maxLaplaceDim bounds the dimension of the Gaussian approximation behind the sampler's
// scales: its dense Cholesky costs dim³/3 flops (0.3 Gflop at 1000, well under a second).
// Larger panels sample without preconditioning (scale 1), and adapt the metric instead.
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
	if dim > maxLaplaceDim || !(sigma2 > 0) {
		return nil
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
	rhs := mat.NewVecDense(la.cov.SymmetricDim(), nil)
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
			v += w[i] * w[j] * la.cov.At(i, j)
		}
	}
	return math.Sqrt(math.Max(v, 0))
}

// u returns the index of u_{f,g,j}.
func (la *laplace) u(lay *hierLayout, f, g, j int) int {
	return la.start[f] + g*len(lay.factors[f].terms) + j
}
