package pipeline

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/loo"
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
	r := &runner{cfg: &ingest.Config{}, folder: runfolder.Folder{Dir: t.TempDir()}, opts: Options{Log: io.Discard}}
	pd, err = r.writeDerived(context.Background(), spec, d)
	if err != nil {
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
	if err := r.writeLOO(spec, pd); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(r.folder.Path(runfolder.StageModelSelection, runfolder.LOOSummary))
	if err != nil {
		t.Fatal(err)
	}
	elpd := func(x func(s, i int) float64) string {
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
		var b bytes.Buffer
		if err := loo.WriteSummaryCSV(&b, res); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if want := elpd(func(s, i int) float64 { return col[s][i] }); string(got) != want {
		t.Errorf("loo_summary.csv:\n%s\nwant, from each draw's transformed column:\n%s", got, want)
	}
	if fixed := elpd(func(_, i int) float64 { return spec.X[1][i] }); string(got) == fixed {
		t.Error("LOO with the transform per draw equals LOO with it fixed at the prior centre")
	}

	// A parameter the fit does not report is an error that names it.
	d.names[4] = "half_saturation[other]"
	if _, err := posteriorDraws(spec, d); err == nil || !strings.Contains(err.Error(), `no parameter "half_saturation[m_tv]"`) {
		t.Errorf("missing half_saturation: %v", err)
	}
}
