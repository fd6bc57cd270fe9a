package ingest

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mat"
)

// carsSpeed and carsDist are R's datasets::cars (Ezekiel 1930): speed (mph) and stopping
// distance (ft) of 50 cars.
var (
	carsSpeed = []float64{4, 4, 7, 7, 8, 9, 10, 10, 10, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14,
		15, 15, 15, 16, 16, 17, 17, 17, 18, 18, 18, 18, 19, 19, 19, 20, 20, 20, 20, 20, 22, 23, 24, 24, 24, 24, 25}
	carsDist = []float64{2, 10, 4, 22, 16, 10, 18, 26, 34, 17, 28, 14, 20, 24, 28, 26, 34, 34, 46, 26, 36, 60, 80,
		20, 26, 54, 32, 40, 32, 40, 50, 42, 56, 76, 84, 36, 46, 68, 32, 48, 52, 56, 64, 66, 54, 70, 92, 93, 120, 85}
)

func ones(n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = 1
	}
	return x
}

func TestOLSCars(t *testing.T) {
	// summary(lm(dist ~ speed, data = cars)) in R: (Intercept) −17.5791 (SE 6.7584),
	// speed 3.9324 (SE 0.4155), the coefficient table printed in R's own ?cars example and
	// in countless regression notes.
	est, se, err := OLS([][]float64{ones(50), carsSpeed}, carsDist, []string{InterceptName, "speed"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ est, se float64 }{{-17.5791, 6.7584}, {3.9324, 0.4155}}
	for k, w := range want {
		if math.Abs(est[k]-w.est) > 1e-4 || math.Abs(se[k]-w.se) > 1e-4 {
			t.Errorf("OLS coefficient %d = %v (se %v); want %v (se %v) (tol 1e-4)", k, est[k], se[k], w.est, w.se)
		}
	}
	// The closed form of simple regression: slope Sxy/Sxx, se(slope) = s/√Sxx,
	// se(intercept) = s·√(1/n + x̄²/Sxx), s² = RSS/(n − 2).
	n := 50.0
	var mx, my float64
	for i := range carsSpeed {
		mx += carsSpeed[i] / n
		my += carsDist[i] / n
	}
	var sxx, sxy float64
	for i := range carsSpeed {
		sxx += (carsSpeed[i] - mx) * (carsSpeed[i] - mx)
		sxy += (carsSpeed[i] - mx) * (carsDist[i] - my)
	}
	b := sxy / sxx
	a := my - b*mx
	var rss float64
	for i := range carsSpeed {
		e := carsDist[i] - a - b*carsSpeed[i]
		rss += e * e
	}
	s := math.Sqrt(rss / (n - 2))
	closed := []struct{ est, se float64 }{{a, s * math.Sqrt(1/n+mx*mx/sxx)}, {b, s / math.Sqrt(sxx)}}
	for k, w := range closed {
		if math.Abs(est[k]-w.est) > 1e-10*math.Max(1, math.Abs(w.est)) || math.Abs(se[k]-w.se) > 1e-10 {
			t.Errorf("OLS coefficient %d = %v (se %v); closed form %v (se %v)", k, est[k], se[k], w.est, w.se)
		}
	}
}

func TestOLSNormalEquations(t *testing.T) {
	// A seeded random design of 4 columns; the reference solves the normal equations
	// XᵀX b = Xᵀy directly and takes the SEs from diag((XᵀX)⁻¹)·RSS/(n−p).
	rng := rand.New(rand.NewPCG(1, 1))
	n, p := 40, 4
	x := [][]float64{ones(n)}
	for range p - 1 {
		col := make([]float64, n)
		for i := range col {
			col[i] = 10 * rng.Float64()
		}
		x = append(x, col)
	}
	y := make([]float64, n)
	for i := range y {
		y[i] = 3 + 0.5*x[1][i] - 2*x[2][i] + 0.1*x[3][i] + rng.NormFloat64()
	}
	est, se, err := OLS(x, y, []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	xm := mat.NewDense(n, p, nil)
	for k := range x {
		xm.SetCol(k, x[k])
	}
	var xtx, inv mat.Dense
	xtx.Mul(xm.T(), xm)
	if err := inv.Inverse(&xtx); err != nil {
		t.Fatal(err)
	}
	var xty, b mat.VecDense
	xty.MulVec(xm.T(), mat.NewVecDense(n, y))
	b.MulVec(&inv, &xty)
	var fit mat.VecDense
	fit.MulVec(xm, &b)
	rss := 0.0
	for i := range y {
		rss += (y[i] - fit.AtVec(i)) * (y[i] - fit.AtVec(i))
	}
	for k := range p {
		wse := math.Sqrt(inv.At(k, k) * rss / float64(n-p))
		if math.Abs(est[k]-b.AtVec(k)) > 1e-9 || math.Abs(se[k]-wse) > 1e-9 {
			t.Errorf("coefficient %d = %v (se %v); normal equations give %v (se %v) (tol 1e-9)", k, est[k], se[k], b.AtVec(k), wse)
		}
	}
}

func TestOLSRankDeficient(t *testing.T) {
	a := []float64{1, 2, 3, 4, 5, 7}
	b := []float64{0, 1, 0, 1, 1, 0}
	c := make([]float64, len(a))
	for i := range c {
		c[i] = 2*a[i] - b[i] + 1
	}
	y := []float64{1, 3, 2, 5, 4, 6}
	_, _, err := OLS([][]float64{ones(6), a, b, c}, y, []string{InterceptName, "a", "b", "c"})
	if err == nil || !strings.Contains(err.Error(), `c = 1·(Intercept) + 2·a + -1·b (collinear: (Intercept), a, b, c)`) {
		t.Errorf("OLS on c = 2a − b + 1: error %v; want the collinear columns named", err)
	}
	_, _, err = OLS([][]float64{ones(6), make([]float64, 6)}, y, []string{InterceptName, "z"})
	if err == nil || !strings.Contains(err.Error(), "column z is all zeros") {
		t.Errorf("OLS with a zero column: error %v; want it named", err)
	}
	if _, _, err = OLS([][]float64{ones(2), {1, 2}}, []float64{1, 2}, []string{InterceptName, "a"}); err == nil || !strings.Contains(err.Error(), "more rows than coefficients") {
		t.Errorf("OLS with n = p: error %v", err)
	}
}

func TestTruncNormalMS(t *testing.T) {
	for _, c := range []struct{ m, s float64 }{{1, 0.1}, {2, 1}, {0.3, 0.25}, {5, 4.5}, {1e-3, 1e-5}} {
		mu, sigma, ok := TruncNormalMS(c.m, c.s)
		if !ok {
			t.Errorf("TruncNormalMS(%v, %v): not ok", c.m, c.s)
			continue
		}
		// The moments by numerical integration of the truncated density, independent of
		// the closed form the solver uses.
		norm := 0.5 * math.Erfc(-mu/sigma/math.Sqrt2)
		pdf := func(x float64) float64 {
			z := (x - mu) / sigma
			return math.Exp(-z*z/2) / (sigma * math.Sqrt(2*math.Pi) * norm)
		}
		hi := math.Max(mu, 0) + 40*sigma
		m1 := quad.Fixed(func(x float64) float64 { return x * pdf(x) }, 0, hi, 2000, nil, 0)
		m2 := quad.Fixed(func(x float64) float64 { return x * x * pdf(x) }, 0, hi, 2000, nil, 0)
		sd := math.Sqrt(m2 - m1*m1)
		if math.Abs(m1-c.m) > 1e-6*c.m || math.Abs(sd-c.s) > 1e-6*c.s {
			t.Errorf("TruncNormalMS(%v, %v) = (%v, %v) with mean %v, sd %v; want them back (tol 1e-6)", c.m, c.s, mu, sigma, m1, sd)
		}
	}
	// A coefficient of variation of 1 is the exponential's, beyond any truncated normal.
	if _, _, ok := TruncNormalMS(1, 1); ok {
		t.Error("TruncNormalMS(1, 1) is ok; want not")
	}
}

// runWith writes run.yaml and data.csv into a temporary folder (with a folder prev/ for
// priors.from_run) and builds the spec with prev as the previous run.
func runWith(t *testing.T, yaml, csv string, prev *PreviousRun) (*Config, *Spec, error) {
	t.Helper()
	t.Chdir(t.TempDir())
	for name, body := range map[string]string{"run.yaml": yaml, "data.csv": csv} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir("prev", 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig("run.yaml")
	if err != nil {
		return nil, nil, err
	}
	if prev != nil {
		cfg.SetPreviousRun(prev)
	}
	tab, err := LoadData(cfg)
	if err != nil {
		return cfg, nil, err
	}
	spec, err := BuildSpec(cfg, tab)
	return cfg, spec, err
}

// carsCSV is R's cars with a date column, for the OLS-prior tests.
func carsCSV() string {
	var b strings.Builder
	b.WriteString("date,dist,speed,bump\n")
	for i := range carsSpeed {
		b.WriteString("2020-01-01," + f64(carsDist[i]) + "," + f64(carsSpeed[i]) + "," + f64(float64(i%3)) + "\n")
	}
	return b.String()
}

func f64(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func TestFromOLSPriors(t *testing.T) {
	yaml := "data: {path: data.csv}\nmodel: {formula: dist ~ speed + bump}\npriors:\n  from_ols: true\n  ols_inflate: 2\n" +
		"  overrides:\n    - {parameter: bump, mean: 0, sd: 9}\nboundaries:\n  overrides:\n    - {parameter: speed, lower: 0}\n"
	cfg, spec, err := runWith(t, yaml, carsCSV(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bump := make([]float64, 50)
	for i := range bump {
		bump[i] = float64(i % 3)
	}
	est, se, err := OLS([][]float64{ones(50), carsSpeed, bump}, carsDist, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		if p := spec.Priors[k]; !near(p.Mean, est[k]) || !near(p.SD, 2*se[k]) || p.Origin != OriginOLS || p.Default {
			t.Errorf("prior of %s = %+v; want normal(%v, 2·%v) from OLS", spec.Terms[k].Name, p, est[k], se[k])
		}
	}
	if p := spec.Priors[2]; p != (Prior{Mean: 0, SD: 9, Origin: OriginOverride}) {
		t.Errorf("prior of bump = %+v; want the override normal(0, 9)", p)
	}
	if spec.Bounds[1] != (Bound{Lower: 0, Upper: math.Inf(1)}) {
		t.Errorf("bound of speed = %+v; want [0, Inf)", spec.Bounds[1])
	}
	rows := cfg.PriorTable(spec)
	for i, want := range []struct{ source, text string }{
		{OriginOLS, "priors.from_ols: normal(OLS estimate, OLS standard error × 2)"},
		{OriginOLS, "priors.from_ols: normal(OLS estimate, OLS standard error × 2)"},
		{OriginOverride, "priors.overrides[0]"},
		{OriginDefault, "default: half_normal(0, sd(y))"},
	} {
		if rows[i].Source != want.source || rows[i].PriorSource != want.text {
			t.Errorf("priors.csv row %s: source %q (%q); want %q (%q)", rows[i].Parameter, rows[i].Source, rows[i].PriorSource, want.source, want.text)
		}
	}
}

func TestFromOLSRefused(t *testing.T) {
	for _, c := range []struct{ name, yaml, csv, want string }{
		{"panel", "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 | market)}\npriors:\n  from_ols: true\n", sampleCSV,
			"run.yaml:4:3: `priors.from_ols` is true, but the model is a panel"},
		{"inflate alone", "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  ols_inflate: 2\n", sampleCSV,
			"run.yaml:4:3: `priors.ols_inflate` is set, but `priors.from_ols` is not"},
		{"bad inflate", "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  from_run: prev\n  inflate: -1\n", sampleCSV,
			"run.yaml:5:3: `priors.inflate` is -1; must be > 0"},
		{"both", "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  from_ols: true\n  from_run: prev\n", sampleCSV,
			"`priors.from_ols` and `priors.from_run` are both set"},
		{"no folder", "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  from_run: nowhere\n", sampleCSV,
			`run.yaml:4:3: previous run folder "nowhere" not found`},
		{"unknown key", "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  from_rnu: prev\n", sampleCSV,
			"run.yaml:4:3: unknown key `priors.from_rnu`"},
		{"collinear", "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + twice}\npriors:\n  from_ols: true\n",
			"kpi,m_tv,twice\n1,1,2\n3,2,4\n2,3,6\n5,4,8\n", "run.yaml:4:3: `priors.from_ols`: the design is rank-deficient, so OLS has no unique estimate: twice = 2·m_tv (collinear: m_tv, twice)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runWith(t, c.yaml, c.csv, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want it to contain %q", err, c.want)
			}
		})
	}
}

// The previous posterior of a single-market model with an estimated adstock and Hill
// saturation: every kind of parameter from_run reads, and one (m_radio) this model lacks.
func previousRun() *PreviousRun {
	return &PreviousRun{
		Posterior: map[string]Moments{
			InterceptName:              {0.5, 0.2},
			"m_tv":                     {0.8, 0.1},
			NoiseSDName:                {0.9, 0.15},
			"adstock_decay[m_tv]":      {0.4, 0.1},
			"half_saturation[m_tv]":    {3, 1},
			"m_radio":                  {1, 1},
			"m_tv[average over group]": {0, 1}, // derived, not a parameter with a prior
		},
		Params: []string{InterceptName, "m_tv", "m_radio", NoiseSDName, "adstock_decay[m_tv]", "half_saturation[m_tv]"},
	}
}

func TestFromRunPriors(t *testing.T) {
	tr := "  m_tv:\n    adstock: { type: geometric, decay: estimate, max_lag: 1 }\n" +
		"    saturation: { type: hill, half_saturation: estimate, shape: estimate }\n" +
		"priors:\n  from_run: prev\n  inflate: 2\n  overrides:\n    - {parameter: m_search, mean: 0, sd: 3}\n"
	cfg, spec, err := runWith(t, transformYAML("kpi ~ m_tv + m_search", tr), estimateCSV, previousRun())
	if err != nil {
		t.Fatal(err)
	}
	origin := OriginRun + "prev"
	if p := spec.Priors[0]; p != (Prior{Mean: 0.5, SD: 0.4, Origin: origin}) {
		t.Errorf("intercept prior %+v; want normal(0.5, 0.2·2) from the run", p)
	}
	if p := spec.Priors[1]; p != (Prior{Mean: 0.8, SD: 0.2, Origin: origin}) {
		t.Errorf("m_tv prior %+v; want normal(0.8, 0.1·2) from the run", p)
	}
	if p := spec.Priors[2]; p.Origin != OriginOverride {
		t.Errorf("m_search prior %+v; want the override", p)
	}
	if ns := spec.NoiseSD; ns != (NoisePrior{Family: NoiseLognormalMS, Mean: 0.9, SD: 0.3, Origin: origin}) {
		t.Errorf("noise_sd prior %+v; want lognormal_ms(0.9, 0.15·2)", ns)
	}
	tf := spec.Transforms[0]
	// The moment-matched priors give back the posterior mean and the inflated sd.
	for _, c := range []struct {
		name     string
		p        *TransformPrior
		family   string
		mean, sd float64
	}{
		{"decay", tf.DecayPrior, PriorBeta, 0.4, 0.2},
		{"half_saturation", tf.HalfSaturationPrior, PriorLognormal, 3, 2},
	} {
		m, s := c.p.Moments()
		if c.p.Family != c.family || c.p.Origin != origin || math.Abs(m-c.mean) > 1e-12 || math.Abs(s-c.sd) > 1e-12 {
			t.Errorf("%s prior %+v with mean %v, sd %v; want %s with mean %v, sd %v", c.name, c.p, m, s, c.family, c.mean, c.sd)
		}
	}
	if tf.Decay != tf.DecayPrior.Centre() || tf.HalfSaturation != tf.HalfSaturationPrior.Centre() {
		t.Errorf("the design holds decay %v, half_saturation %v; want the new priors' centres", tf.Decay, tf.HalfSaturation)
	}
	// The previous run had no hill_shape: it keeps its default.
	if *tf.ShapePrior != defaultShapePrior {
		t.Errorf("hill_shape prior %+v; want the default", tf.ShapePrior)
	}
	want := `priors.from_run: the previous run (prev) has parameters this model lacks, whose posterior is not used: m_radio`
	if n := len(spec.Warnings); n == 0 || spec.Warnings[n-1] != want || strings.Contains(strings.Join(spec.Warnings, "\n"), "average over") {
		t.Errorf("warnings %q; want the last %q", spec.Warnings, want)
	}
	sources := map[string]string{}
	for _, r := range cfg.PriorTable(spec) {
		sources[r.Parameter] = r.Source
	}
	for name, want := range map[string]string{InterceptName: origin, "m_tv": origin, "m_search": OriginOverride, NoiseSDName: origin,
		"adstock_decay[m_tv]": origin, "half_saturation[m_tv]": origin, "hill_shape[m_tv]": OriginDefault} {
		if sources[name] != want {
			t.Errorf("source of %s = %q; want %q", name, sources[name], want)
		}
	}
}

func TestFromRunNoiseConfigWins(t *testing.T) {
	yaml := "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  from_run: prev\n  noise_sd: {family: normal, sd: 2}\n"
	prev := &PreviousRun{Posterior: map[string]Moments{NoiseSDName: {1, 0.1}, "m_tv": {1, math.NaN()}}}
	cfg, spec, err := runWith(t, yaml, sampleCSV, prev)
	if err != nil {
		t.Fatal(err)
	}
	if spec.NoiseSD.Origin != OriginConfig || spec.NoiseSD.SD != 2 {
		t.Errorf("noise_sd prior %+v; want priors.noise_sd's", spec.NoiseSD)
	}
	// A posterior without an sd (a MAP fit) leaves the default and says so.
	if !spec.Priors[1].Default || len(spec.Warnings) != 1 || !strings.Contains(spec.Warnings[0], "m_tv keeps its default prior") {
		t.Errorf("m_tv prior %+v, warnings %q; want the default and a warning", spec.Priors[1], spec.Warnings)
	}
	if rows := cfg.PriorTable(spec); rows[0].Source != OriginDefault || rows[2].Source != OriginConfig {
		t.Errorf("sources %q, %q; want default and config", rows[0].Source, rows[2].Source)
	}
	// Without the previous run read, BuildSpec refuses rather than silently using defaults.
	_, _, err = runWith(t, yaml, sampleCSV, nil)
	if err == nil || !strings.Contains(err.Error(), "was not read") {
		t.Errorf("from_run without SetPreviousRun: error %v", err)
	}
}

func TestFromRunGroupScales(t *testing.T) {
	yaml := "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 | market)}\npriors:\n  from_run: prev\n"
	prev := &PreviousRun{Posterior: map[string]Moments{"sd_1[(Intercept)]": {2, 0.5}}}
	_, spec, err := runWith(t, yaml, readTestdata(t, "panel.csv"), prev)
	if err != nil {
		t.Fatal(err)
	}
	p := spec.Groups[0].SDPriors[0]
	m, s := TruncNormalMoments(p.Mean, p.SD)
	if p.Origin != OriginRun+"prev" || math.Abs(m-2) > 1e-9 || math.Abs(s-0.5) > 1e-9 {
		t.Errorf("sd_1[(Intercept)] prior %+v (mean %v, sd %v); want a truncated normal with mean 2, sd 0.5", p, m, s)
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		t.Fatal(ce)
	}
}
