package posterior

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"

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
