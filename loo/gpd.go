package loo

import "math"

// gpdGridMin is loo's min_grid_pts: the Zhang–Stephens grid has gpdGridMin + floor(sqrt(n))
// points.
const gpdGridMin = 30

// gpdFit estimates the shape k and scale sigma of a generalized Pareto distribution
// from the exceedances x (sorted ascending, x[len-1] > 0) by the empirical Bayes method of
// Zhang and Stephens (2009, "A new and efficient estimation method for the generalized
// Pareto distribution", Technometrics 51), as loo's gpdfit with wip = TRUE: the posterior
// mean of θ = -k/σ over a grid, then k̂ shrunk towards 0.5 by a weakly informative prior
// worth 10 observations. A NaN k̂ is returned as +Inf. lth is scratch of length ≥ grid
// size (it may be nil).
func gpdFit(x []float64, lth []float64) (k, sigma float64, scratch []float64) {
	n := len(x)
	const prior = 3
	m := gpdGridMin + int(math.Floor(math.Sqrt(float64(n))))
	xstar := x[int(math.Floor(float64(n)/4+0.5))-1] // R: x[floor(N/4 + 0.5)], 1-based
	xmax := x[n-1]
	theta := func(j int) float64 { // j = 1..m
		return 1/xmax + (1-math.Sqrt(float64(m)/(float64(j)-0.5)))/prior/xstar
	}
	lth = grow(lth, m)
	for j := range m {
		// loo's lx(a, x) with a = -θ: log(a/k) - k - 1, k = mean(log1p(a·x)); times n.
		a := -theta(j + 1)
		var s float64
		for _, v := range x {
			s += math.Log1p(a * v)
		}
		kk := s / float64(n)
		lth[j] = float64(n) * (math.Log(a/kk) - kk - 1)
	}
	lse := logSumExp(lth)
	var thetaHat float64
	for j := range m {
		thetaHat += theta(j+1) * math.Exp(lth[j]-lse)
	}
	var s float64
	for _, v := range x {
		s += math.Log1p(-thetaHat * v)
	}
	k = s / float64(n)
	sigma = -k / thetaHat
	k = adjustKWIP(k, n)
	if math.IsNaN(k) {
		k = math.Inf(1)
	}
	return k, sigma, lth
}

// adjustKWIP is loo's adjust_k_wip: the posterior mean of k under a normal prior centred
// at 0.5 worth a = 10 observations.
func adjustKWIP(k float64, n int) float64 {
	const a = 10
	np := float64(n) + a
	return k*float64(n)/np + a*0.5/np
}

// qgpd is loo's qgpd: the p-quantile of a generalized Pareto distribution with location 0,
// shape k and scale sigma; NaN for a non-positive or NaN sigma.
func qgpd(p, k, sigma float64) float64 {
	if math.IsNaN(sigma) || sigma <= 0 {
		return math.NaN()
	}
	return sigma * math.Expm1(-k*math.Log1p(-p)) / k
}

// logSumExp returns log Σ exp(x) as matrixStats::logSumExp computes it: the maximum plus
// log1p of the sum of the other terms' exp(x - max). It is -Inf for an empty x.
func logSumExp(x []float64) float64 {
	lse, _ := logSumExpTerms(x, nil)
	return lse
}

// logSumExpTerms is logSumExp that also returns the terms exp(x - max) in terms (when
// not nil, of length len(x)) and the maximum.
func logSumExpTerms(x, terms []float64) (lse, xMax float64) {
	if len(x) == 0 {
		return math.Inf(-1), math.Inf(-1)
	}
	iMax := 0
	for i, v := range x {
		if v > x[iMax] {
			iMax = i
		}
	}
	xMax = x[iMax]
	if len(x) == 1 || math.IsInf(xMax, 0) || math.IsNaN(xMax) {
		if terms != nil {
			for i, v := range x {
				terms[i] = math.Exp(v - xMax)
			}
		}
		return xMax, xMax
	}
	var s float64
	for i, v := range x {
		e := math.Exp(v - xMax)
		if terms != nil {
			terms[i] = e
		}
		if i != iMax {
			s += e
		}
	}
	return math.Log1p(s) + xMax, xMax
}
