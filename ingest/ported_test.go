package ingest

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// masterSections are the DSAMbayes sections of a full runner config, switched off or at
// their defaults, as an analyst brings them over.
const masterSections = `pooling:
  enabled: false
time_components:
  enabled: false
  holidays:
    enabled: false
    calendar_path: null
    date_col: null
    label_col: holiday
    date_format: null
    week_start: monday
    timezone: UTC
    prefix: holiday_
    window_before: 0
    window_after: 0
    aggregation_rule: count
    overlap_policy: count_all
    add_to_formula: true
    overwrite_existing: false
forecast:
  enabled: false
security:
  allow_unsafe_formula: false
diagnostics:
  policy_mode: publish
  identifiability: {enabled: false}
  model_selection:
    enabled: false
  time_series_selection:
    enabled: false
outputs:
  save_session_info_txt: false
  save_transform_assumptions_txt: true
`

func TestPortedSectionsAccepted(t *testing.T) {
	yaml := "data:\n  path: data.csv\n  date_var: date\n  date_format: \"%Y-%m-%d\"\nmodel:\n  formula: kpi ~ m_tv\n" + masterSections
	cfg, err := ParseConfig([]byte(yaml), filepath.Join("testdata", "master.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Outputs.SessionInfo() || !cfg.Outputs.TransformAssumptions() {
		t.Errorf("save toggles: session info %v, transform assumptions %v; want false, true", cfg.Outputs.SessionInfo(), cfg.Outputs.TransformAssumptions())
	}
	if tc := cfg.TimeComponents; tc == nil || tc.Holidays.Prefix != "holiday_" || tc.Holidays.AddToFormula == nil || !*tc.Holidays.AddToFormula {
		t.Errorf("time_components = %+v", tc)
	}
	// time_components.enabled: true with holidays off generates nothing and is accepted.
	on := strings.Replace(yaml, "time_components:\n  enabled: false", "time_components:\n  enabled: true", 1)
	if _, err := ParseConfig([]byte(on), filepath.Join("testdata", "master.yaml")); err != nil {
		t.Errorf("time_components on, holidays off: %v", err)
	}
	out, err := cfg.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pooling:\n  enabled: false", "save_session_info_txt: false", "date_format: \"%Y-%m-%d\""} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("resolved config lacks %q:\n%s", want, out)
		}
	}
	if _, err := ParseConfig(out, filepath.Join(t.TempDir(), "config.resolved.yaml")); err != nil {
		t.Errorf("the resolved config does not parse: %v", err)
	}
}

func TestPortedSectionsAbsentLeaveResolvedAlone(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "run.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^(pooling|time_components|forecast|security):|identifiability|model_selection|save_|date_format`).Find(out); m != nil {
		t.Errorf("resolved config of a file without DSAMbayes-only sections holds %q:\n%s", m, out)
	}
}

func TestDateFormat(t *testing.T) {
	csv := strings.NewReplacer("2024-01-01", "01/01/2024", "2024-01-08", "08/01/2024", "2024-01-15", "15/01/2024", "2024-01-22", "22/01/2024", "2024-01-29", "29/01/2024").Replace(sampleCSV)
	yaml := "data: {path: data.csv, date_var: date, date_format: \"%d/%m/%Y\"}\nmodel: {formula: kpi ~ m_tv}\n"
	if _, _, err := runIn(t, yaml, csv); err != nil {
		t.Fatalf("dates in data.date_format: %v", err)
	}
	// The ISO dates of the sample are not in that format: every one is named.
	_, _, err := runIn(t, yaml, strings.Replace(csv, "15/01/2024", "2024-01-15", 1))
	want := `ingest: data.csv:4: column "date" (data.date_var): "2024-01-15" is not a date in data.date_format "%d/%m/%Y"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v; want %s", err, want)
	}
}

func TestDateLayout(t *testing.T) {
	for in, want := range map[string]string{"%Y-%m-%d": "2006-01-02", "%d/%m/%Y": "02/01/2006", "%e %B %y": "_2 January 06", "%F %H:%M:%S": "2006-01-02 15:04:05"} {
		if got, err := DateLayout(in); err != nil || got != want {
			t.Errorf("DateLayout(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"%d/%m", "%Y-%m-%", "%Y-%q"} {
		if _, err := DateLayout(in); err == nil {
			t.Errorf("DateLayout(%q) succeeded", in)
		}
	}
}
