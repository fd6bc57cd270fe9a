package ingest

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/internal/strictyaml"
)

// transformFamilies lists the prior families priors.overrides allows for each kind of
// transform parameter, the default first.
var transformFamilies = map[string][]string{
	DecayParam:          {PriorBeta},
	HalfSaturationParam: {PriorLognormal, PriorGamma},
	ShapeParam:          {PriorLognormal, PriorGamma},
}

// knownFamilies are every prior family the config knows, for telling a family that makes no
// sense for a parameter from an unknown one.
var knownFamilies = []string{"normal", "half_normal", NoiseLognormalMS, PriorBeta, PriorLognormal, PriorGamma}

// parseTransformParam splits a transform parameter name such as adstock_decay[m_tv] into
// its kind (DecayParam, HalfSaturationParam or ShapeParam) and column.
func parseTransformParam(name string) (kind, column string, ok bool) {
	i := strings.IndexByte(name, '[')
	if i < 0 || !strings.HasSuffix(name, "]") || i+2 > len(name)-1 {
		return "", "", false
	}
	kind, column = name[:i], name[i+1:len(name)-1]
	if _, ok := transformFamilies[kind]; !ok {
		return "", "", false
	}
	return kind, column, true
}

// EstimatedTransformParams returns the names of the transform parameters the model
// estimates for formula f, term by term: adstock_decay[m_tv], half_saturation[m_tv],
// hill_shape[m_tv].
func (c *Config) EstimatedTransformParams(f *Formula) []string {
	var names []string
	for _, term := range f.Terms {
		ct, ok := c.Transforms.Columns[term]
		if !ok {
			continue
		}
		decay, half, shape := ct.estimated()
		for _, p := range []struct {
			on   bool
			kind string
		}{{decay, DecayParam}, {half, HalfSaturationParam}, {shape, ShapeParam}} {
			if p.on {
				names = append(names, TransformParamName(p.kind, term))
			}
		}
	}
	return names
}

// transformParamState says why the transform parameter kind of column takes no prior (it
// is fixed, or there is no such transform), or returns "" when the model estimates it.
func (c *Config) transformParamState(kind, column string) string {
	ct, ok := c.Transforms.Columns[column]
	if !ok {
		return fmt.Sprintf("but the transforms section has no entry for %s; a transform parameter takes a prior only when the transforms section estimates it (estimate)", show(column))
	}
	base := "transforms." + column
	var key string
	var pv *ParamValue
	switch kind {
	case DecayParam:
		if a := ct.Adstock; a == nil || a.Type != AdstockGeometric {
			return fmt.Sprintf("but %s has no geometric adstock", strictyaml.Label(base))
		}
		key, pv = base+".adstock.decay", ct.Adstock.Decay
	default:
		if s := ct.Saturation; s == nil || s.Type != SaturationHill {
			return fmt.Sprintf("but %s has no Hill saturation", strictyaml.Label(base))
		}
		key, pv = base+".saturation.shape", ct.Saturation.Shape
		if kind == HalfSaturationParam {
			key, pv = base+".saturation.half_saturation", ct.Saturation.HalfSaturation
		}
	}
	if pv == nil {
		return fmt.Sprintf("but %s is not set", strictyaml.Label(key))
	}
	if !pv.Estimate {
		return fmt.Sprintf("but %s fixes it at %s; a prior applies only to an estimated parameter (set it to estimate)", strictyaml.Label(key), num.Plain(pv.Value))
	}
	return ""
}

// validateTransformOverride checks the override o, item of priors.overrides, of the
// transform parameter kind of column: the model must estimate it, once, and its family,
// mean and sd must make a prior for it. covered records the parameters given so far.
func (c *Config) validateTransformOverride(v *validator, item string, o PriorOverride, kind, column string, covered map[string]bool) {
	name := o.Parameter
	switch {
	case c.transformsDropped || slices.Contains(c.Transforms.failed, column):
		// The transforms section has problems of its own, reported already.
	case c.transformParamState(kind, column) != "":
		v.add(item+".parameter", "`%s.parameter` is %q, %s", item, name, c.transformParamState(kind, column))
	case covered[name]:
		v.add(item, "%s repeats an earlier override; give each parameter once", itemLabel(item, name))
	}
	covered[name] = true

	fams := transformFamilies[kind]
	why := "a decay lies in [0, 1), so its prior is a beta"
	if kind != DecayParam {
		why = "it is > 0, so its prior is a lognormal or a gamma"
	}
	family := o.Family
	if family == "" { // a config built in code; ParseConfig fills the default
		family = fams[0]
	}
	beta := family == PriorBeta
	switch {
	case slices.Contains(fams, family):
	case slices.Contains(knownFamilies, family):
		v.add(item+".family", "`%s.family` is %q, which makes no sense for %s: %s; use %s", item, family, name, why, strings.Join(fams, " or "))
		beta = false
	default:
		v.add(item+".family", "`%s.family` is %q; must be %s for %s (%s)", item, family, strings.Join(fams, " or "), name, why)
		beta = false
	}

	m, s := o.Mean, o.SD
	switch {
	case m == nil:
		v.add(item, "%s has no `mean`", itemLabel(item, name))
	case !isFinite(*m) || !(*m > 0):
		v.add(item+".mean", "`%s.mean` is %s; must be a finite number > 0 (the prior mean of %s, in natural units)", item, num.Plain(*m), name)
		m = nil
	case kind == DecayParam && *m >= 1:
		v.add(item+".mean", "`%s.mean` is %s; the mean of a decay's beta prior must be in (0, 1)", item, num.Plain(*m))
		m = nil
	}
	switch {
	case s == nil:
		v.add(item, "%s has no `sd`", itemLabel(item, name))
	case !(*s > 0) || math.IsInf(*s, 1):
		v.add(item+".sd", "`%s.sd` is %s; must be > 0 and finite", item, num.Plain(*s))
	case beta && m != nil && *s**s >= *m*(1-*m):
		v.add(item+".sd", "`%s.sd` is %s; a beta prior with mean %s needs an sd below √(m(1−m)) = %s", item, num.Plain(*s), num.Plain(*m), num.Short(math.Sqrt(*m*(1-*m))))
	}
}

// noiseFamilyHint points a non-normal family on a noise_sd override to priors.noise_sd.
func noiseFamilyHint(param string) string {
	if param == NoiseSDName {
		return "; for a lognormal_ms prior on noise_sd use `priors.noise_sd`"
	}
	return ""
}
