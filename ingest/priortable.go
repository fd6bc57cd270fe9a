package ingest

import (
	"fmt"
	"math"
	"strings"

	"github.com/dsamstan/dsamstan/internal/num"
)

// PriorRow is one parameter's effective prior and bounds, in original units (on the model
// scale: log units for a log(y) response), and where each came from.
type PriorRow struct {
	// Parameter is the name used in outputs and in priors.overrides: a term, noise_sd,
	// sd_<factor index>[term], or an estimated transform parameter (adstock_decay[m_tv],
	// half_saturation[m_tv], hill_shape[m_tv]).
	Parameter string
	// Kind is intercept, coefficient, noise, group_scale, transform or pooled (pooled_mean,
	// sd_<dimension>, sd_term).
	Kind string
	// Family is normal, pooled for a pooled term (Mean and SD are then pooled_mean's), or
	// for a scale (noise_sd, sd_*) half_normal (a normal truncated at
	// 0; Mean is its location) or lognormal_ms (Mean and SD on the natural scale). A
	// transform parameter's is its prior's family with _ms: beta_ms, lognormal_ms or
	// gamma_ms, Mean and SD being the prior's mean and sd on the natural scale (in the
	// column's units); PriorSource gives the prior in its own parameters, beta(2, 2).
	Family   string
	Mean, SD float64
	// Lower and Upper bound the parameter (±Inf: open; scales are ≥ 0 by construction).
	Lower, Upper float64
	// PriorSource and BoundSource say where the prior and the bounds came from: the default
	// rule, in words, or the config key that set them.
	PriorSource, BoundSource string
	// Source classifies the prior's origin: OriginDefault, OriginConfig (priors.noise_sd),
	// OriginOLS, OriginOverride, or OriginRun + priors.from_run as written.
	Source string
}

// Prior kinds of PriorRow.Kind.
const (
	KindIntercept   = "intercept"
	KindCoefficient = "coefficient"
	KindNoise       = "noise"
	KindGroupScale  = "group_scale"
	KindTransform   = "transform"
	KindPooled      = "pooled"
)

// PriorTable lists the effective prior and bounds of every parameter of s, built from c:
// the population terms in design order, noise_sd, a pooled model's pooled_mean, sd_<dim>
// and sd_term, the group scales factor by factor, then
// the estimated transform parameters transform by transform (decay, half_saturation,
// shape).
func (c *Config) PriorTable(s *Spec) []PriorRow {
	override := map[string]string{}
	overrideAt := map[string]PriorOverride{}
	for i, o := range c.Priors.Overrides {
		override[o.Parameter] = fmt.Sprintf("priors.overrides[%d]", i)
		overrideAt[o.Parameter] = o
	}
	bound := map[string]string{}
	for i, o := range c.Boundaries.Overrides {
		bound[o.Parameter] = fmt.Sprintf("boundaries.overrides[%d]", i)
	}
	// source describes a prior of the given origin ("" for a default) set by rule when it
	// is a default.
	source := func(name, origin, rule string) string {
		switch {
		case origin == OriginOverride:
			return override[name]
		case origin == OriginOLS:
			return fmt.Sprintf("priors.from_ols: normal(OLS estimate, OLS standard error × %s)", num.Plain(c.Priors.OLSInflate))
		case strings.HasPrefix(origin, OriginRun):
			return fmt.Sprintf("priors.from_run: posterior of %s, sd × %s", c.fromRunText(), num.Plain(c.Priors.Inflate))
		}
		return rule
	}
	origin := func(o string) string {
		if o == "" {
			return OriginDefault
		}
		return o
	}
	var rows []PriorRow
	pooled := map[int]bool{}
	if s.Pooling != nil {
		for _, k := range s.Pooling.Terms {
			pooled[k] = true
		}
	}
	for k, t := range s.Terms {
		p, b := s.Priors[k], s.Bounds[k]
		if pooled[k] {
			r := PriorRow{Parameter: t.Name, Kind: KindCoefficient, Family: "pooled", Mean: p.Mean, SD: p.SD, Lower: b.Lower, Upper: b.Upper,
				PriorSource: "pooled: normal(pooled_mean + level effects, sd_term) truncated to the bounds; mean and sd shown are pooled_mean's prior",
				BoundSource: "default: unbounded", Source: origin(p.Origin)}
			if src, ok := bound[t.Name]; ok {
				r.BoundSource = src
			}
			rows = append(rows, r)
			continue
		}
		r := PriorRow{Parameter: t.Name, Kind: KindCoefficient, Family: "normal", Mean: p.Mean, SD: p.SD, Lower: b.Lower, Upper: b.Upper,
			PriorSource: source(t.Name, p.Origin, fmt.Sprintf("default: normal(0, %d·sd(y)/sd(x))", defaultPriorSD)),
			BoundSource: "default: unbounded", Source: origin(p.Origin)}
		if t.Intercept {
			r.Kind = KindIntercept
			r.PriorSource = source(t.Name, p.Origin, fmt.Sprintf("default: normal(mean(y), %d·sd(y))", defaultPriorSD))
		}
		if src, ok := bound[t.Name]; ok {
			r.BoundSource = src
		}
		rows = append(rows, r)
	}
	ns := s.NoiseSD
	noise := PriorRow{Parameter: NoiseSDName, Kind: KindNoise, Family: "half_normal", Mean: ns.Mean, SD: ns.SD, Lower: 0, Upper: math.Inf(1),
		PriorSource: source(NoiseSDName, ns.Origin, "default: half_normal(0, sd(y))"), BoundSource: "a scale: ≥ 0", Source: origin(ns.Origin)}
	if ns.Family == NoiseLognormalMS {
		noise.Family = NoiseLognormalMS
	}
	if ns.Origin == OriginConfig {
		noise.PriorSource = "priors.noise_sd"
	}
	rows = append(rows, noise)
	if s.Pooling != nil {
		rows = append(rows, c.pooledPriorRows(s, source, origin)...)
	}
	for _, g := range s.Groups {
		for j, k := range g.Terms {
			name := GroupScaleName(g.Index, s.Terms[k].Name)
			p := g.SDPriors[j]
			scale := "s·sd(y)"
			if !s.Terms[k].Intercept {
				scale = "s·sd(y)/sd(x)"
			}
			rule := fmt.Sprintf("sd_* rule: half_normal(0, %s), s = sd of the %s means of standardised y (2 decimals, at least %g)",
				scale, g.Factor, minGroupScale)
			rows = append(rows, PriorRow{Parameter: name, Kind: KindGroupScale, Family: "half_normal", Mean: p.Mean, SD: p.SD,
				Lower: 0, Upper: math.Inf(1), PriorSource: source(name, p.Origin, rule), BoundSource: "a scale: ≥ 0", Source: origin(p.Origin)})
		}
	}
	for _, t := range s.Transforms {
		for _, tp := range []struct {
			kind  string
			prior *TransformPrior
			rule  string
			upper float64
			bound string
		}{
			{DecayParam, t.DecayPrior, "default: beta(2, 2)", 1, "a decay: in [0, 1)"},
			{HalfSaturationParam, t.HalfSaturationPrior, "default: lognormal(log(median of the positive values of " + t.Column + "), 1)", math.Inf(1), "a half-saturation: > 0"},
			{ShapeParam, t.ShapePrior, "default: lognormal(0, 0.5)", math.Inf(1), "a shape: > 0"},
		} {
			p := tp.prior
			if p == nil {
				continue
			}
			name := TransformParamName(tp.kind, t.Column)
			r := PriorRow{Parameter: name, Kind: KindTransform, Family: p.Family + "_ms", Lower: 0, Upper: tp.upper, BoundSource: tp.bound,
				Source: origin(p.Origin)}
			r.Mean, r.SD = p.Moments()
			switch o, ok := overrideAt[name]; {
			case p.Origin == OriginOverride && ok && o.Mean != nil && o.SD != nil:
				// The numbers the override gives, not their round trip through the prior.
				r.Mean, r.SD = *o.Mean, *o.SD
				r.PriorSource = fmt.Sprintf("%s, as %s", override[name], p)
			case strings.HasPrefix(p.Origin, OriginRun):
				r.PriorSource = fmt.Sprintf("%s, by moments as %s", source(name, p.Origin, ""), p)
			case tp.kind == HalfSaturationParam:
				r.PriorSource = fmt.Sprintf("%s = %s", tp.rule, p)
			default:
				r.PriorSource = tp.rule
			}
			rows = append(rows, r)
		}
	}
	return rows
}
