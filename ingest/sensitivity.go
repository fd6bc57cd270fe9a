package ingest

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/internal/strictyaml"
)

// MaxSensitivityScenarios is the most scenarios transforms.sensitivity may make.
const MaxSensitivityScenarios = 64

// SensitivityAxis is one entry of transforms.sensitivity, `<column>.<param>: [values]`: the
// values to try for a fixed transform parameter.
type SensitivityAxis struct {
	// Column is the transformed column.
	Column string
	// Param is decay, half_saturation or shape.
	Param string
	// Values are the values to try, in file order.
	Values []float64
}

// Key is the axis as the config writes it: m_search.decay.
func (a SensitivityAxis) Key() string { return a.Column + "." + a.Param }

// sensitivityParams maps the parameter names of transforms.sensitivity keys to the kind of
// transform parameter.
var sensitivityParams = map[string]string{"decay": DecayParam, "half_saturation": HalfSaturationParam, "shape": ShapeParam}

// splitSensitivityKey splits m_search.decay into its column and parameter; a column name
// may hold dots, so the parameter is after the last one.
func splitSensitivityKey(key string) (column, param string, ok bool) {
	i := strings.LastIndexByte(key, '.')
	if i <= 0 {
		return "", "", false
	}
	column, param = key[:i], key[i+1:]
	_, ok = sensitivityParams[param]
	return column, param, ok
}

// decodeSensitivity decodes transforms.sensitivity at path: a mapping of
// `<column>.<param>` keys to lists of numbers. What the keys name is checked by Validate.
func decodeSensitivity(d *strictyaml.Decoder, path string, n ast.Node) []SensitivityAxis {
	if n == nil || n.Type() == ast.NullType || !d.Mapping(path, n) {
		return nil
	}
	axes := []SensitivityAxis{}
	seen := map[string]bool{}
	for _, e := range d.Entries(path, n) {
		name, child := e.Name, e.Path
		column, param, ok := splitSensitivityKey(name)
		switch {
		case !ok:
			d.Add(e.Key, child, "%s: a sensitivity key is `<column>.<parameter>` with the parameter decay, half_saturation or shape, e.g. m_tv.decay", strictyaml.Label(child))
			continue
		case seen[name]:
			d.Add(e.Key, child, "%s repeats an earlier key; list each parameter's values once", strictyaml.Label(child))
			continue
		}
		seen[name] = true
		var values []float64
		d.Decode(child, e.Value, &values)
		axes = append(axes, SensitivityAxis{Column: column, Param: param, Values: values})
	}
	return axes
}

// validateSensitivity checks transforms.sensitivity against the columns' transforms: each
// key must name a fixed parameter of a transform the config has, with values in range, and
// the scenarios must number at most MaxSensitivityScenarios.
func (c *Config) validateSensitivity(v *validator) {
	const section = "transforms." + sensitivityKey
	if c.Transforms.Sensitivity == nil {
		return
	}
	if len(c.Transforms.Sensitivity) == 0 {
		v.add(section, "`%s` is empty; list `<column>.<parameter>: [values]` entries, or remove it", section)
		return
	}
	if m := c.Fit.Method; m == "optimise" || m == "optimize" {
		v.add(section, "`%s` ranks its scenarios by PSIS-LOO, which needs posterior draws; set `fit.method: mcmc` (it is %s) or remove the section", section, m)
	}
	total, sizes := 1, make([]string, 0, len(c.Transforms.Sensitivity))
	for _, a := range c.Transforms.Sensitivity {
		key := section + "." + a.Key()
		label := strictyaml.Label(key)
		total = min(total*max(len(a.Values), 1), MaxSensitivityScenarios+1) // capped: no overflow
		sizes = append(sizes, fmt.Sprint(len(a.Values)))
		if slices.Contains(c.Transforms.failed, a.Column) {
			continue // its problems are reported already
		}
		if msg := c.sensitivityTarget(a.Column, a.Param); msg != "" {
			v.add(key, "%s: %s", label, msg)
			continue
		}
		if len(a.Values) == 0 {
			v.add(key, "%s is an empty list; give at least one value to try", label)
			continue
		}
		for i, x := range a.Values {
			ik := fmt.Sprintf("%s[%d]", key, i)
			if msg := checkParam(sensitivityParams[a.Param], x); msg != "" {
				v.add(ik, "%s is %s; %s", strictyaml.Label(ik), num.Plain(x), msg)
			} else if slices.Contains(a.Values[:i], x) {
				v.add(ik, "%s repeats %s; give each value once", strictyaml.Label(ik), num.Plain(x))
			}
		}
	}
	if total > MaxSensitivityScenarios {
		v.add(section, "`%s` makes %s scenarios (every combination of %s values); at most %d are allowed",
			section, showProduct(c.Transforms.Sensitivity), strings.Join(sizes, " × "), MaxSensitivityScenarios)
	}
}

// showProduct is the number of scenarios the axes make, or "more than 1000000".
func showProduct(axes []SensitivityAxis) string {
	n := 1
	for _, a := range axes {
		n *= max(len(a.Values), 1)
		if n > 1_000_000 {
			return "more than 1000000"
		}
	}
	return fmt.Sprint(n)
}

// sensitivityTarget says why param of column's transforms is not a fixed parameter that
// sensitivity scenarios may vary, or returns "" when it is one.
func (c *Config) sensitivityTarget(column, param string) string {
	ct, ok := c.Transforms.Columns[column]
	if !ok {
		names := sortedNames(c.Transforms.Columns)
		if len(names) == 0 {
			return fmt.Sprintf("%s has no transforms; the transforms section sets none", show(column))
		}
		return fmt.Sprintf("%s has no transforms (transformed columns: %s)", show(column), showList(names))
	}
	base := "transforms." + column
	var pk string
	var pv *ParamValue
	switch param {
	case "decay":
		if a := ct.Adstock; a == nil || a.Type != AdstockGeometric {
			return fmt.Sprintf("%s has no geometric adstock, so no decay to vary", strictyaml.Label(base))
		}
		pk, pv = base+".adstock.decay", ct.Adstock.Decay
	default:
		if s := ct.Saturation; s == nil || s.Type != SaturationHill {
			return fmt.Sprintf("%s has no Hill saturation, so no %s to vary", strictyaml.Label(base), param)
		}
		pk, pv = base+".saturation."+param, ct.Saturation.Shape
		if param == "half_saturation" {
			pv = ct.Saturation.HalfSaturation
		}
	}
	if pv == nil {
		return fmt.Sprintf("%s is not set", strictyaml.Label(pk))
	}
	if pv.Estimate {
		return fmt.Sprintf("%s is estimate; sensitivity scenarios vary a fixed value (fix it at a number, or leave it out of sensitivity)", strictyaml.Label(pk))
	}
	return ""
}

// SensitivityScenario is one combination of the values of transforms.sensitivity.
type SensitivityScenario struct {
	// Name lists the values in the order of the section, e.g.
	// "m_search.decay=0.3,m_tv.shape=1".
	Name string
	// Values maps each `<column>.<param>` key to its value in this scenario.
	Values map[string]float64
}

// SensitivityScenarios returns every combination of the values of transforms.sensitivity,
// the first key varying slowest; nil when the config has no scenarios. Fit each with the
// config WithScenario returns.
func (c *Config) SensitivityScenarios() []SensitivityScenario {
	axes := c.Transforms.Sensitivity
	if len(axes) == 0 {
		return nil
	}
	out := []SensitivityScenario{{Values: map[string]float64{}}}
	for _, a := range axes {
		next := make([]SensitivityScenario, 0, len(out)*len(a.Values))
		for _, s := range out {
			for _, x := range a.Values {
				vals := maps.Clone(s.Values)
				vals[a.Key()] = x
				name := a.Key() + "=" + num.Plain(x)
				if s.Name != "" {
					name = s.Name + "," + name
				}
				next = append(next, SensitivityScenario{Name: name, Values: vals})
			}
		}
		out = next
	}
	return out
}

// WithScenario returns a deep copy of c with the values of scenario s fixed in its
// transforms and no sensitivity section, so that the scenario fits as an ordinary
// fixed-transform run. Each key of s must name a fixed parameter of c's transforms (as
// transforms.sensitivity may), and each value must be in range.
func (c *Config) WithScenario(s SensitivityScenario) (*Config, error) {
	out := c.clone()
	out.Transforms.Sensitivity = nil
	for _, key := range slices.Sorted(maps.Keys(s.Values)) {
		x := s.Values[key]
		column, param, ok := splitSensitivityKey(key)
		if !ok {
			return nil, fmt.Errorf("ingest: scenario %q: %q is not `<column>.<parameter>` with the parameter decay, half_saturation or shape", s.Name, key)
		}
		if msg := c.sensitivityTarget(column, param); msg != "" {
			return nil, fmt.Errorf("ingest: scenario %q: %s: %s", s.Name, key, msg)
		}
		if msg := checkParam(sensitivityParams[param], x); msg != "" {
			return nil, fmt.Errorf("ingest: scenario %q: %s is %s; %s", s.Name, key, num.Plain(x), msg)
		}
		ct := out.Transforms.Columns[column]
		switch param {
		case "decay":
			ct.Adstock.Decay = &ParamValue{Value: x}
		case "half_saturation":
			ct.Saturation.HalfSaturation = &ParamValue{Value: x}
		default:
			ct.Saturation.Shape = &ParamValue{Value: x}
		}
	}
	return out, nil
}

// clone returns a deep copy of c. Only the allocation section's record of key positions,
// which nothing changes after parsing, is shared.
func (c *Config) clone() *Config {
	out := *c
	out.CRE.Vars = slices.Clone(c.CRE.Vars)
	out.Model.RandomEffects.Correlated = clonePtr(c.Model.RandomEffects.Correlated)
	if c.Priors.Overrides != nil {
		out.Priors.Overrides = make([]PriorOverride, len(c.Priors.Overrides))
		for i, o := range c.Priors.Overrides {
			o.Mean, o.SD = clonePtr(o.Mean), clonePtr(o.SD)
			out.Priors.Overrides[i] = o
		}
	}
	if ns := c.Priors.NoiseSD; ns != nil {
		n := *ns
		n.Mean, n.SD = clonePtr(ns.Mean), clonePtr(ns.SD)
		out.Priors.NoiseSD = &n
	}
	out.Boundaries.Overrides = slices.Clone(c.Boundaries.Overrides)
	d := &out.Diagnostics
	d.Identifiability, d.ModelSelection, d.TimeSeriesSelection = clonePtr(d.Identifiability), clonePtr(d.ModelSelection), clonePtr(d.TimeSeriesSelection)
	o := &out.Outputs
	o.SaveSessionInfoTxt, o.SaveTransformAssumptionsTxt = clonePtr(o.SaveSessionInfoTxt), clonePtr(o.SaveTransformAssumptionsTxt)
	out.Transforms = c.Transforms.clone()
	if a := c.Allocation; a != nil {
		sc := *a
		sc.Channels = slices.Clone(a.Channels)
		sc.ReferenceSpend = maps.Clone(a.ReferenceSpend)
		out.Allocation = &sc
	}
	out.Pooling, out.Forecast, out.Security = clonePtr(c.Pooling), clonePtr(c.Forecast), clonePtr(c.Security)
	if tc := c.TimeComponents; tc != nil {
		t := *tc
		t.Holidays.AddToFormula = clonePtr(tc.Holidays.AddToFormula)
		out.TimeComponents = &t
	}
	out.Raw = bytes.Clone(c.Raw)
	out.pos = maps.Clone(c.pos)
	if c.allocation != nil {
		out.allocation = cloneAny(c.allocation).(map[string]any)
	}
	return &out
}

// clone returns a deep copy of t.
func (t Transforms) clone() Transforms {
	out := Transforms{failed: slices.Clone(t.failed)}
	if t.Columns != nil {
		out.Columns = make(map[string]ColumnTransform, len(t.Columns))
		for name, ct := range t.Columns {
			out.Columns[name] = ct.clone()
		}
	}
	if t.Sensitivity != nil {
		out.Sensitivity = make([]SensitivityAxis, len(t.Sensitivity))
		for i, a := range t.Sensitivity {
			a.Values = slices.Clone(a.Values)
			out.Sensitivity[i] = a
		}
	}
	return out
}

// clonePtr returns a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cloneAny deeply copies a value decoded from YAML into any: maps, lists and scalars.
func cloneAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneAny(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneAny(e)
		}
		return s
	}
	return v
}
