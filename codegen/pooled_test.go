package codegen

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/simulate"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

// pooledGoldenSpec is the bounds golden's model with its three slopes pooled over two
// dimensions: m_tv (offline, brand), m_search (online, brand), price (online, product).
func pooledGoldenSpec() *ingest.Spec {
	s := weekSpec(specOptions{intercept: true, terms: []string{"m_tv", "m_search", "price"}, scale: true,
		bounds: map[string]ingest.Bound{"m_tv": {Lower: 0, Upper: math.Inf(1)}, "m_search": {Lower: 0, Upper: 10}}})
	s.Pooling = &ingest.Pooling{
		Dims:      []ingest.PoolDim{{Name: "channel", Levels: []string{"offline", "online"}}, {Name: "campaign", Levels: []string{"brand", "product"}}},
		Terms:     []int{1, 2, 3},
		Level:     [][]int{{0, 0}, {1, 0}, {1, 1}},
		MeanPrior: ingest.Prior{Mean: 0.5, SD: 2},
		DimSD:     []ingest.Prior{{Mean: 0, SD: 1}, {Mean: 0, SD: 0.5}},
		TermSD:    ingest.Prior{Mean: 0, SD: 0.25},
	}
	return s
}

// pooledExampleSpec simulates the pooled example and loads it as `dsamstan run` would.
func pooledExampleSpec(tb testing.TB, weeks int) (*ingest.Spec, simulate.Truth) {
	tb.Helper()
	ex, err := simulate.Pooled(simulate.PooledOptions{Weeks: weeks})
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	if err := ex.Write(dir); err != nil {
		tb.Fatal(err)
	}
	_, spec, err := ingest.Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	return spec, ex.Truth
}

// TestRenderPooledData checks the pooled program's data for the example: the pooled and
// other indexes, the levels (dimension by dimension, 1-based among all levels), the scale
// that maps a pooling unit into each term's standardised coefficient, and the priors in
// pooling units; and that Params maps every term as the single-market program does, then
// the pooled parameters in original units.
func TestRenderPooledData(t *testing.T) {
	spec, _ := pooledExampleSpec(t, 156)
	p := render(t, spec)
	if p.Template != PooledTemplate {
		t.Fatalf("Template = %s; want %s", p.Template, PooledTemplate)
	}
	// (Intercept), trend, seasonality, then the four pooled terms.
	if got := dataVar(t, p, "pooled_idx").([]int); !slices.Equal(got, []int{4, 5, 6, 7}) {
		t.Errorf("pooled_idx = %v; want [4 5 6 7]", got)
	}
	if got := dataVar(t, p, "other_idx").([]int); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("other_idx = %v; want [1 2 3]", got)
	}
	if got := dataVar(t, p, "level_dim").([]int); !slices.Equal(got, []int{1, 1, 2, 2}) {
		t.Errorf("level_dim = %v; want [1 1 2 2]", got)
	}
	want := [][]int{{1, 3}, {1, 4}, {2, 3}, {2, 4}} // tv/search are levels 1, 2; brand/product 3, 4
	got := dataVar(t, p, "level").([][]int)
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("level[%d] = %v; want %v", i, got[i], want[i])
		}
	}
	u := pooledUnit(spec)
	scale := dataVar(t, p, "pooled_scale").([]float64)
	prod := 1.0
	for i, k := range spec.Pooling.Terms {
		_, s := coefScale(spec, k)
		if relErr(scale[i], u/s) > 1e-12 {
			t.Errorf("pooled_scale[%d] = %v; want %v", i, scale[i], u/s)
		}
		prod *= scale[i]
	}
	if math.Abs(prod-1) > 1e-9 {
		t.Errorf("the pooled scales' product is %v; the unit is their geometric mean, so want 1", prod)
	}
	mp := spec.Pooling.MeanPrior
	if got := dataVar(t, p, "pooled_mean_prior_sd").(float64); relErr(got, mp.SD/u) > 1e-12 {
		t.Errorf("pooled_mean_prior_sd = %v; want %v", got, mp.SD/u)
	}
	var names []string
	for _, prm := range p.Params {
		names = append(names, prm.Name)
	}
	wantNames := []string{"(Intercept)", "trend", "seasonality", "m_tv_brand", "m_tv_product", "m_search_brand", "m_search_product",
		"noise_sd", "pooled_mean", "sd_channel", "sd_campaign", "sd_term",
		"pooled_effect[channel=tv]", "pooled_effect[channel=search]", "pooled_effect[campaign=brand]", "pooled_effect[campaign=product]"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("Params names = %v\nwant %v", names, wantNames)
	}
	// The coefficients map exactly as in the single-market program.
	plain := *spec
	plain.Pooling = nil
	blm := render(t, &plain)
	for k, prm := range blm.Params[:len(spec.Terms)] {
		if p.Params[k] != prm {
			t.Errorf("Params[%d] = %+v; the single-market program has %+v", k, p.Params[k], prm)
		}
	}
	// The pooled entries of prior_mean and prior_sd are the pooled prior's marginal.
	pd, err := newPooledData(spec)
	if err != nil {
		t.Fatal(err)
	}
	sd := dataVar(t, p, "prior_sd").([]float64)
	for i, k := range spec.Pooling.Terms {
		if _, s := pd.approxPrior(i); sd[k] != s {
			t.Errorf("prior_sd[%d] = %v; want the marginal %v", k, sd[k], s)
		}
	}
}

// TestRenderPooledErrors checks that Render refuses a pooled Spec it cannot represent.
func TestRenderPooledErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*ingest.Spec)
		want   string
	}{
		{"intercept pooled", func(s *ingest.Spec) { s.Pooling.Terms[0] = 0 }, "out of range, repeated or the intercept"},
		{"level out of range", func(s *ingest.Spec) { s.Pooling.Level[2][1] = 2 }, `has level 2 of dimension "campaign"`},
		{"negative scale prior mean", func(s *ingest.Spec) { s.Pooling.TermSD.Mean = -1 }, "prior half_normal(-1, 0.25) on sd_term"},
		{"groups", func(s *ingest.Spec) { s.Groups = []ingest.Grouping{{Factor: "market"}} }, "cannot have grouping factors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := pooledGoldenSpec()
			tc.mutate(s)
			_, err := Render(context.Background(), nil, s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render error = %v; want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestDecodePooled decodes a made-up chain of the pooled program: every coefficient and
// pooled parameter is its column mapped back by its Param.
func TestDecodePooled(t *testing.T) {
	spec := pooledGoldenSpec()
	p := render(t, spec)
	ch := &stanio.Chain{}
	for j, prm := range p.Params {
		ch.Columns = append(ch.Columns, prm.Column)
		ch.Draws = append(ch.Draws, []float64{float64(j), float64(j) + 0.5})
	}
	names, draws, err := p.Decode(ch)
	if err != nil {
		t.Fatal(err)
	}
	u := pooledUnit(spec)
	for j, name := range names {
		if name != p.Params[j].Name {
			t.Fatalf("name %d = %s; want %s", j, name, p.Params[j].Name)
		}
		if strings.HasPrefix(name, "pooled_effect[") || strings.HasPrefix(name, "sd_") || name == "pooled_mean" {
			if w := u * (float64(j) + 0.5); relErr(draws[j][1], w) > 1e-12 {
				t.Errorf("%s = %v; want %v (pooling unit %v)", name, draws[j][1], w, u)
			}
		}
	}
	if !slices.Contains(names, "pooled_effect[channel=online]") {
		t.Errorf("names %v lack pooled_effect[channel=online]", names)
	}
}

// pooledXi returns the program's xi for a point given in natural coordinates, and the log
// Jacobian log |d theta / d xi| there, with theta = (pooled_mean, level effects) in
// pooling units: xi = C' theta - C^-1 rhs, C the Cholesky factor of the precision
// H = diag(prior precisions) + W'W / sd_term^2 and rhs = prior mean term + W'b / sd_term^2,
// b the pooled coefficients in pooling units, as the program computes them.
func pooledXi(t *testing.T, pd *pooledData, beta []float64, mean float64, effect, sdDim []float64, sdTerm float64) ([]float64, float64) {
	t.Helper()
	q := 1 + len(effect)
	h := mat.NewSymDense(q, nil)
	rhs := make([]float64, q)
	tau2 := sdTerm * sdTerm
	for i := range pd.pooled {
		cols := append([]int{0}, pd.level[i]...)
		b := beta[pd.pooled[i]-1] / pd.scale[i]
		for _, a := range cols {
			rhs[a] += b / tau2
			for _, c := range cols {
				if a <= c {
					h.SetSym(a, c, h.At(a, c)+1/tau2)
				}
			}
		}
	}
	h.SetSym(0, 0, h.At(0, 0)+1/(pd.meanPrior[1]*pd.meanPrior[1]))
	rhs[0] += pd.meanPrior[0] / (pd.meanPrior[1] * pd.meanPrior[1])
	for l, d := range pd.levelDim {
		h.SetSym(l+1, l+1, h.At(l+1, l+1)+1/(sdDim[d-1]*sdDim[d-1]))
	}
	var ch mat.Cholesky
	if !ch.Factorize(h) {
		t.Fatal("the precision of theta is not positive definite")
	}
	var c mat.TriDense
	ch.LTo(&c)
	theta := mat.NewVecDense(q, append([]float64{mean}, effect...))
	var v, ct mat.VecDense
	if err := v.SolveVec(&c, mat.NewVecDense(q, rhs)); err != nil {
		t.Fatal(err)
	}
	ct.MulVec(c.T(), theta)
	xi := make([]float64, q)
	logJ := 0.0
	for i := range xi {
		xi[i] = ct.AtVec(i) - v.AtVec(i)
		logJ -= math.Log(c.At(i, i))
	}
	return xi, logJ
}

// TestPooledLogProbMatchesDirectModel checks the pooled program against
// testdata/naive_pooled.stan, which writes the model row by row in natural coordinates
// (the level effects centred, each pooled coefficient's truncated normal written out with
// Phi), at six points: a lower bound 0 on m_tv, both bounds on m_search, price unbounded;
// points where a level scale or sd_term is small, and one where the pooled means lie below
// the lower bounds. Without Jacobians both give the same log density up to one constant;
// the program's Jacobian flag adds log |d beta / d beta_raw| + log |d theta / d xi|.
func TestPooledLogProbMatchesDirectModel(t *testing.T) {
	r := cmdstanRunner(t)
	spec := pooledGoldenSpec()
	p := render(t, spec)
	d, err := newBLMData(spec)
	if err != nil {
		t.Fatal(err)
	}
	pd, err := newPooledData(spec)
	if err != nil {
		t.Fatal(err)
	}
	x, y := standardise(spec)
	rows := make([][]float64, spec.N)
	for i := range rows {
		for k := range x {
			rows[i] = append(rows[i], x[k][i])
		}
	}
	dir := compileBoth(t, r, p.Code, "testdata/naive_pooled.stan")
	withFlag := func(v int) []stanio.Var {
		out := slices.Clone(p.Data)
		for i := range out {
			if out[i].Name == jacobianVar {
				out[i].Value = v
			}
		}
		return out
	}
	writeJSON(t, filepath.Join(dir, "ours-0.json"), withFlag(0))
	writeJSON(t, filepath.Join(dir, "ours-1.json"), withFlag(1))
	writeJSON(t, filepath.Join(dir, "naive.json"), append([]stanio.Var{{Name: "X", Value: rows}, {Name: "y", Value: y}}, p.Data...))
	rng := rand.New(rand.NewPCG(5, 5))
	var lp0Ours, lp0Naive float64
	for i := range 6 {
		beta := make([]float64, d.k)
		for k := range beta {
			beta[k] = inside(d.centre[k]+3*d.scale[k]*rng.NormFloat64(), d.lb[k], d.ub[k], d.scale[k])
		}
		mean := 0.3 * rng.NormFloat64()
		sdDim := []float64{0.1 + 0.5*rng.Float64(), 0.1 + 0.5*rng.Float64()}
		sdTerm := 0.2 + rng.Float64()
		switch i {
		case 3:
			sdDim[0] = 1e-3
		case 4:
			sdTerm = 0.02
		case 5:
			mean = -1 // the pooled terms' means below m_tv's and m_search's lower bound 0
		}
		effect := make([]float64, len(pd.levelDim))
		for l, dim := range pd.levelDim {
			effect[l] = sdDim[dim-1] * rng.NormFloat64()
		}
		// Each pooled coefficient within a few sd_term of its mean, so that the naive
		// program's Phi differences keep their digits.
		for j, k := range spec.Pooling.Terms {
			m := mean
			for _, l := range pd.level[j] {
				m += effect[l-1]
			}
			beta[k] = inside(pd.scale[j]*(m+sdTerm*rng.NormFloat64()), d.lb[k], d.ub[k], 0.1*pd.scale[j]*sdTerm)
		}
		noise := 0.2 + rng.Float64()
		xi, logJ := pooledXi(t, pd, beta, mean, effect, sdDim, sdTerm)
		naivePoint := filepath.Join(dir, fmt.Sprintf("naive-point%d.json", i))
		oursPoint := filepath.Join(dir, fmt.Sprintf("ours-point%d.json", i))
		writeJSON(t, naivePoint, []stanio.Var{{Name: "beta", Value: beta}, {Name: "noise_sd", Value: noise},
			{Name: "pooled_mean", Value: mean}, {Name: "sd_dim", Value: sdDim}, {Name: "pooled_effect", Value: effect}, {Name: "sd_term", Value: sdTerm}})
		u := d.unconstrain(beta)
		writeJSON(t, oursPoint, []stanio.Var{{Name: "beta_raw", Value: u}, {Name: "noise_sd", Value: noise},
			{Name: "xi", Value: xi}, {Name: "sd_dim", Value: sdDim}, {Name: "sd_term", Value: sdTerm}})
		a := logProbData(t, dir, "ours", oursPoint, "ours-0.json", false)[0]
		b := logProbData(t, dir, "naive", naivePoint, "naive.json", false)[0]
		if i == 0 {
			lp0Ours, lp0Naive = a, b
		}
		if da, db := a-lp0Ours, b-lp0Naive; math.Abs(da-db) > 1e-8*math.Max(1, math.Abs(db)) {
			t.Errorf("point %d: lp - lp(point 0) = %.12g (ours), %.12g (naive)", i, da, db)
		}
		withJ := logProbData(t, dir, "ours", oursPoint, "ours-1.json", false)[0]
		want := logJ
		for k := range u {
			want += math.Log(d.betaDerivative(k, u[k]))
		}
		if got := withJ - a; math.Abs(got-want) > 1e-8*math.Max(1, math.Abs(want)) {
			t.Errorf("point %d: the program's Jacobian adds %.12g; log |d beta / d beta_raw| + log |d theta / d xi| is %.12g", i, got, want)
		}
	}
}

// TestFitPooled fits the pooled example (156 weeks, four pooled terms over channel ×
// campaign, known truth, the example config's priors) with CmdStan, 4 chains of 500 + 500,
// and checks: the 90% intervals of the coefficients, noise_sd, pooled_mean and the level
// effects cover their truth but for at most one, max Rhat over the pooling scales sd_* at
// most 1.01, and at most 0.5% divergent transitions (seeds 1, 2, 3 and 123 left 0, 0, 3
// and 1).
func TestFitPooled(t *testing.T) {
	r := cmdstanRunner(t)
	spec, truth := pooledExampleSpec(t, 156)
	p := render(t, spec)
	res := fitProgram(t, r, p.Code, p.Data, fitOptions{metric: p.Metric, adaptDelta: p.AdaptDelta, seed: 123, decode: p.Decode,
		warmup: 500, samples: 500})
	t.Logf("pooled 156 weeks: %.2fs, %d divergences of 2000, max Rhat(sd_*) %.4f, min ESS(sd_*) %.0f (%s)",
		res.wall.Seconds(), res.divergences, res.maxRhat, res.minESS, res.minESSName)
	if res.maxRhat > 1.01 {
		t.Errorf("max Rhat over sd_* = %.4f; want <= 1.01", res.maxRhat)
	}
	if res.divergences > 10 {
		t.Errorf("%d divergent transitions of 2000; want at most 10", res.divergences)
	}
	want := map[string]float64{"noise_sd": truth.NoiseSD}
	maps.Copy(want, truth.Coefficients)
	maps.Copy(want, truth.Pooled)
	covered, checked := 0, 0
	for j, name := range res.names {
		w, ok := want[name]
		if !ok {
			continue
		}
		checked++
		var all []float64
		for _, c := range res.cols[j] {
			all = append(all, c...)
		}
		slices.Sort(all)
		lo, hi := summarise.Quantile(all, 0.05), summarise.Quantile(all, 0.95)
		t.Logf("%-32s truth %8.4g, 90%% interval [%8.4g, %8.4g]", name, w, lo, hi)
		if w >= lo && w <= hi {
			covered++
		}
	}
	if checked != len(want) {
		t.Fatalf("checked %d of the %d true values; Decode names %v", checked, len(want), res.names)
	}
	if covered < checked-1 {
		t.Errorf("90%% intervals cover %d of %d true values; want all but at most one", covered, checked)
	}
}
