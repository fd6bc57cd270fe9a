package ingest

import (
	"strings"
	"testing"
)

// longCSV is a long-layout file: two markets × two weeks of kpi and m_tv, listed variable
// by variable.
const longCSV = `market,date,variable,value
north,2024-01-01,kpi,1
north,2024-01-08,kpi,2
south,2024-01-01,kpi,3
south,2024-01-08,kpi,4
north,2024-01-01,m_tv,10
north,2024-01-08,m_tv,20
south,2024-01-01,m_tv,30
south,2024-01-08,m_tv,41
`

const longYAML = "data:\n  path: data.csv\n  format: long\n  date_var: date\n  long_id_col: market\n  long_variable_col: variable\n  long_value_col: value\nmodel: {formula: kpi ~ m_tv}\n"

func TestPivotLong(t *testing.T) {
	_, s, err := runIn(t, longYAML, longCSV)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := LoadData(mustConfig(t, "run.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tab.Header, ","); got != "market,date,kpi,m_tv" {
		t.Errorf("header %s; want market,date,kpi,m_tv", got)
	}
	want := [][]string{{"north", "north", "south", "south"}, {"2024-01-01", "2024-01-08", "2024-01-01", "2024-01-08"}, {"1", "2", "3", "4"}, {"10", "20", "30", "41"}}
	for j := range want {
		if strings.Join(tab.Cells[j], " ") != strings.Join(want[j], " ") {
			t.Errorf("column %s = %q; want %q", tab.Header[j], tab.Cells[j], want[j])
		}
	}
	if got := s.Lines; len(got) != 4 || got[0] != 2 || got[3] != 5 {
		t.Errorf("lines %v; want the first long line of each (id, date): 2 3 4 5", got)
	}
	if s.X[1][3] != 41 || s.Y[2] != 3 {
		t.Errorf("design %v, y %v", s.X, s.Y)
	}
}

func mustConfig(t *testing.T, path string) *Config {
	t.Helper()
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLongErrors(t *testing.T) {
	tests := []struct{ name, yaml, csv, wantErr string }{
		{"a repeated (id, date, variable)", longYAML,
			longCSV + "south,2024-01-08,m_tv,42\nnorth,2024-01-01,kpi,1\n",
			"ingest: data.csv:10: market \"south\", date 2024-01-08, variable \"m_tv\" appears again (first at line 9); long data needs one row per id, date and variable\n" +
				"ingest: data.csv:11: market \"north\", date 2024-01-01, variable \"kpi\" appears again (first at line 2); long data needs one row per id, date and variable"},
		{"a missing cell with na_action error", strings.Replace(longYAML, "  format: long\n", "  format: long\n  na_action: error\n", 1),
			strings.Replace(longCSV, "south,2024-01-08,m_tv,41\n", "", 1),
			"ingest: data.csv:5: column \"m_tv\" is missing (\"NA\")\n" +
				"ingest: run.yaml:4:3: `data.na_action` is error, so missing values in the model's columns are not allowed; fill them in, or set na_action: omit to drop those rows"},
		{"empty id and variable", longYAML, longCSV + ",2024-01-15,kpi,5\nnorth,2024-01-15,,5\n",
			"ingest: data.csv:10: column \"market\" (data.long_id_col) is empty; every row of long data needs its id\n" +
				"ingest: data.csv:11: column \"variable\" (data.long_variable_col) is empty; every row of long data names its variable"},
		{"a column the file lacks", strings.Replace(longYAML, "long_value_col: value", "long_value_col: val", 1), longCSV,
			"ingest: run.yaml:7:3: `data.long_value_col` is \"val\", which is not a column of data.csv (its columns: market, date, variable, value)"},
		{"keys missing and repeated", "data:\n  path: data.csv\n  format: long\n  long_id_col: market\n  long_variable_col: market\nmodel: {formula: kpi ~ m_tv}\n", longCSV,
			"ingest: run.yaml:3:3: `data.format` is long but `data.long_value_col` is not set; long data needs data.long_id_col, data.long_variable_col, data.long_value_col, data.date_var\n" +
				"ingest: run.yaml:3:3: `data.format` is long but `data.date_var` is not set; long data needs data.long_id_col, data.long_variable_col, data.long_value_col, data.date_var\n" +
				"ingest: run.yaml:5:3: `data.long_id_col` and `data.long_variable_col` are both \"market\"; the four columns of long data must differ"},
		{"long keys on a wide file", "data:\n  path: data.csv\n  long_id_col: market\nmodel: {formula: kpi ~ m_tv}\n", sampleCSV,
			"ingest: run.yaml:3:3: `data.long_id_col` is set but `data.format` is csv; set `data.format: long` for data with one row per id, date and variable, or remove it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runIn(t, tt.yaml, tt.csv)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Load error =\n%v\nwant\n%s", err, tt.wantErr)
			}
		})
	}
	t.Run("a missing cell with na_action omit", func(t *testing.T) {
		_, s, err := runIn(t, longYAML, strings.Replace(longCSV, "south,2024-01-08,m_tv,41\n", "", 1))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			`data.csv (long, 7 rows pivoted to 4): 1 (id, date) has no row for variable "m_tv" at lines 5; it counts as a missing value`,
			"dropped 1 of 4 rows with missing values (data.na_action: omit): lines 5",
		}
		if strings.Join(s.Warnings, "\n") != strings.Join(want, "\n") || s.N != 3 {
			t.Errorf("N %d, warnings\n%q\nwant 3 rows and\n%q", s.N, s.Warnings, want)
		}
	})
}
