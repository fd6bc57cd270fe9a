//go:build calibration

package calibrate

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkCalibrateExample calibrates the panel example as `dsamstan example
// hierarchical` writes it (8 markets × 156 weeks) with 100 simulations and the config's
// sampler settings (4 chains × (1000 + 1000), 2 cores per simulation, simulations one at
// a time on 2 CPUs), and reports the verdict and the time per simulation.
// DSAMSTAN_CALIBRATE_SIMS, _WARMUP, _SAMPLES and _JOBS override the settings. Needs
// CmdStan: make calibrate-bench.
func BenchmarkCalibrateExample(b *testing.B) {
	needCmdStan(b)
	env := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv("DSAMSTAN_CALIBRATE_" + name)); err == nil && n > 0 {
			return n
		}
		return def
	}
	config := exampleConfig(b, 8, 156)
	o := Options{ConfigPath: config, Sims: env("SIMS", 100), Warmup: env("WARMUP", 0), Samples: env("SAMPLES", 0),
		Jobs: env("JOBS", 0), Log: os.Stderr}
	for i := 0; b.Loop(); i++ {
		o.Out = filepath.Join(b.TempDir(), "sbc")
		start := time.Now()
		res, err := Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d simulations in %.0fs (%.1fs each), %d with divergences, %d program(s): %s",
			res.Sims, time.Since(start).Seconds(), time.Since(start).Seconds()/float64(res.Sims), res.Divergent, res.Programs, res.Verdict)
	}
}
