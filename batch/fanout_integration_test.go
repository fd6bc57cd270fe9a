package batch

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/runfolder"
)

// TestIntegrationFanoutSlurm fits two transform sensitivity scenarios as a job array on a
// real one-node Slurm with the real CmdStan, then the best one here, whose two time-series
// CV folds go to Slurm as a second array: the command line a user types, with the built binary.
func TestIntegrationFanoutSlurm(t *testing.T) {
	bin := startSlurm(t)
	cfg := scenarioConfig(t)
	b, _ := os.ReadFile(cfg)
	s := strings.NewReplacer("iter: 2000", "iter: 400", "warmup: 1000", "warmup: 200", "[0.1, 0.5, 0.8]", "[0.2, 0.7]").Replace(string(b))
	s += "diagnostics:\n  time_series_selection: { enabled: true, folds: 2, horizon: 13, min_train: 52 }\n"
	os.WriteFile(cfg, []byte(s), 0o644)
	var log bytes.Buffer
	runDir := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	cmd := exec.Command(bin, "run", cfg, "--run-dir", runDir, "--executor", "slurm", "--time", "10m", "--poll", "1s")
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	t.Logf("%.0fs\n%s", time.Since(start).Seconds(), log.String())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(runDir, runfolder.StagePreRun, runfolder.TransformSensitivityFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(raw), ",ok") != 2 || strings.Count(string(raw), ",true,") != 1 {
		t.Errorf("want two fitted scenarios, one chosen:\n%s", raw)
	}
	if !strings.Contains(log.String(), "COMPLETED") {
		t.Errorf("the log shows no task completing")
	}
	if !strings.Contains(log.String(), "tscv: submitted Slurm job array") || !strings.Contains(log.String(), "tscv: fold 02 (holdout from") {
		t.Errorf("the log shows no CV folds fitted on Slurm")
	}
	sum, err := os.ReadFile(filepath.Join(runDir, runfolder.StageModelSelection, pipeline.TSCVSummaryFile))
	if err != nil || !strings.Contains(string(sum), "\nall,") {
		t.Errorf("tscv_summary.csv (%v):\n%s", err, sum)
	}
}
