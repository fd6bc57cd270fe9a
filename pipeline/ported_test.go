package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// A DSAMbayes config with its switched-off sections runs unchanged, and its save_* toggles
// leave out the files they name.
func TestRunHonoursDSAMbayesSaveToggles(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	raw, _ := os.ReadFile(cfg)
	raw = append(raw, []byte("  save_session_info_txt: false\n  save_transform_assumptions_txt: false\n"+
		"pooling: {enabled: false}\nforecast: {enabled: false}\nsecurity: {allow_unsafe_formula: false}\n"+
		"time_components: {enabled: false, holidays: {enabled: false}}\n")...)
	if err := os.WriteFile(cfg, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 1, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"00_run_metadata/session_info.txt", "10_pre_run/transform_assumptions.txt"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err == nil {
			t.Errorf("%s was written although the config switches it off", f)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, "30_post_run/posterior_summary.csv")); err != nil {
		t.Errorf("the run did not finish: %v", err)
	}
}
