//go:build cmdstan

package codegen

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dsamstan/dsamstan/stanio"
)

// TestLogProbMatchesDirectModel compiles the rendered program and testdata/naive_blm.stan
// (y ~ normal(X beta, noise_sd), row by row) with CmdStan, and checks with CmdStan's
// log_prob method that both give the same log density and gradient at points inside the
// bounds: the sufficient statistics are the likelihood, not an approximation of it.
// It compiles two models (a minute or two): go test -tags cmdstan -run LogProb ./codegen
func TestLogProbMatchesDirectModel(t *testing.T) {
	stanc, err := findStanc()
	if err != nil {
		t.Skipf("stanc not found: %v", err)
	}
	root := filepath.Dir(filepath.Dir(stanc))
	dir := t.TempDir()

	spec := goldenSpec(t, "bounds")
	p := render(t, spec)
	naive, err := os.ReadFile(filepath.Join("testdata", "naive_blm.stan"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "blm.stan"), p.Code)
	writeFile(t, filepath.Join(dir, "naive.stan"), naive)
	cmd := exec.Command("make", "-j2", filepath.Join(dir, "blm"), filepath.Join(dir, "naive"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}

	x, y := standardise(spec)
	rows := make([][]float64, spec.N)
	for i := range rows {
		rows[i] = make([]float64, len(x))
		for k := range x {
			rows[i][k] = x[k][i]
		}
	}
	writeJSON(t, filepath.Join(dir, "blm.json"), p.Data)
	writeJSON(t, filepath.Join(dir, "naive.json"), append([]stanio.Var{{Name: "X", Value: rows}, {Name: "y", Value: y}}, p.Data...))

	lb, ub := dataVar(t, p, "lb").([]float64), dataVar(t, p, "ub").([]float64)
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range 5 {
		beta := make([]float64, len(lb))
		for k := range beta {
			beta[k] = inside(rng.NormFloat64(), lb[k], ub[k], 1)
		}
		point := filepath.Join(dir, "point"+strconv.Itoa(i)+".json")
		writeJSON(t, point, []stanio.Var{{Name: "beta", Value: beta}, {Name: "noise_sd", Value: 0.2 + rng.Float64()}})
		a := logProb(t, dir, "blm", point)
		b := logProb(t, dir, "naive", point)
		for j := range a {
			if math.Abs(a[j]-b[j]) > 1e-8*math.Max(1, math.Abs(b[j])) {
				t.Errorf("point %d, column %d: template %v, direct model %v (tol 1e-8)", i, j, a[j], b[j])
			}
		}
	}
}
