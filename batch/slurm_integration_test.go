package batch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/internal/slurmtest"
	"github.com/dsamstan/dsamstan/runfolder"
)

// startSlurm starts a one-node Slurm for the test (skipping it, in one line, under -short or
// without CmdStan or what the cluster needs) and builds the dsamstan its tasks run.
func startSlurm(t *testing.T) (binary string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the Slurm integration test")
	}
	if _, err := cmdstan.Find(""); err != nil {
		t.Skipf("CmdStan not found, skipping the Slurm integration test: %v", err)
	}
	slurmtest.Start(t)
	bin := filepath.Join(t.TempDir(), "dsamstan")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/dsamstan/dsamstan/cmd/dsamstan").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestIntegrationSlurm runs a batch of three small fits, one with a broken config, as a job
// array on a real one-node Slurm with the real CmdStan: the broken run is reported failed
// with its reason; once fixed, --resume runs it alone; the model compiles at most once.
func TestIntegrationSlurm(t *testing.T) {
	bin := startSlurm(t)
	cfgs := exampleConfigs(t, "a", "b", "c")
	for _, c := range cfgs {
		b, _ := os.ReadFile(c)
		s := strings.NewReplacer("iter: 2000", "iter: 400", "warmup: 1000", "warmup: 200").Replace(string(b))
		os.WriteFile(c, []byte(s), 0o644)
	}
	breakConfig(t, cfgs[1])
	var stdout, stderr bytes.Buffer
	out := filepath.Join(t.TempDir(), "batch")
	opts := Options{Configs: cfgs, Executor: Slurm, Out: out, Jobs: 2, Binary: bin, Poll: time.Second,
		Slurm: SlurmOptions{Time: SlurmTime(10 * time.Minute)}, Stdout: &stdout, Stderr: &stderr}
	start := time.Now()
	err := Run(context.Background(), opts)
	t.Logf("first batch: %.0fs\n%s%s", time.Since(start).Seconds(), stdout.String(), stderr.String())
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 1 || fe.Total != 3 {
		t.Fatalf("Run: %v; want 1 of 3 runs failed", err)
	}
	rows := readSummary(t, out)
	for i, want := range []string{Completed, Failed, Completed} {
		if rows[i]["status"] != want {
			t.Errorf("run %d: %q (%s); want %q", i, rows[i]["status"], rows[i]["reason"], want)
		}
	}
	if r := rows[1]["reason"]; !strings.Contains(r, "FAILED") || !strings.Contains(r, "missing.csv") {
		t.Errorf("the broken run's reason %q does not give Slurm's state and the run's error", r)
	}
	if rows[0]["elpd_loo"] == "" || rows[0]["verdict"] == "" {
		t.Errorf("a completed run lacks its figures: %v", rows[0])
	}
	m, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	first := m.Runs[0].JobID
	stamp := func(r *Entry) time.Time {
		st, err := os.Stat(filepath.Join(r.RunDir, runfolder.StageMetadata, runfolder.RunJSON))
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	a0 := stamp(m.Runs[0])

	b, _ := os.ReadFile(cfgs[1])
	os.WriteFile(cfgs[1], bytes.Replace(b, []byte("missing.csv"), []byte("data.csv"), 1), 0o644)
	stdout.Reset()
	start = time.Now()
	if err := Resume(context.Background(), out, Options{Binary: bin, Poll: time.Second, Stdout: &stdout, Stderr: &stderr}); err != nil {
		t.Fatalf("Resume: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	t.Logf("resume: %.0fs\n%s", time.Since(start).Seconds(), stdout.String())
	m, _ = Load(out)
	if len(m.Submissions) != 2 || m.Submissions[1].Array != "1%2" {
		t.Errorf("submissions %+v; want the second to be task 1 alone", m.Submissions)
	}
	if m.Runs[0].JobID != first || m.Runs[2].JobID != first || m.Runs[1].JobID == first {
		t.Errorf("job ids after resume: %s %s %s (first array %s)", m.Runs[0].JobID, m.Runs[1].JobID, m.Runs[2].JobID, first)
	}
	if !stamp(m.Runs[0]).Equal(a0) {
		t.Error("resume reran a completed run")
	}
	compiles, keys := 0, map[string]bool{}
	for _, r := range m.Runs {
		info, err := runfolder.ReadRunInfo(runfolder.Detect(r.RunDir))
		if err != nil {
			t.Fatal(err)
		}
		if info.Status != runfolder.StatusCompleted {
			t.Errorf("%s: %s", r.Name(), info.Status)
		}
		if info.CompileCacheHit != nil && !*info.CompileCacheHit {
			compiles++
		}
		keys[info.CompileKey] = true
	}
	if compiles > 1 || len(keys) != 1 {
		t.Errorf("%d compiles of %d models for three runs of one model; want at most one compile of one", compiles, len(keys))
	}
}
