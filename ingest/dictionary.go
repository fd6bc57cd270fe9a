package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// A data dictionary describes the model's variables for readers of its outputs: per term
// (a data column or a formula term) its unit, cadence, source, transform and rationale, as
// DSAMbayes's data.dictionary_path (a CSV) and data.dictionary (inline) hold them. It does
// not change the model: it is checked against the data, written to the run folder and shown
// in the report beside each coefficient.

// DictionaryEntry is one term's description; every field is free text.
type DictionaryEntry struct {
	Term      string `yaml:"-"`
	Unit      string `yaml:"unit,omitempty"`
	Cadence   string `yaml:"cadence,omitempty"`
	Source    string `yaml:"source,omitempty"`
	Transform string `yaml:"transform,omitempty"`
	Rationale string `yaml:"rationale,omitempty"`
}

// DictionaryFields are the fields of an entry: the columns of a dictionary CSV besides its
// term column, and the keys of an inline entry.
var DictionaryFields = []string{"unit", "cadence", "source", "transform", "rationale"}

// dictionaryTermCols are the accepted names of a dictionary CSV's term column.
var dictionaryTermCols = []string{"term", "variable"}

// field returns a pointer to the named field.
func (e *DictionaryEntry) field(name string) *string {
	switch name {
	case "unit":
		return &e.Unit
	case "cadence":
		return &e.Cadence
	case "source":
		return &e.Source
	case "transform":
		return &e.Transform
	case "rationale":
		return &e.Rationale
	}
	return nil
}

// dictionaryDefaults resolves data.dictionary_path against the config's folder.
func (c *Config) dictionaryDefaults() {
	c.dictionaryPath = c.Data.DictionaryPath
	if p := c.Data.DictionaryPath; p != "" && !filepath.IsAbs(p) {
		c.Data.DictionaryPath = filepath.Join(c.Dir, p)
	}
}

// validateDictionary checks that the dictionary CSV exists.
func (c *Config) validateDictionary(v *validator) {
	p := c.Data.DictionaryPath
	if p == "" {
		return
	}
	written := c.dictionaryPath
	if written == "" {
		written = p
	}
	if st, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			v.add("data.dictionary_path", "data dictionary %q not found (`data.dictionary_path` is resolved against the config's folder %s)", written, c.Dir)
		} else {
			v.add("data.dictionary_path", "data dictionary %q: %v", written, err)
		}
	} else if st.IsDir() {
		v.add("data.dictionary_path", "data dictionary %q is a folder; `data.dictionary_path` must name a CSV file", written)
	}
}

// dictionary reads the data dictionary CSV, merges the inline entries into it (an inline
// field replaces the CSV's) and checks every term against t's columns and s's terms. CSV
// entries keep the file's order; inline entries the CSV lacks follow in name order. It
// returns nil when the config has no dictionary.
func (c *Config) dictionary(t *Table, s *Spec) ([]DictionaryEntry, error) {
	if c.Data.DictionaryPath == "" && len(c.Data.Dictionary) == 0 {
		return nil, nil
	}
	known := slices.Clone(t.Header)
	for _, term := range s.Terms {
		if !slices.Contains(known, term.Name) {
			known = append(known, term.Name)
		}
	}
	unknown := func(term string) string {
		hint := ""
		if near := closest(term, known, 3); len(near) > 0 {
			hint = fmt.Sprintf("; did you mean %s?", quoteList(near, " or "))
		}
		return fmt.Sprintf("%s is neither a column of the data nor a term of the model%s", show(term), hint)
	}
	var out []DictionaryEntry
	if c.Data.DictionaryPath != "" {
		var err error
		if out, err = readDictionary(c.Data.DictionaryPath, known, unknown); err != nil {
			return nil, err
		}
	}
	terms := make([]string, 0, len(c.Data.Dictionary))
	for term := range c.Data.Dictionary {
		terms = append(terms, term)
	}
	sort.Strings(terms)
	var errs []error
	for _, term := range terms {
		if !slices.Contains(known, term) {
			errs = append(errs, c.configErrAt("data.dictionary."+term, "`data.dictionary`: %s", unknown(term)))
			continue
		}
		in := c.Data.Dictionary[term]
		k := slices.IndexFunc(out, func(e DictionaryEntry) bool { return e.Term == term })
		if k < 0 {
			in.Term = term
			out = append(out, in)
			continue
		}
		for _, name := range DictionaryFields {
			if v := *in.field(name); v != "" {
				*out[k].field(name) = v
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// readDictionary reads a dictionary CSV: a term column (term or variable) and any of the
// DictionaryFields. An unknown column, an empty or repeated term and a term that is not in
// known are errors naming the line.
func readDictionary(path string, known []string, unknown func(string) string) ([]DictionaryEntry, error) {
	t, err := LoadCSV(path)
	if err != nil {
		return nil, err
	}
	name := t.name()
	termCol := -1
	var errs []error
	for j, h := range t.Header {
		switch {
		case slices.Contains(dictionaryTermCols, strings.ToLower(h)):
			if termCol >= 0 {
				errs = append(errs, fmt.Errorf("ingest: %s:1: data dictionary has two term columns, %q and %q", name, t.Header[termCol], h))
			}
			termCol = j
		case !slices.Contains(DictionaryFields, strings.ToLower(h)):
			hint := ""
			if near := closest(strings.ToLower(h), append(slices.Clone(dictionaryTermCols), DictionaryFields...), 1); len(near) > 0 {
				hint = fmt.Sprintf("did you mean %q? ", near[0])
			}
			errs = append(errs, fmt.Errorf("ingest: %s:1: data dictionary column %q is not a dictionary field; %sthe columns are term (or variable) and %s",
				name, h, hint, strings.Join(DictionaryFields, ", ")))
		}
	}
	if termCol < 0 {
		errs = append(errs, fmt.Errorf("ingest: %s:1: data dictionary has no term column; name the column of variable names term (or variable)", name))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []DictionaryEntry
	first := map[string]int{}
	for i := range t.Rows() {
		if len(errs) >= maxReported {
			break
		}
		line := t.Lines[i]
		term := strings.TrimSpace(t.Cells[termCol][i])
		switch l, seen := first[term]; {
		case term == "":
			errs = append(errs, fmt.Errorf("ingest: %s:%d: data dictionary row has no term", name, line))
			continue
		case seen:
			errs = append(errs, fmt.Errorf("ingest: %s:%d and %d: data dictionary describes %s twice", name, l, line, show(term)))
			continue
		case !slices.Contains(known, term):
			errs = append(errs, fmt.Errorf("ingest: %s:%d: data dictionary: %s", name, line, unknown(term)))
			continue
		}
		first[term] = line
		e := DictionaryEntry{Term: term}
		for j, h := range t.Header {
			if j != termCol {
				*e.field(strings.ToLower(h)) = strings.TrimSpace(t.Cells[j][i])
			}
		}
		out = append(out, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
