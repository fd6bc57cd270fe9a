package calibrate

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dsamstan/dsamstan/internal/sbc"
	"github.com/dsamstan/dsamstan/runfolder"
)

// summarise writes calibration.csv, the verdict and the rank histograms from the
// simulations that finished.
func (st *study) summarise() (*Result, error) {
	st.mu.Lock()
	results := slices.Clone(st.results)
	names := st.names
	st.mu.Unlock()
	st.compiles.Lock()
	programs := len(st.exes)
	st.compiles.Unlock()
	return summariseResults(st.dir, names, results, st.opts.Alpha, programs)
}

// summariseResults writes calibration.csv, verdict.txt and the rank histograms of results
// into dir; programs is the number of distinct programs they used.
func summariseResults(dir string, names []string, results []*simResult, alpha float64, programs int) (*Result, error) {
	if len(results) == 0 {
		return nil, ErrNoSims
	}
	slices.SortFunc(results, func(a, b *simResult) int { return a.sim - b.sim })
	res := &Result{Dir: dir, Sims: len(results), Programs: programs}
	for _, r := range results {
		if r.divergences > 0 {
			res.Divergent++
		}
	}
	res.Params = summariseParams(names, results, alpha)
	res.Calibrated, res.Verdict = verdict(res.Params, alpha)
	if err := writeSummary(filepath.Join(dir, runfolder.CalibrationSummary), res.Params); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, runfolder.CalibrationVerdict), []byte(res.Verdict+"\n"), 0o644); err != nil {
		return res, fmt.Errorf("calibrate: %w", err)
	}
	if err := plotRanks(dir, names, results); err != nil {
		return res, err
	}
	return res, nil
}

// summariseParams tests each parameter's ranks for uniformity and computes its coverage,
// mean z-score and contraction.
func summariseParams(names []string, results []*simResult, alpha float64) []ParamSummary {
	bins := sbc.Bins(len(results))
	level := alpha / float64(len(names))
	out := make([]ParamSummary, len(names))
	ns := make([]int, len(results))
	for i, r := range results {
		ns[i] = r.draws
	}
	for j, name := range names {
		ranks := make([]int, len(results))
		var covered, z, postVar float64
		truths := make([]float64, len(results))
		for i, r := range results {
			ranks[i] = r.rank[j]
			if r.covered[j] {
				covered++
			}
			z += r.z[j]
			postVar += r.postVar[j]
			truths[i] = r.truth[j]
		}
		n := float64(len(results))
		chi2, p := sbc.Uniformity(ranks, ns, bins)
		_, sdTruth := meanSD(truths)
		out[j] = ParamSummary{Parameter: name, Sims: len(results), Bins: bins, ChiSquare: chi2, P: p,
			Flagged: p < level, Coverage90: covered / n, MeanZ: z / n,
			Contraction: 1 - postVar/n/(sdTruth*sdTruth)}
	}
	return out
}

// verdict is "calibrated" when no parameter's uniformity p-value is below alpha over the
// number of parameters (Bonferroni), else "not calibrated: " and the parameters that are.
func verdict(params []ParamSummary, alpha float64) (bool, string) {
	var bad []string
	for _, p := range params {
		if p.Flagged {
			bad = append(bad, p.Parameter)
		}
	}
	if len(bad) == 0 {
		return true, "calibrated"
	}
	return false, fmt.Sprintf("not calibrated: %s (rank uniformity p < %.2g/%d = %.2g, Bonferroni over the %d parameters)",
		strings.Join(bad, ", "), alpha, len(params), alpha/float64(len(params)), len(params))
}

// writeSummary writes calibration.csv.
func writeSummary(path string, params []ParamSummary) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"parameter", "n_sims", "bins", "chi_square", "p_value", "flagged", "coverage_90", "mean_z", "contraction"})
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, p := range params {
		w.Write([]string{p.Parameter, strconv.Itoa(p.Sims), strconv.Itoa(p.Bins), g(p.ChiSquare), g(p.P),
			strconv.FormatBool(p.Flagged), g(p.Coverage90), g(p.MeanZ), g(p.Contraction)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("calibrate: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	return nil
}
