package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// setColumn rewrites every value of column col of dir/data.csv as v.
func setColumn(t *testing.T, dir, col, v string) {
	t.Helper()
	path := filepath.Join(dir, "data.csv")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	j := slices.Index(strings.Split(lines[0], ","), col)
	if j < 0 {
		t.Fatalf("no column %s", col)
	}
	for i := 1; i < len(lines); i++ {
		cells := strings.Split(lines[i], ",")
		cells[j] = v
		lines[i] = strings.Join(cells, ",")
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// errorLines is stderr without the "Run folder:" line, which only run and validate
// --run-dir print.
func errorLines(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if !strings.HasPrefix(l, "Run folder:") && !strings.HasPrefix(l, "warning:") && !strings.HasPrefix(l, "report:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// validate stops where run stops, at the P0 data checks, with the same message, and
// with --run-dir writes the metadata and the P0 report as run does.
func TestValidateStopsWhereRunStops(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	setColumn(t, dir, "m_social", "5")
	cfg := filepath.Join(dir, "config.yaml")

	checkDir := filepath.Join(t.TempDir(), "check")
	vcode, vout, verr := cli(t, "validate", "--config", cfg, "--run-dir", checkDir)
	runDir := filepath.Join(t.TempDir(), "run")
	rcode, _, rerr := cli(t, "run", "--config", cfg, "--run-dir", runDir, "--cmdstan", home)
	if vcode != exitError || rcode != exitError {
		t.Fatalf("validate exit %d, run exit %d; want %d for both\nvalidate: %s%s\nrun: %s", vcode, rcode, exitError, vout, verr, rerr)
	}
	if strings.Contains(vout, "Status: ok") {
		t.Errorf("validate says ok for data run refuses:\n%s", vout)
	}
	if !strings.Contains(verr, "pre-flight data checks failed") || !strings.Contains(verr, "m_social") {
		t.Errorf("validate stderr does not name the failed P0 check:\n%s", verr)
	}
	if v, r := errorLines(verr), errorLines(rerr); v != r {
		t.Errorf("validate and run stop with different messages:\nvalidate:\n%s\nrun:\n%s", v, r)
	}
	for _, f := range []string{"00_run_metadata/config.original.yaml", "00_run_metadata/config.resolved.yaml", "00_run_metadata/session_info.txt"} {
		if _, err := os.Stat(filepath.Join(checkDir, f)); err != nil {
			t.Errorf("validate --run-dir: %v", err)
		}
	}
	vrep, err := os.ReadFile(filepath.Join(checkDir, "40_diagnostics", "diagnostics_report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rrep, err := os.ReadFile(filepath.Join(runDir, "40_diagnostics", "diagnostics_report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if string(vrep) != string(rrep) {
		t.Errorf("diagnostics_report.csv differs:\nvalidate:\n%s\nrun:\n%s", vrep, rrep)
	}
	for _, f := range []string{"00_run_metadata/run.json", "20_model_fit", "10_pre_run"} {
		if _, err := os.Stat(filepath.Join(checkDir, f)); err == nil {
			t.Errorf("validate wrote %s", f)
		}
	}
}

func TestValidateConfigFlag(t *testing.T) {
	dir := exampleDir(t)
	cfg := filepath.Join(dir, "config.yaml")
	code, out, stderr := cli(t, "validate", "--config", cfg)
	if code != 0 || !strings.Contains(out, "Status: ok") {
		t.Fatalf("validate --config: exit %d\n%s%s", code, out, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("validate without --run-dir wrote into %s: %d entries", dir, len(entries))
	}
	checkDir := filepath.Join(t.TempDir(), "check")
	if code, out, stderr := cli(t, "validate", cfg, "--run-dir", checkDir); code != 0 || !strings.Contains(out, "Status: ok") {
		t.Fatalf("validate --run-dir: exit %d\n%s%s", code, out, stderr)
	}
	info, err := os.ReadFile(filepath.Join(checkDir, "00_run_metadata", "session_info.txt"))
	if err != nil || !strings.Contains(string(info), "formula: kpi_value ~") || !strings.Contains(string(info), "template: ") {
		t.Errorf("session_info.txt: %v\n%s", err, info)
	}
	for args, want := range map[string]string{
		"validate":                               "needs CONFIG (or --config FILE)",
		"run":                                    "needs CONFIG (or --config FILE)",
		"validate " + cfg + " --config " + cfg:   "got the config twice",
		"run " + cfg + " --config " + cfg:        "got the config twice",
		"validate " + cfg + " " + cfg:            "needs one CONFIG (got 2 arguments)",
		"run --config= --run-dir " + t.TempDir(): "--config is empty",
	} {
		code, _, stderr := cli(t, strings.Fields(args)...)
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("dsamstan %s: exit %d, %q; want %d and %q", args, code, stderr, exitUsage, want)
		}
	}
}

// priors prints the table every run writes to 00_run_metadata/priors.csv.
func TestPriorsCommand(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	cfg := filepath.Join(dir, "config.yaml")
	code, out, stderr := cli(t, "priors", cfg)
	if code != 0 {
		t.Fatalf("priors: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"parameter  ", "(Intercept)", "default: normal(mean(y), 5·sd(y))", "m_tv", "boundaries.overrides[0]", "noise_sd", "half_normal(0, "} {
		if !strings.Contains(out, want) {
			t.Errorf("priors output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sampler prior") {
		t.Errorf("priors without --scaled shows the sampler's units:\n%s", out)
	}
	// --scaled: DSAMbayes's normal(0, 5) on the standardised scale, half_normal(0, 1) for noise_sd.
	code, scaled, stderr := cli(t, "priors", cfg, "--scaled")
	if code != 0 {
		t.Fatalf("priors --scaled: exit %d\n%s", code, stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(scaled), "\n")[1:] {
		want := "normal(0, 5)  "
		if strings.HasPrefix(line, "noise_sd ") {
			want = "half_normal(0, 1)  "
		}
		if !strings.Contains(line, want) {
			t.Errorf("in the sampler's units the prior is not %s: %s", want, line)
		}
	}
	if !strings.Contains(scaled, "sampler prior") {
		t.Errorf("priors --scaled:\n%s", scaled)
	}
	code, csvOut, stderr := cli(t, "priors", "--config", cfg, "--csv")
	if code != 0 {
		t.Fatalf("priors --csv: exit %d\n%s", code, stderr)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := cli(t, "run", cfg, "--run-dir", runDir, "--cmdstan", home, "--chains", "1"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	written, err := os.ReadFile(filepath.Join(runDir, "00_run_metadata", "priors.csv"))
	if err != nil || string(written) != csvOut {
		t.Errorf("priors.csv of the run differs from priors --csv (%v):\n%s\nvs\n%s", err, written, csvOut)
	}
	if code, _, _ := cli(t, "priors"); code != exitUsage {
		t.Errorf("priors without a config: exit %d; want %d", code, exitUsage)
	}
}
