package codegen

import (
	"math"
	"testing"

	"github.com/dsamstan/dsamstan/simulate"
)

// TestBlockLaplaceMatchesDense checks the block form of the sampler's Gaussian
// approximation (used above maxLaplaceDim for one grouping factor) against the dense
// inverse on the hierarchical example (8 markets, 4 group-varying terms, K = 7): every
// covariance entry among b and two groups' u, and the mean.
func TestBlockLaplaceMatchesDense(t *testing.T) {
	spec, _ := panelSpec(t, simulate.PanelOptions{Weeks: 52})
	x, y := standardise(spec)
	pop := mapPopulation(spec)
	lay := newHierLayout(spec, pop, x)
	cells, cellRows := makeCells(spec)
	fl, info, _ := layoutFactor(spec, 0, cells, x, y, lay.intercept, true)
	lay.factors = append(lay.factors, fl)
	r, qty, _ := cellStats(x, y, cellRows)
	tau2 := make([]float64, len(fl.terms))
	for j, in := range info {
		tau2[j] = math.Max(in.ratio()*in.v, 0.25*in.v)
	}
	sigma2 := info[0].sigma2
	dense := newLaplace(lay, r, pop.priorSD, sigma2, [][]float64{tau2})
	block := newBlockLaplace(lay, r, pop.priorSD, sigma2, tau2)
	if dense == nil || dense.block != nil || block == nil {
		t.Fatalf("dense %v, block %v: want both", dense, block)
	}
	k, nj := len(lay.terms), len(fl.terms)
	var idx []int
	for i := range k {
		idx = append(idx, i)
	}
	for _, g := range []int{0, 5} {
		for j := range nj {
			idx = append(idx, dense.u(lay, 0, g, j))
		}
	}
	for _, i := range idx {
		for _, j := range idx {
			want, got := dense.at(i, j), block.at(i, j)
			scale := math.Sqrt(dense.at(i, i) * dense.at(j, j))
			if math.Abs(got-want) > 1e-9*scale {
				t.Errorf("cov(%d, %d) = %g in block form, %g dense", i, j, got, want)
			}
		}
	}
	dm := dense.mean(lay, r, qty, pop.priorMean, pop.priorSD, sigma2)
	bm := block.mean(lay, r, qty, pop.priorMean, pop.priorSD, sigma2)
	if len(dm) != len(bm) {
		t.Fatalf("mean lengths %d, %d", len(dm), len(bm))
	}
	for i := range dm {
		if math.Abs(dm[i]-bm[i]) > 1e-9*math.Sqrt(dense.at(i, i)) {
			t.Errorf("mean[%d] = %g in block form, %g dense", i, bm[i], dm[i])
		}
	}
}
