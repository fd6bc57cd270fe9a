package codegen

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// Inits returns a starting point for the sampler, in the program's (scaled) space: beta is
// the conditional posterior mean of the coefficients given noise_sd at its least-squares
// estimate (a ridge solution pulled towards the prior, so collinear or short designs still
// have one), moved strictly inside the bounds; noise_sd is the root mean square residual
// at that beta.
//
// Render's program does not need it: CmdStan draws random inits on the unconstrained
// scale, uniform on (-2, 2), which always respect the bounds, and on the standardised scale
// they start near the posterior. Inits helps unscaled fits (model.scale false), where
// (-2, 2) can be orders of magnitude away from the posterior. Starting every chain at the
// same point removes the overdispersed starts Rhat relies on, so jitter it per chain.
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
	k, s := d.k, d.stats

	// Noise variance at the least-squares fit; fall back to the mean square of y* when
	// the design fits exactly (or has no residual degrees of freedom).
	yy := s.rss
	for _, v := range s.qty {
		yy += v * v
	}
	sigma2 := s.rss / float64(d.n)
	if !(sigma2 > 0) {
		sigma2 = yy / float64(d.n)
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
		w := 1 / (d.priorSD[i] * d.priorSD[i])
		prec.SetSym(i, i, prec.At(i, i)+w)
		v := 0.0
		for l := 0; l <= i; l++ {
			v += s.r[l][i] * s.qty[l]
		}
		rhs.SetVec(i, v/sigma2+w*d.priorMean[i])
	}
	var chol mat.Cholesky
	if !chol.Factorize(prec) {
		return nil, fmt.Errorf("codegen: inits: the posterior precision is not positive definite; check the prior sds")
	}
	var beta mat.VecDense
	if err := chol.SolveVecTo(&beta, rhs); err != nil {
		return nil, fmt.Errorf("codegen: inits: %w", err)
	}

	b := make([]float64, k)
	for i := range k {
		b[i] = inside(beta.AtVec(i), d.lb[i], d.ub[i], d.priorSD[i])
	}
	noise := math.Sqrt(s.residualSS(b) / float64(d.n))
	if floor := 1e-6 * math.Sqrt(sigma2); !(noise > floor) {
		noise = floor
	}
	return []stanio.Var{{Name: "beta", Value: b}, {Name: "noise_sd", Value: noise}}, nil
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
