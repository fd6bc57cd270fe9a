package posterior

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// benchPanel builds a markets × weeks panel with 7 population terms, 4 of them varying by
// market, and 4 chains × 1000 draws: the sizes of the examples.
func benchPanel(markets, weeks int) (*ingest.Spec, *Draws) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, K, S := markets*weeks, 7, 4000
	spec := &ingest.Spec{N: n, Y: make([]float64, n)}
	spec.X = matrix(K, n)
	for k := 0; k < K; k++ {
		spec.Terms = append(spec.Terms, ingest.Term{Name: string(rune('a' + k)), Intercept: k == 0})
	}
	g := ingest.Grouping{Factor: "market", Index: 1, Of: make([]int, n), Terms: []int{0, 4, 5, 6}}
	for m := 0; m < markets; m++ {
		g.Levels = append(g.Levels, string(rune('A'+m%26))+string(rune('a'+m/26)))
	}
	for i := 0; i < n; i++ {
		g.Of[i] = i / weeks
		spec.X[0][i] = 1
		for k := 1; k < K; k++ {
			spec.X[k][i] = rng.Float64()
		}
		spec.Y[i] = rng.NormFloat64()
	}
	spec.Groups = []ingest.Grouping{g}
	d := &Draws{Chains: 4, PerChain: 1000, Beta: matrix(K, S), NoiseSD: make([]float64, S)}
	for k := range spec.Terms {
		d.Terms = append(d.Terms, spec.Terms[k].Name)
		for s := range d.Beta[k] {
			d.Beta[k][s] = rng.NormFloat64()
		}
	}
	f := Factor{Name: "market", Levels: g.Levels, Terms: g.Terms}
	for m := 0; m < markets; m++ {
		dev := matrix(len(g.Terms), S)
		for _, v := range dev {
			for s := range v {
				v[s] = 0.1 * rng.NormFloat64()
			}
		}
		f.Dev = append(f.Dev, dev)
	}
	d.Factors = []Factor{f}
	for s := range d.NoiseSD {
		d.NoiseSD[s] = 1 + 0.1*rng.Float64()
	}
	return spec, d
}

// withEstimatedTransforms gives terms 4, 5 and 6 of a benchPanel estimated transforms
// (adstock with max_lag 8 and Hill, all three parameters sampled), with market series.
func withEstimatedTransforms(spec *ingest.Spec, d *Draws, weeks int) {
	rng := rand.New(rand.NewPCG(3, 4))
	S := d.S()
	for i := 0; i < spec.N; i++ {
		if i%weeks == 0 {
			spec.Series = append(spec.Series, nil)
		}
		spec.Series[len(spec.Series)-1] = append(spec.Series[len(spec.Series)-1], i)
	}
	for _, k := range []int{4, 5, 6} {
		t := ingest.Transform{Column: spec.Terms[k].Name, Adstock: true, Decay: 0.5, MaxLag: 8, Hill: true, HalfSaturation: 0.5, Shape: 1,
			Raw:                 spec.X[k],
			DecayPrior:          &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2},
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorLognormal, A: -0.7, B: 1},
			ShapePrior:          &ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}}
		spec.Transforms = append(spec.Transforms, t)
		td := TransformDraws{Term: k, Decay: make([]float64, S), HalfSaturation: make([]float64, S), Shape: make([]float64, S)}
		for s := 0; s < S; s++ {
			td.Decay[s], td.HalfSaturation[s], td.Shape[s] = rng.Float64(), 0.5*math.Exp(rng.NormFloat64()), math.Exp(0.5*rng.NormFloat64())
		}
		d.Transforms = append(d.Transforms, td)
	}
}

// BenchmarkDerive times fitted values, decomposition, totals and per-draw metrics for the
// 8 × 156 example and the 50 × 260 panel (4000 draws, 7 terms: about 360 million
// contributions), the same with three of the terms' adstock and Hill estimated (each draw's
// transformed columns computed row by row), and reports the Go heap's peak (the most the runtime obtained from the
// OS) in MiB. Targets: under 2 s and under 20 s with peak memory under 1 GiB.
func BenchmarkDerive(b *testing.B) {
	for _, size := range []struct {
		name           string
		markets, weeks int
		estimated      bool
	}{{"8x156", 8, 156, false}, {"50x260", 50, 260, false}, {"8x156-estimated", 8, 156, true}, {"50x260-estimated", 50, 260, true}} {
		b.Run(size.name, func(b *testing.B) {
			spec, d := benchPanel(size.markets, size.weeks)
			if size.estimated {
				withEstimatedTransforms(spec, d, size.weeks)
			}
			runtime.GC()
			debug.FreeOSMemory()
			b.ResetTimer()
			for b.Loop() {
				res, err := Derive(context.Background(), spec, d, Options{})
				if err != nil {
					b.Fatal(err)
				}
				_ = Metrics(spec, res)
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.Sys)/(1<<20), "peak-MiB")
		})
	}
}

// BenchmarkWriteDraws times posterior_draws.csv for the 500 × 104 panel's posterior: 2,006
// parameters (population terms, 500 markets × 4 group coefficients, scales) × 4000 draws,
// about 150 MB, and reports its MB/s.
func BenchmarkWriteDraws(b *testing.B) {
	const params, chains, perChain = 2006, 4, 1000
	rng := rand.New(rand.NewPCG(5, 6))
	names := make([]string, params)
	cols := matrix(params, chains*perChain)
	for j := range cols {
		names[j] = "p[" + string(rune('a'+j%26)) + "]"
		for s := range cols[j] {
			cols[j][s] = rng.NormFloat64() * math.Pow(10, float64(j%7-2))
		}
	}
	metrics := make([]DrawMetric, chains*perChain)
	var n countingWriter
	for b.Loop() {
		n = 0
		if err := WriteDraws(&n, names, cols, chains, perChain, metrics); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(n))
}

// countingWriter counts what is written to it.
type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
