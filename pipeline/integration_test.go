package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/simulate"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

// needCmdStan skips the test with one line when no CmdStan is installed. The compile
// cache is the user's default one, so compiled models are reused across test runs.
func needCmdStan(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: skipping CmdStan integration test")
	}
	if _, err := cmdstan.Find(""); err != nil {
		tb.Skipf("CmdStan not found, skipping integration test: %v", err)
	}
}

// fitExample fits the BLM example (optionally unscaled) with the real CmdStan.
func fitExample(t *testing.T, scale bool) (*Result, simulate.Truth) {
	t.Helper()
	cfg := writeExample(t)
	if !scale {
		raw, _ := os.ReadFile(cfg)
		os.WriteFile(cfg, []byte(strings.Replace(string(raw), "scale: true", "scale: false", 1)), 0o644)
	}
	var truth simulate.Truth
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "truth.json"))
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: filepath.Join(t.TempDir(), "run"), Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	return res, truth
}

func rowsByName(rows []summarise.Row) map[string]summarise.Row {
	m := map[string]summarise.Row{}
	for _, r := range rows {
		m[r.Parameter] = r
	}
	return m
}

// TestIntegrationBLMRecoversTheTruth fits the simulated single-market example and checks
// the posterior against the coefficients it was simulated from: the 90% intervals must
// cover at least 80% of them (about 90% expected) and none may be 3 posterior sd away.
func TestIntegrationBLMRecoversTheTruth(t *testing.T) {
	needCmdStan(t)
	res, truth := fitExample(t, true)
	rows := rowsByName(res.Summary)
	want := map[string]float64{"noise_sd": truth.NoiseSD}
	for k, v := range truth.Coefficients {
		want[k] = v
	}
	covered := 0
	for name, v := range want {
		r, ok := rows[name]
		if !ok {
			t.Fatalf("no summary row for %s", name)
		}
		if r.Q5 <= v && v <= r.Q95 {
			covered++
		}
		if z := math.Abs(r.Mean-v) / r.SD; z > 3 {
			t.Errorf("%s: posterior mean %.4g (sd %.3g) is %.1f sd from the truth %.4g", name, r.Mean, r.SD, z, v)
		}
		if r.Rhat > 1.01 {
			t.Errorf("%s: rhat %.4f > 1.01", name, r.Rhat)
		}
	}
	if frac := float64(covered) / float64(len(want)); frac < 0.8 {
		t.Errorf("90%% intervals cover %d of %d true values (%.0f%%); want at least 80%%", covered, len(want), 100*frac)
	}

	// Bounded media coefficients: not one draw below the bound of 0.
	chains, err := stanio.ReadCSVFiles(context.Background(), res.Info.Chains)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chains {
		if n := ch.NumDraws(); n != 1000 {
			t.Errorf("%s: %d draws; want 1000", ch.Path, n)
		}
		// beta.5..beta.7 are m_tv, m_search, m_social; their scale factors are positive,
		// so a negative original-unit draw would be a negative draw here.
		for _, col := range []string{"beta.5", "beta.6", "beta.7"} {
			for _, v := range ch.Draws[ch.Column(col)] {
				if v < 0 {
					t.Fatalf("%s: %s has a negative draw %g despite its lower bound 0", ch.Path, col, v)
				}
			}
		}
	}
}

// TestIntegrationScaledAndUnscaledAgree fits the same config with model.scale true and
// false: the priors and bounds are the same in original units, so the posteriors must
// agree within Monte Carlo error.
func TestIntegrationScaledAndUnscaledAgree(t *testing.T) {
	needCmdStan(t)
	scaled, _ := fitExample(t, true)
	unscaled, _ := fitExample(t, false)
	u := rowsByName(unscaled.Summary)
	for _, s := range scaled.Summary {
		v := u[s.Parameter]
		// Means differ by Monte Carlo error only; sds by their own (about sd/sqrt(2·ESS)).
		mcse := math.Hypot(s.MCSEMean, v.MCSEMean)
		if z := math.Abs(s.Mean-v.Mean) / mcse; z > 4.5 {
			t.Errorf("%s: scaled mean %.5g, unscaled %.5g: %.1f Monte Carlo se apart", s.Parameter, s.Mean, v.Mean, z)
		}
		if r := v.SD / s.SD; r < 0.9 || r > 1.1 {
			t.Errorf("%s: scaled sd %.4g, unscaled %.4g", s.Parameter, s.SD, v.SD)
		}
	}
}

// BenchmarkRunOverhead measures what a run of the example adds beyond sampling once the
// model is in the compile cache: loading, rendering, the cache lookup, parsing,
// summarising, the derived tables, LOO and optimisation (overhead-s; target under 1 s),
// and separately the plots and index.html (report-s).
func BenchmarkRunOverhead(b *testing.B) {
	needCmdStan(b)
	ex, err := simulate.BLM(simulate.BLMOptions{})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := ex.Write(dir); err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	// Warm the cache outside the timer.
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: filepath.Join(dir, "warm")}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var overhead, fit, page float64
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: filepath.Join(dir, "run", strconv.Itoa(i))})
		if err != nil {
			b.Fatal(err)
		}
		if !res.CacheHit {
			b.Fatal("the second run compiled again")
		}
		t := res.Info.Timings
		overhead += t["total"] - t["fit"] // everything but sampling, up to run.json
		page += t["report"]               // plots and index.html, drawn after the run
		fit += t["fit"]
	}
	b.ReportMetric(overhead/float64(b.N), "overhead-s/run")
	b.ReportMetric(page/float64(b.N), "report-s/run")
	b.ReportMetric(fit/float64(b.N), "sampling-s/run")
}
