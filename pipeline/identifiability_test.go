package pipeline

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// TestRunFlagsCollinearMedia: with m_search a multiple of m_tv, the data cannot tell their
// coefficients apart. The fake sampler draws them with correlation −1 (as a real posterior
// of two collinear columns has them), and diagnostics_report.csv carries the
// identifiability warning naming the pair, beside the residual checks.
func TestRunFlagsCollinearMedia(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	t.Setenv(fakecmdstan.Tie, "5,6") // beta.5 is m_tv, beta.6 m_search
	config := writeExample(t)
	data := filepath.Join(filepath.Dir(config), "data.csv")
	f, err := os.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "date,kpi_value,trend,seasonality,brand_metric,m_tv,m_search,m_social" {
		t.Fatalf("the example's header is %v", rows[0])
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	for i, r := range rows {
		if i > 0 {
			tv, err := strconv.ParseFloat(r[5], 64)
			if err != nil {
				t.Fatal(err)
			}
			r[6] = strconv.FormatFloat(0.3*tv, 'g', -1, 64)
		}
		w.Write(r)
	}
	w.Flush()
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	runDir := filepath.Join(t.TempDir(), "run")
	res, err := Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, CmdStanDir: home, Chains: 2})
	if err != nil {
		t.Fatal(err)
	}
	rf, err := os.Open(filepath.Join(runDir, "40_diagnostics", diagnostics.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	rep, err := diagnostics.ReadCSV(rf)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]diagnostics.Check{}
	for _, c := range rep.Checks {
		byID[c.ID] = c
	}
	corr := byID["identifiability_correlation_max"]
	if corr.Status != diagnostics.StatusWarn || corr.Value < 0.999 || corr.Phase != diagnostics.PhaseP1 ||
		!strings.Contains(corr.Message, "between m_tv and m_search") || !strings.Contains(corr.Message, "combine the columns") {
		t.Errorf("identifiability_correlation_max = %+v; want a warning naming m_tv and m_search", corr)
	}
	if c, ok := byID["identifiability_contraction_min"]; !ok || c.Status == diagnostics.StatusSkipped {
		t.Errorf("identifiability_contraction_min = %+v, %v; want a row checked", c, ok)
	}
	for _, id := range []string{"residual_ljung_box", "residual_normality"} {
		if c, ok := byID[id]; !ok || c.Status == diagnostics.StatusSkipped {
			t.Errorf("%s = %+v, %v; want a row checked", id, c, ok)
		}
	}
	if res.Report.Status() == diagnostics.StatusPass {
		t.Errorf("overall status pass with collinear media")
	}
}
