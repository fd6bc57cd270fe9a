package ingest

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// The odd-data tests load whole runs (config + CSV) and check each behaviour the package
// doc promises under "Data": what is accepted, what counts as missing, and what is refused
// with which message.

const oddYAML = "data: {path: data.csv, na_action: %s}\nmodel: {formula: 'kpi ~ m_tv'}\n"

func oddRun(t *testing.T, naAction, csv string) (*Spec, error) {
	t.Helper()
	_, spec, err := runIn(t, strings.Replace(oddYAML, "%s", naAction, 1), csv)
	return spec, err
}

func TestOddLineEndingsAndBOM(t *testing.T) {
	want := [][]float64{{1, 1, 1}, {10, 20, 30.5}}
	for name, csv := range map[string]string{
		"LF":             "kpi,m_tv\n1,10\n2,20\n3,30.5\n",
		"CRLF":           "kpi,m_tv\r\n1,10\r\n2,20\r\n3,30.5\r\n",
		"CR only":        "kpi,m_tv\r1,10\r2,20\r3,30.5\r",
		"BOM and CRLF":   "\xef\xbb\xbfkpi,m_tv\r\n1,10\r\n2,20\r\n3,30.5",
		"BOM, quoted":    "\xef\xbb\xbf\"kpi\",\"m_tv\"\n\"1\",\"10\"\n\"2\",\"20\"\n\"3\",\"30.5\"\n",
		"spaces, blanks": " kpi , m_tv \n\n1, 10\n2 ,20 \n\n3,30.5\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			spec, err := oddRun(t, "error", csv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.Y, []float64{1, 2, 3}) || !reflect.DeepEqual(spec.X, want) {
				t.Errorf("y = %v, X = %v; want [1 2 3], %v", spec.Y, spec.X, want)
			}
		})
	}
}

func TestOddQuotedFields(t *testing.T) {
	csv := "kpi,\"tv, \"\"big\"\" spend\",note\n" +
		"1,10,\"north, \"\"east\"\"\"\n" +
		"2,\"20\",\"two\nlines\"\n" +
		"3,30,x\n"
	_, spec, err := runIn(t, "data: {path: data.csv}\nmodel: {formula: 'kpi ~ `tv, \"big\" spend`'}\n", csv)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Terms[1].Name != `tv, "big" spend` || !reflect.DeepEqual(spec.X[1], []float64{10, 20, 30}) {
		t.Errorf("terms %v, X %v", spec.Terms, spec.X)
	}
	// The quoted line break makes row 3 start on line 5.
	if !reflect.DeepEqual(spec.Lines, []int{2, 3, 5}) {
		t.Errorf("lines = %v; want [2 3 5]", spec.Lines)
	}
}

func TestOddMissingCells(t *testing.T) {
	csv := "kpi,m_tv\n1,10\n2,\n3,NA\n4,N/A\n5,#N/A\n6, NaN \n7,nan\n8,n/a\nNA,90\n10,100\n11,110\n"
	spec, err := oddRun(t, "omit", csv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(spec.Y, []float64{1, 10, 11}) || spec.Dropped != 8 {
		t.Errorf("y = %v, dropped %d; want [1 10 11], 8", spec.Y, spec.Dropped)
	}
	if w := "dropped 8 of 11 rows with missing values (data.na_action: omit): lines 3, 4, 5, 6, 7, 8, 9, 10"; len(spec.Warnings) == 0 || spec.Warnings[0] != w {
		t.Errorf("warnings = %q; want %q", spec.Warnings, w)
	}

	_, err = oddRun(t, "error", csv)
	want := `ingest: data.csv:3: column "m_tv" is missing ("")
ingest: data.csv:4: column "m_tv" is missing ("NA")
ingest: data.csv:5: column "m_tv" is missing ("N/A")
ingest: data.csv:6: column "m_tv" is missing ("#N/A")
ingest: data.csv:7: column "m_tv" is missing (" NaN ")
ingest: data.csv:8: column "m_tv" is missing ("nan")
ingest: data.csv:9: column "m_tv" is missing ("n/a")
ingest: data.csv:10: column "kpi" is missing ("NA")
ingest: run.yaml:1:24: ` + "`data.na_action` is error, so missing values in the model's columns are not allowed; fill them in, or set na_action: omit to drop those rows"
	if err == nil || err.Error() != want {
		t.Errorf("na_action error:\n%v\nwant\n%s", err, want)
	}
}

func TestOddInfinities(t *testing.T) {
	// Inf, -Inf and out-of-range numbers parse as infinities and are kept: BuildSpec leaves
	// non-finite values to the data checks and codegen, which refuse them with the line.
	spec, err := oddRun(t, "error", "kpi,m_tv\n1,Inf\n2,-inf\n3,+Infinity\n4,1e999\n5,5\n")
	if err != nil {
		t.Fatal(err)
	}
	inf := math.Inf(1)
	if got := spec.X[1]; !reflect.DeepEqual(got, []float64{inf, -inf, inf, inf, 5}) {
		t.Errorf("m_tv = %v; want [+Inf -Inf +Inf +Inf 5]", got)
	}
}

func TestOddDuplicateColumns(t *testing.T) {
	_, err := oddRun(t, "omit", "kpi,m_tv, kpi ,m_tv\n1,2,3,4\n")
	want := "ingest: data.csv:1: column \"kpi\" appears twice (columns 1 and 3); rename one\n" +
		"ingest: data.csv:1: column \"m_tv\" appears twice (columns 2 and 4); rename one"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant\n%s", err, want)
	}
}

func TestOddThousandsSeparators(t *testing.T) {
	for _, tc := range []struct{ name, csv, want string }{
		{"quoted comma", "kpi,m_tv\n1,\"1,234\"\n2,5\n",
			`ingest: data.csv:2: column "m_tv": "1,234" is not a number (if , separates thousands, write 1234; if it is a decimal comma, write 1.234)`},
		{"quoted commas and point", "kpi,m_tv\n1,\"1,234,567.5\"\n2,5\n",
			`ingest: data.csv:2: column "m_tv": "1,234,567.5" is not a number (remove the thousands separators: 1234567.5)`},
		{"points", "kpi,m_tv\n1,1.234.567\n2,5\n",
			`ingest: data.csv:2: column "m_tv": "1.234.567" is not a number (remove the thousands separators: 1234567)`},
		{"apostrophe", "kpi,m_tv\n1,1'234\n2,5\n",
			`ingest: data.csv:2: column "m_tv": "1'234" is not a number (remove the thousands separators: 1234)`},
		{"unquoted comma splits the row", "kpi,m_tv\n1,1,234\n2,5\n",
			`ingest: data.csv:2: the row has 3 fields; the header has 2 (1,234 looks like one number with a thousands separator: write 1234 without it)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oddRun(t, "omit", tc.csv)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n%v\nwant\n%s", err, tc.want)
			}
		})
	}
}

func TestOddOtherSeparators(t *testing.T) {
	for sep, want := range map[string]string{
		";":  `ingest: data.csv:1: the header is one column, "kpi;m_tv"; the file looks separated by ";", but dsamstan reads comma-separated CSV (export as "CSV (comma delimited)")`,
		"\t": `ingest: data.csv:1: the header is one column, "kpi\tm_tv"; the file looks separated by "\t", but dsamstan reads comma-separated CSV (export as "CSV (comma delimited)")`,
	} {
		_, err := oddRun(t, "omit", "kpi"+sep+"m_tv\n1"+sep+"2\n")
		if err == nil || err.Error() != want {
			t.Errorf("separator %q: error\n%v\nwant\n%s", sep, err, want)
		}
	}
}
