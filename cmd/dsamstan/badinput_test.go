package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/simulate"
)

// exampleDir writes the BLM example and returns its folder.
func exampleDir(t *testing.T) string {
	t.Helper()
	ex, err := simulate.BLM(simulate.BLMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// edit replaces old by new in a file of dir, failing when old is absent.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceCell sets one cell of data.csv (row is the 1-based file line, col the header name).
func replaceCell(t *testing.T, dir string, line int, col, value string) {
	t.Helper()
	p := filepath.Join(dir, "data.csv")
	b, _ := os.ReadFile(p)
	lines := strings.Split(string(b), "\n")
	header := strings.Split(lines[0], ",")
	cells := strings.Split(lines[line-1], ",")
	for j, h := range header {
		if h == col {
			cells[j] = value
		}
	}
	lines[line-1] = strings.Join(cells, ",")
	os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
}

// TestBadInputsNameThePlaceAndTheFix covers the refusals a user meets first: each message
// must name where the problem is (file, line, column or key) and what to do.
func TestBadInputsNameThePlaceAndTheFix(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  func(dir string) []string
		want  []string
	}{
		{
			name:  "missing data file",
			setup: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "data.csv")) },
			want:  []string{"config.yaml:", "data.csv", "not found"},
		},
		{
			name:  "non-numeric cell",
			setup: func(t *testing.T, dir string) { replaceCell(t, dir, 5, "m_tv", `"12,5"`) },
			want:  []string{"data.csv:5", `"m_tv"`, "not a number"},
		},
		{
			name: "NA in the response with na_action error",
			setup: func(t *testing.T, dir string) {
				replaceCell(t, dir, 7, "kpi_value", "NA")
				edit(t, filepath.Join(dir, "config.yaml"), "na_action: omit", "na_action: error")
			},
			want: []string{"data.csv:7", "kpi_value", "na_action"},
		},
		{
			name: "formula names a missing column",
			setup: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "config.yaml"), "+ brand_metric", "+ brand_metirc")
			},
			want: []string{"brand_metirc", "^", "brand_metric"},
		},
		{
			name: "unknown config key",
			setup: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "config.yaml"), "    chains: 4\n", "    chains: 4\n    n_chain: 4\n")
			},
			want: []string{"config.yaml:", "n_chain"},
		},
		{
			name: "lower bound above upper",
			setup: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "config.yaml"), "{ parameter: m_tv, lower: 0, upper: .Inf }", "{ parameter: m_tv, lower: 5, upper: 1 }")
			},
			want: []string{"config.yaml:", "m_tv", "lower 5", "upper 1"},
		},
		{
			name: "prior sd not positive",
			setup: func(t *testing.T, dir string) {
				edit(t, filepath.Join(dir, "config.yaml"), "  use_defaults: true", "  use_defaults: true\n  overrides:\n    - { parameter: m_tv, mean: 1, sd: -2 }")
			},
			want: []string{"config.yaml:", "sd", "-2", "> 0"},
		},
		{
			name: "CmdStan not found",
			args: func(dir string) []string {
				return []string{"run", filepath.Join(dir, "config.yaml"), "--cmdstan", filepath.Join(dir, "no-cmdstan"), "--run-dir", filepath.Join(dir, "run")}
			},
			want: []string{"CmdStan", "install_cmdstan.sh"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := exampleDir(t)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			args := []string{"validate", filepath.Join(dir, "config.yaml")}
			if tc.args != nil {
				args = tc.args(dir)
			}
			code, _, stderr := cli(t, args...)
			if code != exitError {
				t.Errorf("exit %d; want %d", code, exitError)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestValidateOK(t *testing.T) {
	dir := exampleDir(t)
	code, out, stderr := cli(t, "validate", filepath.Join(dir, "config.yaml"))
	if code != 0 || !strings.Contains(out, "Status: ok") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

func TestRenderCheck(t *testing.T) {
	dir := exampleDir(t)
	cfg := filepath.Join(dir, "config.yaml")
	code, prog, _ := cli(t, "render", cfg, "--data", filepath.Join(dir, "data.json"))
	if code != 0 || !strings.Contains(prog, "parameters {") {
		t.Fatalf("render: exit %d\n%s", code, prog)
	}
	if _, err := os.Stat(filepath.Join(dir, "data.json")); err != nil {
		t.Error("--data wrote no file")
	}
	stan := filepath.Join(dir, "model.stan")
	os.WriteFile(stan, []byte(prog), 0o644)
	if code, _, stderr := cli(t, "render", cfg, "--check", stan); code != 0 {
		t.Errorf("--check on an up-to-date file: exit %d: %s", code, stderr)
	}
	os.WriteFile(stan, []byte(prog+"// edited\n"), 0o644)
	if code, _, _ := cli(t, "render", cfg, "--check", stan); code != exitError {
		t.Errorf("--check on a stale file: exit %d; want %d", code, exitError)
	}
}

func TestExampleIsReproducible(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	cli(t, "example", "blm", "--out", a, "--seed", "3")
	cli(t, "example", "blm", "--out", b, "--seed", "3")
	for _, f := range []string{"data.csv", "truth.json", "config.yaml"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || string(x) != string(y) {
			t.Errorf("%s differs between two runs with the same seed", f)
		}
	}
}
