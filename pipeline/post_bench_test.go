package pipeline

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/simulate"
)

// fakeDecoded returns 4 chains × 1000 draws of every parameter a fit of spec reports,
// scattered around the simulation's true values, as a posterior would be.
func fakeDecoded(spec *ingest.Spec, truth simulate.Truth) *decoded {
	rng := rand.New(rand.NewPCG(7, 8))
	const chains, perChain = 4, 1000
	d := &decoded{chains: chains, perChain: perChain}
	add := func(name string, centre float64) {
		col := make([]float64, chains*perChain)
		for s := range col {
			col[s] = centre * (1 + 0.02*rng.NormFloat64())
		}
		d.names, d.cols = append(d.names, name), append(d.cols, col)
	}
	for _, t := range spec.Terms {
		add(t.Name, truth.Coefficients[t.Name])
	}
	add(ingest.NoiseSDName, truth.NoiseSD)
	for _, g := range spec.Groups {
		for _, level := range g.Levels {
			for _, k := range g.Terms {
				name := codegen.GroupCoefficientName(spec.Terms[k].Name, g.Factor, level)
				v, ok := truth.GroupCoefficients[name]
				if !ok {
					v = truth.Coefficients[spec.Terms[k].Name]
				}
				add(name, v)
			}
		}
	}
	return d
}

// BenchmarkPostRun times what a run does between reading the chains and drawing the
// report, on the example panel at 8 × 156 and 50 × 260 with 4 chains × 1000 draws: the
// summary table, the derived tables (fitted values, decomposition, posterior_draws.csv …)
// and PSIS-LOO with LOO-PIT beside them, each written to a run folder. It needs no
// CmdStan: the draws are made up. It reports each step's wall seconds per run, and that of
// derive and LOO together.
func BenchmarkPostRun(b *testing.B) {
	for _, size := range []struct{ markets, weeks int }{{8, 156}, {50, 260}} {
		b.Run(fmt.Sprintf("%dx%d", size.markets, size.weeks), func(b *testing.B) {
			ex, err := simulate.Hierarchical(simulate.PanelOptions{Markets: size.markets, Weeks: size.weeks})
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			if err := ex.Write(dir); err != nil {
				b.Fatal(err)
			}
			cfg, spec, err := ingest.Load(filepath.Join(dir, "config.yaml"))
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var summarise, derive, looT, both float64
			for i := 0; b.Loop(); i++ {
				d := fakeDecoded(spec, ex.Truth)
				folder := runfolder.Folder{Dir: filepath.Join(dir, "run", fmt.Sprint(i))}
				r := newRunner(cfg, Options{Log: io.Discard, Now: time.Now}, folder)
				r.report = &diagnostics.Report{Mode: cfg.Diagnostics.PolicyMode}
				if err := r.step("summarise", func() error {
					groupAverages(spec, d)
					return r.folder.Write(runfolder.StagePostRun, runfolder.PosteriorSummary, summaryCSV(summaryRows(d, false)))
				}); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if _, err := r.derivedAndLOO(context.Background(), spec, d); err != nil {
					b.Fatal(err)
				}
				both += time.Since(t0).Seconds()
				t := r.info.Timings
				summarise += t["summarise"]
				derive += t["derive"]
				looT += t["loo"]
			}
			n := float64(b.N)
			b.ReportMetric(summarise/n, "summarise-s")
			b.ReportMetric(derive/n, "derive-s")
			b.ReportMetric(looT/n, "loo-s")
			b.ReportMetric(both/n, "derive+loo-s")
		})
	}
}
