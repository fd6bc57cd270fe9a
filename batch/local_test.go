package batch

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/simulate"
)

// exampleConfigs writes the simulated single-market example and one config per name beside
// it, each a two-chain copy of the example's config.
func exampleConfigs(t *testing.T, names ...string) []string {
	t.Helper()
	ex, err := simulate.BLM(simulate.BLMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range names {
		s := strings.Replace(string(b), "chains: 4", "chains: 2", 1)
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// breakConfig makes a config point at a data file that does not exist.
func breakConfig(t *testing.T, path string) {
	t.Helper()
	b, _ := os.ReadFile(path)
	s := strings.Replace(string(b), "path: data.csv", "path: missing.csv", 1)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readSummary(t *testing.T, dir string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "batch_summary.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for j, h := range recs[0] {
			row[h] = rec[j]
		}
		rows = append(rows, row)
	}
	return rows
}

// TestLocalBatchFolder runs a local batch with a batch folder against the fake CmdStan: one
// config is broken, so one run fails; the manifest, logs and summary say so; after the
// config is fixed, --resume runs only that one, and the completed runs are kept.
func TestLocalBatchFolder(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfgs := exampleConfigs(t, "a", "b", "c")
	breakConfig(t, cfgs[1])
	out := filepath.Join(t.TempDir(), "batch")
	var stdout, stderr bytes.Buffer
	opts := Options{Configs: cfgs, Out: out, Jobs: 2, CmdStan: home, Version: "test", Stdout: &stdout, Stderr: &stderr}
	err := Run(context.Background(), opts)
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 1 || fe.Total != 3 {
		t.Fatalf("Run: %v; want 1 of 3 failed\n%s%s", err, stdout.String(), stderr.String())
	}
	m, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Runs) != 3 || m.Executor != Local || m.Runs[1].SHA256 == "" || filepath.Base(m.Runs[1].RunDir) != "1_b" {
		t.Fatalf("manifest: %+v", m.Runs)
	}
	rows := readSummary(t, out)
	if len(rows) != 3 {
		t.Fatalf("%d summary rows; want 3", len(rows))
	}
	for i, want := range []string{Completed, Failed, Completed} {
		if rows[i]["status"] != want {
			t.Errorf("run %d: status %q; want %q (%s)", i, rows[i]["status"], want, rows[i]["reason"])
		}
	}
	if !strings.Contains(rows[1]["reason"], "missing.csv") {
		t.Errorf("the failed run's reason %q does not name the missing data file", rows[1]["reason"])
	}
	if rows[0]["elpd_loo"] == "" || rows[0]["verdict"] == "" || rows[0]["r2"] == "" || rows[0]["wall_seconds"] == "" {
		t.Errorf("a completed run's figures are missing: %v", rows[0])
	}
	if log, _ := os.ReadFile(filepath.Join(out, "logs", "task_1.log")); !strings.Contains(string(log), "missing.csv") {
		t.Errorf("task_1.log does not say why the run failed:\n%s", log)
	}

	// --status says the same, and exits as a failure.
	stdout.Reset()
	if err := Check(context.Background(), out, &stdout); !errors.As(err, &fe) {
		t.Errorf("Check: %v; want a FailedError", err)
	}
	if !strings.Contains(stdout.String(), "missing.csv") {
		t.Errorf("status does not say why b failed:\n%s", stdout.String())
	}

	// Fix the config: --resume runs b only.
	b, _ := os.ReadFile(cfgs[1])
	os.WriteFile(cfgs[1], bytes.Replace(b, []byte("missing.csv"), []byte("data.csv"), 1), 0o644)
	before, _ := os.Stat(filepath.Join(m.Runs[0].RunDir, "00_run_metadata", "run.json"))
	stdout.Reset()
	if err := Resume(context.Background(), out, Options{CmdStan: home, Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatalf("Resume: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if n := strings.Count(stdout.String(), "completed"); n != 1 || !strings.Contains(stdout.String(), "b.yaml") {
		t.Errorf("resume ran more or less than b:\n%s", stdout.String())
	}
	after, _ := os.Stat(filepath.Join(m.Runs[0].RunDir, "00_run_metadata", "run.json"))
	if !before.ModTime().Equal(after.ModTime()) {
		t.Error("resume reran a completed run")
	}
	for _, row := range readSummary(t, out) {
		if row["status"] != Completed {
			t.Errorf("after resume: %v", row)
		}
	}

	// A completed run whose config changed is rerun; its earlier folder is kept aside.
	c, _ := os.ReadFile(cfgs[2])
	os.WriteFile(cfgs[2], append(c, []byte("# edited\n")...), 0o644)
	stdout.Reset()
	if err := Resume(context.Background(), out, Options{CmdStan: home, Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if !strings.Contains(stdout.String(), "c.yaml") || strings.Contains(stdout.String(), "a.yaml") {
		t.Errorf("resume after editing c:\n%s", stdout.String())
	}
	if _, err := os.Stat(m.Runs[2].RunDir + ".attempt1"); err != nil {
		t.Errorf("the earlier run of c was not kept: %v", err)
	}
	if err := Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "already holds a batch") {
		t.Errorf("a second batch into the same folder: %v", err)
	}
}

// TestLocalStates reads the state of a local batch's runs from their run folders and logs,
// as --status does while the batch runs in another process or after it was killed.
func TestLocalStates(t *testing.T) {
	for _, tc := range []struct {
		name, runJSON, log string
		attempts           int
		state, reason      string
	}{
		{name: "not started", state: Pending, reason: "not started"},
		{name: "loading", attempts: 1, log: "loading the config\n", state: Running},
		{name: "sampling", attempts: 1, log: "x\n", runJSON: `{"status": "running"}`, state: Running},
		{name: "completed", attempts: 1, log: "x\n", runJSON: `{"status": "completed"}`, state: Completed},
		{name: "interrupted", attempts: 1, log: "x\n", runJSON: `{"status": "interrupted", "error": "cmdstan: interrupted: stopped"}`,
			state: Failed, reason: "run interrupted: cmdstan: interrupted"},
		{name: "config did not load", attempts: 1, log: "Error: ingest: a.yaml:2:1: unknown key\n", state: Failed, reason: "the log says: ingest: a.yaml:2:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := &Entry{Config: "/cfg/a.yaml", RunDir: filepath.Join(dir, "runs", "0_a"), Attempts: tc.attempts}
			if tc.attempts > 0 {
				r.Log = "logs/task_0.log"
			}
			m := &Manifest{Dir: dir, Executor: Local, Runs: []*Entry{r}}
			if tc.runJSON != "" {
				os.MkdirAll(filepath.Join(r.RunDir, "00_run_metadata"), 0o755)
				os.WriteFile(filepath.Join(r.RunDir, "00_run_metadata", "run.json"), []byte(tc.runJSON), 0o644)
			}
			if tc.log != "" {
				os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
				os.WriteFile(filepath.Join(dir, r.Log), []byte(tc.log), 0o644)
			}
			s := statuses(context.Background(), m)[0]
			if s.State != tc.state || !strings.Contains(s.Reason, tc.reason) {
				t.Errorf("%s (%s); want %s (%s)", s.State, s.Reason, tc.state, tc.reason)
			}
		})
	}
}
