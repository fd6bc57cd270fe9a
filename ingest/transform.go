package ingest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/internal/strictyaml"
)

// Transform types accepted in the transforms section.
const (
	AdstockGeometric = "geometric"
	SaturationHill   = "hill"
	TransformNone    = "none"
)

// DefaultMaxLag is the adstock max_lag when the config does not set it.
const DefaultMaxLag = 8

// Transforms is the transforms section: the media transforms of formula terms by column,
// and the fixed-value sensitivity scenarios.
type Transforms struct {
	// Columns are the transforms of each column, by column name.
	Columns map[string]ColumnTransform
	// Sensitivity lists the values to try for fixed transform parameters, in file order
	// (see Config.SensitivityScenarios); nil without transforms.sensitivity.
	Sensitivity []SensitivityAxis

	failed []string // columns whose entry had problems and was left out
}

// IsZero reports whether the section is empty, so that ResolvedYAML leaves it out.
func (t Transforms) IsZero() bool { return len(t.Columns) == 0 && len(t.Sensitivity) == 0 }

// MarshalYAML writes the columns in name order, then sensitivity in file order.
func (t Transforms) MarshalYAML() (any, error) {
	var out yaml.MapSlice
	for _, name := range sortedNames(t.Columns) {
		out = append(out, yaml.MapItem{Key: name, Value: t.Columns[name]})
	}
	if len(t.Sensitivity) > 0 {
		var s yaml.MapSlice
		for _, a := range t.Sensitivity {
			s = append(s, yaml.MapItem{Key: a.Key(), Value: a.Values})
		}
		out = append(out, yaml.MapItem{Key: sensitivityKey, Value: s})
	}
	return out, nil
}

// sensitivityKey is the key of the sensitivity scenarios in the transforms section.
const sensitivityKey = "sensitivity"

// ColumnTransform is one column's transforms, applied in order: adstock, then saturation.
type ColumnTransform struct {
	Adstock    *AdstockConfig    `yaml:"adstock,omitempty"`
	Saturation *SaturationConfig `yaml:"saturation,omitempty"`
}

// clone returns a copy of ct that shares no pointer with it.
func (ct ColumnTransform) clone() ColumnTransform {
	if a := ct.Adstock; a != nil {
		c := *a
		c.Decay, c.MaxLag = clonePtr(a.Decay), clonePtr(a.MaxLag)
		ct.Adstock = &c
	}
	if s := ct.Saturation; s != nil {
		c := *s
		c.HalfSaturation, c.Shape = clonePtr(s.HalfSaturation), clonePtr(s.Shape)
		ct.Saturation = &c
	}
	return ct
}

// AdstockConfig is a column's carry-over: geometric (normalised, see Transform) or none.
type AdstockConfig struct {
	Type  string      `yaml:"type"`
	Decay *ParamValue `yaml:"decay,omitempty"`
	// MaxLag is the number of earlier rows that carry over (default DefaultMaxLag).
	MaxLag *int `yaml:"max_lag,omitempty"`
}

// SaturationConfig is a column's diminishing returns: hill or none.
type SaturationConfig struct {
	Type           string      `yaml:"type"`
	HalfSaturation *ParamValue `yaml:"half_saturation,omitempty"`
	Shape          *ParamValue `yaml:"shape,omitempty"`
}

// Estimate is the config value that makes the model sample a transform parameter.
const Estimate = "estimate"

// ParamValue is a transform parameter as the config sets it: a number that fixes it, or
// estimate, which makes the model sample it under its prior (see TransformPrior).
type ParamValue struct {
	// Value is the fixed value; unused when Estimate is true.
	Value float64
	// Estimate is true for the value estimate.
	Estimate bool
}

// UnmarshalStrictYAML decodes a number or estimate (in any case).
func (x *ParamValue) UnmarshalStrictYAML(d *strictyaml.Decoder, path string, n ast.Node) {
	if s, ok := n.(*ast.StringNode); ok {
		v := strings.TrimSpace(s.Value)
		if strings.EqualFold(v, Estimate) {
			*x = ParamValue{Estimate: true}
			return
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			if _, inf := strictyaml.ParseInf(v); !inf {
				d.Add(n, path, "%s is %q; must be a number, or estimate to sample it", strictyaml.Label(path), s.Value)
				return
			}
		}
	}
	*x = ParamValue{}
	d.Decode(path, n, &x.Value)
}

// MarshalYAML writes the number, or estimate.
func (x ParamValue) MarshalYAML() (any, error) {
	if x.Estimate {
		return Estimate, nil
	}
	return x.Value, nil
}

// String is the value as the config writes it.
func (x ParamValue) String() string {
	if x.Estimate {
		return Estimate
	}
	return num.Plain(x.Value)
}

// UnmarshalStrictYAML decodes the section: column names as keys, and sensitivity (see
// SensitivityAxis).
func (t *Transforms) UnmarshalStrictYAML(d *strictyaml.Decoder, path string, n ast.Node) {
	if !d.Mapping(path, n) {
		return
	}
	out := Transforms{Columns: map[string]ColumnTransform{}}
	for _, e := range d.Entries(path, n) {
		name, child := e.Name, e.Path
		if name == sensitivityKey {
			out.Sensitivity = decodeSensitivity(d, child, e.Value)
			continue
		}
		var ct ColumnTransform
		before := d.Count()
		d.Decode(child, e.Value, &ct)
		if d.Count() == before {
			// Checked here too, so that a bad value in one column is reported with the
			// problems of the others (any problem drops the section from Validate's checks).
			ct.check(child, d.AddKey)
		}
		if d.Count() == before {
			out.Columns[name] = ct
		} else {
			out.failed = append(out.failed, name)
		}
	}
	*t = out
}

// Transform is the transform of one term's column, resolved from the config:
//
//	adstock (geometric):  a_t = Σ_{l=0..L} w_l x_{t−l},  w_l = decay^l / Σ_{j=0..L} decay^j
//	saturation (hill):    h(a) = a^shape / (a^shape + half_saturation^shape)
//
// applied in that order, the adstock within each series (the rows that share every grouping
// column), rows before a series' first counting as zero.
type Transform struct {
	// Column is the term's column.
	Column string
	// Adstock is true for geometric adstock with Decay and MaxLag.
	Adstock bool
	Decay   float64
	MaxLag  int
	// Hill is true for Hill saturation with HalfSaturation (in the column's units) and Shape.
	Hill                  bool
	HalfSaturation, Shape float64
	// DecayPrior, HalfSaturationPrior and ShapePrior are set for the parameters the model
	// estimates (transforms.<column>…: estimate) and nil for fixed ones. An estimated
	// parameter's value field holds its prior's centre (TransformPrior.Centre): Spec.X holds
	// the column transformed at those centres, which sets the predictor's scale and feeds the
	// pre-run checks; the sampler replaces it in every draw.
	DecayPrior, HalfSaturationPrior, ShapePrior *TransformPrior
	// Raw is the term's untransformed column in row order (length Spec.N); with
	// Spec.Series it is what the program and every per-draw output transform.
	Raw []float64
}

// Estimated reports whether the model samples any of t's parameters.
func (t Transform) Estimated() bool {
	return t.DecayPrior != nil || t.HalfSaturationPrior != nil || t.ShapePrior != nil
}

// With returns t with its parameter values replaced (one posterior draw): decay, half
// saturation and shape, each used only where t has that transform.
func (t Transform) With(decay, halfSaturation, shape float64) Transform {
	if t.Adstock {
		t.Decay = decay
	}
	if t.Hill {
		t.HalfSaturation, t.Shape = halfSaturation, shape
	}
	return t
}

// Names of the transform parameters in every output (summary, draws, priors.overrides,
// report): adstock_decay[m_tv], half_saturation[m_tv], hill_shape[m_tv].
const (
	DecayParam          = "adstock_decay"
	HalfSaturationParam = "half_saturation"
	ShapeParam          = "hill_shape"
)

// TransformParamName is the name users see for transform parameter kind (DecayParam,
// HalfSaturationParam or ShapeParam) of column.
func TransformParamName(kind, column string) string { return kind + "[" + column + "]" }

// Transform prior families.
const (
	PriorBeta      = "beta"      // beta(A, B): decay
	PriorLognormal = "lognormal" // lognormal(meanlog A, sdlog B), in the column's units
	PriorGamma     = "gamma"     // gamma(shape A, rate B), in the column's units
)

// TransformPrior is the prior of one estimated transform parameter, in original units.
// Defaults: decay beta(2, 2); hill_shape lognormal(0, 0.5); half_saturation
// lognormal(log(median positive value of the column), 1).
type TransformPrior struct {
	Family string
	A, B   float64
	// Default is true when the prior came from the defaults, not from priors.overrides.
	Default bool
	// Origin says where a prior that is not Default came from: OriginOverride or
	// OriginRun + the folder.
	Origin string
}

// Centre is the prior's median (beta and gamma: their mean), the value at which Spec.X
// holds an estimated transform.
func (p TransformPrior) Centre() float64 {
	switch p.Family {
	case PriorBeta:
		return p.A / (p.A + p.B)
	case PriorLognormal:
		return math.Exp(p.A)
	case PriorGamma:
		return p.A / p.B
	}
	return math.NaN()
}

// Moments returns the prior's mean and standard deviation on the natural scale (in the
// column's units): beta a/(a+b) and √(ab/((a+b)²(a+b+1))); lognormal exp(μ+σ²/2) and
// mean·√(exp(σ²)−1); gamma a/b and √a/b.
func (p TransformPrior) Moments() (mean, sd float64) {
	a, b := p.A, p.B
	switch p.Family {
	case PriorBeta:
		return a / (a + b), math.Sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)))
	case PriorLognormal:
		m := math.Exp(a + b*b/2)
		return m, m * math.Sqrt(math.Expm1(b*b))
	case PriorGamma:
		return a / b, math.Sqrt(a) / b
	}
	return math.NaN(), math.NaN()
}

// String writes the prior as Stan does, e.g. beta(2, 2) or lognormal(0, 0.5), with at most
// four significant digits.
func (p TransformPrior) String() string {
	return fmt.Sprintf("%s(%s, %s)", p.Family, num.Short(p.A), num.Short(p.B))
}

// momentPrior returns the prior of family (beta, lognormal or gamma) whose mean is m and
// whose sd is s on the natural scale, by moment matching:
//
//	beta:      a = m·k, b = (1−m)·k, k = m(1−m)/s² − 1   (needs 0 < m < 1, s² < m(1−m))
//	lognormal: meanlog = ln m − ½·ln(1 + s²/m²), sdlog = √ln(1 + s²/m²)
//	gamma:     shape m²/s², rate m/s²
//
// m and s must be > 0; Validate checks them.
func momentPrior(family string, m, s float64) TransformPrior {
	p := TransformPrior{Family: family}
	switch family {
	case PriorBeta:
		k := m*(1-m)/(s*s) - 1
		p.A, p.B = m*k, (1-m)*k
	case PriorLognormal:
		p.A, p.B = LognormalMS(m, s)
	case PriorGamma:
		p.A, p.B = m*m/(s*s), m/(s*s)
	}
	return p
}

// LognormalMS converts the natural-scale mean m and sd s of a lognormal (DSAMbayes's
// lognormal_ms(m, s)) into its log-space location and scale by moment matching:
// mu = ln(m²/√(m²+s²)), sigma = √(ln(1+s²/m²)). It needs m > 0 and s > 0.
func LognormalMS(m, s float64) (mu, sigma float64) {
	v := (s / m) * (s / m)
	sigma = math.Sqrt(math.Log1p(v))
	mu = math.Log(m) - 0.5*math.Log1p(v) // = ln(m²/√(m²+s²)), without overflow in m²
	return mu, sigma
}

// AdstockWeights returns the normalised geometric weights w_0 … w_L, which sum to 1.
func AdstockWeights(decay float64, maxLag int) []float64 {
	return adstockWeights(decay, maxLag, maxLag)
}

// adstockWeights returns w_0 … w_n of the weights for max_lag L (n ≤ L), so that a large
// max_lag costs no more than the longest series.
func adstockWeights(decay float64, maxLag, n int) []float64 {
	// Σ_{j=0..L} decay^j in closed form (decay < 1; 0^0 = 1).
	sum := 1.0
	if decay > 0 {
		sum = (1 - math.Pow(decay, float64(maxLag)+1)) / (1 - decay)
	}
	w := make([]float64, n+1)
	p := 1.0
	for l := range w {
		w[l] = p / sum
		p *= decay
	}
	return w
}

// HillValue returns a^shape / (a^shape + half^shape); 0 for a ≤ 0.
func HillValue(a, half, shape float64) float64 {
	if a <= 0 {
		return 0
	}
	// (half/a)^shape avoids overflow of a^shape for large a.
	return 1 / (1 + math.Pow(half/a, shape))
}

// Apply returns the transformed column: x is in row order and each series lists its rows in
// date order.
func (t Transform) Apply(x []float64, series [][]int) []float64 {
	out := slices.Clone(x)
	if t.Adstock {
		longest := 0
		for _, rows := range series {
			longest = max(longest, len(rows))
		}
		w := adstockWeights(t.Decay, t.MaxLag, min(t.MaxLag, max(longest-1, 0)))
		for _, rows := range series {
			for p, i := range rows {
				a := 0.0
				for l := 0; l < len(w) && l <= p; l++ {
					a += w[l] * x[rows[p-l]]
				}
				out[i] = a
			}
		}
	}
	if t.Hill {
		for i, a := range out {
			out[i] = HillValue(a, t.HalfSaturation, t.Shape)
		}
	}
	return out
}

// Describe says in words what the transform does, for transform_assumptions.txt.
func (t Transform) Describe() string {
	var parts []string
	if t.Adstock {
		parts = append(parts, fmt.Sprintf("geometric adstock, decay %s, max_lag %d (normalised weights: constant spend gives the same adstocked value; carry-over within each series only)",
			describeParam(t.Decay, t.DecayPrior), t.MaxLag))
	} else {
		parts = append(parts, "no adstock")
	}
	if t.Hill {
		parts = append(parts, fmt.Sprintf("then Hill saturation, half_saturation %s (in %s's units), shape %s",
			describeParam(t.HalfSaturation, t.HalfSaturationPrior), t.Column, describeParam(t.Shape, t.ShapePrior)))
	} else {
		parts = append(parts, "no saturation")
	}
	return strings.Join(parts, "; ")
}

// describeParam is a parameter's value, or "estimated, prior …" when the model samples it.
func describeParam(v float64, prior *TransformPrior) string {
	if prior != nil {
		return "estimated, prior " + prior.String()
	}
	return num.Plain(v)
}

// validateTransforms checks the transforms section against formula f (nil when it does not
// parse).
func (c *Config) validateTransforms(v *validator, f *Formula) {
	for _, name := range sortedNames(c.Transforms.Columns) {
		ct := c.Transforms.Columns[name]
		key := "transforms." + name
		label := strictyaml.Label(key)
		if f != nil && !slices.Contains(f.Terms, name) {
			v.add(key, "%s: %s is not a term of the formula (terms: %s); transforms apply to the formula's columns", label, show(name), showList(f.Terms))
		}
		ct.check(key, v.add)
		if a := ct.Adstock; a != nil && a.Type == AdstockGeometric && c.Data.DateVar == "" {
			ak := key + ".adstock"
			v.add(ak, "%s: adstock needs the rows in date order; set `data.date_var` to the date column", strictyaml.Label(ak))
		}
	}
	c.validateSensitivity(v)
}

// check reports the values of one column's transforms that are out of range, with add, under
// key (transforms.<column>).
func (ct ColumnTransform) check(key string, add func(key, format string, args ...any)) {
	label := strictyaml.Label(key)
	if ct.Adstock == nil && ct.Saturation == nil {
		add(key, "%s sets neither adstock nor saturation; set one, or remove the entry", label)
	}
	if a := ct.Adstock; a != nil {
		ak := key + ".adstock"
		switch a.Type {
		case AdstockGeometric:
			if a.Decay == nil {
				add(ak, "%s: geometric adstock needs `decay`, a number in [0, 1) or estimate", strictyaml.Label(ak))
			} else if msg := checkParam(DecayParam, a.Decay.Value); !a.Decay.Estimate && msg != "" {
				add(ak+".decay", "%s is %s; %s", strictyaml.Label(ak+".decay"), num.Plain(a.Decay.Value), msg)
			}
			if a.MaxLag != nil && *a.MaxLag < 0 {
				add(ak+".max_lag", "%s is %d; must be a whole number ≥ 0", strictyaml.Label(ak+".max_lag"), *a.MaxLag)
			}
		case TransformNone:
			if a.Decay != nil || a.MaxLag != nil {
				add(ak, "%s: type none takes no decay or max_lag", strictyaml.Label(ak))
			}
		case "":
			add(ak, "%s: `type` is missing; must be geometric or none", strictyaml.Label(ak))
		default:
			add(ak+".type", "%s is %q; must be geometric or none", strictyaml.Label(ak+".type"), a.Type)
		}
	}
	if s := ct.Saturation; s != nil {
		sk := key + ".saturation"
		switch s.Type {
		case SaturationHill:
			for _, p := range []struct {
				name, kind string
				v          *ParamValue
			}{{"half_saturation", HalfSaturationParam, s.HalfSaturation}, {"shape", ShapeParam, s.Shape}} {
				pk := sk + "." + p.name
				if p.v == nil {
					add(sk, "%s: Hill saturation needs `%s`, a number > 0 or estimate", strictyaml.Label(sk), p.name)
				} else if msg := checkParam(p.kind, p.v.Value); !p.v.Estimate && msg != "" {
					add(pk, "%s is %s; %s", strictyaml.Label(pk), num.Plain(p.v.Value), msg)
				}
			}
		case TransformNone:
			if s.HalfSaturation != nil || s.Shape != nil {
				add(sk, "%s: type none takes no half_saturation or shape", strictyaml.Label(sk))
			}
		case "":
			add(sk, "%s: `type` is missing; must be hill or none", strictyaml.Label(sk))
		default:
			add(sk+".type", "%s is %q; must be hill or none", strictyaml.Label(sk+".type"), s.Type)
		}
	}
}

// checkParam says what is wrong with the fixed value v of a transform parameter of kind
// (DecayParam, HalfSaturationParam or ShapeParam), or returns "".
func checkParam(kind string, v float64) string {
	if kind == DecayParam {
		if !(v >= 0 && v < 1) {
			return "must be in [0, 1) (0 is no carry-over)"
		}
		return ""
	}
	if !(v > 0) || math.IsInf(v, 0) {
		return "must be a finite number > 0"
	}
	return ""
}

// sortedNames returns the keys of t in order.
func sortedNames(t map[string]ColumnTransform) []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// transform resolves a validated column's transforms; ok is false when it does nothing. The
// value of an estimated parameter is left at 0 and its prior nil (see setTransformPriors).
func (ct ColumnTransform) transform(column string) (Transform, bool) {
	t := Transform{Column: column}
	if a := ct.Adstock; a != nil && a.Type == AdstockGeometric {
		t.Adstock, t.Decay, t.MaxLag = true, a.Decay.Value, DefaultMaxLag
		if a.MaxLag != nil {
			t.MaxLag = *a.MaxLag
		}
	}
	if s := ct.Saturation; s != nil && s.Type == SaturationHill {
		t.Hill, t.HalfSaturation, t.Shape = true, s.HalfSaturation.Value, s.Shape.Value
	}
	return t, t.Adstock || t.Hill
}

// estimated reports which of the parameters of a column's transforms are estimate: decay,
// half_saturation and shape.
func (ct ColumnTransform) estimated() (decay, halfSaturation, shape bool) {
	if a := ct.Adstock; a != nil && a.Type == AdstockGeometric {
		decay = a.Decay.estimate()
	}
	if s := ct.Saturation; s != nil && s.Type == SaturationHill {
		halfSaturation, shape = s.HalfSaturation.estimate(), s.Shape.estimate()
	}
	return decay, halfSaturation, shape
}

// estimate reports whether x is set to estimate.
func (x *ParamValue) estimate() bool { return x != nil && x.Estimate }

// Default priors of estimated transform parameters; the half-saturation default depends on
// the data (see builder.setTransformPriors).
var (
	defaultDecayPrior = TransformPrior{Family: PriorBeta, A: 2, B: 2, Default: true}
	defaultShapePrior = TransformPrior{Family: PriorLognormal, A: 0, B: 0.5, Default: true}
)

// halfSaturationSDLog is the sdlog of the default half-saturation prior.
const halfSaturationSDLog = 1

// transformOverride returns the prior priors.overrides gives the transform parameter name
// (e.g. adstock_decay[m_tv]), converted from its mean and sd by moment matching; without a
// family, the parameter's default family.
func (c *Config) transformOverride(name string) (TransformPrior, bool) {
	kind, _, _ := parseTransformParam(name)
	for _, o := range c.Priors.Overrides {
		if o.Parameter == name && o.Mean != nil && o.SD != nil {
			family := o.Family
			if family == "" {
				family = transformFamilies[kind][0]
			}
			p := momentPrior(family, *o.Mean, *o.SD)
			p.Origin = OriginOverride
			return p, true
		}
	}
	return TransformPrior{}, false
}

// setTransformPriors sets the prior of every estimated parameter of ts, from
// priors.overrides, priors.from_run or the defaults, and its value to the prior's centre. The default
// half-saturation prior is lognormal(log(median positive value of the column over the kept
// rows), 1); a column without a positive value has none, which is an error naming it.
func (b *builder) setTransformPriors(ts []Transform) error {
	var errs []error
	prior := func(kind, column string, def TransformPrior) *TransformPrior {
		name := TransformParamName(kind, column)
		p, ok := b.cfg.transformOverride(name)
		if !ok {
			p, ok = b.runTransformPrior(kind, name)
		}
		if !ok {
			p = def
		}
		return &p
	}
	for i := range ts {
		t := &ts[i]
		decay, half, shape := b.cfg.Transforms.Columns[t.Column].estimated()
		if decay {
			t.DecayPrior = prior(DecayParam, t.Column, defaultDecayPrior)
			t.Decay = t.DecayPrior.Centre()
		}
		if shape {
			t.ShapePrior = prior(ShapeParam, t.Column, defaultShapePrior)
			t.Shape = t.ShapePrior.Centre()
		}
		if !half {
			continue
		}
		if p, ok := b.cfg.transformOverride(TransformParamName(HalfSaturationParam, t.Column)); ok {
			t.HalfSaturationPrior = &p
		} else if p, ok := b.runTransformPrior(HalfSaturationParam, TransformParamName(HalfSaturationParam, t.Column)); ok {
			t.HalfSaturationPrior = &p
		} else if med, ok := positiveMedian(b.num[t.Column], b.keep); ok {
			t.HalfSaturationPrior = &TransformPrior{Family: PriorLognormal, A: math.Log(med), B: halfSaturationSDLog, Default: true}
		} else {
			key := "transforms." + t.Column + ".saturation.half_saturation"
			errs = append(errs, b.configErr(key, "%s is estimate, but column %q has no value > 0 in the rows used, so the default prior lognormal(log(median positive value), 1) is undefined; fix half_saturation at a number, or give %s a prior in `priors.overrides`",
				strictyaml.Label(key), t.Column, TransformParamName(HalfSaturationParam, t.Column)))
			continue
		}
		t.HalfSaturation = t.HalfSaturationPrior.Centre()
	}
	return errors.Join(errs...)
}

// MedianPositive returns the median of the finite values of x above 0 (the mean of the two
// middle ones for an even count), and false when there is none: the centre of the default
// half_saturation prior, and the unit in which codegen samples it.
func MedianPositive(x []float64) (float64, bool) {
	var pos []float64
	for _, v := range x {
		if v > 0 && !math.IsInf(v, 1) {
			pos = append(pos, v)
		}
	}
	if len(pos) == 0 {
		return 0, false
	}
	slices.Sort(pos)
	n := len(pos)
	if n%2 == 1 {
		return pos[n/2], true
	}
	return (pos[n/2-1] + pos[n/2]) / 2, true
}

// positiveMedian is MedianPositive over the values of x at rows.
func positiveMedian(x []float64, rows []int) (float64, bool) {
	at := make([]float64, len(rows))
	for j, i := range rows {
		at[j] = x[i]
	}
	return MedianPositive(at)
}

// transforms resolves the config's transforms in term order and the series the adstock runs
// along, and checks the columns: a saturated column must not be negative.
func (b *builder) transforms(terms []string) ([]Transform, [][]int, error) {
	var ts []Transform
	adstock := false
	for _, name := range terms {
		ct, ok := b.cfg.Transforms.Columns[name]
		if !ok {
			continue
		}
		if t, ok := ct.transform(name); ok {
			ts = append(ts, t)
			adstock = adstock || t.Adstock
		}
	}
	if len(ts) == 0 {
		return nil, nil, nil
	}
	var errs []error
	for _, t := range ts {
		if !t.Hill {
			continue
		}
		x := b.num[t.Column]
		for _, i := range b.keep {
			if x[i] < 0 {
				errs = append(errs, fmt.Errorf("ingest: %s:%d: column %q is %s; Hill saturation (transforms.%s) needs values ≥ 0",
					b.t.name(), b.t.Lines[i], t.Column, strings.TrimSpace(b.t.Cells[b.t.Col(t.Column)][i]), t.Column))
				break
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	if err := b.setTransformPriors(ts); err != nil {
		return nil, nil, err
	}
	if !adstock {
		return ts, nil, nil
	}
	series, err := b.series()
	return ts, series, err
}

// series splits the kept rows (as positions 0 … len(keep)−1) into series, the rows that
// share the value of every grouping column, each sorted by date. Dates are read in
// data.date_format when it is set, as the date checks read them, and otherwise in the first
// recognised format every value follows. Rows out of date order are
// sorted (the data keeps its order); a date repeated within a series, or a gap in its
// cadence (the shortest step between dates, or calendar months), is an error that names the
// series and the dates.
func (b *builder) series() ([][]int, error) {
	dv := b.cfg.Data.DateVar
	dates := b.text(dv)
	layout, ok := dateLayout(dates)
	if f := b.cfg.Data.DateFormat; f != "" {
		layout, _ = DateLayout(f) // Validate checked it; checkDates checked every value
		ok = true
	}
	if !ok {
		return nil, b.configErr("data.date_var", "adstock needs the rows in date order, but `data.date_var` (%q) does not hold dates in a recognised format (%s)", dv, layoutNames())
	}
	when := make([]time.Time, len(dates))
	for i, s := range dates {
		t, err := time.Parse(layout, s)
		if err != nil { // checkDates reported it already
			return nil, fmt.Errorf("ingest: %s:%d: column %q (data.date_var): %q is not a date", b.t.name(), b.t.Lines[b.keep[i]], dv, s)
		}
		when[i] = t
	}
	var factors []string
	for _, bar := range b.f.Bars {
		for _, g := range bar.Factors {
			if !slices.Contains(factors, g) {
				factors = append(factors, g)
			}
		}
	}
	cols := make([][]string, len(factors))
	for j, g := range factors {
		cols[j] = b.text(g)
	}
	index := map[string]int{}
	var labels []string
	var series [][]int
	parts := make([]string, len(factors))
	for i := range dates {
		for j := range cols {
			parts[j] = cols[j][i]
		}
		label := strings.Join(parts, ":")
		k, ok := index[label]
		if !ok {
			k = len(series)
			index[label] = k
			labels = append(labels, label)
			series = append(series, nil)
		}
		series[k] = append(series[k], i)
	}
	step := time.Duration(0)
	for _, rows := range series {
		sort.SliceStable(rows, func(p, q int) bool { return when[rows[p]].Before(when[rows[q]]) })
		for p := 1; p < len(rows); p++ {
			if d := when[rows[p]].Sub(when[rows[p-1]]); d > 0 && (step == 0 || d < step) {
				step = d
			}
		}
	}
	monthly := step >= 28*24*time.Hour && step <= 31*24*time.Hour
	name := func(k int) string {
		if len(factors) == 0 {
			return "the data"
		}
		return fmt.Sprintf("%s %q", strings.Join(factors, ":"), labels[k])
	}
	var errs []error
	for k, rows := range series {
		for p := 1; p < len(rows) && len(errs) < maxReported; p++ {
			prev, cur := when[rows[p-1]], when[rows[p]]
			i, j := rows[p-1], rows[p]
			switch {
			case cur.Equal(prev):
				hint := ""
				if len(factors) == 0 {
					hint = "; if the data holds several markets, add a group term such as (1 | market) so that each is its own series"
				}
				errs = append(errs, fmt.Errorf("ingest: %s:%d and %d: %s has the date %s twice; adstock needs one row per date in each series%s",
					b.t.name(), b.t.Lines[b.keep[i]], b.t.Lines[b.keep[j]], name(k), dates[j], hint))
			case monthly && monthIndex(cur)-monthIndex(prev) != 1,
				!monthly && cur.Sub(prev) != step:
				errs = append(errs, fmt.Errorf("ingest: %s:%d and %d: %s jumps from %s to %s, a gap in its dates (every other step is %s); adstock needs consecutive dates in each series (a row dropped for a missing value also leaves a gap)",
					b.t.name(), b.t.Lines[b.keep[i]], b.t.Lines[b.keep[j]], name(k), dates[i], dates[j], cadence(step, monthly)))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return series, nil
}

// monthIndex counts calendar months.
func monthIndex(t time.Time) int { return t.Year()*12 + int(t.Month()) }

// cadence names the step between dates.
func cadence(step time.Duration, monthly bool) string {
	switch {
	case monthly:
		return "one month"
	case step%(7*24*time.Hour) == 0:
		return plural(int(step/(7*24*time.Hour)), "week")
	case step%(24*time.Hour) == 0:
		return plural(int(step/(24*time.Hour)), "day")
	}
	return step.String()
}

// dateLayout returns the layout every value parses in, if any.
func dateLayout(values []string) (string, bool) {
	for _, dl := range dateLayouts {
		ok := true
		for _, s := range values {
			if _, err := time.Parse(dl.layout, s); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return dl.layout, true
		}
	}
	return "", false
}

// layoutNames lists the recognised date formats.
func layoutNames() string {
	names := make([]string, len(dateLayouts))
	for i, dl := range dateLayouts {
		names[i] = dl.name
	}
	return strings.Join(names, ", ")
}
