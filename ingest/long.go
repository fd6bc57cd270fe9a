package ingest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Long-format data (data.format: long), as DSAMbayes reads it: a CSV with one row per id,
// date and variable, the variable's name in data.long_variable_col and its value in
// data.long_value_col. It is pivoted to one row per (id, date) and one column per variable,
// as R's tidyr::pivot_wider does: the id column (named data.long_id_col, a panel's group
// column), the date column (data.date_var), then the variables in order of first
// appearance; rows in order of first appearance of their (id, date). Other columns of the
// file are not used. A wide row's line is the line of its first long row.

// validateLongKeys refuses the long-layout keys on a file that is not in long layout.
func (c *Config) validateLongKeys(v *validator) {
	for key, val := range c.longKeys() {
		if val != "" {
			v.add(key, "`%s` is set but `data.format` is %s; set `data.format: long` for data with one row per id, date and variable, or remove it", key, c.Data.Format)
		}
	}
}

// longKeys maps the long-layout keys to their values.
func (c *Config) longKeys() map[string]string {
	return map[string]string{
		"data.long_id_col":       c.Data.LongIDCol,
		"data.long_variable_col": c.Data.LongVariableCol,
		"data.long_value_col":    c.Data.LongValueCol,
	}
}

// validateLong checks the long-layout keys: all set, with data.date_var, and distinct.
func (c *Config) validateLong(v *validator) {
	keys := []string{"data.long_id_col", "data.long_variable_col", "data.long_value_col", "data.date_var"}
	vals := []string{c.Data.LongIDCol, c.Data.LongVariableCol, c.Data.LongValueCol, c.Data.DateVar}
	for i, key := range keys {
		if vals[i] == "" {
			v.add("data.format", "`data.format` is long but `%s` is not set; long data needs %s", key, strings.Join(keys, ", "))
			continue
		}
		for j := range i {
			if vals[j] == vals[i] {
				v.add(key, "`%s` and `%s` are both %q; the four columns of long data must differ", keys[j], key, vals[i])
			}
		}
	}
}

// pivotLong turns a long-layout table into the wide table the model reads.
func (c *Config) pivotLong(t *Table) (*Table, error) {
	d := c.Data
	if err := c.checkLongColumns(t); err != nil {
		return nil, err
	}
	var errs []error
	ids, dates := t.Cells[t.Col(d.LongIDCol)], t.Cells[t.Col(d.DateVar)]
	vars, vals := t.Cells[t.Col(d.LongVariableCol)], t.Cells[t.Col(d.LongValueCol)]

	type key struct{ id, date string }
	rowOf := map[key]int{}
	colOf := map[string]int{}
	w := &Table{Path: t.Path, Header: []string{d.LongIDCol, d.DateVar}}
	var cells [][]string // by variable, then row
	var filled [][]bool  // whether the long data has the cell
	firstLine := map[[3]string]int{}
	report := func(err error) {
		if len(errs) < maxReported {
			errs = append(errs, err)
		}
	}
	for i, line := range t.Lines {
		id, date, name := strings.TrimSpace(ids[i]), strings.TrimSpace(dates[i]), trimName(vars[i])
		switch {
		case isMissing(id):
			report(fmt.Errorf("ingest: %s:%d: column %q (data.long_id_col) is empty; every row of long data needs its id", t.name(), line, d.LongIDCol))
			continue
		case isMissing(date):
			report(fmt.Errorf("ingest: %s:%d: column %q (data.date_var) is empty; every row of long data needs its date", t.name(), line, d.DateVar))
			continue
		case name == "":
			report(fmt.Errorf("ingest: %s:%d: column %q (data.long_variable_col) is empty; every row of long data names its variable", t.name(), line, d.LongVariableCol))
			continue
		case name == d.LongIDCol || name == d.DateVar:
			report(fmt.Errorf("ingest: %s:%d: the variable %q has the name of the id or date column; rename it", t.name(), line, name))
			continue
		}
		k := [3]string{id, date, name}
		if prev, dup := firstLine[k]; dup {
			report(fmt.Errorf("ingest: %s:%d: %s %q, date %s, variable %q appears again (first at line %d); long data needs one row per id, date and variable",
				t.name(), line, d.LongIDCol, id, date, name, prev))
			continue
		}
		firstLine[k] = line
		r, ok := rowOf[key{id, date}]
		if !ok {
			r = len(w.Lines)
			rowOf[key{id, date}] = r
			w.Lines = append(w.Lines, line)
			for j := range cells {
				cells[j] = append(cells[j], "NA")
				filled[j] = append(filled[j], false)
			}
		}
		j, ok := colOf[name]
		if !ok {
			j = len(cells)
			colOf[name] = j
			w.Header = append(w.Header, name)
			cells = append(cells, slices.Repeat([]string{"NA"}, len(w.Lines)))
			filled = append(filled, make([]bool, len(w.Lines)))
		}
		cells[j][r], filled[j][r] = vals[i], true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	idCol, dateCol := make([]string, len(w.Lines)), make([]string, len(w.Lines))
	for k, r := range rowOf {
		idCol[r], dateCol[r] = k.id, k.date
	}
	w.Cells = append([][]string{idCol, dateCol}, cells...)
	w.warnings = append(w.warnings, c.missingLongCells(w, filled, len(t.Lines))...)
	return w, nil
}

// checkLongColumns refuses long-layout keys that name no column of t.
func (c *Config) checkLongColumns(t *Table) error {
	d := c.Data
	cols := map[string]string{"data.long_id_col": d.LongIDCol, "data.date_var": d.DateVar,
		"data.long_variable_col": d.LongVariableCol, "data.long_value_col": d.LongValueCol}
	var errs []error
	for _, key := range []string{"data.long_id_col", "data.date_var", "data.long_variable_col", "data.long_value_col"} {
		if t.Col(cols[key]) < 0 {
			errs = append(errs, c.configErrAt(key, "`%s` is %q, which is not a column of %s (its columns: %s)", key, cols[key], t.name(), showList(t.Header)))
		}
	}
	return errors.Join(errs...)
}

// missingLongCells warns about the variables the formula uses that some (id, date) lacks:
// their cells are missing values, which data.na_action handles.
func (c *Config) missingLongCells(w *Table, filled [][]bool, longRows int) []string {
	f, err := ParseFormula(c.Model.Formula)
	if err != nil {
		return nil
	}
	used := append([]string{f.Response}, f.Terms...)
	if f.Offset != "" {
		used = append(used, f.Offset)
	}
	var out []string
	for _, name := range used {
		j := w.Col(name)
		if j < 2 {
			continue
		}
		var lines []int
		for r, ok := range filled[j-2] {
			if !ok {
				lines = append(lines, w.Lines[r])
			}
		}
		if len(lines) > 0 {
			out = append(out, fmt.Sprintf("%s (long, %d rows pivoted to %d): %s has no row for variable %q at lines %s; it counts as a missing value",
				w.name(), longRows, w.Rows(), plural(len(lines), "(id, date)"), name, lineList(lines)))
		}
	}
	return out
}
