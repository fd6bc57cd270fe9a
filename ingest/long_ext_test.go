package ingest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// TestLongAndWideGiveTheSameData pivots a long version of testdata/panel.csv (id market,
// listed variable by variable) and checks that the model's CmdStan data is byte-equal to
// that of the wide file.
func TestLongAndWideGiveTheSameData(t *testing.T) {
	wide, err := ingest.LoadCSV(filepath.Join("testdata", "panel.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var long bytes.Buffer
	long.WriteString("market,date,variable,value\n")
	for j, name := range wide.Header {
		if name == "market" || name == "date" {
			continue
		}
		for i := range wide.Lines {
			long.WriteString(wide.Cells[wide.Col("market")][i] + "," + wide.Cells[wide.Col("date")][i] + "," + name + "," + wide.Cells[j][i] + "\n")
		}
	}
	dir := t.TempDir()
	config, err := os.ReadFile(filepath.Join("testdata", "panel.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	longConfig := bytes.Replace(config, []byte("  path: panel.csv\n"),
		[]byte("  path: long.csv\n  format: long\n  date_var: date\n  long_id_col: market\n  long_variable_col: variable\n  long_value_col: value\n"), 1)
	wideConfig := bytes.Replace(config, []byte("  path: panel.csv\n"), []byte("  path: "+filepath.Join(mustAbs(t, "testdata"), "panel.csv")+"\n  date_var: date\n"), 1)
	for name, text := range map[string][]byte{"long.csv": long.Bytes(), "long.yaml": longConfig, "wide.yaml": wideConfig} {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := func(path string) []byte {
		_, spec, err := ingest.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := codegen.Render(context.Background(), nil, spec)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := stanio.WriteData(&b, prog.Data); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	w, l := data(filepath.Join(dir, "wide.yaml")), data(filepath.Join(dir, "long.yaml"))
	if !bytes.Equal(w, l) {
		t.Errorf("data.json differs:\nwide %s\nlong %s", w, l)
	}
	if len(w) < 100 {
		t.Errorf("data.json is %q", w)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
