package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/simulate"
)

// hillCurve is a channel's true steady-state response β·s^k/(s^k + h^k), written out here
// rather than taken from the optimiser, so that the optimum it yields is independent of the
// code under test.
type hillCurve struct{ beta, half, shape float64 }

func (c hillCurve) at(s float64) float64 {
	if s <= 0 {
		return 0
	}
	p := math.Pow(s, c.shape)
	return c.beta * p / (p + math.Pow(c.half, c.shape))
}

// trueCurves returns the true steady-state curve of each channel of the scenario sc, in
// its order (constant spend s adstocks to s, so channel m responds as β_m·h_m(s) with the
// true half_saturation and shape; β by term from beta), and the channels' spend bounds.
func trueCurves(t *testing.T, sc *optimise.Scenario, truth simulate.Truth, beta map[string]float64) (curves []hillCurve, lo, hi []float64) {
	t.Helper()
	for _, ch := range sc.Channels {
		c := hillCurve{
			beta:  beta[ch.Term],
			half:  truth.Transforms[ingest.TransformParamName(ingest.HalfSaturationParam, ch.Term)],
			shape: truth.Transforms[ingest.TransformParamName(ingest.ShapeParam, ch.Term)],
		}
		if c.beta == 0 || c.half == 0 || c.shape == 0 {
			t.Fatalf("truth.json lacks the coefficient or Hill parameters of %s", ch.Term)
		}
		curves, lo, hi = append(curves, c), append(lo, ch.Bounds.Min), append(hi, ch.Bounds.Max)
	}
	return curves, lo, hi
}

// gridOptimum maximises Σ curves[m](s_m) subject to Σ s_m = budget and lo ≤ s ≤ hi by
// exhaustive search: a grid of budget/steps over every channel but the last (which takes
// what is left), then a grid a hundred times finer around the best point. The curves may be
// S-shaped, so no local method is trusted here. It returns the spends and their total.
func gridOptimum(curves []hillCurve, lo, hi []float64, budget float64, steps int) ([]float64, float64) {
	n := len(curves)
	bestS, bestV := []float64(nil), math.Inf(-1)
	s := make([]float64, n)
	var walk func(m int, left, step float64, from, to []float64)
	walk = func(m int, left, step float64, from, to []float64) {
		if m == n-1 {
			if left < lo[m]-1e-12 || left > hi[m]+1e-12 {
				return
			}
			s[m] = left
			var v float64
			for k, c := range curves {
				v += c.at(s[k])
			}
			if v > bestV {
				bestV, bestS = v, append([]float64(nil), s...)
			}
			return
		}
		for x := from[m]; x <= to[m]+1e-12; x += step {
			s[m] = x
			walk(m+1, left-x, step, from, to)
		}
	}
	step := budget / float64(steps)
	walk(0, budget, step, lo, hi)
	coarse := bestS
	from, to := make([]float64, n), make([]float64, n)
	for m := range coarse {
		from[m], to[m] = max(lo[m], coarse[m]-2*step), min(hi[m], coarse[m]+2*step)
	}
	walk(0, budget, step/100, from, to)
	return bestS, bestV
}

// allocatedSpend reads allocation.csv at path: each channel's optimised spend.
func allocatedSpend(t *testing.T, path string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := optimise.ReadAllocation(f)
	if err != nil {
		t.Fatal(err)
	}
	spend := map[string]float64{}
	for _, r := range got.Rows {
		spend[r.Channel] = r.OptimisedSpend
	}
	return spend
}

// truthDecoded is a posterior whose every draw is the simulation's truth: the population
// coefficients, the noise and every estimated transform parameter.
func truthDecoded(spec *ingest.Spec, truth simulate.Truth) *decoded {
	const chains, perChain = 2, 5
	d := &decoded{chains: chains, perChain: perChain}
	add := func(name string, v float64) {
		col := make([]float64, chains*perChain)
		for s := range col {
			col[s] = v
		}
		d.names, d.cols = append(d.names, name), append(d.cols, col)
	}
	for _, t := range spec.Terms {
		add(t.Name, truth.Coefficients[t.Name])
	}
	add(ingest.NoiseSDName, truth.NoiseSD)
	for name, v := range truth.Transforms {
		add(name, v)
	}
	return d
}

// TestAllocationOnTheSimulatedTruth runs a run's optimisation stage on the --transforms
// examples with a posterior that is the simulated truth, so that the model's own
// steady-state curves (constant spend s adstocks to s; the response is β·h(s) with the
// draw's half_saturation and shape) are the true curves, and checks the allocation it
// writes lies within 5% of the budget of the true optimum found by exhaustive search. A
// slip anywhere on the way from the transforms to allocation.csv (a curve built from the
// adstocked rather than the steady-state spend, a transform parameter of the wrong
// channel, a local optimum on an S-shaped curve) moves the allocation well past that.
func TestAllocationOnTheSimulatedTruth(t *testing.T) {
	for _, c := range []struct {
		name string
		ex   func() (*simulate.Example, error)
	}{
		{"blm", func() (*simulate.Example, error) { return simulate.BLM(simulate.BLMOptions{Transforms: true}) }},
		{"panel", func() (*simulate.Example, error) {
			return simulate.Hierarchical(simulate.PanelOptions{Transforms: true})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ex, err := c.ex()
			cfgPath := writeSim(t, ex, err)
			cfg, spec, err := ingest.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			folder := runfolder.Folder{Dir: filepath.Join(filepath.Dir(cfgPath), "run")}
			r := newRunner(cfg, Options{Log: io.Discard, Now: time.Now}, folder)
			r.report = &diagnostics.Report{Mode: cfg.Diagnostics.PolicyMode}
			if err := r.writeOptimisation(context.Background(), spec, mustTable(t, cfgPath, spec), truthDecoded(spec, ex.Truth)); err != nil {
				t.Fatal(err)
			}
			allocated := allocatedSpend(t, folder.Path(runfolder.StageOptimisation, "allocation.csv"))

			sc := cfg.Allocation
			curves, lo, hi := trueCurves(t, sc, ex.Truth, ex.Truth.Coefficients)
			want, best := gridOptimum(curves, lo, hi, sc.BudgetTotal, 400)

			var moved, value float64
			var table string
			for m, ch := range sc.Channels {
				s, ok := allocated[ch.Name]
				if !ok {
					t.Fatalf("allocation.csv has no channel %s", ch.Name)
				}
				moved += math.Abs(s - want[m])
				value += curves[m].at(s)
				table += fmt.Sprintf("  %-8s allocated %8.3f  true optimum %8.3f\n", ch.Name, s, want[m])
			}
			t.Logf("budget %g: sum |allocated − optimum| %.4f; true contribution %.4f against %.4f at the optimum\n%s",
				sc.BudgetTotal, moved, value, best, table)
			if moved > 0.05*sc.BudgetTotal {
				t.Errorf("the allocation on the true curves is %.3f (%.2f%% of the budget) from the true optimum; want at most 5%%", moved, 100*moved/sc.BudgetTotal)
			}
			if value < best*(1-1e-6) {
				t.Errorf("the allocation's true contribution %.6g is below the optimum's %.6g", value, best)
			}
		})
	}
}

// TestGridOptimumFindsKnownOptimum checks the exhaustive search itself on two channels whose
// optimum is known in closed form. The curves β·s/(s + 1) have marginal β/(s + 1)², so equal
// curves split a budget of 10 evenly, and with β = 2 and 1 the optimum has equal marginals:
// s₁ + 1 = √2·(s₂ + 1), so s₂ = 12/(1 + √2) − 1.
func TestGridOptimumFindsKnownOptimum(t *testing.T) {
	lo, hi := []float64{0, 0}, []float64{10, 10}
	s, _ := gridOptimum([]hillCurve{{1, 1, 1}, {1, 1, 1}}, lo, hi, 10, 400)
	if math.Abs(s[0]-5) > 1e-3 || math.Abs(s[1]-5) > 1e-3 {
		t.Errorf("equal curves: %v, want [5 5]", s)
	}
	s, _ = gridOptimum([]hillCurve{{2, 1, 1}, {1, 1, 1}}, lo, hi, 10, 400)
	s2 := 12/(1+math.Sqrt2) - 1
	if math.Abs(s[0]-(10-s2)) > 1e-3 || math.Abs(s[1]-s2) > 1e-3 {
		t.Errorf("unequal curves: %v, want [%.4f %.4f]", s, 10-s2, s2)
	}
}
