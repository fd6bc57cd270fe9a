package codegen

import (
	"math"
	"math/rand/v2"
)

// The integrated panel program (IntegratedTemplate) samples no group effects: each
// group's are integrated out of its likelihood, and drawn afterwards, per draw, from their
// exact Gaussian conditional. Both steps rest on the algebra below, which this file
// implements in Go for Decode and for the tests that check the Stan program against it.
//
// Group g has n_g rows with QR statistics [X_g y_g] = Q [R_g qty_g; 0 r_g] on the
// sampler's scale, so that ||y_g − X_g β||² = ||qty_g − R_g β||² + r_g² for every β. Its
// coefficients are β_g = b + P d_g, with P (K×J) selecting the group-varying terms,
// d_g ~ N(0, Σ), Σ = S Sᵀ (S = diag(sd)·L, L = I for independent effects), and
// y_g ~ N(X_g β_g, σ² I). With e = qty_g − R_g b and Z = R_g P (K×J), the group's rows
// enter only through Zᵀr = Zᵀe, ZᵀZ and rᵀr = ||e||² + r_g² (r = y_g − X_g b), so by
// Woodbury's identity and the matrix determinant lemma with U = Z S/σ,
//
//	M = I_J + UᵀU,   v = Uᵀe/σ
//	log p(y_g | b, S, σ) = −(n_g/2) log 2π − n_g log σ − (||e||² + r_g²)/(2σ²)
//	                       − ½ log|M| + ½ vᵀM⁻¹v
//	d_g | y_g, b, S, σ ~ N(S M⁻¹ v, S M⁻¹ Sᵀ).
//
// M ≥ I, so its Cholesky factor always exists and every step stays finite as a group
// scale goes to 0 (M → I, d_g → 0): there is no funnel, and no division by a scale.

// groupGauss is the Gaussian algebra of one group at one value of (b, S, σ), in
// workspace that is reused from group to group and draw to draw. All matrices are
// row-major slices.
type groupGauss struct {
	k, j int
	e    []float64 // qty − R b
	u    []float64 // K×J: Z S / σ
	lm   []float64 // J×J: lower Cholesky factor of M
	w    []float64 // L_M⁻¹ v
	m    []float64 // M⁻¹ v
	z, x []float64 // scratch, J
}

func newGroupGauss(k, j int) *groupGauss {
	return &groupGauss{k: k, j: j, e: make([]float64, k), u: make([]float64, k*j),
		lm: make([]float64, j*j), w: make([]float64, j), m: make([]float64, j), z: make([]float64, j), x: make([]float64, j)}
}

// set computes the group's statistics at (b, S, σ): r (K×K, row by row) and qty are its
// QR factor and Q'y, varying lists the columns of the group-varying terms (P), s is the
// J×J lower-triangular S row-major. It reports false when M is not positive definite,
// which happens only for non-finite inputs.
func (gg *groupGauss) set(r [][]float64, qty []float64, varying []int, b, s []float64, sigma float64) bool {
	k, j := gg.k, gg.j
	for a := range k {
		v := qty[a]
		for c, rv := range r[a] {
			v -= rv * b[c]
		}
		gg.e[a] = v
	}
	// U = R P S / σ; S is lower triangular, so column c of U sums over S's rows c..J-1.
	for a := range k {
		for c := range j {
			v := 0.0
			for l := c; l < j; l++ {
				v += r[a][varying[l]] * s[l*j+c]
			}
			gg.u[a*j+c] = v / sigma
		}
	}
	// M = I + U'U, factored in place (Cholesky–Banachiewicz).
	for a := range j {
		for c := 0; c <= a; c++ {
			v := 0.0
			for l := range k {
				v += gg.u[l*j+a] * gg.u[l*j+c]
			}
			if a == c {
				v++
			}
			for l := range c {
				v -= gg.lm[a*j+l] * gg.lm[c*j+l]
			}
			if a == c {
				if !(v > 0) {
					return false
				}
				gg.lm[a*j+a] = math.Sqrt(v)
			} else {
				gg.lm[a*j+c] = v / gg.lm[c*j+c]
			}
		}
		for c := a + 1; c < j; c++ {
			gg.lm[a*j+c] = 0
		}
	}
	// w = L⁻¹ v, v = U'e/σ; m = L⁻ᵀ w = M⁻¹ v.
	for a := range j {
		v := 0.0
		for l := range k {
			v += gg.u[l*j+a] * gg.e[l]
		}
		v /= sigma
		for c := range a {
			v -= gg.lm[a*j+c] * gg.w[c]
		}
		gg.w[a] = v / gg.lm[a*j+a]
	}
	gg.backSolve(gg.m, gg.w)
	return true
}

// backSolve sets dst = L_M⁻ᵀ src.
func (gg *groupGauss) backSolve(dst, src []float64) {
	j := gg.j
	for a := j - 1; a >= 0; a-- {
		v := src[a]
		for c := a + 1; c < j; c++ {
			v -= gg.lm[c*j+a] * dst[c]
		}
		dst[a] = v / gg.lm[a*j+a]
	}
}

// logLik is the group's log marginal likelihood without the terms that depend on the
// group only through its row count and r_g²: −½ log|M| + ½ vᵀM⁻¹v − ||e||²/(2σ²). The
// program adds −N log σ − rss_ls/(2σ²) once for all groups.
func (gg *groupGauss) logLik(sigma float64) float64 {
	v := 0.0
	for a := range gg.j {
		v += 0.5*gg.w[a]*gg.w[a] - math.Log(gg.lm[a*gg.j+a])
	}
	ee := 0.0
	for _, x := range gg.e {
		ee += x * x
	}
	return v - ee/(2*sigma*sigma)
}

// mean sets d to the conditional mean S M⁻¹ v of the group's effects.
func (gg *groupGauss) mean(d, s []float64) {
	lowerMul(d, s, gg.m, gg.j)
}

// draw sets d to a draw of the group's effects from their conditional,
// S (M⁻¹ v + L_M⁻ᵀ z) with z ~ N(0, I) from rng: its covariance is S M⁻¹ Sᵀ.
func (gg *groupGauss) draw(d, s []float64, rng *rand.Rand) {
	for a := range gg.j {
		gg.z[a] = rng.NormFloat64()
	}
	gg.backSolve(gg.x, gg.z)
	for a := range gg.j {
		gg.x[a] += gg.m[a]
	}
	lowerMul(d, s, gg.x, gg.j)
}

// lowerMul sets dst = S x for the J×J lower-triangular S, row-major.
func lowerMul(dst, s, x []float64, j int) {
	for a := range j {
		v := 0.0
		for c := 0; c <= a; c++ {
			v += s[a*j+c] * x[c]
		}
		dst[a] = v
	}
}

// integratedLogLik is log p(y_g | b, S, σ) of one group in full, constants included: the
// quantity the program's likelihood sums over groups (up to constants), for tests.
func integratedLogLik(r [][]float64, qty []float64, rss float64, n int, varying []int, b, s []float64, sigma float64) float64 {
	gg := newGroupGauss(len(qty), len(varying))
	if !gg.set(r, qty, varying, b, s, sigma) {
		return math.NaN()
	}
	return gg.logLik(sigma) - 0.5*float64(n)*math.Log(2*math.Pi) - float64(n)*math.Log(sigma) - rss/(2*sigma*sigma)
}
