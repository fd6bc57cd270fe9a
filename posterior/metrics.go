package posterior

import (
	"math"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/acf"
)

// FitMetrics describe how well the posterior mean fit tracks the data, on the KPI scale.
type FitMetrics struct {
	Scope                           string // "all" or a group, e.g. "market=north"
	N                               int
	R2, RMSE, MAE, MeanError, SMAPE float64
	// Coverage95 is the share of observations inside their 95% predictive interval.
	Coverage95 float64
	// ACF1 is the lag-1 autocorrelation of the residuals, in row order within each group.
	ACF1 float64
}

// Metrics computes FitMetrics over all rows and then for each group of each factor.
func Metrics(spec *ingest.Spec, res *Result) []FitMetrics {
	all := make([]int, len(res.Rows))
	for i := range all {
		all[i] = i
	}
	out := []FitMetrics{metricsOf("all", spec, res, all)}
	for _, g := range spec.Groups {
		rows := make([][]int, len(g.Levels))
		for i, l := range g.Of {
			rows[l] = append(rows[l], i)
		}
		for l, label := range g.Levels {
			out = append(out, metricsOf(g.Factor+"="+label, spec, res, rows[l]))
		}
	}
	return out
}

// metricsOf computes the metrics over the given rows. Residual autocorrelation is pooled
// over the groups of the first factor (consecutive rows of different markets are not
// neighbours in time).
func metricsOf(scope string, spec *ingest.Spec, res *Result, rows []int) FitMetrics {
	m := FitMetrics{Scope: scope, N: len(rows)}
	if len(rows) == 0 {
		return m
	}
	var ybar float64
	for _, i := range rows {
		ybar += res.Rows[i].KPIObserved
	}
	ybar /= float64(len(rows))
	var sse, sst, sae, se, smape, covered float64
	for _, i := range rows {
		r := res.Rows[i]
		y, f := r.KPIObserved, r.KPI.Mean
		e := f - y
		sse += e * e
		sst += (y - ybar) * (y - ybar)
		sae += math.Abs(e)
		se += e
		if den := math.Abs(y) + math.Abs(f); den > 0 {
			smape += 2 * math.Abs(e) / den
		}
		if r.KPI.PredLo <= y && y <= r.KPI.PredHi {
			covered++
		}
	}
	n := float64(len(rows))
	m.R2, m.RMSE, m.MAE, m.MeanError = 1-sse/sst, math.Sqrt(sse/n), sae/n, se/n
	m.SMAPE, m.Coverage95 = smape/n, covered/n

	// Lag-1 autocorrelation of residuals, pooled within groups of the first factor.
	group := func(i int) int { return 0 }
	if len(spec.Groups) > 0 {
		group = func(i int) int { return spec.Groups[0].Of[i] }
	}
	byGroup := map[int][]float64{}
	var order []int
	for _, i := range rows {
		g := group(i)
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], res.Rows[i].KPIObserved-res.Rows[i].KPI.Mean)
	}
	series := make([][]float64, len(order))
	for k, g := range order {
		series[k] = byGroup[g]
	}
	r, _ := acf.Pooled(series, 1)
	m.ACF1 = r[0]
	return m
}
