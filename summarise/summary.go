package summarise

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/dsamstan/dsamstan/internal/num"
)

// Row is one line of posterior_summary.csv: a parameter's posterior mean, standard
// deviation, 5%, 50% and 95% quantiles (R type 7), rank-normalised split-Rhat, bulk-
// and tail-ESS and the Monte Carlo standard error of the mean. Statistics that cannot
// be computed are NaN.
type Row struct {
	Parameter              string
	Mean, SD, Q5, Q50, Q95 float64
	Rhat, ESSBulk, ESSTail float64
	MCSEMean               float64
}

// Summarise computes a Row per parameter, in the order of names. column(j) returns
// parameter j's draws, one slice per chain, all of the same length (unequal lengths
// panic, as in RhatRank). column is called once per parameter from up to workers
// goroutines at once, so it must be safe for concurrent use; Summarise only reads
// the slices it returns. workers <= 0 means runtime.GOMAXPROCS(0).
func Summarise(names []string, column func(j int) [][]float64, workers int) []Row {
	rows := make([]Row, len(names))
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(names))
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		panicked atomic.Pointer[any]
	)
	for range workers {
		wg.Go(func() {
			// A panic (a caller's contract broken) is handed back to the caller's
			// goroutine instead of killing the program from this one.
			defer func() {
				if r := recover(); r != nil {
					panicked.CompareAndSwap(nil, &r)
				}
			}()
			w := new(workspace)
			for panicked.Load() == nil {
				j := int(next.Add(1) - 1)
				if j >= len(names) {
					return
				}
				rows[j] = w.row(names[j], column(j))
			}
		})
	}
	wg.Wait()
	if p := panicked.Load(); p != nil {
		panic(*p)
	}
	return rows
}

// row summarises one parameter, sharing the sort, the ranks and the buffers
// between the statistics.
func (w *workspace) row(name string, chains [][]float64) Row {
	w.load(chains)
	r := Row{Parameter: name}
	r.Mean, r.SD = w.moments()
	if w.hasNaN || len(w.x) == 0 {
		// posterior's quantile2 gives NA when any draw is NA.
		r.Q5, r.Q50, r.Q95 = math.NaN(), math.NaN(), math.NaN()
	} else {
		s := w.sortedX()
		r.Q5, r.Q50, r.Q95 = Quantile(s, 0.05), Quantile(s, 0.5), Quantile(s, 0.95)
	}
	r.Rhat = w.rhatRank()
	r.ESSBulk = w.essBulk()
	r.ESSTail = w.essTail()
	r.MCSEMean = w.mcseMean()
	return r
}

// csvHeader is the header of posterior_summary.csv.
var csvHeader = []string{"parameter", "mean", "sd", "q5", "q50", "q95", "rhat", "ess_bulk", "ess_tail", "mcse_mean"}

// WriteCSV writes rows as posterior_summary.csv: a header line, then one line per
// row with every number at full precision (shortest representation that reads back
// exactly). NaN is written NA and infinities Inf and -Inf, as R writes them.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("summarise: write csv header: %w", err)
	}
	rec := make([]string, len(csvHeader))
	for _, r := range rows {
		rec[0] = r.Parameter
		for i, v := range [...]float64{r.Mean, r.SD, r.Q5, r.Q50, r.Q95, r.Rhat, r.ESSBulk, r.ESSTail, r.MCSEMean} {
			rec[i+1] = num.Format(v)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("summarise: write csv row %q: %w", r.Parameter, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("summarise: write csv: %w", err)
	}
	return nil
}
