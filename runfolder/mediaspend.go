package runfolder

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/dsamstan/dsamstan/internal/num"
)

// MediaSpend is 10_pre_run/media_spend.csv: the spend of each media channel on every row of
// the data file, as the run read it, for the spend plot.
type MediaSpend struct {
	// Dates holds each row's date_var value ("" without a date variable).
	Dates []string
	// Labels name the channels; Spend[c][i] is channel c's spend on row i (NaN where the
	// data has none).
	Labels []string
	Spend  [][]float64
}

// WriteMediaSpend writes the table: row,date,<one column per channel>, numbers in full
// precision (NA where missing).
func WriteMediaSpend(w io.Writer, m *MediaSpend) error {
	cw := csv.NewWriter(w)
	cw.Write(append([]string{"row", "date"}, m.Labels...))
	rec := make([]string, 2+len(m.Labels))
	for i, d := range m.Dates {
		rec[0], rec[1] = strconv.Itoa(i+1), d
		for c := range m.Labels {
			rec[2+c] = num.Format(m.Spend[c][i])
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("runfolder: writing %s: %w", MediaSpendFile, err)
	}
	return nil
}

// ReadMediaSpend reads a table written by WriteMediaSpend.
func ReadMediaSpend(r io.Reader) (*MediaSpend, error) {
	cr := csv.NewReader(r)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("runfolder: reading %s: %w", MediaSpendFile, err)
	}
	if len(recs) == 0 || len(recs[0]) < 2 || recs[0][0] != "row" || recs[0][1] != "date" {
		return nil, errors.New("runfolder: reading " + MediaSpendFile + ": the header does not start with row,date")
	}
	m := &MediaSpend{Labels: recs[0][2:], Spend: make([][]float64, len(recs[0])-2)}
	for i, rec := range recs[1:] {
		m.Dates = append(m.Dates, rec[1])
		for c := range m.Labels {
			v, err := num.Parse(rec[2+c])
			if err != nil {
				return nil, fmt.Errorf("runfolder: %s:%d: column %q: %q is not a number", MediaSpendFile, i+2, m.Labels[c], rec[2+c])
			}
			m.Spend[c] = append(m.Spend[c], v)
		}
	}
	return m, nil
}
