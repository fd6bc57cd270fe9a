package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
)

// withSensitivity writes the transforms example with scenarios of m_tv's decay at decays, a
// comma-separated list.
func withSensitivity(t *testing.T, decays string) string {
	t.Helper()
	cfg := withTransforms(t)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(b, "  sensitivity:\n    m_tv.decay: ["+decays+"]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRunSensitivity fits the three decay scenarios of m_tv (fake CmdStan: the draws are the
// same, the transformed columns differ, so the scenarios' LOO differs) and checks the
// summary table, the choice of the best scenario and that the run is that scenario's.
func TestRunSensitivity(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := withSensitivity(t, "0.1, 0.5, 0.8")
	runDir := filepath.Join(t.TempDir(), "run")
	res, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(runDir, "10_pre_run", runfolder.TransformSensitivityFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s:\n%s", runfolder.TransformSensitivityFile, raw)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows; want a header and 3 scenarios:\n%s", len(rows), raw)
	}
	col := func(name string) int {
		for j, h := range rows[0] {
			if h == name {
				return j
			}
		}
		t.Fatalf("no column %q in %v", name, rows[0])
		return -1
	}
	elpd, weight, chosen, decay := col("elpd_loo"), col("stacking_weight"), col("chosen"), col("m_tv.decay")
	for _, name := range []string{"coef_m_tv", "roi_m_tv", "se_elpd_loo"} {
		col(name)
	}
	best, bestELPD, sumW := -1, 0.0, 0.0
	for i, r := range rows[1:] {
		e, err := strconv.ParseFloat(r[elpd], 64)
		if err != nil {
			t.Fatalf("scenario %d: elpd_loo %q: %v", i+1, r[elpd], err)
		}
		w, _ := strconv.ParseFloat(r[weight], 64)
		sumW += w
		if best < 0 || e > bestELPD {
			best, bestELPD = i, e
		}
	}
	if sumW < 0.999 || sumW > 1.001 {
		t.Errorf("stacking weights sum to %g", sumW)
	}
	for i, r := range rows[1:] {
		if (r[chosen] == "true") != (i == best) {
			t.Errorf("scenario %d chosen=%s; the best elpd_loo is scenario %d", i+1, r[chosen], best+1)
		}
	}
	for i := range 3 {
		if _, err := os.Stat(filepath.Join(runDir, ScenariosDir, "0"+strconv.Itoa(i+1), "30_post_run", "posterior_summary.csv")); err != nil {
			t.Errorf("scenario %d: %v", i+1, err)
		}
	}
	// The run is the best scenario's: its resolved config fixes that decay.
	resolved, err := os.ReadFile(filepath.Join(runDir, "00_run_metadata", "config.resolved.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "decay: " + rows[1+best][decay]; !strings.Contains(string(resolved), want) {
		t.Errorf("the run's resolved config lacks %q:\n%s", want, resolved)
	}
	var info runfolder.RunInfo
	j, err := os.ReadFile(filepath.Join(runDir, "00_run_metadata", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(j, &info); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info.Sensitivity, "scenario 0"+strconv.Itoa(best+1)) || res.Info.Status != runfolder.StatusCompleted {
		t.Errorf("run.json: status %s, transform_sensitivity %q", res.Info.Status, info.Sensitivity)
	}
	page, err := os.ReadFile(filepath.Join(runDir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "Transform sensitivity") || !strings.Contains(string(page), runfolder.TransformSensitivityFile) {
		t.Error("index.html does not say the run is the best sensitivity scenario, or does not link the summary")
	}
}
