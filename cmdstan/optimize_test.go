package cmdstan

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOptimizeArgs(t *testing.T) {
	got := optimizeArgs("/c/model", "/d/data.json", "/o/optimize_2.csv", 2,
		OptimizeOptions{Seed: 9, Algorithm: "lbfgs", Iter: 500, Jacobian: true})
	want := []string{"/c/model", "optimize", "algorithm=lbfgs", "jacobian=1", "iter=500",
		"data", "file=/d/data.json", "init=2", "output", "file=/o/optimize_2.csv",
		"random", "seed=9", "id=2"}
	if !slices.Equal(got, want) {
		t.Errorf("optimizeArgs =\n%q\nwant\n%q", got, want)
	}
}

func TestOptimizeKeepsHighestLP(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_LP=-7.5,-5.00402,-6.25")
	out := t.TempDir()
	best, all, err := f.Optimize(context.Background(), "/fake/bernoulli", "/fake/bern.json", out, OptimizeOptions{Runs: 3, Seed: 13})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(out, "optimize_2.csv"); best != want {
		t.Errorf("best = %s; want %s (lp__ -5.00402)", best, want)
	}
	if len(all) != 3 {
		t.Errorf("all = %q; want 3 CSVs", all)
	}
	ids := map[string]bool{}
	for _, l := range f.callLines(t) {
		a := cmdstanArgs(strings.Fields(l))
		if a["seed"] != "13" || a["init"] != "2" {
			t.Errorf("run %s: seed %s init %s; want seed 13, init 2", a["id"], a["seed"], a["init"])
		}
		ids[a["id"]] = true
	}
	if len(ids) != 3 {
		t.Errorf("run ids %v; want three different ids", ids)
	}
}

func TestOptimizeSurvivesFailedRun(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_LP=-4,-9,-6", "DSAMSTAN_FAKE_CRASH=1")
	out := t.TempDir()
	best, all, err := f.Optimize(context.Background(), "/fake/bernoulli", "", out, OptimizeOptions{Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if best != filepath.Join(out, "optimize_3.csv") || len(all) != 2 {
		t.Errorf("best %s, all %q; want optimize_3.csv of the two that ran", best, all)
	}
	if log := f.log.String(); !strings.Contains(log, "cmdstan: optimize run 1 of 3 failed; carrying on with the others: cmdstan: optimize run 1: bernoulli failed with exit code 70:") {
		t.Errorf("log does not report the failed run:\n%s", log)
	}
}

func TestOptimizeAllFail(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_CRASH=1")
	_, _, err := f.Optimize(context.Background(), "/fake/bernoulli", "", t.TempDir(), OptimizeOptions{Runs: 1})
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode != 70 || !strings.HasPrefix(err.Error(), "cmdstan: optimize: all 1 runs failed: cmdstan: optimize run 1:") ||
		!strings.Contains(err.Error(), "Line search failed") {
		t.Errorf("err = %v; want every run's RunError", err)
	}
}

func TestOptimizeOptionErrors(t *testing.T) {
	f := newFake(t)
	for _, tc := range []struct {
		opts OptimizeOptions
		want string
	}{
		{OptimizeOptions{Algorithm: "adam"}, `cmdstan: optimize: algorithm is "adam"; must be lbfgs, bfgs or newton`},
		{OptimizeOptions{Runs: -2}, "cmdstan: optimize: runs is -2; must be at least 1"},
		{OptimizeOptions{Seed: 1 << 32}, "cmdstan: optimize: seed is 4294967296; must be between 0 and 4294967295"},
	} {
		_, _, err := f.Optimize(context.Background(), "/fake/m", "", t.TempDir(), tc.opts)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Optimize(%+v) = %v; want %s", tc.opts, err, tc.want)
		}
	}
}

func TestOptimizeInterrupted(t *testing.T) {
	f := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := f.Optimize(ctx, "/fake/m", "", t.TempDir(), OptimizeOptions{Runs: 2})
	if !errors.Is(err, ErrInterrupted) {
		t.Errorf("err = %v; want ErrInterrupted", err)
	}
}
