package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// TestSignalsDuringSampling runs the real dsamstan command (this test binary, see TestMain)
// against a fake CmdStan whose chains hang, signals it once the chains are running, and
// checks what a user would: exit status 130, run.json says interrupted, and no summary
// was written from partial chains.
func TestSignalsDuringSampling(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			home := fakecmdstan.New(t, fakecmdstan.Hang)
			dir := exampleDir(t)
			runDir := filepath.Join(dir, "run")
			args, _ := json.Marshal([]string{"run", filepath.Join(dir, "config.yaml"), "--cmdstan", home, "--run-dir", runDir, "--chains", "2"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "DSAMSTAN_TEST_MAIN="+string(args))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(runDir, "20_model_fit", "chain_2.csv")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatalf("chains never started:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
				t.Fatalf("exit = %v; want status %d\n%s", err, exitInterrupted, stderr.String())
			}
			b, err := os.ReadFile(filepath.Join(runDir, "00_run_metadata", "run.json"))
			if err != nil {
				t.Fatal(err)
			}
			var info struct{ Status string }
			json.Unmarshal(b, &info)
			if info.Status != "interrupted" {
				t.Errorf("run.json status = %q; want interrupted", info.Status)
			}
			if _, err := os.Stat(filepath.Join(runDir, "30_post_run", "posterior_summary.csv")); err == nil {
				t.Error("an interrupted run wrote posterior_summary.csv")
			}
		})
	}
}
