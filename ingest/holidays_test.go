package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// weeklyCSV has seven Monday weeks, 2024-11-18 to 2024-12-30 (W1 … W7).
const weeklyCSV = `date,kpi,m_tv
2024-11-18,1,2
2024-11-25,2,1
2024-12-02,3,4
2024-12-09,4,3
2024-12-16,5,6
2024-12-23,6,5
2024-12-30,7,8
`

// holidayRun loads a run whose config switches holidays on with the given holiday keys
// (separated by ;), with data.csv and the calendar (testdata/holidays.csv unless calendar
// is set) beside it.
func holidayRun(t *testing.T, keys, data, calendar string) (*Spec, error) {
	return holidayRunWith(t, "kpi ~ m_tv", keys, "", data, calendar)
}

// holidayRunWith is holidayRun with a formula and extra top-level config text.
func holidayRunWith(t *testing.T, formula, keys, extra, data, calendar string) (*Spec, error) {
	t.Helper()
	if calendar == "" {
		b, err := os.ReadFile(filepath.Join("testdata", "holidays.csv"))
		if err != nil {
			t.Fatal(err)
		}
		calendar = string(b)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "holidays.csv"), []byte(calendar), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := "data: {path: data.csv, date_var: date}\nmodel: {formula: " + formula + "}\n" + extra +
		"time_components:\n  enabled: true\n  holidays:\n    enabled: true\n    calendar_path: holidays.csv\n"
	for _, k := range strings.Split(keys, ";") {
		if k = strings.TrimSpace(k); k != "" {
			yaml += "    " + k + "\n"
		}
	}
	t.Chdir(dir)
	if err := os.WriteFile("run.yaml", []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("data.csv", []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, s, err := Load("run.yaml")
	return s, err
}

// holidayColumns returns the spec's holiday terms and their columns.
func holidayColumns(s *Spec, prefix string) map[string][]float64 {
	out := map[string][]float64{}
	for k, term := range s.Terms {
		if strings.HasPrefix(term.Name, prefix) {
			out[term.Name] = s.X[k]
		}
	}
	return out
}

func TestHolidayColumns(t *testing.T) {
	// Hand-worked from testdata/holidays.csv: Black Friday Fri 2024-11-29 (W2), Advent Sunday
	// Sun 2024-12-01 (W2 with Monday weeks, W3 with Sunday weeks), Christmas Wed 2024-12-25
	// twice (W6) and 2023-12-25 (outside), Boxing Day Thu 2024-12-26 (W6), New Year Wed
	// 2025-01-01 (W7), Easter 2024-03-31 (outside: no column).
	tests := []struct {
		name, keys, data string
		want             map[string][]float64
	}{
		{"defaults: count, count_all, no window", "", weeklyCSV, map[string][]float64{
			"holiday_advent_sunday": {0, 1, 0, 0, 0, 0, 0},
			"holiday_black_friday":  {0, 1, 0, 0, 0, 0, 0},
			"holiday_boxing_day":    {0, 0, 0, 0, 0, 1, 0},
			"holiday_christmas":     {0, 0, 0, 0, 0, 2, 0},
			"holiday_new_year":      {0, 0, 0, 0, 0, 0, 1},
		}},
		{"dedupe_label_date", "overlap_policy: dedupe_label_date", weeklyCSV, map[string][]float64{
			"holiday_advent_sunday": {0, 1, 0, 0, 0, 0, 0},
			"holiday_black_friday":  {0, 1, 0, 0, 0, 0, 0},
			"holiday_boxing_day":    {0, 0, 0, 0, 0, 1, 0},
			"holiday_christmas":     {0, 0, 0, 0, 0, 1, 0},
			"holiday_new_year":      {0, 0, 0, 0, 0, 0, 1},
		}},
		// Windows: Black Friday 11-28 … 12-03 is 4 days in W2 and 2 in W3; Advent 11-30 …
		// 12-05 is 2 in W2, 4 in W3; each Christmas 12-24 … 12-29 is 6 in W6 (twice: 12);
		// Boxing Day 12-25 … 12-30 is 5 in W6, 1 in W7; New Year 12-31 … 01-05 is 6 in W7.
		{"window_before 1, window_after 4", "window_before: 1; window_after: 4", weeklyCSV, map[string][]float64{
			"holiday_advent_sunday": {0, 2, 4, 0, 0, 0, 0},
			"holiday_black_friday":  {0, 4, 2, 0, 0, 0, 0},
			"holiday_boxing_day":    {0, 0, 0, 0, 0, 5, 1},
			"holiday_christmas":     {0, 0, 0, 0, 0, 12, 0},
			"holiday_new_year":      {0, 0, 0, 0, 0, 0, 6},
		}},
		{"aggregation any", "window_before: 1; window_after: 4; aggregation_rule: any", weeklyCSV, map[string][]float64{
			"holiday_advent_sunday": {0, 1, 1, 0, 0, 0, 0},
			"holiday_black_friday":  {0, 1, 1, 0, 0, 0, 0},
			"holiday_boxing_day":    {0, 0, 0, 0, 0, 1, 1},
			"holiday_christmas":     {0, 0, 0, 0, 0, 1, 0},
			"holiday_new_year":      {0, 0, 0, 0, 0, 0, 1},
		}},
		{"week_start sunday on Sunday weeks", "week_start: sunday", shiftDates(weeklyCSV, -1), map[string][]float64{
			"holiday_advent_sunday": {0, 0, 1, 0, 0, 0, 0},
			"holiday_black_friday":  {0, 1, 0, 0, 0, 0, 0},
			"holiday_boxing_day":    {0, 0, 0, 0, 0, 1, 0},
			"holiday_christmas":     {0, 0, 0, 0, 0, 2, 0},
			"holiday_new_year":      {0, 0, 0, 0, 0, 0, 1},
		}},
		{"prefix", "prefix: h_", weeklyCSV, map[string][]float64{
			"h_advent_sunday": {0, 1, 0, 0, 0, 0, 0},
			"h_black_friday":  {0, 1, 0, 0, 0, 0, 0},
			"h_boxing_day":    {0, 0, 0, 0, 0, 1, 0},
			"h_christmas":     {0, 0, 0, 0, 0, 2, 0},
			"h_new_year":      {0, 0, 0, 0, 0, 0, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := holidayRun(t, tt.keys, tt.data, "")
			if err != nil {
				t.Fatal(err)
			}
			prefix := "holiday_"
			if strings.Contains(tt.keys, "prefix") {
				prefix = "h_"
			}
			if got := holidayColumns(s, prefix); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("holiday columns\n%v\nwant\n%v", got, tt.want)
			}
			var names []string
			for _, term := range s.Terms {
				names = append(names, term.Name)
			}
			want := []string{"(Intercept)", "m_tv", prefix + "advent_sunday", prefix + "black_friday", prefix + "boxing_day", prefix + "christmas", prefix + "new_year"}
			if !reflect.DeepEqual(names, want) {
				t.Errorf("terms %q; want %q", names, want)
			}
			lastDay := "2025-01-05" // the last day of W7
			if strings.Contains(tt.keys, "sunday") {
				lastDay = "2025-01-04"
			}
			wantWarn := []string{
				"holidays.csv: 2 event dates outside the data's weeks (" + s.Dates[0] + " to " + lastDay + ") are ignored: lines 7, 9",
				`holidays.csv: holiday "Easter" has no event day in the data's weeks, so ` + prefix + `easter would be 0 throughout; it is left out`,
			}
			if !reflect.DeepEqual(s.Warnings, wantWarn) {
				t.Errorf("warnings\n%q\nwant\n%q", s.Warnings, wantWarn)
			}
		})
	}
}

// shiftDates moves every ISO date of csv by days.
func shiftDates(csv string, days int) string {
	lines := strings.Split(csv, "\n")
	for i, l := range lines[1:] {
		if l == "" {
			continue
		}
		var y, m, d int
		fmt.Sscanf(l[:10], "%d-%d-%d", &y, &m, &d)
		lines[i+1] = fmt.Sprintf("%04d-%02d-%02d", y, m, d+days) + l[10:]
	}
	return strings.Join(lines, "\n")
}

func TestHolidayOptions(t *testing.T) {
	t.Run("priors and bounds name holiday terms", func(t *testing.T) {
		s, err := holidayRunWith(t, "kpi ~ m_tv", "",
			"priors:\n  overrides:\n    - {parameter: holiday_christmas, mean: 1, sd: 0.5}\nboundaries:\n  overrides:\n    - {parameter: holiday_black_friday, lower: 0}\n",
			weeklyCSV, "date,holiday\n2024-12-25,Christmas\n2024-11-29,Black Friday\n")
		if err != nil {
			t.Fatal(err)
		}
		// Terms: (Intercept), m_tv, holiday_black_friday, holiday_christmas.
		if p := s.Priors[3]; s.Terms[3].Name != "holiday_christmas" || p.Mean != 1 || p.SD != 0.5 {
			t.Errorf("%s prior %+v; want normal(1, 0.5)", s.Terms[3].Name, p)
		}
		if b := s.Bounds[2]; s.Terms[2].Name != "holiday_black_friday" || b.Lower != 0 {
			t.Errorf("%s bound %+v; want lower 0", s.Terms[2].Name, b)
		}
		// A holiday the calendar does not have.
		_, err = holidayRunWith(t, "kpi ~ m_tv", "", "priors:\n  overrides:\n    - {parameter: holiday_xmas, mean: 1, sd: 0.5}\n",
			weeklyCSV, "date,holiday\n2024-12-25,Christmas\n")
		want := "ingest: run.yaml:5:8: `priors.overrides[0].parameter` is \"holiday_xmas\", which is not a coefficient of the model (its coefficients: (Intercept), m_tv, holiday_christmas)"
		if err == nil || err.Error() != want {
			t.Errorf("error = %v; want %s", err, want)
		}
	})
	t.Run("use_defaults false needs priors on holiday terms", func(t *testing.T) {
		_, err := holidayRunWith(t, "kpi ~ m_tv", "",
			"priors:\n  use_defaults: false\n  overrides:\n    - {parameter: (Intercept), mean: 0, sd: 1}\n    - {parameter: m_tv, mean: 0, sd: 1}\n    - {parameter: noise_sd, mean: 0, sd: 1}\n    - {parameter: holiday_christmas, mean: 0, sd: 1}\n",
			weeklyCSV, "date,holiday\n2024-12-25,Christmas\n2024-11-29,Black Friday\n")
		want := "ingest: run.yaml:4:3: `priors.use_defaults` is false, so every parameter needs a prior in `priors.overrides`; missing: holiday_black_friday"
		if err == nil || err.Error() != want {
			t.Errorf("error = %v; want %s", err, want)
		}
	})
	t.Run("add_to_formula false keeps the columns for the formula to name", func(t *testing.T) {
		s, err := holidayRun(t, "add_to_formula: false", weeklyCSV, "date,holiday\n2024-12-25,Christmas\n2024-11-29,Black Friday\n")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Terms) != 2 {
			t.Errorf("terms %v; want only (Intercept) and m_tv", s.Terms)
		}
		yaml, _ := os.ReadFile("run.yaml")
		os.WriteFile("run.yaml", []byte(strings.Replace(string(yaml), "kpi ~ m_tv", "kpi ~ m_tv + holiday_christmas", 1)), 0o644)
		_, s, err = Load("run.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Terms) != 3 || !reflect.DeepEqual(s.X[2], []float64{0, 0, 0, 0, 0, 1, 0}) {
			t.Errorf("terms %v, X %v; want holiday_christmas in W6", s.Terms, s.X)
		}
	})
	t.Run("overwrite_existing replaces a data column", func(t *testing.T) {
		data := strings.Replace(weeklyCSV, "m_tv\n", "m_tv,holiday_christmas\n", 1)
		data = strings.ReplaceAll(data, "\n2024", ",9\n2024")
		data = strings.TrimSuffix(data, "\n") + ",9\n"
		data = strings.Replace(data, "m_tv,holiday_christmas,9", "m_tv,holiday_christmas", 1)
		s, err := holidayRun(t, "overwrite_existing: true", data, "date,holiday\n2024-12-25,Christmas\n")
		if err != nil {
			t.Fatal(err)
		}
		if got := holidayColumns(s, "holiday_"); !reflect.DeepEqual(got["holiday_christmas"], []float64{0, 0, 0, 0, 0, 1, 0}) {
			t.Errorf("holiday_christmas %v; want the generated column", got)
		}
		_, err = holidayRun(t, "", data, "date,holiday\n2024-12-25,Christmas\n")
		want := `ingest: holidays.csv:2: the holiday "Christmas" makes the column "holiday_christmas", which data.csv already has; rename the data column, change ` +
			"`time_components.holidays.prefix`, or set `time_components.holidays.overwrite_existing: true` to replace it"
		if err == nil || err.Error() != want {
			t.Errorf("error = %v; want %s", err, want)
		}
	})
	t.Run("date_format and timezone", func(t *testing.T) {
		// 23:30 UTC on 24 December is 25 December in Berlin.
		s, err := holidayRun(t, "date_format: \"%d/%m/%Y %H:%M %z\"; timezone: Europe/Berlin", weeklyCSV,
			"date,holiday\n24/12/2024 23:30 +0000,Christmas\n29/11/2024 00:00 +0000,Black Friday\n")
		if err != nil {
			t.Fatal(err)
		}
		got := holidayColumns(s, "holiday_")
		if !reflect.DeepEqual(got["holiday_christmas"], []float64{0, 0, 0, 0, 0, 1, 0}) {
			t.Errorf("holiday_christmas %v", got["holiday_christmas"])
		}
		// 23:30 UTC on Sunday 1 December is Monday 2 December in Berlin: W3, not W2.
		s, err = holidayRun(t, "timezone: Europe/Berlin", weeklyCSV, "ds,holiday\n2024-12-01T23:30:00Z,Advent\n2024-12-25,Christmas\n")
		if err != nil {
			t.Fatal(err)
		}
		if got := holidayColumns(s, "holiday_")["holiday_advent"]; !reflect.DeepEqual(got, []float64{0, 0, 1, 0, 0, 0, 0}) {
			t.Errorf("holiday_advent %v; want W3", got)
		}
	})
	t.Run("panel: a market column restricts events", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("date,kpi,m_tv,market\n")
		for _, m := range []string{"north", "south"} {
			for _, l := range strings.Split(strings.TrimSpace(weeklyCSV), "\n")[1:] {
				b.WriteString(l + "," + m + "\n")
			}
		}
		s, err := holidayRunWith(t, "kpi ~ m_tv + (1 | market)", "", "", b.String(),
			"date,holiday,market\n2024-12-25,Christmas,\n2024-11-29,Black Friday,north\n")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]float64{
			"holiday_black_friday": {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			"holiday_christmas":    {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0},
		}
		if got := holidayColumns(s, "holiday_"); !reflect.DeepEqual(got, want) {
			t.Errorf("holiday columns\n%v\nwant\n%v", got, want)
		}
	})
}

func TestHolidayErrors(t *testing.T) {
	tests := []struct{ name, keys, data, calendar, wantErr string }{
		{"a date that does not parse", "", weeklyCSV, "date,holiday\n2024-12-25,Christmas\n2024-13-01,Odd\n25/12/2024,Christmas\n",
			"ingest: holidays.csv:3: column \"date\": \"2024-13-01\" is not a date in ISO 8601 (YYYY-MM-DD); set `time_components.holidays.date_format` to the calendar's format, e.g. \"%d/%m/%Y\"\n" +
				"ingest: holidays.csv:4: column \"date\": \"25/12/2024\" is not a date in ISO 8601 (YYYY-MM-DD); set `time_components.holidays.date_format` to the calendar's format, e.g. \"%d/%m/%Y\""},
		{"a date not in date_format", "date_format: \"%d/%m/%Y\"", weeklyCSV, "date,holiday\n25/12/2024,Christmas\n2024-11-29,Black Friday\n",
			"ingest: holidays.csv:3: column \"date\": \"2024-11-29\" is not a date in time_components.holidays.date_format \"%d/%m/%Y\""},
		{"an empty label", "", weeklyCSV, "date,holiday\n2024-12-25,\n",
			"ingest: holidays.csv:2: column \"holiday\" (the label) is empty; every event needs a label"},
		{"two labels, one column", "", weeklyCSV, "date,holiday\n2024-12-26,Boxing Day\n2025-12-26,boxing-day\n",
			"ingest: holidays.csv:3: the labels \"Boxing Day\" (line 2) and \"boxing-day\" both make the column \"holiday_boxing_day\"; rename one"},
		{"no date column", "", weeklyCSV, "day,holiday\n2024-12-25,Christmas\n",
			"ingest: holidays.csv:1: no date column: the calendar needs a column named date, ds or event_date, or set `time_components.holidays.date_col` (its columns: day, holiday)"},
		{"label_col not in the calendar", "label_col: name", weeklyCSV, "date,holiday\n2024-12-25,Christmas\n",
			"ingest: run.yaml:8:5: `time_components.holidays.label_col` is \"name\", which is not a column of holidays.csv (its columns: date, holiday)"},
		{"data not weekly", "", strings.Replace(weeklyCSV, "2024-12-09", "2024-12-10", 1), "date,holiday\n2024-12-25,Christmas\n",
			"ingest: data.csv:4 and 5: column \"date\" (data.date_var) steps from 2024-12-02 to 2024-12-10, 8 days; managed holidays need weekly data (one row per week and group)"},
		{"data weeks on another weekday", "week_start: sunday", weeklyCSV, "date,holiday\n2024-12-25,Christmas\n",
			"ingest: data.csv:2: column \"date\" (data.date_var) is 2024-11-18, a Monday, but `time_components.holidays.week_start` is sunday; the data's dates must be the weeks' first days: set week_start: monday"},
		{"bad settings", "week_start: mon; timezone: Mars/Olympus; prefix: 1h; window_before: -1; aggregation_rule: sum; overlap_policy: none", weeklyCSV, "date,holiday\n2024-12-25,Christmas\n",
			"ingest: run.yaml:8:5: `time_components.holidays.week_start` is \"mon\"; must be a weekday: sunday, monday, tuesday, wednesday, thursday, friday, saturday\n" +
				"ingest: run.yaml:9:5: `time_components.holidays.timezone` is \"Mars/Olympus\", which is not a time zone (use an IANA name such as UTC or Europe/London)\n" +
				"ingest: run.yaml:10:5: `time_components.holidays.prefix` is \"1h\"; must start with a letter and hold only letters, digits, . and _\n" +
				"ingest: run.yaml:11:5: `time_components.holidays.window_before` is -1; must be between 0 and 366 days\n" +
				"ingest: run.yaml:12:5: `time_components.holidays.aggregation_rule` is \"sum\"; must be one of count, any\n" +
				"ingest: run.yaml:13:5: `time_components.holidays.overlap_policy` is \"none\"; must be one of count_all, dedupe_label_date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := holidayRun(t, tt.keys, tt.data, tt.calendar)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Load error =\n%v\nwant\n%s", err, tt.wantErr)
			}
		})
	}
	t.Run("a market the data lacks", func(t *testing.T) {
		data := strings.ReplaceAll(strings.Replace(weeklyCSV, "m_tv\n", "m_tv,market\n", 1), "\n2024", ",north\n2024")
		data = strings.Replace(data, "m_tv,north,market", "m_tv,market", 1)
		data = strings.TrimSuffix(data, "\n") + ",north\n"
		data = strings.Replace(data, "date,kpi,m_tv,market,north", "date,kpi,m_tv,market", 1)
		_, err := holidayRunWith(t, "kpi ~ m_tv + (1 | market)", "", "", data, "date,holiday,market\n2024-12-25,Christmas,nrth\n")
		want := "ingest: holidays.csv:2: column \"market\" is \"nrth\", which is not a market of data.csv; the event would apply to no row"
		if err == nil || err.Error() != want {
			t.Errorf("error = %v; want %s", err, want)
		}
	})
	t.Run("no calendar file, no date_var", func(t *testing.T) {
		t.Chdir(t.TempDir())
		os.WriteFile("data.csv", []byte(weeklyCSV), 0o644)
		_, err := ParseConfig([]byte("data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\ntime_components:\n  enabled: true\n  holidays: {enabled: true, calendar_path: cal.csv}\n"), "run.yaml")
		dir, _ := os.Getwd()
		want := "ingest: run.yaml:5:14: `time_components.holidays.enabled` is true but `data.date_var` is not set; holidays are joined to the data by week, so name the date column\n" +
			"ingest: run.yaml:5:29: holiday calendar \"cal.csv\" not found (`time_components.holidays.calendar_path` is resolved against the config's folder " + dir + ")"
		if err == nil || err.Error() != want {
			t.Errorf("error = %v; want %s", err, want)
		}
	})
}
