package simulate

import (
	"fmt"
	"math"
	"slices"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// TextbookTransformsData returns the data of testdata/bench/textbook_transforms.stan, the
// textbook row-wise program of a panel model with estimated adstock and Hill, for spec: a
// model with one grouping factor (independent group effects) whose media terms all have both geometric adstock and Hill
// saturation (such as the config of `dsamstan example hierarchical --transforms` with every
// transform parameter estimated). Everything is in original units:
//
//	N, K, X[N, K], Y[N]      rows grouped by market, each market's in date order (Spec.Series);
//	                         X is the design in spec's term order, its media columns zero
//	M, media[M]              media channels and their 1-based term indexes
//	spend[N, M], max_lag[M]  the raw media columns and the adstock lags
//	G, start[G], len[G]      each market's first row and number of rows
//	J, varying[J]            the group-varying terms (1-based term indexes)
//	prior_mean, prior_sd, lb, ub             spec.Priors and spec.Bounds
//	sd_1_prior_mean, sd_1_prior_sd           the group scales' priors
//	prior_family_noise_sd, noise_sd_prior_a, noise_sd_prior_b
//	                         0: normal(a, b); 1: lognormal(a, b) (lognormal_ms converted)
//	decay_prior_a/b, half_prior_meanlog/sdlog, shape_prior_meanlog/sdlog
//	                         the transform priors: an estimated parameter's own, a fixed
//	                         one's default (beta(2, 2); lognormal(log median positive
//	                         spend, 1); lognormal(0, 0.5))
//
// The program's parameters are b[K], adstock_decay[M], half_saturation[M], hill_shape[M],
// noise_sd, sd_1[J] and z_1[J, G].
func TextbookTransformsData(spec *ingest.Spec) ([]stanio.Var, error) {
	if len(spec.Groups) != 1 {
		return nil, fmt.Errorf("simulate: the textbook program has one grouping factor; the model has %d", len(spec.Groups))
	}
	grp := spec.Groups[0]
	if !grp.Independent {
		return nil, fmt.Errorf("simulate: the textbook program has independent group effects; the model correlates those of %s", grp.Factor)
	}
	if len(spec.Transforms) == 0 || len(spec.Series) != len(grp.Levels) {
		return nil, fmt.Errorf("simulate: the textbook program needs adstock along one series per %s", grp.Factor)
	}
	// Rows grouped by series, in date order; each series must be one group.
	var order []int
	start, length := make([]int, len(spec.Series)), make([]int, len(spec.Series))
	for s, rows := range spec.Series {
		start[s], length[s] = len(order)+1, len(rows)
		for _, i := range rows {
			if grp.Of[i] != grp.Of[rows[0]] {
				return nil, fmt.Errorf("simulate: series %d mixes groups of %s", s+1, grp.Factor)
			}
		}
		order = append(order, rows...)
	}
	termIndex := func(name string) int {
		return slices.IndexFunc(spec.Terms, func(t ingest.Term) bool { return t.Name == name })
	}
	m := len(spec.Transforms)
	media, maxLag := make([]int, m), make([]int, m)
	decayA, decayB := make([]float64, m), make([]float64, m)
	halfMu, halfSigma := make([]float64, m), make([]float64, m)
	shapeMu, shapeSigma := make([]float64, m), make([]float64, m)
	isMedia := map[int]bool{}
	for c, tr := range spec.Transforms {
		k := termIndex(tr.Column)
		if k < 0 || !tr.Adstock || !tr.Hill {
			return nil, fmt.Errorf("simulate: the textbook program needs adstock and Hill on every transformed term; %s has adstock %v, Hill %v", tr.Column, tr.Adstock, tr.Hill)
		}
		media[c], maxLag[c], isMedia[k] = k+1, tr.MaxLag, true
		decay := ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2}
		half := ingest.TransformPrior{Family: ingest.PriorLognormal, A: math.Log(medianPositive(tr.Raw)), B: 1}
		shape := ingest.TransformPrior{Family: ingest.PriorLognormal, A: 0, B: 0.5}
		for _, p := range []struct {
			set  *ingest.TransformPrior
			dst  *ingest.TransformPrior
			kind string
		}{{tr.DecayPrior, &decay, ingest.DecayParam}, {tr.HalfSaturationPrior, &half, ingest.HalfSaturationParam}, {tr.ShapePrior, &shape, ingest.ShapeParam}} {
			if p.set == nil {
				continue
			}
			if p.set.Family != p.dst.Family {
				return nil, fmt.Errorf("simulate: the textbook program has a %s prior on %s, not %s", p.dst.Family, ingest.TransformParamName(p.kind, tr.Column), p.set.Family)
			}
			*p.dst = *p.set
		}
		decayA[c], decayB[c] = decay.A, decay.B
		halfMu[c], halfSigma[c] = half.A, half.B
		shapeMu[c], shapeSigma[c] = shape.A, shape.B
	}
	k := len(spec.Terms)
	x, spend, y := make([][]float64, len(order)), make([][]float64, len(order)), make([]float64, len(order))
	for r, i := range order {
		x[r], spend[r], y[r] = make([]float64, k), make([]float64, m), spec.Y[i]
		for j := range k {
			if !isMedia[j] {
				x[r][j] = spec.X[j][i]
			}
		}
		for c, tr := range spec.Transforms {
			spend[r][c] = tr.Raw[i]
		}
	}
	priorMean, priorSD, lb, ub := make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k)
	for j := range k {
		priorMean[j], priorSD[j] = spec.Priors[j].Mean, spec.Priors[j].SD
		lb[j], ub[j] = spec.Bounds[j].Lower, spec.Bounds[j].Upper
	}
	varying := make([]int, len(grp.Terms))
	sdMean, sdSD := make([]float64, len(grp.Terms)), make([]float64, len(grp.Terms))
	for j, t := range grp.Terms {
		varying[j] = t + 1
		sdMean[j], sdSD[j] = grp.SDPriors[j].Mean, grp.SDPriors[j].SD
	}
	family, a, b := 0, spec.NoiseSD.Mean, spec.NoiseSD.SD
	if spec.NoiseSD.Family == ingest.NoiseLognormalMS {
		family = 1
		a, b = ingest.LognormalMS(a, b)
	}
	return []stanio.Var{
		{Name: "N", Value: len(order)}, {Name: "K", Value: k}, {Name: "X", Value: x}, {Name: "Y", Value: y},
		{Name: "M", Value: m}, {Name: "media", Value: media}, {Name: "spend", Value: spend}, {Name: "max_lag", Value: maxLag},
		{Name: "G", Value: len(start)}, {Name: "start", Value: start}, {Name: "len", Value: length},
		{Name: "J", Value: len(varying)}, {Name: "varying", Value: varying},
		{Name: "prior_mean", Value: priorMean}, {Name: "prior_sd", Value: priorSD}, {Name: "lb", Value: lb}, {Name: "ub", Value: ub},
		{Name: "sd_1_prior_mean", Value: sdMean}, {Name: "sd_1_prior_sd", Value: sdSD},
		{Name: "prior_family_noise_sd", Value: family}, {Name: "noise_sd_prior_a", Value: a}, {Name: "noise_sd_prior_b", Value: b},
		{Name: "decay_prior_a", Value: decayA}, {Name: "decay_prior_b", Value: decayB},
		{Name: "half_prior_meanlog", Value: halfMu}, {Name: "half_prior_sdlog", Value: halfSigma},
		{Name: "shape_prior_meanlog", Value: shapeMu}, {Name: "shape_prior_sdlog", Value: shapeSigma},
	}, nil
}

// medianPositive is the median of x's positive values (NaN when there are none).
func medianPositive(x []float64) float64 {
	if m, ok := ingest.MedianPositive(x); ok {
		return m
	}
	return math.NaN()
}
