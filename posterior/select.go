package posterior

import (
	"math"
	"slices"
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
		selectKth(x, lo, n-1, j)
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

// selectKth reorders x[lo:hi+1] so that x[k] holds the value it would have after sorting,
// with smaller-or-equal values before it and greater-or-equal after (Hoare's quickselect
// with a median-of-three pivot).
func selectKth(x []float64, lo, hi, k int) {
	for hi > lo {
		if hi-lo < 16 {
			for i := lo + 1; i <= hi; i++ {
				for j := i; j > lo && x[j] < x[j-1]; j-- {
					x[j], x[j-1] = x[j-1], x[j]
				}
			}
			return
		}
		mid := lo + (hi-lo)/2
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for x[j] > pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return // j < k < i: x[k] equals the pivot and is in place
		}
	}
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
