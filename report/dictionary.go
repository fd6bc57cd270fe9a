package report

import (
	"github.com/dsamstan/dsamstan/runfolder"
)

// describeCoefficients adds the data dictionary's fields to the coefficient table
// (posterior_summary.csv) beside each coefficient it describes: one column per field that
// some entry fills. A run without a dictionary keeps the table as it is; a dictionary that
// cannot be read is a warning.
func (pg *page) describeCoefficients(in *inputs) {
	rows, err := in.dictionary()
	if err != nil {
		if !isSkip(err) {
			pg.Warnings = append(pg.Warnings, err.Error())
		}
		return
	}
	byTerm := map[string]runfolder.DictionaryRow{}
	for _, r := range rows {
		byTerm[r.Term] = r
	}
	var fields []int // indexes into DictionaryRow.Fields of the fields some entry fills
	for j := range runfolder.DictionaryHeader[1:] {
		for _, r := range rows {
			if r.Fields()[j] != "" {
				fields = append(fields, j)
				break
			}
		}
	}
	if len(fields) == 0 {
		return
	}
	for s := range pg.Sections {
		for k := range pg.Sections[s].Items {
			it := &pg.Sections[s].Items[k]
			if it.Name != runfolder.PosteriorSummary || it.Table == nil || len(it.Table.Header) == 0 || it.Table.Header[0].Text != "parameter" {
				continue
			}
			tb := it.Table
			for _, j := range fields {
				tb.Header = append(tb.Header, cell{Text: runfolder.DictionaryHeader[1+j]})
			}
			for i, row := range tb.Rows {
				r, ok := byTerm[row[0].Text]
				for _, j := range fields {
					c := cell{}
					if ok {
						c = cell{Text: r.Fields()[j]}
						if len(c.Text) > 40 {
							c.Class = "msg"
						}
					}
					tb.Rows[i] = append(tb.Rows[i], c)
				}
			}
		}
	}
}
