package ingest

import (
	"strings"
	"testing"
)

func TestAmbiguousDates(t *testing.T) {
	slashed := func(dates ...string) string {
		var b strings.Builder
		b.WriteString("date,kpi,m_tv\n")
		for i, d := range dates {
			b.WriteString(d + "," + string(rune('1'+i)) + "," + string(rune('2'+i)) + "\n")
		}
		return b.String()
	}
	const noFormat = "data: {path: data.csv, date_var: date}\nmodel: {formula: kpi ~ m_tv}\n"
	ambiguous := `ingest: data.csv:2: column "date" (data.date_var): "03/04/2024" reads as 3 April 2024 (DD/MM/YYYY) or as 4 March 2024 (MM/DD/YYYY), and no date of the column is past the 12th to tell which; set ` + "`data.date_format`" + ` to "%d/%m/%Y" or "%m/%d/%Y"`
	tests := []struct{ name, yaml, csv, wantErr string }{
		{"every day and month at most 12", noFormat, slashed("03/04/2024", "03/05/2024", "03/06/2024"), ambiguous},
		{"monthly on the first, one digit", noFormat, slashed("1/2/2024", "1/3/2024", "1/4/2024"),
			`ingest: data.csv:2: column "date" (data.date_var): "1/2/2024" reads as 1 February 2024 (DD/MM/YYYY) or as 2 January 2024 (MM/DD/YYYY), and no date of the column is past the 12th to tell which; set ` + "`data.date_format`" + ` to "%d/%m/%Y" or "%m/%d/%Y"`},
		{"a dropped row is not named", noFormat, strings.Replace(slashed("NA", "03/04/2024", "03/05/2024"), "NA,1", "NA,1", 1),
			strings.Replace(ambiguous, "data.csv:2:", "data.csv:3:", 1)},
		{"a day past the 12th tells day-first", noFormat, slashed("03/04/2024", "13/04/2024", "23/04/2024"), ""},
		{"a day past the 12th tells month-first, one digit", noFormat, slashed("1/8/2024", "1/15/2024", "1/22/2024"), ""},
		{"data.date_format decides", "data: {path: data.csv, date_var: date, date_format: \"%m/%d/%Y\"}\nmodel: {formula: kpi ~ m_tv}\n",
			slashed("03/04/2024", "03/05/2024"), ""},
		{"ISO dates are never ambiguous", noFormat, slashed("2024-03-04", "2024-04-03"), ""},
		{"month-first with one ISO date", noFormat, slashed("1/8/2024", "1/15/2024", "2024-01-22"),
			`ingest: data.csv:4: column "date" (data.date_var): "2024-01-22" is not a date in the format of the other rows (MM/DD/YYYY)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runIn(t, tt.yaml, tt.csv)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Load error = %v; want none", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Load error =\n%v\nwant\n%s", err, tt.wantErr)
			}
		})
	}
	t.Run("holidays read the same dates", func(t *testing.T) {
		_, err := holidayRun(t, "", slashed("02/12/2024", "09/12/2024"), "date,holiday\n2024-12-25,Christmas\n")
		want := `ingest: data.csv:2: column "date" (data.date_var): "02/12/2024" reads as 2 December 2024 (DD/MM/YYYY) or as 12 February 2024 (MM/DD/YYYY), and no date of the column is past the 12th to tell which; set ` + "`data.date_format`" + ` to "%d/%m/%Y" or "%m/%d/%Y"`
		if err == nil || err.Error() != want {
			t.Errorf("error = %v; want %s", err, want)
		}
	})
}
