package codegen

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// Inits returns a starting point for the sampler, in the program's space: beta is the
// conditional posterior mean of the coefficients given noise_sd at its least-squares
// estimate (a ridge solution pulled towards the prior, so collinear or short designs still
// have one), moved strictly inside the bounds and given as the program's beta_raw;
// noise_sd is the root mean square residual at that beta.
//
// Render's program does not need it: CmdStan draws random inits on the unconstrained
// scale, uniform on (-2, 2), and beta_raw is in units of each coefficient's approximate
// posterior sd around its approximate posterior mean, so they start near the posterior.
// Starting every chain at the same point removes the overdispersed starts Rhat relies
// on, so jitter it per chain.
func Inits(spec *ingest.Spec) ([]stanio.Var, error) {
	if spec == nil {
		return nil, fmt.Errorf("codegen: nil spec")
	}
	if len(spec.Groups) > 0 {
		return nil, &panelError{groups: spec.Groups}
	}
	d, err := newBLMData(spec)
	if err != nil {
		return nil, err
	}
	b := make([]float64, d.k)
	for i := range b {
		b[i] = inside(d.centre[i], d.lb[i], d.ub[i], d.priorSD[i])
	}
	noise := math.Sqrt(d.stats.residualSS(b) / float64(d.n))
	if floor := 1e-6 * math.Sqrt(d.sigma2); !(noise > floor) {
		noise = floor
	}
	return []stanio.Var{{Name: "beta_raw", Value: d.unconstrain(b)}, {Name: "noise_sd", Value: noise}}, nil
}

// approxPosterior returns the Gaussian approximation to the coefficients' posterior on
// the sampler's scale, ignoring their bounds, given the noise variance at its
// least-squares estimate: the conditional posterior mean and sds, and that variance.
func approxPosterior(s suffStats, n int, priorMean, priorSD []float64) (mean, sd []float64, sigma2 float64, err error) {
	k := len(priorMean)
	// Noise variance at the least-squares fit; fall back to the mean square of y* when
	// the design fits exactly (or has no residual degrees of freedom).
	yy := s.rss
	for _, v := range s.qty {
		yy += v * v
	}
	sigma2 = s.rss / float64(n)
	if !(sigma2 > 0) {
		sigma2 = yy / float64(n)
	}
	if !(sigma2 > 0) {
		sigma2 = 1
	}

	// (R'R/σ² + D⁻¹) β = R'qty/σ² + D⁻¹m, D = diag(prior_sd²): positive definite.
	prec := mat.NewSymDense(k, nil)
	rhs := mat.NewVecDense(k, nil)
	for i := range k {
		for j := i; j < k; j++ {
			v := 0.0
			for l := 0; l <= i; l++ { // R is upper triangular: (R'R)_ij = Σ_{l≤min(i,j)} R_li R_lj
				v += s.r[l][i] * s.r[l][j]
			}
			prec.SetSym(i, j, v/sigma2)
		}
		w := 1 / (priorSD[i] * priorSD[i])
		prec.SetSym(i, i, prec.At(i, i)+w)
		v := 0.0
		for l := 0; l <= i; l++ {
			v += s.r[l][i] * s.qty[l]
		}
		rhs.SetVec(i, v/sigma2+w*priorMean[i])
	}
	var chol mat.Cholesky
	if !chol.Factorize(prec) {
		return nil, nil, 0, fmt.Errorf("codegen: the posterior precision is not positive definite; check the prior sds")
	}
	var beta mat.VecDense
	if err := chol.SolveVecTo(&beta, rhs); err != nil {
		return nil, nil, 0, fmt.Errorf("codegen: approximate posterior: %w", err)
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		return nil, nil, 0, fmt.Errorf("codegen: approximate posterior: %w", err)
	}
	mean, sd = make([]float64, k), make([]float64, k)
	for i := range k {
		mean[i] = beta.AtVec(i)
		sd[i] = math.Sqrt(cov.At(i, i))
	}
	return mean, sd, sigma2, nil
}

// unconstrain maps coefficients strictly inside their bounds to the program's beta_raw:
// the inverse of its bounded_coefficients.
func (d *blmData) unconstrain(b []float64) []float64 {
	u := make([]float64, len(b))
	for k, v := range b {
		lb, ub, c, s := d.lb[k], d.ub[k], d.centre[k], d.scale[k]
		shift := boundedShift(lb, ub, c, s)
		switch {
		case math.IsInf(lb, -1) && math.IsInf(ub, 1):
			u[k] = (v - c) / s
		case math.IsInf(ub, 1):
			u[k] = invSoftplus((v-lb)/s) - shift
		case math.IsInf(lb, -1):
			u[k] = invSoftplus((ub-v)/s) - shift
		default:
			p := (v - lb) / (ub - lb)
			u[k] = math.Log(p/(1-p)) - shift
		}
	}
	return u
}

// boundedShift is the program's bounded_shift for one coefficient.
func boundedShift(lb, ub, centre, scale float64) float64 {
	loOpen, hiOpen := math.IsInf(lb, -1), math.IsInf(ub, 1)
	switch {
	case loOpen && hiOpen:
		return 0
	case loOpen || hiOpen:
		d := centre - lb
		if !hiOpen {
			d = ub - centre
		}
		return invSoftplus(math.Max(d, 0.1*scale) / scale)
	}
	p := math.Min(math.Max((centre-lb)/(ub-lb), 0.01), 0.99)
	return math.Log(p / (1 - p))
}

// invSoftplus is log(expm1(x)), the inverse of log1p(exp(u)), for x > 0.
func invSoftplus(x float64) float64 {
	return x + math.Log(-math.Expm1(-x))
}

// inside moves v strictly inside [lb, ub]: a value outside (or on) a bound goes a margin
// inside it, the margin being a tenth of the prior sd, or a quarter of the interval when
// that is narrower.
func inside(v, lb, ub, sd float64) float64 {
	margin := 0.1 * sd
	if w := ub - lb; !math.IsInf(w, 1) {
		margin = math.Min(margin, 0.25*w)
	}
	if v < lb+margin {
		v = lb + margin
	}
	if v > ub-margin {
		v = ub - margin
	}
	return v
}
