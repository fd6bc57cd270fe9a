package acf

// Pooled returns the autocorrelation at lags 1 to maxLag of several series pooled
// together, r[l-1] = Σ (x_t − x̄)(x_{t−l} − x̄) / Σ (x_t − x̄)², where each series is
// centred on its own mean x̄ (the sum divided by its length) and products are formed only
// within a series: the residuals of different markets are not neighbours in time. n is
// the number of values, Σ len(series). The caller drops the values it does not want
// counted (non-finite ones, too short series).
func Pooled(series [][]float64, maxLag int) (r []float64, n int) {
	var den float64
	num := make([]float64, maxLag)
	for _, s := range series {
		if len(s) == 0 {
			continue
		}
		var m float64
		for _, v := range s {
			m += v
		}
		m /= float64(len(s))
		n += len(s)
		for t, v := range s {
			d := v - m
			den += d * d
			for l := 1; l <= maxLag && t-l >= 0; l++ {
				num[l-1] += d * (s[t-l] - m)
			}
		}
	}
	r = make([]float64, maxLag)
	for l := range r {
		r[l] = num[l] / den
	}
	return r, n
}
