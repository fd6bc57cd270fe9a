package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/runfolder"
)

type compareOptions struct {
	io   streams
	Runs []string
}

func newCompareCmd(io streams, runF func(*compareOptions) error) *cobra.Command {
	opts := &compareOptions{io: io}
	cmd := &cobra.Command{
		Use:   "compare RUN_DIR RUN_DIR...",
		Short: "Rank fitted runs by PSIS-LOO expected log predictive density",
		Long: `Rank runs of models fitted to the same rows by elpd_loo (higher is better), as
R's loo::loo_compare does: elpd_diff is each run's difference from the best, with its
standard error from the pointwise differences. A difference smaller than about twice its
se_diff is no evidence either way. Runs whose diagnostics failed are marked: never prefer
a failing run for a small ELPD gain. Many Pareto k above 0.7 make LOO unreliable for that
run.

When every run has time-series cross-validation results (tscv_summary.csv) over the same
folds, a second table ranks the runs by holdout ELPD (higher is better).`,
		Example: `  dsamstan compare results/20260228_083808_blm results/20260228_084410_blm_no_social`,
		Args:    minArgs(2, "at least two RUN_DIRs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Runs = args
			if runF != nil {
				return runF(opts)
			}
			return runCompare(cmd.Context(), opts)
		},
	}
	return cmd
}

// findRunFile finds name in a run folder, staged or flat.
func findRunFile(dir, stage, name string) (string, error) {
	if p, ok := (runfolder.Folder{Dir: dir}).Find(stage, name); ok {
		return p, nil
	}
	return "", fmt.Errorf("compare: %s has no %s/%s: is it a completed MCMC run folder? (MAP fits have no LOO)", dir, stage, name)
}

func runCompare(_ context.Context, opts *compareOptions) error {
	var names []string
	var results []*loo.Result
	var firstLabels []string
	verdicts := map[string]string{}
	for _, dir := range opts.Runs {
		p, err := findRunFile(dir, runfolder.StageModelSelection, runfolder.LOOPointwise)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		res, labels, err := loo.ReadPointwiseCSV(f, p)
		f.Close()
		if err != nil {
			return err
		}
		if firstLabels == nil {
			firstLabels = labels
		} else if !slices.Equal(labels, firstLabels) {
			return fmt.Errorf("compare: %s and %s were not fitted to the same rows (their loo_pointwise.csv labels differ); LOO compares models of the same data only", opts.Runs[0], dir)
		}
		name := filepath.Base(filepath.Clean(dir))
		names = append(names, name)
		results = append(results, res)
		verdicts[name] = runVerdict(dir)
	}
	cmp, err := loo.Compare(names, results)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	tw := tabwriter.NewWriter(opts.io.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\trun\telpd_loo\tse\telpd_diff\tse_diff\tp_loo\tk>0.7\tdiagnostics\t")
	for _, c := range cmp {
		bad := 0
		for _, r := range results[indexOf(names, c.Name)].Pointwise {
			if r.Influential() {
				bad++
			}
		}
		v := verdicts[c.Name]
		if v == "fail" {
			v = "FAIL: do not prefer"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%s\t\n", c.Rank, c.Name, c.ELPD, c.ELPDSE, c.ELPDDiff, c.SEDiff, c.PLOO, bad, v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return compareHoldout(opts, names, verdicts)
}

// holdout is a run's overall time-series cross-validation score (the "all" row of
// tscv_summary.csv) and its folds' dates, which must match to compare.
type holdout struct {
	name                       string
	elpd, rmse, smape, cover90 float64
	n                          int
	folds                      string
}

// readHoldout reads a run's tscv_summary.csv; ok is false when the run has none.
func readHoldout(dir, name string) (h holdout, ok bool, err error) {
	p, found := (runfolder.Folder{Dir: dir}).Find(runfolder.StageModelSelection, pipeline.TSCVSummaryFile)
	if !found {
		return h, false, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return h, false, fmt.Errorf("compare: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		return h, false, fmt.Errorf("compare: %s: not a time-series cross-validation summary (%v)", p, err)
	}
	col := map[string]int{}
	for j, c := range recs[0] {
		col[c] = j
	}
	var folds []string
	for _, r := range recs[1:] {
		if r[0] != "all" {
			folds = append(folds, r[col["train_start"]]+"/"+r[col["cutoff"]]+"/"+r[col["holdout_end"]])
			continue
		}
		num := func(c string) float64 { v, _ := strconv.ParseFloat(r[col[c]], 64); return v }
		h = holdout{name: name, elpd: num("elpd_holdout"), rmse: num("rmse"), smape: num("smape"), cover90: num("coverage90"), n: int(num("n"))}
	}
	h.folds = strings.Join(folds, ",")
	return h, true, nil
}

// compareHoldout prints the runs ranked by holdout ELPD when every run has time-series
// cross-validation results over the same folds.
func compareHoldout(opts *compareOptions, names []string, verdicts map[string]string) error {
	var hs []holdout
	for i, dir := range opts.Runs {
		h, ok, err := readHoldout(dir, names[i])
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if len(hs) > 0 && (h.folds != hs[0].folds || h.n != hs[0].n) {
			fmt.Fprintf(opts.io.Out, "\nholdout ELPD not compared: %s and %s were cross-validated over different folds\n", opts.Runs[0], dir)
			return nil
		}
		hs = append(hs, h)
	}
	sort.SliceStable(hs, func(a, b int) bool { return hs[a].elpd > hs[b].elpd })
	fmt.Fprintln(opts.io.Out, "\ntime-series cross-validation (higher elpd_holdout is better):")
	tw := tabwriter.NewWriter(opts.io.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rank\trun\telpd_holdout\telpd_diff\trmse\tsmape\tcoverage90\tn\tdiagnostics\t")
	for i, h := range hs {
		v := verdicts[h.name]
		if v == "fail" {
			v = "FAIL: do not prefer"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%.4g\t%.2f\t%.2f\t%d\t%s\t\n", i+1, h.name, h.elpd, h.elpd-hs[0].elpd, h.rmse, h.smape, h.cover90, h.n, v)
	}
	return tw.Flush()
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// runVerdict reads the diagnostics verdict a run recorded in run.json ("?" if unknown).
func runVerdict(dir string) string {
	info, err := runfolder.ReadRunInfo(runfolder.Detect(dir))
	if err != nil || info.Diagnostics == "" {
		return "?"
	}
	return info.Diagnostics
}
