package ingest

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// loadFiles writes files into a fresh folder and loads run.yaml from it.
func loadFiles(t *testing.T, files map[string]string) (*Spec, error) {
	t.Helper()
	t.Chdir(t.TempDir())
	for name, text := range files {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, spec, err := Load("run.yaml")
	return spec, err
}

const dictData = "date,kpi,m_tv,events\n2024-01-01,1,4,na\n2024-01-08,3,6,promo\n2024-01-15,2,0,na\n2024-01-22,5,8,promo\n"

func TestDictionaryMergesCSVAndInline(t *testing.T) {
	files := map[string]string{
		"data.csv": dictData,
		"dict.csv": "Variable,unit,source,rationale\nm_tv,GBP,TV buying agency,reach\nkpi,orders,shop,\neventspromo,,,\"promo weeks, from the calendar\"\n",
		"run.yaml": "data:\n  path: data.csv\n  dictionary_path: dict.csv\n  dictionary:\n    m_tv: { unit: GBP k, cadence: weekly }\n    date: { cadence: weekly, transform: none }\n" +
			"model:\n  formula: kpi ~ m_tv + events\n",
	}
	spec, err := loadFiles(t, files)
	if err != nil {
		t.Fatal(err)
	}
	want := []DictionaryEntry{
		{Term: "m_tv", Unit: "GBP k", Cadence: "weekly", Source: "TV buying agency", Rationale: "reach"},
		{Term: "kpi", Unit: "orders", Source: "shop"},
		{Term: "eventspromo", Rationale: "promo weeks, from the calendar"},
		{Term: "date", Cadence: "weekly", Transform: "none"},
	}
	if !reflect.DeepEqual(spec.Dictionary, want) {
		t.Errorf("Dictionary =\n%+v\nwant\n%+v", spec.Dictionary, want)
	}
	// Without a dictionary the spec has none.
	files["run.yaml"] = "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tv\n"
	if spec, err := loadFiles(t, files); err != nil || spec.Dictionary != nil {
		t.Errorf("no dictionary: %v, %v", spec.Dictionary, err)
	}
}

func TestDictionaryErrors(t *testing.T) {
	const cfg = "data:\n  path: data.csv\n  dictionary_path: dict.csv\nmodel:\n  formula: kpi ~ m_tv\n"
	for _, c := range []struct{ name, yaml, dict, want string }{
		{"missing file", cfg, "", `ingest: run.yaml:3:3: data dictionary "dict.csv" not found (` + "`data.dictionary_path`" + ` is resolved against the config's folder`},
		{"term not in data", cfg, "term,unit\nm_tv,GBP\nm_radio,GBP\n",
			`ingest: dict.csv:3: data dictionary: m_radio is neither a column of the data nor a term of the model`},
		{"near miss", cfg, "term,unit\nm_t,GBP\n", `did you mean "m_tv"?`},
		{"duplicate", cfg, "term,unit\nm_tv,GBP\nkpi,orders\nm_tv,USD\n",
			`ingest: dict.csv:2 and 4: data dictionary describes m_tv twice`},
		{"empty term", cfg, "term,unit\n,GBP\n", "ingest: dict.csv:2: data dictionary row has no term"},
		{"unknown column", cfg, "term,units,role\nm_tv,GBP,media\n",
			`ingest: dict.csv:1: data dictionary column "units" is not a dictionary field; did you mean "unit"? the columns are term (or variable) and unit, cadence, source, transform, rationale`},
		{"no term column", cfg, "name,unit\nm_tv,GBP\n", "ingest: dict.csv:1: data dictionary has no term column"},
		{"inline unknown term", "data:\n  path: data.csv\n  dictionary:\n    m_tvv: { unit: GBP }\nmodel:\n  formula: kpi ~ m_tv\n", "",
			"ingest: run.yaml:4:5: `data.dictionary`: m_tvv is neither a column of the data nor a term of the model; did you mean \"m_tv\"?"},
		{"inline unknown field", "data:\n  path: data.csv\n  dictionary:\n    m_tv: { units: GBP }\nmodel:\n  formula: kpi ~ m_tv\n", "",
			"run.yaml:4:13"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"data.csv": dictData, "run.yaml": c.yaml}
			if c.dict != "" {
				files["dict.csv"] = c.dict
			}
			_, err := loadFiles(t, files)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to contain %s", err, c.want)
			}
		})
	}
}
