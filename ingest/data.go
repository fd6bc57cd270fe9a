package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/gocarina/gocsv"
)

// Table is a CSV file held column by column, as text: columns are parsed as numbers only
// when the model uses them, so a text column the model ignores never causes an error.
type Table struct {
	// Path is the file the table was read from.
	Path string
	// Header holds the column names (surrounding spaces and byte-order marks trimmed).
	Header []string
	// Cells holds the columns: Cells[j][i] is row i of column j.
	Cells [][]string
	// Lines holds the 1-based file line where each row starts, for messages.
	Lines []int

	prepared bool     // LoadData added the config's managed columns
	managed  []string // managed columns to append to the formula's terms
	warnings []string // what preparing the table found (calendar dates outside the data)
}

// maxReported caps how many bad cells or rows one error lists.
const maxReported = 20

// LoadCSV reads a CSV file with a header line. It accepts a UTF-8 byte-order mark, CRLF
// (and old Mac CR-only) line ends and quoted fields; every row must have as many fields as
// the header. The file is streamed, so loading holds the table and little more.
func LoadCSV(path string) (*Table, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ingest: data file %q not found", displayPath(path))
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: reading data: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return readCSV(f, path, size)
}

// ReadCSV reads CSV text from r as LoadCSV does; path names it in messages.
func ReadCSV(r io.Reader, path string) (*Table, error) { return readCSV(r, path, 0) }

// sizeSample is how many rows readCSV reads before it sizes the columns from the file size.
const sizeSample = 1024

// readCSV reads the table; size, when known (> 0), is the input's length in bytes, used to
// allocate the columns once instead of growing them by repeated doubling.
func readCSV(r io.Reader, path string, size int64) (*Table, error) {
	t := &Table{Path: path}
	name := t.name()
	in, err := prepare(r)
	if err != nil {
		return nil, fmt.Errorf("ingest: reading %s: %w", name, err)
	}
	cr, ok := gocsv.DefaultCSVReader(in).(*csv.Reader)
	if !ok {
		return nil, errors.New("ingest: gocsv.DefaultCSVReader is no longer an encoding/csv reader")
	}
	cr.FieldsPerRecord = -1 // ragged rows are reported below, all at once, with their lines
	cr.ReuseRecord = true   // the fields are fresh strings; only the []string is reused

	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("ingest: data file %s is empty; it needs a header line and data rows", name)
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	if len(header) == 1 {
		for _, sep := range []string{";", "\t", "|"} {
			if strings.Contains(header[0], sep) {
				return nil, fmt.Errorf("ingest: %s:1: the header is one column, %q; the file looks separated by %q, but dsamstan reads comma-separated CSV (export as \"CSV (comma delimited)\")", name, header[0], sep)
			}
		}
	}
	t.Header = make([]string, len(header))
	first := map[string]int{}
	var errs []error
	for j, h := range header {
		h = trimName(h)
		t.Header[j] = h
		if h == "" {
			continue // e.g. the row-name column R's write.csv adds; unusable in a formula anyway
		}
		if k, dup := first[h]; dup {
			errs = append(errs, fmt.Errorf("ingest: %s:1: column %q appears twice (columns %d and %d); rename one", name, h, k+1, j+1))
			continue
		}
		first[h] = j
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t.Cells = make([][]string, len(header))
	headerEnd := cr.InputOffset()

	ragged := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			if ragged < maxReported {
				errs = append(errs, fmt.Errorf("ingest: %s:%d: the row has %d fields; the header has %d%s", name, line, len(rec), len(header), splitNumberHint(rec, len(header))))
			}
			ragged++
			continue
		}
		for j, v := range rec {
			t.Cells[j] = append(t.Cells[j], v)
		}
		t.Lines = append(t.Lines, line)
		if len(t.Lines) == sizeSample && size > 0 {
			t.reserve(size, headerEnd, cr.InputOffset())
		}
	}
	if ragged > maxReported {
		errs = append(errs, fmt.Errorf("ingest: %s: and %d more rows with the wrong number of fields", name, ragged-maxReported))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// trimName trims spaces, and the byte-order marks and zero-width spaces that files
// stitched together or edited in some spreadsheets leave, from around a column name.
func trimName(h string) string {
	return strings.TrimFunc(h, func(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b' })
}

// reserve grows the columns to the row count the file size suggests, from the bytes the
// rows read so far took (between offsets start and end). The guess is capped by the most
// rows the rest of the file could hold (one byte per field), so an odd file cannot make it
// allocate much more than a table of its size needs anyway.
func (t *Table) reserve(size, start, end int64) {
	n := len(t.Lines)
	perRow := float64(end-start) / float64(n)
	rest := float64(size - end)
	guess := int(rest/perRow*1.02) + 16
	guess = min(guess, int(rest/float64(len(t.Header)))+1)
	if guess <= 0 {
		return
	}
	for j := range t.Cells {
		t.Cells[j] = slices.Grow(t.Cells[j], guess)
	}
	t.Lines = slices.Grow(t.Lines, guess)
}

// prepare drops a leading UTF-8 byte-order mark, which spreadsheet exports often write,
// and turns the CR line ends of old Mac exports into LF when the start of the input has
// CRs and no LF.
func prepare(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	head, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	if bytes.IndexByte(head, '\r') >= 0 && bytes.IndexByte(head, '\n') < 0 {
		return crToLF{br}, nil
	}
	return br, nil
}

// crToLF reads r with every CR turned into LF.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

var (
	leadingDigits  = regexp.MustCompile(`^\s*[+-]?[0-9]{1,3}$`)
	trailingDigits = regexp.MustCompile(`^[0-9]{3}(\.[0-9]*)?\s*$`)
)

// splitNumberHint explains a row with extra fields when two neighbouring fields look like
// one number cut at a thousands separator (1,234 unquoted).
func splitNumberHint(rec []string, want int) string {
	if len(rec) <= want {
		return ""
	}
	for i := 1; i < len(rec); i++ {
		if leadingDigits.MatchString(rec[i-1]) && trailingDigits.MatchString(rec[i]) {
			a, b := strings.TrimSpace(rec[i-1]), strings.TrimSpace(rec[i])
			return fmt.Sprintf(" (%s,%s looks like one number with a thousands separator: write %s%s without it)", a, b, a, b)
		}
	}
	return ""
}

// csvError reports a CSV syntax error at its line and column.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		hint := ""
		if errors.Is(pe.Err, csv.ErrBareQuote) || errors.Is(pe.Err, csv.ErrQuote) {
			hint = ` (a field holding " must be quoted as a whole, with inner quotes doubled: "12"" screen")`
		}
		return fmt.Errorf("ingest: %s:%d:%d: %w%s", name, pe.Line, pe.Column, pe.Err, hint)
	}
	return fmt.Errorf("ingest: reading %s: %w", name, err)
}

// name is the file name used in messages.
func (t *Table) name() string { return displayPath(t.Path) }

// displayPath shortens p to a path relative to the working folder when it lies below it.
func displayPath(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// Rows returns the number of data rows.
func (t *Table) Rows() int { return len(t.Lines) }

// Col returns the index of the named column, or -1.
func (t *Table) Col(name string) int {
	for j, h := range t.Header {
		if h == name && h != "" {
			return j
		}
	}
	return -1
}

// isMissing reports whether a cell holds one of the missing-value spellings.
func isMissing(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "NA", "N/A", "n/a", "#N/A", "NaN", "nan", "NAN":
		return true
	}
	return false
}

// badCell is a cell that should be a number and is not.
type badCell struct {
	line, col int
	column    string
	value     string
}

// Numeric parses a column as numbers. Missing cells (empty, NA, N/A, NaN) come back as NaN
// with missing set; Inf and -Inf parse as infinities. Cells that are not numbers are reported
// together (up to 20), each with its line and a hint for thousands separators and decimal
// commas.
func (t *Table) Numeric(name string) ([]float64, []bool, error) {
	j := t.Col(name)
	if j < 0 {
		return nil, nil, fmt.Errorf("ingest: %s has no column %q", t.name(), name)
	}
	vals, missing, bad := t.numeric(j)
	if len(bad) > 0 {
		return nil, nil, t.badCellsError(bad)
	}
	return vals, missing, nil
}

// numeric parses column j, collecting the cells that are not numbers.
func (t *Table) numeric(j int) (vals []float64, missing []bool, bad []badCell) {
	cells := t.Cells[j]
	vals = make([]float64, len(cells))
	missing = make([]bool, len(cells))
	for i, s := range cells {
		if isMissing(s) {
			vals[i], missing[i] = math.NaN(), true
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			bad = append(bad, badCell{line: t.Lines[i], col: j, column: t.Header[j], value: s})
			continue
		}
		vals[i] = v // out of range parses as ±Inf or 0, as strconv rounds it
	}
	return vals, missing, bad
}

// badCellsError reports up to maxReported bad cells, in file order.
func (t *Table) badCellsError(bad []badCell) error {
	sort.SliceStable(bad, func(a, b int) bool {
		if bad[a].line != bad[b].line {
			return bad[a].line < bad[b].line
		}
		return bad[a].col < bad[b].col
	})
	var errs []error
	for _, c := range bad[:min(len(bad), maxReported)] {
		errs = append(errs, fmt.Errorf("ingest: %s:%d: column %q: %q is not a number%s", t.name(), c.line, c.column, c.value, numberHint(c.value)))
	}
	if len(bad) > maxReported {
		errs = append(errs, fmt.Errorf("ingest: %s: and %d more cells that are not numbers", t.name(), len(bad)-maxReported))
	}
	return errors.Join(errs...)
}

var (
	thousandsComma = regexp.MustCompile(`^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$`)
	thousandsDot   = regexp.MustCompile(`^[+-]?\d{1,3}(\.\d{3}){2,}$`)
	decimalComma   = regexp.MustCompile(`^[+-]?\d*,\d+$`)
	european       = regexp.MustCompile(`^[+-]?\d{1,3}(\.\d{3})+,\d+$`)
	// thousandsOther matches 1'234 (Swiss) and 1 234 (French, also with no-break spaces).
	thousandsOther = regexp.MustCompile(`^[+-]?\d{1,3}(['’ \x{a0}\x{202f}]\d{3})+(\.\d+)?$`)
)

// numberHint suggests how to fix common number formats that are not plain numbers.
func numberHint(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case thousandsComma.MatchString(s) && decimalComma.MatchString(s):
		return fmt.Sprintf(" (if , separates thousands, write %s; if it is a decimal comma, write %s)",
			strings.ReplaceAll(s, ",", ""), strings.ReplaceAll(s, ",", "."))
	case thousandsComma.MatchString(s):
		return fmt.Sprintf(" (remove the thousands separators: %s)", strings.ReplaceAll(s, ",", ""))
	case thousandsDot.MatchString(s):
		return fmt.Sprintf(" (remove the thousands separators: %s)", strings.ReplaceAll(s, ".", ""))
	case european.MatchString(s):
		return fmt.Sprintf(" (write numbers without thousands separators and with a decimal point: %s)",
			strings.ReplaceAll(strings.ReplaceAll(s, ".", ""), ",", "."))
	case thousandsOther.MatchString(s):
		return fmt.Sprintf(" (remove the thousands separators: %s)", strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r == '.' || r == '+' || r == '-' {
				return r
			}
			return -1
		}, s))
	case decimalComma.MatchString(s):
		return fmt.Sprintf(" (use a decimal point: %s)", strings.ReplaceAll(s, ",", "."))
	}
	if trimmed := strings.TrimRight(strings.TrimLeft(s, "$€£"), "%"); trimmed != s {
		if _, err := strconv.ParseFloat(trimmed, 64); err == nil {
			return fmt.Sprintf(" (remove the currency or percent sign: %s)", trimmed)
		}
	}
	return ""
}
