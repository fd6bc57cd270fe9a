package codegen

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// naiveIntegrated is the integrated panel model written with a dense multivariate normal
// per group.
const naiveIntegrated = "testdata/naive_integrated.stan"

// TestIntegratedLogProbMatchesDenseMVN compiles the integrated program of small panels
// (independent, CRE, correlated with CRE, a composite key market:brand) and testdata/naive_integrated.stan (each
// group's rows multivariate normal with the group effects' covariance, dense) through the
// compile cache, and checks with CmdStan's log_prob method that at the same points both
// give the same gradient and the same log density up to one constant: the per-group
// statistics, the Woodbury form and the program's bookkeeping (stacking, shear, scales)
// are the model, not an approximation of it. Points include group scales near 0.
func TestIntegratedLogProbMatchesDenseMVN(t *testing.T) {
	r := cmdstanRunner(t)
	for _, c := range []struct {
		name string
		opts panelOptions
	}{
		{"8 groups", panelOptions{groups: 8, weeks: 26}},
		{"3 groups, CRE", panelOptions{groups: 3, weeks: 20, cre: true}},
		{"3 groups, CRE, correlated", panelOptions{groups: 3, weeks: 20, cre: true, correlated: true}},
		{"3 markets x 2 brands, composite key", panelOptions{groups: 3, weeks: 16, brands: true, composite: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := panelTestSpec(c.opts)
			p := render(t, spec)
			if p.Template != IntegratedTemplate {
				t.Fatalf("Template %s; want %s", p.Template, IntegratedTemplate)
			}
			rng := rand.New(rand.NewPCG(21, uint64(c.opts.groups)))
			var points [][]stanio.Var
			for i := range 5 {
				points = append(points, randomPanelPoint(t, rng, p, i == 4))
			}
			// A scale so small that 1/sd^2 overflows: the independent programs' precision
			// form hands over to the covariance form.
			tiny := randomPanelPoint(t, rng, p, false)
			tiny[1].Value.([]float64)[0] = 1e-160
			points = append(points, tiny)
			compareBoundedLogProb(t, r, p.Code, naiveIntegrated, integratedBetaMap(t, p), p.Data, append(naivePanelVars(spec, p, "X", "y"), p.Data...), points)
		})
	}
}

// naiveJoint is the joint panel model of two factors written with one dense N×N
// multivariate normal.
const naiveJoint = "testdata/naive_joint.stan"

// TestJointLogProbMatchesDenseMVN compiles the joint program of a two-factor panel
// (market with three group-varying terms, market:brand with the intercept; independent,
// and correlated in both) and testdata/naive_joint.stan, and checks with CmdStan's
// log_prob method that at the same points both give the same gradient and the same log
// density up to one constant, including a point with a group scale near 0.
func TestJointLogProbMatchesDenseMVN(t *testing.T) {
	r := cmdstanRunner(t)
	for _, correlated := range []bool{false, true} {
		t.Run(fmt.Sprintf("correlated %v", correlated), func(t *testing.T) {
			spec := panelTestSpec(panelOptions{groups: 3, weeks: 6, brands: true, correlated: correlated})
			p := render(t, spec)
			if p.Template != JointTemplate {
				t.Fatalf("Template %s; want %s", p.Template, JointTemplate)
			}
			rng := rand.New(rand.NewPCG(22, 7))
			var points [][]stanio.Var
			for i := range 5 {
				pt := randomPanelPoint(t, rng, p, i == 4)
				second := randomPanelPoint(t, rng, p, false) // for factor 2, whose J is 1
				pt = append(pt[:3:3], stanio.Var{Name: "sd_2", Value: second[1].Value.([]float64)[:1]},
					stanio.Var{Name: "L_2", Value: [][]float64{{1}}}, pt[3])
				points = append(points, pt)
			}
			compareBoundedLogProb(t, r, p.Code, naiveJoint, integratedBetaMap(t, p), p.Data, append(naiveJointVars(spec, p), p.Data...), points)
		})
	}
}

// naiveJointVars is the data naive_joint.stan needs besides the joint program's own.
func naiveJointVars(spec *ingest.Spec, p *Program) []stanio.Var {
	lay := p.hier
	x, y := standardise(spec)
	rows := make([][]float64, spec.N)
	for i := range rows {
		for k := range x {
			rows[i] = append(rows[i], x[k][i])
		}
	}
	xMean, intercept := make([]float64, len(x)), 0
	if lay.xMean != nil {
		xMean, intercept = lay.xMean, lay.intercept+1
	}
	vars := []stanio.Var{{Name: "K", Value: len(x)}, {Name: "X", Value: rows}, {Name: "y", Value: y},
		{Name: "intercept", Value: intercept}, {Name: "x_mean_naive", Value: xMean}, {Name: "lkj_eta_naive", Value: LKJEta}}
	for fi, fl := range lay.factors {
		var group, varying []int
		for _, g := range spec.Groups[fi].Of {
			group = append(group, g+1)
		}
		for _, k := range fl.terms {
			varying = append(varying, k+1)
		}
		corr := 0
		if fl.correlated {
			corr = 1
		}
		n := strconv.Itoa(fi + 1)
		vars = append(vars, stanio.Var{Name: "J" + n, Value: len(fl.terms)}, stanio.Var{Name: "group" + n, Value: group},
			stanio.Var{Name: "varying" + n, Value: varying}, stanio.Var{Name: "correlated" + n, Value: corr})
	}
	return vars
}

// integratedBetaMap returns the integrated program p's map from beta_raw to beta for
// compareBoundedLogProb: the single-market programs' bounded_coefficients with unit
// scale, around beta_centre, within lb and ub (all in beta_scale's units).
func integratedBetaMap(t *testing.T, p *Program) *blmData {
	t.Helper()
	lb, ub := dataVar(t, p, "lb").([]float64), dataVar(t, p, "ub").([]float64)
	unit := make([]float64, len(lb))
	for k := range unit {
		unit[k] = 1
	}
	return &blmData{k: len(lb), lb: lb, ub: ub, centre: dataVar(t, p, "beta_centre").([]float64), scale: unit}
}

// randomCorrCholesky returns the Cholesky factor of a random j×j correlation matrix.
func randomCorrCholesky(rng *rand.Rand, j int) [][]float64 {
	l := make([][]float64, j)
	for a := range l {
		l[a] = make([]float64, j)
		norm := 0.0
		for c := 0; c <= a; c++ {
			l[a][c] = rng.NormFloat64()
			if c == a {
				l[a][c] = math.Abs(l[a][c]) + 0.5
			}
			norm += l[a][c] * l[a][c]
		}
		for c := 0; c <= a; c++ {
			l[a][c] /= math.Sqrt(norm)
		}
	}
	return l
}

// logProbData runs model's log_prob method at point with the data file data (in dir),
// with or without the Jacobians of Stan's own constraints.
func logProbData(t *testing.T, dir, model, point, data string, jacobian bool) []float64 {
	t.Helper()
	out := filepath.Join(dir, model+"-lp.csv")
	j := "jacobian=0"
	if jacobian {
		j = "jacobian=1"
	}
	cmd := exec.CommandContext(context.Background(), filepath.Join(dir, model), "log_prob",
		"constrained_params="+point, j,
		"data", "file="+filepath.Join(dir, data),
		"output", "file="+out, "sig_figs=18")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s log_prob: %v\n%s", model, err, msg)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			body.WriteString(line)
		}
	}
	recs, err := csv.NewReader(&body).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%s: log_prob output: %v (%d records)", out, err, len(recs))
	}
	vals := make([]float64, len(recs[1]))
	for i, s := range recs[1] {
		if vals[i], err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatalf("%s: value %d: %v", out, i, err)
		}
	}
	return vals
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, name string, vars []stanio.Var) {
	t.Helper()
	var b bytes.Buffer
	if err := stanio.WriteData(&b, vars); err != nil {
		t.Fatal(err)
	}
	writeFile(t, name, b.Bytes())
}

// naivePanelVars is the data of the naive panel programs besides the rendered program's
// own: the standardised design and response (named xName and yName), the rows of each
// group, the group-varying columns, the shear and the LKJ shape, read from p's layout.
func naivePanelVars(spec *ingest.Spec, p *Program, xName, yName string) []stanio.Var {
	lay := p.hier
	fl := &lay.factors[0]
	x, y := standardise(spec)
	rows := make([][]float64, spec.N)
	for i := range rows {
		for k := range x {
			rows[i] = append(rows[i], x[k][i])
		}
	}
	var order, start, end, varying []int
	for _, rs := range rowsByLevel(&spec.Groups[0]) {
		start = append(start, len(order)+1)
		for _, i := range rs {
			order = append(order, i+1)
		}
		end = append(end, len(order))
	}
	for _, k := range fl.terms {
		varying = append(varying, k+1)
	}
	xMean, intercept := make([]float64, len(x)), 0
	if lay.xMean != nil {
		xMean, intercept = lay.xMean, lay.intercept+1
	}
	corr := 0
	if fl.correlated {
		corr = 1
	}
	return []stanio.Var{
		{Name: "K", Value: len(x)}, {Name: "G", Value: len(fl.levels)}, {Name: "J", Value: len(fl.terms)},
		{Name: xName, Value: rows}, {Name: yName, Value: y},
		{Name: "order", Value: order}, {Name: "start", Value: start}, {Name: "end", Value: end},
		{Name: "varying", Value: varying}, {Name: "correlated", Value: corr},
		{Name: "intercept", Value: intercept}, {Name: "x_mean_naive", Value: xMean},
		{Name: "lkj_eta_naive", Value: LKJEta},
	}
}

// compileBoth compiles ours and the naive program in naiveFile through the compile cache,
// and returns a folder where they are "ours" and "naive".
func compileBoth(t *testing.T, r *cmdstan.Runner, ours []byte, naiveFile string) string {
	t.Helper()
	naiveCode, err := os.ReadFile(naiveFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, code := range map[string][]byte{"ours": ours, "naive": naiveCode} {
		comp, err := r.Compile(context.Background(), code, cmdstan.CompileOptions{ToolDigest: TemplateVersion})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(comp.Exe, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// compareBoundedLogProb checks a program that samples its coefficients as beta_raw
// (bounded_coefficients, mapped as d says), against a naive program that declares beta with
// Stan's own bounds. At every point (given with beta; ours gets beta_raw from
// unconstrain): without any Jacobian (log_prob jacobian=0, ours with its data flag 0)
// both give the same log density up to one constant and the same derivative with respect
// to beta (each program's gradient divided by d beta / d its own unconstrained
// coordinate) and to everything else; with the flag on, ours adds exactly
// log |d beta / d beta_raw|, computed here in Go.
func compareBoundedLogProb(t *testing.T, r *cmdstan.Runner, ours []byte, naiveFile string, d *blmData, oursData, naiveData []stanio.Var, points [][]stanio.Var) {
	t.Helper()
	dir := compileBoth(t, r, ours, naiveFile)
	withFlag := func(v int) []stanio.Var {
		out := slices.Clone(oursData)
		for i := range out {
			if out[i].Name == jacobianVar {
				out[i].Value = v
			}
		}
		return out
	}
	writeJSON(t, filepath.Join(dir, "ours-0.json"), withFlag(0))
	writeJSON(t, filepath.Join(dir, "ours-1.json"), withFlag(1))
	writeJSON(t, filepath.Join(dir, "naive.json"), naiveData)
	var lp0Ours, lp0Naive float64
	for i, pt := range points {
		beta := pt[0].Value.([]float64)
		if pt[0].Name != "beta" {
			t.Fatalf("point %d starts with %s; want beta", i, pt[0].Name)
		}
		u := d.unconstrain(beta)
		naivePoint := filepath.Join(dir, "naive-point"+strconv.Itoa(i)+".json")
		oursPoint := filepath.Join(dir, "ours-point"+strconv.Itoa(i)+".json")
		writeJSON(t, naivePoint, pt)
		writeJSON(t, oursPoint, append([]stanio.Var{{Name: "beta_raw", Value: u}}, pt[1:]...))
		a := logProbData(t, dir, "ours", oursPoint, "ours-0.json", false)
		b := logProbData(t, dir, "naive", naivePoint, "naive.json", false)
		if len(a) != len(b) {
			t.Fatalf("log_prob gives %d values (ours), %d (naive)", len(a), len(b))
		}
		if i == 0 {
			lp0Ours, lp0Naive = a[0], b[0]
		}
		if da, db := a[0]-lp0Ours, b[0]-lp0Naive; math.Abs(da-db) > 1e-8*math.Max(1, math.Abs(db)) {
			t.Errorf("point %d: lp - lp(point 0) = %.12g (ours), %.12g (naive)", i, da, db)
		}
		for j := 1; j < len(a); j++ {
			ga, gb := a[j], b[j]
			if k := j - 1; k < d.k {
				ga /= d.betaDerivative(k, u[k])
				gb /= naiveBetaDerivative(d.lb[k], d.ub[k], beta[k])
			}
			if math.Abs(ga-gb) > 1e-7*math.Max(1, math.Abs(gb)) {
				t.Errorf("point %d, gradient %d: %.12g (ours), %.12g (naive)", i, j, ga, gb)
			}
		}
		withJ := logProbData(t, dir, "ours", oursPoint, "ours-1.json", false)
		want := 0.0
		for k := range u {
			want += math.Log(d.betaDerivative(k, u[k]))
		}
		if got := withJ[0] - a[0]; math.Abs(got-want) > 1e-8*math.Max(1, math.Abs(want)) {
			t.Errorf("point %d: the program's Jacobian adds %.12g; log |d beta / d beta_raw| is %.12g", i, got, want)
		}
	}
}

// betaDerivative is d beta_k / d beta_raw_k of the program's bounded_coefficients.
func (d *blmData) betaDerivative(k int, u float64) float64 {
	lb, ub, s := d.lb[k], d.ub[k], d.scale[k]
	v := u + boundedShift(lb, ub, d.centre[k], s)
	sig := 1 / (1 + math.Exp(-v))
	switch {
	case math.IsInf(lb, -1) && math.IsInf(ub, 1):
		return s
	case math.IsInf(lb, -1) || math.IsInf(ub, 1):
		return s * sig
	}
	return (ub - lb) * sig * (1 - sig)
}

// naiveBetaDerivative is d beta / d v for Stan's own bounds, v its unconstrained value.
func naiveBetaDerivative(lb, ub, beta float64) float64 {
	switch {
	case math.IsInf(lb, -1) && math.IsInf(ub, 1):
		return 1
	case math.IsInf(ub, 1):
		return beta - lb
	case math.IsInf(lb, -1):
		return ub - beta
	}
	return (beta - lb) * (ub - beta) / (ub - lb)
}

// TestBLMLogProbMatchesDirectModel checks the single-market program against
// testdata/naive_blm.stan (y ~ normal(X beta, noise_sd), row by row, beta with Stan's
// own bounds) with CmdStan's log_prob at random points inside the bounds: the
// sufficient statistics are the likelihood, not an approximation of it, and the
// program's coefficient map and its Jacobian are what compareBoundedLogProb says.
func TestBLMLogProbMatchesDirectModel(t *testing.T) {
	r := cmdstanRunner(t)
	spec := goldenSpec(t, "bounds")
	inf := math.Inf(1)
	spec.Bounds[1] = ingest.Bound{Lower: -inf, Upper: 3} // an upper bound only
	spec.Bounds[2] = ingest.Bound{Lower: -50, Upper: 50} // both
	p := render(t, spec)
	d, err := newBLMData(spec)
	if err != nil {
		t.Fatal(err)
	}
	x, y := standardise(spec)
	rows := make([][]float64, spec.N)
	for i := range rows {
		rows[i] = make([]float64, len(x))
		for k := range x {
			rows[i][k] = x[k][i]
		}
	}
	rng := rand.New(rand.NewPCG(4, 4))
	var points [][]stanio.Var
	for range 5 {
		beta := make([]float64, d.k)
		for k := range beta {
			beta[k] = inside(d.centre[k]+3*d.scale[k]*rng.NormFloat64(), d.lb[k], d.ub[k], d.scale[k])
		}
		points = append(points, []stanio.Var{{Name: "beta", Value: beta}, {Name: "noise_sd", Value: 0.2 + rng.Float64()}})
	}
	compareBoundedLogProb(t, r, p.Code, "testdata/naive_blm.stan", d, p.Data,
		append([]stanio.Var{{Name: "X", Value: rows}, {Name: "y", Value: y}}, p.Data...), points)
}

// randomPanelPoint draws a point of the integrated panel program inside its bounds: beta,
// the group scales (the first near 0, the funnel's neck, when nearZero), the correlation
// factor and log(noise_sd).
func randomPanelPoint(t *testing.T, rng *rand.Rand, p *Program, nearZero bool) []stanio.Var {
	t.Helper()
	fl := &p.hier.factors[0]
	jn := len(fl.terms)
	lb, ub := dataVar(t, p, "lb").([]float64), dataVar(t, p, "ub").([]float64)
	centre := dataVar(t, p, "log_noise_sd_centre").(float64)
	beta := make([]float64, len(lb))
	for k := range beta {
		beta[k] = inside(rng.NormFloat64(), lb[k], ub[k], 1)
	}
	sd := make([]float64, jn)
	for j := range sd {
		sd[j] = 0.05 + rng.Float64()
	}
	if nearZero {
		sd[0] = 1e-7
	}
	l := [][]float64{{1}}
	if fl.correlated {
		l = randomCorrCholesky(rng, jn)
	}
	return []stanio.Var{{Name: "beta", Value: beta}, {Name: "sd_1", Value: sd},
		{Name: "L_1", Value: l}, {Name: "log_noise_sd", Value: centre + 0.3*rng.NormFloat64()}}
}
