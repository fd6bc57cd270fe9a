package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
	if _, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 1, Now: fixedNow}); err != nil {
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

// A run with managed holidays and a categorical term carries the holiday columns and the
// levels' 0/1 columns through the fit, the summaries and the decomposition by name.
func TestRunWithHolidaysAndACategoricalTerm(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	dir := filepath.Dir(cfg)
	data, err := os.ReadFile(filepath.Join(dir, "data.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	lines[0] += ",campaign"
	for i := 1; i < len(lines); i++ {
		lines[i] += "," + []string{"none", "Spring", "autumn"}[i%3]
	}
	calendar := "date,holiday\n2022-12-25,Christmas\n2023-12-25,Christmas\n2022-11-25,Black Friday\n2023-11-24,Black Friday\n"
	raw, _ := os.ReadFile(cfg)
	raw = []byte(strings.Replace(string(raw), "m_social\n", "m_social + campaign\n", 1))
	raw = append(raw, []byte("time_components:\n  enabled: true\n  holidays:\n    enabled: true\n    calendar_path: holidays.csv\n")...)
	for name, text := range map[string]string{"data.csv": strings.Join(lines, "\n") + "\n", "holidays.csv": calendar, "config.yaml": string(raw)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// 11 coefficients: the example's 7, two campaign levels, two holidays.
	t.Setenv("FAKE_COLUMNS", "beta.1,beta.2,beta.3,beta.4,beta.5,beta.6,beta.7,beta.8,beta.9,beta.10,beta.11,noise_sd")
	runDir := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 1, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	summary, err := os.ReadFile(filepath.Join(runDir, "30_post_run", "posterior_summary.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// Levels autumn, none, Spring (R's order): autumn is the reference.
	for _, name := range []string{"campaignnone", "campaignSpring", "holiday_black_friday", "holiday_christmas"} {
		if !strings.Contains(string(summary), "\n"+name+",") {
			t.Errorf("posterior_summary.csv has no row %s:\n%s", name, summary)
		}
	}
	if strings.Contains(string(summary), "campaignautumn") {
		t.Errorf("the reference level has a coefficient:\n%s", summary)
	}
	totals, err := os.ReadFile(filepath.Join(runDir, "30_post_run", "decomposition_totals.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(totals), "\nall,campaign,") {
		t.Errorf("decomposition_totals.csv has no total of the campaign column:\n%s", totals)
	}
}
