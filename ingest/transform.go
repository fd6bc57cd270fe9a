package ingest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

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

// Transforms is the transforms section: the fixed media transforms of formula terms, by
// column name.
type Transforms map[string]ColumnTransform

// ColumnTransform is one column's transforms, applied in order: adstock, then saturation.
type ColumnTransform struct {
	Adstock    *AdstockConfig    `yaml:"adstock,omitempty"`
	Saturation *SaturationConfig `yaml:"saturation,omitempty"`
}

// AdstockConfig is a column's carry-over: geometric (normalised, see Transform) or none.
type AdstockConfig struct {
	Type  string `yaml:"type"`
	Decay *Fixed `yaml:"decay,omitempty"`
	// MaxLag is the number of earlier rows that carry over (default DefaultMaxLag).
	MaxLag *int `yaml:"max_lag,omitempty"`
}

// SaturationConfig is a column's diminishing returns: hill or none.
type SaturationConfig struct {
	Type           string `yaml:"type"`
	HalfSaturation *Fixed `yaml:"half_saturation,omitempty"`
	Shape          *Fixed `yaml:"shape,omitempty"`
}

// Fixed is a transform parameter fixed at a number. The value estimate (sampling the
// parameter) is refused: estimated transforms are not supported yet.
type Fixed float64

// UnmarshalStrictYAML decodes a number, refusing estimate with a message that says so.
func (x *Fixed) UnmarshalStrictYAML(d *strictyaml.Decoder, path string, n ast.Node) {
	if s, ok := n.(*ast.StringNode); ok && strings.EqualFold(strings.TrimSpace(s.Value), "estimate") {
		d.Add(n, path, "%s is estimate, but estimated transforms are not supported yet; a number fixes the value", strictyaml.Label(path))
		return
	}
	d.Decode(path, n, (*float64)(x))
}

// UnmarshalStrictYAML decodes the section: column names as keys, except sensitivity,
// which is refused (sensitivity scenarios are not supported yet).
func (t *Transforms) UnmarshalStrictYAML(d *strictyaml.Decoder, path string, n ast.Node) {
	if !d.Mapping(path, n) {
		return
	}
	var es []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		es = m.Values
	case *ast.MappingValueNode:
		es = []*ast.MappingValueNode{m}
	}
	out := Transforms{}
	for _, e := range es {
		name := e.Key.GetToken().Value
		if s, ok := e.Key.(*ast.StringNode); ok {
			name = s.Value
		}
		child := path + "." + name
		line, col := strictyaml.StartPos(e.Key)
		d.Pos[child] = strictyaml.Position{Line: line, Col: col, Set: e.Value != nil && e.Value.Type() != ast.NullType}
		if name == "sensitivity" {
			d.Add(e.Key, child, "%s: transform sensitivity scenarios are not supported yet; fit each set of fixed values as its own run and compare them with LOO", strictyaml.Label(child))
			continue
		}
		var ct ColumnTransform
		before := d.Count()
		d.Decode(child, e.Value, &ct)
		if d.Count() == before {
			// Checked here too, so that a bad value in one column is reported with the
			// problems of the others (any problem drops the section from Validate's checks).
			ct.check(child, d.AddKey)
			out[name] = ct
		}
	}
	*t = out
}

// Transform is the fixed transform of one term's column, resolved from the config:
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
			num.Plain(t.Decay), t.MaxLag))
	} else {
		parts = append(parts, "no adstock")
	}
	if t.Hill {
		parts = append(parts, fmt.Sprintf("then Hill saturation, half_saturation %s (in %s's units), shape %s",
			num.Plain(t.HalfSaturation), t.Column, num.Plain(t.Shape)))
	} else {
		parts = append(parts, "no saturation")
	}
	return strings.Join(parts, "; ")
}

// validateTransforms checks the transforms section against formula f (nil when it does not
// parse).
func (c *Config) validateTransforms(v *validator, f *Formula) {
	for _, name := range sortedNames(c.Transforms) {
		ct := c.Transforms[name]
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
				add(ak, "%s: geometric adstock needs `decay`, a number in [0, 1)", strictyaml.Label(ak))
			} else if d := float64(*a.Decay); !(d >= 0 && d < 1) {
				add(ak+".decay", "%s is %s; must be in [0, 1) (0 is no carry-over)", strictyaml.Label(ak+".decay"), num.Plain(d))
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
				name string
				v    *Fixed
			}{{"half_saturation", s.HalfSaturation}, {"shape", s.Shape}} {
				pk := sk + "." + p.name
				switch {
				case p.v == nil:
					add(sk, "%s: Hill saturation needs `%s`, a number > 0", strictyaml.Label(sk), p.name)
				case !(float64(*p.v) > 0) || math.IsInf(float64(*p.v), 0):
					add(pk, "%s is %s; must be a finite number > 0", strictyaml.Label(pk), num.Plain(float64(*p.v)))
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

// sortedNames returns the keys of t in order.
func sortedNames(t Transforms) []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// transform resolves a validated column's transforms; ok is false when it does nothing.
func (ct ColumnTransform) transform(column string) (Transform, bool) {
	t := Transform{Column: column}
	if a := ct.Adstock; a != nil && a.Type == AdstockGeometric {
		t.Adstock, t.Decay, t.MaxLag = true, float64(*a.Decay), DefaultMaxLag
		if a.MaxLag != nil {
			t.MaxLag = *a.MaxLag
		}
	}
	if s := ct.Saturation; s != nil && s.Type == SaturationHill {
		t.Hill, t.HalfSaturation, t.Shape = true, float64(*s.HalfSaturation), float64(*s.Shape)
	}
	return t, t.Adstock || t.Hill
}

// transforms resolves the config's transforms in term order and the series the adstock runs
// along, and checks the columns: a saturated column must not be negative.
func (b *builder) transforms(terms []string) ([]Transform, [][]int, error) {
	var ts []Transform
	adstock := false
	for _, name := range terms {
		ct, ok := b.cfg.Transforms[name]
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
	if !adstock {
		return ts, nil, nil
	}
	series, err := b.series()
	return ts, series, err
}

// series splits the kept rows (as positions 0 … len(keep)−1) into series, the rows that
// share the value of every grouping column, each sorted by date. Rows out of date order are
// sorted (the data keeps its order); a date repeated within a series, or a gap in its
// cadence (the shortest step between dates, or calendar months), is an error that names the
// series and the dates.
func (b *builder) series() ([][]int, error) {
	dv := b.cfg.Data.DateVar
	dates := b.text(dv)
	layout, ok := dateLayout(dates)
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
