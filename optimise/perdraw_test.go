package optimise

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// perDrawInputs are two channels whose model curves are Hill curves per draw, with S draws
// of the coefficients and of the curves' parameters from draw(d).
func perDrawInputs(S int, draw func(d int) (b1, b2 float64, r1, r2 Response)) Inputs {
	in := Inputs{Terms: []string{"tv", "search"}, Draws: make([][]float64, S),
		SpendColumns:       map[string][]float64{"tv": {50}, "search": {50}},
		ModelResponseDraws: map[string][]Response{"tv": make([]Response, S), "search": make([]Response, S)}}
	for d := range S {
		b1, b2, r1, r2 := draw(d)
		in.Draws[d] = []float64{b1, b2}
		in.ModelResponseDraws["tv"][d], in.ModelResponseDraws["search"][d] = r1, r2
	}
	return in
}

func twoChannels(budget float64) *Scenario {
	return &Scenario{BudgetTotal: budget, Channels: []Channel{
		{Term: "tv", Name: "tv", SpendCol: "tv", Bounds: Bounds{Max: math.Inf(1)}},
		{Term: "search", Name: "search", SpendCol: "search", Bounds: Bounds{Max: math.Inf(1)}},
	}}
}

// TestPerDrawHillAnalyticOptimum: with Hill curves of slope 1 and half-saturations e_c, the
// mean optimum equalises β̄_c e_c/(s_c + e_c)², so s_c = √(β̄_c e_c/λ) − e_c with
// 1/√λ = (B + e_1 + e_2)/(√(β̄_1 e_1) + √(β̄_2 e_2)). The coefficients vary by draw; the
// curves are given per draw.
func TestPerDrawHillAnalyticOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const e1, e2, B = 40.0, 15.0, 120.0
	in := perDrawInputs(2000, func(int) (float64, float64, Response, Response) {
		return 100 + 10*rng.NormFloat64(), 60 + 10*rng.NormFloat64(),
			Response{Type: ResponseHill, EC50: e1, Slope: 1}, Response{Type: ResponseHill, EC50: e2, Slope: 1}
	})
	b1, b2 := 0.0, 0.0
	for _, row := range in.Draws {
		b1 += row[0] / float64(len(in.Draws))
		b2 += row[1] / float64(len(in.Draws))
	}
	inv := (B + e1 + e2) / (math.Sqrt(b1*e1) + math.Sqrt(b2*e2))
	want := []float64{math.Sqrt(b1*e1)*inv - e1, math.Sqrt(b2*e2)*inv - e2}
	res, err := Optimise(context.Background(), twoChannels(B), in, Options{Starts: -1, FrontierSteps: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Solver != SolverLagrange {
		t.Errorf("solver %s; want %s (every curve concave, every coefficient positive)", res.Summary.Solver, SolverLagrange)
	}
	for c, ch := range res.Channels {
		if math.Abs(ch.OptimisedSpend-want[c]) > 0.01*want[c] {
			t.Errorf("%s: spend %v; want the analytic optimum %v", ch.Channel, ch.OptimisedSpend, want[c])
		}
		if !ch.Response.PerDraw || !strings.HasPrefix(ch.Response.String(), "per draw: hill(") {
			t.Errorf("%s: response %q; want the per-draw curve's summary", ch.Channel, ch.Response)
		}
	}
	// At the optimum the marginal ROIs are equal, and each is the mean slope β̄ f'(s).
	if m0, m1 := res.Channels[0].MarginalROI, res.Channels[1].MarginalROI; math.Abs(m0-m1) > 1e-6*m0 {
		t.Errorf("marginal ROIs %v and %v; want equal", m0, m1)
	}
	if got, w := res.Channels[0].MarginalROI, b1*e1/math.Pow(want[0]+e1, 2); math.Abs(got-w) > 1e-3*w {
		t.Errorf("tv marginal ROI %v; want β̄ e/(s+e)² = %v", got, w)
	}

	// The same through the general solver (mean_minus_sd with λ = 0 has the mean's optimum).
	sc := twoChannels(B)
	sc.Objective = Objective{Type: ObjectiveMeanMinusSD}
	res, err = Optimise(context.Background(), sc, in, Options{Starts: 2, FrontierSteps: -1})
	if err != nil {
		t.Fatal(err)
	}
	for c, ch := range res.Channels {
		if math.Abs(ch.OptimisedSpend-want[c]) > 0.01*want[c] {
			t.Errorf("%s (general solver): spend %v; want the analytic optimum %v", ch.Channel, ch.OptimisedSpend, want[c])
		}
	}
}

// TestPerDrawCurvesVary: when the half-saturation and shape vary by draw (some shapes above
// 1, so the general solver runs), the optimum is that of the expected contribution
// (1/S) Σ_d β_d h(s; e_d, k_d), found here by a fine search over the split; the reported
// contribution's interval comes from the draws, not from the median curve.
func TestPerDrawCurvesVary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const B = 100.0
	in := perDrawInputs(1000, func(int) (float64, float64, Response, Response) {
		return 80 + 5*rng.NormFloat64(), 50 + 5*rng.NormFloat64(),
			Response{Type: ResponseHill, EC50: 30 * math.Exp(0.3*rng.NormFloat64()), Slope: math.Exp(0.3 * rng.NormFloat64())},
			Response{Type: ResponseHill, EC50: 20 * math.Exp(0.3*rng.NormFloat64()), Slope: 1.5 * math.Exp(0.2*rng.NormFloat64())}
	})
	mean := func(s1 float64) float64 {
		t := 0.0
		for d, row := range in.Draws {
			t += row[0]*in.ModelResponseDraws["tv"][d].Value(s1) + row[1]*in.ModelResponseDraws["search"][d].Value(B-s1)
		}
		return t / float64(len(in.Draws))
	}
	best, bestV := 0.0, math.Inf(-1)
	for i := 0; i <= 200; i++ { // every 0.5, then every 0.005 around the best
		if v := mean(B * float64(i) / 200); v > bestV {
			best, bestV = B*float64(i)/200, v
		}
	}
	for lo, i := best-0.5, 0; i <= 200; i++ {
		if s := lo + float64(i)*0.005; s >= 0 && s <= B {
			if v := mean(s); v > bestV {
				best, bestV = s, v
			}
		}
	}
	res, err := Optimise(context.Background(), twoChannels(B), in, Options{Starts: 2, FrontierSteps: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Solver != SolverBFGS {
		t.Errorf("solver %s; want %s (S-shaped curves in some draws)", res.Summary.Solver, SolverBFGS)
	}
	if got := res.Channels[0].OptimisedSpend; math.Abs(got-best) > 0.01*B {
		t.Errorf("tv spend %v; want %v (the expected contribution's maximum)", got, best)
	}
	if got := res.Summary.Optimised.KPI.Mean; math.Abs(got-bestV) > 1e-4*bestV {
		t.Errorf("optimised mean %v; want %v", got, bestV)
	}
	tv := res.Channels[0]
	x := make([]float64, len(in.Draws))
	for d, row := range in.Draws {
		x[d] = row[0] * in.ModelResponseDraws["tv"][d].Value(tv.OptimisedSpend)
	}
	if want := interval(x); math.Abs(tv.Optimised.Q05-want.Q05) > 1e-9*want.Q95 || math.Abs(tv.Optimised.Mean-want.Mean) > 1e-9*want.Mean {
		t.Errorf("tv contribution %+v; want %+v from the draws", tv.Optimised, want)
	}
	if tv.OptimisedROI != tv.Optimised.Mean/tv.OptimisedSpend {
		t.Errorf("tv ROI %v; want mean contribution / spend", tv.OptimisedROI)
	}
}

// A channel whose curve the model estimates takes no written response, and the curves
// must come one per draw.
func TestPerDrawResponsesRefused(t *testing.T) {
	in := perDrawInputs(3, func(int) (float64, float64, Response, Response) {
		return 1, 1, Response{Type: ResponseHill, EC50: 10, Slope: 1}, Response{Type: ResponseHill, EC50: 10, Slope: 1}
	})
	sc := twoChannels(10)
	sc.Channels[0].Response = Response{Type: ResponseLog1p, Scale: 3}
	_, err := Optimise(context.Background(), sc, in, Options{})
	if err == nil || !strings.Contains(err.Error(), "`channels[0].response` is set, but the model estimates its saturation, so the channel's response is the model's steady-state curve with each draw's half-saturation and shape") {
		t.Errorf("written response: %v", err)
	}
	in.ModelResponseDraws["tv"] = in.ModelResponseDraws["tv"][:2]
	if _, err := Optimise(context.Background(), twoChannels(10), in, Options{}); err == nil || !strings.Contains(err.Error(), `2 response curves of "tv" for 3 coefficient draws`) {
		t.Errorf("short curves: %v", err)
	}
	in.ModelResponseDraws["tv"] = append(in.ModelResponseDraws["tv"], Response{Type: ResponseHill, EC50: -1, Slope: 1})
	if _, err := Optimise(context.Background(), twoChannels(10), in, Options{}); err == nil || !strings.Contains(err.Error(), `draw 2 of "tv"'s response`) {
		t.Errorf("bad curve: %v", err)
	}
}
