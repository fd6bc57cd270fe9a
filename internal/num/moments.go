package num

import "math"

// Mean returns the mean of x as R's mean does: the sum divided by len(x), then corrected
// by the mean of the residuals, so that constant data give their value exactly. It
// returns NaN for an empty x.
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range x {
		s += v
	}
	n := float64(len(x))
	mu := s / n
	if !math.IsInf(mu, 0) && !math.IsNaN(mu) {
		var t float64
		for _, v := range x {
			t += v - mu
		}
		mu += t / n
	}
	return mu
}

// Variance returns the sample variance of x (divisor len(x)-1) around Mean(x), in two
// passes as R's var. It returns NaN for fewer than two values, where R's var gives NA.
func Variance(x []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	mu := Mean(x)
	var ss float64
	for _, v := range x {
		d := v - mu
		ss += d * d
	}
	return ss / float64(len(x)-1)
}
