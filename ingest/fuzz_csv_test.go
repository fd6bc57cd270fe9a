package ingest

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// csvErrorLine is the shape of every line of a ReadCSV error: the file, then the line
// (and, for a syntax error, the column) it is about. The two lines that name no place are
// the empty-file message and the "and N more rows" summary after 20 ragged rows.
var csvErrorLine = regexp.MustCompile(`^ingest: data\.csv:(\d+)(?::(\d+))?: \S|^ingest: data file data\.csv is empty;|^ingest: data\.csv: and \d+ more rows`)

// FuzzReadCSV feeds ReadCSV arbitrary bytes. Seeds are in testdata/fuzz/FuzzReadCSV
// (BOM, CRLF, quoted fields with commas, quotes and line breaks, ragged rows, duplicate and
// unnamed columns, bare quotes, NUL bytes, invalid UTF-8). It asserts that ReadCSV never
// panics or hangs, that every line of an error names data.csv and a line inside the input
// (or is one of the two summary messages), and that a table it returns is rectangular, has
// rising line numbers and unique column names, and survives a write with encoding/csv and a
// second read cell for cell (up to the CR LF that CSV reads as LF inside quotes).
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("kpi,m_tv\n1,2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		tab, err := ReadCSV(bytes.NewReader(data), "data.csv")
		// Generous: a linear reader takes microseconds on the fuzzer's inputs (≤ 1 MB).
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("ReadCSV took %v on %d bytes", d, len(data))
		}
		if err != nil {
			// Old-Mac files end lines with CR alone, so count those too.
			lines := bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{'\r'}) + 1
			for _, msg := range strings.Split(err.Error(), "\n") {
				m := csvErrorLine.FindStringSubmatch(msg)
				if m == nil {
					t.Fatalf("error line %q names no place in data.csv (input %q)", msg, data)
				}
				if m[1] == "" {
					continue
				}
				if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines {
					t.Fatalf("error %q names line %d of %d", msg, n, lines)
				}
			}
			return
		}
		checkTable(t, tab)
		if len(tab.Header) < 2 {
			return // a one-column row holding "" is written as a blank line, which readers skip
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write(tab.Header)
		row := make([]string, len(tab.Header))
		for i := range tab.Rows() {
			for j := range row {
				row[j] = tab.Cells[j][i]
			}
			w.Write(row)
		}
		w.Flush()
		again, err := ReadCSV(&b, "data.csv")
		if err != nil {
			t.Fatalf("rewritten table does not read back: %v\n%q", err, b.String())
		}
		if !slices.EqualFunc(again.Header, tab.Header, sameText) || again.Rows() != tab.Rows() {
			t.Fatalf("rewritten table: header %q, %d rows; want %q, %d", again.Header, again.Rows(), tab.Header, tab.Rows())
		}
		for j := range tab.Cells {
			if !slices.EqualFunc(again.Cells[j], tab.Cells[j], sameText) {
				t.Fatalf("column %d reads back as %q; was %q", j, again.Cells[j], tab.Cells[j])
			}
		}
	})
}

// sameText compares two fields as CSV keeps them: encoding/csv reads a CR LF inside a
// quoted field as LF, so a field holding CR LF comes back with LF.
func sameText(a, b string) bool {
	canon := func(s string) string {
		for strings.Contains(s, "\r\n") {
			s = strings.ReplaceAll(s, "\r\n", "\n")
		}
		return s
	}
	return canon(a) == canon(b)
}

// checkTable checks the shape ReadCSV promises.
func checkTable(t *testing.T, tab *Table) {
	t.Helper()
	if len(tab.Header) == 0 || len(tab.Cells) != len(tab.Header) {
		t.Fatalf("%d columns, %d cell columns", len(tab.Header), len(tab.Cells))
	}
	seen := map[string]bool{}
	for _, h := range tab.Header {
		if h != trimName(h) {
			t.Fatalf("header %q is not trimmed", h)
		}
		if h != "" && seen[h] {
			t.Fatalf("header %q appears twice", h)
		}
		seen[h] = true
	}
	for j := range tab.Cells {
		if len(tab.Cells[j]) != tab.Rows() {
			t.Fatalf("column %d has %d cells; the table has %d rows", j, len(tab.Cells[j]), tab.Rows())
		}
	}
	for i, l := range tab.Lines {
		if l < 2 || i > 0 && l <= tab.Lines[i-1] {
			t.Fatalf("row %d starts at line %d (previous %v)", i, l, tab.Lines[:i])
		}
	}
	if tab.Path != "data.csv" {
		t.Fatalf("Path = %q", tab.Path)
	}
}
