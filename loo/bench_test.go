package loo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// benchPool returns the log-likelihood of 156 observations of a simulated linear
// regression, 4 chains × 1000 draws of (a, b, σ) moving as AR(1) (φ = 0.3) around the
// posterior, so that r_eff is realistic.
func benchPool() [][][]float64 {
	const nObs, chains, draws = 156, 4, 1000
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := make([]float64, nObs), make([]float64, nObs)
	for i := range x {
		x[i] = rng.NormFloat64()
		y[i] = 1 + 2*x[i] + rng.NormFloat64()
	}
	pool := make([][][]float64, nObs)
	for i := range pool {
		pool[i] = make([][]float64, chains)
		for c := range chains {
			pool[i][c] = make([]float64, draws)
		}
	}
	se := 1 / math.Sqrt(nObs)
	for c := range chains {
		var za, zb, zs float64
		for d := range draws {
			za = 0.3*za + 0.95*rng.NormFloat64()
			zb = 0.3*zb + 0.95*rng.NormFloat64()
			zs = 0.3*zs + 0.95*rng.NormFloat64()
			a, b, s := 1+se*za, 2+se*zb, math.Exp(se*zs/math.Sqrt2)
			for i := range nObs {
				z := (y[i] - a - b*x[i]) / s
				pool[i][c][d] = -0.5*z*z - math.Log(s) - 0.5*math.Log(2*math.Pi)
			}
		}
	}
	return pool
}

// BenchmarkPSIS times PSIS-LOO on 4000 draws for the 156-week example and for a
// 50 markets × 260 weeks panel (13 000 observations), on GOMAXPROCS goroutines. It
// reports wall time per call (s/op) and per observation (µs/obs), and CPU time per
// observation (cpu-µs/obs), which does not depend on how busy the machine is.
func BenchmarkPSIS(b *testing.B) {
	pool := benchPool()
	for _, n := range []int{156, 13000} {
		b.Run(fmt.Sprintf("S=4000/N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				if _, err := PSIS(n, func(i int) [][]float64 { return pool[i%len(pool)] }, 0); err != nil {
					b.Fatal(err)
				}
			}
			ops := float64(b.N)
			b.ReportMetric(b.Elapsed().Seconds()/ops, "s/op")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/(ops*float64(n)), "µs/obs")
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/(ops*float64(n)), "cpu-µs/obs")
			}
		})
	}
}
