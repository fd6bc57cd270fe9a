package calibrate

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/simulate"
)

// TestSummariseParams checks the per-parameter summary on hand-made simulations: "a"
// has uniform ranks and its truth inside every interval; "b" always ranks 0 (the
// posterior sits above the truth), outside every interval.
func TestSummariseParams(t *testing.T) {
	var results []*simResult
	for i := range 20 {
		results = append(results, &simResult{sim: i + 1, draws: 99,
			rank:    []int{(i * 5) % 100, 0},
			covered: []bool{true, false},
			z:       []float64{0.1, 3},
			postVar: []float64{1, 1},
			truth:   []float64{float64(i % 2 * 2), float64(i)}})
	}
	ps := summariseParams([]string{"a", "b"}, results, 0.01)
	a, b := ps[0], ps[1]
	if a.Bins != 4 || a.Sims != 20 {
		t.Errorf("bins %d sims %d; want 4, 20", a.Bins, a.Sims)
	}
	// a: ranks 0, 5, …, 95 fill the 4 bins evenly: chi-square 0, p 1.
	if a.Flagged || math.Abs(a.P-1) > 1e-12 || a.Coverage90 != 1 || math.Abs(a.MeanZ-0.1) > 1e-12 {
		t.Errorf("a: %+v; want p 1, coverage 1, mean z 0.1, not flagged", a)
	}
	// a's truths alternate 0 and 2: variance 20/19, so contraction 1 − 19/20.
	if math.Abs(a.Contraction-(1-19.0/20)) > 1e-12 {
		t.Errorf("a: contraction %v; want %v", a.Contraction, 1-19.0/20)
	}
	// b: 20 ranks in bin 0 where 5 are expected per bin: chi-square 60 on 3 df.
	if !b.Flagged || math.Abs(b.ChiSquare-60) > 1e-9 || b.Coverage90 != 0 {
		t.Errorf("b: %+v; want chi-square 60, coverage 0, flagged", b)
	}
	ok, v := verdict(ps, 0.01)
	if ok || !strings.HasPrefix(v, "not calibrated: b (rank uniformity p < 0.01/2 = 0.005") {
		t.Errorf("verdict %v %q", ok, v)
	}
	if ok, v := verdict(ps[:1], 0.01); !ok || v != "calibrated" {
		t.Errorf("verdict %v %q; want calibrated", ok, v)
	}
}

// TestRunRefuses checks the inputs Run refuses before looking for CmdStan.
func TestRunRefuses(t *testing.T) {
	ex, err := simulate.Pooled(simulate.PooledOptions{Weeks: 60})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{ConfigPath: dir + "/config.yaml", Sims: 3})
	if err == nil || !strings.Contains(err.Error(), "config.yaml: calibrate: `pooling.enabled` is true") {
		t.Errorf("Run(pooled) = %v; want the pooling key named", err)
	}
	for _, o := range []Options{{ConfigPath: "x.yaml", Sims: 0}, {ConfigPath: "x.yaml", Sims: 2, Alpha: 2}} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v): no error", o)
		}
	}
}
