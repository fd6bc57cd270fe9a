package pipeline

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/simulate"
)

// writePooled writes the pooled example (weeks weekly rows) and returns its config.
func writePooled(t *testing.T, weeks int) string {
	t.Helper()
	ex, err := simulate.Pooled(simulate.PooledOptions{Weeks: weeks})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "config.yaml")
}

// readColumn reads the first column of a CSV of the run folder.
func readColumn(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[0])
	}
	return out
}

// checkPooledRun checks that a pooled run folder has the per-term coefficients and the
// pooled parameters in its posterior summary, the pooled terms in its decomposition and
// an allocation over them.
func checkPooledRun(t *testing.T, runDir string) {
	t.Helper()
	summary := readColumn(t, filepath.Join(runDir, runfolder.StagePostRun, runfolder.PosteriorSummary))
	for _, name := range []string{"m_tv_brand", "m_tv_product", "m_search_brand", "m_search_product", "noise_sd",
		"pooled_mean", "sd_channel", "sd_campaign", "sd_term", "pooled_effect[channel=tv]", "pooled_effect[campaign=product]"} {
		if !slices.Contains(summary, name) {
			t.Errorf("posterior_summary.csv has no row %s (rows %v)", name, summary)
		}
	}
	dec, err := os.ReadFile(filepath.Join(runDir, runfolder.StagePostRun, runfolder.DecompositionTotals))
	if err != nil {
		t.Fatal(err)
	}
	for _, term := range []string{"m_tv_brand", "m_search_product"} {
		if !strings.Contains(string(dec), term) {
			t.Errorf("%s has no %s:\n%s", runfolder.DecompositionTotals, term, dec)
		}
	}
	alloc, err := os.ReadFile(filepath.Join(runDir, runfolder.StageOptimisation, runfolder.Allocation))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{"tv_brand", "search_product"} {
		if !strings.Contains(string(alloc), ch) {
			t.Errorf("%s has no channel %s:\n%s", runfolder.Allocation, ch, alloc)
		}
	}
}

// TestPooledRun runs the pooled example end to end on the fake CmdStan.
func TestPooledRun(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	config := writePooled(t, 60)
	t.Setenv(fakecmdstan.Columns, programColumns(t, config))
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{noReport: true, ConfigPath: config, RunDir: runDir, CmdStanDir: home, Chains: 2}); err != nil {
		t.Fatal(err)
	}
	checkPooledRun(t, runDir)
	model, err := os.ReadFile(filepath.Join(runDir, runfolder.StageModelFit, runfolder.ModelStan))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(model), "Template pooled.stan") {
		t.Errorf("model.stan is not the pooled program:\n%.300s", model)
	}
}

// TestIntegrationPooledRun runs the pooled example (104 weeks, 2 chains of 300 + 300) end
// to end with the real CmdStan.
func TestIntegrationPooledRun(t *testing.T) {
	needCmdStan(t)
	config := writePooled(t, 104)
	editConfig(t, config, "iter: 2000", "iter: 600")
	editConfig(t, config, "warmup: 1000", "warmup: 300")
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{noReport: true, ConfigPath: config, RunDir: runDir, Chains: 2}); err != nil {
		t.Fatal(err)
	}
	checkPooledRun(t, runDir)
}
