package diagnostics

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/stanio"
)

// readChains reads CmdStan CSVs from testdata. The files there are copies of
// ../shared/fixtures/cmdstan-2.33/ (real CmdStan 2.33.1 output; see its README.md).
func readChains(t *testing.T, files ...string) ([]*stanio.Chain, []Param) {
	t.Helper()
	for i, f := range files {
		files[i] = "testdata/" + f
	}
	chains, err := stanio.ReadCSVFiles(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	params, err := ParamsFromChains(chains)
	if err != nil {
		t.Fatal(err)
	}
	return chains, params
}

func TestEBFMIMatchesBinDiagnose(t *testing.T) {
	// `/root/.cmdstan/cmdstan-2.33.1/bin/diagnose eight-centred-divergent.csv` prints
	// "The E-BFMI, 0.30, is below the nominal threshold of 0.30" (it rounds to 2 decimals;
	// eight-treedepth3.csv: "0.29"). The full values come from the same program,
	// src/cmdstan/diagnose.cpp of CmdStan 2.33.1 with std::setprecision(2) changed to 17,
	// built with the flags `make -n bin/diagnose` shows and run on the same files.
	for _, tt := range []struct {
		file string
		want float64
	}{
		{"eight-centred-divergent.csv", 0.29690819615033137},
		{"eight-treedepth3.csv", 0.29092662052608836},
	} {
		chains, _ := readChains(t, tt.file)
		got := EBFMI(chains[0].Draws[chains[0].Column("energy__")])
		if math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("EBFMI(%s) = %.17g; want %.17g (tol 1e-12)", tt.file, got, tt.want)
		}
	}
	if v := EBFMI([]float64{1}); !math.IsNaN(v) {
		t.Errorf("EBFMI of one draw = %g; want NaN", v)
	}
	if v := EBFMI([]float64{2, 2, 2}); !math.IsNaN(v) {
		t.Errorf("EBFMI of constant energy = %g; want NaN", v)
	}
	// A ramp of n values: Σ(ΔE)² = n−1 and Σ(E−Ē)² = n(n²−1)/12, so E-BFMI = 12/(n(n+1)).
	if v := EBFMI([]float64{0, 1, 2, 3, 4, 5}); math.Abs(v-12.0/42) > 1e-15 {
		t.Errorf("EBFMI(ramp 6) = %v; want 12/42", v)
	}
}

func TestDivergentFixture(t *testing.T) {
	// eight-centred-divergent.csv: 4 divergent transitions in 300 draws (bin/diagnose:
	// "4 of 300 (1.33%) transitions ended with a divergence"), E-BFMI 0.297, no draw at
	// max_depth 10.
	chains, params := readChains(t, "eight-centred-divergent.csv")
	want := map[string]map[string]string{
		ModeExplore: {"sampler_divergences": StatusWarn, "sampler_treedepth_saturation": StatusPass, "sampler_ebfmi_min": StatusPass},
		ModePublish: {"sampler_divergences": StatusFail, "sampler_treedepth_saturation": StatusPass, "sampler_ebfmi_min": StatusWarn},
		ModeStrict:  {"sampler_divergences": StatusFail, "sampler_treedepth_saturation": StatusPass, "sampler_ebfmi_min": StatusFail},
	}
	for _, mode := range Modes {
		checks := P1(chains, params, mode)
		for id, w := range want[mode] {
			if c := find(t, checks, id); c.Status != w {
				t.Errorf("%s: %s = %s; want %s (%s)", mode, id, c.Status, w, c.Message)
			}
		}
		d := find(t, checks, "sampler_divergences")
		if d.Value != 4 || !strings.Contains(d.Message, "4 of 300 draws (1.33%)") || !strings.Contains(d.Message, "fit.mcmc.adapt_delta (e.g. to 0.95; it was 0.8)") {
			t.Errorf("%s: divergence row %+v", mode, d)
		}
		// bin/diagnose flags theta[8] (split R-hat > 1.05); the rank-normalised Rhat fails too.
		r := find(t, checks, "sampler_rhat_max")
		if r.Status != StatusFail && mode != ModeExplore || !strings.Contains(r.Message, "theta.8") {
			t.Errorf("%s: rhat row %+v; want fail naming theta.8", mode, r)
		}
		for _, id := range []string{"sampler_rhat_max_sd", "sampler_ess_bulk_min_sd", "sampler_ess_tail_min_sd"} {
			if c := find(t, checks, id); c.Status != StatusSkipped {
				t.Errorf("%s: %s = %s without sd_* parameters; want skipped", mode, id, c.Status)
			}
		}
	}
}

func TestTreedepthFixture(t *testing.T) {
	// eight-treedepth3.csv: max_depth = 3; bin/diagnose: "290 of 300 (96.67%) transitions
	// hit the maximum treedepth limit of 3" and "3 of 300 (1.00%) transitions ended with a
	// divergence".
	chains, params := readChains(t, "eight-treedepth3.csv")
	if chains[0].Config.MaxDepth != 3 {
		t.Fatalf("max_depth read as %d; want 3", chains[0].Config.MaxDepth)
	}
	for _, mode := range Modes {
		checks := P1(chains, params, mode)
		td := find(t, checks, "sampler_treedepth_saturation")
		if td.Status != StatusFail || math.Abs(td.Value-290.0/300) > 1e-15 ||
			!strings.Contains(td.Message, "290 of 300 draws (96.7%) hit max_treedepth 3") ||
			!strings.Contains(td.Message, "raise fit.mcmc.max_treedepth (e.g. to 12)") {
			t.Errorf("%s: treedepth row %+v", mode, td)
		}
		// 3 of 300 is exactly 1%: not above publish's 1%, so a warn there.
		want := map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}[mode]
		if d := find(t, checks, "sampler_divergences"); d.Value != 3 || d.Status != want {
			t.Errorf("%s: divergences %+v; want 3, %s", mode, d, want)
		}
	}
}

func TestHierFixtureGroupScales(t *testing.T) {
	// Two chains of a non-centred model whose group scales are sd_1.1 and sd_1.2.
	chains, params := readChains(t, "hier-noncentred-1.csv", "hier-noncentred-2.csv")
	checks := P1(chains, params, ModePublish)
	for _, id := range []string{"sampler_rhat_max_sd", "sampler_ess_bulk_min_sd", "sampler_ess_tail_min_sd"} {
		c := find(t, checks, id)
		if c.Status == StatusSkipped || !strings.Contains(c.Message, "sd_1.") || strings.Contains(c.Message, "beta") {
			t.Errorf("%s = %+v; want a graded row about sd_1.* only", id, c)
		}
	}
	all, sd := find(t, checks, "sampler_ess_bulk_min"), find(t, checks, "sampler_ess_bulk_min_sd")
	if all.Value > sd.Value {
		t.Errorf("min bulk ESS over all parameters %g exceeds the minimum over sd_* %g", all.Value, sd.Value)
	}
	e := find(t, checks, "sampler_ebfmi_min")
	if e.Status != StatusPass || !strings.Contains(e.Message, "all chains: ") {
		t.Errorf("E-BFMI row %+v", e)
	}
}

// sampler builds chains with the given sampler columns, n draws each.
func sampler(nChains, n, maxDepth int, set func(c, i int) (div, depth, energy float64)) []*stanio.Chain {
	var chains []*stanio.Chain
	for c := range nChains {
		ch := &stanio.Chain{Columns: []string{"divergent__", "treedepth__", "energy__"},
			Config: stanio.Config{MaxDepth: maxDepth, AdaptDelta: 0.8, ID: c + 1}, Draws: make([][]float64, 3)}
		for j := range 3 {
			ch.Draws[j] = make([]float64, n)
		}
		for i := range n {
			ch.Draws[0][i], ch.Draws[1][i], ch.Draws[2][i] = set(c, i)
		}
		chains = append(chains, ch)
	}
	return chains
}

func TestDivergenceBoundaries(t *testing.T) {
	// 4 chains × 250 draws = 1000: 1% is 10 draws, 5% is 50.
	tests := []struct {
		count int
		want  map[string]string
	}{
		{0, map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}},
		{1, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{10, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{11, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{50, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{51, map[string]string{ModeExplore: StatusFail, ModePublish: StatusFail, ModeStrict: StatusFail}},
	}
	for _, tt := range tests {
		chains := sampler(4, 250, 10, func(c, i int) (float64, float64, float64) {
			div := 0.0
			if c*250+i < tt.count {
				div = 1
			}
			return div, 3, float64(i % 7)
		})
		for _, mode := range Modes {
			d := find(t, P1(chains, nil, mode), "sampler_divergences")
			if d.Status != tt.want[mode] || d.Value != float64(tt.count) {
				t.Errorf("%s: %d divergences: %s %g; want %s", mode, tt.count, d.Status, d.Value, tt.want[mode])
			}
		}
	}
}

func TestTreedepthBoundaries(t *testing.T) {
	// 2 chains × 500 draws = 1000 at max_depth 8; saturated draws have treedepth__ 8.
	tests := []struct {
		count int
		want  map[string]string
	}{
		{0, map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}},
		{1, map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusWarn}},
		{10, map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusWarn}},
		{11, map[string]string{ModeExplore: StatusPass, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{50, map[string]string{ModeExplore: StatusPass, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{51, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{100, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{101, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{250, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{251, map[string]string{ModeExplore: StatusFail, ModePublish: StatusFail, ModeStrict: StatusFail}},
	}
	for _, tt := range tests {
		chains := sampler(2, 500, 8, func(c, i int) (float64, float64, float64) {
			depth := 7.0
			if c*500+i < tt.count {
				depth = 8
			}
			return 0, depth, float64(i % 7)
		})
		for _, mode := range Modes {
			d := find(t, P1(chains, nil, mode), "sampler_treedepth_saturation")
			if d.Status != tt.want[mode] || d.Value != float64(tt.count)/1000 {
				t.Errorf("%s: %d saturated: %s %g; want %s", mode, tt.count, d.Status, d.Value, tt.want[mode])
			}
		}
	}
	// Without max_depth in the header, CmdStan's default 10 applies.
	chains := sampler(1, 100, 0, func(c, i int) (float64, float64, float64) { return 0, 10, float64(i % 7) })
	if d := find(t, P1(chains, nil, ModePublish), "sampler_treedepth_saturation"); d.Value != 1 {
		t.Errorf("saturation at the default max_depth 10 = %g; want 1", d.Value)
	}
}

// energyWithEBFMI returns 200 energies with E-BFMI target: a ramp (E-BFMI 12/(n(n+1)),
// about 3e-4) plus λ times an alternating series (E-BFMI near 4); E-BFMI grows smoothly with
// λ, which is found by bisection.
func energyWithEBFMI(target float64) []float64 {
	const n = 200
	series := func(lambda float64) []float64 {
		e := make([]float64, n)
		for i := range e {
			e[i] = float64(i) + lambda*float64(1-2*(i%2))
		}
		return e
	}
	lo, hi := 0.0, 1e4
	for range 200 {
		mid := (lo + hi) / 2
		if EBFMI(series(mid)) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return series((lo + hi) / 2)
}

func TestEBFMIBoundaries(t *testing.T) {
	below, above := 1-1e-6, 1+1e-6
	tests := []struct {
		ebfmi float64
		want  map[string]string
	}{
		{0.4 * above, map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}},
		{0.4 * below, map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusWarn}},
		{0.3 * above, map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusWarn}},
		{0.3 * below, map[string]string{ModeExplore: StatusPass, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{0.2 * above, map[string]string{ModeExplore: StatusPass, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{0.2 * below, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{0.1 * above, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{0.1 * below, map[string]string{ModeExplore: StatusFail, ModePublish: StatusFail, ModeStrict: StatusFail}},
	}
	good := energyWithEBFMI(0.9)
	for _, tt := range tests {
		bad := energyWithEBFMI(tt.ebfmi)
		if got := EBFMI(bad); math.Abs(got-tt.ebfmi) > 1e-9 {
			t.Fatalf("energyWithEBFMI(%g) has E-BFMI %g", tt.ebfmi, got)
		}
		// The second chain is the bad one: the row reports the smallest.
		chains := sampler(2, len(good), 10, func(c, i int) (float64, float64, float64) {
			if c == 1 {
				return 0, 3, bad[i]
			}
			return 0, 3, good[i]
		})
		for _, mode := range Modes {
			e := find(t, P1(chains, nil, mode), "sampler_ebfmi_min")
			if e.Status != tt.want[mode] || e.Value != EBFMI(bad) || !strings.Contains(e.Message, "in chain 2") {
				t.Errorf("%s: E-BFMI %.8g: %s %g (%s); want %s in chain 2", mode, tt.ebfmi, e.Status, e.Value, e.Message, tt.want[mode])
			}
		}
	}
}

func TestRhatESSBoundaries(t *testing.T) {
	// Grading at each threshold: a value equal to a threshold does not reach it; the next
	// float beyond it does.
	up := func(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }
	down := func(x float64) float64 { return math.Nextafter(x, math.Inf(-1)) }
	type want map[string]string
	rhat := []struct {
		v    float64
		want want
	}{
		{1.0, want{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}},
		{1.005, want{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}},
		{up(1.005), want{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusWarn}},
		{1.01, want{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusWarn}},
		{up(1.01), want{ModeExplore: StatusPass, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{1.05, want{ModeExplore: StatusPass, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{up(1.05), want{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{1.10, want{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{up(1.10), want{ModeExplore: StatusFail, ModePublish: StatusFail, ModeStrict: StatusFail}},
	}
	ess := []struct {
		v    float64
		want want
	}{
		{4000, want{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}},
		{1000, want{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}},
		{down(1000), want{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusWarn}},
		{400, want{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusWarn}},
		{down(400), want{ModeExplore: StatusPass, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{100, want{ModeExplore: StatusPass, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{down(100), want{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{50, want{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}},
		{down(50), want{ModeExplore: StatusFail, ModePublish: StatusFail, ModeStrict: StatusFail}},
	}
	for _, mode := range Modes {
		pol := policies[mode]
		for _, tt := range rhat {
			stats := []paramStat{{name: "m_tv", rhat: 0.999}, {name: "sd_1[m_tv]", rhat: tt.v}}
			c := rhatSpec.check("sampler_rhat_max", stats, pol, false)
			if c.Status != tt.want[mode] || c.Value != tt.v || !strings.Contains(c.Message, "at sd_1[m_tv]") {
				t.Errorf("%s: Rhat %.17g: %s (%s); want %s at sd_1[m_tv]", mode, tt.v, c.Status, c.Message, tt.want[mode])
			}
		}
		for _, tt := range ess {
			for _, spec := range []metricSpec{essBulkSpec, essTailSpec} {
				stats := []paramStat{{name: "m_tv", essBulk: 5000, essTail: 5000}, {name: "sd_1[m_tv]", essBulk: tt.v, essTail: tt.v}}
				c := spec.check(spec.id, stats, pol, false)
				if c.Status != tt.want[mode] || c.Value != tt.v || !strings.Contains(c.Message, "at sd_1[m_tv]") {
					t.Errorf("%s: %s %.17g: %s (%s); want %s", mode, spec.id, tt.v, c.Status, c.Message, tt.want[mode])
				}
			}
		}
	}
}

// normalChains returns m chains of n standard normal draws, chain c shifted by shift[c].
func normalChains(rng *rand.Rand, m, n int, shift ...float64) [][]float64 {
	out := make([][]float64, m)
	for c := range out {
		out[c] = make([]float64, n)
		for i := range out[c] {
			out[c][i] = rng.NormFloat64()
			if c < len(shift) {
				out[c][i] += shift[c]
			}
		}
	}
	return out
}

func TestP1Params(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	chains := sampler(4, 1000, 10, func(c, i int) (float64, float64, float64) { return 0, 3, rng.NormFloat64() })
	params := []Param{
		{Name: "(Intercept)", Draws: normalChains(rng, 4, 1000)},
		{Name: "m_tv", Draws: normalChains(rng, 4, 1000)},
		{Name: "sd_1[m_tv]", Draws: normalChains(rng, 4, 1000, 0, 0, 0, 1.5)},
		{Name: "sd_1[(Intercept)]", Draws: normalChains(rng, 4, 1000)},
		{Name: "fixed", Draws: [][]float64{slices.Repeat([]float64{2}, 1000), slices.Repeat([]float64{2}, 1000),
			slices.Repeat([]float64{2}, 1000), slices.Repeat([]float64{2}, 1000)}},
	}
	checks := P1(chains, params, ModePublish)
	var ids []string
	for _, c := range checks {
		ids = append(ids, c.ID)
		if c.Phase != PhaseP1 || c.Severity != SeverityImportant || c.Threshold == "" || c.Message == "" {
			t.Errorf("row %+v lacks a phase, severity, threshold or message", c)
		}
	}
	wantIDs := []string{"sampler_rhat_max", "sampler_rhat_max_sd", "sampler_ess_bulk_min", "sampler_ess_bulk_min_sd",
		"sampler_ess_tail_min", "sampler_ess_tail_min_sd", "sampler_divergences", "sampler_treedepth_saturation", "sampler_ebfmi_min"}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("P1 rows %v; want %v", ids, wantIDs)
	}
	// One chain of sd_1[m_tv] sits 1.5 sd away: Rhat far above 1.05, named in both rows;
	// the constant parameter is left out rather than making Rhat undefined.
	for _, id := range []string{"sampler_rhat_max", "sampler_rhat_max_sd"} {
		c := find(t, checks, id)
		if c.Status != StatusFail || !strings.Contains(c.Message, "max Rhat") || !strings.Contains(c.Message, "at sd_1[m_tv] (1 of") ||
			!strings.Contains(c.Message, "raise fit.mcmc.iter and fit.mcmc.warmup") {
			t.Errorf("%s = %+v", id, c)
		}
	}
	if c := find(t, checks, "sampler_rhat_max_sd"); !strings.Contains(c.Message, "model.random_effects.parameterization") {
		t.Errorf("the _sd row does not suggest a reparameterisation: %s", c.Message)
	}
	// The stuck chain also leaves few effective draws, for sd_1[m_tv] alone: the other
	// parameters are independent draws. The constant parameter is not counted.
	for _, id := range []string{"sampler_ess_bulk_min", "sampler_ess_tail_min"} {
		c := find(t, checks, id)
		if c.Status != StatusFail || !strings.Contains(c.Message, "at sd_1[m_tv] (1 of 4 parameters below 400: sd_1[m_tv])") {
			t.Errorf("%s = %+v", id, c)
		}
		c = find(t, checks, id+"_sd")
		if c.Status != StatusFail || !strings.Contains(c.Message, "at sd_1[m_tv] (1 of 2 group scales (sd_*) below 400: sd_1[m_tv])") {
			t.Errorf("%s_sd = %+v", id, c)
		}
	}

	// A non-finite draw makes Rhat undefined: that fails the row and names the parameter.
	params[1].Draws[2][17] = math.Inf(1)
	c := find(t, P1(chains, params, ModeExplore), "sampler_rhat_max")
	if c.Status != StatusFail || !strings.Contains(c.Message, "undefined for m_tv") {
		t.Errorf("Rhat with an Inf draw: %+v", c)
	}

	// Without chains or params every row is skipped.
	for _, c := range P1(nil, nil, ModeStrict) {
		if c.Status != StatusSkipped || !math.IsNaN(c.Value) {
			t.Errorf("empty P1 row %+v; want skipped with NA", c)
		}
	}
}

func TestP1AllPass(t *testing.T) {
	// Independent draws, 4 chains × 1000, no divergences, depth below the limit, E-BFMI near
	// 2 (independent energies): every row passes under every policy but strict's ESS 1000,
	// which independent draws clear (ESS near 4000) too.
	rng := rand.New(rand.NewPCG(3, 3))
	chains := sampler(4, 1000, 10, func(c, i int) (float64, float64, float64) { return 0, 4, rng.NormFloat64() })
	params := []Param{
		{Name: "m_tv", Draws: normalChains(rng, 4, 1000)},
		{Name: "sd_1[m_tv]", Draws: normalChains(rng, 4, 1000)},
	}
	for _, mode := range Modes {
		rep := &Report{Mode: mode, Checks: P1(chains, params, mode)}
		if rep.Status() != StatusPass {
			t.Errorf("%s: overall %s; want pass: %+v", mode, rep.Status(), rep.Checks)
		}
	}
}

func TestDivergencesNameFunnel(t *testing.T) {
	// Divergent draws sit at the smallest values of sd_1[m_tv], as in a funnel.
	rng := rand.New(rand.NewPCG(2, 2))
	scale := normalChains(rng, 2, 500)
	other := normalChains(rng, 2, 500)
	chains := sampler(2, 500, 10, func(c, i int) (float64, float64, float64) {
		div := 0.0
		if scale[c][i] < -1.8 {
			div = 1
		}
		return div, 3, rng.NormFloat64()
	})
	params := []Param{{Name: "sd_1[m_radio]", Draws: other}, {Name: "sd_1[m_tv]", Draws: scale}}
	d := find(t, P1(chains, params, ModePublish), "sampler_divergences")
	if d.Value == 0 || !strings.Contains(d.Message, "small values of sd_1[m_tv]") || !strings.Contains(d.Message, "noncentered") {
		t.Errorf("divergence row %+v; want the funnel at sd_1[m_tv] named", d)
	}
	// Already at adapt_delta 0.99 (as the pooled program asks): suggest more, not the same.
	for _, ch := range chains {
		ch.Config.AdaptDelta = 0.99
	}
	if d := find(t, P1(chains, params, ModePublish), "sampler_divergences"); !strings.Contains(d.Message, "e.g. to 0.995; it was 0.99") {
		t.Errorf("at adapt_delta 0.99 the divergence row says %q; want it to suggest 0.995", d.Message)
	}
	// A pooled model's scale: the funnel is named, with no parameterisation to set.
	pooled := []Param{{Name: "sd_channel", Draws: other}, {Name: "sd_term", Draws: scale}}
	d = find(t, P1(chains, pooled, ModePublish), "sampler_divergences")
	if !strings.Contains(d.Message, "small values of sd_term") || strings.Contains(d.Message, "parameterization") {
		t.Errorf("pooled divergence row %q; want the funnel at sd_term named without model.random_effects.parameterization", d.Message)
	}
	// Divergences spread evenly: no funnel is named.
	chains = sampler(2, 500, 10, func(c, i int) (float64, float64, float64) { return float64(boolInt(i%50 == 0)), 3, rng.NormFloat64() })
	if d := find(t, P1(chains, params, ModePublish), "sampler_divergences"); strings.Contains(d.Message, "funnel") {
		t.Errorf("even divergences named a funnel: %s", d.Message)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestParamsFromChains(t *testing.T) {
	chains, params := readChains(t, "hier-noncentred-1.csv", "hier-noncentred-2.csv")
	if len(params) != 21 || params[0].Name != "beta.1" || params[2].Name != "sd_1.1" || len(params[2].Draws) != 2 {
		t.Errorf("params: %d, first %q", len(params), params[0].Name)
	}
	if _, err := ParamsFromChains(nil); err == nil {
		t.Error("ParamsFromChains(nil) succeeded")
	}
	other, _ := readChains(t, "eight-treedepth3.csv")
	_, err := ParamsFromChains([]*stanio.Chain{chains[0], other[0]})
	if err == nil || !strings.Contains(err.Error(), "different columns") {
		t.Errorf("mixed models: %v", err)
	}
	short := *chains[1]
	short.Draws = make([][]float64, len(chains[1].Draws))
	for j, d := range chains[1].Draws {
		short.Draws[j] = d[:100]
	}
	_, err = ParamsFromChains([]*stanio.Chain{chains[0], &short})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("has %d draws", chains[0].NumDraws())) {
		t.Errorf("unequal draws: %v", err)
	}
}
