package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/runfolder"
)

// transformParam is one transform parameter of a column as the run used it: its draws
// when the model estimated it (a column of posterior_draws.csv named as in
// ingest.TransformParamName), else the one value the config fixed.
type transformParam struct {
	name      string
	values    []float64
	estimated bool
	prior     *runfolder.SpecPrior // the estimated parameter's prior (nil when fixed)
}

// at returns the parameter's value in draw d (the fixed value in every draw).
func (p transformParam) at(d int) float64 {
	if len(p.values) == 1 {
		return p.values[0]
	}
	return p.values[d]
}

// summary says what the parameter is: its value, or its posterior mean and 90% interval.
func (p transformParam) summary() string {
	if !p.estimated {
		return num.Sig(p.values[0], 3) + " (fixed)"
	}
	lo, mean, hi := quantiles90(p.values)
	return fmt.Sprintf("%s [%s, %s]", num.Sig(mean, 3), num.Sig(lo, 3), num.Sig(hi, 3))
}

// columnTransform is one column's media transforms as the run used them.
type columnTransform struct {
	column string
	// adstock: geometric, normalised, over maxLag earlier rows.
	adstock bool
	maxLag  int
	decay   transformParam
	// hill: Hill saturation.
	hill        bool
	half, shape transformParam
}

// params lists the column's parameters.
func (ct columnTransform) params() []transformParam {
	var out []transformParam
	if ct.adstock {
		out = append(out, ct.decay)
	}
	if ct.hill {
		out = append(out, ct.half, ct.shape)
	}
	return out
}

// draws is the number of draws the column's parameters have (1 when all are fixed).
func (ct columnTransform) draws() int {
	n := 1
	for _, p := range ct.params() {
		n = max(n, len(p.values))
	}
	return n
}

// transforms returns the run's media transforms in term order: the types, max_lag, fixed
// values and priors as 10_pre_run/model_spec.json records them, the estimated parameters'
// draws from posterior_draws.csv. A run without transforms gets a skipError.
func (in *inputs) transforms() ([]columnTransform, error) {
	spec, err := in.modelSpec()
	if err != nil {
		return nil, err
	}
	if len(spec.Transforms) == 0 {
		return nil, skipf("the model has no media transforms (model_spec.json records none)")
	}
	draws, err := in.draws()
	if err != nil {
		return nil, err
	}
	var out []columnTransform
	for _, st := range spec.Transforms {
		column := st.Column
		ct := columnTransform{column: column}
		param := func(kind string, value *runfolder.Num, prior *runfolder.SpecPrior) transformParam {
			name := ingest.TransformParamName(kind, column)
			switch v, ok := draws.Column(name); {
			case ok:
				return transformParam{name: name, values: finiteOnly(v), estimated: true, prior: prior}
			case value != nil:
				return transformParam{name: name, values: []float64{float64(*value)}}
			}
			// estimated, but posterior_draws.csv lacks it: a run that stopped early
			return transformParam{name: name, prior: prior}
		}
		if st.Adstock == ingest.AdstockGeometric {
			ct.adstock, ct.maxLag = true, ingest.DefaultMaxLag
			if st.MaxLag != nil {
				ct.maxLag = *st.MaxLag
			}
			ct.decay = param(ingest.DecayParam, st.Decay, st.DecayPrior)
		}
		if st.Saturation == ingest.SaturationHill {
			ct.hill = true
			ct.half = param(ingest.HalfSaturationParam, st.HalfSaturation, st.HalfSaturationPrior)
			ct.shape = param(ingest.ShapeParam, st.Shape, st.ShapePrior)
		}
		if ct.adstock || ct.hill {
			out = append(out, ct)
		}
	}
	if len(out) == 0 {
		return nil, skipf("model_spec.json's transforms transform no column")
	}
	return out, nil
}

// quantiles90 returns the 5% quantile, the mean and the 95% quantile of v.
func quantiles90(v []float64) (lo, mean, hi float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	return stat.Quantile(0.05, stat.Empirical, s, nil), stat.Mean(s, nil), stat.Quantile(0.95, stat.Empirical, s, nil)
}

// usable returns the columns of ts that have Hill saturation (hill) or adstock (!hill) with
// every parameter of it known, and why the others with it were left out.
func usable(ts []columnTransform, hill bool) (keep []columnTransform, left []string) {
	for _, ct := range ts {
		need := []transformParam{ct.decay}
		if hill {
			need = []transformParam{ct.half, ct.shape}
		}
		if (hill && !ct.hill) || (!hill && !ct.adstock) {
			continue
		}
		var miss []string
		for _, p := range need {
			if len(p.values) == 0 {
				miss = append(miss, p.name)
			}
		}
		if len(miss) > 0 {
			left = append(left, fmt.Sprintf("%s (no draws of %s)", ct.column, strings.Join(miss, ", ")))
			continue
		}
		keep = append(keep, ct)
	}
	return keep, left
}

// lagWeights returns, per lag l = 0 … maxLag, the 5% quantile, mean and 95% quantile over
// the draws of decay of the normalised weight w_l = decay^l / Σ_j decay^j.
func lagWeights(decay transformParam, maxLag int) (lo, mean, hi []float64) {
	per := make([][]float64, maxLag+1)
	for _, d := range decay.values {
		for l, w := range ingest.AdstockWeights(d, maxLag) {
			per[l] = append(per[l], w)
		}
	}
	lo, mean, hi = make([]float64, maxLag+1), make([]float64, maxLag+1), make([]float64, maxLag+1)
	for l, v := range per {
		lo[l], mean[l], hi[l] = quantiles90(v)
	}
	return lo, mean, hi
}

func drawAdstockWeights(in *inputs) (*figure, error) {
	ts, err := in.transforms()
	if err != nil {
		return nil, err
	}
	ts, left := usable(ts, false)
	if len(ts) == 0 {
		if len(left) > 0 {
			return nil, skipf("no adstock can be drawn: %s", strings.Join(left, "; "))
		}
		return nil, skipf("no column of the model has adstock")
	}
	var plots []*plot.Plot
	for k, ct := range ts {
		lo, mean, hi := lagWeights(ct.decay, ct.maxLag)
		x := make([]float64, ct.maxLag+1)
		for l := range x {
			x[l] = float64(l)
		}
		p := newPlot()
		p.Add(gridLines{true, true})
		c := paletteAt(k)
		if ct.decay.estimated {
			p.Add(&band{x: x, lo: lo, hi: hi, fill: alpha(c, 0.3)})
		}
		p.Add(newSeries(x, mean, c, 1.8))
		p.Add(newDots(x, mean, c, 2.2))
		p.X.Min, p.X.Max, p.Y.Min = -0.3, float64(ct.maxLag)+0.3, 0
		p.X.Tick.Marker = numTicks{}
		p.Title.Text = fmt.Sprintf("%s   decay %s", ct.column, ct.decay.summary())
		p.X.Label.Text, p.Y.Label.Text = "Lag (rows before)", "Weight w_l"
		plots = append(plots, p)
	}
	title, sub := "Adstock lag weights", "Share of a row's spend that acts l rows later, w_l = decay^l / Σ_j decay^j (normalised, so the weights sum to 1); posterior mean with its 90% band, one line for a fixed decay"
	f := facetOrSingle(plots, title, sub, "Lag (rows before)", "Weight w_l")
	f.note = leftOut(left)
	f.legend = []legendEntry{
		{"Posterior mean (or fixed value)", lineThumb{draw.LineStyle{Color: colText, Width: vg.Points(1.8)}}},
		{"90% band", swatch{alpha(colMuted, 0.3)}},
	}
	return f, nil
}

// facetOrSingle lays plots out as one plot or a grid with shared axis labels.
func facetOrSingle(plots []*plot.Plot, title, sub, xl, yl string) *figure {
	if len(plots) == 1 {
		return single(plots[0], title, sub)
	}
	f := facets(plots, min(facetCols(len(plots)), 3), 2.6*vg.Inch, title, sub)
	for _, p := range plots {
		p.X.Label.Text, p.Y.Label.Text = "", ""
	}
	f.xLabel, f.yLabel = xl, yl
	return f
}

// leftOut is a footnote naming the columns a figure leaves out, if any.
func leftOut(left []string) string {
	if len(left) == 0 {
		return ""
	}
	return "Left out: " + strings.Join(left, "; ") + "."
}

// spendOf returns the column's values in media_spend.csv, if it holds them: the model's
// own m_* columns, or an allocation channel whose spend_col is the column.
func (in *inputs) spendOf(column string) ([]float64, bool) {
	spend, err := in.mediaSpend()
	if err != nil {
		return nil, false
	}
	label := column
	if s, err := in.modelSpec(); err == nil && s.MediaSpendFromChannels {
		label = ""
		for _, ch := range s.Channels {
			if ch.SpendCol == column {
				label = ch.Name
				break
			}
		}
	}
	i := slices.Index(spend.Labels, label)
	if label == "" || i < 0 {
		return nil, false
	}
	return finiteOnly(spend.Spend[i]), true
}

// saturationCurve returns, over spend x, the 5% quantile, mean and 95% quantile over the
// draws of coef · h(x) (coef nil: h alone).
func saturationCurve(ct columnTransform, coef []float64, x []float64) (lo, mean, hi []float64) {
	n := ct.draws()
	if coef != nil {
		n = max(n, len(coef))
	}
	lo, mean, hi = make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
	v := make([]float64, n)
	for i, s := range x {
		for d := range n {
			v[d] = ingest.HillValue(s, ct.half.at(d%len(ct.half.values)), ct.shape.at(d%len(ct.shape.values)))
			if coef != nil {
				v[d] *= coef[d%len(coef)]
			}
		}
		lo[i], mean[i], hi[i] = quantiles90(v)
	}
	return lo, mean, hi
}

func drawSaturationCurves(in *inputs) (*figure, error) {
	ts, err := in.transforms()
	if err != nil {
		return nil, err
	}
	ts, left := usable(ts, true)
	if len(ts) == 0 {
		if len(left) > 0 {
			return nil, skipf("no saturation curve can be drawn: %s", strings.Join(left, "; "))
		}
		return nil, skipf("no column of the model has Hill saturation")
	}
	draws, err := in.draws()
	if err != nil {
		return nil, err
	}
	unit := in.responseName() + " units"
	if in.isLog() {
		unit = "log " + in.responseName()
	}
	var plots []*plot.Plot
	withCoef := 0
	for k, ct := range ts {
		coef, ok := draws.Column(ct.column)
		if ok {
			coef = finiteOnly(coef)
			withCoef++
		}
		if len(coef) == 0 {
			coef = nil
		}
		spend, hasSpend := in.spendOf(ct.column)
		lo, hiSpend := 0.0, 0.0
		if hasSpend && len(spend) > 0 {
			lo, hiSpend = slices.Min(spend), slices.Max(spend)
		}
		_, halfMean, halfHi := quantiles90(ct.half.values)
		top := math.Max(1.25*hiSpend, 2*math.Max(halfMean, halfHi))
		const n = 121
		x := make([]float64, n)
		for i := range x {
			x[i] = top * float64(i) / (n - 1)
		}
		qlo, mean, qhi := saturationCurve(ct, coef, x)
		p := newPlot()
		p.Add(gridLines{true, true})
		c := paletteAt(k)
		if hasSpend && hiSpend > lo {
			ymax := slices.Max(qhi)
			p.Add(rects{{lo, hiSpend, 0, ymax, alpha(colMuted, 0.12)}})
		}
		p.Add(&band{x: x, lo: qlo, hi: qhi, fill: alpha(c, 0.3)})
		p.Add(newSeries(x, mean, c, 1.8))
		p.X.Min, p.X.Max, p.Y.Min = 0, top, 0
		p.Title.Text = fmt.Sprintf("%s   half %s, shape %s", ct.column, ct.half.summary(), ct.shape.summary())
		yl := "Contribution per row (" + unit + ")"
		if coef == nil {
			yl = "h(spend)"
		}
		p.X.Label.Text, p.Y.Label.Text = "Spend per row ("+ct.column+")", yl
		plots = append(plots, p)
	}
	sub := "Steady state: constant spend s per row has adstock s, so a channel contributes coefficient · h(s), h(s) = s^shape / (s^shape + half_saturation^shape); posterior mean with its 90% band, the shaded span is the data's spend range"
	yl := "Contribution per row (" + unit + ")"
	if withCoef == 0 {
		sub = "h(s) = s^shape / (s^shape + half_saturation^shape) at constant spend s per row; posterior mean with its 90% band, the shaded span is the data's spend range"
		yl = "h(spend)"
	}
	f := facetOrSingle(plots, "Saturation curves", sub, "Spend per row", yl)
	f.note = leftOut(left)
	f.legend = []legendEntry{
		{"Posterior mean", lineThumb{draw.LineStyle{Color: colText, Width: vg.Points(1.8)}}},
		{"90% band", swatch{alpha(colMuted, 0.3)}},
		{"Spend range in the data", swatch{alpha(colMuted, 0.12)}},
	}
	return f, nil
}

// transformPrior is a transform parameter's prior density, or why it is not drawn.
type transformPrior struct {
	label  string
	pdf    func(x float64) float64 // nil: not drawn
	centre float64                 // TransformPrior.Centre
}

// priorOf returns the prior density of an estimated transform parameter, as model_spec.json
// records it (the default or an override); nil pdf when it records none.
func priorOf(p transformParam) transformPrior {
	if p.prior == nil {
		return transformPrior{label: "prior not recorded in model_spec.json"}
	}
	pr := ingest.TransformPrior{Family: p.prior.Family, A: float64(p.prior.A), B: float64(p.prior.B), Default: p.prior.Default}
	source := "prior"
	if !pr.Default {
		source = "prior (priors.overrides)"
	}
	return transformPrior{label: fmt.Sprintf("%s %s(%s, %s)", source, pr.Family, short(pr.A), short(pr.B)), pdf: priorPDF(pr), centre: pr.Centre()}
}

// short writes a prior parameter with three significant digits and no trailing zeros.
func short(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// priorPDF returns the density of p: beta(A, B); lognormal(meanlog A, sdlog B); gamma(shape
// A, rate B).
func priorPDF(p ingest.TransformPrior) func(float64) float64 {
	switch p.Family {
	case ingest.PriorBeta:
		lb, _ := math.Lgamma(p.A)
		lb2, _ := math.Lgamma(p.B)
		lab, _ := math.Lgamma(p.A + p.B)
		return func(x float64) float64 {
			if x <= 0 || x >= 1 {
				return 0
			}
			return math.Exp((p.A-1)*math.Log(x) + (p.B-1)*math.Log1p(-x) + lab - lb - lb2)
		}
	case ingest.PriorLognormal:
		return func(x float64) float64 {
			if x <= 0 {
				return 0
			}
			z := (math.Log(x) - p.A) / p.B
			return math.Exp(-z*z/2) / (x * p.B * math.Sqrt(2*math.Pi))
		}
	case ingest.PriorGamma:
		lg, _ := math.Lgamma(p.A)
		return func(x float64) float64 {
			if x <= 0 {
				return 0
			}
			return math.Exp(p.A*math.Log(p.B) + (p.A-1)*math.Log(x) - p.B*x - lg)
		}
	}
	return nil
}

func drawTransformPriorPosterior(in *inputs) (*figure, error) {
	if err := in.needDraws(); err != nil {
		return nil, err
	}
	ts, err := in.transforms()
	if err != nil {
		return nil, err
	}
	var plots []*plot.Plot
	for _, ct := range ts {
		for _, p := range ct.params() {
			if !p.estimated {
				continue
			}
			kind, _, _ := strings.Cut(p.name, "[")
			pp, err := transformDensityPanel(p, priorOf(p), kind == ingest.DecayParam)
			if err != nil {
				return nil, err
			}
			plots = append(plots, pp)
		}
	}
	if len(plots) == 0 {
		return nil, skipf("the model estimates no transform parameter (posterior_draws.csv has none of adstock_decay[…], half_saturation[…], hill_shape[…])")
	}
	f := facetOrSingle(plots, "Prior vs posterior of the transform parameters",
		"Densities in original units (half_saturation in the column's spend units); a posterior much narrower than its prior means the data inform the parameter", "Value", "Density")
	f.legend = []legendEntry{
		{"Posterior", swatch{alpha(colFitted, 0.35)}},
		{"Prior", lineThumb{draw.LineStyle{Color: colObserved, Width: vg.Points(1.6), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}}},
	}
	return f, nil
}

// transformDensityPanel draws one parameter's posterior density (reflected at 0, and at 1
// for a decay) and its prior density. A decay is shown over all of [0, 1]; the others over
// the posterior's range (0.5% to 97.5% quantiles, widened by a quarter), widened to take in the prior's centre when that does not squash
// the posterior.
func transformDensityPanel(p transformParam, prior transformPrior, unit bool) (*plot.Plot, error) {
	if len(p.values) < 10 {
		return nil, fmt.Errorf("report: %s has %d finite draws; need at least 10", p.name, len(p.values))
	}
	b := bound{0, math.Inf(1)}
	lo, hi := 0.0, 1.0
	if unit {
		b.Upper = 1
	} else {
		s := slices.Clone(p.values)
		slices.Sort(s)
		// The 97.5% quantile, not the 99.5%: half saturations have long right tails, which
		// would squash the bulk of the density against the axis.
		qlo, qhi := stat.Quantile(0.005, stat.Empirical, s, nil), stat.Quantile(0.975, stat.Empirical, s, nil)
		span := qhi - qlo
		if !(span > 0) {
			span = math.Max(math.Abs(qlo)*0.1, 1e-9)
		}
		lo, hi = math.Max(0, qlo-0.25*span), qhi+0.25*span
		if c := prior.centre; prior.pdf != nil && finite(c) && math.Max(hi, c)-math.Min(lo, c) <= 4*span {
			lo, hi = math.Max(0, math.Min(lo, c-0.2*span)), math.Max(hi, c+0.2*span)
		}
	}
	const n = 256
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*float64(i)/(n-1)
	}
	post := kde(p.values, x, b)
	pl := newPlot()
	pl.Add(gridLines{true, true})
	pl.Add(&band{x: x, lo: make([]float64, n), hi: post, fill: alpha(colFitted, 0.35)})
	pl.Add(newSeries(x, post, colFitted, 1.4))
	if prior.pdf != nil {
		pri := make([]float64, n)
		for i, v := range x {
			pri[i] = prior.pdf(v)
		}
		pl.Add(newSeries(x, pri, colObserved, 1.6, vg.Points(4), vg.Points(2)))
	}
	pl.X.Min, pl.X.Max, pl.Y.Min = lo, hi, 0
	pl.Title.Text = p.name + "\n" + prior.label
	pl.X.Label.Text, pl.Y.Label.Text = p.name, "Density"
	return pl, nil
}
