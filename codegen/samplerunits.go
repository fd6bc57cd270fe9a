package codegen

import (
	"github.com/dsamstan/dsamstan/ingest"
)

// SamplerScales returns how each parameter of spec maps between original units and the
// units the sampler sees, by the name users see (the names of ingest.Config.PriorTable):
// original = Shift + Scale·sampled, as the programs map their priors, bounds and draws.
// A population coefficient maps as coefScale says (the intercept by the response's centre
// and scale, a slope by sd(y)/sd(x)), noise_sd by the response's scale, a group scale
// sd_<k>[term] by its term's scale alone, an estimated half_saturation by its column's raw
// scale (the median positive raw value), and an estimated decay or shape not at all. With
// model.scale false the map is the identity but for half_saturation.
func SamplerScales(spec *ingest.Spec) map[string]Param {
	out := map[string]Param{}
	pop := mapPopulation(spec)
	for _, p := range pop.params {
		out[p.Name] = p
	}
	out[pop.noise.Name] = pop.noise
	for _, g := range spec.Groups {
		for _, k := range g.Terms {
			_, scale := coefScale(spec, k)
			name := ingest.GroupScaleName(g.Index, spec.Terms[k].Name)
			out[name] = Param{Name: name, Scale: scale}
		}
	}
	if spec.Pooling != nil {
		u := pooledUnit(spec)
		names := []string{ingest.PooledMeanName, ingest.PooledTermSDName}
		for _, d := range spec.Pooling.Dims {
			names = append(names, ingest.PooledDimSDName(d.Name))
		}
		for _, name := range names {
			out[name] = Param{Name: name, Scale: u}
		}
	}
	for _, tr := range spec.Transforms {
		add := func(kind string, prior *ingest.TransformPrior, scale float64) {
			if prior != nil {
				name := ingest.TransformParamName(kind, tr.Column)
				out[name] = Param{Name: name, Scale: scale}
			}
		}
		add(ingest.DecayParam, tr.DecayPrior, 1)
		add(ingest.HalfSaturationParam, tr.HalfSaturationPrior, rawScale(tr.Raw))
		add(ingest.ShapeParam, tr.ShapePrior, 1)
	}
	return out
}

// Scaled maps a value in original units into the sampler's units: (v − Shift)/Scale. An
// infinite bound stays infinite.
func (p Param) Scaled(v float64) float64 { return (v - p.Shift) / p.Scale }
