package codegen

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// gaussCase is one group's data and a value of (b, S, σ) for the integrated algebra.
type gaussCase struct {
	name       string
	n          int   // rows
	varying    []int // group-varying columns of the K = 4 design columns
	correlated bool
	sd         []float64 // group scales; nil: random in (0.2, 1.7)
	cre        bool      // column 3 constant within the group (a CRE mean), so R is singular
}

var gaussCases = []gaussCase{
	{name: "intercept only", n: 12, varying: []int{0}},
	{name: "independent", n: 12, varying: []int{0, 1, 2}},
	{name: "correlated", n: 12, varying: []int{0, 1, 2}, correlated: true},
	{name: "correlated, all terms", n: 9, varying: []int{0, 1, 2, 3}, correlated: true},
	{name: "slopes only", n: 12, varying: []int{2, 1}},
	{name: "CRE column", n: 10, varying: []int{0, 1}, correlated: true, cre: true},
	{name: "fewer rows than columns", n: 2, varying: []int{0, 1, 2}, correlated: true},
	{name: "scale near 0", n: 12, varying: []int{0, 1, 2}, sd: []float64{1e-12, 0.5, 1e-9}},
	{name: "scales at 0", n: 12, varying: []int{0, 2}, sd: []float64{0, 0}},
	{name: "large scales", n: 12, varying: []int{0, 1, 2}, correlated: true, sd: []float64{30, 50, 80}},
}

// gaussData draws the case's rows (intercept, two predictors, a third or a CRE mean),
// response, b, S (row-major lower triangular) and σ.
func gaussData(c gaussCase, rng *rand.Rand) (x [][]float64, y []float64, b, s []float64, sigma float64) {
	const k = 4
	x = make([][]float64, k)
	for col := range x {
		x[col] = make([]float64, c.n)
		for i := range c.n {
			switch {
			case col == 0:
				x[col][i] = 1
			case col == 3 && c.cre:
				x[col][i] = 0.7
			default:
				x[col][i] = 1 + rng.NormFloat64()
			}
		}
	}
	y = make([]float64, c.n)
	for i := range y {
		y[i] = 2*rng.NormFloat64() + x[1][i]
	}
	b = make([]float64, k)
	for col := range b {
		b[col] = rng.NormFloat64()
	}
	j := len(c.varying)
	s = make([]float64, j*j)
	for a := range j {
		sd := 0.2 + 1.5*rng.Float64()
		if c.sd != nil {
			sd = c.sd[a]
		}
		if !c.correlated {
			s[a*j+a] = sd
			continue
		}
		norm := 0.0
		for l := 0; l <= a; l++ {
			s[a*j+l] = rng.NormFloat64()
			if l == a {
				s[a*j+l] = math.Abs(s[a*j+l]) + 0.3
			}
			norm += s[a*j+l] * s[a*j+l]
		}
		for l := 0; l <= a; l++ {
			s[a*j+l] *= sd / math.Sqrt(norm)
		}
	}
	return x, y, b, s, 0.3 + rng.Float64()
}

// denseLogLik is the multivariate normal log density of y with mean X b and covariance
// σ²I + Z S Sᵀ Zᵀ, Z the varying columns of X, computed densely (n×n Cholesky).
func denseLogLik(t *testing.T, x [][]float64, y []float64, varying []int, b, s []float64, sigma float64) float64 {
	t.Helper()
	n, j := len(y), len(varying)
	cov := mat.NewSymDense(n, nil)
	zs := mat.NewDense(n, j, nil) // Z S
	for i := range n {
		for c := range j {
			v := 0.0
			for l := c; l < j; l++ {
				v += x[varying[l]][i] * s[l*j+c]
			}
			zs.Set(i, c, v)
		}
	}
	for i := range n {
		for l := i; l < n; l++ {
			v := mat.Dot(zs.RowView(i), zs.RowView(l))
			if i == l {
				v += sigma * sigma
			}
			cov.SetSym(i, l, v)
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(cov) {
		t.Fatal("dense covariance is not positive definite")
	}
	r := mat.NewVecDense(n, nil)
	for i := range n {
		mu := 0.0
		for col := range x {
			mu += x[col][i] * b[col]
		}
		r.SetVec(i, y[i]-mu)
	}
	var sol mat.VecDense
	if err := chol.SolveVecTo(&sol, r); err != nil {
		t.Fatal(err)
	}
	return -0.5*float64(n)*math.Log(2*math.Pi) - 0.5*chol.LogDet() - 0.5*mat.Dot(r, &sol)
}

// TestIntegratedLogLikMatchesDenseMVN checks the integrated group likelihood, computed
// from the group's QR statistics in O(J³), against the multivariate normal density of
// its rows with the group effects' covariance added (n×n, dense), for one factor with
// independent and correlated effects, varying slopes without an intercept, a CRE column
// (singular R), fewer rows than columns, and group scales at, near and far from 0.
func TestIntegratedLogLikMatchesDenseMVN(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 3))
	for _, c := range gaussCases {
		for rep := range 5 {
			x, y, b, s, sigma := gaussData(c, rng)
			st := newSuffStats(x, y)
			got := integratedLogLik(st.r, st.qty, st.rss, c.n, c.varying, b, s, sigma)
			want := denseLogLik(t, x, y, c.varying, b, s, sigma)
			if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("%s, case %d: integrated %.12g, dense MVN %.12g", c.name, rep, got, want)
			}
		}
	}
}

// conditionalCov returns S M⁻¹ Sᵀ from gg's factor of M.
func conditionalCov(gg *groupGauss, s []float64) *mat.SymDense {
	j := gg.j
	a := mat.NewDense(j, j, nil) // S L_M⁻ᵀ, column by column
	e, col, d := make([]float64, j), make([]float64, j), make([]float64, j)
	for c := range j {
		clear(e)
		e[c] = 1
		gg.backSolve(col, e)
		lowerMul(d, s, col, j)
		a.SetCol(c, d)
	}
	cov := mat.NewSymDense(j, nil)
	cov.SymOuterK(1, a)
	return cov
}

// TestConditionalDrawsMatchClosedForm checks the conditional of a group's effects given
// (b, S, σ) and its rows against the textbook form with Σ = S Sᵀ invertible: precision
// Σ⁻¹ + ZᵀZ/σ², mean its inverse times Zᵀ(y − X b)/σ², Z the raw varying columns. Then it
// checks that draws have that mean and covariance, within Monte Carlo error.
func TestConditionalDrawsMatchClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, c := range gaussCases {
		if c.sd != nil {
			continue // Σ must be invertible for the textbook form
		}
		x, y, b, s, sigma := gaussData(c, rng)
		n, j := c.n, len(c.varying)
		st := newSuffStats(x, y)
		gg := newGroupGauss(len(x), j)
		if !gg.set(st.r, st.qty, c.varying, b, s, sigma) {
			t.Fatalf("%s: M not positive definite", c.name)
		}

		// Textbook form.
		sm := mat.NewDense(j, j, s)
		var sigmaInv mat.Dense
		sigmaD := mat.NewDense(j, j, nil)
		sigmaD.Mul(sm, sm.T())
		if err := sigmaInv.Inverse(sigmaD); err != nil {
			t.Fatal(err)
		}
		prec := mat.NewDense(j, j, nil)
		rhs := mat.NewVecDense(j, nil)
		for a := range j {
			for l := range j {
				v := 0.0
				for i := range n {
					v += x[c.varying[a]][i] * x[c.varying[l]][i]
				}
				prec.Set(a, l, sigmaInv.At(a, l)+v/(sigma*sigma))
			}
			v := 0.0
			for i := range n {
				res := y[i]
				for col := range x {
					res -= x[col][i] * b[col]
				}
				v += x[c.varying[a]][i] * res
			}
			rhs.SetVec(a, v/(sigma*sigma))
		}
		var wantCov mat.Dense
		if err := wantCov.Inverse(prec); err != nil {
			t.Fatal(err)
		}
		var wantMean mat.VecDense
		wantMean.MulVec(&wantCov, rhs)

		gotMean := make([]float64, j)
		gg.mean(gotMean, s)
		gotCov := conditionalCov(gg, s)
		for a := range j {
			if d := math.Abs(gotMean[a] - wantMean.AtVec(a)); d > 1e-9*math.Max(1, math.Abs(wantMean.AtVec(a))) {
				t.Errorf("%s: mean[%d] = %.12g; closed form %.12g", c.name, a, gotMean[a], wantMean.AtVec(a))
			}
			for l := range j {
				if d := math.Abs(gotCov.At(a, l) - wantCov.At(a, l)); d > 1e-9*math.Max(1, math.Abs(wantCov.At(a, l))) {
					t.Errorf("%s: cov[%d,%d] = %.12g; closed form %.12g", c.name, a, l, gotCov.At(a, l), wantCov.At(a, l))
				}
			}
		}

		// Draws: mean within 5 standard errors, covariance within 5% of each variance.
		const draws = 40000
		sum := make([]float64, j)
		cross := mat.NewSymDense(j, nil)
		d := make([]float64, j)
		drng := rand.New(rand.NewPCG(1, 2))
		for range draws {
			gg.draw(d, s, drng)
			for a := range j {
				sum[a] += d[a]
				for l := a; l < j; l++ {
					cross.SetSym(a, l, cross.At(a, l)+(d[a]-gotMean[a])*(d[l]-gotMean[l]))
				}
			}
		}
		for a := range j {
			m := sum[a] / draws
			se := math.Sqrt(wantCov.At(a, a) / draws)
			if math.Abs(m-wantMean.AtVec(a)) > 5*se {
				t.Errorf("%s: draws' mean[%d] = %.6g; want %.6g ± %.2g", c.name, a, m, wantMean.AtVec(a), se)
			}
			for l := a; l < j; l++ {
				got := cross.At(a, l) / draws
				tol := 0.05 * math.Sqrt(wantCov.At(a, a)*wantCov.At(l, l))
				if math.Abs(got-wantCov.At(a, l)) > tol {
					t.Errorf("%s: draws' cov[%d,%d] = %.6g; want %.6g ± %.2g", c.name, a, l, got, wantCov.At(a, l), tol)
				}
			}
		}
	}
}
