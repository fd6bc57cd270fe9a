package loo

import (
	"fmt"
	"io"
	"strconv"

	"github.com/dsamstan/dsamstan/internal/csvtab"
	"github.com/dsamstan/dsamstan/internal/num"
)

// ReadSummaryCSV reads a loo_summary.csv written by WriteSummaryCSV: the totals, N, S,
// KThreshold and KCounts of the Result it came from (Pointwise and Warnings are not in the
// file).
func ReadSummaryCSV(rd io.Reader) (*Result, error) {
	rows, err := csvtab.Read(rd, summaryHeader)
	if err != nil {
		return nil, fmt.Errorf("loo: loo_summary.csv: %w", err)
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("loo: loo_summary.csv: want one row after the header, not %d", len(rows))
	}
	rec := rows[0]
	v := make([]float64, len(rec))
	for j, cell := range rec {
		if v[j], err = num.Parse(cell); err != nil {
			return nil, fmt.Errorf("loo: loo_summary.csv: column %q: %q is not a number", summaryHeader[j], cell)
		}
	}
	ints := map[int]*int{}
	r := &Result{ELPD: v[0], ELPDSE: v[1], PLOO: v[2], PLOOSE: v[3], LOOIC: v[4], LOOICSE: v[5], MCSE: v[6], KThreshold: v[14]}
	ints[7], ints[8] = &r.N, &r.S
	for b := range r.KCounts {
		ints[10+b] = &r.KCounts[b]
	}
	for j, dst := range ints {
		if *dst, err = strconv.Atoi(rec[j]); err != nil {
			return nil, fmt.Errorf("loo: loo_summary.csv: column %q: %q is not a count", summaryHeader[j], rec[j])
		}
	}
	return r, nil
}
