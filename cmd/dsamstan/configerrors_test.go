package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lineOf is the 1-based line of the first line of the file at path that contains s.
func lineOf(t *testing.T, path, s string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, s) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", path, s)
	return 0
}

// A config with a mistake in the sampler settings and another in the allocation section:
// validate lists both in one go, each with its line and column.
func TestValidateReportsAllocationWithTheRest(t *testing.T) {
	dir := exampleDir(t)
	cfg := filepath.Join(dir, "config.yaml")
	edit(t, cfg, "    chains: 4\n", "    chains: 4\n    n_chain: 4\n")
	edit(t, cfg, "  budget_total: 110", "  budget_totl: 110")
	code, _, stderr := cli(t, "validate", cfg)
	if code != exitError {
		t.Errorf("exit %d; want %d", code, exitError)
	}
	for _, want := range []string{
		fmt.Sprintf("ingest: %s:%d:5: unknown key `fit.mcmc.n_chain` (allowed under `fit.mcmc`: ", cfg, lineOf(t, cfg, "n_chain")),
		fmt.Sprintf("ingest: %s:%d:1: `allocation.budget_total` is missing; ", cfg, lineOf(t, cfg, "allocation:")),
		fmt.Sprintf("ingest: %s:%d:3: unknown key `allocation.budget_totl`; did you mean `budget_total`? ", cfg, lineOf(t, cfg, "budget_totl")),
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message lacks %q:\n%s", want, stderr)
		}
	}
}

// A scenario file given to optimise is checked by the same decoder as the config: its
// problems carry the file, line and column.
func TestOptimiseScenarioErrorsHavePositions(t *testing.T) {
	dir := exampleDir(t)
	meta := filepath.Join(dir, "run", "00_run_metadata")
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	resolved := filepath.Join(meta, "config.resolved.yaml")
	if err := os.WriteFile(resolved, b, 0o644); err != nil {
		t.Fatal(err)
	}
	edit(t, resolved, "path: data.csv", "path: "+filepath.Join(dir, "data.csv"))
	scenario := filepath.Join(dir, "scenario.yaml")
	src := "channels:\n  - term: m_tv\n    bounds: {mni: 3}\nbudget_total: 0\n"
	if err := os.WriteFile(scenario, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := cli(t, "optimise", filepath.Join(dir, "run"), "--scenario", scenario)
	if code != exitError {
		t.Errorf("exit %d; want %d", code, exitError)
	}
	want := "optimise: " + scenario + ":3:14: unknown key `channels[0].bounds.mni`; did you mean `min`? (allowed under `channels[0].bounds`: min, max)\n" +
		"optimise: " + scenario + ":4:1: `budget_total` is 0; must be a finite spend > 0 (per model row, e.g. per week)\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr:\n%s\nwant it to hold:\n%s", stderr, want)
	}
}
