package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// masterTemplate returns the master template, written beside an (empty) data.csv so that
// ParseConfig finds its data file, and its path.
func masterTemplate(t *testing.T) ([]byte, string) {
	t.Helper()
	body, err := fs.ReadFile(configTemplates, "templates/master.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.csv"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return body, filepath.Join(dir, "master.yaml")
}

// TestMasterTemplateHoldsTheDefaults: every key the master template sets holds its default,
// so it resolves exactly as a config that sets only what has no default (data, formula,
// name, the media bounds) and names the switched-off sections.
func TestMasterTemplateHoldsTheDefaults(t *testing.T) {
	body, path := masterTemplate(t)
	master, err := ingest.ParseConfig(body, path)
	if err != nil {
		t.Fatalf("the master template does not load: %v", err)
	}
	minimal := `data: { path: data.csv, date_var: date }
model:
  name: example_master
  formula: kpi_value ~ trend + seasonality + brand_metric + m_tv + m_search + m_social
boundaries:
  overrides:
    - { parameter: m_tv, lower: 0 }
    - { parameter: m_search, lower: 0 }
    - { parameter: m_social, lower: 0 }
diagnostics: { identifiability: {}, model_selection: { enabled: false }, time_series_selection: { enabled: false } }
outputs: { save_session_info_txt: true, save_transform_assumptions_txt: true }
pooling: { enabled: false }
time_components: { enabled: false, holidays: { enabled: false } }
forecast: { enabled: false }
security: { allow_unsafe_formula: false }
`
	bare, err := ingest.ParseConfig([]byte(minimal), path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := master.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	b, err := bare.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("the master template sets a value that is not the default:\n%s\nwant\n%s", a, b)
	}
}

// TestMasterTemplateListsEveryKey walks the config's types and wants each key in the master
// template, set or commented out (a commented key is written with its "# " at the key's
// indentation); and every key the template names, commented or not, must be one the config
// accepts.
func TestMasterTemplateListsEveryKey(t *testing.T) {
	body, _ := masterTemplate(t)
	inTemplate := templateKeys(string(body))
	accepted := configKeys(reflect.TypeFor[ingest.Config](), "")
	// The transforms section is decoded by hand: columns by name, then sensitivity.
	accepted = append(accepted, "transforms", "transforms.sensitivity", "transforms.sensitivity.*", "transforms.*")
	accepted = append(accepted, configKeys(reflect.TypeFor[ingest.ColumnTransform](), "transforms.*")...)
	// allocation.risk is the YAML's other place for the objective's parameter.
	accepted = append(accepted, "allocation.risk", "allocation.risk.lambda", "allocation.risk.q", "allocation.risk.alpha")
	for _, key := range accepted {
		if !slices.ContainsFunc(inTemplate, func(k string) bool { return keyMatch(key, k) }) {
			t.Errorf("the master template does not list %s", key)
		}
	}
	for _, k := range inTemplate {
		if !slices.ContainsFunc(accepted, func(key string) bool { return keyMatch(key, k) }) {
			t.Errorf("the master template lists %s, which the config does not accept", strings.ReplaceAll(k, "\x00", "."))
		}
	}
	if len(inTemplate) < 100 {
		t.Errorf("read only %d keys from the template: %v", len(inTemplate), inTemplate)
	}
}

// configKeys lists the key paths of a config type from its yaml tags: "[]" stands for a
// list item, "*" for a name the user chooses (a map key).
func configKeys(typ reflect.Type, prefix string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	join := func(a, b string) string {
		if a == "" {
			return b
		}
		return a + "." + b
	}
	var out []string
	switch typ.Kind() {
	case reflect.Struct:
		if typ == reflect.TypeFor[ingest.Transforms]() {
			return nil // decoded by hand; the test adds its keys
		}
		for f := range typ.Fields() {
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || tag == "-" || tag == "" {
				continue
			}
			key := join(prefix, tag)
			out = append(out, key)
			out = append(out, configKeys(f.Type, key)...)
		}
	case reflect.Slice:
		out = append(out, configKeys(typ.Elem(), join(prefix, "[]"))...)
	case reflect.Map:
		key := join(prefix, "*")
		out = append(out, key)
		out = append(out, configKeys(typ.Elem(), key)...)
	}
	return out
}

// keyMatch reports whether a template key path (segments joined with NUL, as a user's key
// such as m_tv.decay holds dots) fits an accepted key path pattern.
func keyMatch(pattern, key string) bool {
	p, k := strings.Split(pattern, "."), strings.Split(key, "\x00")
	if len(p) != len(k) {
		return false
	}
	for i := range p {
		if p[i] != "*" && p[i] != k[i] {
			return false
		}
	}
	return true
}

var (
	keyLine  = regexp.MustCompile(`^( *)(?:# )?( *)(- )?("[^"]*"|[a-z_][a-z0-9_.]*):(?: +(.*))?$`)
	flowItem = regexp.MustCompile(`^( *)(?:# )?( *)- (\{.*\})$`)
	flowWord = regexp.MustCompile(`^("[^"]*"|[A-Za-z_][A-Za-z0-9_.]*):`)
)

// templateKeys reads the key paths of a YAML template, its commented-out keys included
// (paths joined with NUL, list items as "[]"). Prose comments never start with "word:".
func templateKeys(text string) []string {
	type level struct {
		indent int
		key    string
	}
	var stack []level
	var out []string
	add := func(path []string) {
		k := strings.Join(path, "\x00")
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, " #"); i >= 0 && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			line = line[:i] // a trailing comment
		}
		line = strings.TrimRight(line, " ")
		pop := func(indent int) {
			for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
				stack = stack[:len(stack)-1]
			}
		}
		if m := flowItem.FindStringSubmatch(line); m != nil { // - { key: value, ... }
			indent := len(m[1]) + len(m[2])
			pop(indent)
			path := []string{"[]"}
			for i := len(stack) - 1; i >= 0; i-- {
				path = append([]string{stack[i].key}, path...)
			}
			flowKeys(path, m[3], add)
			continue
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		indent := len(m[1]) + len(m[2])
		pop(indent)
		if m[3] != "" {
			stack = append(stack, level{indent, "[]"})
			indent += 2
		}
		key := strings.Trim(m[4], `"`)
		stack = append(stack, level{indent, key})
		path := make([]string, len(stack))
		for i, l := range stack {
			path[i] = l.key
		}
		add(path)
		if v := strings.TrimSpace(m[5]); strings.HasPrefix(v, "{") {
			flowKeys(path, v, add)
		}
	}
	return out
}

// flowKeys adds the key paths of a YAML flow mapping under path.
func flowKeys(path []string, v string, add func([]string)) {
	stack := slices.Clone(path)
	last := ""
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '{':
			if last != "" {
				stack = append(stack, last)
			}
			last = ""
		case '}':
			if len(stack) > len(path) {
				stack = stack[:len(stack)-1]
			}
		case ' ', ',':
		default:
			if m := flowWord.FindString(v[i:]); m != "" && (i == 0 || v[i-1] == ' ' || v[i-1] == '{' || v[i-1] == ',') {
				last = strings.Trim(strings.TrimSuffix(m, ":"), `"`)
				add(append(slices.Clone(stack), last))
				i += len(m) - 1
				continue
			}
			// a value: skip to the next separator
			for i+1 < len(v) && !strings.ContainsRune(",{}", rune(v[i+1])) {
				i++
			}
		}
	}
}
