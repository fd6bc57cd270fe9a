package calibrate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/sbc"
)

// Check returns nil when every parameter the program of spec reports can be drawn from
// its prior, else an error naming the config key that makes a truth impossible to draw.
func Check(spec *ingest.Spec) error {
	var errs []error
	if spec.Pooling != nil {
		errs = append(errs, errors.New("calibrate: `pooling.enabled` is true; calibration cannot draw a pooled model's truth yet (it draws each coefficient from its own prior): switch pooling off to calibrate this design"))
	}
	for _, t := range spec.Transforms {
		for _, v := range []struct {
			key   string
			prior *ingest.TransformPrior
		}{{"adstock.decay", t.DecayPrior}, {"saturation.half_saturation", t.HalfSaturationPrior}, {"saturation.shape", t.ShapePrior}} {
			if v.prior == nil {
				continue
			}
			if _, err := drawTransformPrior(nil, *v.prior); err != nil {
				errs = append(errs, fmt.Errorf("calibrate: the prior of `transforms.%s.%s` has family %q, which cannot be drawn; use %q, %q or %q",
					t.Column, v.key, v.prior.Family, ingest.PriorBeta, ingest.PriorLognormal, ingest.PriorGamma))
			}
		}
	}
	switch spec.NoiseSD.Family {
	case ingest.NoiseNormal, ingest.NoiseLognormalMS:
	default:
		errs = append(errs, fmt.Errorf("calibrate: `priors.noise_sd.family` %q cannot be drawn; use %q or %q", spec.NoiseSD.Family, ingest.NoiseNormal, ingest.NoiseLognormalMS))
	}
	return errors.Join(errs...)
}

// prior draws the parameters of a Spec's model from the priors its program uses, and a
// response from them.
type prior struct {
	spec *ingest.Spec
	// shift moves every population coefficient's prior mean by shift prior sds in the
	// simulation only: a deliberately wrong setup, for the tests.
	shift float64
}

// draw draws every parameter from its prior and a response y from the model, and returns
// y and the truth of every parameter codegen.Program.Decode reports, by name:
//
//   - a population coefficient from normal(mean, sd) truncated to its bounds (the
//     program's bounded parameter with a normal prior), in original units;
//   - a group scale sd_<i>[term] from normal(mean, sd) truncated at 0;
//   - the correlation of a correlated factor's effects from LKJ(codegen.LKJEta), and
//     cor_<i>[a,b] from it;
//   - each group's deviations as normal(0, sd) (correlated as drawn), and the group's
//     coefficient term[factor=level] as the population coefficient plus its deviation;
//   - noise_sd from a normal truncated at 0 (half-normal for mean 0) or from the lognormal
//     whose natural-scale mean and sd the lognormal_ms prior gives;
//   - each estimated media transform parameter (adstock_decay[m_tv], half_saturation[…],
//     hill_shape[…]) from its prior (beta, lognormal or gamma, in original units), and
//     the term's column as the transform at those values makes it from the raw column;
//   - y = offset + Σ_k x_k·(coefficient of the row's cells) + noise_sd·normal(0, 1).
func (p *prior) draw(rng *rand.Rand) (y []float64, truth map[string]float64, err error) {
	s := p.spec
	truth = map[string]float64{}
	k := len(s.Terms)
	b := make([]float64, k)
	for j, t := range s.Terms {
		pr, bd := s.Priors[j], s.Bounds[j]
		if b[j], err = sbc.TruncNormal(rng, pr.Mean+p.shift*pr.SD, pr.SD, bd.Lower, bd.Upper); err != nil {
			return nil, nil, fmt.Errorf("calibrate: %s: %w", t.Name, err)
		}
		truth[t.Name] = b[j]
	}
	// dev[f][level][j]: factor f's deviation of its j-th varying term in a group.
	dev := make([][][]float64, len(s.Groups))
	for f, g := range s.Groups {
		sd := make([]float64, len(g.Terms))
		for j, t := range g.Terms {
			pr := g.SDPriors[j]
			if sd[j], err = sbc.TruncNormal(rng, pr.Mean, pr.SD, 0, math.Inf(1)); err != nil {
				return nil, nil, fmt.Errorf("calibrate: %s: %w", ingest.GroupScaleName(g.Index, s.Terms[t].Name), err)
			}
			truth[ingest.GroupScaleName(g.Index, s.Terms[t].Name)] = sd[j]
		}
		nj := len(g.Terms)
		var l [][]float64
		if !g.Independent && nj > 1 {
			l = sbc.LKJCholesky(rng, nj, codegen.LKJEta)
			for a := range nj {
				for c := a + 1; c < nj; c++ {
					r := 0.0
					for m := 0; m <= a; m++ {
						r += l[a][m] * l[c][m]
					}
					truth[fmt.Sprintf("cor_%d[%s,%s]", g.Index, s.Terms[g.Terms[a]].Name, s.Terms[g.Terms[c]].Name)] = r
				}
			}
		}
		dev[f] = make([][]float64, len(g.Levels))
		for lv := range g.Levels {
			z := make([]float64, nj)
			for j := range z {
				z[j] = rng.NormFloat64()
			}
			d := make([]float64, nj)
			for a := range nj {
				if l == nil {
					d[a] = sd[a] * z[a]
					continue
				}
				for c := 0; c <= a; c++ {
					d[a] += l[a][c] * z[c]
				}
				d[a] *= sd[a]
			}
			dev[f][lv] = d
		}
	}
	// Group coefficients, in Decode's order does not matter for a map.
	for f, g := range s.Groups {
		for j, t := range g.Terms {
			for lv, level := range g.Levels {
				truth[codegen.GroupCoefficientName(s.Terms[t].Name, g.Factor, level)] = b[t] + dev[f][lv][j]
			}
		}
	}
	var noise float64
	switch np := s.NoiseSD; np.Family {
	case ingest.NoiseNormal:
		if noise, err = sbc.TruncNormal(rng, np.Mean, np.SD, 0, math.Inf(1)); err != nil {
			return nil, nil, fmt.Errorf("calibrate: %s: %w", ingest.NoiseSDName, err)
		}
	case ingest.NoiseLognormalMS:
		mu, sigma := ingest.LognormalMS(np.Mean, np.SD)
		noise = math.Exp(mu + sigma*rng.NormFloat64())
	default:
		return nil, nil, Check(s)
	}
	truth[ingest.NoiseSDName] = noise
	x, err := p.transformedColumns(rng, truth)
	if err != nil {
		return nil, nil, err
	}

	y = make([]float64, s.N)
	coef := make([]float64, k)
	for i := range y {
		copy(coef, b)
		for f, g := range s.Groups {
			for j, t := range g.Terms {
				coef[t] += dev[f][g.Of[i]][j]
			}
		}
		v := noise * rng.NormFloat64()
		if s.Offset != nil {
			v += s.Offset[i]
		}
		for j := range k {
			v += x[j][i] * coef[j]
		}
		y[i] = v
	}
	return y, truth, nil
}

// transformedColumns draws each estimated media transform's parameters from their priors
// into truth and returns the design with those terms' columns transformed at the drawn
// values (the other columns are spec.X's own).
func (p *prior) transformedColumns(rng *rand.Rand, truth map[string]float64) ([][]float64, error) {
	s := p.spec
	x := slices.Clone(s.X)
	for _, t := range s.Transforms {
		if !t.Estimated() {
			continue
		}
		k := slices.IndexFunc(s.Terms, func(term ingest.Term) bool { return term.Name == t.Column })
		if k < 0 {
			return nil, fmt.Errorf("calibrate: transform of %s, which is not a term", t.Column)
		}
		decay, half, shape := t.Decay, t.HalfSaturation, t.Shape
		for _, v := range []struct {
			prior *ingest.TransformPrior
			kind  string
			value *float64
		}{{t.DecayPrior, ingest.DecayParam, &decay}, {t.HalfSaturationPrior, ingest.HalfSaturationParam, &half}, {t.ShapePrior, ingest.ShapeParam, &shape}} {
			if v.prior == nil {
				continue
			}
			d, err := drawTransformPrior(rng, *v.prior)
			if err != nil {
				return nil, fmt.Errorf("calibrate: %s: %w", ingest.TransformParamName(v.kind, t.Column), err)
			}
			*v.value = d
			truth[ingest.TransformParamName(v.kind, t.Column)] = d
		}
		x[k] = t.With(decay, half, shape).Apply(t.Raw, s.Series)
	}
	return x, nil
}

// drawTransformPrior draws from a transform parameter's prior: beta(A, B), lognormal(A,
// B) or gamma(shape A, rate B). With a nil rng it only checks the family.
func drawTransformPrior(rng *rand.Rand, p ingest.TransformPrior) (float64, error) {
	switch {
	case rng != nil:
	case p.Family == ingest.PriorBeta || p.Family == ingest.PriorLognormal || p.Family == ingest.PriorGamma:
		return 0, nil
	default:
		return 0, fmt.Errorf("prior family %q cannot be drawn", p.Family)
	}
	switch p.Family {
	case ingest.PriorBeta:
		return distuv.Beta{Alpha: p.A, Beta: p.B, Src: rng}.Rand(), nil
	case ingest.PriorLognormal:
		return math.Exp(p.A + p.B*rng.NormFloat64()), nil
	case ingest.PriorGamma:
		return distuv.Gamma{Alpha: p.A, Beta: p.B, Src: rng}.Rand(), nil
	}
	return 0, fmt.Errorf("prior family %q cannot be drawn", p.Family)
}

// withResponse returns a copy of spec with response y, scaled as ingest scales a
// response: with model.scale, the centre is mean(y) when the first term is the intercept
// and the scale is sd(y) (n−1; 1 when that is 0 or not finite). The priors and bounds stay
// as they are, in original units, so the program's prior is the one the draws came from;
// the scaling only changes the coordinates the sampler works in.
func withResponse(spec *ingest.Spec, y []float64) *ingest.Spec {
	s := *spec
	s.Y = y
	s.Scaling.XScale = slices.Clone(spec.Scaling.XScale)
	if s.Scale {
		mean, sd := stat.MeanStdDev(y, nil)
		if !(sd > 0) || math.IsInf(sd, 0) {
			sd = 1
		}
		s.Scaling.YScale = sd
		s.Scaling.YCentre = 0
		if len(s.Terms) > 0 && s.Terms[0].Intercept {
			s.Scaling.YCentre = mean
		}
	}
	return &s
}
