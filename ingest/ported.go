package ingest

import (
	"fmt"
	"strings"

	"github.com/dsamstan/dsamstan/internal/strictyaml"
)

// DSAMbayes runner configs carry sections for features dsamstan does not have (formula
// safety, managed holidays, identifiability and model-selection gates). So that
// such a config runs without edits, each section is accepted while it is switched off or
// holds its defaults; switching the feature on is refused at the key that does it, saying
// what is missing.

// SecurityConfig is DSAMbayes's formula-safety section. dsamstan's formula grammar is
// fixed, so only `allow_unsafe_formula: false` is accepted.
type SecurityConfig struct {
	AllowUnsafeFormula bool `yaml:"allow_unsafe_formula"`
}

// Switch is a DSAMbayes diagnostics section reduced to its switch; only `enabled: false`
// is accepted until dsamstan has the feature.
type Switch struct {
	Enabled bool `yaml:"enabled"`
}

// TimeComponentsConfig is DSAMbayes's managed time-effects section. Holiday terms are
// generated only when both Enabled and Holidays.Enabled are true (see holidays.go);
// otherwise the settings are accepted and have no effect.
type TimeComponentsConfig struct {
	Enabled  bool           `yaml:"enabled"`
	Holidays HolidaysConfig `yaml:"holidays"`
}

// HolidaysConfig holds DSAMbayes's holiday-calendar settings. ParseConfig fills the
// defaults: label_col holiday, week_start monday, timezone UTC, prefix holiday_,
// aggregation_rule count, overlap_policy count_all, add_to_formula true; calendar_path is
// made absolute.
type HolidaysConfig struct {
	Enabled           bool   `yaml:"enabled"`
	CalendarPath      string `yaml:"calendar_path,omitempty"`
	DateCol           string `yaml:"date_col,omitempty"`
	LabelCol          string `yaml:"label_col,omitempty"`
	DateFormat        string `yaml:"date_format,omitempty"`
	WeekStart         string `yaml:"week_start,omitempty"`
	Timezone          string `yaml:"timezone,omitempty"`
	Prefix            string `yaml:"prefix,omitempty"`
	WindowBefore      int    `yaml:"window_before,omitempty"`
	WindowAfter       int    `yaml:"window_after,omitempty"`
	AggregationRule   string `yaml:"aggregation_rule,omitempty"`
	OverlapPolicy     string `yaml:"overlap_policy,omitempty"`
	AddToFormula      *bool  `yaml:"add_to_formula,omitempty"`
	OverwriteExisting bool   `yaml:"overwrite_existing,omitempty"`

	calendarWritten string // calendar_path as written, for messages
}

// switchedOff are the sections reduced to a switch: the key that switches each on and
// what dsamstan lacks for it.
var switchedOff = []struct{ section, key, missing string }{
	{"security", "allow_unsafe_formula", "dsamstan's formula grammar is fixed and cannot be relaxed; put a transformed term in a data column instead"},
	{"diagnostics.model_selection", "enabled", "dsamstan has no model-selection settings yet"},
}

// switchedOffKey gives the message for a key, other than the switch, inside a section that
// dsamstan accepts only switched off.
func switchedOffKey(key string) (string, bool) {
	for _, s := range switchedOff {
		if strings.HasPrefix(key, s.section+".") {
			return fmt.Sprintf("%s is a DSAMbayes setting that dsamstan does not read (%s); only `%s.%s: false` is accepted in this section; remove it",
				strictyaml.Label(key), s.missing, s.section, s.key), true
		}
	}
	return "", false
}

// validatePorted refuses the DSAMbayes switches that turn on a feature dsamstan lacks, and
// checks data.date_format.
func (c *Config) validatePorted(v *validator) {
	on := map[string]bool{}
	if c.Security != nil {
		on["security"] = c.Security.AllowUnsafeFormula
	}
	d := c.Diagnostics
	on["diagnostics.model_selection"] = d.ModelSelection != nil && d.ModelSelection.Enabled
	for _, s := range switchedOff {
		if on[s.section] {
			key := s.section + "." + s.key
			v.add(key, "`%s` is true, but %s; set it to false (or remove the section)", key, s.missing)
		}
	}
	c.validateHolidays(v)
	c.validateForecast(v)
	c.validateDictionary(v)
	if c.Data.DateFormat != "" {
		if _, err := DateLayout(c.Data.DateFormat); err != nil {
			v.add("data.date_format", "`data.date_format` is %q: %v", c.Data.DateFormat, err)
		}
	}
}

// strftime are the date_format directives dsamstan reads, as Go time layouts.
var strftime = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'b': "Jan", 'h': "Jan", 'B': "January",
	'a': "Mon", 'A': "Monday", 'H': "15", 'M': "04", 'S': "05", 'F': "2006-01-02", 'z': "-0700", '%': "%",
}

// DateLayout converts a strftime-style date format, as R's as.Date and DSAMbayes's
// data.date_format take it ("%d/%m/%Y"), into a Go time layout. The directives are %Y %y
// %m %d %e %b %h %B %a %A %H %M %S %F %z and %%; any other is an error.
func DateLayout(format string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch != '%' {
			b.WriteByte(ch)
			continue
		}
		if i+1 == len(format) {
			return "", fmt.Errorf("ends in a lone %%")
		}
		i++
		l, ok := strftime[format[i]]
		if !ok {
			return "", fmt.Errorf("%%%c is not a date directive dsamstan reads (it reads %%Y %%y %%m %%d %%e %%b %%h %%B %%a %%A %%H %%M %%S %%F %%z and %%%%)", format[i])
		}
		b.WriteString(l)
	}
	if !strings.Contains(b.String(), "2006") && !strings.Contains(b.String(), "06") {
		return "", fmt.Errorf("has no year (%%Y or %%y)")
	}
	return b.String(), nil
}
