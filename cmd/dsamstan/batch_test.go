package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// TestBatchCompilesOnce runs three configs that share one model structure, two at a time,
// against a fake CmdStan that counts its compiles: one compile, three completed runs, one
// summary line each.
func TestBatchCompilesOnce(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	var cfgs []string
	for _, name := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, name+".yaml")
		b, _ := os.ReadFile(filepath.Join(dir, "config.yaml"))
		s := strings.Replace(string(b), "name: example_blm", "name: batch_"+name, 1)
		s = strings.Replace(s, "chains: 4", "chains: 2", 1)
		os.WriteFile(p, []byte(s), 0o644)
		cfgs = append(cfgs, p)
	}
	code, out, stderr := cli(t, append([]string{"batch", "--jobs", "2", "--cmdstan", home}, cfgs...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if n := fakecmdstan.MakeCalls(home); n != 1 {
		t.Errorf("make ran %d times for three runs of one model; want 1", n)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d summary lines; want 3:\n%s", len(lines), out)
	}
	for _, l := range lines {
		// The fake sampler's draws do not fit the data, so the residual checks fail.
		if !strings.HasPrefix(l, "completed") || !strings.Contains(l, "fail") {
			t.Errorf("summary line %q; want completed with a fail verdict", l)
		}
		f := strings.Fields(l)
		if _, err := os.Stat(filepath.Join(f[len(f)-1], "00_run_metadata", "run.log")); err != nil {
			t.Errorf("no run.log: %v", err)
		}
	}
}

func TestBatchReportsFailures(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	dir := exampleDir(t)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("schema_version: 1\ndata: {path: nope.csv}\nmodel: {formula: y ~ x}\n"), 0o644)
	code, out, stderr := cli(t, "batch", "--cmdstan", home, filepath.Join(dir, "config.yaml"), bad)
	if code != exitError {
		t.Errorf("exit %d; want %d", code, exitError)
	}
	if !strings.Contains(out, "failed") || !strings.Contains(out, "completed") || !strings.Contains(stderr, "nope.csv") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, stderr)
	}
}
