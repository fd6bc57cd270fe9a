package summarise

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dsamstan/dsamstan/internal/num"
)

// ReadCSV reads rows written by WriteCSV (posterior_summary.csv). NA reads as NaN.
func ReadCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvHeader)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("summarise: reading posterior_summary.csv: %w", err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
		return nil, errors.New("summarise: reading posterior_summary.csv: the first line is not the header " + strings.Join(csvHeader, ","))
	}
	rows := make([]Row, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		var v [9]float64
		for k := range v {
			if v[k], err = num.Parse(rec[k+1]); err != nil {
				return nil, fmt.Errorf("summarise: posterior_summary.csv:%d: column %q: %q is not a number", i+2, csvHeader[k+1], rec[k+1])
			}
		}
		rows = append(rows, Row{Parameter: rec[0], Mean: v[0], SD: v[1], Q5: v[2], Q50: v[3], Q95: v[4],
			Rhat: v[5], ESSBulk: v[6], ESSTail: v[7], MCSEMean: v[8]})
	}
	return rows, nil
}
