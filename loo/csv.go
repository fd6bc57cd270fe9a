package loo

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/dsamstan/dsamstan/internal/num"
)

// summaryHeader is the header of loo_summary.csv.
var summaryHeader = []string{
	"elpd_loo", "se_elpd_loo", "p_loo", "se_p_loo", "looic", "se_looic", "mcse_elpd_loo",
	"n_obs", "n_draws", "pareto_k_max",
	"pareto_k_good", "pareto_k_ok", "pareto_k_bad", "pareto_k_very_bad", "pareto_k_threshold",
}

// WriteSummaryCSV writes r as 50_model_selection/loo_summary.csv: a header and one row.
// Numbers are written in full precision, NaN as NA and infinities as Inf/-Inf, as R reads
// them. Columns:
//
//	elpd_loo, se_elpd_loo          expected log predictive density (higher is better), its SE
//	p_loo, se_p_loo                effective number of parameters, its SE
//	looic, se_looic                −2·elpd_loo (lower is better), its SE
//	mcse_elpd_loo                  Monte Carlo SE of elpd_loo; NA when any k̂ > 0.7
//	n_obs, n_draws                 observations and posterior draws
//	pareto_k_max                   the largest k̂ (Inf when a tail could not be fitted)
//	pareto_k_good                  count of k̂ ≤ 0.5: reliable
//	pareto_k_ok                    count of 0.5 < k̂ ≤ 0.7: acceptable, monitor
//	pareto_k_bad                   count of 0.7 < k̂ ≤ 1: unreliable, influential observation
//	pareto_k_very_bad              count of k̂ > 1: PSIS fails, the observation dominates
//	pareto_k_threshold             min(1 − 1/log10(n_draws), 0.7), newer loo's k̂ threshold,
//	                               for information
func WriteSummaryCSV(w io.Writer, r *Result) error {
	kmax := math.Inf(-1)
	for _, p := range r.Pointwise {
		kmax = math.Max(kmax, p.ParetoK)
	}
	if len(r.Pointwise) == 0 {
		kmax = math.NaN()
	}
	rec := []string{
		num.Format(r.ELPD), num.Format(r.ELPDSE), num.Format(r.PLOO), num.Format(r.PLOOSE),
		num.Format(r.LOOIC), num.Format(r.LOOICSE), num.Format(r.MCSE),
		strconv.Itoa(r.N), strconv.Itoa(r.S), num.Format(kmax),
		strconv.Itoa(r.KCounts[0]), strconv.Itoa(r.KCounts[1]), strconv.Itoa(r.KCounts[2]), strconv.Itoa(r.KCounts[3]),
		num.Format(r.KThreshold),
	}
	return writeCSV(w, "loo_summary.csv", summaryHeader, [][]string{rec})
}

// pointwiseHeader is the header of loo_pointwise.csv.
var pointwiseHeader = []string{
	"obs", "label", "elpd_loo", "mcse_elpd_loo", "p_loo", "looic", "lpd",
	"pareto_k", "pareto_k_band", "influential", "n_eff", "r_eff",
}

// WritePointwiseCSV writes r's pointwise values as 50_model_selection/loo_pointwise.csv,
// one row per observation in order. labels name the rows (the date, or market and date for
// a panel); nil leaves the label column empty. Numbers as in WriteSummaryCSV. Columns:
//
//	obs              1-based observation number
//	label            labels[i]
//	elpd_loo         log of the PSIS-LOO estimate of p(y_i | y_-i)
//	mcse_elpd_loo    its Monte Carlo SE
//	p_loo            lpd − elpd_loo
//	looic            −2·elpd_loo
//	lpd              log mean over draws of p(y_i | θ), the in-sample fit
//	pareto_k         k̂, loo's influence_pareto_k
//	pareto_k_band    good (k̂ ≤ 0.5), ok (≤ 0.7), bad (≤ 1) or very_bad
//	influential      true when k̂ > 0.7: PSIS-LOO is unreliable for this row
//	n_eff            PSIS effective sample size
//	r_eff            relative efficiency of the likelihood draws
func WritePointwiseCSV(w io.Writer, r *Result, labels []string) error {
	if labels != nil && len(labels) != len(r.Pointwise) {
		return fmt.Errorf("loo: loo_pointwise.csv: %d labels for %d observations", len(labels), len(r.Pointwise))
	}
	rows := make([][]string, len(r.Pointwise))
	for i, p := range r.Pointwise {
		label := ""
		if labels != nil {
			label = labels[i]
		}
		rows[i] = []string{
			strconv.Itoa(i + 1), label,
			num.Format(p.ELPD), num.Format(p.MCSE), num.Format(p.PLOO), num.Format(p.LOOIC), num.Format(p.LPD),
			num.Format(p.ParetoK), BandNames[Band(p.ParetoK)], strconv.FormatBool(p.Influential()),
			num.Format(p.NEff), num.Format(p.REff),
		}
	}
	return writeCSV(w, "loo_pointwise.csv", pointwiseHeader, rows)
}

func writeCSV(w io.Writer, name string, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("loo: write %s: %w", name, err)
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("loo: write %s: %w", name, err)
	}
	return nil
}

// ReadPointwiseCSV reads a loo_pointwise.csv written by WritePointwiseCSV (name is used in
// messages) and returns the Result it came from, its totals recomputed, with its labels.
// The file does not record the draw count, so S is 0 and KThreshold NaN. Columns are found
// by name; elpd_loo, mcse_elpd_loo, p_loo, looic and pareto_k are required.
func ReadPointwiseCSV(rd io.Reader, name string) (*Result, []string, error) {
	cr := csv.NewReader(rd)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("loo: %s is empty; want a header and one row per observation", name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loo: %s: %w", name, err)
	}
	col := map[string]int{}
	for j, h := range header {
		col[h] = j
	}
	for _, req := range []string{"elpd_loo", "mcse_elpd_loo", "p_loo", "looic", "pareto_k"} {
		if _, ok := col[req]; !ok {
			return nil, nil, fmt.Errorf("loo: %s: no column %q; is it a loo_pointwise.csv?", name, req)
		}
	}
	var pts []Point
	var labels []string
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("loo: %s: %w", name, err)
		}
		get := func(h string, def float64) (float64, error) {
			j, ok := col[h]
			if !ok {
				return def, nil
			}
			v, err := num.Parse(rec[j])
			if err != nil {
				return 0, fmt.Errorf("loo: %s:%d: column %q: %q is not a number", name, line, h, rec[j])
			}
			return v, nil
		}
		var p Point
		for _, f := range []struct {
			h   string
			dst *float64
		}{
			{"elpd_loo", &p.ELPD}, {"mcse_elpd_loo", &p.MCSE}, {"p_loo", &p.PLOO}, {"looic", &p.LOOIC},
			{"lpd", &p.LPD}, {"pareto_k", &p.ParetoK}, {"n_eff", &p.NEff}, {"r_eff", &p.REff},
		} {
			if *f.dst, err = get(f.h, math.NaN()); err != nil {
				return nil, nil, err
			}
		}
		pts = append(pts, p)
		if j, ok := col["label"]; ok {
			labels = append(labels, rec[j])
		}
	}
	if len(pts) == 0 {
		return nil, nil, fmt.Errorf("loo: %s has no rows; want one per observation", name)
	}
	return newResult(pts, 0), labels, nil
}
