package diagnostics

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkP1 times the sampler checks for a panel-sized fit: 4 chains × 1000 draws of
// Small (10), Medium (100) and Large (400) parameters, a tenth of them sd_* scales.
func BenchmarkP1(b *testing.B) {
	for _, size := range []struct {
		name   string
		params int
	}{{"Small", 10}, {"Medium", 100}, {"Large", 400}} {
		rng := rand.New(rand.NewPCG(1, 1))
		chains := sampler(4, 1000, 10, func(c, i int) (float64, float64, float64) { return 0, 4, rng.NormFloat64() })
		params := make([]Param, size.params)
		for j := range params {
			name := fmt.Sprintf("beta.%d", j+1)
			if j%10 == 0 {
				name = fmt.Sprintf("sd_1.%d", j+1)
			}
			params[j] = Param{Name: name, Draws: normalChains(rng, 4, 1000)}
		}
		b.Run(size.name, func(b *testing.B) {
			for b.Loop() {
				P1(chains, params, ModePublish)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(size.params), "µs/param")
		})
	}
}
