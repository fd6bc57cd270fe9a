package loo

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// conjugate is a normal linear model y = Xβ + ε, ε ~ N(0, σ²) with σ known, and the prior
// β ~ N(0, τ²I): its posterior and every leave-one-out predictive are normal and known in
// closed form, so LOO-PIT values can be checked against the truth.
type conjugate struct {
	x     [][]float64 // n × p design
	y     []float64
	sigma float64 // the model's noise sd (the data's, unless misspecified)
	tau   float64
}

// simulate draws n rows from y = 1 + 2·x1 − x2 + N(0, sigmaTrue²) with x1 ~ N(0, 1) and
// x2 ~ U(0, 3).
func simulate(n int, sigmaTrue float64, rng *rand.Rand) (x [][]float64, y []float64) {
	beta := []float64{1, 2, -1}
	x, y = make([][]float64, n), make([]float64, n)
	for i := range x {
		x[i] = []float64{1, rng.NormFloat64(), 3 * rng.Float64()}
		y[i] = dot(x[i], beta) + sigmaTrue*rng.NormFloat64()
	}
	return x, y
}

func dot(a, b []float64) float64 {
	var s float64
	for j := range a {
		s += a[j] * b[j]
	}
	return s
}

// posterior returns the posterior mean and covariance of β given the rows not in skip
// (skip < 0 keeps every row).
func (m *conjugate) posterior(skip int) (*mat.VecDense, *mat.SymDense) {
	p := len(m.x[0])
	prec := mat.NewSymDense(p, nil)
	b := mat.NewVecDense(p, nil)
	for j := range p {
		prec.SetSym(j, j, 1/(m.tau*m.tau))
	}
	s2 := m.sigma * m.sigma
	for i, xi := range m.x {
		if i == skip {
			continue
		}
		for j := range p {
			b.SetVec(j, b.AtVec(j)+xi[j]*m.y[i]/s2)
			for k := j; k < p; k++ {
				prec.SetSym(j, k, prec.At(j, k)+xi[j]*xi[k]/s2)
			}
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(prec) {
		panic("posterior precision is not positive definite")
	}
	cov := mat.NewSymDense(p, nil)
	if err := chol.InverseTo(cov); err != nil {
		panic(err)
	}
	mean := mat.NewVecDense(p, nil)
	mean.MulVec(cov, b)
	return mean, cov
}

// exactPIT returns the exact LOO-PIT of every row: Φ((y_i − x_iᵀm_−i)/√(σ² + x_iᵀV_−i x_i)),
// with m_−i and V_−i the posterior without row i.
func (m *conjugate) exactPIT() []float64 {
	out := make([]float64, len(m.y))
	for i, xi := range m.x {
		mean, cov := m.posterior(i)
		xv := mat.NewVecDense(len(xi), slices.Clone(xi))
		v := m.sigma*m.sigma + mat.Inner(xv, cov, xv)
		out[i] = normCDF((m.y[i] - mat.Dot(xv, mean)) / math.Sqrt(v))
	}
	return out
}

// draws returns chains × perChain exact posterior draws of β (one slice of p per draw).
func (m *conjugate) draws(chains, perChain int, rng *rand.Rand) [][][]float64 {
	mean, cov := m.posterior(-1)
	var chol mat.Cholesky
	if !chol.Factorize(cov) {
		panic("posterior covariance is not positive definite")
	}
	var l mat.TriDense
	chol.LTo(&l)
	p := mean.Len()
	out := make([][][]float64, chains)
	z := mat.NewVecDense(p, nil)
	for c := range out {
		out[c] = make([][]float64, perChain)
		for d := range out[c] {
			for j := range p {
				z.SetVec(j, rng.NormFloat64())
			}
			var b mat.VecDense
			b.MulVec(&l, z)
			b.AddVec(&b, mean)
			out[c][d] = slices.Clone(b.RawVector().Data)
		}
	}
	return out
}

// pointwise returns, for draws beta, row i's log-likelihood and predictive CDF at y_i per
// chain and draw, as the pipeline forms them.
func (m *conjugate) pointwise(beta [][][]float64) (loglik, cdf func(i int) [][]float64) {
	per := func(i int, f func(z float64) float64) [][]float64 {
		out := make([][]float64, len(beta))
		for c, ch := range beta {
			out[c] = make([]float64, len(ch))
			for d, b := range ch {
				out[c][d] = f((m.y[i] - dot(m.x[i], b)) / m.sigma)
			}
		}
		return out
	}
	loglik = func(i int) [][]float64 {
		return per(i, func(z float64) float64 { return -0.5*z*z - math.Log(m.sigma) - 0.5*math.Log(2*math.Pi) })
	}
	cdf = func(i int) [][]float64 { return per(i, normCDF) }
	return loglik, cdf
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// ksStat is the Kolmogorov–Smirnov distance between the ECDF of u and the uniform CDF.
func ksStat(u []float64) float64 {
	s := slices.Clone(u)
	slices.Sort(s)
	n := float64(len(s))
	var d float64
	for i, v := range s {
		d = math.Max(d, math.Max(float64(i+1)/n-v, v-float64(i)/n))
	}
	return d
}

// TestPITConjugate: on data from a normal linear model, with exact posterior draws of the
// conjugate model that generated it, PSIS LOO-PIT matches the exact leave-one-out predictive
// CDF values, which are uniform; with the noise sd assumed 3 times too small, the values
// pile up at 0 and 1 and their ECDF leaves the simultaneous band.
func TestPITConjugate(t *testing.T) {
	const n, sigma = 100, 0.5
	rng := rand.New(rand.NewPCG(21, 21))
	x, y := simulate(n, sigma, rng)
	m := &conjugate{x: x, y: y, sigma: sigma, tau: 10}
	beta := m.draws(4, 1000, rng)
	loglik, cdf := m.pointwise(beta)
	res, pit, err := PSISExpect(n, joint(loglik, cdf), 0)
	if err != nil {
		t.Fatal(err)
	}
	exact := m.exactPIT()

	// Tolerance: PIT_i is a self-normalised importance-sampling mean of F_s = Φ((y_i −
	// μ_i,s)/σ) over S = 4000 independent draws, with Monte Carlo SE about
	// sd_s(F_s)/√n_eff,i (n_eff,i is the PSIS effective sample size, Point.NEff). Each row is
	// held to 4 such SEs (k̂ ≤ 0.7, so PSIS's bias is small against its SE). The in-sample
	// PIT (the unweighted mean of F_s, no leave-one-out) misses the exact values by several
	// times that, so the tolerance tells the two apart.
	var maxErr, maxInSample, maxRatio float64
	far := 0
	for i := range n {
		pt := res.Pointwise[i]
		if pt.ParetoK > KBad {
			t.Errorf("row %d: k̂ = %v; the conjugate model's weights should be usable (≤ 0.7)", i+1, pt.ParetoK)
		}
		var f []float64
		for _, ch := range cdf(i) {
			f = append(f, ch...)
		}
		var in, ss float64
		for _, v := range f {
			in += v / float64(len(f))
		}
		for _, v := range f {
			ss += (v - in) * (v - in)
		}
		tol := 4 * math.Sqrt(ss/float64(len(f)-1)/pt.NEff)
		e := math.Abs(pit[i] - exact[i])
		if e > tol {
			t.Errorf("row %d: PSIS LOO-PIT %.5f; exact LOO-PIT %.5f (tol %.2g, 4 Monte Carlo SEs)", i+1, pit[i], exact[i], tol)
		}
		if math.Abs(in-exact[i]) > 2*tol {
			far++
		}
		maxErr, maxInSample, maxRatio = math.Max(maxErr, e), math.Max(maxInSample, math.Abs(in-exact[i])), math.Max(maxRatio, e/tol*4)
	}
	t.Logf("max |PIT − exact| = %.2g (at most %.2g Monte Carlo SEs); max |in-sample PIT − exact| = %.2g; %d rows' in-sample PIT beyond twice the tolerance",
		maxErr, maxRatio, maxInSample, far)
	if far < n/4 {
		t.Errorf("only %d of %d rows' in-sample PIT is beyond twice the tolerance: the test cannot tell LOO from in-sample", far, n)
	}

	// Uniformity: the one-sample KS distance is below the 5% critical value, 1.358/√n
	// (Kolmogorov's limit distribution; 0.134 in Massey's 1951 table for n = 100).
	crit := 1.358 / math.Sqrt(n)
	if d := ksStat(pit); d > crit {
		t.Errorf("KS distance of the PIT values from uniform = %.3f; want ≤ %.3f (5%% level)", d, crit)
	}
	band, err := NewUniformBand(n, n, 0.05, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !band.Contains(pit) {
		t.Error("the ECDF of a calibrated model's PIT values leaves the 95% simultaneous band")
	}

	// Misspecified: the model's σ is a third of the data's, so its predictive intervals are
	// far too narrow. P(|y − μ| > 1.645·σ/3) ≈ P(|Z| > 0.55) ≈ 0.58 of the PIT values fall
	// below 0.05 or above 0.95, against 0.10 for a calibrated model.
	bad := &conjugate{x: x, y: y, sigma: sigma / 3, tau: 10}
	loglik, cdf = bad.pointwise(bad.draws(4, 1000, rng))
	_, pitBad, err := PSISExpect(n, joint(loglik, cdf), 0)
	if err != nil {
		t.Fatal(err)
	}
	tails := 0
	for _, v := range pitBad {
		if v < 0.05 || v > 0.95 {
			tails++
		}
	}
	if share := float64(tails) / n; share < 0.4 {
		t.Errorf("misspecified σ: %.2f of the PIT values lie outside [0.05, 0.95]; want ≥ 0.4 (piled at 0 and 1)", share)
	}
	if band.Contains(pitBad) {
		t.Error("misspecified σ: the ECDF of the PIT values stays inside the 95% simultaneous band")
	}
	t.Logf("KS distance from uniform: %.3f calibrated, %.3f misspecified (critical %.3f)", ksStat(pit), ksStat(pitBad), crit)
	if d := ksStat(pitBad); d <= crit {
		t.Errorf("misspecified σ: KS distance %.3f does not reject uniformity (critical %.3f)", d, crit)
	}
}

// joint makes PSISExpect's one function of the draws from two.
func joint(loglik, f func(i int) [][]float64) func(i int) (ll, fi [][]float64) {
	return func(i int) ([][]float64, [][]float64) { return loglik(i), f(i) }
}

// TestPSISExpectResult: PSISExpect's Result is PSIS's, and the weights are normalised (the
// expectation of 1 is 1).
func TestPSISExpectResult(t *testing.T) {
	m := withOutliers(t)
	want := psisOf(t, m, 1)
	one := func(i int) [][]float64 {
		ll := m.loglik(i)
		out := make([][]float64, len(ll))
		for c := range ll {
			out[c] = make([]float64, len(ll[c]))
			for d := range out[c] {
				out[c][d] = 1
			}
		}
		return out
	}
	got, e, err := PSISExpect(want.N, joint(m.loglik, one), 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sanitise(got), sanitise(want)) {
		t.Error("PSISExpect's Result differs from PSIS's")
	}
	for i, v := range e {
		if math.Abs(v-1) > 1e-12 {
			t.Errorf("observation %d: E[1] = %v; want 1", i+1, v)
		}
	}
	bad := func(i int) [][]float64 { return [][]float64{{math.NaN()}} }
	if _, _, err := PSISExpect(want.N, joint(m.loglik, bad), 1); err == nil || !strings.Contains(err.Error(), "chains of") {
		t.Errorf("a quantity of the wrong shape: err = %v; want a shape error", err)
	}
}

// bandCoverage returns the exact probability that the ECDF of b.N uniform values stays
// inside b at every point: the count at z_j+1 is the count at z_j plus a
// Binomial(N − count, (z_j+1 − z_j)/(1 − z_j)), summed over the paths inside the band (the
// recursion of the paper's optimisation method, bayesplot's adjust_gamma_optimize).
func bandCoverage(b *UniformBand) float64 {
	n := b.N
	p := make([]float64, n+1) // P(count = x and inside so far)
	p[0] = 1
	next := make([]float64, n+1)
	for j := 1; j < len(b.Z); j++ {
		clear(next)
		q := (b.Z[j] - b.Z[j-1]) / (1 - b.Z[j-1])
		for x, px := range p {
			if px == 0 {
				continue
			}
			m := n - x
			for k := 0; k <= m; k++ {
				to := x + k
				if to < b.lo[j] || to > b.hi[j] {
					continue
				}
				next[to] += px * binomPMF(k, m, q)
			}
		}
		p, next = next, p
	}
	var s float64
	for _, v := range p {
		s += v
	}
	return s
}

func binomPMF(k, n int, q float64) float64 {
	switch {
	case q >= 1:
		if k == n {
			return 1
		}
		return 0
	case q <= 0:
		if k == 0 {
			return 1
		}
		return 0
	}
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return math.Exp(lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(q) + float64(n-k)*math.Log1p(-q))
}

// TestUniformBandCoverage: the simulated adjustment gives the band its simultaneous
// coverage. For N = K = 100 and alpha = 0.05, the exact probability that a uniform sample's
// ECDF stays inside (bandCoverage) is 0.95 within the Monte Carlo error of 1000 simulations
// (the alpha-quantile of 1000 draws has coverage sd √(0.05·0.95/1000) ≈ 0.007; tol 0.02),
// and fresh uniform samples stay inside as often. The pointwise level is far below alpha.
func TestUniformBandCoverage(t *testing.T) {
	b, err := NewUniformBand(100, 100, 0.05, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	cov := bandCoverage(b)
	t.Logf("N = K = 100: gamma = %.4g, exact simultaneous coverage %.4f", b.Gamma, cov)
	if math.Abs(cov-0.95) > 0.02 {
		t.Errorf("simultaneous coverage of the band = %.4f; want 0.95 (tol 0.02)", cov)
	}
	if !(b.Gamma > 0 && b.Gamma < 0.05/2) {
		t.Errorf("gamma = %v; want a pointwise level well below alpha = 0.05", b.Gamma)
	}
	// The pointwise 95% band (gamma = alpha) covers far less: its exact coverage is lower.
	pw := *b
	pw.lo, pw.hi = make([]int, len(b.Z)), make([]int, len(b.Z))
	for j, z := range b.Z {
		pw.lo[j], pw.hi[j] = binomQuantile(0.025, 100, z), binomQuantile(0.975, 100, z)
	}
	if c := bandCoverage(&pw); c > 0.8 {
		t.Errorf("pointwise 95%% intervals cover %.3f simultaneously; want far below 0.95", c)
	}

	rng := rand.New(rand.NewPCG(7, 7))
	u := make([]float64, 100)
	inside := 0
	const sims = 4000
	for range sims {
		for i := range u {
			u[i] = rng.Float64()
		}
		if b.Contains(u) {
			inside++
		}
	}
	// sd of the share over 4000 samples ≈ √(0.95·0.05/4000) ≈ 0.0034; tol 0.015.
	if share := float64(inside) / sims; math.Abs(share-cov) > 0.015 {
		t.Errorf("%.4f of fresh uniform samples stay inside the band; exact coverage %.4f (tol 0.015)", share, cov)
	}
	// The band is the same every time (fixed seed) and symmetric about the diagonal.
	b2, _ := NewUniformBand(100, 100, 0.05, 1000, 1)
	if b2.Gamma != b.Gamma {
		t.Errorf("gamma differs between two calls with the same seed: %v, %v", b.Gamma, b2.Gamma)
	}
	for j := range b.Z {
		if d := (b.Z[j] - b.Lower[j]) - (b.Upper[len(b.Z)-1-j] - b.Z[len(b.Z)-1-j]); math.Abs(d) > 1e-12 {
			t.Errorf("band not symmetric at z = %v: lower gap %v", b.Z[j], b.Z[j]-b.Lower[j])
		}
	}
}

func TestBinomQuantile(t *testing.T) {
	// Values from R: qbinom(c(0.025, 0.5, 0.975), 100, 0.3) = 21 30 39; qbinom(0.5, 10, 0.5) = 5.
	for _, c := range []struct {
		p    float64
		n    int
		z    float64
		want int
	}{{0.025, 100, 0.3, 21}, {0.5, 100, 0.3, 30}, {0.975, 100, 0.3, 39}, {0.5, 10, 0.5, 5}, {0.3, 10, 0, 0}, {0.3, 10, 1, 10}} {
		if got := binomQuantile(c.p, c.n, c.z); got != c.want {
			t.Errorf("binomQuantile(%v, %d, %v) = %d; want %d", c.p, c.n, c.z, got, c.want)
		}
	}
}

func TestPITCSVRoundTrip(t *testing.T) {
	in := &PITTable{Factors: []string{"market"}, Rows: []PITRow{
		{Row: 1, Date: "2024-01-01", Groups: []string{"north"}, Y: 1.5, PIT: 0.25, ParetoK: 0.1},
		{Row: 2, Date: "2024-01-08", Groups: []string{"south"}, Y: -2, PIT: 1, ParetoK: math.Inf(1)},
	}}
	var buf bytes.Buffer
	if err := WritePITCSV(&buf, in); err != nil {
		t.Fatal(err)
	}
	want := "row,date,market,y,pit,pareto_k\n1,2024-01-01,north,1.5,0.25,0.1\n2,2024-01-08,south,-2,1,Inf\n"
	if buf.String() != want {
		t.Errorf("loo_pit.csv =\n%s\nwant\n%s", buf.String(), want)
	}
	got, err := ReadPITCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("read back %+v; want %+v", got, in)
	}
	for _, bad := range []string{"", "row,date,y,pit\n", "row,date,y,pit,pareto_k\nx,,1,0.5,0.1\n", "row,date,y,pit,pareto_k\n1,,1,half,0.1\n", "row,date,y,pit,pareto_k\n"} {
		if _, err := ReadPITCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadPITCSV(%q) = nil error; want one", bad)
		}
	}
}
