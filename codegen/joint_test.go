package codegen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distmv"

	"github.com/dsamstan/dsamstan/ingest"
)

// jointPoint is one value of the joint program's parameters on the sampler's scale: b,
// per factor the scales and the Cholesky factor of the correlation (row-major, nil for
// an independent factor), and σ.
type jointPoint struct {
	b     []float64
	sd, l [][]float64
	sigma float64
}

func randomJointPoint(rng *rand.Rand, lay *hierLayout, spec *ingest.Spec) jointPoint {
	p := jointPoint{sigma: 0.3 + 0.2*rng.Float64()}
	for j := range lay.terms {
		v := rng.NormFloat64()
		if spec.Bounds[j].Lower == 0 {
			v = math.Abs(v)
		}
		p.b = append(p.b, v)
	}
	for _, fl := range lay.factors {
		jn := len(fl.terms)
		sd := make([]float64, jn)
		for j := range sd {
			sd[j] = 0.1 + 0.5*rng.Float64()
		}
		p.sd = append(p.sd, sd)
		if !fl.correlated {
			p.l = append(p.l, nil)
			continue
		}
		l := make([]float64, jn*jn)
		for a, row := range randomCorrCholesky(rng, jn) {
			copy(l[a*jn:], row)
		}
		p.l = append(p.l, l)
	}
	return p
}

// textbookJoint builds, from the rows themselves, the design Z (N×D) of every factor's
// group effects in the joint program's order, and their prior covariance S Sᵀ at p.
func textbookJoint(lay *hierLayout, spec *ingest.Spec, x [][]float64, p jointPoint) (z *mat.Dense, prior *mat.SymDense) {
	js := lay.integrated.joint
	z = mat.NewDense(spec.N, js.d, nil)
	prior = mat.NewSymDense(js.d, nil)
	for fi, fl := range lay.factors {
		jn := len(fl.terms)
		for i := range spec.N {
			g := spec.Groups[fi].Of[i]
			for j, t := range fl.terms {
				z.Set(i, js.effect(lay, fi, g, j), x[t][i])
			}
		}
		s := mat.NewDense(jn, jn, nil)
		for a := range jn {
			for c := 0; c <= a; c++ {
				switch {
				case p.l[fi] != nil:
					s.Set(a, c, p.sd[fi][a]*p.l[fi][a*jn+c])
				case a == c:
					s.Set(a, c, p.sd[fi][a])
				}
			}
		}
		var cov mat.Dense
		cov.Mul(s, s.T())
		for g := range fl.levels {
			o := js.effect(lay, fi, g, 0)
			for a := range jn {
				for c := a; c < jn; c++ {
					prior.SetSym(o+a, o+c, cov.At(a, c))
				}
			}
		}
	}
	return z, prior
}

// TestJointLogLikMatchesDenseMVN checks the joint algebra's log likelihood against the
// dense N-dimensional normal y ~ N(X b, σ² I + Z S Sᵀ Zᵀ) on two-factor panels (market
// with three terms, market:brand with the intercept), independent and correlated.
func TestJointLogLikMatchesDenseMVN(t *testing.T) {
	for _, correlated := range []bool{false, true} {
		spec := panelTestSpec(panelOptions{groups: 3, weeks: 6, brands: true, correlated: correlated})
		p := render(t, spec)
		if p.Template != JointTemplate {
			t.Fatalf("Template %s; want %s", p.Template, JointTemplate)
		}
		lay := p.hier
		x, y := standardise(spec)
		_, cellRows := makeCells(spec)
		r, qty, rss := cellStats(x, y, cellRows)
		rng := rand.New(rand.NewPCG(3, 4))
		for range 4 {
			pt := randomJointPoint(rng, lay, spec)
			var jg jointGauss
			if !jg.set(lay.integrated.joint, lay, r, qty, pt.b, pt.sd, pt.l, pt.sigma) {
				t.Fatal("set failed")
			}
			got := jg.logLik(spec.N, rss, pt.sigma)

			z, prior := textbookJoint(lay, spec, x, pt)
			var zs, cov mat.Dense
			zs.Mul(z, prior)
			cov.Mul(&zs, z.T())
			covSym := mat.NewSymDense(spec.N, nil)
			mu := make([]float64, spec.N)
			for i := range spec.N {
				for c := range x {
					mu[i] += x[c][i] * pt.b[c]
				}
				for j := i; j < spec.N; j++ {
					v := 0.5 * (cov.At(i, j) + cov.At(j, i))
					if i == j {
						v += pt.sigma * pt.sigma
					}
					covSym.SetSym(i, j, v)
				}
			}
			mvn, ok := distmv.NewNormal(mu, covSym, nil)
			if !ok {
				t.Fatal("dense covariance not positive definite")
			}
			want := mvn.LogProb(y)
			if math.Abs(got-want) > 1e-8*math.Max(1, math.Abs(want)) {
				t.Errorf("correlated %v: joint log likelihood %.12g; dense normal %.12g", correlated, got, want)
			}
		}
	}
}

// TestDecodeJoint checks Decode on the joint program of the two-factor golden cases, at
// one point repeated over many draws: a MAP fit gives b plus the conditional mean of each
// factor's group effects, and sampled draws have that mean and the conditional sd, where
// both come from the textbook precision form Σ⁻¹ + ZᵀZ/σ² built from the rows; decoding
// twice draws the same, and another chain draws differently.
func TestDecodeJoint(t *testing.T) {
	for _, c := range goldenCases() {
		if len(c.spec.Groups) < 2 || !useIntegrated(c.spec) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			p := render(t, c.spec)
			lay := p.hier
			if p.Template != JointTemplate || lay.integrated == nil || lay.integrated.joint == nil {
				t.Fatalf("Template %s; want %s", p.Template, JointTemplate)
			}
			rng := rand.New(rand.NewPCG(8, 8))
			pt := randomJointPoint(rng, lay, c.spec)
			beta := slices.Clone(pt.b)
			if lay.xMean != nil {
				for j, m := range lay.xMean {
					beta[lay.intercept] += m * pt.b[j]
				}
			}
			ch, put := constantChain(3000)
			for j, v := range beta {
				put(fmt.Sprintf("beta.%d", j+1), v/lay.betaScale[j])
			}
			for fi, fl := range lay.factors {
				jn := len(fl.terms)
				for j, v := range pt.sd[fi] {
					put(fmt.Sprintf("sd_%d.%d", fl.index, j+1), v)
				}
				if fl.correlated {
					for a := range jn {
						for cc := 0; cc <= a; cc++ {
							put(fmt.Sprintf("L_%d.%d.%d", fl.index, a+1, cc+1), pt.l[fi][a*jn+cc])
						}
					}
				}
			}
			put("log_noise_sd", math.Log(pt.sigma))

			x, y := standardise(c.spec)
			z, prior := textbookJoint(lay, c.spec, x, pt)
			var prec mat.Dense
			if err := prec.Inverse(prior); err != nil {
				t.Fatal(err)
			}
			var ztz mat.Dense
			ztz.Mul(z.T(), z)
			ztz.Scale(1/(pt.sigma*pt.sigma), &ztz)
			prec.Add(&prec, &ztz)
			res := mat.NewVecDense(c.spec.N, nil)
			for i := range c.spec.N {
				v := y[i]
				for col := range x {
					v -= x[col][i] * pt.b[col]
				}
				res.SetVec(i, v/(pt.sigma*pt.sigma))
			}
			var rhs, wantMean mat.VecDense
			rhs.MulVec(z.T(), res)
			var cov mat.Dense
			if err := cov.Inverse(&prec); err != nil {
				t.Fatal(err)
			}
			wantMean.MulVec(&cov, &rhs)

			dec := decodeFourWays(t, p, ch)
			js := lay.integrated.joint
			for fi, fl := range lay.factors {
				for g, level := range fl.levels {
					for j, term := range fl.terms {
						e := js.effect(lay, fi, g, j)
						shift, scale := coefScale(c.spec, term)
						dec.check(t, GroupCoefficientName(lay.terms[term], fl.factor, level),
							shift+scale*(pt.b[term]+wantMean.AtVec(e)), scale*math.Sqrt(cov.At(e, e)))
					}
				}
			}
		})
	}
}
