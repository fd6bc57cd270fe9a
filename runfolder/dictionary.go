package runfolder

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/dsamstan/dsamstan/internal/csvtab"
)

// DictionaryFile is 00_run_metadata/data_dictionary.csv: the config's data dictionary
// (data.dictionary_path and the inline data.dictionary merged), one row per described term.
// A run whose config has no dictionary has no such file.
const DictionaryFile = "data_dictionary.csv"

// DictionaryHeader is the header of data_dictionary.csv.
var DictionaryHeader = []string{"term", "unit", "cadence", "source", "transform", "rationale"}

// DictionaryRow is one row of data_dictionary.csv (see DictionaryHeader).
type DictionaryRow struct {
	Term, Unit, Cadence, Source, Transform, Rationale string
}

// Fields returns the row's fields after the term, in DictionaryHeader order.
func (r DictionaryRow) Fields() []string {
	return []string{r.Unit, r.Cadence, r.Source, r.Transform, r.Rationale}
}

// WriteDictionary writes data_dictionary.csv.
func WriteDictionary(w io.Writer, rows []DictionaryRow) error {
	cw := csv.NewWriter(w)
	cw.Write(DictionaryHeader)
	for _, r := range rows {
		cw.Write(append([]string{r.Term}, r.Fields()...))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("runfolder: writing %s: %w", DictionaryFile, err)
	}
	return nil
}

// ReadDictionary reads data_dictionary.csv.
func ReadDictionary(r io.Reader) ([]DictionaryRow, error) {
	recs, err := csvtab.Read(r, DictionaryHeader)
	if err != nil {
		return nil, fmt.Errorf("runfolder: %s: %w", DictionaryFile, err)
	}
	rows := make([]DictionaryRow, len(recs))
	for i, rec := range recs {
		rows[i] = DictionaryRow{rec[0], rec[1], rec[2], rec[3], rec[4], rec[5]}
	}
	return rows, nil
}
