package codegen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/ingest"
)

func render(t *testing.T, spec *ingest.Spec) *Program {
	t.Helper()
	p, err := Render(context.Background(), nil, spec)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return p
}

// dataVar returns the value of the data variable name.
func dataVar(t *testing.T, p *Program, name string) any {
	t.Helper()
	for _, v := range p.Data {
		if v.Name == name {
			return v.Value
		}
	}
	t.Fatalf("no data variable %q", name)
	return nil
}

// stanRSS evaluates the residual sum of squares exactly as the program does:
// dot_self(Qty - R * beta) + rss_ls, with the full matrix product.
func stanRSS(t *testing.T, p *Program, beta []float64) float64 {
	t.Helper()
	r := dataVar(t, p, "R").([][]float64)
	qty := dataVar(t, p, "Qty").([]float64)
	sum := dataVar(t, p, "rss_ls").(float64)
	for i, row := range r {
		e := qty[i]
		for j, v := range row {
			e -= v * beta[j]
		}
		sum += e * e
	}
	return sum
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), math.SmallestNonzeroFloat64)
}

// paramSpecs are specs that exercise every branch of the scaling map.
func paramSpecs() map[string]*ingest.Spec {
	all := []string{"m_tv", "m_search", "price"}
	return map[string]*ingest.Spec{
		"scaled":       weekSpec(specOptions{intercept: true, terms: all, scale: true}),
		"unscaled":     weekSpec(specOptions{intercept: true, terms: all}),
		"offset":       weekSpec(specOptions{intercept: true, terms: all, scale: true, offset: true}),
		"log-offset":   weekSpec(specOptions{intercept: true, terms: all, scale: true, offset: true, logY: true}),
		"no-intercept": weekSpec(specOptions{terms: all, scale: true}),
	}
}

// toScaled maps an original-units coefficient vector (and noise sd) into the sampler's
// space with the formulas of ingest.Scaling, written out independently of the package.
func toScaled(s *ingest.Spec, beta []float64, sigma float64) ([]float64, float64) {
	sc := s.Scaling
	out := make([]float64, len(beta))
	for k, b := range beta {
		if s.Terms[k].Intercept {
			out[k] = (b - sc.YCentre) / sc.YScale
		} else {
			out[k] = b * sc.XScale[k] / sc.YScale
		}
	}
	return out, sigma / sc.YScale
}

// knownBeta is a plausible original-units coefficient vector for s.
func knownBeta(s *ingest.Spec) []float64 {
	values := map[string]float64{ingest.InterceptName: 1480.5, "m_tv": 0.83, "m_search": 3.1, "price": -42.25}
	if s.LogResponse {
		values = map[string]float64{ingest.InterceptName: 7.2, "m_tv": 0.0011, "m_search": 0.004, "price": -0.03}
	}
	beta := make([]float64, len(s.Terms))
	for k, t := range s.Terms {
		beta[k] = values[t.Name]
	}
	return beta
}

func TestParamsRoundTrip(t *testing.T) {
	for name, s := range paramSpecs() {
		p := render(t, s)
		if got, want := len(p.Params), len(s.Terms)+1; got != want {
			t.Fatalf("%s: %d params; want %d", name, got, want)
		}
		beta, sigma := knownBeta(s), 25.5
		scaled, sigmaStar := toScaled(s, beta, sigma)
		for k, term := range s.Terms {
			prm := p.Params[k]
			if prm.Column != fmt.Sprintf("beta.%d", k+1) || prm.Name != term.Name {
				t.Errorf("%s: param %d = %s/%s; want beta.%d/%s", name, k, prm.Column, prm.Name, k+1, term.Name)
			}
			if got := prm.Unscale(scaled[k]); relErr(got, beta[k]) > 1e-12 {
				t.Errorf("%s: %s round trip = %v; want %v (tol 1e-12)", name, term.Name, got, beta[k])
			}
		}
		last := p.Params[len(s.Terms)]
		if last.Column != "noise_sd" || last.Name != "noise_sd" {
			t.Errorf("%s: last param = %s/%s; want noise_sd/noise_sd", name, last.Column, last.Name)
		}
		if got := last.Unscale(sigmaStar); relErr(got, sigma) > 1e-12 {
			t.Errorf("%s: noise_sd round trip = %v; want %v (tol 1e-12)", name, got, sigma)
		}
	}
}

// TestPriorsAndBoundsMapBack checks that the scaled priors and bounds the program sees map
// back, through Params, to the ones given in original units.
func TestPriorsAndBoundsMapBack(t *testing.T) {
	s := goldenSpec(t, "bounds")
	p := render(t, s)
	mean := dataVar(t, p, "prior_mean").([]float64)
	sd := dataVar(t, p, "prior_sd").([]float64)
	lb := dataVar(t, p, "lb").([]float64)
	ub := dataVar(t, p, "ub").([]float64)
	for k, term := range s.Terms {
		prm := p.Params[k]
		if got := prm.Unscale(mean[k]); relErr(got, s.Priors[k].Mean) > 1e-12 && math.Abs(got-s.Priors[k].Mean) > 1e-12 {
			t.Errorf("%s: prior mean maps back to %v; want %v", term.Name, got, s.Priors[k].Mean)
		}
		if got := prm.Scale * sd[k]; relErr(got, s.Priors[k].SD) > 1e-12 {
			t.Errorf("%s: prior sd maps back to %v; want %v", term.Name, got, s.Priors[k].SD)
		}
		for _, b := range []struct{ got, want float64 }{{lb[k], s.Bounds[k].Lower}, {ub[k], s.Bounds[k].Upper}} {
			back := prm.Unscale(b.got)
			switch {
			case math.IsInf(b.want, 0):
				if b.got != b.want {
					t.Errorf("%s: bound %v became %v; infinities must stay", term.Name, b.want, b.got)
				}
			case b.want == 0 && !term.Intercept:
				if b.got != 0 {
					t.Errorf("%s: bound 0 became %v; a sign bound must stay exactly 0", term.Name, b.got)
				}
			case relErr(back, b.want) > 1e-12:
				t.Errorf("%s: bound %v maps back to %v (tol 1e-12)", term.Name, b.want, back)
			}
		}
	}
}

// TestLikelihoodScaledMatchesOriginal checks the whole map at once: for original-units
// coefficients β, Σ(y - o - Xβ)² = YScale² · (residual sum of squares the program computes
// at β*), which holds exactly only if offset, centring and scaling are all right.
func TestLikelihoodScaledMatchesOriginal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for name, s := range paramSpecs() {
		p := render(t, s)
		for range 5 {
			beta := knownBeta(s)
			for k := range beta {
				beta[k] *= 1 + 0.2*rng.NormFloat64()
			}
			direct := 0.0
			for i := range s.N {
				e := s.Y[i]
				if s.Offset != nil {
					e -= s.Offset[i]
				}
				for k := range beta {
					e -= s.X[k][i] * beta[k]
				}
				direct += e * e
			}
			scaled, _ := toScaled(s, beta, 1)
			got := s.Scaling.YScale * s.Scaling.YScale * stanRSS(t, p, scaled)
			if relErr(got, direct) > 1e-9 {
				t.Errorf("%s: YScale²·rss* = %v; direct Σ(y-o-Xβ)² = %v (tol 1e-9)", name, got, direct)
			}
		}
	}
}

// TestSuffStatsRSS compares the statistics with the direct Σ(y - Xβ)² for random β, on
// random designs: tall, shorter than wide (padded), and with an exactly collinear column.
func TestSuffStatsRSS(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name      string
		n, k      int
		collinear bool
	}{{"tall", 200, 6, false}, {"short", 3, 5, false}, {"square", 5, 4, false}, {"collinear", 40, 4, true}} {
		x := make([][]float64, tc.k)
		for j := range x {
			x[j] = make([]float64, tc.n)
			for i := range x[j] {
				x[j][i] = rng.NormFloat64()
				if j == 0 {
					x[j][i] = 1
				}
			}
		}
		if tc.collinear {
			for i := range tc.n {
				x[tc.k-1][i] = 2*x[1][i] - x[2][i]
			}
		}
		y := make([]float64, tc.n)
		for i := range y {
			y[i] = 0.5 + x[1][i] + rng.NormFloat64()
		}
		s := newSuffStats(x, y)
		for range 20 {
			beta := make([]float64, tc.k)
			for j := range beta {
				beta[j] = 3 * rng.NormFloat64()
			}
			direct := 0.0
			for i := range tc.n {
				e := y[i]
				for j := range beta {
					e -= x[j][i] * beta[j]
				}
				direct += e * e
			}
			if got := s.residualSS(beta); relErr(got, direct) > 1e-9 {
				t.Errorf("%s: rss from statistics = %v; direct = %v (tol 1e-9)", tc.name, got, direct)
			}
		}
		if s.rss < 0 {
			t.Errorf("%s: rss_ls = %v < 0", tc.name, s.rss)
		}
		for i := range s.r {
			if s.r[i][i] < 0 {
				t.Errorf("%s: R[%d,%d] = %v; the diagonal must be non-negative", tc.name, i, i, s.r[i][i])
			}
			for j := range i {
				if s.r[i][j] != 0 {
					t.Errorf("%s: R[%d,%d] = %v below the diagonal", tc.name, i, j, s.r[i][j])
				}
			}
		}
	}
}

// TestSuffStatsTightFit is why the program uses the QR form: an unscaled response near
// 1e6 fitted to within 1e-3 has a residual sum of squares 1e-18 times yᵀy, below double
// precision for yty - 2βᵀXᵀy + βᵀXᵀXβ; the QR statistics still get it to 1e-6.
func TestSuffStatsTightFit(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	n := 500
	x := [][]float64{make([]float64, n), make([]float64, n)}
	y := make([]float64, n)
	for i := range n {
		x[0][i] = 1
		x[1][i] = 100 * rng.Float64()
		y[i] = 1e6 + 2*x[1][i] + 1e-3*rng.NormFloat64()
	}
	beta := []float64{1e6, 2}
	direct := 0.0
	for i := range n {
		e := y[i] - beta[0] - 2*x[1][i]
		direct += e * e
	}
	if got := newSuffStats(x, y).residualSS(beta); relErr(got, direct) > 1e-6 {
		t.Errorf("rss at the true β = %v; direct = %v (tol 1e-6)", got, direct)
	}
}

// TestProgramIndependentOfSpec renders two very different specs: the programs must be the
// same bytes, so they share one compiled binary.
func TestProgramIndependentOfSpec(t *testing.T) {
	a := render(t, goldenSpec(t, "scaled-default-priors"))
	b := render(t, weekSpec(specOptions{terms: []string{"price"}, offset: true, logY: true,
		bounds: map[string]ingest.Bound{"price": {Lower: -3, Upper: 0}},
		noise:  ingest.NoisePrior{Family: ingest.NoiseLognormalMS, Mean: 0.1, SD: 0.05}}))
	if !bytes.Equal(a.Code, b.Code) || a.Template != b.Template || a.Template != BLMTemplate {
		t.Errorf("programs differ between specs (%s vs %s):\n%s", a.Template, b.Template, lineDiff(string(a.Code), string(b.Code)))
	}
	for _, name := range []string{"weekly", "kpi", "m_tv", "price", "base"} {
		if bytes.Contains(a.Code, []byte(name)) || bytes.Contains(b.Code, []byte(name)) {
			t.Errorf("program contains %q from the spec; nothing from the data may be pasted into Stan code", name)
		}
	}
}

// TestNoisePriorScaled checks the noise prior in the sampler's space is the prior of
// noise_sd/YScale: normal(m/YScale, s/YScale), or a lognormal with mean m/YScale, sd s/YScale.
func TestNoisePriorScaled(t *testing.T) {
	s := goldenSpec(t, "lognormal-noise")
	p := render(t, s)
	a, b := dataVar(t, p, "noise_sd_prior_a").(float64), dataVar(t, p, "noise_sd_prior_b").(float64)
	if dataVar(t, p, "prior_family_noise_sd").(int) != 1 {
		t.Errorf("prior_family_noise_sd for lognormal_ms is not 1")
	}
	ys := s.Scaling.YScale
	if got, want := math.Exp(a+b*b/2), s.NoiseSD.Mean/ys; relErr(got, want) > 1e-12 {
		t.Errorf("scaled lognormal mean = %v; want %v", got, want)
	}
	if got, want := math.Exp(a+b*b/2)*math.Sqrt(math.Expm1(b*b)), s.NoiseSD.SD/ys; relErr(got, want) > 1e-12 {
		t.Errorf("scaled lognormal sd = %v; want %v", got, want)
	}

	s = goldenSpec(t, "scaled-default-priors")
	p = render(t, s)
	if dataVar(t, p, "prior_family_noise_sd").(int) != 0 {
		t.Errorf("prior_family_noise_sd for normal is not 0")
	}
	ys = s.Scaling.YScale
	a, b = dataVar(t, p, "noise_sd_prior_a").(float64), dataVar(t, p, "noise_sd_prior_b").(float64)
	if relErr(a*ys, s.NoiseSD.Mean) > 1e-12 && a != 0 || relErr(b*ys, s.NoiseSD.SD) > 1e-12 {
		t.Errorf("scaled normal noise prior (%v, %v)·YScale != (%v, %v)", a, b, s.NoiseSD.Mean, s.NoiseSD.SD)
	}
}

func TestDataOrderAndShapes(t *testing.T) {
	s := goldenSpec(t, "offset")
	p := render(t, s)
	want := []string{"N", "K", "R", "Qty", "rss_ls", "prior_mean", "prior_sd", "lb", "ub",
		"prior_family_noise_sd", "noise_sd_prior_a", "noise_sd_prior_b", "beta_centre", "beta_scale", "jacobian"}
	var got []string
	for _, v := range p.Data {
		got = append(got, v.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("data order = %v; want %v", got, want)
	}
	// Every data name is declared in the program, in this order.
	at := 0
	for _, name := range want {
		i := bytes.Index(p.Code[at:], []byte(" "+name+";"))
		if i < 0 {
			t.Errorf("data %q not declared (in order) in the program", name)
			continue
		}
		at += i
	}
	if dataVar(t, p, "N").(int) != s.N || dataVar(t, p, "K").(int) != len(s.Terms) {
		t.Errorf("N, K = %v, %v; want %d, %d", dataVar(t, p, "N"), dataVar(t, p, "K"), s.N, len(s.Terms))
	}
}

func TestRenderErrors(t *testing.T) {
	all := []string{"m_tv", "m_search", "price"}
	base := func() *ingest.Spec { return weekSpec(specOptions{intercept: true, terms: all, scale: true}) }
	for _, tc := range []struct {
		name   string
		mutate func(*ingest.Spec)
		want   string
	}{
		{"prior sd 0", func(s *ingest.Spec) { s.Priors[1].SD = 0 },
			`codegen: term "m_tv": prior normal(0, 0) needs a finite mean and a positive, finite sd`},
		{"empty bound", func(s *ingest.Spec) { s.Bounds[2] = ingest.Bound{Lower: 1, Upper: 1} },
			`codegen: term "m_search": bounds [1, 1] leave no room; the lower bound must be below the upper`},
		{"inf bound", func(s *ingest.Spec) { s.Bounds[2] = ingest.Bound{Lower: math.Inf(1), Upper: math.Inf(1)} },
			`codegen: term "m_search": bounds [+Inf, +Inf] leave no room; the lower bound must be below the upper`},
		{"centred without intercept", func(s *ingest.Spec) {
			s.Terms, s.X, s.Priors, s.Bounds = s.Terms[1:], s.X[1:], s.Priors[1:], s.Bounds[1:]
			s.Scaling.XScale = s.Scaling.XScale[1:]
			s.Scaling.YCentre = 1700
		}, "codegen: the response is centred (centre 1700) but the model has no intercept to absorb it; a model without an intercept must not be centred"},
		{"lognormal mean 0", func(s *ingest.Spec) { s.NoiseSD = ingest.NoisePrior{Family: ingest.NoiseLognormalMS, Mean: 0, SD: 1} },
			"codegen: noise_sd prior lognormal_ms(0, 1) needs a positive, finite mean and sd"},
		{"unknown family", func(s *ingest.Spec) { s.NoiseSD.Family = "cauchy" },
			`codegen: noise_sd prior family "cauchy" is unknown; use "normal" or "lognormal_ms"`},
		{"nan response", func(s *ingest.Spec) { s.Y[3] = math.NaN() },
			"codegen: row 4 (line 5): response is NaN; it must be finite"},
		{"length mismatch", func(s *ingest.Spec) { s.Bounds = s.Bounds[:2] },
			"codegen: spec has 4 terms but 4 design columns, 4 priors, 2 bounds and 4 predictor scales"},
		{"zero scale", func(s *ingest.Spec) { s.Scaling.XScale[3] = 0 },
			`codegen: term "price": predictor scale is 0; it must be positive and finite`},
		{"no terms", func(s *ingest.Spec) {
			s.Terms, s.X, s.Priors, s.Bounds, s.Scaling.XScale = nil, nil, nil, nil, nil
		}, "codegen: the model has no terms; add an intercept or a predictor to the formula"},
	} {
		s := base()
		tc.mutate(s)
		_, err := Render(context.Background(), nil, s)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Render error = %v; want %s", tc.name, err, tc.want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Render(ctx, nil, base()); !errors.Is(err, context.Canceled) {
		t.Errorf("Render with a cancelled context = %v; want context.Canceled", err)
	}
	if _, err := Render(context.Background(), nil, nil); err == nil {
		t.Errorf("Render(nil spec) succeeded")
	}
}

func TestTemplateOverride(t *testing.T) {
	spec := goldenSpec(t, "scaled-default-priors")
	fsys := fstest.MapFS{
		"stan/bayes_lm_updater_revised.stan.tmpl": {Data: []byte(`// {{ .Comment }} {{ upper .TemplateVersion }}` + "\n")},
	}
	p, err := Render(context.Background(), fsys, spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "// " + header + " " + strings.ToUpper(TemplateVersion) + "\n"; string(p.Code) != want {
		t.Errorf("override rendered %q; want %q (sprig's upper must be available)", p.Code, want)
	}

	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"missing template", fstest.MapFS{"stan/other.stan.tmpl": {Data: []byte("x")}},
			"codegen: template stan/bayes_lm_updater_revised.stan.tmpl not found; a template override must provide it"},
		{"no templates", fstest.MapFS{"README": {Data: []byte("x")}},
			"codegen: parse templates: template: pattern matches no files: `stan/*.stan.tmpl`"},
		{"unknown field", fstest.MapFS{"stan/bayes_lm_updater_revised.stan.tmpl": {Data: []byte("{{ .Nope }}")}},
			"codegen: render bayes_lm_updater_revised.stan: template: bayes_lm_updater_revised.stan.tmpl:1:3: executing \"bayes_lm_updater_revised.stan.tmpl\" at <.Nope>: can't evaluate field Nope in type codegen.blmContext"},
	} {
		_, err := Render(context.Background(), tc.fsys, spec)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error = %v; want %s", tc.name, err, tc.want)
		}
	}
}

func TestInits(t *testing.T) {
	t.Run("inside bounds", func(t *testing.T) {
		s := goldenSpec(t, "bounds")
		s.Bounds[3] = ingest.Bound{Lower: 5, Upper: 6} // price is negative in the data: the bound binds
		p := render(t, s)
		lb, ub := dataVar(t, p, "lb").([]float64), dataVar(t, p, "ub").([]float64)
		inits, err := Inits(s)
		if err != nil {
			t.Fatal(err)
		}
		beta := constrainBeta(t, p, inits[0].Value.([]float64))
		for k := range beta {
			if !(beta[k] > lb[k] && beta[k] < ub[k]) {
				t.Errorf("init beta[%d] = %v outside (%v, %v)", k, beta[k], lb[k], ub[k])
			}
		}
		if sd := inits[1].Value.(float64); !(sd > 0) || inits[1].Name != "noise_sd" || inits[0].Name != "beta_raw" {
			t.Errorf("inits = %v; want beta_raw and a positive noise_sd", inits)
		}
	})
	t.Run("least squares", func(t *testing.T) {
		// Unscaled, unbounded, nearly flat priors: the init is the OLS fit, solved here from
		// the normal equations with gonum.
		s := weekSpec(specOptions{intercept: true, terms: []string{"m_tv", "m_search", "price"}})
		for k := range s.Priors {
			s.Priors[k].SD = 1e9
		}
		inits, err := Inits(s)
		if err != nil {
			t.Fatal(err)
		}
		k := len(s.Terms)
		x := mat.NewDense(s.N, k, nil)
		for j := range k {
			for i := range s.N {
				x.Set(i, j, s.X[j][i])
			}
		}
		var ols mat.VecDense
		if err := ols.SolveVec(x, mat.NewVecDense(s.N, s.Y)); err != nil {
			t.Fatal(err)
		}
		beta := constrainBeta(t, render(t, s), inits[0].Value.([]float64))
		for j := range k {
			if relErr(beta[j], ols.AtVec(j)) > 1e-6 {
				t.Errorf("init %s = %v; OLS %v (tol 1e-6)", s.Terms[j].Name, beta[j], ols.AtVec(j))
			}
		}
		resid := 0.0
		for i := range s.N {
			e := s.Y[i]
			for j := range k {
				e -= s.X[j][i] * ols.AtVec(j)
			}
			resid += e * e
		}
		if got, want := inits[1].Value.(float64), math.Sqrt(resid/float64(s.N)); relErr(got, want) > 1e-6 {
			t.Errorf("init noise_sd = %v; want RMS residual %v", got, want)
		}
	})
}

// goldenSpec returns the spec of the named golden case.
func goldenSpec(t testing.TB, name string) *ingest.Spec {
	t.Helper()
	for _, c := range goldenCases() {
		if c.name == name {
			return c.spec
		}
	}
	t.Fatalf("no golden case %q", name)
	return nil
}

// BenchmarkRender measures Render (QR of the design plus template execution) for a year
// of weekly data, a large panel-sized design and a daily multi-year one.
func BenchmarkRender(b *testing.B) {
	for _, size := range []struct {
		name string
		n, k int
	}{{"Small", 156, 10}, {"Medium", 13000, 30}, {"Large", 100000, 60}} {
		s := randomSpec(size.n, size.k)
		b.Run(size.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Render(context.Background(), nil, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size.n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func randomSpec(n, k int) *ingest.Spec {
	rng := rand.New(rand.NewPCG(3, 3))
	s := &ingest.Spec{N: n, Y: make([]float64, n), Scale: true, Scaling: identityScaling(k),
		NoiseSD: ingest.NoisePrior{Family: ingest.NoiseNormal, Mean: 0, SD: 5}}
	for j := range k {
		col := make([]float64, n)
		for i := range col {
			col[i] = rng.Float64()
			if j == 0 {
				col[i] = 1
			}
		}
		s.Terms = append(s.Terms, ingest.Term{Name: fmt.Sprintf("x%d", j), Intercept: j == 0})
		s.X = append(s.X, col)
		s.Priors = append(s.Priors, ingest.Prior{Mean: 0, SD: 5})
		s.Bounds = append(s.Bounds, ingest.Unbounded)
	}
	for i := range s.Y {
		s.Y[i] = rng.NormFloat64()
	}
	return s
}

func TestRenderPanelErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*ingest.Spec)
		want   string
	}{
		{"unused level", func(s *ingest.Spec) { s.Groups[0].Levels = append(s.Groups[0].Levels, "nowhere") },
			`codegen: grouping factor market: level "nowhere" has no rows`},
		{"level out of range", func(s *ingest.Spec) { s.Groups[0].Of[4] = 9 },
			"codegen: row 5 (line 6): grouping factor market has level 9 of 8"},
		{"row labels", func(s *ingest.Spec) { s.Groups[0].Of = s.Groups[0].Of[1:] },
			"codegen: grouping factor market has 207 row labels for 208 rows"},
		{"no terms", func(s *ingest.Spec) { s.Groups[0].Terms = nil },
			"codegen: grouping factor market has no group-varying terms; add 1 or a term inside ( … | market )"},
		{"repeated term", func(s *ingest.Spec) { s.Groups[0].Terms = []int{0, 2, 2} },
			"codegen: grouping factor market: group-varying term index 2 is out of range or repeated"},
		{"sd priors", func(s *ingest.Spec) { s.Groups[0].SDPriors = s.Groups[0].SDPriors[:1] },
			"codegen: grouping factor market has 1 group-scale priors for 3 terms"},
		{"sd prior 0", func(s *ingest.Spec) { s.Groups[0].SDPriors[1].SD = 0 },
			"codegen: sd_1[m_tv] prior normal(0, 0) needs a finite mean and a positive, finite sd"},
		{"parameterization", func(s *ingest.Spec) { s.Parameterization = "centred" },
			`codegen: parameterization "centred" is unknown; use "auto", "integrated", "centered" or "noncentered"`},
	} {
		s := panelTestSpec(panelOptions{groups: 8, weeks: 26})
		tc.mutate(s)
		_, err := Render(context.Background(), nil, s)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Render error = %v; want %s", tc.name, err, tc.want)
		}
	}
	// Inits is for single-market models only.
	if _, err := Inits(panelTestSpec(panelOptions{groups: 2, weeks: 26})); !errors.Is(err, ErrPanelNotSupported) {
		t.Errorf("Inits(panel) = %v; want ErrPanelNotSupported", err)
	}
}

// TestPanelProgramStructure checks what the panel program depends on: the structure
// (group counts, which terms vary and how), never the data's values or names.
func TestPanelProgramStructure(t *testing.T) {
	a := render(t, panelTestSpec(panelOptions{groups: 8, weeks: 26}))
	other := panelTestSpec(panelOptions{groups: 8, weeks: 26})
	for i := range other.Y {
		other.Y[i] *= 1.01 // new values, same structure and choices
	}
	for j := range other.Groups[0].Levels {
		other.Groups[0].Levels[j] = fmt.Sprintf("region_%d", j)
	}
	other.Terms[2].Name = "tv_spend"
	b := render(t, other)
	if !bytes.Equal(a.Code, b.Code) || a.Template != IntegratedTemplate {
		t.Errorf("programs differ for the same structure:\n%s", lineDiff(string(a.Code), string(b.Code)))
	}
	for _, name := range []string{"north", "market", "m_tv", "m_search", "trend", "kpi", "panel"} {
		if bytes.Contains(a.Code, []byte(name)) {
			t.Errorf("program contains %q from the spec; nothing from the data may be pasted into Stan code", name)
		}
	}
	c := render(t, panelTestSpec(panelOptions{groups: 9, weeks: 26}))
	if bytes.Equal(a.Code, c.Code) {
		t.Errorf("programs for 8 and 9 groups are the same; the group count must be literal")
	}
	sampled := render(t, panelTestSpec(panelOptions{groups: 8, weeks: 26, param: Centered}))
	if a.Metric != "dense_e" || sampled.Metric != "diag_e" || render(t, goldenSpec(t, "bounds")).Metric != "dense_e" {
		t.Errorf("Metric = %q (integrated panel), %q (sampled panel); want dense_e, diag_e; single market dense_e", a.Metric, sampled.Metric)
	}
	// Group effects are integrated out unless a parameterisation is configured: one
	// factor's per group, two factors' jointly; a larger panel keeps the sampled program.
	brands := render(t, panelTestSpec(panelOptions{groups: 8, weeks: 26, brands: true}))
	manyBrands := render(t, panelTestSpec(panelOptions{groups: 30, weeks: 8, brands: true}))
	if sampled.Template != HierTemplate || brands.Template != JointTemplate || manyBrands.Template != HierTemplate {
		t.Errorf("Template = %q (parameterization centered), %q (two factors, 40 effects), %q (two factors, 150 effects); want %q, %q, %q",
			sampled.Template, brands.Template, manyBrands.Template, HierTemplate, JointTemplate, HierTemplate)
	}
	brands2 := panelTestSpec(panelOptions{groups: 8, weeks: 26, brands: true})
	brands2.Groups[1].Levels[0] = "somewhere:else"
	brands2.Terms[2].Name = "tv_spend"
	if !bytes.Equal(brands.Code, render(t, brands2).Code) {
		t.Errorf("joint programs differ for the same structure")
	}
	for _, name := range []string{"north", "acme", "market", "brand", "m_tv"} {
		if bytes.Contains(brands.Code, []byte(name)) {
			t.Errorf("joint program contains %q from the spec", name)
		}
	}
	for _, c := range a.RandomEffects {
		if c.Parameterization != Integrated {
			t.Errorf("one factor: %s is %s; want %s", c.Term, c.Parameterization, Integrated)
		}
	}
	if len(a.RandomEffects) != 3 || a.RandomEffects[1].Term != "m_tv" || a.RandomEffects[1].Factor != "market" ||
		a.RandomEffects[1].Index != 1 || a.RandomEffects[1].Reason == "" {
		t.Errorf("RandomEffects = %+v", a.RandomEffects)
	}
}

// BenchmarkRenderPanel measures Render of the panel program (per-cell QR, the groups' own
// fits, the Gaussian approximation behind the sampler's scales, template execution) for
// the example's size, a large panel and one too large for the approximation.
func BenchmarkRenderPanel(b *testing.B) {
	for _, size := range []struct {
		name          string
		groups, weeks int
	}{{"8x156", 8, 156}, {"50x260", 50, 260}, {"400x104", 400, 104}} {
		s := panelTestSpec(panelOptions{groups: size.groups, weeks: size.weeks})
		b.Run(size.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Render(context.Background(), nil, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.N)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// constrainBeta maps the single-market program's beta_raw to beta as its
// bounded_coefficients does, from the program's data.
func constrainBeta(t *testing.T, p *Program, u []float64) []float64 {
	t.Helper()
	lb, ub := dataVar(t, p, "lb").([]float64), dataVar(t, p, "ub").([]float64)
	c, sc := dataVar(t, p, "beta_centre").([]float64), dataVar(t, p, "beta_scale").([]float64)
	b := make([]float64, len(u))
	softplus := func(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
	for k := range u {
		v := u[k] + boundedShift(lb[k], ub[k], c[k], sc[k])
		switch {
		case math.IsInf(lb[k], -1) && math.IsInf(ub[k], 1):
			b[k] = c[k] + sc[k]*u[k]
		case math.IsInf(ub[k], 1):
			b[k] = lb[k] + sc[k]*softplus(v)
		case math.IsInf(lb[k], -1):
			b[k] = ub[k] - sc[k]*softplus(v)
		default:
			b[k] = lb[k] + (ub[k]-lb[k])/(1+math.Exp(-v))
		}
	}
	return b
}

// TestBoundedRoundTrip checks that beta_raw = 0 is each coefficient's approximate
// posterior mean when that is inside its bounds (a tenth of a scale inside the bound it is
// beyond otherwise), and that unconstrain inverts the program's map, for every kind of
// bound.
func TestBoundedRoundTrip(t *testing.T) {
	s := goldenSpec(t, "bounds")
	inf := math.Inf(1)
	s.Bounds[1] = ingest.Bound{Lower: -inf, Upper: 1e6}
	s.Bounds[2] = ingest.Bound{Lower: -1e6, Upper: 1e6}
	s.Bounds[3] = ingest.Bound{Lower: 5, Upper: inf} // beyond the data's estimate
	p := render(t, s)
	d, err := newBLMData(s)
	if err != nil {
		t.Fatal(err)
	}
	at0 := constrainBeta(t, p, make([]float64, d.k))
	for k := range at0 {
		want := d.centre[k]
		if d.centre[k] < d.lb[k] {
			want = d.lb[k] + 0.1*d.scale[k]
		}
		if relErr(at0[k], want) > 1e-9 {
			t.Errorf("beta_raw[%d] = 0 gives beta %v; want %v", k, at0[k], want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		u := make([]float64, d.k)
		for k := range u {
			u[k] = 3 * rng.NormFloat64()
		}
		back := d.unconstrain(constrainBeta(t, p, u))
		for k := range u {
			if math.Abs(back[k]-u[k]) > 1e-6*math.Max(1, math.Abs(u[k])) {
				t.Fatalf("coefficient %d: beta_raw %v round-trips to %v", k, u[k], back[k])
			}
		}
	}
}
