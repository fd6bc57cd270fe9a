package posterior

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// panelFixture builds a two-factor panel spec with an offset, and draws around known
// coefficients. Row i belongs to market i%3 and brand i%2.
func panelFixture(t *testing.T, n, chains, per int, logY bool) (*ingest.Spec, *Draws) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	spec := &ingest.Spec{N: n, LogResponse: logY,
		Terms: []ingest.Term{{Name: ingest.InterceptName, Intercept: true}, {Name: "m_tv"}, {Name: "price"}}}
	spec.X = [][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
	spec.Y, spec.Offset = make([]float64, n), make([]float64, n)
	market := ingest.Grouping{Factor: "market", Index: 1, Levels: []string{"a", "b", "c"}, Of: make([]int, n), Terms: []int{0, 1}}
	brand := ingest.Grouping{Factor: "brand", Index: 2, Levels: []string{"x", "y"}, Of: make([]int, n), Terms: []int{2}}
	for i := 0; i < n; i++ {
		spec.X[0][i], spec.X[1][i], spec.X[2][i] = 1, rng.Float64()*10, rng.NormFloat64()
		spec.Offset[i] = 0.1 * float64(i%5)
		market.Of[i], brand.Of[i] = i%3, i%2
		spec.Y[i] = 2 + 0.3*spec.X[1][i] - 0.5*spec.X[2][i] + spec.Offset[i] + rng.NormFloat64()*0.2
	}
	spec.Groups = []ingest.Grouping{market, brand}
	S := chains * per
	d := &Draws{Terms: []string{ingest.InterceptName, "m_tv", "price"}, Chains: chains, PerChain: per,
		Beta: matrix(3, S), NoiseSD: make([]float64, S)}
	d.Factors = []Factor{
		{Name: "market", Levels: market.Levels, Terms: market.Terms, Dev: [][][]float64{matrix(2, S), matrix(2, S), matrix(2, S)}},
		{Name: "brand", Levels: brand.Levels, Terms: brand.Terms, Dev: [][][]float64{matrix(1, S), matrix(1, S)}},
	}
	for s := 0; s < S; s++ {
		d.Beta[0][s], d.Beta[1][s], d.Beta[2][s] = 2+0.05*rng.NormFloat64(), 0.3+0.01*rng.NormFloat64(), -0.5+0.02*rng.NormFloat64()
		d.NoiseSD[s] = 0.2 + 0.01*rng.Float64()
		for _, f := range d.Factors {
			for _, g := range f.Dev {
				for _, v := range g {
					v[s] = 0.05 * rng.NormFloat64()
				}
			}
		}
	}
	return spec, d
}

// TestContributionsSumToTheFit checks, draw by draw, that the decomposition adds up to the
// linear predictor computed independently as offset + Σ_k x_k·(β_k + Σ_f u_f,k), and that
// the summaries keep that identity for the means.
func TestContributionsSumToTheFit(t *testing.T) {
	spec, d := panelFixture(t, 60, 2, 50, false)
	S, K := d.S(), len(spec.Terms)
	theta, c, mu := matrix(K, S), matrix(K, S), make([]float64, S)
	for i := 0; i < spec.N; i++ {
		d.row(spec, nil, i, theta, c, mu, nil)
		m, b := spec.Groups[0].Of[i], spec.Groups[1].Of[i]
		for s := 0; s < S; s++ {
			want := spec.Offset[i] +
				(d.Beta[0][s] + d.Factors[0].Dev[m][0][s]) +
				(d.Beta[1][s]+d.Factors[0].Dev[m][1][s])*spec.X[1][i] +
				(d.Beta[2][s]+d.Factors[1].Dev[b][0][s])*spec.X[2][i]
			sum := spec.Offset[i]
			for k := range c {
				sum += c[k][s]
			}
			if math.Abs(sum-want) > 1e-9 || math.Abs(mu[s]-want) > 1e-9 {
				t.Fatalf("row %d draw %d: contributions sum to %v, fit %v; want %v", i, s, sum, mu[s], want)
			}
		}
	}
	res, err := Derive(context.Background(), spec, d, Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Terms, ","); got != "(Intercept),m_tv,price,offset" {
		t.Errorf("terms = %s", got)
	}
	for i, row := range res.Decomp {
		var sum float64
		for _, c := range row {
			sum += c.Mean
		}
		if want := res.Rows[i].Model.Mean; math.Abs(sum-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Fatalf("row %d: mean contributions sum to %v; mean fit %v", i, sum, want)
		}
	}
	// Totals over groups add up to the overall totals, for each factor.
	for f := range spec.Groups {
		for k := range res.Totals {
			for s := 0; s < S; s += 17 {
				var sum float64
				for l := range res.GroupTotals[f] {
					sum += res.GroupTotals[f][l][k][s]
				}
				if math.Abs(sum-res.Totals[k][s]) > 1e-9*math.Max(1, math.Abs(sum)) {
					t.Fatalf("factor %d term %d draw %d: group totals %v, total %v", f, k, s, sum, res.Totals[k][s])
				}
			}
		}
	}
}

func TestWorkersDoNotChangeTheResult(t *testing.T) {
	spec, d := panelFixture(t, 200, 2, 40, true)
	a, _ := Derive(context.Background(), spec, d, Options{Workers: 1, Seed: 9})
	b, _ := Derive(context.Background(), spec, d, Options{Workers: 4, Seed: 9})
	var wa, wb bytes.Buffer
	WriteFitted(&wa, spec, a)
	WriteFitted(&wb, spec, b)
	if wa.String() != wb.String() {
		t.Fatal("fitted values depend on the number of workers")
	}
	for s := range a.Draws {
		if math.Abs(a.Draws[s].R2-b.Draws[s].R2) > 1e-12 {
			t.Fatalf("draw %d: r2 %v vs %v", s, a.Draws[s].R2, b.Draws[s].R2)
		}
	}
}

// TestKnownTruth fixes every draw at the true coefficients of data simulated from the
// model: the fit is then the true mean, the 95% predictive interval covers about 95% of the
// observations, R² matches 1 − σ²/var(y), and the log-likelihood is the normal density.
func TestKnownTruth(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	n, S := 4000, 200
	spec := &ingest.Spec{N: n, Terms: []ingest.Term{{Name: ingest.InterceptName, Intercept: true}, {Name: "x"}}}
	spec.X = [][]float64{make([]float64, n), make([]float64, n)}
	spec.Y = make([]float64, n)
	for i := 0; i < n; i++ {
		spec.X[0][i], spec.X[1][i] = 1, rng.NormFloat64()
		spec.Y[i] = 1 + 2*spec.X[1][i] + rng.NormFloat64()
	}
	d := &Draws{Terms: []string{ingest.InterceptName, "x"}, Chains: 1, PerChain: S, Beta: matrix(2, S), NoiseSD: make([]float64, S)}
	for s := 0; s < S; s++ {
		d.Beta[0][s], d.Beta[1][s], d.NoiseSD[s] = 1, 2, 1
	}
	res, err := Derive(context.Background(), spec, d, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ms := Metrics(spec, res)
	if ms[0].Scope != "all" || ms[0].N != n {
		t.Fatalf("metrics scope %q n %d", ms[0].Scope, ms[0].N)
	}
	if c := ms[0].Coverage95; math.Abs(c-0.95) > 0.02 {
		t.Errorf("95%% predictive coverage = %.3f; want about 0.95", c)
	}
	if r2 := ms[0].R2; math.Abs(r2-0.8) > 0.02 { // var(y) = 4 + 1, so R² = 4/5
		t.Errorf("R² = %.3f; want about 0.8", r2)
	}
	if math.Abs(ms[0].RMSE-1) > 0.05 || math.Abs(ms[0].ACF1) > 0.05 {
		t.Errorf("RMSE %.3f, ACF1 %.3f; want about 1 and 0", ms[0].RMSE, ms[0].ACF1)
	}
	logLik, err := logLikOf(d, spec)
	if err != nil {
		t.Fatal(err)
	}
	ll := logLik(5)
	want := -0.5*math.Pow(spec.Y[5]-1-2*spec.X[1][5], 2) - 0.5*math.Log(2*math.Pi)
	if math.Abs(ll[0][0]-want) > 1e-12 {
		t.Errorf("log-lik %v; want %v", ll[0][0], want)
	}
}

// TestLogResponseScales checks the KPI scale of a log(y) model: the conditional mean
// exp(μ + σ²/2) by default, exp(μ) with LogMedian, and multipliers that multiply to exp(μ).
func TestLogResponseScales(t *testing.T) {
	spec, d := panelFixture(t, 30, 1, 100, true)
	res, _ := Derive(context.Background(), spec, d, Options{})
	med, _ := Derive(context.Background(), spec, d, Options{LogMedian: true})
	S, K := d.S(), len(spec.Terms)
	theta, c, mu := matrix(K, S), matrix(K, S), make([]float64, S)
	for i := 0; i < spec.N; i++ {
		d.row(spec, nil, i, theta, c, mu, nil)
		var mean, meanMed float64
		for s := range mu {
			mean += math.Exp(mu[s]+d.NoiseSD[s]*d.NoiseSD[s]/2) / float64(S)
			meanMed += math.Exp(mu[s]) / float64(S)
			prod := math.Exp(spec.Offset[i])
			for k := range c {
				prod *= math.Exp(c[k][s])
			}
			if math.Abs(prod-math.Exp(mu[s])) > 1e-9*math.Exp(mu[s]) {
				t.Fatalf("row %d draw %d: multipliers give %v; exp(μ) = %v", i, s, prod, math.Exp(mu[s]))
			}
		}
		if got := res.Rows[i].KPI.Mean; math.Abs(got-mean) > 1e-9*mean {
			t.Errorf("row %d: KPI mean %v; want %v", i, got, mean)
		}
		if got := med.Rows[i].KPI.Mean; math.Abs(got-meanMed) > 1e-9*meanMed {
			t.Errorf("row %d: KPI median-type mean %v; want %v", i, got, meanMed)
		}
		if res.Rows[i].KPIObserved != math.Exp(spec.Y[i]) {
			t.Errorf("row %d: KPI observed %v", i, res.Rows[i].KPIObserved)
		}
	}
}

func TestDrawsMustFitTheSpec(t *testing.T) {
	spec, d := panelFixture(t, 10, 1, 5, false)
	d.NoiseSD = d.NoiseSD[:3]
	if _, err := Derive(context.Background(), spec, d, Options{}); err == nil {
		t.Fatal("no error for draws that do not fit the spec")
	}
}

// TestDeriveIsDeterministic: every field of the result, to the last bit, is the same
// whatever the number of workers, with fixed and with estimated media transforms.
func TestDeriveIsDeterministic(t *testing.T) {
	for _, c := range []struct {
		name string
		make func() (*ingest.Spec, *Draws)
	}{
		{"log-offset", func() (*ingest.Spec, *Draws) { return panelFixture(t, 700, 2, 40, true) }},
		{"panel", func() (*ingest.Spec, *Draws) {
			spec, d := benchPanel(6, 60)
			return spec, firstDraws(d, 4, 100)
		}},
		{"panel-estimated", func() (*ingest.Spec, *Draws) {
			spec, d := benchPanel(6, 60)
			d = firstDraws(d, 4, 100)
			withEstimatedTransforms(spec, d, 60)
			return spec, d
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, d := c.make()
			var want string
			for _, w := range []int{1, 2, 3, 7} {
				res, err := Derive(context.Background(), spec, d, Options{Workers: w, Seed: 5})
				if err != nil {
					t.Fatal(err)
				}
				// %v prints each float64 in the shortest form that reads back to the
				// same bits (and NaN as NaN, -0 as -0).
				got := fmt.Sprintf("%v", *res)
				if w == 1 {
					want = got
					continue
				}
				if got != want {
					t.Errorf("%d workers: the result differs from one worker's", w)
				}
			}
		})
	}
}

// firstDraws keeps the first per draws of each of the first chains of d (transforms
// not included).
func firstDraws(d *Draws, chains, per int) *Draws {
	cut := func(v []float64) []float64 {
		var out []float64
		for c := range chains {
			out = append(out, v[c*d.PerChain:c*d.PerChain+per]...)
		}
		return out
	}
	e := &Draws{Terms: d.Terms, Chains: chains, PerChain: per, NoiseSD: cut(d.NoiseSD)}
	for _, b := range d.Beta {
		e.Beta = append(e.Beta, cut(b))
	}
	for _, f := range d.Factors {
		g := f
		g.Dev = nil
		for _, dev := range f.Dev {
			var m [][]float64
			for _, v := range dev {
				m = append(m, cut(v))
			}
			g.Dev = append(g.Dev, m)
		}
		e.Factors = append(e.Factors, g)
	}
	return e
}

// TestReusedSummariesAreExact: reusing a contribution's summary for rows with the same x
// and group levels, and taking its quantiles from the sorted coefficient draws, give every
// bit of the result that computing each row afresh gives, on data with runs of zero spend
// (of both signs), negative values, an offset, and estimated transforms.
func TestReusedSummariesAreExact(t *testing.T) {
	withZeros := func(spec *ingest.Spec) {
		for i := 0; i < spec.N; i++ {
			if i%10 < 6 { // runs of six rows without spend
				spec.X[1][i] = 0
				if i%3 == 0 {
					spec.X[1][i] = math.Copysign(0, -1)
				}
			}
			if i%7 < 3 {
				spec.X[2][i] = -spec.X[2][i]
			}
		}
	}
	for _, c := range []struct {
		name string
		make func() (*ingest.Spec, *Draws)
	}{
		{"log-offset", func() (*ingest.Spec, *Draws) {
			spec, d := panelFixture(t, 300, 2, 40, true)
			withZeros(spec)
			return spec, d
		}},
		{"panel", func() (*ingest.Spec, *Draws) {
			spec, d := benchPanel(5, 50)
			withZeros(spec)
			return spec, firstDraws(d, 4, 50)
		}},
		{"panel-estimated", func() (*ingest.Spec, *Draws) {
			spec, d := benchPanel(5, 50)
			withZeros(spec)
			d = firstDraws(d, 4, 50)
			withEstimatedTransforms(spec, d, 50)
			return spec, d
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, d := c.make()
			derive := func(reuse, sorted bool) string {
				reuseSummaries, sortedContributions = reuse, sorted
				defer func() { reuseSummaries, sortedContributions = true, true }()
				res, err := Derive(context.Background(), spec, d, Options{Workers: 2, Seed: 5})
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("%v", *res)
			}
			afresh := derive(false, false)
			if derive(true, false) != afresh {
				t.Error("the result with reused summaries differs from the one computed afresh")
			}
			if derive(false, true) != afresh {
				t.Error("the result with quantiles from sorted coefficients differs from the one computed afresh")
			}
			if derive(true, true) != afresh {
				t.Error("the result with both differs from the one computed afresh")
			}
		})
	}
}
