// Package num holds the small numeric helpers dsamstan's packages share: how a float is
// written to and read from the run folder's CSV files (Format, Parse), how it is written
// for people in messages, terminal tables, figures and the report page (Plain, SigG,
// Fixed, Short, Digits4, Percent, PercentSig, Sig, Tick: they differ on purpose, and
// each name says how), Hoare's selection of the k-th
// smallest value, a total order on floats for sorting (NaNs last), and R's mean and
// var, which the estimators that follow R packages need to the last bit.
package num

import (
	"math"
	"strconv"
)

// Format writes v in its shortest exact form, NaN as NA (as R writes it) and infinities as
// Inf and -Inf.
func Format(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// AppendFormat appends Format(v) to dst, for writers of large tables that format millions
// of numbers and need no string for each.
func AppendFormat(dst []byte, v float64) []byte {
	if s, ok := nonFinite(v); ok {
		return append(dst, s...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// nonFinite returns how Format, Short and Digits4 write NaN (NA, as R writes it) and the
// infinities (Inf, -Inf), and false for a finite v.
func nonFinite(v float64) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "NA", true
	case math.IsInf(v, 1):
		return "Inf", true
	case math.IsInf(v, -1):
		return "-Inf", true
	}
	return "", false
}

// Parse reads what Format writes; an empty cell, NA and NaN read as NaN.
func Parse(s string) (float64, error) {
	switch s {
	case "NA", "NaN", "":
		return math.NaN(), nil
	case "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}

// SelectKth reorders x[lo:hi+1] so that x[k] holds the value it would have after sorting,
// with no larger value before it and no smaller after it (Hoare's quickselect with a
// median-of-three pivot: O(n) on average). x must hold no NaN.
func SelectKth(x []float64, lo, hi, k int) {
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
		// Now x[lo..j] <= pivot <= x[i..hi] and x[j+1..i-1] == pivot.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}
