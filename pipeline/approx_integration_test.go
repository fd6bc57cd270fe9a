package pipeline

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestIntegrationApproximateMeans fits the BLM example and a small panel by MCMC, Laplace,
// Pathfinder and MAP with the real CmdStan (one compiled program per model, from the cache)
// and wants every parameter's Laplace and Pathfinder posterior mean within 0.5 MCMC
// posterior sd of the MCMC mean. The MAP's differences are logged, not checked: the mode
// is not the mean of a skewed posterior (noise_sd's), and a panel's mode shrinks the group
// sds to 0.
func TestIntegrationApproximateMeans(t *testing.T) {
	needCmdStan(t)
	for name, config := range map[string]func(t *testing.T) string{"blm": writeExample, "panel": writePanel} {
		t.Run(name, func(t *testing.T) { approximateMeans(t, config(t)) })
	}
}

func approximateMeans(t *testing.T, config string) {
	fit := func(method string) *Result {
		t.Helper()
		editConfig(t, config, "method: mcmc", "method: "+method)
		defer editConfig(t, config, "method: "+method, "method: mcmc")
		res, err := Run(context.Background(), Options{noReport: true, ConfigPath: config, RunDir: filepath.Join(t.TempDir(), method), Cores: 2})
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return res
	}
	mcmc := rowsByName(fit("mcmc").Summary)
	for _, method := range []string{"laplace", "pathfinder", "optimise"} {
		res := fit(method)
		var lines []string
		worst := 0.0
		for name, r := range rowsByName(res.Summary) {
			m, ok := mcmc[name]
			if !ok {
				t.Fatalf("%s: no MCMC row for %s", method, name)
			}
			z := (r.Mean - m.Mean) / m.SD
			worst = math.Max(worst, math.Abs(z))
			lines = append(lines, fmt.Sprintf("%-28s mcmc %10.4g (sd %8.3g)  %s %10.4g  (%+.2f sd)", name, m.Mean, m.SD, method, r.Mean, z))
			if method != "optimise" && math.Abs(z) > 0.5 {
				t.Errorf("%s: %s mean %.4g is %.2f MCMC sd from the MCMC mean %.4g (sd %.3g); want within 0.5",
					method, name, r.Mean, z, m.Mean, m.SD)
			}
		}
		sort.Strings(lines)
		a := res.Info.Approximation
		k := "none"
		if a != nil && a.ParetoK != nil {
			k = fmt.Sprintf("%.3f", *a.ParetoK)
		}
		t.Logf("%s (Pareto k̂ %s, diagnostics %s, largest |difference| %.2f sd, fit %.1fs):\n%s",
			method, k, res.Info.Diagnostics, worst, res.Info.Timings["fit"], strings.Join(lines, "\n"))
		if method != "optimise" && (a == nil || a.Method != method) {
			t.Errorf("%s: run.json approximation = %+v", method, a)
		}
	}
}
