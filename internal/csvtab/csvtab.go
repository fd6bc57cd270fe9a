// Package csvtab reads the run folder's fixed-header CSV tables back: every table a stage
// writes has one exact header, and its reader wants that header and nothing else.
package csvtab

import (
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
)

// Read reads a CSV whose first line must be exactly header and whose every row has
// len(header) fields, and returns the rows after the header. Callers prefix the error with
// their package and file name.
func Read(r io.Reader, header []string) ([][]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(header)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || !slices.Equal(recs[0], header) {
		return nil, errors.New("the first line is not the header " + strings.Join(header, ","))
	}
	return recs[1:], nil
}
