package ingest

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// hostile is a config value or name that tries to break out of a message: a newline that
// would start a line of its own, Stan code, a terminal escape that clears the screen, and a
// bidi override that reverses what follows.
const hostile = "x\n} model { target += 1e9; }\x1b[2J\u202eevil"

// checkMessage requires that err quotes want (Go-escaped, possibly inside a longer quoted
// key path) and that no line of it was
// broken by a user string: every line starts with "ingest: " or is the indented formula echo
// under a formula message, and no line holds a control or format character but a tab.
func checkMessage(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if quoted := strconv.Quote(want); !strings.Contains(msg, quoted[1:len(quoted)-1]) {
		t.Errorf("message does not quote %q:\n%s", want, msg)
	}
	for _, line := range strings.Split(msg, "\n") {
		if !strings.HasPrefix(line, "ingest: ") && !strings.HasPrefix(line, "  ") {
			t.Errorf("message line %q does not start with \"ingest: \" (a user string broke the message):\n%s", line, msg)
		}
		for _, r := range line {
			if r != '\t' && !unicode.IsGraphic(r) {
				t.Errorf("message line %q holds the raw character %U", line, r)
			}
		}
	}
}

func TestHostileConfigValuesAreQuoted(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("data.csv", []byte("kpi,m_tv,market\n1,2,a\n2,3,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	q := strconv.Quote(hostile) // a YAML double-quoted scalar
	base := "data: {path: data.csv}\nmodel: {formula: 'kpi ~ m_tv'}\n"
	panel := "data: {path: data.csv}\nmodel: {formula: 'kpi ~ m_tv + (1 | market)', type: cre}\n"
	for _, tc := range []struct{ key, yaml string }{
		{"data.path", "data: {path: " + q + "}\nmodel: {formula: 'kpi ~ m_tv'}\n"},
		{"data.format", "data: {path: data.csv, format: " + q + "}\nmodel: {formula: 'kpi ~ m_tv'}\n"},
		{"data.na_action", "data: {path: data.csv, na_action: " + q + "}\nmodel: {formula: 'kpi ~ m_tv'}\n"},
		{"model.type", "data: {path: data.csv}\nmodel: {formula: 'kpi ~ m_tv', type: " + q + "}\n"},
		{"model.kpi_type", "data: {path: data.csv}\nmodel: {formula: 'kpi ~ m_tv', kpi_type: " + q + "}\n"},
		{"model.random_effects.parameterization", "data: {path: data.csv}\nmodel: {formula: 'kpi ~ m_tv', random_effects: {parameterization: " + q + "}}\n"},
		{"fit.method", base + "fit: {method: " + q + "}\n"},
		{"diagnostics.policy_mode", base + "diagnostics: {policy_mode: " + q + "}\n"},
		{"outputs.layout", base + "outputs: {layout: " + q + "}\n"},
		{"priors.noise_sd.family", base + "priors: {noise_sd: {family: " + q + ", sd: 1}}\n"},
		{"priors.overrides[0].parameter", base + "priors: {overrides: [{parameter: " + q + ", mean: 0, sd: 1}]}\n"},
		{"boundaries.overrides[0].parameter", base + "boundaries: {overrides: [{parameter: " + q + ", lower: 0}]}\n"},
		{"cre.prefix", panel + "cre: {enabled: true, vars: [m_tv], prefix: " + q + "}\n"},
		{"cre.vars[0]", panel + "cre: {enabled: true, vars: [" + q + "]}\n"},
		{"cre.group", panel + "cre: {enabled: true, vars: [m_tv], group: " + q + "}\n"},
		{"an unknown key", base + q + ": 1\n"},
		{"an unknown nested key", base + "fit: {" + q + ": 1}\n"},
		{"an unknown allocation key", base + "allocation: {channels: [{term: m_tv, " + q + ": 1}], budget_total: 1}\n"},
		{"an allocation reference", base + "allocation: {channels: [{term: m_tv}], budget_total: 1, reference_spend: {" + q + ": 1}}\n"},
		{"an allocation channel name", base + "allocation: {channels: [{term: m_tv, name: " + q + "}], budget_total: 1, reference_spend: {tv: 1}}\n"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "run.yaml")
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v; want a *ConfigError", err)
			}
			checkMessage(t, err, hostile)
		})
	}
}

// TestHostileNamesInDataMessages checks messages that list the data's columns or name a
// column the formula wants, when column names and formula names are hostile.
func TestHostileNamesInDataMessages(t *testing.T) {
	q := strconv.Quote
	bt := strings.ReplaceAll(hostile, "\n", " ") // a backtick name cannot hold a newline
	csvQuoted := `"` + hostile + `"`             // CSV quoting: the field holds the newline itself
	withColumn := "kpi,m_tv," + csvQuoted + "\n1,2,3\n2,3,4\n"
	for _, tc := range []struct {
		name, yaml, csv string
		quoted          []string
	}{
		{"missing column", "data: {path: data.csv}\nmodel: {formula: " + q("kpi ~ `"+bt+"`") + "}\n", withColumn,
			[]string{bt, hostile}}, // the name wanted, and the data's columns
		{"missing date_var", "data: {path: data.csv, date_var: " + q(hostile+"!") + "}\nmodel: {formula: 'kpi ~ m_tv'}\n", withColumn,
			[]string{hostile}},
		{"bad number", "data: {path: data.csv}\nmodel: {formula: 'kpi ~ m_tv'}\n", "kpi,m_tv\n1,2\n2," + csvQuoted + "\n",
			[]string{hostile}},
		{"function in a group term", "data: {path: data.csv}\nmodel: {formula: " + q("kpi ~ m_tv + (1 | `"+bt+"`(g))") + "}\n", withColumn,
			[]string{bt}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runIn(t, tc.yaml, tc.csv)
			for _, want := range tc.quoted {
				checkMessage(t, err, want)
			}
		})
	}
}

// TestFormulaEarlierMistakeWins checks that a mistake the parser finds before a character
// the grammar cannot use is the one reported: poly(x, 2) is a function, not a stray comma.
func TestFormulaEarlierMistakeWins(t *testing.T) {
	for src, want := range map[string]string{
		"kpi ~ poly(m_tv, 2)":       "column 7: functions such as poly() are not supported",
		"kpi ~ x + ns(x, df = 3)":   "column 11: functions such as ns() are not supported",
		"kpi ~ m_tv*m_search":       `column 11: unexpected "*" (interactions are not supported`,
		"kpi ~ (1 + m_tv * x | g":   `column 17: unexpected "*"`,
		"kpi ~ m_tv - m_search * 2": "column 12: removing terms with - is not supported",
	} {
		_, err := ParseFormula(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFormula(%q) = %v; want %q", src, err, want)
		}
	}
}
