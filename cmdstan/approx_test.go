package cmdstan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/stanio"
)

// fakeApprox plays `laplace` and `pathfinder`: it copies the real CSV CmdStan 2.33.1 wrote
// for the bernoulli example. DSAMSTAN_FAKE_CRASH=1 makes it fail; for pathfinder,
// DSAMSTAN_FAKE_PARETO_K=<k> prints CmdStan's warning of a poor importance resampling.
func fakeApprox(args []string) int {
	a := cmdstanArgs(args)
	if os.Getenv("DSAMSTAN_FAKE_CRASH") == "1" {
		fmt.Fprintln(os.Stderr, "Error in laplace: Hessian is not positive definite")
		return 70
	}
	if args[0] == "laplace" {
		if _, err := os.Stat(a["mode"]); err != nil {
			fmt.Fprintf(os.Stderr, "mode: %v\n", err)
			return 64
		}
	}
	csv, err := os.ReadFile("../stanio/testdata/csv/bernoulli-" + args[0] + ".csv")
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(a["output.file"], csv, 0o644); err != nil {
		panic(err)
	}
	if k := os.Getenv("DSAMSTAN_FAKE_PARETO_K"); k != "" && args[0] == "pathfinder" {
		fmt.Printf("Total log probability function evaluations:41479\nPareto k value (%s) is greater than 0.7. Importance resampling was not able to improve the approximation, which may indicate that the approximation itself is poor.\n", k)
	}
	return 0
}

func TestApproxArgs(t *testing.T) {
	got := laplaceArgs("/c/model", "/d/data.json", "/o/optimize_1.csv", "/o/laplace.csv", LaplaceOptions{Draws: 500, Seed: 9})
	want := []string{"/c/model", "laplace", "mode=/o/optimize_1.csv", "jacobian=1", "draws=500",
		"data", "file=/d/data.json", "output", "file=/o/laplace.csv", "random", "seed=9"}
	if !slices.Equal(got, want) {
		t.Errorf("laplaceArgs =\n%q\nwant\n%q", got, want)
	}
	got = pathfinderArgs("/c/model", "", "/o/pathfinder.csv", PathfinderOptions{NumPaths: 4, Draws: 1000, Seed: 9})
	want = []string{"/c/model", "pathfinder", "num_paths=4", "num_draws=1000", "num_psis_draws=1000",
		"init=2", "output", "file=/o/pathfinder.csv", "random", "seed=9"}
	if !slices.Equal(got, want) {
		t.Errorf("pathfinderArgs =\n%q\nwant\n%q", got, want)
	}
}

func TestLaplace(t *testing.T) {
	f := newFake(t)
	out := t.TempDir()
	mode := filepath.Join(out, "optimize_1.csv")
	if err := os.WriteFile(mode, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	csv, err := f.Laplace(context.Background(), "/fake/bernoulli", "/fake/bern.json", mode, out, LaplaceOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if csv != filepath.Join(out, "laplace.csv") {
		t.Errorf("csv = %s; want laplace.csv in the output folder", csv)
	}
	c, err := stanio.ReadCSVFile(csv)
	if err != nil || c.Column("log_p__") != 0 || c.Column("log_q__") != 1 {
		t.Fatalf("the laplace CSV reads as %v, %v", c, err)
	}
	a := cmdstanArgs(strings.Fields(f.callLines(t)[0]))
	if a["draws"] != "1000" || a["mode"] != mode || a["seed"] != "3" || a["jacobian"] != "1" {
		t.Errorf("laplace ran with %v; want draws 1000 (the default), the mode, seed 3, jacobian 1", a)
	}
	for _, name := range []string{"laplace.stdout.txt", "laplace.stderr.txt"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestLaplaceFails(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_CRASH=1")
	out := t.TempDir()
	_, err := f.Laplace(context.Background(), "/fake/bernoulli", "", filepath.Join(out, "mode.csv"), out, LaplaceOptions{})
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode != 70 || !strings.Contains(err.Error(), "Hessian is not positive definite") {
		t.Errorf("err = %v; want the RunError with CmdStan's message", err)
	}
	if _, err := f.Laplace(context.Background(), "/fake/bernoulli", "", "", out, LaplaceOptions{}); err == nil ||
		!strings.Contains(err.Error(), "no mode") {
		t.Errorf("no mode: err = %v; want it refused", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Laplace(ctx, "/fake/bernoulli", "", "m.csv", out, LaplaceOptions{}); !errors.Is(err, ErrInterrupted) {
		t.Errorf("cancelled: err = %v; want ErrInterrupted", err)
	}
}

func TestPathfinder(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want float64 // NaN: not reported
	}{
		{nil, math.NaN()},
		{[]string{"DSAMSTAN_FAKE_PARETO_K=0.706670"}, 0.70667},
	} {
		f := newFake(t, tc.env...)
		out := t.TempDir()
		res, err := f.Pathfinder(context.Background(), "/fake/bernoulli", "", out, PathfinderOptions{NumPaths: 2, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		if res.CSV != filepath.Join(out, "pathfinder.csv") {
			t.Errorf("csv = %s; want pathfinder.csv in the output folder", res.CSV)
		}
		if got := res.ParetoK; !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("%v: Pareto k = %v; want %v", tc.env, got, tc.want)
		}
		c, err := stanio.ReadCSVFile(res.CSV)
		if err != nil || c.Column("lp_approx__") != 0 || c.NumDraws() != 100 {
			t.Fatalf("the pathfinder CSV reads as %v, %v", c, err)
		}
		a := cmdstanArgs(strings.Fields(f.callLines(t)[0]))
		if a["num_paths"] != "2" || a["num_psis_draws"] != "1000" || a["seed"] != "5" {
			t.Errorf("pathfinder ran with %v; want num_paths 2, 1000 draws (the default), seed 5", a)
		}
	}
}

func TestApproxOptionErrors(t *testing.T) {
	f := newFake(t)
	if _, err := f.Pathfinder(context.Background(), "/fake/m", "", t.TempDir(), PathfinderOptions{NumPaths: -1}); err == nil ||
		err.Error() != "cmdstan: pathfinder: num_paths is -1; must be at least 1" {
		t.Errorf("err = %v", err)
	}
	if _, err := f.Laplace(context.Background(), "/fake/m", "", "m.csv", t.TempDir(), LaplaceOptions{Draws: -5}); err == nil ||
		err.Error() != "cmdstan: laplace: draws is -5; must be at least 1" {
		t.Errorf("err = %v", err)
	}
}
