package codegen

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"text/template"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// PooledTemplate is the pooled single-market program, as Program.Template names it.
const PooledTemplate = "pooled.stan"

// pooledData is the pooled part of the pooled program's data, in its units: pooling units
// of unit original units (see pooledUnit) for pooled_mean, the scales and the effects.
type pooledData struct {
	p          *ingest.Pooling
	unit       float64
	scale      []float64 // per pooled term: standardised coefficient per pooling unit
	pooled     []int     // 1-based indexes into beta
	other      []int
	levelDim   []int   // per level, 1-based dimension
	level      [][]int // [p][d], 1-based level among all dimensions
	meanPrior  [2]float64
	dimMean    []float64
	dimSD      []float64
	termPrior  [2]float64
	levelNames []string // PooledEffectName of each level, in level order
}

// pooledUnit is the pooled program's unit for pooled_mean and the pooling scales, in
// original units: the geometric mean of the pooled terms' sd(y)/sd(x) maps (coefScale), so
// that a standardised coefficient near 1 is a value near 1 for every pooled term. It keeps
// the sampler's pooled parameters near unit scale whatever the columns' units.
func pooledUnit(spec *ingest.Spec) float64 {
	s := 0.0
	for _, k := range spec.Pooling.Terms {
		_, scale := coefScale(spec, k)
		s += math.Log(scale)
	}
	return math.Exp(s / float64(len(spec.Pooling.Terms)))
}

// newPooledData checks the pooled part of spec and maps it into the program's units.
func newPooledData(spec *ingest.Spec) (*pooledData, error) {
	p := spec.Pooling
	if err := checkPooling(spec); err != nil {
		return nil, err
	}
	pd := &pooledData{p: p, unit: pooledUnit(spec)}
	isPooled := make([]bool, len(spec.Terms))
	for _, k := range p.Terms {
		_, scale := coefScale(spec, k)
		pd.scale = append(pd.scale, pd.unit/scale)
		pd.pooled = append(pd.pooled, k+1)
		isPooled[k] = true
	}
	pd.other = []int{}
	for k := range spec.Terms {
		if !isPooled[k] {
			pd.other = append(pd.other, k+1)
		}
	}
	start := make([]int, len(p.Dims))
	for d, dim := range p.Dims {
		start[d] = len(pd.levelDim)
		for _, l := range dim.Levels {
			pd.levelDim = append(pd.levelDim, d+1)
			pd.levelNames = append(pd.levelNames, ingest.PooledEffectName(dim.Name, l))
		}
	}
	for _, lv := range p.Level {
		row := make([]int, len(lv))
		for d, l := range lv {
			row[d] = start[d] + l + 1
		}
		pd.level = append(pd.level, row)
	}
	u := pd.unit
	pd.meanPrior = [2]float64{p.MeanPrior.Mean / u, p.MeanPrior.SD / u}
	for _, pr := range p.DimSD {
		pd.dimMean = append(pd.dimMean, pr.Mean/u)
		pd.dimSD = append(pd.dimSD, pr.SD/u)
	}
	pd.termPrior = [2]float64{p.TermSD.Mean / u, p.TermSD.SD / u}
	return pd, nil
}

// checkPooling rejects a pooled Spec the program cannot represent. ingest refuses these
// with the config's keys and the map's lines; this guards the contract between packages.
func checkPooling(spec *ingest.Spec) error {
	p := spec.Pooling
	switch {
	case len(spec.Groups) > 0:
		return errors.New("codegen: a pooled model has one market; it cannot have grouping factors")
	case hasEstimatedTransforms(spec):
		return errors.New("codegen: a pooled model cannot estimate media transforms")
	case len(p.Terms) == 0 || len(p.Dims) == 0:
		return fmt.Errorf("codegen: the pooling has %d terms and %d dimensions; it needs at least 1 of each", len(p.Terms), len(p.Dims))
	case len(p.Level) != len(p.Terms) || len(p.DimSD) != len(p.Dims):
		return fmt.Errorf("codegen: the pooling has %d terms but %d level rows, and %d dimensions but %d scale priors", len(p.Terms), len(p.Level), len(p.Dims), len(p.DimSD))
	}
	seen := map[int]bool{}
	for i, k := range p.Terms {
		if k < 0 || k >= len(spec.Terms) || seen[k] || spec.Terms[k].Intercept {
			return fmt.Errorf("codegen: pooled term %d is term %d, which is out of range, repeated or the intercept", i+1, k)
		}
		seen[k] = true
		if len(p.Level[i]) != len(p.Dims) {
			return fmt.Errorf("codegen: pooled term %q has %d levels for %d dimensions", spec.Terms[k].Name, len(p.Level[i]), len(p.Dims))
		}
		for d, l := range p.Level[i] {
			if l < 0 || l >= len(p.Dims[d].Levels) {
				return fmt.Errorf("codegen: pooled term %q has level %d of dimension %q, which has %d", spec.Terms[k].Name, l, p.Dims[d].Name, len(p.Dims[d].Levels))
			}
		}
	}
	okScale := func(pr ingest.Prior) bool { return pr.Mean >= 0 && finite(pr.Mean) && pr.SD > 0 && finite(pr.SD) }
	if pr := p.MeanPrior; !finite(pr.Mean) || !(pr.SD > 0) || !finite(pr.SD) {
		return fmt.Errorf("codegen: prior normal(%g, %g) on %s needs a finite mean and a positive, finite sd", pr.Mean, pr.SD, ingest.PooledMeanName)
	}
	for d, pr := range p.DimSD {
		if !okScale(pr) {
			return fmt.Errorf("codegen: prior half_normal(%g, %g) on %s needs a finite mean ≥ 0 and a positive, finite sd", pr.Mean, pr.SD, ingest.PooledDimSDName(p.Dims[d].Name))
		}
	}
	if !okScale(p.TermSD) {
		return fmt.Errorf("codegen: prior half_normal(%g, %g) on %s needs a finite mean ≥ 0 and a positive, finite sd", p.TermSD.Mean, p.TermSD.SD, ingest.PooledTermSDName)
	}
	return nil
}

// approxPrior returns the marginal prior mean and sd of pooled term i's standardised
// coefficient, bounds ignored: the normal with pooled_mean's mean and the variances of
// pooled_mean, each level effect and sd_term added (a scale's prior counted at its mean
// square). It centres and scales beta_raw as a coefficient's own prior does.
func (pd *pooledData) approxPrior(i int) (mean, sd float64) {
	v := pd.meanPrior[1] * pd.meanPrior[1]
	for d := range pd.dimMean {
		v += pd.dimMean[d]*pd.dimMean[d] + pd.dimSD[d]*pd.dimSD[d]
	}
	v += pd.termPrior[0]*pd.termPrior[0] + pd.termPrior[1]*pd.termPrior[1]
	return pd.scale[i] * pd.meanPrior[0], pd.scale[i] * math.Sqrt(v)
}

// vars lists the pooled data in the program's declaration order (after the noise prior).
func (pd *pooledData) vars() []stanio.Var {
	return []stanio.Var{
		{Name: "P", Value: len(pd.pooled)},
		{Name: "pooled_idx", Value: pd.pooled},
		{Name: "K0", Value: len(pd.other)},
		{Name: "other_idx", Value: pd.other},
		{Name: "D", Value: len(pd.dimSD)},
		{Name: "L", Value: len(pd.levelDim)},
		{Name: "level_dim", Value: pd.levelDim},
		{Name: "level", Value: pd.level},
		{Name: "pooled_scale", Value: pd.scale},
		{Name: "pooled_mean_prior_mean", Value: pd.meanPrior[0]},
		{Name: "pooled_mean_prior_sd", Value: pd.meanPrior[1]},
		{Name: "sd_dim_prior_mean", Value: pd.dimMean},
		{Name: "sd_dim_prior_sd", Value: pd.dimSD},
		{Name: "sd_term_prior_mean", Value: pd.termPrior[0]},
		{Name: "sd_term_prior_sd", Value: pd.termPrior[1]},
	}
}

// params maps the pooled program's own output columns to the names users see, in original
// units: pooled_mean, sd_<dim> per dimension, sd_term, then pooled_effect[<dim>=<level>]
// level by level.
func (pd *pooledData) params() []Param {
	u := pd.unit
	ps := []Param{{Column: "pooled_mean", Name: ingest.PooledMeanName, Scale: u}}
	for d, dim := range pd.p.Dims {
		ps = append(ps, Param{Column: fmt.Sprintf("sd_dim.%d", d+1), Name: ingest.PooledDimSDName(dim.Name), Scale: u})
	}
	ps = append(ps, Param{Column: "sd_term", Name: ingest.PooledTermSDName, Scale: u})
	for l, name := range pd.levelNames {
		ps = append(ps, Param{Column: fmt.Sprintf("pooled_effect.%d", l+1), Name: name, Scale: u})
	}
	return ps
}

// pooledContext is everything pooled.stan.tmpl may use: constants only.
type pooledContext struct {
	Comment         string
	Template        string
	TemplateVersion string
}

// renderPooled renders the pooled program: the single-market program's data (whose pooled
// entries of prior_mean and prior_sd are the pooled prior's marginal, used only to place
// beta_raw) followed by the pooling's.
func renderPooled(t *template.Template, spec *ingest.Spec) (*Program, error) {
	d, err := newBLMData(spec)
	if err != nil {
		return nil, err
	}
	pd, err := newPooledData(spec)
	if err != nil {
		return nil, err
	}
	code, err := execute(t, PooledTemplate, pooledContext{Comment: header, Template: PooledTemplate, TemplateVersion: TemplateVersion})
	if err != nil {
		return nil, err
	}
	data := slices.Concat([]stanio.Var{
		{Name: "N", Value: d.n},
		{Name: "K", Value: d.k},
		{Name: "R", Value: d.stats.r},
		{Name: "Qty", Value: d.stats.qty},
		{Name: "rss_ls", Value: d.stats.rss},
	}, d.priorVars(), pd.vars(), d.boundedVars())
	return &Program{Template: PooledTemplate, Code: code, Data: data,
		Params: slices.Concat(d.params, pd.params()), Metric: "dense_e", AdaptDelta: pooledAdaptDelta}, nil
}

// pooledAdaptDelta is the pooled program's Program.AdaptDelta. The coefficients are
// centred on their pooled means, so where sd_term's posterior reaches down to the
// coefficients' own standard errors they narrow with it (the divergent draws sit at its
// smallest values). On the example (4 chains of 500 + 500, seeds 1, 2, 3, 123) 0.95 left
// 7 to 18 of 2000 transitions divergent, 0.99 left 0 to 3, for about twice the time
// (3 s instead of 1.2 s).
const pooledAdaptDelta = 0.99
