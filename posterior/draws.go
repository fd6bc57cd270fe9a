package posterior

import (
	"fmt"
	"math"
	"sync"

	"github.com/dsamstan/dsamstan/ingest"
)

// Draws are a fitted model's coefficient draws in original units, all chains concatenated
// (chain c holds draws c·PerChain … (c+1)·PerChain−1).
type Draws struct {
	// Terms are the population terms in design order (Spec.Terms).
	Terms []string
	// Chains and PerChain give the draw layout; S = Chains·PerChain.
	Chains, PerChain int
	// Beta[k][s] is population coefficient k in draw s.
	Beta [][]float64
	// NoiseSD[s] is the residual standard deviation in draw s.
	NoiseSD []float64
	// Factors hold the group-level deviations of a panel model, one per grouping factor.
	Factors []Factor
	// Transforms hold the per-draw parameters of the terms whose media transform the model
	// estimates (Spec.Transforms with priors), one entry per such term; a term's design
	// column is then that draw's transformed raw column, not Spec.X. Nil when every
	// transform is fixed (Spec.X holds the fixed transforms).
	Transforms []TransformDraws
}

// Factor is one grouping factor's deviations from the population coefficients.
type Factor struct {
	Name   string   // "market" or "market:brand"
	Levels []string // group labels; Spec.Groups[f].Of maps rows to them
	Terms  []int    // design indexes of the group-varying terms
	// Dev[g][j][s] is group g's deviation for Terms[j] in draw s (original units), so the
	// group's coefficient is Beta[Terms[j]][s] + Dev[g][j][s].
	Dev [][][]float64
}

// S is the total number of draws.
func (d *Draws) S() int { return d.Chains * d.PerChain }

// check verifies that d fits spec, so the row pass can index without further checks.
func (d *Draws) check(spec *ingest.Spec) error {
	if len(d.Terms) != len(spec.Terms) || len(d.Beta) != len(spec.Terms) {
		return fmt.Errorf("posterior: %d coefficient series for %d terms", len(d.Beta), len(spec.Terms))
	}
	s := d.S()
	if s == 0 {
		return fmt.Errorf("posterior: no draws")
	}
	for k, b := range d.Beta {
		if len(b) != s {
			return fmt.Errorf("posterior: %s has %d draws; want %d", d.Terms[k], len(b), s)
		}
	}
	if len(d.NoiseSD) != s {
		return fmt.Errorf("posterior: noise_sd has %d draws; want %d", len(d.NoiseSD), s)
	}
	if len(d.Factors) != len(spec.Groups) {
		return fmt.Errorf("posterior: %d factors for %d grouping factors", len(d.Factors), len(spec.Groups))
	}
	for f, fac := range d.Factors {
		if len(fac.Dev) != len(spec.Groups[f].Levels) {
			return fmt.Errorf("posterior: factor %s has %d groups; want %d", fac.Name, len(fac.Dev), len(spec.Groups[f].Levels))
		}
		for _, g := range fac.Dev {
			if len(g) != len(fac.Terms) {
				return fmt.Errorf("posterior: factor %s: deviations for %d terms; want %d", fac.Name, len(g), len(fac.Terms))
			}
			for _, v := range g {
				if len(v) != s {
					return fmt.Errorf("posterior: factor %s: %d draws; want %d", fac.Name, len(v), s)
				}
			}
		}
	}
	return nil
}

// coefficients fills theta[k][s] with row i's coefficient draws: the population value plus
// the deviation of each of the row's groups.
func (d *Draws) coefficients(spec *ingest.Spec, i int, theta [][]float64) {
	for k := range d.Beta {
		copy(theta[k], d.Beta[k])
	}
	for f, fac := range d.Factors {
		dev := fac.Dev[spec.Groups[f].Of[i]]
		for j, k := range fac.Terms {
			t, u := theta[k], dev[j]
			for s := range t {
				t[s] += u[s]
			}
		}
	}
}

// row computes row i's contributions c[k][s] and linear predictor mu[s] (model scale,
// offset included). theta is scratch space of the same shape as c. tr gives the columns of
// the terms with estimated transforms per draw (nil when there are none); x is scratch
// space of one value per draw.
func (d *Draws) row(spec *ingest.Spec, tr *transformed, i int, theta, c [][]float64, mu, x []float64) {
	d.coefficients(spec, i, theta)
	off := 0.0
	if spec.Offset != nil {
		off = spec.Offset[i]
	}
	for s := range mu {
		mu[s] = off
	}
	for k := range theta {
		ck, tk := c[k], theta[k]
		if tr != nil && tr.byTerm[k] != nil {
			tr.column(k, i, x)
			for s := range ck {
				ck[s] = x[s] * tk[s]
				mu[s] += ck[s]
			}
			continue
		}
		x := spec.X[k][i]
		for s := range ck {
			ck[s] = x * tk[s]
			mu[s] += ck[s]
		}
	}
}

// Pointwise checks d against spec and returns, from one pass over row i, the pointwise
// log-likelihood as PSIS-LOO needs it (row i's draws per chain, log N(y_i | μ_i,s, σ_s) on
// the model scale) and the linear predictor per draw it comes from (as Mu gives it):
// PSIS-LOO and LOO-PIT need both for every row. With estimated transforms μ_i,s uses draw
// s's transformed columns, prepared once here. The function is safe for concurrent use.
func (d *Draws) Pointwise(spec *ingest.Spec) (func(i int) (ll [][]float64, mu []float64), error) {
	mu, err := d.Mu(spec)
	if err != nil {
		return nil, err
	}
	logSigma := make([]float64, d.S())
	for s, sigma := range d.NoiseSD {
		logSigma[s] = math.Log(sigma)
	}
	return func(i int) ([][]float64, []float64) {
		m := mu(i)
		y := spec.Y[i]
		return d.ByChain(func(s int) float64 {
			z := (y - m[s]) / d.NoiseSD[s]
			return -0.5*z*z - logSigma[s] - halfLog2Pi
		}), m
	}, nil
}

// ByChain returns f(s) for every draw s, split by chain (Chains slices of PerChain values
// over one array): the shape PSIS-LOO takes a row's per-draw values in.
func (d *Draws) ByChain(f func(s int) float64) [][]float64 {
	out := make([][]float64, d.Chains)
	back := make([]float64, d.S())
	for s := range back {
		back[s] = f(s)
	}
	for c := range out {
		out[c] = back[c*d.PerChain : (c+1)*d.PerChain : (c+1)*d.PerChain]
	}
	return out
}

// halfLog2Pi is log(2π)/2, the normal log density's constant.
var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

// Mu checks d against spec and returns row i's linear predictor per draw (model scale,
// offset included, draw s's transformed columns when the model estimates transforms), as
// Pointwise uses it: the predictive distribution of row i in draw s is N(μ_i,s, σ_s). spec may
// have other rows than the fit's (its holdout weeks); the function is safe for concurrent use.
func (d *Draws) Mu(spec *ingest.Spec) (func(i int) []float64, error) {
	if err := d.check(spec); err != nil {
		return nil, err
	}
	tr, err := d.transforms(spec)
	if err != nil {
		return nil, err
	}
	pool := d.scratchPool(true)
	return func(i int) []float64 {
		sc := pool.Get().(*rowScratch)
		defer pool.Put(sc)
		mu := make([]float64, d.S())
		d.row(spec, tr, i, sc.theta, sc.c, mu, sc.x)
		return mu
	}, nil
}

// Contributions checks d against spec and returns a function that fills row i's
// contributions c[k][s] (term k of spec.Terms, draw s; the offset is not a term) and its
// linear predictor mu[s] (model scale, offset included), as Derive computes them: draw s's
// transformed columns when the model estimates transforms, so adstock carries over along
// spec.Series. c must have len(spec.Terms) rows and mu one value per draw. spec may have
// other rows than the fit's (a forecast's plan weeks after the fitted ones); the function
// is safe for concurrent use with distinct c and mu.
func (d *Draws) Contributions(spec *ingest.Spec) (func(i int, c [][]float64, mu []float64), error) {
	if err := d.check(spec); err != nil {
		return nil, err
	}
	tr, err := d.transforms(spec)
	if err != nil {
		return nil, err
	}
	pool := d.scratchPool(false)
	return func(i int, c [][]float64, mu []float64) {
		sc := pool.Get().(*rowScratch)
		defer pool.Put(sc)
		d.row(spec, tr, i, sc.theta, c, mu, sc.x)
	}, nil
}

// rowScratch is the scratch space of one call of the row pass: theta and c are terms ×
// draws (c nil when the caller gives its own), x one value per draw. row overwrites all
// of it.
type rowScratch struct {
	theta, c [][]float64
	x        []float64
}

// scratchPool returns a pool of row scratch of d's shape, with contributions c when
// withC. The row functions are called once per row, from several goroutines at once; fresh
// scratch per call (terms × draws, twice) was most of their memory traffic and of the
// garbage collector's work.
func (d *Draws) scratchPool(withC bool) *sync.Pool {
	k, s := len(d.Beta), d.S()
	return &sync.Pool{New: func() any {
		sc := &rowScratch{theta: matrix(k, s), x: make([]float64, s)}
		if withC {
			sc.c = matrix(k, s)
		}
		return sc
	}}
}

func matrix(rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	back := make([]float64, rows*cols)
	for r := range m {
		m[r] = back[r*cols : (r+1)*cols : (r+1)*cols]
	}
	return m
}
