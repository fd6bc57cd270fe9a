//go:build cmdstan

package codegen

import (
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/simulate"
)

// baselineProgram is the textbook row-wise non-centred program of the panel model.
const baselineProgram = "../testdata/bench/baseline_noncentred.stan"

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
// panel with dsamstan's program and with the textbook baseline
// (testdata/bench/baseline_noncentred.stan: same data, priors and posterior), 4 chains
// of 1000 warmup + 1000 draws, 2 at a time, and reports the sampling wall time, the
// divergences, max Rhat and min bulk-ESS over the sd_* parameters and min ESS/s; the
// baseline also reports speedup, our min ESS/s over its own. The baseline takes minutes
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
				res = fitProgram(b, r, p.Code, p.Data, fitOptions{metric: p.Metric, seed: 123, decode: p.Decode})
			}
			benchOurs.Store(panel.name, res.essPerSecond())
			report(b, res)
			b.Logf("%s: parameterisation %s", panel.name, describeChoices(p.RandomEffects))
		})
		b.Run(panel.name+"/baseline", func(b *testing.B) {
			data, err := baselineData(spec, p)
			if err != nil {
				b.Fatal(err)
			}
			var res *fitResult
			for b.Loop() {
				res = fitProgram(b, r, baseline, data, fitOptions{metric: "diag_e", seed: 123, decode: baselineDecode})
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

// baselineData is the baseline program's data for a one-factor panel: the standardised
// design row by row, the response, the group of each row and its group-varying columns,
// and the priors and bounds of dsamstan's program (the same numbers).
func baselineData(spec *ingest.Spec, p *Program) ([]cmdstan.Var, error) {
	if len(spec.Groups) != 1 || !spec.Terms[0].Intercept {
		return nil, fmt.Errorf("the baseline takes one grouping factor and an intercept")
	}
	g := spec.Groups[0]
	x, y := standardise(spec)
	rows := make([][]float64, spec.N)
	z := make([][]float64, spec.N)
	groups := make([]int, spec.N)
	for i := range rows {
		rows[i] = make([]float64, len(x))
		for k := range x {
			rows[i][k] = x[k][i]
		}
		for _, k := range g.Terms {
			z[i] = append(z[i], x[k][i])
		}
		groups[i] = g.Of[i] + 1
	}
	value := func(name string) any {
		for _, v := range p.Data {
			if v.Name == name {
				return v.Value
			}
		}
		return nil
	}
	lb := value("lb").([]float64)
	if !math.IsInf(lb[0], -1) || !math.IsInf(value("ub").([]float64)[0], 1) {
		return nil, fmt.Errorf("the baseline takes an unbounded intercept")
	}
	vars := []cmdstan.Var{
		{Name: "N", Value: spec.N}, {Name: "K", Value: len(x)}, {Name: "X", Value: rows}, {Name: "Y", Value: y},
		{Name: "G", Value: len(g.Levels)}, {Name: "J", Value: len(g.Terms)}, {Name: "J_1", Value: groups}, {Name: "Z_1", Value: z},
	}
	for _, name := range []string{"prior_mean", "prior_sd", "lb", "ub", "sd_1_prior_mean", "sd_1_prior_sd",
		"prior_family_noise_sd", "noise_sd_prior_a", "noise_sd_prior_b"} {
		vars = append(vars, cmdstan.Var{Name: name, Value: value(name)})
	}
	return vars, nil
}

// baselineDecode returns the baseline's group scales (column sd_1.j, named sd_1[j]) and
// noise_sd: ESS and Rhat do not depend on the units.
func baselineDecode(ch *cmdstan.Chain) ([]string, [][]float64, error) {
	var names []string
	var draws [][]float64
	for j, c := range ch.Columns {
		switch {
		case c == "noise_sd":
			names = append(names, c)
		case strings.HasPrefix(c, "sd_1."):
			names = append(names, "sd_1["+strings.TrimPrefix(c, "sd_1.")+"]")
		default:
			continue
		}
		draws = append(draws, ch.Draws[j])
	}
	if len(names) < 2 {
		return nil, nil, fmt.Errorf("%s: no sd_1 columns", ch.Path)
	}
	return names, draws, nil
}
