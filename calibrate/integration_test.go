package calibrate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/simulate"
)

// needCmdStan skips a test that fits with the real CmdStan when -short or when none is
// installed.
func needCmdStan(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: skipping CmdStan fits")
	}
	if _, err := cmdstan.Find(""); err != nil {
		tb.Skipf("CmdStan not found, skipping the calibration: %v", err)
	}
}

// exampleConfig writes a simulated example (dsamstan example blm, or hierarchical when
// markets > 0) and returns its config.
func exampleConfig(tb testing.TB, markets, weeks int) string {
	tb.Helper()
	dir := tb.TempDir()
	if markets == 0 {
		ex, err := simulate.BLM(simulate.BLMOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		if err := ex.Write(dir); err != nil {
			tb.Fatal(err)
		}
	} else {
		ex, err := simulate.Hierarchical(simulate.PanelOptions{Markets: markets, Weeks: weeks})
		if err != nil {
			tb.Fatal(err)
		}
		if err := ex.Write(dir); err != nil {
			tb.Fatal(err)
		}
	}
	return filepath.Join(dir, "config.yaml")
}

func calibrateExample(t *testing.T, config string, o Options) *Result {
	t.Helper()
	seed := int64(1)
	o.ConfigPath, o.Out, o.Seed = config, filepath.Join(t.TempDir(), "sbc"), &seed
	start := time.Now()
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	worst := res.Params[0]
	for _, p := range res.Params {
		if p.P < worst.P {
			worst = p
		}
	}
	t.Logf("%d simulations in %.0fs, %d parameters, %d with divergences, %d program(s); least uniform %s (p = %.3g, coverage %.2f); %s",
		res.Sims, time.Since(start).Seconds(), len(res.Params), res.Divergent, res.Programs, worst.Parameter, worst.P, worst.Coverage90, res.Verdict)
	for _, f := range []string{"calibration.csv", "calibration_ranks.csv", "calibration_sims.csv", "verdict.txt", "rank_histograms_1.png"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	return res
}

// TestCalibrateExamples calibrates the single-market example (dsamstan example blm; 30
// simulations of 4 chains × (300 + 300)) and a shorter version of the panel example
// (dsamstan example hierarchical with 8 markets × 52 weeks, the program of the 8 × 156
// example; 20 simulations of 4 chains × (200 + 200)), and asks that no parameter's ranks
// fail the uniformity test at 1% with Bonferroni over the parameters.
func TestCalibrateExamples(t *testing.T) {
	needCmdStan(t)
	for _, c := range []struct {
		name           string
		markets, weeks int
		opts           Options
	}{
		{"blm", 0, 0, Options{Sims: 30, Warmup: 300, Samples: 300}},
		{"panel", 8, 52, Options{Sims: 20, Warmup: 200, Samples: 200}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := calibrateExample(t, exampleConfig(t, c.markets, c.weeks), c.opts)
			if !res.Calibrated {
				t.Errorf("%s: %s", c.name, res.Verdict)
			}
			if res.Programs != 1 {
				t.Errorf("%d programs compiled; want 1", res.Programs)
			}
		})
	}
}

// TestCalibrateFlagsWrongPrior simulates from a prior whose population coefficients'
// means are shifted by 3 prior sds from the prior the program fits with: calibration
// must say so. A shifted prior shows only where the prior informs the posterior, so the
// media coefficients get priors a thousand times narrower than the defaults (narrower
// than what the data say about them).
func TestCalibrateFlagsWrongPrior(t *testing.T) {
	needCmdStan(t)
	config := exampleConfig(t, 0, 0)
	_, spec, err := ingest.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("priors:\n  overrides:\n")
	for k, term := range spec.Terms {
		if strings.HasPrefix(term.Name, "m_") {
			fmt.Fprintf(&b, "    - { parameter: %s, mean: %g, sd: %g }\n", term.Name, spec.Priors[k].Mean, spec.Priors[k].SD/1000)
		}
	}
	text, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "\npriors:\n") {
		t.Fatalf("%s has no priors section to add to", config)
	}
	text = []byte(strings.Replace(string(text), "\npriors:\n", "\n"+b.String(), 1))
	if err := os.WriteFile(config, text, 0o644); err != nil {
		t.Fatal(err)
	}
	res := calibrateExample(t, config, Options{Sims: 20, Warmup: 200, Samples: 200, priorShift: 3})
	if res.Calibrated || !strings.HasPrefix(res.Verdict, "not calibrated: ") {
		t.Errorf("verdict %q; want not calibrated", res.Verdict)
	}
	for _, p := range res.Params {
		if strings.HasPrefix(p.Parameter, "m_") && !p.Flagged {
			t.Errorf("%s: p = %.3g, not flagged", p.Parameter, p.P)
		}
	}
}
