package summarise

import (
	"fmt"
	"io"

	"github.com/dsamstan/dsamstan/internal/csvtab"
	"github.com/dsamstan/dsamstan/internal/num"
)

// ReadCSV reads rows written by WriteCSV (posterior_summary.csv). NA reads as NaN.
func ReadCSV(r io.Reader) ([]Row, error) {
	data, err := csvtab.Read(r, csvHeader)
	if err != nil {
		return nil, fmt.Errorf("summarise: reading posterior_summary.csv: %w", err)
	}
	rows := make([]Row, 0, len(data))
	for i, rec := range data {
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
