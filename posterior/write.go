package posterior

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
)

// rowKey returns the identifying columns of row i (row number, date, group labels) and
// their header names.
func rowKey(spec *ingest.Spec) (header []string, key func(i int) []string) {
	header = []string{"row", "date"}
	for _, g := range spec.Groups {
		header = append(header, g.Factor)
	}
	return header, func(i int) []string {
		date := ""
		if spec.Dates != nil {
			date = spec.Dates[i]
		}
		out := []string{strconv.Itoa(i + 1), date}
		for _, g := range spec.Groups {
			out = append(out, g.Levels[g.Of[i]])
		}
		return out
	}
}

func bandHeader(prefix string) []string {
	return []string{prefix + "mean", prefix + "q2_5", prefix + "q5", prefix + "q50", prefix + "q95", prefix + "q97_5", prefix + "pred_lo95", prefix + "pred_hi95"}
}

func bandCells(b Band) []string {
	out := []string{num.Format(b.Mean)}
	for _, q := range b.Q {
		out = append(out, num.Format(q))
	}
	return append(out, num.Format(b.PredLo), num.Format(b.PredHi))
}

// WriteFitted writes fitted_values.csv: per row, observed and fitted on the model scale
// (mean, 2.5/5/50/95/97.5% quantiles, 95% predictive interval) and, for log(y) models, the
// same on the KPI scale.
func WriteFitted(w io.Writer, spec *ingest.Spec, res *Result) error {
	cw := csv.NewWriter(w)
	header, key := rowKey(spec)
	header = append(header, "observed")
	header = append(header, bandHeader("")...)
	if spec.LogResponse {
		header = append(header, "kpi_observed")
		header = append(header, bandHeader("kpi_")...)
	}
	cw.Write(header)
	for i, r := range res.Rows {
		rec := append(key(i), num.Format(r.Observed))
		rec = append(rec, bandCells(r.Model)...)
		if spec.LogResponse {
			rec = append(rec, num.Format(r.KPIObserved))
			rec = append(rec, bandCells(r.KPI)...)
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// WriteMetrics writes fit_metrics.csv, one row per scope (all rows, then each group).
func WriteMetrics(w io.Writer, ms []FitMetrics) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"scope", "n", "r2", "rmse", "mae", "mean_error", "smape", "coverage_95", "acf1"})
	for _, m := range ms {
		cw.Write([]string{m.Scope, strconv.Itoa(m.N), num.Format(m.R2), num.Format(m.RMSE), num.Format(m.MAE), num.Format(m.MeanError), num.Format(m.SMAPE), num.Format(m.Coverage95), num.Format(m.ACF1)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteDecomposition writes decomposition.csv in long form: one line per row and term with
// the contribution's mean, median and 90% interval (model scale), and for log(y) models the
// mean multiplier exp(c).
func WriteDecomposition(w io.Writer, spec *ingest.Spec, res *Result) error {
	cw := csv.NewWriter(w)
	header, key := rowKey(spec)
	header = append(header, "term", "mean", "q5", "q50", "q95")
	if spec.LogResponse {
		header = append(header, "multiplier_mean")
	}
	cw.Write(header)
	for i, row := range res.Decomp {
		k := key(i)
		for t, c := range row {
			rec := append(append([]string(nil), k...), res.Terms[t], num.Format(c.Mean), num.Format(c.Q5), num.Format(c.Q50), num.Format(c.Q95))
			if spec.LogResponse {
				rec = append(rec, num.Format(c.MultMean))
			}
			cw.Write(rec)
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTotals writes decomposition_totals.csv: each term's contribution summed over all
// rows, then over each group's rows, summarised across draws (mean, 90% interval), with the
// term's share of the summed fit; then, per categorical column of the formula, the sum of its
// levels' contributions, named by the column.
func WriteTotals(w io.Writer, spec *ingest.Spec, res *Result) error {
	factors := categoricalTerms(spec)
	cw := csv.NewWriter(w)
	cw.Write([]string{"scope", "term", "mean", "q5", "q50", "q95", "share_of_fit"})
	emit := func(scope string, totals [][]float64) {
		var fit float64
		means := make([]float64, len(totals))
		for k, t := range totals {
			means[k] = mean(t)
			fit += means[k]
		}
		q := make([]float64, len(decompProbs))
		buf := make([]float64, 0)
		for k, t := range totals {
			buf = append(buf[:0], t...)
			quantiles(buf, decompProbs, q)
			cw.Write([]string{scope, res.Terms[k], num.Format(means[k]), num.Format(q[0]), num.Format(q[1]), num.Format(q[2]), num.Format(means[k] / fit)})
		}
		// A categorical column's levels, summed per draw: the factor's contribution as one
		// total (its rows come after the terms' and are not part of the summed fit).
		for _, fac := range factors {
			sum := make([]float64, len(totals[fac.terms[0]]))
			for _, k := range fac.terms {
				addTo(sum, totals[k])
			}
			m := mean(sum)
			quantiles(sum, decompProbs, q)
			cw.Write([]string{scope, fac.name, num.Format(m), num.Format(q[0]), num.Format(q[1]), num.Format(q[2]), num.Format(m / fit)})
		}
	}
	emit("all", res.Totals)
	for f, g := range spec.Groups {
		for l, label := range g.Levels {
			emit(g.Factor+"="+label, res.GroupTotals[f][l])
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteDraws writes posterior_draws.csv: one line per draw with its chain and number, every
// parameter (cols[j][s], chains concatenated) and the draw's r2, rmse and smape.
func WriteDraws(w io.Writer, names []string, cols [][]float64, chains, perChain int, metrics []DrawMetric) error {
	if len(names) != len(cols) || len(metrics) != chains*perChain {
		return fmt.Errorf("posterior: %d names, %d columns, %d metrics for %d draws", len(names), len(cols), len(metrics), chains*perChain)
	}
	cw := csv.NewWriter(w)
	cw.Write(append(append([]string{"chain", "draw"}, names...), "r2", "rmse", "smape"))
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	// The draws' lines are formatted straight into one buffer: a number never needs CSV
	// quoting, and at 500 markets the table holds some ten million of them.
	var line []byte
	for s := 0; s < chains*perChain; s++ {
		line = strconv.AppendInt(line[:0], int64(s/perChain+1), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(s%perChain+1), 10)
		for _, c := range cols {
			line = num.AppendFormat(append(line, ','), c[s])
		}
		m := metrics[s]
		for _, v := range []float64{m.R2, m.RMSE, m.SMAPE} {
			line = num.AppendFormat(append(line, ','), v)
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// categorical is a categorical column of the formula and the design indexes of its level
// columns.
type categorical struct {
	name  string
	terms []int
}

// categoricalTerms lists the spec's categorical columns in order of their first level.
func categoricalTerms(spec *ingest.Spec) []categorical {
	var out []categorical
	at := map[string]int{}
	for k, t := range spec.Terms {
		if t.Factor == "" {
			continue
		}
		j, ok := at[t.Factor]
		if !ok {
			j = len(out)
			at[t.Factor] = j
			out = append(out, categorical{name: t.Factor})
		}
		out[j].terms = append(out[j].terms, k)
	}
	return out
}
