package posterior

import (
	"math"
	"slices"

	"github.com/dsamstan/dsamstan/internal/num"
)

// quantiles writes the R type-7 quantiles of x at the ascending probabilities probs into
// out, reordering x. It selects only the order statistics it needs (quickselect on a
// shrinking range) rather than sorting: for a handful of quantiles of a few thousand draws
// that is several times faster, and it is the inner loop of fitted values and decomposition.
func quantiles(x []float64, probs, out []float64) {
	n := len(x)
	if n == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return
	}
	lo := 0 // x[:lo] holds order statistics already placed, all <= x[lo:]
	for i, p := range probs {
		h := float64(n-1) * p
		j := int(math.Floor(h))
		if j < lo {
			j = lo // probabilities are ascending, so this only guards rounding
		}
		num.SelectKth(x, lo, n-1, j)
		v := x[j]
		if j+1 < n && h > float64(j) {
			// the (j+1)th order statistic is the minimum of what lies above j
			next := slices.Min(x[j+1:])
			v += (h - float64(j)) * (next - v)
		}
		out[i] = v
		lo = j
	}
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// scaledQuantiles writes into out what quantiles(c, probs, out) gives for c = x·sorted
// (each c_s = x * θ_s, one rounding), from sorted, the θ_s in ascending order, without
// reordering anything: multiplying by x > 0 keeps the order and x < 0 reverses it, so the
// order statistics of c are x times those of θ, and the interpolation is quantiles' own
// arithmetic on them, so every bit agrees. x must be finite and non-zero, and sorted free
// of zeros (whose products' signs would depend on the order selection leaves them in).
func scaledQuantiles(sorted []float64, x float64, probs, out []float64) {
	n := len(sorted)
	stat := func(j int) float64 { // c's order statistic j
		if x < 0 {
			j = n - 1 - j
		}
		return x * sorted[j]
	}
	for i, p := range probs {
		h := float64(n-1) * p
		j := int(math.Floor(h))
		v := stat(j)
		if j+1 < n && h > float64(j) {
			v += (h - float64(j)) * (stat(j+1) - v)
		}
		out[i] = v
	}
}
