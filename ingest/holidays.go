package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Managed holidays (time_components.holidays, when it and time_components are enabled), as
// DSAMbayes generates them: every event of a calendar CSV, widened by window_before days
// before and window_after days after, is bucketed day by day into the week that starts on
// week_start and holds it, and counted per label and week; aggregation_rule any turns the
// count into a 0/1 indicator, overlap_policy dedupe_label_date counts a label's repeated
// (label, date) calendar rows once. Each label becomes one column, prefix + slug of the label
// (Black Friday: holiday_black_friday), joined to the data on data.date_var, whose dates must
// be week starts. With add_to_formula the columns are appended to the formula's population
// terms: ordinary terms with default priors and bounds, which priors.overrides may name.
//
// Panels: an event applies to every group, unless the calendar has a column named like a
// grouping column of the formula (market), whose value then restricts the event to the rows
// of that group (empty: every group).

// Holiday settings' allowed values.
var (
	aggregationRules = []string{"count", "any"}
	overlapPolicies  = []string{"count_all", "dedupe_label_date"}
	weekdays         = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
	calendarDateCols = []string{"date", "ds", "event_date"}
)

// holidaysOn reports whether holiday columns are generated.
func (c *Config) holidaysOn() bool {
	tc := c.TimeComponents
	return tc != nil && tc.Enabled && tc.Holidays.Enabled
}

// holidayDefaults fills the holiday settings' defaults and resolves calendar_path against
// the config's folder.
func (c *Config) holidayDefaults() {
	if c.TimeComponents == nil {
		return
	}
	h := &c.TimeComponents.Holidays
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&h.LabelCol, "holiday")
	def(&h.WeekStart, "monday")
	def(&h.Timezone, "UTC")
	def(&h.Prefix, "holiday_")
	def(&h.AggregationRule, "count")
	def(&h.OverlapPolicy, "count_all")
	if h.AddToFormula == nil {
		h.AddToFormula = new(bool)
		*h.AddToFormula = true
	}
	h.calendarWritten = h.CalendarPath
	if h.CalendarPath != "" && !filepath.IsAbs(h.CalendarPath) {
		h.CalendarPath = filepath.Join(c.Dir, h.CalendarPath)
	}
}

// validateHolidays checks the holiday settings when holidays are generated.
func (c *Config) validateHolidays(v *validator) {
	if !c.holidaysOn() {
		return
	}
	h := c.TimeComponents.Holidays
	const key = "time_components.holidays."
	written := h.calendarWritten
	if written == "" {
		written = h.CalendarPath
	}
	if h.CalendarPath == "" {
		v.add(key+"enabled", "`time_components.holidays.enabled` is true but `time_components.holidays.calendar_path` is not set; name the holiday calendar CSV (relative to the config's folder)")
	} else if st, err := os.Stat(h.CalendarPath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			v.add(key+"calendar_path", "holiday calendar %q not found (`time_components.holidays.calendar_path` is resolved against the config's folder %s)", written, c.Dir)
		} else {
			v.add(key+"calendar_path", "holiday calendar %q: %v", written, err)
		}
	} else if st.IsDir() {
		v.add(key+"calendar_path", "holiday calendar %q is a folder; `time_components.holidays.calendar_path` must name a CSV file", written)
	}
	if c.Data.DateVar == "" {
		v.add(key+"enabled", "`time_components.holidays.enabled` is true but `data.date_var` is not set; holidays are joined to the data by week, so name the date column")
	}
	if !slices.Contains(weekdays, strings.ToLower(h.WeekStart)) {
		v.add(key+"week_start", "`time_components.holidays.week_start` is %q; must be a weekday: %s", h.WeekStart, strings.Join(weekdays, ", "))
	}
	if _, err := time.LoadLocation(h.Timezone); err != nil {
		v.add(key+"timezone", "`time_components.holidays.timezone` is %q, which is not a time zone (use an IANA name such as UTC or Europe/London)", h.Timezone)
	}
	if !isName(h.Prefix + "x") {
		v.add(key+"prefix", "`time_components.holidays.prefix` is %q; must start with a letter and hold only letters, digits, . and _", h.Prefix)
	}
	for _, w := range []struct {
		name string
		n    int
	}{{"window_before", h.WindowBefore}, {"window_after", h.WindowAfter}} {
		if w.n < 0 || w.n > 366 {
			v.add(key+w.name, "`time_components.holidays.%s` is %d; must be between 0 and 366 days", w.name, w.n)
		}
	}
	v.enum(key+"aggregation_rule", h.AggregationRule, aggregationRules)
	v.enum(key+"overlap_policy", h.OverlapPolicy, overlapPolicies)
	if h.DateFormat != "" {
		if _, err := DateLayout(h.DateFormat); err != nil {
			v.add(key+"date_format", "`time_components.holidays.date_format` is %q: %v", h.DateFormat, err)
		}
	}
}

// LoadData reads the data a config names (data.path) and prepares it for BuildSpec: long
// data (data.format long) is pivoted to one column per variable, and the managed holiday
// columns are added when time_components.holidays is enabled. The
// returned table is what the model sees; the file is not changed.
func LoadData(cfg *Config) (*Table, error) {
	t, err := LoadCSV(cfg.Data.Path)
	if err != nil {
		return nil, err
	}
	return cfg.prepareTable(t)
}

// prepareTable returns t with the config's managed columns added (t itself when there are
// none); BuildSpec calls it on a table LoadData did not prepare.
func (c *Config) prepareTable(t *Table) (*Table, error) {
	if t.prepared {
		return t, nil
	}
	out := *t
	if c.Data.Format == "long" {
		w, err := c.pivotLong(t)
		if err != nil {
			return nil, err
		}
		out = *w
	}
	out.prepared = true
	if c.holidaysOn() {
		if err := c.addHolidays(&out); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

// calendarEvent is one row of the holiday calendar.
type calendarEvent struct {
	label string
	day   time.Time // the event's date, at 00:00 UTC
	line  int
	group map[string]string // grouping column -> value, for events restricted to a group
}

// addHolidays adds the holiday columns to t (a shallow copy: its column slices are
// replaced, never written to).
func (c *Config) addHolidays(t *Table) error {
	h := c.TimeComponents.Holidays
	f, err := ParseFormula(c.Model.Formula)
	if err != nil {
		return err // Validate parsed it
	}
	cal, err := LoadCSV(h.CalendarPath)
	if err != nil {
		return err
	}
	events, err := c.readCalendar(cal, f, t)
	if err != nil {
		return err
	}
	weeks, err := c.dataWeeks(t)
	if err != nil {
		return err
	}
	cols, err := c.holidayColumns(cal, events)
	if err != nil {
		return err
	}
	if h.OverlapPolicy == "dedupe_label_date" {
		events = dedupeEvents(events)
	}
	counts := c.countHolidays(t, cal, events, weeks)

	t.Header = slices.Clone(t.Header)
	t.Cells = slices.Clone(t.Cells)
	for _, col := range cols {
		total := 0
		for _, n := range counts[col.name] {
			total += n
		}
		if total == 0 {
			t.warnings = append(t.warnings, fmt.Sprintf("%s: holiday %q has no event day in the data's weeks, so %s would be 0 throughout; it is left out", cal.name(), col.label, show(col.name)))
			continue
		}
		cells := make([]string, t.Rows())
		for i, n := range counts[col.name] {
			switch {
			case weeks.missing[i]:
				cells[i] = "NA"
			case h.AggregationRule == "any" && n > 0:
				cells[i] = "1"
			default:
				cells[i] = strconv.Itoa(n)
			}
		}
		if j := t.Col(col.name); j >= 0 {
			if !h.OverwriteExisting {
				return fmt.Errorf("ingest: %s:%d: the holiday %q makes the column %q, which %s already has; rename the data column, change `time_components.holidays.prefix`, or set `time_components.holidays.overwrite_existing: true` to replace it",
					cal.name(), col.line, col.label, col.name, t.name())
			}
			t.Cells[j] = cells
		} else {
			t.Header = append(t.Header, col.name)
			t.Cells = append(t.Cells, cells)
		}
		if *h.AddToFormula && !slices.Contains(f.Terms, col.name) {
			t.managed = append(t.managed, col.name)
		}
	}
	return nil
}

// holidayColumn is the column of one holiday label.
type holidayColumn struct {
	label, name string
	line        int // the label's first line in the calendar
}

// holidayColumns names the column of each label, sorted by name, and refuses two labels
// that give one name and a label with nothing to name its column.
func (c *Config) holidayColumns(cal *Table, events []calendarEvent) ([]holidayColumn, error) {
	prefix := c.TimeComponents.Holidays.Prefix
	byName := map[string]holidayColumn{}
	var cols []holidayColumn
	for _, e := range events {
		name := prefix + slug(e.label)
		if prev, ok := byName[name]; ok {
			if prev.label != e.label {
				return nil, fmt.Errorf("ingest: %s:%d: the labels %q (line %d) and %q both make the column %q; rename one", cal.name(), e.line, prev.label, prev.line, e.label, name)
			}
			continue
		}
		if slug(e.label) == "" {
			return nil, fmt.Errorf("ingest: %s:%d: the label %q has no letter or digit to name its column; rename it", cal.name(), e.line, e.label)
		}
		byName[name] = holidayColumn{e.label, name, e.line}
		cols = append(cols, byName[name])
	}
	slices.SortFunc(cols, func(a, b holidayColumn) int { return strings.Compare(a.name, b.name) })
	return cols, nil
}

// dedupeEvents keeps the first of the events that repeat a label, date and group.
func dedupeEvents(events []calendarEvent) []calendarEvent {
	seen := map[string]bool{}
	var kept []calendarEvent
	for _, e := range events {
		k := fmt.Sprint(e.label, "\x00", e.day, "\x00", e.group)
		if !seen[k] {
			seen[k] = true
			kept = append(kept, e)
		}
	}
	return kept
}

// countHolidays counts, per holiday column and row of t, the event days (windows
// included) in the row's week and group, and warns about event dates outside the data's
// weeks.
func (c *Config) countHolidays(t, cal *Table, events []calendarEvent, weeks *dataWeeks) map[string][]int {
	h := c.TimeComponents.Holidays
	ws := weekdayOf(h.WeekStart)
	first, last := weeks.first, weeks.last.AddDate(0, 0, 6)
	counts := map[string][]int{}
	var outside []int
	for _, e := range events {
		if e.day.Before(first) || e.day.After(last) {
			outside = append(outside, e.line)
		}
		name := h.Prefix + slug(e.label)
		if counts[name] == nil {
			counts[name] = make([]int, t.Rows())
		}
		for d := -h.WindowBefore; d <= h.WindowAfter; d++ {
			day := e.day.AddDate(0, 0, d)
			week := day.AddDate(0, 0, -((int(day.Weekday()) - ws + 7) % 7))
			for _, i := range weeks.rows[week] {
				if e.applies(t, i) {
					counts[name][i]++
				}
			}
		}
	}
	if len(outside) > 0 {
		verb := "is ignored: line"
		if len(outside) > 1 {
			verb = "are ignored: lines"
		}
		t.warnings = append(t.warnings, fmt.Sprintf("%s: %s outside the data's weeks (%s to %s) %s %s",
			cal.name(), plural(len(outside), "event date"), first.Format(time.DateOnly), last.Format(time.DateOnly), verb, lineList(outside)))
	}
	return counts
}

// applies reports whether the event applies to row i of t (its group, when restricted).
func (e calendarEvent) applies(t *Table, i int) bool {
	for col, v := range e.group {
		if strings.TrimSpace(t.Cells[t.Col(col)][i]) != v {
			return false
		}
	}
	return true
}

// readCalendar reads the events of the holiday calendar.
func (c *Config) readCalendar(cal *Table, f *Formula, data *Table) ([]calendarEvent, error) {
	h := c.TimeComponents.Holidays
	dateCol, err := c.calendarDateCol(cal)
	if err != nil {
		return nil, err
	}
	// Grouping columns of the formula that the calendar also has restrict its events.
	var groupCols []string
	for _, bar := range f.Bars {
		for _, g := range bar.Factors {
			if cal.Col(g) >= 0 && data.Col(g) >= 0 && !slices.Contains(groupCols, g) {
				groupCols = append(groupCols, g)
			}
		}
	}
	levels := map[string]map[string]bool{}
	for _, g := range groupCols {
		levels[g] = map[string]bool{}
		for _, s := range data.Cells[data.Col(g)] {
			levels[g][strings.TrimSpace(s)] = true
		}
	}

	loc, _ := time.LoadLocation(h.Timezone) // Validate checked it
	layouts, format := []string{time.DateOnly, time.DateTime, "2006-01-02T15:04:05", time.RFC3339}, "ISO 8601 (YYYY-MM-DD)"
	if h.DateFormat != "" {
		l, _ := DateLayout(h.DateFormat) // Validate checked it
		layouts, format = []string{l}, fmt.Sprintf("time_components.holidays.date_format %q", h.DateFormat)
	}
	var events []calendarEvent
	var errs []error
	report := func(err error) {
		if len(errs) < maxReported {
			errs = append(errs, err)
		}
	}
	dates, labels := cal.Cells[cal.Col(dateCol)], cal.Cells[cal.Col(h.LabelCol)]
	for i := range cal.Lines {
		line := cal.Lines[i]
		label, ds := strings.TrimSpace(labels[i]), strings.TrimSpace(dates[i])
		if label == "" {
			report(fmt.Errorf("ingest: %s:%d: column %q (the label) is empty; every event needs a label", cal.name(), line, h.LabelCol))
			continue
		}
		day, ok := parseDay(ds, layouts, loc)
		if !ok {
			hint := ""
			if h.DateFormat == "" {
				hint = "; set `time_components.holidays.date_format` to the calendar's format, e.g. \"%d/%m/%Y\""
			}
			report(fmt.Errorf("ingest: %s:%d: column %q: %q is not a date in %s%s", cal.name(), line, dateCol, dates[i], format, hint))
			continue
		}
		e := calendarEvent{label: label, day: day, line: line}
		for _, g := range groupCols {
			v := strings.TrimSpace(cal.Cells[cal.Col(g)][i])
			if isMissing(v) {
				continue
			}
			if !levels[g][v] {
				report(fmt.Errorf("ingest: %s:%d: column %q is %q, which is not a %s of %s; the event would apply to no row", cal.name(), line, g, v, g, data.name()))
				continue
			}
			if e.group == nil {
				e.group = map[string]string{}
			}
			e.group[g] = v
		}
		events = append(events, e)
	}
	return events, errors.Join(errs...)
}

// calendarDateCol returns the calendar's date column (date_col, or the first of date, ds
// and event_date) after checking that it has that column and label_col, and events.
func (c *Config) calendarDateCol(cal *Table) (string, error) {
	h := c.TimeComponents.Holidays
	dateCol := h.DateCol
	if dateCol == "" {
		for _, name := range calendarDateCols {
			if cal.Col(name) >= 0 {
				dateCol = name
				break
			}
		}
		if dateCol == "" {
			return "", fmt.Errorf("ingest: %s:1: no date column: the calendar needs a column named date, ds or event_date, or set `time_components.holidays.date_col` (its columns: %s)", cal.name(), showList(cal.Header))
		}
	} else if cal.Col(dateCol) < 0 {
		return "", c.holidayErr("date_col", "`time_components.holidays.date_col` is %q, which is not a column of %s (its columns: %s)", dateCol, cal.name(), showList(cal.Header))
	}
	if cal.Col(h.LabelCol) < 0 {
		return "", c.holidayErr("label_col", "`time_components.holidays.label_col` is %q, which is not a column of %s (its columns: %s)", h.LabelCol, cal.name(), showList(cal.Header))
	}
	if cal.Rows() == 0 {
		return "", fmt.Errorf("ingest: %s has a header but no events", cal.name())
	}
	return dateCol, nil
}

// parseDay parses a calendar date in the first layout that reads it, in loc, and returns
// the date it falls on in loc, at 00:00 UTC.
func parseDay(s string, layouts []string, loc *time.Location) (time.Time, bool) {
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			y, m, d := t.In(loc).Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}

// dataWeeks are the data's rows by week.
type dataWeeks struct {
	rows        map[time.Time][]int // week start -> rows
	missing     []bool              // rows without a date
	first, last time.Time
}

// dataWeeks reads data.date_var as the week each row belongs to, and checks that the dates
// are weekly and fall on week_start.
func (c *Config) dataWeeks(t *Table) (*dataWeeks, error) {
	h := c.TimeComponents.Holidays
	dv := c.Data.DateVar
	j := t.Col(dv)
	if j < 0 {
		return nil, c.configErrAt("data.date_var", "`data.date_var` is %q, which is not a column of %s", dv, t.name())
	}
	cells := t.Cells[j]
	layout, format, err := c.dataDateLayout(t, cells)
	if err != nil {
		return nil, err
	}
	w := &dataWeeks{rows: map[time.Time][]int{}, missing: make([]bool, len(cells))}
	var errs []error
	var days []time.Time
	firstLine := map[time.Time]int{}
	for i, s := range cells {
		if isMissing(s) {
			w.missing[i] = true
			continue
		}
		d, err := time.Parse(layout, strings.TrimSpace(s))
		if err != nil {
			if len(errs) < maxReported {
				errs = append(errs, fmt.Errorf("ingest: %s:%d: column %q (data.date_var): %q is not a date in %s", t.name(), t.Lines[i], dv, s, format))
			}
			w.missing[i] = true
			continue
		}
		y, m, dd := d.Date()
		d = time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
		if _, ok := w.rows[d]; !ok {
			days = append(days, d)
			firstLine[d] = t.Lines[i]
		}
		w.rows[d] = append(w.rows[d], i)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(days) == 0 {
		return nil, fmt.Errorf("ingest: %s: column %q (data.date_var) has no dates; holidays are joined to the data by week", t.name(), dv)
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	w.first, w.last = days[0], days[len(days)-1]
	ws := weekdayOf(h.WeekStart)
	for k, d := range days {
		if k > 0 {
			if step := d.Sub(days[k-1]); step%(7*24*time.Hour) != 0 {
				return nil, fmt.Errorf("ingest: %s:%d and %d: column %q (data.date_var) steps from %s to %s, %s; managed holidays need weekly data (one row per week and group)",
					t.name(), firstLine[days[k-1]], firstLine[d], dv, days[k-1].Format(time.DateOnly), d.Format(time.DateOnly), cadence(step, false))
			}
		}
		if int(d.Weekday()) != ws {
			return nil, fmt.Errorf("ingest: %s:%d: column %q (data.date_var) is %s, a %s, but `time_components.holidays.week_start` is %s; the data's dates must be the weeks' first days: set week_start: %s",
				t.name(), firstLine[d], dv, d.Format(time.DateOnly), d.Weekday(), strings.ToLower(h.WeekStart), strings.ToLower(d.Weekday().String()))
		}
	}
	return w, nil
}

// dataDateLayout returns the layout of data.date_var's values: data.date_format's, or the
// recognised format most values follow.
func (c *Config) dataDateLayout(t *Table, cells []string) (layout, format string, err error) {
	if f := c.Data.DateFormat; f != "" {
		l, _ := DateLayout(f) // Validate checked it
		return l, fmt.Sprintf("data.date_format %q", f), nil
	}
	var present []string
	var rows []int
	for i, s := range cells {
		if !isMissing(s) {
			present = append(present, strings.TrimSpace(s))
			rows = append(rows, i)
		}
	}
	if err := ambiguousDates(t, c.Data.DateVar, present, rows); err != nil {
		return "", "", err
	}
	best, _ := bestDateLayout(present)
	if best < 0 {
		return "", "", c.configErrAt("data.date_var", "`data.date_var` (%q) does not hold dates in a recognised format (%s); set `data.date_format`", c.Data.DateVar, layoutNames())
	}
	return dateLayouts[best].layout, "the format of the other rows (" + dateLayouts[best].name + ")", nil
}

// weekdayOf returns the time.Weekday number of a weekday name.
func weekdayOf(name string) int { return slices.Index(weekdays, strings.ToLower(name)) }

// slug turns a holiday label into the rest of its column name: lower-case letters and
// digits, every other run of characters one "_", none at either end (Black Friday:
// black_friday; New Year's Day: new_year_s_day).
func slug(label string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(label) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	return b.String()
}

// lineList formats up to 10 line numbers.
func lineList(lines []int) string {
	parts := make([]string, 0, 10)
	for _, l := range lines[:min(len(lines), 10)] {
		parts = append(parts, strconv.Itoa(l))
	}
	if len(lines) > 10 {
		parts = append(parts, "…")
	}
	return strings.Join(parts, ", ")
}

// holidayErr formats an error about a time_components.holidays key at its position.
func (c *Config) holidayErr(key, format string, args ...any) error {
	return c.configErrAt("time_components.holidays."+key, format, args...)
}

// configErrAt formats an error about a config key at its position.
func (c *Config) configErrAt(key, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if w := c.where(key); w != "" {
		return fmt.Errorf("ingest: %s: %s", w, msg)
	}
	return fmt.Errorf("ingest: %s", msg)
}
