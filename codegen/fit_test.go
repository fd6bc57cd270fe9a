package codegen

import (
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/simulate"
	"github.com/dsamstan/dsamstan/summarise"
)

// fitResult is what a fit of a program gave: its parameters in users' terms, per chain,
// and the sampler's figures.
type fitResult struct {
	names []string
	cols  [][][]float64 // cols[j][c]: chain c's draws of names[j]
	// wall is the time Runner.Sample took (warmup and sampling of every chain).
	wall        time.Duration
	divergences int
	// maxRhat and minESS are over the group scales (names starting "sd_").
	maxRhat, minESS float64
	minESSName      string
}

// essPerSecond is the minimum bulk-ESS over the group scales per second of sampling.
func (r *fitResult) essPerSecond() float64 { return r.minESS / r.wall.Seconds() }

// fitOptions sets how fitProgram samples.
type fitOptions struct {
	metric string
	seed   int64
	// decode maps a chain to named draws; nil means Program.Decode of the program.
	decode func(*cmdstan.Chain) ([]string, [][]float64, error)
}

// cmdstanRunner returns a Runner on the installed CmdStan and the default compile cache
// (so that repeated test runs compile nothing), or skips the test.
func cmdstanRunner(tb testing.TB) *cmdstan.Runner {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: skipping a CmdStan fit")
	}
	inst, err := cmdstan.Find("")
	if err != nil {
		tb.Skipf("CmdStan not found, skipping the fit: %v", err)
	}
	cache, err := cmdstan.OpenCache("")
	if err != nil {
		tb.Fatal(err)
	}
	return cmdstan.NewRunner(inst, cache, nil)
}

// fitProgram compiles code (through the cache) and samples it on data with 4 chains of
// 1000 warmup and 1000 draws, 2 at a time, and summarises the group scales.
func fitProgram(tb testing.TB, r *cmdstan.Runner, code []byte, data []cmdstan.Var, o fitOptions) *fitResult {
	tb.Helper()
	ctx := context.Background()
	comp, err := r.Compile(ctx, code, cmdstan.CompileOptions{ToolDigest: TemplateVersion})
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	dataFile := filepath.Join(dir, "data.json")
	if err := cmdstan.WriteDataFile(dataFile, data); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	csvs, err := r.Sample(ctx, comp.Exe, dataFile, dir, cmdstan.SampleOptions{
		Chains: 4, Cores: 2, Warmup: 1000, Samples: 1000, Seed: o.seed, Metric: o.metric,
	}, nil)
	wall := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	chains, err := cmdstan.ReadCSVFiles(ctx, csvs)
	if err != nil {
		tb.Fatal(err)
	}
	res := &fitResult{wall: wall, minESS: math.Inf(1)}
	for c, ch := range chains {
		div := ch.Column("divergent__")
		if div < 0 {
			tb.Fatalf("%s has no divergent__ column", ch.Path)
		}
		for _, v := range ch.Draws[div] {
			if v != 0 {
				res.divergences++
			}
		}
		names, draws, err := o.decode(ch)
		if err != nil {
			tb.Fatal(err)
		}
		if c == 0 {
			res.names = names
			res.cols = make([][][]float64, len(names))
		}
		for j := range draws {
			res.cols[j] = append(res.cols[j], draws[j])
		}
	}
	for j, name := range res.names {
		if !strings.HasPrefix(name, "sd_") {
			continue
		}
		res.maxRhat = math.Max(res.maxRhat, summarise.RhatRank(res.cols[j]))
		if ess := summarise.ESSBulk(res.cols[j]); ess < res.minESS {
			res.minESS, res.minESSName = ess, name
		}
	}
	return res
}

// panelSpec simulates the hierarchical example (8 markets × 156 weeks unless opts says
// otherwise) and loads it as `dsamstan run` would.
func panelSpec(tb testing.TB, opts simulate.PanelOptions) (*ingest.Spec, simulate.Truth) {
	tb.Helper()
	ex, err := simulate.Hierarchical(opts)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	if err := ex.Write(dir); err != nil {
		tb.Fatal(err)
	}
	_, spec, err := ingest.Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	return spec, ex.Truth
}

// TestFitHierarchical fits the hierarchical example (8 markets × 156 weeks, known truth)
// with CmdStan and checks the sampler and the answer: over the group scales, max Rhat
// <= 1.01 and min bulk-ESS >= 400; no divergent transition; the 90% intervals cover at
// least 80% of the true population coefficients, group scales and per-market slopes, and
// none of those is more than 3 posterior sd from its posterior mean.
func TestFitHierarchical(t *testing.T) {
	r := cmdstanRunner(t)
	spec, truth := panelSpec(t, simulate.PanelOptions{})
	p := render(t, spec)
	res := fitProgram(t, r, p.Code, p.Data, fitOptions{metric: p.Metric, seed: 123, decode: p.Decode})
	t.Logf("8x156: %.2fs, %d divergences, max Rhat(sd_*) %.4f, min ESS(sd_*) %.0f (%s); parameterisation %s",
		res.wall.Seconds(), res.divergences, res.maxRhat, res.minESS, res.minESSName, describeChoices(p.RandomEffects))

	if res.maxRhat > 1.01 {
		t.Errorf("max Rhat over sd_* = %.4f; want <= 1.01", res.maxRhat)
	}
	if res.minESS < 400 {
		t.Errorf("min bulk-ESS over sd_* = %.0f (%s); want >= 400", res.minESS, res.minESSName)
	}
	if res.divergences != 0 {
		t.Errorf("%d divergent transitions; want 0", res.divergences)
	}

	// Population coefficients, group scales, every market's intercept and slopes, noise.
	truthOf := map[string]float64{"noise_sd": truth.NoiseSD}
	for _, m := range []map[string]float64{truth.Coefficients, truth.GroupSD, truth.GroupCoefficients} {
		maps.Copy(truthOf, m)
	}
	covered, checked := 0, 0
	var far []string
	for j, name := range res.names {
		want, ok := truthOf[name]
		if !ok {
			continue
		}
		checked++
		var all []float64
		for _, c := range res.cols[j] {
			all = append(all, c...)
		}
		slices.Sort(all)
		lo, hi := summarise.Quantile(all, 0.05), summarise.Quantile(all, 0.95)
		if want >= lo && want <= hi {
			covered++
		}
		m, sd := meanSD(all)
		if z := math.Abs(want-m) / sd; z > 3 {
			far = append(far, fmt.Sprintf("%s: truth %.4g, posterior %.4g ± %.3g (%.1f sd)", name, want, m, sd, z))
		}
	}
	if checked != len(truthOf) {
		t.Errorf("checked %d of the %d true values; Decode names %v", checked, len(truthOf), res.names)
	}
	t.Logf("90%% intervals cover %d of %d true values", covered, checked)
	if float64(covered) < 0.8*float64(checked) {
		t.Errorf("90%% intervals cover %d of %d true values; want at least 80%%", covered, checked)
	}
	for _, f := range far {
		t.Errorf("more than 3 posterior sd from the truth: %s", f)
	}
}

// describeChoices lists the parameterisation of every group-varying term, for logs.
func describeChoices(choices []REChoice) string {
	var parts []string
	for _, c := range choices {
		parts = append(parts, fmt.Sprintf("sd_%d[%s] %s", c.Index, c.Term, c.Parameterization))
	}
	return strings.Join(parts, ", ")
}
