//go:build cmdstan

package codegen

import (
	"os"
	"sync"
	"testing"

	"github.com/dsamstan/dsamstan/simulate"
)

// benchPanels are the panels of BenchmarkFit: the hierarchical example and a large panel.
var benchPanels = []struct {
	name string
	opts simulate.PanelOptions
}{
	{"8x156", simulate.PanelOptions{}},
	{"50x260", simulate.PanelOptions{Markets: 50, Weeks: 260}},
}

// benchOurs remembers our program's min ESS/s per panel, for the baseline's speedup.
var benchOurs sync.Map

// BenchmarkFit fits the hierarchical example (8 markets × 156 weeks) and a 50 × 260
// panel with dsamstan's program (integrated), with the sampled program (the default
// before group effects were integrated out, reachable through
// model.random_effects.parameterization) and with the textbook baseline
// (testdata/bench/baseline_noncentred.stan: same data, priors and posterior), 4 chains
// of 1000 warmup + 1000 draws, 2 at a time, and reports the sampling wall time, the
// divergences, max Rhat and min bulk-ESS over the sd_* parameters and min ESS/s; the
// sampled program and the baseline also report speedup, our min ESS/s over their own. The baseline takes minutes
// on 8 × 156 and 15 minutes or more on 50 × 260:
//
//	go test -tags cmdstan -run '^$' -bench 'Fit/8x156' -benchtime 1x -timeout 90m ./codegen
func BenchmarkFit(b *testing.B) {
	r := cmdstanRunner(b)
	baseline, err := os.ReadFile(baselineProgram)
	if err != nil {
		b.Fatal(err)
	}
	for _, panel := range benchPanels {
		spec, _ := panelSpec(b, panel.opts)
		p, err := Render(b.Context(), nil, spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(panel.name+"/dsamstan", func(b *testing.B) {
			var res *fitResult
			for b.Loop() {
				res = fitProgram(b, r, p.Code, p.Data, fitOptions{metric: p.Metric, adaptDelta: p.AdaptDelta, seed: 123, decode: p.Decode})
			}
			benchOurs.Store(panel.name, res.essPerSecond())
			report(b, res)
			b.Logf("%s: parameterisation %s", panel.name, describeChoices(p.RandomEffects))
		})
		b.Run(panel.name+"/sampled", func(b *testing.B) {
			s := renderSampled(b, spec)
			var res *fitResult
			for b.Loop() {
				res = fitProgram(b, r, s.Code, s.Data, fitOptions{metric: s.Metric, adaptDelta: s.AdaptDelta, seed: 123, decode: s.Decode})
			}
			report(b, res)
			if ours, ok := benchOurs.Load(panel.name); ok {
				b.ReportMetric(ours.(float64)/res.essPerSecond(), "speedup")
			}
			b.Logf("%s: parameterisation %s", panel.name, describeChoices(s.RandomEffects))
		})
		b.Run(panel.name+"/baseline", func(b *testing.B) {
			data, err := baselineData(spec, p)
			if err != nil {
				b.Fatal(err)
			}
			var res *fitResult
			for b.Loop() {
				res = fitProgram(b, r, baseline, data, fitOptions{metric: "diag_e", seed: 123, decode: baselineDecoder(spec, p)})
			}
			report(b, res)
			if ours, ok := benchOurs.Load(panel.name); ok {
				b.ReportMetric(ours.(float64)/res.essPerSecond(), "speedup")
			}
		})
	}
}

// report prints a fit's figures as benchmark metrics.
func report(b *testing.B, res *fitResult) {
	b.ReportMetric(res.wall.Seconds(), "wall_s")
	b.ReportMetric(float64(res.divergences), "divergences")
	b.ReportMetric(res.maxRhat, "max_rhat_sd")
	b.ReportMetric(res.minESS, "min_ess_sd")
	b.ReportMetric(res.essPerSecond(), "min_ess/s")
	b.Logf("wall %.2fs, %d divergences, max Rhat(sd_*) %.4f, min ESS(sd_*) %.0f (%s), min ESS/s %.1f",
		res.wall.Seconds(), res.divergences, res.maxRhat, res.minESS, res.minESSName, res.essPerSecond())
}

// essPerSecond is the minimum bulk-ESS over the group scales per second of sampling.
func (r *fitResult) essPerSecond() float64 { return r.minESS / r.wall.Seconds() }
