package ingest

import (
	"fmt"
	"time"
)

// The day-first and month-first readings of slashed dates, which a column can fit both of;
// day and month may have one digit or two.
const (
	dayFirst   = "2/1/2006"
	monthFirst = "1/2/2006"
)

// bestDateLayout returns the index in dateLayouts of the recognised format most values
// parse in (the first on a tie; -1 when none parses any) and how many parse in it.
func bestDateLayout(values []string) (best, n int) {
	best = -1
	for k, dl := range dateLayouts {
		m := 0
		for _, s := range values {
			if _, err := time.Parse(dl.layout, s); err == nil {
				m++
			}
		}
		if m > n {
			best, n = k, m
		}
	}
	return best, n
}

// ambiguousDates refuses a date column, read without data.date_format, whose values all
// read as dates both day-first (DD/MM/YYYY) and month-first (MM/DD/YYYY): no day is above
// 12, so nothing tells which is meant. values are the column's values at rows (indexes into
// t's rows), without the missing ones.
func ambiguousDates(t *Table, column string, values []string, rows []int) error {
	if len(values) == 0 {
		return nil
	}
	for _, s := range values {
		_, e1 := time.Parse(dayFirst, s)
		_, e2 := time.Parse(monthFirst, s)
		if e1 != nil || e2 != nil {
			return nil
		}
	}
	d, _ := time.Parse(dayFirst, values[0])
	m, _ := time.Parse(monthFirst, values[0])
	return fmt.Errorf("ingest: %s:%d: column %q (data.date_var): %q reads as %s (DD/MM/YYYY) or as %s (MM/DD/YYYY), and no date of the column is past the 12th to tell which; set `data.date_format` to \"%%d/%%m/%%Y\" or \"%%m/%%d/%%Y\"",
		t.name(), t.Lines[rows[0]], column, values[0], d.Format("2 January 2006"), m.Format("2 January 2006"))
}
