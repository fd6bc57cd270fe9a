package codegen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/sbc"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

// calibrationDesign is a simulation-based calibration study of the panel program:
// y ~ 1 + x1 + x2 + (1 + x1 + x2 | market) on Groups markets × Weeks weeks, x1 and x2
// spend-like and fixed, every parameter drawn from the priors the model is given (not
// the data-dependent defaults), y simulated, fitted with 4 chains × (Warmup + Samples).
type calibrationDesign struct {
	Fits, Groups, Weeks int
	Warmup, Samples     int
	// Correlated gives the group effects an LKJ(2) correlation (drawn from it too).
	Correlated bool
	// Param is Spec.Parameterization ("" for the default program).
	Param string
}

// The priors of the study, in original units: population coefficients normal, group
// scales half-normal, noise_sd lognormal_ms.
var (
	calPop     = []ingest.Prior{{Mean: 100, SD: 20}, {Mean: 0.5, SD: 0.3}, {Mean: 0.3, SD: 0.2}}
	calGroupSD = []ingest.Prior{{Mean: 0, SD: 10}, {Mean: 0, SD: 0.2}, {Mean: 0, SD: 0.1}}
	calNoise   = ingest.NoisePrior{Family: ingest.NoiseLognormalMS, Mean: 10, SD: 3}
)

// calibrationX is the fixed design: x1 a spend between 20 and 80, x2 a sparser spend
// that is 0 in about a third of the weeks.
func calibrationX(groups, weeks int) (x1, x2 []float64, market []int) {
	rng := rand.New(rand.NewPCG(2026, 17))
	for g := range groups {
		for range weeks {
			x1 = append(x1, 20+60*rng.Float64())
			v := 0.0
			if rng.Float64() > 1.0/3 {
				v = 10 + 40*rng.Float64()
			}
			x2 = append(x2, v)
			market = append(market, g)
		}
	}
	return x1, x2, market
}

// calibrationSpec draws one panel from the priors (seeded with rep) and returns its Spec
// and the true value of every parameter Decode reports, by name.
func calibrationSpec(d calibrationDesign, rep int) (*ingest.Spec, map[string]float64) {
	rng := rand.New(rand.NewPCG(uint64(rep), 99))
	x1, x2, market := calibrationX(d.Groups, d.Weeks)
	n := len(x1)
	terms := []string{ingest.InterceptName, "x1", "x2"}
	truth := map[string]float64{}
	b := make([]float64, 3)
	for k := range b {
		b[k] = calPop[k].Mean + calPop[k].SD*rng.NormFloat64()
		truth[terms[k]] = b[k]
	}
	sd := make([]float64, 3)
	for j := range sd {
		sd[j] = math.Abs(calGroupSD[j].SD * rng.NormFloat64())
		truth[ingest.GroupScaleName(1, terms[j])] = sd[j]
	}
	l := [][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	if d.Correlated {
		l = sbc.LKJCholesky(rng, 3, LKJEta)
		for a := range 3 {
			for c := a + 1; c < 3; c++ {
				r := 0.0
				for m := range 3 {
					r += l[a][m] * l[c][m]
				}
				truth[fmt.Sprintf("cor_1[%s,%s]", terms[a], terms[c])] = r
			}
		}
	}
	mu, sigma := ingest.LognormalMS(calNoise.Mean, calNoise.SD)
	noise := math.Exp(mu + sigma*rng.NormFloat64())
	truth[ingest.NoiseSDName] = noise
	levels := make([]string, d.Groups)
	coef := make([][]float64, d.Groups)
	for g := range levels {
		levels[g] = fmt.Sprintf("m%02d", g+1)
		z := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		coef[g] = make([]float64, 3)
		for a := range 3 {
			dev := 0.0
			for c := 0; c <= a; c++ {
				dev += l[a][c] * z[c]
			}
			coef[g][a] = b[a] + sd[a]*dev
			truth[GroupCoefficientName(terms[a], "market", levels[g])] = coef[g][a]
		}
	}
	y := make([]float64, n)
	for i := range y {
		c := coef[market[i]]
		y[i] = c[0] + c[1]*x1[i] + c[2]*x2[i] + noise*rng.NormFloat64()
	}

	s := &ingest.Spec{Name: "calibration", Response: "y", Scale: true, N: n, Y: y, Parameterization: d.Param}
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	for k, col := range [][]float64{ones, x1, x2} {
		s.Terms = append(s.Terms, ingest.Term{Name: terms[k], Intercept: k == 0})
		s.X = append(s.X, col)
		s.Priors = append(s.Priors, calPop[k])
		s.Bounds = append(s.Bounds, ingest.Unbounded)
	}
	s.NoiseSD = calNoise
	s.Groups = []ingest.Grouping{{Factor: "market", Index: 1, Levels: levels, Of: market,
		Terms: []int{0, 1, 2}, Independent: !d.Correlated, SDPriors: calGroupSD}}
	s.Lines = make([]int, n)
	for i := range s.Lines {
		s.Lines[i] = i + 2
	}
	s.Scaling = identityScaling(3)
	s.Scaling.YCentre, s.Scaling.YScale = mean(y), sampleSD(y)
	s.Scaling.XScale[1], s.Scaling.XScale[2] = sampleSD(x1), sampleSD(x2)
	return s, truth
}

// calibrationResult is what a calibration study found.
type calibrationResult struct {
	fits, divergentFits, stuckFits, divergences int
	// ranks[name] lists the rank of the truth among the thinned posterior draws, per fit.
	ranks   map[string][]int
	draws   int // thinned draws per fit: ranks are in 0..draws
	names   []string
	maxRhat float64
	worst   string // a description of the worst fit
}

// calibrationThin keeps every 10th draw for the ranks, so that they are close to
// independent.
const calibrationThin = 10

// runCalibration fits d.Fits panels drawn from the priors and collects the ranks of the
// truth, the divergences and the stuck chains (a fit is stuck when the Rhat of a group
// scale exceeds 1.1: a chain sitting at a scale near 0 that the others leave).
func runCalibration(t *testing.T, r *cmdstan.Runner, d calibrationDesign) *calibrationResult {
	t.Helper()
	ctx := context.Background()
	res := &calibrationResult{ranks: map[string][]int{}}
	var exe string
	for rep := range d.Fits {
		spec, truth := calibrationSpec(d, rep)
		p, err := Render(ctx, nil, spec)
		if err != nil {
			t.Fatal(err)
		}
		if exe == "" {
			comp, err := r.Compile(ctx, p.Code, cmdstan.CompileOptions{ToolDigest: TemplateVersion})
			if err != nil {
				t.Fatal(err)
			}
			exe = comp.Exe
		}
		dir := t.TempDir()
		dataFile := filepath.Join(dir, "data.json")
		if err := stanio.WriteDataFile(dataFile, p.Data); err != nil {
			t.Fatal(err)
		}
		csvs, err := r.Sample(ctx, exe, dataFile, dir, cmdstan.SampleOptions{
			Chains: 4, Cores: 2, Warmup: d.Warmup, Samples: d.Samples, Seed: int64(1000 + rep), Metric: p.Metric,
			AdaptDelta: max(0.8, p.AdaptDelta), // as a run with the default adapt_delta
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		chains, err := stanio.ReadCSVFiles(ctx, csvs)
		if err != nil {
			t.Fatal(err)
		}
		div := 0
		var names []string
		var cols [][][]float64 // [param][chain]
		for c, ch := range chains {
			j := ch.Column("divergent__")
			for _, v := range ch.Draws[j] {
				if v != 0 {
					div++
				}
			}
			nm, draws, err := p.Decode(ch)
			if err != nil {
				t.Fatal(err)
			}
			if c == 0 {
				names, cols = nm, make([][][]float64, len(nm))
			}
			for j := range draws {
				cols[j] = append(cols[j], draws[j])
			}
		}
		res.fits++
		res.divergences += div
		if div > 0 {
			res.divergentFits++
		}
		stuck := false
		for j, name := range names {
			if strings.HasPrefix(name, "sd_") {
				rh := summarise.RhatRank(cols[j])
				res.maxRhat = math.Max(res.maxRhat, rh)
				if rh > 1.1 {
					stuck = true
					res.worst = fmt.Sprintf("fit %d: Rhat(%s) = %.3f", rep, name, rh)
				}
			}
			want, ok := truth[name]
			if !ok {
				t.Fatalf("no true value of %s", name)
			}
			rank, n := sbc.Rank(cols[j], want, calibrationThin)
			res.ranks[name] = append(res.ranks[name], rank)
			res.draws = n
		}
		if stuck {
			res.stuckFits++
		}
		if res.names == nil {
			res.names = names
		}
		if res.fits%100 == 0 {
			minP, minName := 1.0, ""
			for name, p := range res.uniformity(10) {
				if p < minP {
					minP, minName = p, name
				}
			}
			t.Logf("after %d fits: %d with divergences, %d divergent transitions, %d stuck, max Rhat(sd_*) %.4f; least uniform ranks %s (p = %.3g, 10 bins, %d parameters)",
				res.fits, res.divergentFits, res.divergences, res.stuckFits, res.maxRhat, minName, minP, len(res.names))
		}
	}
	return res
}

// uniformity returns, per parameter, the p-value of a chi-square test that its ranks are
// uniform over bins equal-width bins of 0..draws (sbc.Uniformity).
func (res *calibrationResult) uniformity(bins int) map[string]float64 {
	out := map[string]float64{}
	for _, name := range res.names {
		ranks := res.ranks[name]
		ns := make([]int, len(ranks))
		for i := range ns {
			ns[i] = res.draws
		}
		_, out[name] = sbc.Uniformity(ranks, ns, bins)
	}
	return out
}

// check logs the study's figures and fails the test when a parameter's ranks are not
// uniform (Bonferroni over the parameters at level 1%), more than maxDivergentShare of the
// fits diverge, or any fit is stuck.
func (res *calibrationResult) check(t *testing.T, bins int, maxDivergentShare float64) {
	t.Helper()
	pv := res.uniformity(bins)
	names := slices.Clone(res.names)
	slices.SortFunc(names, func(a, b string) int { return cmpFloat(pv[a], pv[b]) })
	t.Logf("%d fits: %d with divergences (%.1f%%, %d divergent transitions in all), %d stuck, max Rhat(sd_*) %.4f",
		res.fits, res.divergentFits, 100*float64(res.divergentFits)/float64(res.fits), res.divergences, res.stuckFits, res.maxRhat)
	for _, name := range names[:min(5, len(names))] {
		t.Logf("rank uniformity (chi-square, %d bins): p = %.4f  %s", bins, pv[name], name)
	}
	alpha := 0.01 / float64(len(names))
	for _, name := range names {
		if pv[name] < alpha {
			t.Errorf("%s: ranks of the truth are not uniform (chi-square p = %.2g < %.2g)", name, pv[name], alpha)
		}
	}
	if share := float64(res.divergentFits) / float64(res.fits); share > maxDivergentShare {
		t.Errorf("%d of %d fits have divergent transitions (%.1f%%); want at most %.0f%%",
			res.divergentFits, res.fits, 100*share, 100*maxDivergentShare)
	}
	if res.stuckFits > 0 {
		t.Errorf("%d fits have a stuck chain (%s)", res.stuckFits, res.worst)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestCalibration is a small simulation-based calibration of the default panel program:
// 50 panels of 6 markets × 30 weeks drawn from the model's priors, each fitted with 4
// chains × (500 + 500). The ranks of the truth among the posterior draws must be
// uniform for every parameter users see (population and group coefficients, group
// scales, noise_sd), at most 1 fit in 50 may have a divergent transition and none may
// have a stuck chain. The full study (1000 panels of 8 × 40) is TestCalibrationFull:
// make calibration.
func TestCalibration(t *testing.T) {
	r := cmdstanRunner(t)
	res := runCalibration(t, r, calibrationDesign{Fits: 50, Groups: 6, Weeks: 30, Warmup: 500, Samples: 500})
	res.check(t, 5, 0.02)
}

// TestCalibrationSpec checks the study's panels without CmdStan: every parameter the
// program reports has a true value (sbc tests the LKJ draws).
func TestCalibrationSpec(t *testing.T) {
	for _, corr := range []bool{false, true} {
		spec, truth := calibrationSpec(calibrationDesign{Groups: 6, Weeks: 30, Correlated: corr}, 3)
		p := render(t, spec)
		names := decodeNames(t, p, &stanio.Chain{})
		if len(names) != len(truth) {
			t.Errorf("correlated %v: Decode reports %d parameters, the simulation %d", corr, len(names), len(truth))
		}
		for _, name := range names {
			if _, ok := truth[name]; !ok {
				t.Errorf("correlated %v: no true value of %s", corr, name)
			}
		}
	}
}

// decodeNames returns the names Decode gives for p, from a chain of one draw at a valid
// point (population coefficients 0, scales 1, identity correlation, noise_sd 1).
func decodeNames(t *testing.T, p *Program, ch *stanio.Chain) []string {
	t.Helper()
	lay := p.hier
	put := func(name string, v float64) {
		ch.Columns, ch.Draws = append(ch.Columns, name), append(ch.Draws, []float64{v})
	}
	for j := range lay.terms {
		put(fmt.Sprintf("beta.%d", j+1), 0)
	}
	fl := &lay.factors[0]
	for j := range fl.terms {
		put(fmt.Sprintf("sd_1.%d", j+1), 1)
		for c := 0; c <= j; c++ {
			v := 0.0
			if c == j {
				v = 1
			}
			put(fmt.Sprintf("L_1.%d.%d", j+1, c+1), v)
		}
	}
	put("log_noise_sd", 0)
	names, _, err := p.Decode(ch)
	if err != nil {
		t.Fatal(err)
	}
	return names
}
