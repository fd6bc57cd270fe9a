package ingest

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFile writes content to name in a fresh temporary folder and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCSV(t *testing.T) {
	tests := []struct {
		name   string
		csv    string
		header []string
		cells  [][]string
		lines  []int
	}{
		{
			name:   "plain",
			csv:    "a,b\n1,2\n3,4\n",
			header: []string{"a", "b"},
			cells:  [][]string{{"1", "3"}, {"2", "4"}},
			lines:  []int{2, 3},
		},
		{
			name:   "BOM, CRLF, no final newline, spaces around names",
			csv:    "\xef\xbb\xbfa , b\r\n1,2\r\n3,4",
			header: []string{"a", "b"},
			cells:  [][]string{{"1", "3"}, {"2", "4"}},
			lines:  []int{2, 3},
		},
		{
			name:   "quoted fields with commas, quotes and line breaks",
			csv:    "\"tv spend\",label\n\"1\",\"north, \"\"big\"\"\"\n2,\"two\nlines\"\n3,x\n",
			header: []string{"tv spend", "label"},
			cells:  [][]string{{"1", "2", "3"}, {`north, "big"`, "two\nlines", "x"}},
			lines:  []int{2, 3, 5},
		},
		{
			name:   "blank lines are skipped; an R row-name column has no name",
			csv:    "\"\",y\n\n\"1\",5\n\n\"2\",6\n",
			header: []string{"", "y"},
			cells:  [][]string{{"1", "2"}, {"5", "6"}},
			lines:  []int{3, 5},
		},
		{
			name:   "header only",
			csv:    "a,b\n",
			header: []string{"a", "b"},
			cells:  [][]string{nil, nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "data.csv", tt.csv)
			tab, err := LoadCSV(path)
			if err != nil {
				t.Fatal(err)
			}
			if tab.Path != path || !reflect.DeepEqual(tab.Header, tt.header) || !reflect.DeepEqual(tab.Cells, tt.cells) || !reflect.DeepEqual(tab.Lines, tt.lines) {
				t.Errorf("LoadCSV = %+v; want header %q, cells %q, lines %v", tab, tt.header, tt.cells, tt.lines)
			}
		})
	}
}

func TestLoadCSVErrors(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		wantErr string
	}{
		{
			name:    "duplicate columns",
			csv:     "a,b,c,b,a\n1,2,3,4,5\n",
			wantErr: "ingest: data.csv:1: column \"b\" appears twice (columns 2 and 4); rename one\ningest: data.csv:1: column \"a\" appears twice (columns 1 and 5); rename one",
		},
		{
			name:    "ragged rows",
			csv:     "a,b\n1,2\n3\n4,5,6\n",
			wantErr: "ingest: data.csv:3: the row has 1 fields; the header has 2\ningest: data.csv:4: the row has 3 fields; the header has 2",
		},
		{
			name:    "bare quote",
			csv:     "a,b\n1,2\"x\n",
			wantErr: "ingest: data.csv:2:4: bare \" in non-quoted-field (a field holding \" must be quoted as a whole, with inner quotes doubled: \"12\"\" screen\")",
		},
		{
			name:    "empty file",
			csv:     "",
			wantErr: "ingest: data file data.csv is empty; it needs a header line and data rows",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "data.csv", tt.csv)
			t.Chdir(filepath.Dir(path)) // messages name the file relative to the working folder
			_, err := LoadCSV(path)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("LoadCSV error =\n%v\nwant\n%s", err, tt.wantErr)
			}
		})
	}
	_, err := LoadCSV("testdata/nope.csv")
	if want := `ingest: data file "testdata/nope.csv" not found`; err == nil || err.Error() != want {
		t.Errorf("LoadCSV(missing) error = %v; want %s", err, want)
	}
}

func TestNumeric(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("x\n1.5\n\nNA\n NaN\nnan\nN/A\nInf\n-Inf\n 2e3 \n-0.25\n"), "data.csv")
	if err != nil {
		t.Fatal(err)
	}
	vals, missing, err := tab.Numeric("x")
	if err != nil {
		t.Fatal(err)
	}
	// The blank line is skipped by the CSV reader; an empty cell needs a delimiter. " NaN"
	// is trimmed.
	wantMissing := []bool{false, true, true, true, true, false, false, false, false}
	wantVals := []float64{1.5, math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.Inf(1), math.Inf(-1), 2000, -0.25}
	if !reflect.DeepEqual(missing, wantMissing) {
		t.Errorf("missing = %v; want %v", missing, wantMissing)
	}
	for i := range wantVals {
		if got, want := vals[i], wantVals[i]; !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("vals[%d] = %v; want %v", i, got, want)
		}
	}

	tab, err = ReadCSV(strings.NewReader("a,b\n1,\n,2\n"), "data.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, m, err := tab.Numeric("a"); err != nil || !reflect.DeepEqual(m, []bool{false, true}) {
		t.Errorf("Numeric(a) missing = %v, %v; want [false true]", m, err)
	}
	if _, _, err := tab.Numeric("c"); err == nil || err.Error() != `ingest: data.csv has no column "c"` {
		t.Errorf("Numeric(c) error = %v", err)
	}
}

func TestNumericErrors(t *testing.T) {
	tests := []struct {
		cell, wantErr string
	}{
		{"12,5", `ingest: data.csv:2: column "m_tv": "12,5" is not a number (use a decimal point: 12.5)`},
		{"1,234", `ingest: data.csv:2: column "m_tv": "1,234" is not a number (if , separates thousands, write 1234; if it is a decimal comma, write 1.234)`},
		{"1,234,567.5", `ingest: data.csv:2: column "m_tv": "1,234,567.5" is not a number (remove the thousands separators: 1234567.5)`},
		{"1.234.567", `ingest: data.csv:2: column "m_tv": "1.234.567" is not a number (remove the thousands separators: 1234567)`},
		{"1.234,5", `ingest: data.csv:2: column "m_tv": "1.234,5" is not a number (write numbers without thousands separators and with a decimal point: 1234.5)`},
		{"$12.5", `ingest: data.csv:2: column "m_tv": "$12.5" is not a number (remove the currency or percent sign: 12.5)`},
		{"12%", `ingest: data.csv:2: column "m_tv": "12%" is not a number (remove the currency or percent sign: 12)`},
		{"twelve", `ingest: data.csv:2: column "m_tv": "twelve" is not a number`},
	}
	for _, tt := range tests {
		tab, err := ReadCSV(strings.NewReader("m_tv,kpi\n\""+tt.cell+"\",1\n"), "data.csv")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = tab.Numeric("m_tv")
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("Numeric(%s) error =\n%v\nwant\n%s", tt.cell, err, tt.wantErr)
		}
	}

	// Up to 20 bad cells are listed, then a count of the rest.
	var b strings.Builder
	b.WriteString("x\n")
	for i := range 25 {
		fmt.Fprintf(&b, "x%d\n", i)
	}
	tab, err := ReadCSV(strings.NewReader(b.String()), "data.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = tab.Numeric("x")
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 21 || lines[0] != `ingest: data.csv:2: column "x": "x0" is not a number` ||
		lines[20] != "ingest: data.csv: and 5 more cells that are not numbers" {
		t.Errorf("25 bad cells: got %d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}
