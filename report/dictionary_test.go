package report

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/runfolder"
)

// summaryRow returns the row of the coefficient table (posterior_summary.csv) for parameter.
func summaryRow(t *testing.T, html, parameter string) string {
	t.Helper()
	i := strings.Index(html, runfolder.PosteriorSummary)
	if i < 0 {
		t.Fatal("index.html has no posterior_summary.csv")
	}
	row := regexp.MustCompile(`<tr><td[^>]*>` + regexp.QuoteMeta(parameter) + `</td>.*?</tr>`).FindString(html[i:])
	if row == "" {
		t.Fatalf("the coefficient table has no row %s", parameter)
	}
	return row
}

func TestDictionaryBesideCoefficients(t *testing.T) {
	dir := copyFixture(t, "blm")
	dict := "term,unit,cadence,source,transform,rationale\n" +
		"trend,weeks since start,,,,\n" +
		"brand_metric,index points,weekly,brand tracker,,awareness moves sales\n" +
		"revenue,GBP,weekly,,,\n"
	if err := os.WriteFile(filepath.Join(dir, runfolder.StageMetadata, runfolder.DictionaryFile), []byte(dict), 0o644); err != nil {
		t.Fatal(err)
	}
	build(t, dir, fast)
	html := readIndex(t, dir)
	// The filled fields become columns (transform is empty everywhere, so it is left out).
	if !strings.Contains(html, "<th>unit</th><th>cadence</th><th>source</th><th>rationale</th></tr>") {
		t.Error("the coefficient table has no unit, cadence, source, rationale columns")
	}
	if row := summaryRow(t, html, "brand_metric"); !strings.HasSuffix(row, "<td>index points</td><td>weekly</td><td>brand tracker</td><td>awareness moves sales</td></tr>") {
		t.Errorf("brand_metric row: %s", row)
	}
	if row := summaryRow(t, html, "trend"); !strings.HasSuffix(row, "<td>weeks since start</td><td></td><td></td><td></td></tr>") {
		t.Errorf("trend row: %s", row)
	}
	if row := summaryRow(t, html, "seasonality"); !strings.HasSuffix(row, "<td></td><td></td><td></td><td></td></tr>") {
		t.Errorf("undescribed seasonality row: %s", row)
	}
	// The dictionary itself is listed with the run metadata.
	if !strings.Contains(html, runfolder.DictionaryFile) {
		t.Error("index.html does not list data_dictionary.csv")
	}

	// A dictionary that cannot be read is a warning; the table keeps its columns.
	if err := os.WriteFile(filepath.Join(dir, runfolder.StageMetadata, runfolder.DictionaryFile), []byte("term,units\nx,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build(t, dir, fast)
	html = readIndex(t, dir)
	if !strings.Contains(html, "<strong>Warnings</strong><ul><li>report: 00_run_metadata/data_dictionary.csv: runfolder: data_dictionary.csv: ") {
		t.Error("a bad dictionary gives no warning")
	}
	if strings.Contains(html, "<th>unit</th><th>cadence</th>") {
		t.Error("a bad dictionary still added columns")
	}
}
