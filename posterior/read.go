package posterior

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/dsamstan/dsamstan/internal/num"
)

// DrawsTable is posterior_draws.csv read back: every column by name (chain, draw, each
// parameter, r2, rmse, smape), as numbers.
type DrawsTable struct {
	Names []string
	Cols  [][]float64
}

// Column returns the draws of the column named name and whether there is one.
func (t *DrawsTable) Column(name string) ([]float64, bool) {
	j := slices.Index(t.Names, name)
	if j < 0 {
		return nil, false
	}
	return t.Cols[j], true
}

// ReadDraws reads a table written by WriteDraws. NA reads as NaN.
func ReadDraws(r io.Reader) (*DrawsTable, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("posterior: posterior_draws.csv is empty; want a header line")
	}
	if err != nil {
		return nil, fmt.Errorf("posterior: posterior_draws.csv: %w", err)
	}
	t := &DrawsTable{Names: slices.Clone(header), Cols: make([][]float64, len(header))}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("posterior: posterior_draws.csv: %w", err)
		}
		for j, cell := range rec {
			v, err := num.Parse(cell)
			if err != nil {
				return nil, fmt.Errorf("posterior: posterior_draws.csv:%d: column %q: %q is not a number", line, t.Names[j], cell)
			}
			t.Cols[j] = append(t.Cols[j], v)
		}
	}
	return t, nil
}

// RowKey identifies a row of the row-wise tables (fitted_values.csv, decomposition.csv):
// its 1-based row number, its date ("" without data.date_var) and its label under each
// grouping factor of a panel.
type RowKey struct {
	Row    int
	Date   string
	Groups []string
}

// Bands are the columns of one scale of fitted_values.csv: the fitted mean, its 2.5, 5,
// 50, 95 and 97.5% quantiles and the 95% predictive interval, one value per row.
type Bands struct {
	Mean, Q2_5, Q5, Q50, Q95, Q97_5, PredLo95, PredHi95 []float64
}

func (b *Bands) cols() []*[]float64 {
	return []*[]float64{&b.Mean, &b.Q2_5, &b.Q5, &b.Q50, &b.Q95, &b.Q97_5, &b.PredLo95, &b.PredHi95}
}

// FittedTable is fitted_values.csv read back.
type FittedTable struct {
	// Factors are the grouping factors of a panel (their columns follow date).
	Factors []string
	Keys    []RowKey
	// Observed and Model are on the model scale (log for log(y) models).
	Observed []float64
	Model    Bands
	// KPIObserved and KPI are the KPI scale of a log(y) model; nil otherwise.
	KPIObserved []float64
	KPI         *Bands
}

// DecompositionTable is decomposition.csv read back: one entry per row and term.
type DecompositionTable struct {
	Factors []string
	Keys    []RowKey
	Terms   []string
	// Mean, Q5, Q50 and Q95 summarise the contribution; MultMean is exp(c)'s mean for
	// log(y) models (nil otherwise).
	Mean, Q5, Q50, Q95, MultMean []float64
}

// TotalRow is one line of decomposition_totals.csv.
type TotalRow struct {
	Scope, Term               string
	Mean, Q5, Q50, Q95, Share float64
}

// table is a CSV file read whole, for the readers below.
type table struct {
	name   string
	header []string
	rows   [][]string
}

func readTable(r io.Reader, name string) (*table, error) {
	cr := csv.NewReader(r)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("posterior: %s: %w", name, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("posterior: %s is empty; want a header line", name)
	}
	return &table{name: name, header: recs[0], rows: recs[1:]}, nil
}

// num reads column j as numbers.
func (t *table) num(j int) ([]float64, error) {
	out := make([]float64, len(t.rows))
	for i, r := range t.rows {
		v, err := num.Parse(r[j])
		if err != nil {
			return nil, fmt.Errorf("posterior: %s:%d: column %q: %q is not a number", t.name, i+2, t.header[j], r[j])
		}
		out[i] = v
	}
	return out, nil
}

// keys reads the row keys: row, date and the factors, the columns before first.
func (t *table) keys(first string) (factors []string, keys []RowKey, next int, err error) {
	next = slices.Index(t.header, first)
	if len(t.header) < 2 || t.header[0] != "row" || t.header[1] != "date" || next < 2 {
		return nil, nil, 0, fmt.Errorf("posterior: %s: the header does not start with row,date,…,%s", t.name, first)
	}
	factors = slices.Clone(t.header[2:next])
	keys = make([]RowKey, len(t.rows))
	for i, r := range t.rows {
		n, err := strconv.Atoi(r[0])
		if err != nil {
			return nil, nil, 0, fmt.Errorf("posterior: %s:%d: row %q is not a row number", t.name, i+2, r[0])
		}
		keys[i] = RowKey{Row: n, Date: r[1], Groups: slices.Clone(r[2:next])}
	}
	return factors, keys, next, nil
}

// expect checks that the header continues at j with cols.
func (t *table) expect(j int, cols []string) error {
	if len(t.header) < j+len(cols) || !slices.Equal(t.header[j:j+len(cols)], cols) {
		return fmt.Errorf("posterior: %s: want the columns %s after column %d", t.name, strings.Join(cols, ","), j)
	}
	return nil
}

// bands reads the band columns with prefix starting at column j.
func (t *table) bands(j int, prefix string) (*Bands, error) {
	if err := t.expect(j, bandHeader(prefix)); err != nil {
		return nil, err
	}
	b := &Bands{}
	for k, dst := range b.cols() {
		v, err := t.num(j + k)
		if err != nil {
			return nil, err
		}
		*dst = v
	}
	return b, nil
}

// ReadFitted reads a table written by WriteFitted.
func ReadFitted(r io.Reader) (*FittedTable, error) {
	t, err := readTable(r, "fitted_values.csv")
	if err != nil {
		return nil, err
	}
	f := &FittedTable{}
	var j int
	if f.Factors, f.Keys, j, err = t.keys("observed"); err != nil {
		return nil, err
	}
	if f.Observed, err = t.num(j); err != nil {
		return nil, err
	}
	m, err := t.bands(j+1, "")
	if err != nil {
		return nil, err
	}
	f.Model = *m
	j += 1 + len(bandHeader(""))
	switch {
	case j == len(t.header):
	case t.header[j] == "kpi_observed":
		if f.KPIObserved, err = t.num(j); err != nil {
			return nil, err
		}
		if f.KPI, err = t.bands(j+1, "kpi_"); err != nil {
			return nil, err
		}
		if j+1+len(bandHeader("")) != len(t.header) {
			return nil, fmt.Errorf("posterior: %s: unexpected columns after kpi_pred_hi95", t.name)
		}
	default:
		return nil, fmt.Errorf("posterior: %s: unexpected column %q after pred_hi95", t.name, t.header[j])
	}
	return f, nil
}

var metricsHeader = []string{"scope", "n", "r2", "rmse", "mae", "mean_error", "smape", "coverage_95", "acf1"}

// ReadMetrics reads a table written by WriteMetrics.
func ReadMetrics(r io.Reader) ([]FitMetrics, error) {
	t, err := readTable(r, "fit_metrics.csv")
	if err != nil {
		return nil, err
	}
	if err := t.expect(0, metricsHeader); err != nil || len(t.header) != len(metricsHeader) {
		return nil, fmt.Errorf("posterior: %s: the header is not %s", t.name, strings.Join(metricsHeader, ","))
	}
	cols := make([][]float64, len(metricsHeader))
	for j := 1; j < len(cols); j++ {
		if cols[j], err = t.num(j); err != nil {
			return nil, err
		}
	}
	out := make([]FitMetrics, len(t.rows))
	for i, r := range t.rows {
		out[i] = FitMetrics{Scope: r[0], N: int(cols[1][i]), R2: cols[2][i], RMSE: cols[3][i], MAE: cols[4][i],
			MeanError: cols[5][i], SMAPE: cols[6][i], Coverage95: cols[7][i], ACF1: cols[8][i]}
	}
	return out, nil
}

// ReadDecomposition reads a table written by WriteDecomposition.
func ReadDecomposition(r io.Reader) (*DecompositionTable, error) {
	t, err := readTable(r, "decomposition.csv")
	if err != nil {
		return nil, err
	}
	d := &DecompositionTable{}
	var j int
	if d.Factors, d.Keys, j, err = t.keys("term"); err != nil {
		return nil, err
	}
	stats := []string{"mean", "q5", "q50", "q95"}
	if err := t.expect(j+1, stats); err != nil {
		return nil, err
	}
	d.Terms = make([]string, len(t.rows))
	for i, r := range t.rows {
		d.Terms[i] = r[j]
	}
	dst := []*[]float64{&d.Mean, &d.Q5, &d.Q50, &d.Q95}
	if len(t.header) > j+5 {
		if err := t.expect(j+5, []string{"multiplier_mean"}); err != nil {
			return nil, err
		}
		dst = append(dst, &d.MultMean)
	}
	for k, p := range dst {
		if *p, err = t.num(j + 1 + k); err != nil {
			return nil, err
		}
	}
	return d, nil
}

var totalsHeader = []string{"scope", "term", "mean", "q5", "q50", "q95", "share_of_fit"}

// ReadTotals reads a table written by WriteTotals.
func ReadTotals(r io.Reader) ([]TotalRow, error) {
	t, err := readTable(r, "decomposition_totals.csv")
	if err != nil {
		return nil, err
	}
	if err := t.expect(0, totalsHeader); err != nil || len(t.header) != len(totalsHeader) {
		return nil, fmt.Errorf("posterior: %s: the header is not %s", t.name, strings.Join(totalsHeader, ","))
	}
	cols := make([][]float64, len(totalsHeader))
	for j := 2; j < len(cols); j++ {
		if cols[j], err = t.num(j); err != nil {
			return nil, err
		}
	}
	out := make([]TotalRow, len(t.rows))
	for i, r := range t.rows {
		out[i] = TotalRow{Scope: r[0], Term: r[1], Mean: cols[2][i], Q5: cols[3][i], Q50: cols[4][i], Q95: cols[5][i], Share: cols[6][i]}
	}
	return out, nil
}
