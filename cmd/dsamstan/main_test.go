package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// TestMain lets a test re-run this binary as the dsamstan command itself (to send it real
// signals): with DSAMSTAN_TEST_MAIN set to a JSON argument list it runs the CLI and exits.
func TestMain(m *testing.M) {
	if args := os.Getenv("DSAMSTAN_TEST_MAIN"); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			panic(err)
		}
		os.Exit(run(argv, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// cli runs dsamstan in-process and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestEveryCommandHasAWorkedExample(t *testing.T) {
	root := newRootCmd(streams{})
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if !strings.Contains(c.Example, "dsamstan "+c.Name()) {
			t.Errorf("dsamstan %s --help has no worked example", c.Name())
		}
	}
}

func TestVersionAndCompletion(t *testing.T) {
	code, out, _ := cli(t, "--version")
	if code != 0 || !strings.Contains(out, "dsamstan version") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	code, out, _ = cli(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d", code)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"frobnicate"},
		{"run", "a.yaml", "--no-such-flag"},
		{"example", "blm"},
		{"example", "nonsense", "--out", "x"},
		{"summary"},
	} {
		code, _, stderr := cli(t, args...)
		if code != exitUsage {
			t.Errorf("dsamstan %s: exit %d; want %d (stderr %q)", strings.Join(args, " "), code, exitUsage, stderr)
		}
	}
}

// TestInitTemplatesValidate writes every template beside the matching example dataset and
// validates it: a template that does not load would be a poor start.
func TestInitTemplatesValidate(t *testing.T) {
	for tmpl, kind := range map[string][]string{"master": {"blm"}, "blm": {"blm"}, "re": {"hierarchical"}, "cre": {"hierarchical"}, "hierarchical": {"hierarchical"}, "pooled": {"pooled"}} {
		dir := t.TempDir()
		if code, _, stderr := cli(t, append([]string{"example"}, append(kind, "--out", dir)...)...); code != 0 {
			t.Fatalf("example: %s", stderr)
		}
		out := dir + "/" + tmpl + ".yaml"
		if code, _, stderr := cli(t, "init", "--template", tmpl, "--out", out); code != 0 {
			t.Fatalf("init %s: %s", tmpl, stderr)
		}
		if code, stdout, stderr := cli(t, "validate", out); code != 0 || !strings.Contains(stdout, "Status: ok") {
			t.Errorf("template %s does not validate:\n%s%s", tmpl, stdout, stderr)
		}
		if code, _, stderr := cli(t, "init", "--template", tmpl, "--out", out); code != exitError || !strings.Contains(stderr, "--overwrite") {
			t.Errorf("init over an existing file: exit %d, %q", code, stderr)
		}
		if code, _, _ := cli(t, "init", "--template", tmpl, "--out", out, "--overwrite"); code != 0 {
			t.Errorf("init --overwrite: exit %d", code)
		}
	}
	if code, _, _ := cli(t, "init", "--template", "nested", "--out", t.TempDir()+"/x.yaml"); code != exitUsage {
		t.Errorf("unknown template: exit %d; want %d", code, exitUsage)
	}
}

// TestMasterTemplateRuns: the master config (every section, switched off or at its
// defaults) runs end to end on the example data, as written (fake CmdStan).
func TestMasterTemplateRuns(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := t.TempDir()
	if code, _, stderr := cli(t, "example", "blm", "--out", dir); code != 0 {
		t.Fatalf("example: %s", stderr)
	}
	cfg := filepath.Join(dir, "master.yaml")
	if code, _, stderr := cli(t, "init", "--template", "master", "--out", cfg); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	runDir := filepath.Join(dir, "run")
	if code, _, stderr := cli(t, "run", "--config", cfg, "--cmdstan", home, "--run-dir", runDir, "--chains", "2"); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"00_run_metadata/priors.csv", "30_post_run/posterior_summary.csv", "40_diagnostics/diagnostics_report.csv", "index.html"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("the master config's run lacks %s: %v", f, err)
		}
	}
}
