package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
)

// TestRunWritesTheDataDictionary: the config's dictionary (CSV and inline, merged) is
// copied to 00_run_metadata and shown beside the coefficients; without one there is no file.
func TestRunWritesTheDataDictionary(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	dir := filepath.Dir(cfg)
	if err := os.WriteFile(filepath.Join(dir, "dict.csv"), []byte("term,unit,source\nm_tv,GBP,TV agency\nkpi_value,GBP,shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withDict := strings.Replace(string(text), "  date_var: date\n", "  date_var: date\n  dictionary_path: dict.csv\n  dictionary:\n    m_search: { unit: GBP, rationale: paid search }\n", 1)
	if err := os.WriteFile(cfg, []byte(withDict), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(runDir, runfolder.StageMetadata, runfolder.DictionaryFile))
	if err != nil {
		t.Fatal(err)
	}
	want := "term,unit,cadence,source,transform,rationale\nm_tv,GBP,,TV agency,,\nkpi_value,GBP,,shop,,\nm_search,GBP,,,,paid search\n"
	if string(got) != want {
		t.Errorf("%s =\n%s\nwant\n%s", runfolder.DictionaryFile, got, want)
	}
	html, err := os.ReadFile(filepath.Join(runDir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "<td>GBP</td><td>TV agency</td><td></td></tr>") {
		t.Error("index.html does not show m_tv's unit and source in the coefficient table")
	}

	// Without a dictionary: no file.
	if err := os.WriteFile(cfg, text, 0o644); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: plain, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(plain, runfolder.StageMetadata, runfolder.DictionaryFile)); err == nil {
		t.Errorf("a run without a dictionary wrote %s", runfolder.DictionaryFile)
	}
}
