package optimise

import (
	"context"
	"math"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user plus system CPU time, a figure less disturbed than wall
// time when other work shares the machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOptimise times a full Optimise (allocation, curves, 21-budget frontier solved on
// GOMAXPROCS workers, sensitivity) for 5 channels over 4000 draws; the target is under
// 1 s per run. It reports wall seconds and CPU seconds (user + system) per run.
func BenchmarkOptimise(b *testing.B) {
	draws := normalDraws(1, 4000, []float64{5, 3, 2.5, 2, 1.5, 1}, []float64{1, 0.8, 0.5, 0.5, 0.3, 0.2})
	terms := []string{"(Intercept)", "m1", "m2", "m3", "m4", "m5"}
	channels := func(slope float64) []Channel {
		out := make([]Channel, 5)
		for c := range out {
			out[c] = Channel{Term: terms[c+1], Bounds: Bounds{Min: 10, Max: math.Inf(1)},
				Response: Response{Type: ResponseHill, EC50: 50 + 30*float64(c), Slope: slope}}
		}
		out[4].Response = Response{Type: ResponseLog1p, Scale: 40}
		out[1].Bounds.Max = 150
		return out
	}
	cases := []struct {
		name  string
		slope float64
		obj   Objective
	}{
		{"mean/concave", 0.8, Objective{Type: ObjectiveMean}},
		{"mean/s-shaped", 2, Objective{Type: ObjectiveMean}},
		{"mean_minus_sd", 2, Objective{Type: ObjectiveMeanMinusSD, Lambda: 1}},
		{"quantile", 2, Objective{Type: ObjectiveQuantile, Q: 0.1}},
		{"cvar", 2, Objective{Type: ObjectiveCVaR, Alpha: 0.1}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ref := map[string]float64{}
			for _, term := range terms[1:] {
				ref[term] = 100
			}
			sc := &Scenario{BudgetTotal: 500, Channels: channels(tc.slope), Objective: tc.obj, ReferenceSpend: ref}
			in := Inputs{Terms: terms, Draws: draws}
			cpu0 := cpuTime(b)
			for b.Loop() {
				if _, err := Optimise(context.Background(), sc, in, Options{Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/optimise")
			b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/optimise")
		})
	}
}
