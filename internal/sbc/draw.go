package sbc

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// TruncNormal draws from normal(mean, sd) truncated to [lo, hi] (±Inf leave a side
// open), by inverting the CDF on the side of the mean that keeps the most precision. It
// returns an error when the interval holds too little of the normal's mass (less than
// 1e-300) to draw from it accurately.
func TruncNormal(rng *rand.Rand, mean, sd, lo, hi float64) (float64, error) {
	a, b := (lo-mean)/sd, (hi-mean)/sd
	if math.IsInf(a, -1) && math.IsInf(b, 1) {
		return mean + sd*rng.NormFloat64(), nil
	}
	flip := a > 0 // work in the lower tail, where the CDF keeps its digits
	if flip {
		a, b = -b, -a
	}
	n := distuv.UnitNormal
	pa, pb := n.CDF(a), n.CDF(b)
	if !(pb-pa > 1e-300) {
		return 0, fmt.Errorf("sbc: normal(%g, %g) has no mass to speak of in [%g, %g]", mean, sd, lo, hi)
	}
	z := n.Quantile(pa + rng.Float64()*(pb-pa))
	z = math.Min(math.Max(z, a), b)
	if flip {
		z = -z
	}
	return mean + sd*z, nil
}

// LKJCholesky draws the Cholesky factor of a j×j correlation matrix from LKJ(eta) by the
// onion method's Cholesky form (Lewandowski, Kurowicka and Joe 2009, section 3.2).
func LKJCholesky(rng *rand.Rand, j int, eta float64) [][]float64 {
	l := make([][]float64, j)
	for a := range l {
		l[a] = make([]float64, j)
	}
	l[0][0] = 1
	// Row a's squared off-diagonal norm is Beta(a/2, eta + (j−2)/2 − (a−1)/2): for the
	// first row that makes r_12 = 2·Beta(b, b) − 1 with b = eta + (j−2)/2, the marginal
	// of every correlation under LKJ(eta).
	beta := eta + float64(j-2)/2
	for a := 1; a < j; a++ {
		y := distuv.Beta{Alpha: float64(a) / 2, Beta: beta, Src: rng}.Rand()
		beta -= 0.5
		norm := 0.0
		u := make([]float64, a)
		for c := range u {
			u[c] = rng.NormFloat64()
			norm += u[c] * u[c]
		}
		for c := range u {
			l[a][c] = math.Sqrt(y) * u[c] / math.Sqrt(norm)
		}
		l[a][a] = math.Sqrt(1 - y)
	}
	return l
}
