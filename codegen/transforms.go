package codegen

import (
	"fmt"
	"math"
	"slices"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// Estimated media transforms (ingest.Transform with a non-nil *Prior) are parameters of
// the program: the columns they transform are computed in the model block from the raw
// column at every gradient, and everything else stays as without them. This file holds
// what the single-market and the integrated panel program share.
//
// For each design column t with an estimated transform (in term order) the program gets
// the raw column lagged, as an N × n_lag matrix: entry (i, l) is the raw value l rows
// earlier in row i's series (ingest.Spec.Series), 0 before the series' first row and for
// lags beyond the column's max_lag. Raw values are divided by a raw scale s_t (the median
// positive raw value), so that half_saturation/s_t, the value the sampler sees, is of
// order 1. The column then enters the likelihood as
//
//	x*_t = h(Σ_l w_l x_lag[i, l]) · s_t^(1−hill) / XScale[t]
//
// with the normalised geometric weights w of the sampled decay and h the Hill function
// at the sampled (or fixed) half_saturation/s_t and shape (h the identity without Hill):
// XScale[t] is the predictor scale ingest computed from the column at the priors'
// centres, so the coefficient keeps the meaning and the scaling of ingest.Scaling. A
// column whose decay is fixed gets its adstock applied here, in Go, and a lag matrix of
// one column (n_lag may still be larger for the others: those lags are 0).
//
// The parameters are adstock_decay (on [0, 1]), half_saturation (> 0, in units of s_t)
// and hill_shape (> 0), each a vector over the estimated ones in column order; their
// sizes, the index of each column's parameters (0: fixed) and their priors are data, so
// one compiled program serves every config of the same structure.

// Transform prior families as the programs' *_prior_family flags encode them.
const (
	transformFlagBeta      = 0
	transformFlagLognormal = 1
	transformFlagGamma     = 2
)

// Stan names of the transform parameter vectors.
const (
	stanDecay = "adstock_decay"
	stanHalf  = "half_saturation"
	stanShape = "hill_shape"
)

// estColumn is one design column with an estimated transform.
type estColumn struct {
	term int // index into spec.Terms
	tr   ingest.Transform
	// scale is s_t, the raw scale: half_saturation = scale · the sampled value.
	scale float64
	// maxLag is the adstock max_lag the program applies: tr.MaxLag when the decay is
	// estimated, else 0 (a fixed adstock is applied in Go).
	maxLag int
	// decay, half and shape are 1-based positions in the Stan parameter vectors; 0 when
	// the parameter is fixed or the column lacks that transform.
	decay, half, shape int
}

// transformPriors are the priors of one Stan parameter vector, on the sampler's scale.
type transformPriors struct {
	family []int
	a, b   []float64
}

// estTransforms is a spec's estimated transforms on the sampler's scale.
type estTransforms struct {
	n    int // rows
	cols []estColumn
	// nLag is the number of columns of every lag matrix (lags 0 … nLag−1); lags stacks
	// the lag matrices, column t's at rows t·n … t·n+n−1.
	nLag int
	lags [][]float64
	// decay, half and shape are the priors of the three parameter vectors.
	decay, half, shape transformPriors
	// params maps adstock_decay.i, half_saturation.i and hill_shape.i back to the names
	// users see, in that order.
	params []Param
	series [][]int
}

// hasEstimatedTransforms reports whether spec samples any transform parameter.
func hasEstimatedTransforms(spec *ingest.Spec) bool {
	for _, t := range spec.Transforms {
		if t.Estimated() {
			return true
		}
	}
	return false
}

// newEstTransforms lays out the estimated transforms of a checked spec; nil when there
// are none.
func newEstTransforms(spec *ingest.Spec) (*estTransforms, error) {
	if !hasEstimatedTransforms(spec) {
		return nil, nil
	}
	et := &estTransforms{n: spec.N, nLag: 1, series: spec.Series}
	longest := 0
	for _, rows := range spec.Series {
		longest = max(longest, len(rows))
	}
	for _, tr := range spec.Transforms {
		if !tr.Estimated() {
			continue
		}
		c, err := newEstColumn(spec, tr)
		if err != nil {
			return nil, err
		}
		if tr.DecayPrior != nil {
			c.maxLag = tr.MaxLag
			et.nLag = max(et.nLag, min(tr.MaxLag, max(longest-1, 0))+1)
		}
		et.cols = append(et.cols, c)
	}
	var decay, half, shape []Param
	for i := range et.cols {
		c := &et.cols[i]
		tr := c.tr
		if p := tr.DecayPrior; p != nil {
			c.decay = len(decay) + 1
			if err := et.decay.add(tr.Column, ingest.DecayParam, *p, 1); err != nil {
				return nil, err
			}
			decay = append(decay, Param{Column: fmt.Sprintf("%s.%d", stanDecay, c.decay),
				Name: ingest.TransformParamName(ingest.DecayParam, tr.Column), Shift: 0, Scale: 1})
		}
		if p := tr.HalfSaturationPrior; p != nil {
			c.half = len(half) + 1
			if err := et.half.add(tr.Column, ingest.HalfSaturationParam, *p, c.scale); err != nil {
				return nil, err
			}
			half = append(half, Param{Column: fmt.Sprintf("%s.%d", stanHalf, c.half),
				Name: ingest.TransformParamName(ingest.HalfSaturationParam, tr.Column), Shift: 0, Scale: c.scale})
		}
		if p := tr.ShapePrior; p != nil {
			c.shape = len(shape) + 1
			if err := et.shape.add(tr.Column, ingest.ShapeParam, *p, 1); err != nil {
				return nil, err
			}
			shape = append(shape, Param{Column: fmt.Sprintf("%s.%d", stanShape, c.shape),
				Name: ingest.TransformParamName(ingest.ShapeParam, tr.Column), Shift: 0, Scale: 1})
		}
	}
	et.params = slices.Concat(decay, half, shape)
	for _, c := range et.cols {
		et.lags = append(et.lags, c.lagMatrix(spec.Series, et.nLag)...)
	}
	return et, nil
}

// newEstColumn checks one estimated transform against spec and finds its term and raw
// scale.
func newEstColumn(spec *ingest.Spec, tr ingest.Transform) (estColumn, error) {
	c := estColumn{term: -1, tr: tr}
	for k, term := range spec.Terms {
		if term.Name == tr.Column && !term.Intercept {
			c.term = k
		}
	}
	name := func(kind string) string { return ingest.TransformParamName(kind, tr.Column) }
	switch {
	case c.term < 0:
		return c, fmt.Errorf("codegen: the transform of column %q belongs to no term of the model", tr.Column)
	case len(tr.Raw) != spec.N:
		return c, fmt.Errorf("codegen: the transform of %q has %d raw values for %d rows", tr.Column, len(tr.Raw), spec.N)
	case tr.DecayPrior != nil && !tr.Adstock:
		return c, fmt.Errorf("codegen: %s has a prior but column %q has no adstock", name(ingest.DecayParam), tr.Column)
	case tr.HalfSaturationPrior != nil && !tr.Hill:
		return c, fmt.Errorf("codegen: %s has a prior but column %q has no Hill saturation", name(ingest.HalfSaturationParam), tr.Column)
	case tr.ShapePrior != nil && !tr.Hill:
		return c, fmt.Errorf("codegen: %s has a prior but column %q has no Hill saturation", name(ingest.ShapeParam), tr.Column)
	case tr.Adstock && tr.MaxLag < 0:
		return c, fmt.Errorf("codegen: the adstock of %q has max_lag %d; it must be ≥ 0", tr.Column, tr.MaxLag)
	}
	for i, v := range tr.Raw {
		if !finite(v) || tr.Hill && v < 0 {
			return c, fmt.Errorf("codegen: %s: column %q is %g; an estimated transform needs finite values (≥ 0 with Hill saturation)", rowName(spec, i), tr.Column, v)
		}
	}
	if tr.Adstock {
		if err := checkSeries(spec); err != nil {
			return c, err
		}
		if tr.DecayPrior == nil && !(tr.Decay >= 0 && tr.Decay < 1) {
			return c, fmt.Errorf("codegen: the adstock decay of %q is %g; it must be in [0, 1)", tr.Column, tr.Decay)
		}
	}
	if tr.Hill {
		if tr.HalfSaturationPrior == nil && (!(tr.HalfSaturation > 0) || !finite(tr.HalfSaturation)) {
			return c, fmt.Errorf("codegen: %s is %g; it must be positive and finite", name(ingest.HalfSaturationParam), tr.HalfSaturation)
		}
		if tr.ShapePrior == nil && (!(tr.Shape > 0) || !finite(tr.Shape)) {
			return c, fmt.Errorf("codegen: %s is %g; it must be positive and finite", name(ingest.ShapeParam), tr.Shape)
		}
	}
	c.scale = rawScale(tr.Raw)
	return c, nil
}

// checkSeries checks that spec.Series lists every row exactly once.
func checkSeries(spec *ingest.Spec) error {
	seen := make([]bool, spec.N)
	count := 0
	for _, rows := range spec.Series {
		for _, i := range rows {
			if i < 0 || i >= spec.N || seen[i] {
				return fmt.Errorf("codegen: the adstock series list row %d more than once or out of range (%d rows)", i+1, spec.N)
			}
			seen[i] = true
			count++
		}
	}
	if count != spec.N {
		return fmt.Errorf("codegen: the adstock series list %d of the %d rows; every row must belong to one series", count, spec.N)
	}
	return nil
}

// rawScale is the median positive value of x (1 when none is positive): the unit of a
// column's raw values, and of its half saturation, on the sampler's scale.
func rawScale(x []float64) float64 {
	if m, ok := ingest.MedianPositive(x); ok {
		return m
	}
	return 1
}

// add appends the prior p of one parameter, mapped to the sampler's scale of a value
// divided by scale: lognormal(A, B) → lognormal(A − log scale, B), gamma(A, B) →
// gamma(A, B·scale), beta unchanged (only for a parameter that is not rescaled: decay).
func (tp *transformPriors) add(column, kind string, p ingest.TransformPrior, scale float64) error {
	name := ingest.TransformParamName(kind, column)
	if !slices.Contains([]string{ingest.PriorBeta, ingest.PriorLognormal, ingest.PriorGamma}, p.Family) {
		return fmt.Errorf("codegen: %s prior family %q is unknown; use %q, %q or %q", name, p.Family, ingest.PriorBeta, ingest.PriorLognormal, ingest.PriorGamma)
	}
	if !finite(p.A) || !finite(p.B) || !(p.B > 0) || p.Family != ingest.PriorLognormal && !(p.A > 0) {
		return fmt.Errorf("codegen: %s prior %s(%g, %g) needs finite parameters, both positive (lognormal: a positive sdlog)", name, p.Family, p.A, p.B)
	}
	switch p.Family {
	case ingest.PriorBeta:
		if kind != ingest.DecayParam {
			return fmt.Errorf("codegen: %s prior is beta, which lies on [0, 1]; use lognormal or gamma for a parameter on (0, ∞)", name)
		}
		tp.family = append(tp.family, transformFlagBeta)
		tp.a, tp.b = append(tp.a, p.A), append(tp.b, p.B)
	case ingest.PriorLognormal:
		tp.family = append(tp.family, transformFlagLognormal)
		tp.a, tp.b = append(tp.a, p.A-math.Log(scale)), append(tp.b, p.B)
	case ingest.PriorGamma:
		tp.family = append(tp.family, transformFlagGamma)
		tp.a, tp.b = append(tp.a, p.A), append(tp.b, p.B*scale)
	}
	return nil
}

// lagMatrix returns the column's N × nLag lag matrix on the raw scale: with an estimated
// decay, entry (i, l) is the raw value l rows before row i in its series (0 before the
// series' first row, and beyond the column's max_lag); otherwise column 0 holds the raw
// column with its fixed adstock applied, and the other columns are 0.
func (c *estColumn) lagMatrix(series [][]int, nLag int) [][]float64 {
	n := len(c.tr.Raw)
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, nLag)
	}
	if c.tr.DecayPrior == nil {
		fixed := c.tr
		fixed.Hill = false
		for i, v := range fixed.Apply(c.tr.Raw, series) {
			m[i][0] = v / c.scale
		}
		return m
	}
	for _, rows := range series {
		for p, i := range rows {
			for l := 0; l < nLag && l <= c.maxLag && l <= p; l++ {
				m[i][l] = c.tr.Raw[rows[p-l]] / c.scale
			}
		}
	}
	return m
}

// columnScale is the factor between the program's transformed value and the design column
// on the sampler's scale: 1/XScale with Hill (h is unitless), s_t/XScale without (the
// adstock is in units of s_t).
func (c *estColumn) columnScale(spec *ingest.Spec) float64 {
	if c.tr.Hill {
		return 1 / spec.Scaling.XScale[c.term]
	}
	return c.scale / spec.Scaling.XScale[c.term]
}

// vars lists the transform data, in the declaration order of the transform_data template.
func (et *estTransforms) vars(spec *ingest.Spec) []stanio.Var {
	t := len(et.cols)
	col, maxLag, hill := make([]int, t), make([]int, t), make([]int, t)
	decayIdx, halfIdx, shapeIdx := make([]int, t), make([]int, t), make([]int, t)
	scale, halfFixed, shapeFixed := make([]float64, t), make([]float64, t), make([]float64, t)
	for i, c := range et.cols {
		col[i], maxLag[i] = c.term+1, c.maxLag
		decayIdx[i], halfIdx[i], shapeIdx[i] = c.decay, c.half, c.shape
		scale[i] = c.columnScale(spec)
		halfFixed[i], shapeFixed[i] = 1, 1
		if c.tr.Hill {
			hill[i] = 1
			if c.half == 0 {
				halfFixed[i] = c.tr.HalfSaturation / c.scale
			}
			if c.shape == 0 {
				shapeFixed[i] = c.tr.Shape
			}
		}
	}
	vars := []stanio.Var{
		{Name: "T", Value: t},
		{Name: "t_col", Value: col},
		{Name: "n_lag", Value: et.nLag},
		{Name: "x_lag", Value: et.lags},
		{Name: "t_max_lag", Value: maxLag},
		{Name: "t_hill", Value: hill},
		{Name: "t_scale", Value: scale},
		{Name: "half_fixed", Value: halfFixed},
		{Name: "shape_fixed", Value: shapeFixed},
	}
	for _, p := range []struct {
		name  string
		index []int
		pr    transformPriors
	}{{"decay", decayIdx, et.decay}, {"half", halfIdx, et.half}, {"shape", shapeIdx, et.shape}} {
		vars = append(vars,
			stanio.Var{Name: "n_" + p.name, Value: len(p.pr.family)},
			stanio.Var{Name: p.name + "_index", Value: p.index},
			stanio.Var{Name: p.name + "_prior_family", Value: orEmpty(p.pr.family)},
			stanio.Var{Name: p.name + "_prior_a", Value: orEmpty(p.pr.a)},
			stanio.Var{Name: p.name + "_prior_b", Value: orEmpty(p.pr.b)})
	}
	return vars
}

// orEmpty returns s, or an empty slice for nil (so that the data JSON shows []).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// designRows returns the rows order of the standardised design x (column by column) as an
// N × K matrix, with the columns of estimated transforms set to 0: the program computes
// them.
func (et *estTransforms) designRows(x [][]float64, order []int) [][]float64 {
	est := make([]bool, len(x))
	for _, c := range et.cols {
		est[c.term] = true
	}
	rows := make([][]float64, len(order))
	for r, i := range order {
		rows[r] = make([]float64, len(x))
		for k := range x {
			if !est[k] {
				rows[r][k] = x[k][i]
			}
		}
	}
	return rows
}

// permuteRows reorders the stacked lag matrices' rows within each column's block: row r of
// the result is row order[r].
func (et *estTransforms) permuteRows(order []int) {
	n := et.n
	out := make([][]float64, 0, len(et.lags))
	for t := range et.cols {
		for _, i := range order {
			out = append(out, et.lags[t*n+i])
		}
	}
	et.lags = out
}

// readValues reads the columns of the transform parameters: cols[j] holds the draws of
// et.params[j], in original units once unscaled.
func (et *estTransforms) readValues(column func(string) ([]float64, error)) ([][]float64, error) {
	cols := make([][]float64, len(et.params))
	for j, p := range et.params {
		src, err := column(p.Column)
		if err != nil {
			return nil, err
		}
		cols[j] = make([]float64, len(src))
		for i, v := range src {
			cols[j][i] = p.Unscale(v)
		}
	}
	return cols, nil
}

// at returns draw i's transform of column c, from the unscaled columns readValues returned.
func (et *estTransforms) at(c *estColumn, cols [][]float64, i int) ingest.Transform {
	nd, nh := len(et.decay.family), len(et.half.family)
	decay, half, shape := c.tr.Decay, c.tr.HalfSaturation, c.tr.Shape
	if c.decay > 0 {
		decay = cols[c.decay-1][i]
	}
	if c.half > 0 {
		half = cols[nd+c.half-1][i]
	}
	if c.shape > 0 {
		shape = cols[nd+nh+c.shape-1][i]
	}
	return c.tr.With(decay, half, shape)
}

// setDesign overwrites the estimated columns of the standardised design x with draw i's.
func (et *estTransforms) setDesign(spec *ingest.Spec, x [][]float64, cols [][]float64, i int) {
	for ci := range et.cols {
		c := &et.cols[ci]
		v := et.at(c, cols, i).Apply(c.tr.Raw, et.series)
		s := spec.Scaling.XScale[c.term]
		for r, val := range v {
			x[c.term][r] = val / s
		}
	}
}

// varyingPositions returns, per estimated column, its 1-based place among the
// group-varying terms varying (0 when it does not vary by group).
func (et *estTransforms) varyingPositions(varying []int) []int {
	pos := make([]int, len(et.cols))
	for i, c := range et.cols {
		pos[i] = slices.Index(varying, c.term) + 1
	}
	return pos
}

// checkTransformPanel refuses a panel with estimated transforms that the integrated
// program cannot serve: several grouping factors, or a parameterisation that asks for the
// sampled program.
func checkTransformPanel(spec *ingest.Spec) error {
	if len(spec.Groups) != 1 {
		return fmt.Errorf("codegen: estimated transforms need a panel with one grouping factor (the integrated program); this model has %d; fix the transform values, or group by one factor", len(spec.Groups))
	}
	switch spec.Parameterization {
	case Centered, Noncentered:
		return fmt.Errorf("codegen: estimated transforms need the integrated panel program, but model.random_effects.parameterization is %q; set it to %q or %q, or fix the transform values",
			spec.Parameterization, autoParam, Integrated)
	}
	return nil
}
