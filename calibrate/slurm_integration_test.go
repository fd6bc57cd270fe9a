package calibrate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/batch"
	"github.com/dsamstan/dsamstan/internal/slurmtest"
)

// TestIntegrationSlurmCalibrate runs 3 simulations of the single-market example (4 chains ×
// (200 + 200)) as 3 array tasks on a real one-node Slurm with the real CmdStan and the
// dsamstan binary, and asks that the gathered ranks are those of a local calibration with
// the same seed, byte for byte.
func TestIntegrationSlurmCalibrate(t *testing.T) {
	needCmdStan(t)
	slurmtest.Start(t)
	bin := filepath.Join(t.TempDir(), "dsamstan")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/dsamstan/dsamstan/cmd/dsamstan").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	config := exampleConfig(t, 0, 0)
	out := filepath.Join(t.TempDir(), "sbc")
	seed := int64(1)
	var stdout, log bytes.Buffer
	start := time.Now()
	res, err := Submit(context.Background(),
		Options{ConfigPath: config, Out: out, Sims: 3, Seed: &seed, Warmup: 200, Samples: 200, Log: &log},
		SlurmOptions{Slurm: batch.SlurmOptions{Time: batch.SlurmTime(10 * time.Minute)}, SimsPerTask: 1, Binary: bin,
			Poll: time.Second, Stdout: &stdout})
	t.Logf("Slurm study: %.0fs\n%s%s", time.Since(start).Seconds(), stdout.String(), log.String())
	if err != nil {
		for i := range 3 {
			b, _ := os.ReadFile(filepath.Join(out, "logs", fmt.Sprintf("task_%d_%s.log", i, firstJob(out))))
			t.Logf("task %d log:\n%s", i, b)
		}
		t.Fatalf("Submit: %v", err)
	}
	if res.Sims != 3 || res.Missing != 0 {
		t.Fatalf("result %+v; want 3 simulations", res)
	}
	start = time.Now()
	sameAsLocal(t, out, localStudyWith(t, config, 3, 1, 200))
	t.Logf("local study: %.0fs", time.Since(start).Seconds())
}

// firstJob is the job id of the study's first submission.
func firstJob(dir string) string {
	sf, err := loadStudy(dir)
	if err != nil || len(sf.Submissions) == 0 {
		return "?"
	}
	return sf.Submissions[0].JobID
}
