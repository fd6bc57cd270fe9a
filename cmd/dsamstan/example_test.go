package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/simulate"
)

// TestExampleTransforms checks that --transforms writes the transforms variant (its truth
// names the transform parameters as the outputs do, its config estimates them), and that
// without the flag the files are those of the plain simulator, unchanged.
func TestExampleTransforms(t *testing.T) {
	for _, kind := range []string{"blm", "hierarchical"} {
		dir := t.TempDir()
		if code, _, stderr := cli(t, "example", kind, "--transforms", "--out", dir); code != 0 {
			t.Fatalf("example %s --transforms: exit %d: %s", kind, code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
		if err != nil {
			t.Fatal(err)
		}
		var truth simulate.Truth
		if err := json.Unmarshal(b, &truth); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"adstock_decay[m_tv]", "half_saturation[m_tv]", "hill_shape[m_tv]"} {
			if _, ok := truth.Transforms[name]; !ok {
				t.Errorf("%s truth.json lacks %s: %s", kind, name, b)
			}
		}
		if _, ok := truth.GroupSD["sd_1[m_tv]"]; ok != (kind == "hierarchical") {
			t.Errorf("%s truth.json: sd_1[m_tv] present = %v", kind, ok)
		}
		cfg, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
		if !strings.Contains(string(cfg), "decay: estimate") || !strings.Contains(string(cfg), "date_var: date") {
			t.Errorf("%s config does not estimate the transforms:\n%s", kind, cfg)
		}

		plain := t.TempDir()
		cli(t, "example", kind, "--out", plain)
		var ex *simulate.Example
		if kind == "blm" {
			ex, err = simulate.BLM(simulate.BLMOptions{})
		} else {
			ex, err = simulate.Hierarchical(simulate.PanelOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(plain, "data.csv"))
		if string(got) != string(ex.CSV) || strings.Contains(string(ex.Config), "transforms") {
			t.Errorf("%s without --transforms differs from the plain example", kind)
		}
	}
	if code, _, _ := cli(t, "example", "hierarchical", "--cre", "--transforms", "--out", t.TempDir()); code != exitUsage {
		t.Errorf("--cre --transforms: exit %d; want %d", code, exitUsage)
	}
}

// TestExamplePooled checks that `example pooled` writes the data, the map and a config
// that validates, with the true pooled_mean and level effects in truth.json, and that the
// flags of the other examples are refused.
func TestExamplePooled(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := cli(t, "example", "pooled", "--out", dir); code != 0 {
		t.Fatalf("example pooled: exit %d: %s", code, stderr)
	}
	m, err := os.ReadFile(filepath.Join(dir, "pooling_map.csv"))
	if err != nil || !strings.HasPrefix(string(m), "term,channel,campaign\n") {
		t.Errorf("pooling_map.csv: %v\n%s", err, m)
	}
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth simulate.Truth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pooled_mean", "pooled_effect[channel=tv]", "pooled_effect[campaign=product]"} {
		if _, ok := truth.Pooled[name]; !ok {
			t.Errorf("truth.json lacks pooled %s: %s", name, b)
		}
	}
	if code, stdout, stderr := cli(t, "validate", filepath.Join(dir, "config.yaml")); code != 0 || !strings.Contains(stdout, "Status: ok") {
		t.Errorf("the pooled example's config does not validate:\n%s%s", stdout, stderr)
	}
	if code, _, _ := cli(t, "example", "pooled", "--transforms", "--out", t.TempDir()); code != exitUsage {
		t.Errorf("example pooled --transforms: exit %d; want %d", code, exitUsage)
	}
}

// TestCPUProfile: the hidden --cpuprofile writes a profile go tool pprof reads (gzipped
// protocol buffers), and is not listed in --help.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	if code, _, stderr := cli(t, "example", "hierarchical", "--markets", "20", "--out", filepath.Join(dir, "ex"), "--cpuprofile", prof); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("%s is not a gzipped profile (%d bytes)", prof, len(b))
	}
	if _, stdout, _ := cli(t, "--help"); strings.Contains(stdout, "cpuprofile") {
		t.Error("--help lists the hidden --cpuprofile")
	}
}
