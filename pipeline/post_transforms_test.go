package pipeline

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
)

// estimatedFixture is a single-market spec of n weeks whose m_tv has adstock (max_lag 4)
// and Hill saturation with all three parameters estimated, and decoded draws as Decode
// emits them: the coefficients, noise_sd and the transform parameters by name. The data
// are simulated at decay 0.7, half_saturation 40, shape 2, far from the prior centres at
// which Spec.X holds the column.
func estimatedFixture(t *testing.T, n, chains, per int) (*ingest.Spec, *decoded) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	raw := make([]float64, n)
	for i := range raw {
		raw[i] = 100 * rng.Float64()
	}
	tv := ingest.Transform{Column: "m_tv", Adstock: true, MaxLag: 4, Hill: true, Raw: raw,
		DecayPrior:          &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2, Default: true},
		HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(50), B: 1, Default: true},
		ShapePrior:          &ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5, Default: true}}
	tv = tv.With(0.5, 50, 1)
	spec := &ingest.Spec{N: n, Response: "kpi",
		Terms:      []ingest.Term{{Name: ingest.InterceptName, Intercept: true}, {Name: "m_tv"}},
		Transforms: []ingest.Transform{tv}, Series: [][]int{make([]int, n)}}
	for i := range spec.Series[0] {
		spec.Series[0][i] = i
	}
	spec.X = [][]float64{make([]float64, n), tv.Apply(raw, spec.Series)}
	truth := tv.With(0.7, 40, 2).Apply(raw, spec.Series)
	spec.Y = make([]float64, n)
	for i := range spec.Y {
		spec.X[0][i] = 1
		spec.Y[i] = 5 + 10*truth[i] + 0.5*rng.NormFloat64()
	}
	S := chains * per
	d := &decoded{chains: chains, perChain: per,
		names: []string{ingest.InterceptName, "m_tv", ingest.NoiseSDName, "adstock_decay[m_tv]", "half_saturation[m_tv]", "hill_shape[m_tv]"}}
	d.cols = make([][]float64, len(d.names))
	for j := range d.cols {
		d.cols[j] = make([]float64, S)
	}
	for s := 0; s < S; s++ {
		d.cols[0][s] = 5 + 0.1*rng.NormFloat64()
		d.cols[1][s] = 10 + 0.3*rng.NormFloat64()
		d.cols[2][s] = 0.5 + 0.02*rng.NormFloat64()
		d.cols[3][s] = 0.7 + 0.03*rng.NormFloat64()
		d.cols[4][s] = 40 * math.Exp(0.05*rng.NormFloat64())
		d.cols[5][s] = 2 * math.Exp(0.05*rng.NormFloat64())
	}
	return spec, d
}

// TestEstimatedTransformsDownstream checks that the transform parameters reach
// posterior_draws.csv, that the decomposition uses each draw's transformed column, and that
// LOO uses the per-draw log-likelihood, which here differs from fixing the transform at its
// prior centre.
func TestEstimatedTransformsDownstream(t *testing.T) {
	spec, d := estimatedFixture(t, 60, 2, 100)
	pd, err := posteriorDraws(spec, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(pd.Transforms) != 1 || pd.Transforms[0].Term != 1 ||
		!slices.Equal(pd.Transforms[0].Decay, d.cols[3]) || !slices.Equal(pd.Transforms[0].HalfSaturation, d.cols[4]) || !slices.Equal(pd.Transforms[0].Shape, d.cols[5]) {
		t.Fatalf("transform draws %+v; want m_tv's three parameter columns", pd.Transforms)
	}
	r := &runner{cfg: &ingest.Config{}, folder: runfolder.Folder{Dir: t.TempDir()}, opts: Options{Log: io.Discard},
		report: &diagnostics.Report{}, info: &runfolder.RunInfo{Timings: map[string]float64{}}}
	if _, err := r.derivedAndLOO(context.Background(), spec, d); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(r.folder.Path(runfolder.StagePostRun, runfolder.PosteriorDraws))
	if err != nil {
		t.Fatal(err)
	}
	draws, err := posterior.ReadDraws(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"adstock_decay[m_tv]", "half_saturation[m_tv]", "hill_shape[m_tv]"} {
		j := slices.Index(draws.Names, name)
		if j < 0 {
			t.Fatalf("posterior_draws.csv has no %s (columns %v)", name, draws.Names)
		}
		if got, want := draws.Cols[j][7], d.cols[d.index(name)][7]; math.Abs(got-want) > 1e-12*want {
			t.Errorf("%s draw 8 = %v; want %v", name, got, want)
		}
	}

	// Each draw's column, computed independently, gives the contributions and the
	// log-likelihood.
	S := pd.S()
	col := make([][]float64, S)
	for s := range col {
		col[s] = spec.Transforms[0].With(d.cols[3][s], d.cols[4][s], d.cols[5][s]).Apply(spec.Transforms[0].Raw, spec.Series)
	}
	dec := readDecomposition(t, r.folder.Dir)
	for i, term := range dec.Terms {
		if term != "m_tv" {
			continue
		}
		row := dec.Keys[i].Row - 1
		want := 0.0
		for s := range col {
			want += d.cols[1][s] * col[s][row] / float64(S)
		}
		if math.Abs(dec.Mean[i]-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Fatalf("row %d: m_tv contribution %v; want the mean of β_s·x_s = %v", row+1, dec.Mean[i], want)
		}
	}
	b, err := os.ReadFile(r.folder.Path(runfolder.StageModelSelection, runfolder.LOOSummary))
	if err != nil {
		t.Fatal(err)
	}
	got, err := loo.ReadSummaryCSV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	elpd := func(x func(s, i int) float64) float64 {
		res, err := loo.PSIS(spec.N, func(i int) [][]float64 {
			out := make([][]float64, pd.Chains)
			for ch := range out {
				out[ch] = make([]float64, pd.PerChain)
				for j := range out[ch] {
					s := ch*pd.PerChain + j
					mu := d.cols[0][s] + d.cols[1][s]*x(s, i)
					z := (spec.Y[i] - mu) / d.cols[2][s]
					out[ch][j] = -0.5*z*z - math.Log(d.cols[2][s]) - 0.5*math.Log(2*math.Pi)
				}
			}
			return out
		}, 1)
		if err != nil {
			t.Fatal(err)
		}
		return res.ELPD
	}
	want := elpd(func(s, i int) float64 { return col[s][i] })
	if math.Abs(got.ELPD-want) > 1e-9*math.Abs(want) {
		t.Errorf("elpd_loo %v; want %v, from each draw's transformed column", got.ELPD, want)
	}
	fixed := elpd(func(_, i int) float64 { return spec.X[1][i] })
	t.Logf("elpd_loo %.3f with the transform per draw, %.3f fixed at the prior centre", got.ELPD, fixed)
	if math.Abs(got.ELPD-fixed) < 1 {
		t.Errorf("elpd_loo %v with the transform per draw; %v with it fixed at the prior centre: want them apart", got.ELPD, fixed)
	}

	// A parameter the fit does not report is an error that names it.
	d.names[4] = "half_saturation[other]"
	if _, err := posteriorDraws(spec, d); err == nil || !strings.Contains(err.Error(), `no parameter "half_saturation[m_tv]"`) {
		t.Errorf("missing half_saturation: %v", err)
	}
}

// TestEstimatedSaturationOptimisation: two channels whose Hill half-saturation the model
// estimates (m_tv's shape too, its draws all 1 here) take the model's curve in every draw;
// with slope 1 the mean optimum has the closed form s_c = √(β̄_c e_c/λ) − e_c with
// 1/√λ = (B + e_1 + e_2)/(√(β̄_1 e_1) + √(β̄_2 e_2)), which the allocation must meet within
// 1%. A written response for such a channel is refused before the fit.
func TestEstimatedSaturationOptimisation(t *testing.T) {
	const n, S, B = 20, 400, 120.0
	rng := rand.New(rand.NewPCG(13, 14))
	raw := func() []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = 60 * rng.Float64()
		}
		return x
	}
	tv := ingest.Transform{Column: "m_tv", Hill: true, HalfSaturation: 30, Shape: 1, Raw: raw(),
		HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(30), B: 1},
		ShapePrior:          &ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}}
	social := ingest.Transform{Column: "m_social", Hill: true, HalfSaturation: 30, Shape: 1, Raw: raw(),
		HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(30), B: 1}}
	spec := &ingest.Spec{N: n,
		Terms:      []ingest.Term{{Name: ingest.InterceptName, Intercept: true}, {Name: "m_tv"}, {Name: "m_social"}},
		Priors:     []ingest.Prior{{Mean: 1}, {Mean: 50}, {Mean: 50}},
		Transforms: []ingest.Transform{tv, social}}
	var csv strings.Builder
	csv.WriteString("m_tv,m_social\n")
	for i := 0; i < n; i++ {
		csv.WriteString(strings.Join([]string{plainNum(tv.Raw[i]), plainNum(social.Raw[i])}, ",") + "\n")
	}
	table, err := ingest.ReadCSV(strings.NewReader(csv.String()), "data.csv")
	if err != nil {
		t.Fatal(err)
	}
	const e1, e2 = 40.0, 15.0
	d := &decoded{chains: 2, perChain: S / 2,
		names: []string{ingest.InterceptName, "m_tv", "m_social", ingest.NoiseSDName, "half_saturation[m_tv]", "hill_shape[m_tv]", "half_saturation[m_social]"}}
	d.cols = make([][]float64, len(d.names))
	for j := range d.cols {
		d.cols[j] = make([]float64, S)
	}
	for s := 0; s < S; s++ {
		d.cols[0][s], d.cols[1][s], d.cols[2][s], d.cols[3][s] = 1, 100+10*rng.NormFloat64(), 60+10*rng.NormFloat64(), 1
		d.cols[4][s], d.cols[5][s], d.cols[6][s] = e1*math.Exp(1e-3*rng.NormFloat64()), 1, e2*math.Exp(1e-3*rng.NormFloat64())
	}
	sc, err := optimise.ParseScenario([]byte("channels:\n  - term: m_tv\n  - term: m_social\nbudget_total: 120\n"), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: &ingest.Config{Allocation: sc}, folder: runfolder.Folder{Dir: t.TempDir()}, opts: Options{Log: io.Discard}}
	if err := r.writeOptimisation(context.Background(), spec, table, d); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(r.folder.Path(runfolder.StageOptimisation, optimise.AllocationFile))
	if err != nil {
		t.Fatal(err)
	}
	alloc, err := optimise.ReadAllocation(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	mean := func(x []float64) float64 {
		m := 0.0
		for _, v := range x {
			m += v / float64(len(x))
		}
		return m
	}
	b1, b2 := mean(d.cols[1]), mean(d.cols[2])
	inv := (B + e1 + e2) / (math.Sqrt(b1*e1) + math.Sqrt(b2*e2))
	want := map[string]float64{"m_tv": math.Sqrt(b1*e1)*inv - e1, "m_social": math.Sqrt(b2*e2)*inv - e2}
	for _, row := range alloc.Rows {
		if w := want[row.Term]; math.Abs(row.OptimisedSpend-w) > 0.01*w {
			t.Errorf("%s: optimised spend %v; want the analytic optimum %v", row.Term, row.OptimisedSpend, w)
		}
		if !strings.HasPrefix(row.Response, "per draw: hill(ec50=") {
			t.Errorf("%s: response %q; want the model's per-draw Hill curve", row.Term, row.Response)
		}
	}

	// Before the fit, a written response for such a channel is an error that says why.
	own, err := optimise.ParseScenario([]byte("channels:\n  - term: m_tv\n    response: {type: log1p, scale: 10}\n  - term: m_social\nbudget_total: 120\n"), "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = CheckAllocation(context.Background(), &ingest.Config{Allocation: own}, spec, table)
	if err == nil || !strings.Contains(err.Error(), "the model estimates its saturation, so the channel's response is the model's steady-state curve with each draw's half-saturation and shape") {
		t.Errorf("written response: %v", err)
	}
	if err := CheckAllocation(context.Background(), &ingest.Config{Allocation: sc}, spec, table); err != nil {
		t.Errorf("CheckAllocation at the prior centres: %v", err)
	}
}

// An estimated adstock without saturation leaves the steady-state curve linear, β·s: the
// identity, the same in every draw; an estimated saturation has a curve per draw.
func TestModelResponsesEstimated(t *testing.T) {
	spec := &ingest.Spec{Transforms: []ingest.Transform{
		{Column: "m_print", Adstock: true, Decay: 0.5, MaxLag: 8, DecayPrior: &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}},
		{Column: "m_tv", Adstock: true, Decay: 0.5, MaxLag: 8, Hill: true, HalfSaturation: 30, Shape: 2,
			DecayPrior: &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}},
		{Column: "m_social", Hill: true, HalfSaturation: 30, Shape: 1.5,
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(30), B: 1}},
	}}
	got := ModelResponses(spec)
	want := map[string]optimise.Response{
		"m_print": {Type: optimise.ResponseIdentity},
		"m_tv":    {Type: optimise.ResponseHill, EC50: 30, Slope: 2},
	}
	if len(got) != len(want) || got["m_print"] != want["m_print"] || got["m_tv"] != want["m_tv"] {
		t.Errorf("ModelResponses = %v; want %v", got, want)
	}
	draws, err := ModelResponseDraws(spec, 2, func(name string) ([]float64, error) {
		if name != "half_saturation[m_social]" {
			t.Errorf("read %s", name)
		}
		return []float64{20, 40}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rs := draws["m_social"]; len(draws) != 1 || len(rs) != 2 ||
		rs[0] != (optimise.Response{Type: optimise.ResponseHill, EC50: 20, Slope: 1.5}) || rs[1].EC50 != 40 {
		t.Errorf("ModelResponseDraws = %v; want m_social's Hill with each draw's half-saturation and shape 1.5", draws)
	}
}

func plainNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
