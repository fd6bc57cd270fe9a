package calibrate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
)

// cancelAfter is a log that cancels a context once it has seen n finished simulations.
type cancelAfter struct {
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Count(c.buf.String(), "done in") >= c.n {
		c.cancel()
	}
	return len(p), nil
}

// TestInterruptKeepsResults cancels a calibration (as Ctrl-C does) after two simulations
// against a fake CmdStan: the error is cmdstan.ErrInterrupted, and the ranks of the
// finished simulations, their summary and the verdict are written.
func TestInterruptKeepsResults(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &cancelAfter{n: 2, cancel: cancel}
	out := filepath.Join(t.TempDir(), "sbc")
	res, err := Run(ctx, Options{ConfigPath: exampleConfig(t, 0, 0), Sims: 50, Jobs: 1, Warmup: 20, Samples: 20,
		CmdStanDir: home, Out: out, Log: log})
	if !errors.Is(err, cmdstan.ErrInterrupted) {
		t.Fatalf("Run = %v; want ErrInterrupted", err)
	}
	if res == nil || res.Sims < 2 || res.Sims >= 50 {
		t.Fatalf("result %+v; want the 2 or so simulations that finished", res)
	}
	ranks, _ := os.ReadFile(filepath.Join(out, "calibration_ranks.csv"))
	if n := strings.Count(string(ranks), "\n"); n != 1+8*res.Sims {
		t.Errorf("calibration_ranks.csv has %d lines; want %d", n, 1+8*res.Sims)
	}
	summary, _ := os.ReadFile(filepath.Join(out, "calibration.csv"))
	if !strings.Contains(string(summary), "noise_sd,"+strconv.Itoa(res.Sims)+",") {
		t.Errorf("calibration.csv:\n%s", summary)
	}
	if _, err := os.Stat(filepath.Join(out, "verdict.txt")); err != nil {
		t.Error(err)
	}
}
