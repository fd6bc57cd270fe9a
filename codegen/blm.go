package codegen

import (
	"fmt"
	"math"
	"slices"
	"text/template"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// blmContext is everything bayes_lm_updater_revised.stan.tmpl may use. It holds only
// constants: the program must not depend on the data or the config.
type blmContext struct {
	Comment         string
	Template        string
	TemplateVersion string
	// Transforms is true when the model estimates media transforms: the program then
	// computes their columns and its likelihood row by row (see transforms.go).
	Transforms bool
}

// Noise prior families as the program's prior_family_noise_sd flag encodes them.
const (
	noiseFlagNormal    = 0
	noiseFlagLognormal = 1
)

// blmData is the single-market model in the sampler's (scaled) space.
type blmData struct {
	n, k      int
	stats     suffStats
	priorMean []float64
	priorSD   []float64
	lb, ub    []float64
	noiseFlag int
	noiseA    float64
	noiseB    float64
	params    []Param
	// centre and scale are the coefficients' approximate posterior means and sds (bounds
	// ignored), sigma2 the noise variance they assume: beta_raw's origin and units.
	centre, scale []float64
	sigma2        float64
}

func renderBLM(t *template.Template, spec *ingest.Spec) (*Program, error) {
	d, err := newBLMData(spec)
	if err != nil {
		return nil, err
	}
	et, err := newEstTransforms(spec)
	if err != nil {
		return nil, err
	}
	code, err := execute(t, BLMTemplate, blmContext{
		Comment:         header,
		Template:        BLMTemplate,
		TemplateVersion: TemplateVersion,
		Transforms:      et != nil,
	})
	if err != nil {
		return nil, err
	}
	if et != nil {
		// The transform parameters follow noise_sd.
		return &Program{Template: BLMTemplate, Code: code, Data: d.transformVars(spec, et),
			Params: slices.Concat(d.params, et.params), Metric: "dense_e", AdaptDelta: transformsAdaptDelta}, nil
	}
	return &Program{Template: BLMTemplate, Code: code, Data: d.vars(), Params: d.params, Metric: "dense_e"}, nil
}

// transformsAdaptDelta is the single-market program's Program.AdaptDelta with estimated
// transforms. A Hill column's coefficient and half saturation trade off along a curved
// ridge (where the half saturation is far above the spend, only beta/half^shape is
// informed); on the simulated example (`dsamstan example blm --transforms`, 4 × 1000)
// the default 0.8 left 171 of 4000 transitions divergent, 0.95 left 15, for 25% more time.
const transformsAdaptDelta = 0.95

// transformVars lists the data of the program with estimated transforms, in its
// declaration order: the rows of the standardised design and response instead of their
// sufficient statistics, then the transforms'.
func (d *blmData) transformVars(spec *ingest.Spec, et *estTransforms) []stanio.Var {
	x, y := standardise(spec)
	order := make([]int, spec.N)
	for i := range order {
		order[i] = i
	}
	vars := []stanio.Var{
		{Name: "N", Value: d.n},
		{Name: "K", Value: d.k},
		{Name: "X", Value: et.designRows(x, order)},
		{Name: "y", Value: y},
	}
	return slices.Concat(vars, d.priorVars(), et.vars(spec), d.boundedVars())
}

// vars lists the CmdStan data in the program's declaration order.
func (d *blmData) vars() []stanio.Var {
	return append([]stanio.Var{
		{Name: "N", Value: d.n},
		{Name: "K", Value: d.k},
		{Name: "R", Value: d.stats.r},
		{Name: "Qty", Value: d.stats.qty},
		{Name: "rss_ls", Value: d.stats.rss},
	}, slices.Concat(d.priorVars(), d.boundedVars())...)
}

// boundedVars lists where and in what units the program samples beta (beta_raw), and
// that it samples: Program.MAPData sets jacobian to 0.
func (d *blmData) boundedVars() []stanio.Var {
	return []stanio.Var{
		{Name: "beta_centre", Value: d.centre},
		{Name: "beta_scale", Value: d.scale},
		{Name: jacobianVar, Value: 1},
	}
}

// priorVars lists the priors, bounds and noise prior, which both programs declare after
// their data.
func (d *blmData) priorVars() []stanio.Var {
	return []stanio.Var{
		{Name: "prior_mean", Value: d.priorMean},
		{Name: "prior_sd", Value: d.priorSD},
		{Name: "lb", Value: d.lb},
		{Name: "ub", Value: d.ub},
		{Name: "prior_family_noise_sd", Value: d.noiseFlag},
		{Name: "noise_sd_prior_a", Value: d.noiseA},
		{Name: "noise_sd_prior_b", Value: d.noiseB},
	}
}

// newBLMData checks spec, standardises the design and maps priors and bounds into the
// scaled space (see the package doc for the maths).
func newBLMData(spec *ingest.Spec) (*blmData, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	pop := mapPopulation(spec)
	d := &blmData{
		n: spec.N, k: len(spec.Terms),
		priorMean: pop.priorMean, priorSD: pop.priorSD, lb: pop.lb, ub: pop.ub,
		noiseFlag: pop.noiseFlag, noiseA: pop.noiseA, noiseB: pop.noiseB,
		params: append(pop.params, pop.noise),
	}
	if spec.Pooling != nil {
		// beta_raw of a pooled term is placed by the pooled prior's marginal.
		pd, err := newPooledData(spec)
		if err != nil {
			return nil, err
		}
		for i, k := range spec.Pooling.Terms {
			d.priorMean[k], d.priorSD[k] = pd.approxPrior(i)
		}
	}
	x, y := standardise(spec)
	d.stats = newSuffStats(x, y)
	var err error
	if d.centre, d.scale, d.sigma2, err = approxPosterior(d.stats, d.n, d.priorMean, d.priorSD); err != nil {
		return nil, err
	}
	return d, nil
}

// population is what both programs share: the population coefficients' priors, bounds
// and back-maps, and the noise prior, in the sampler's space.
type population struct {
	priorMean, priorSD []float64
	lb, ub             []float64
	// params maps beta.k back to term k; noise maps noise_sd back.
	params []Param
	noise  Param
	// noiseFlag, noiseA, noiseB are the program's prior_family_noise_sd and parameters.
	noiseFlag      int
	noiseA, noiseB float64
}

// mapPopulation maps the priors and bounds of a checked spec into the scaled space: a
// coefficient a in original units is (a - Shift)/Scale there, with Shift and Scale from
// coefScale.
func mapPopulation(spec *ingest.Spec) population {
	sc := spec.Scaling
	k := len(spec.Terms)
	d := population{
		priorMean: make([]float64, k), priorSD: make([]float64, k),
		lb: make([]float64, k), ub: make([]float64, k),
		params: make([]Param, 0, k),
		noise:  Param{Column: "noise_sd", Name: "noise_sd", Shift: 0, Scale: sc.YScale},
	}
	for j, term := range spec.Terms {
		p, b := spec.Priors[j], spec.Bounds[j]
		shift, scale := coefScale(spec, j)
		d.priorMean[j] = (p.Mean - shift) / scale
		d.priorSD[j] = p.SD / scale
		d.lb[j] = (b.Lower - shift) / scale // -Inf stays -Inf: shift is finite, scale > 0
		d.ub[j] = (b.Upper - shift) / scale
		d.params = append(d.params, Param{
			Column: fmt.Sprintf("beta.%d", j+1), Name: term.Name, Shift: shift, Scale: scale,
		})
	}

	switch spec.NoiseSD.Family {
	case ingest.NoiseNormal:
		d.noiseFlag = noiseFlagNormal
		d.noiseA = spec.NoiseSD.Mean / sc.YScale
		d.noiseB = spec.NoiseSD.SD / sc.YScale
	case ingest.NoiseLognormalMS:
		mu, sigma := ingest.LognormalMS(spec.NoiseSD.Mean, spec.NoiseSD.SD)
		d.noiseFlag = noiseFlagLognormal
		d.noiseA = mu - math.Log(sc.YScale)
		d.noiseB = sigma
	}
	return d
}

// coefScale returns how term k's coefficient maps between the spaces: original =
// shift + scale·scaled. A group scale or deviation of the term maps by scale alone.
func coefScale(spec *ingest.Spec, k int) (shift, scale float64) {
	sc := spec.Scaling
	if spec.Terms[k].Intercept {
		return sc.YCentre, sc.YScale
	}
	return 0, sc.YScale / sc.XScale[k]
}

// standardise returns the design and response in the sampler's space:
// x*_ik = x_ik/XScale[k], y*_i = (y_i - o_i - YCentre)/YScale.
func standardise(spec *ingest.Spec) (x [][]float64, y []float64) {
	sc := spec.Scaling
	x = make([][]float64, len(spec.X))
	for k, col := range spec.X {
		x[k] = make([]float64, len(col))
		for i, v := range col {
			x[k][i] = v / sc.XScale[k]
		}
	}
	y = make([]float64, spec.N)
	for i, v := range spec.Y {
		if spec.Offset != nil {
			v -= spec.Offset[i]
		}
		y[i] = (v - sc.YCentre) / sc.YScale
	}
	return x, y
}

// checkSpec rejects a Spec the single-market program cannot represent exactly. ingest
// already validates the config; these checks guard the contract between the packages.
func checkSpec(spec *ingest.Spec) error {
	k := len(spec.Terms)
	switch {
	case spec.N < 1:
		return fmt.Errorf("codegen: the model has %d rows; it needs at least 1", spec.N)
	case k == 0:
		return fmt.Errorf("codegen: the model has no terms; add an intercept or a predictor to the formula")
	case len(spec.Y) != spec.N:
		return fmt.Errorf("codegen: spec has %d response values for %d rows", len(spec.Y), spec.N)
	case spec.Offset != nil && len(spec.Offset) != spec.N:
		return fmt.Errorf("codegen: spec has %d offset values for %d rows", len(spec.Offset), spec.N)
	case len(spec.X) != k || len(spec.Priors) != k || len(spec.Bounds) != k || len(spec.Scaling.XScale) != k:
		return fmt.Errorf("codegen: spec has %d terms but %d design columns, %d priors, %d bounds and %d predictor scales",
			k, len(spec.X), len(spec.Priors), len(spec.Bounds), len(spec.Scaling.XScale))
	}
	sc := spec.Scaling
	if !finite(sc.YCentre) || !(sc.YScale > 0) || !finite(sc.YScale) {
		return fmt.Errorf("codegen: response scaling (centre %g, scale %g) must be finite with a positive scale", sc.YCentre, sc.YScale)
	}
	intercepts := 0
	for j, term := range spec.Terms {
		if len(spec.X[j]) != spec.N {
			return fmt.Errorf("codegen: term %q: design column has %d values for %d rows", term.Name, len(spec.X[j]), spec.N)
		}
		if s := sc.XScale[j]; !(s > 0) || !finite(s) {
			return fmt.Errorf("codegen: term %q: predictor scale is %g; it must be positive and finite", term.Name, s)
		}
		if term.Intercept {
			intercepts++
			if sc.XScale[j] != 1 {
				return fmt.Errorf("codegen: term %q: the intercept's predictor scale is %g; it must be 1", term.Name, sc.XScale[j])
			}
		}
		if p := spec.Priors[j]; !finite(p.Mean) || !(p.SD > 0) || !finite(p.SD) {
			return fmt.Errorf("codegen: term %q: prior normal(%g, %g) needs a finite mean and a positive, finite sd", term.Name, p.Mean, p.SD)
		}
		if b := spec.Bounds[j]; math.IsNaN(b.Lower) || math.IsNaN(b.Upper) || !(b.Lower < b.Upper) ||
			math.IsInf(b.Lower, 1) || math.IsInf(b.Upper, -1) {
			return fmt.Errorf("codegen: term %q: bounds [%g, %g] leave no room; the lower bound must be below the upper", term.Name, b.Lower, b.Upper)
		}
	}
	if intercepts > 1 {
		return fmt.Errorf("codegen: the model has %d intercept terms; it may have at most 1", intercepts)
	}
	if intercepts == 0 && sc.YCentre != 0 {
		return fmt.Errorf("codegen: the response is centred (centre %g) but the model has no intercept to absorb it; a model without an intercept must not be centred", sc.YCentre)
	}
	for i, v := range spec.Y {
		if !finite(v) {
			return fmt.Errorf("codegen: %s: response is %g; it must be finite", rowName(spec, i), v)
		}
	}
	for i, v := range spec.Offset {
		if !finite(v) {
			return fmt.Errorf("codegen: %s: offset is %g; it must be finite", rowName(spec, i), v)
		}
	}
	for j, col := range spec.X {
		for i, v := range col {
			if !finite(v) {
				return fmt.Errorf("codegen: %s: term %q is %g; it must be finite", rowName(spec, i), spec.Terms[j].Name, v)
			}
		}
	}
	np := spec.NoiseSD
	switch np.Family {
	case ingest.NoiseNormal:
		if !finite(np.Mean) || !(np.SD > 0) || !finite(np.SD) {
			return fmt.Errorf("codegen: noise_sd prior normal(%g, %g) needs a finite mean and a positive, finite sd", np.Mean, np.SD)
		}
	case ingest.NoiseLognormalMS:
		if !(np.Mean > 0) || !finite(np.Mean) || !(np.SD > 0) || !finite(np.SD) {
			return fmt.Errorf("codegen: noise_sd prior lognormal_ms(%g, %g) needs a positive, finite mean and sd", np.Mean, np.SD)
		}
	default:
		return fmt.Errorf("codegen: noise_sd prior family %q is unknown; use %q or %q", np.Family, ingest.NoiseNormal, ingest.NoiseLognormalMS)
	}
	return nil
}

// rowName names row i for messages: its CSV line when known.
func rowName(spec *ingest.Spec, i int) string {
	if i < len(spec.Lines) {
		return fmt.Sprintf("row %d (line %d)", i+1, spec.Lines[i])
	}
	return fmt.Sprintf("row %d", i+1)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
