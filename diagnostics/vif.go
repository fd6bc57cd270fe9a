package diagnostics

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/csvtab"
	"github.com/dsamstan/dsamstan/internal/num"
)

// VIFRow is one predictor of the variance inflation table (10_pre_run/vif.csv).
type VIFRow struct {
	Term string
	// VIF is 1/(1 − R²) of the term's regression on the other varying predictors; +Inf
	// for an exact linear combination of them, NaN when it cannot be computed (fewer than
	// two varying predictors or three rows) or the term is constant.
	VIF float64
	// Constant is true when the term does not vary in the data (it is left out).
	Constant bool
}

var vifHeader = []string{"term", "vif", "constant"}

// VIFTable computes the variance inflation factor of every population term of spec except
// the intercept, in design order.
func VIFTable(spec *ingest.Spec) []VIFRow {
	var rows []VIFRow
	var cols [][]float64
	var varying []int
	for k, t := range spec.Terms {
		if t.Intercept {
			continue
		}
		c := spec.X[k]
		if _, sd := stat.MeanStdDev(c, nil); !(sd > 0) || math.IsInf(sd, 0) {
			rows = append(rows, VIFRow{Term: t.Name, VIF: math.NaN(), Constant: true})
			continue
		}
		varying = append(varying, len(rows))
		rows = append(rows, VIFRow{Term: t.Name, VIF: math.NaN()})
		cols = append(cols, c)
	}
	if len(cols) < 2 || spec.N < 3 {
		return rows
	}
	for j, v := range VIF(cols) {
		rows[varying[j]].VIF = v
	}
	return rows
}

// VIF returns the variance inflation factor of each column: 1/(1 − R²) of its regression
// on the other columns and a constant. Exactly collinear columns get +Inf. The columns must
// be at least two, of equal length.
func VIF(cols [][]float64) []float64 {
	p := len(cols)
	n := len(cols[0])
	z := mat.NewDense(n, p, nil)
	for j, c := range cols {
		m, sd := stat.MeanStdDev(c, nil)
		for i, v := range c {
			z.Set(i, j, (v-m)/sd)
		}
	}
	out := make([]float64, p)
	for j := range p {
		others := mat.NewDense(n, p-1, nil)
		k := 0
		for jj := range p {
			if jj == j {
				continue
			}
			for i := range n {
				others.Set(i, k, z.At(i, jj))
			}
			k++
		}
		b := mat.NewVecDense(n, nil)
		for i := range n {
			b.SetVec(i, z.At(i, j))
		}
		var svd mat.SVD
		if !svd.Factorize(others, mat.SVDThin) {
			out[j] = math.NaN()
			continue
		}
		vals := svd.Values(nil)
		rank := 0
		for _, s := range vals {
			if s > 1e-10*vals[0] {
				rank++
			}
		}
		var coef mat.VecDense
		svd.SolveVecTo(&coef, b, rank)
		var fit mat.VecDense
		fit.MulVec(others, &coef)
		var rss, tss float64
		for i := range n {
			e := b.AtVec(i) - fit.AtVec(i)
			rss += e * e
			tss += b.AtVec(i) * b.AtVec(i)
		}
		r2 := 1 - rss/tss
		if r2 >= 1-1e-12 {
			out[j] = math.Inf(1)
		} else {
			out[j] = 1 / (1 - r2)
		}
	}
	return out
}

// WriteVIF writes the table as vif.csv: term,vif,constant, numbers in full precision (NA
// where there is none, Inf for exact collinearity).
func WriteVIF(w io.Writer, rows []VIFRow) error {
	cw := csv.NewWriter(w)
	cw.Write(vifHeader)
	for _, r := range rows {
		cw.Write([]string{r.Term, num.Format(r.VIF), strconv.FormatBool(r.Constant)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("diagnostics: writing vif.csv: %w", err)
	}
	return nil
}

// ReadVIF reads a table written by WriteVIF.
func ReadVIF(r io.Reader) ([]VIFRow, error) {
	data, err := csvtab.Read(r, vifHeader)
	if err != nil {
		return nil, fmt.Errorf("diagnostics: reading vif.csv: %w", err)
	}
	rows := make([]VIFRow, 0, len(data))
	for i, rec := range data {
		v, err := num.Parse(rec[1])
		if err != nil {
			return nil, fmt.Errorf("diagnostics: vif.csv:%d: vif %q is not a number", i+2, rec[1])
		}
		c, err := strconv.ParseBool(rec[2])
		if err != nil {
			return nil, fmt.Errorf("diagnostics: vif.csv:%d: constant %q is not true or false", i+2, rec[2])
		}
		rows = append(rows, VIFRow{Term: rec[0], VIF: v, Constant: c})
	}
	return rows, nil
}
