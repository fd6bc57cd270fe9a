package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/internal/acf"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/posterior"
)

// fitData is fitted_values.csv, on the KPI scale (the kpi_* columns of a log model) as
// fit_metrics.csv reports it.
type fitData struct {
	x     []float64 // Unix seconds of the date, or the row number
	dated bool
	// group is each row's group label ("" for one market); groups lists them in order of
	// first appearance; factor names the grouping ("market", or "market × brand").
	group  []string
	groups []string
	factor string
	// scopes maps a group label to its fit_metrics.csv scope ("market=north").
	scopes map[string]string

	observed, mean, q5, q95, predLo, predHi []float64
	// latentObs and latentMean are the log-scale columns of a log model (nil otherwise).
	latentObs, latentMean []float64
	response              string // the KPI's name, for axis labels
}

// fitData reads fitted_values.csv.
func (in *inputs) fitData() (*fitData, error) {
	t, err := in.fitted()
	if err != nil {
		return nil, err
	}
	d := &fitData{response: in.responseName(), scopes: map[string]string{}}
	d.observed, d.mean, d.q5, d.q95, d.predLo, d.predHi = t.Observed, t.Model.Mean, t.Model.Q5, t.Model.Q95, t.Model.PredLo95, t.Model.PredHi95
	if t.KPI != nil {
		d.latentObs, d.latentMean = t.Observed, t.Model.Mean
		d.observed, d.mean, d.q5, d.q95, d.predLo, d.predHi = t.KPIObserved, t.KPI.Mean, t.KPI.Q5, t.KPI.Q95, t.KPI.PredLo95, t.KPI.PredHi95
	}
	d.setKeys(t.Factors, t.Keys)
	return d, nil
}

// setKeys sets the rows' x axis and groups from their keys.
func (d *fitData) setKeys(factors []string, keys []posterior.RowKey) {
	d.factor = strings.Join(factors, " × ")
	d.group = make([]string, len(keys))
	if len(factors) > 0 {
		for i, k := range keys {
			scope := make([]string, len(factors))
			for j, fct := range factors {
				scope[j] = fct + "=" + k.Groups[j]
			}
			g := strings.Join(k.Groups, " / ")
			d.group[i] = g
			if _, seen := d.scopes[g]; !seen {
				d.scopes[g] = strings.Join(scope, ",")
				d.groups = append(d.groups, g)
			}
		}
	}
	d.x, d.dated = keyAxis(keys)
}

var dateLayouts = []string{"2006-01-02", time.RFC3339, "2006-01-02 15:04:05", "2006/01/02", "2006-01"}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, l := range dateLayouts {
		var t time.Time
		if t, err = time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// formula returns the model formula from run.json, else from the config.
func (in *inputs) formula() string {
	if r, err := in.runInfo(); err == nil && r.Formula != "" {
		return r.Formula
	}
	if c, err := in.runConfig(); err == nil {
		return c.Model.Formula
	}
	return ""
}

// responseName returns the KPI's name from the formula's left side ("kpi" for "log(kpi)").
func (in *inputs) responseName() string {
	lhs, _, ok := strings.Cut(in.formula(), "~")
	lhs = strings.TrimSpace(lhs)
	if !ok || lhs == "" {
		return "KPI"
	}
	if strings.HasPrefix(lhs, "log(") && strings.HasSuffix(lhs, ")") {
		lhs = strings.TrimSpace(lhs[4 : len(lhs)-1])
	}
	return strings.Trim(lhs, "`")
}

// panel is the rows of one group, in time order.
type panel struct {
	label string
	rows  []int
}

// panels splits the rows by group (one panel for a single market), at most MaxFacets of
// them; the note says how many were left out.
func (d *fitData) panels() (ps []panel, note string) {
	if len(d.groups) == 0 {
		rows := make([]int, len(d.x))
		for i := range rows {
			rows[i] = i
		}
		return []panel{{rows: d.sorted(rows)}}, ""
	}
	byGroup := map[string][]int{}
	for i, g := range d.group {
		byGroup[g] = append(byGroup[g], i)
	}
	for _, g := range d.groups {
		ps = append(ps, panel{label: g, rows: d.sorted(byGroup[g])})
	}
	if len(ps) > MaxFacets {
		note = fmt.Sprintf("Showing the first %d of %d groups (%s); every group is in fitted_values.csv.", MaxFacets, len(ps), d.factor)
		ps = ps[:MaxFacets]
	}
	return ps, note
}

func (d *fitData) sorted(rows []int) []int {
	slices.SortStableFunc(rows, func(a, b int) int { return num.Compare(d.x[a], d.x[b]) })
	return rows
}

func pick[T any](v []T, rows []int) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = v[r]
	}
	return out
}

func (d *fitData) xLabel() string {
	if d.dated {
		return "Date"
	}
	return "Row"
}

// styleX sets a plot's x axis for the rows: calendar ticks when dated.
func (d *fitData) styleX(p *plot.Plot, maxTicks int) {
	if d.dated {
		p.X.Tick.Marker = dateTicks{max: maxTicks}
	}
}

// metrics reads fit_metrics.csv by scope (nil without the file).
func (in *inputs) metrics() map[string]*posterior.FitMetrics {
	rows, err := in.fitMetrics()
	if err != nil {
		return nil
	}
	out := map[string]*posterior.FitMetrics{}
	for i := range rows {
		out[rows[i].Scope] = &rows[i]
	}
	return out
}

// metricsLine formats a scope's fit metrics for a subtitle.
func metricsLine(m *posterior.FitMetrics, short bool) string {
	if m == nil {
		return ""
	}
	var parts []string
	add := func(v float64, format string, scale float64) {
		if finite(v) {
			parts = append(parts, fmt.Sprintf(format, num.Sig(v*scale, 3)))
		}
	}
	add(m.R2, "R² %s", 1)
	add(m.RMSE, "RMSE %s", 1)
	if short {
		return strings.Join(parts, " · ")
	}
	add(m.MAE, "MAE %s", 1)
	add(m.MeanError, "bias %s", 1)
	add(m.SMAPE, "sMAPE %s%%", 100)
	add(m.Coverage95, "95%% PI coverage %s%%", 100)
	add(m.ACF1, "residual lag-1 ACF %s", 1)
	parts = append(parts, fmt.Sprintf("n = %d", m.N))
	return strings.Join(parts, " · ")
}

// facetTitle is a panel's title: its group and, when known, its R².
func facetTitle(label string, m *posterior.FitMetrics) string {
	if m != nil && finite(m.R2) {
		return fmt.Sprintf("%s  (R² %s)", label, num.Sig(m.R2, 2))
	}
	return label
}

// timeFacets draws one plot per panel with fill, and lays them out with shared labels.
func (d *fitData) timeFacets(fill func(p *plot.Plot, rows []int), title, subtitle, yLabel string) *figure {
	ps, note := d.panels()
	if len(ps) == 1 {
		p := newPlot()
		p.Add(gridLines{true, true})
		fill(p, ps[0].rows)
		d.styleX(p, 8)
		p.X.Label.Text, p.Y.Label.Text = d.xLabel(), yLabel
		f := single(p, title, subtitle)
		return f
	}
	plots := make([]*plot.Plot, len(ps))
	cols := min(facetCols(len(ps)), 3)
	for i, pn := range ps {
		p := newPlot()
		p.Add(gridLines{true, true})
		fill(p, pn.rows)
		d.styleX(p, 5)
		p.Title.Text = pn.label
		plots[i] = p
	}
	f := facets(plots, cols, 2.2*vg.Inch, title, subtitle)
	f.xLabel, f.yLabel, f.note = d.xLabel(), yLabel, note
	return f
}

func drawFitTimeseries(in *inputs) (*figure, error) {
	d, err := in.fitData()
	if err != nil {
		return nil, err
	}
	ms := in.metrics()
	fill := func(p *plot.Plot, rows []int) {
		x := pick(d.x, rows)
		p.Add(&band{x: x, lo: pick(d.predLo, rows), hi: pick(d.predHi, rows), fill: alpha(colFitted, 0.18)})
		p.Add(newSeries(x, pick(d.observed, rows), colObserved, 1.1))
		p.Add(newSeries(x, pick(d.mean, rows), colFitted, 1.3))
	}
	f := d.timeFacets(fill, "Observed vs fitted "+d.response, metricsLine(ms["all"], false), d.response)
	if len(d.groups) > 0 {
		for r := range f.grid {
			for _, p := range f.grid[r] {
				if p != nil {
					label := p.Title.Text
					p.Title.Text = facetTitle(label, ms[d.scopes[label]])
				}
			}
		}
	}
	f.legend = []legendEntry{
		{"Observed", lineThumb{draw.LineStyle{Color: colObserved, Width: vg.Points(1.5)}}},
		{"Fitted (posterior mean)", lineThumb{draw.LineStyle{Color: colFitted, Width: vg.Points(1.5)}}},
		{"95% predictive interval", swatch{alpha(colFitted, 0.18)}},
	}
	return f, nil
}

// groupColors colours rows by group when there are few enough groups to tell apart.
func (d *fitData) groupColors() ([]color.Color, []legendEntry) {
	if len(d.groups) < 2 || len(d.groups) > len(palette) {
		return nil, nil
	}
	idx := map[string]int{}
	var legend []legendEntry
	for i, g := range d.groups {
		idx[g] = i
		legend = append(legend, legendEntry{g, dotThumb{draw.GlyphStyle{Color: paletteAt(i), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}}})
	}
	cs := make([]color.Color, len(d.group))
	for i, g := range d.group {
		cs[i] = alpha(paletteAt(idx[g]), 0.75)
	}
	return cs, legend
}

func drawFitScatter(in *inputs) (*figure, error) {
	d, err := in.fitData()
	if err != nil {
		return nil, err
	}
	p := newPlot()
	p.Add(gridLines{true, true})
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range d.observed {
		if finite(d.observed[i], d.mean[i]) {
			lo = math.Min(lo, math.Min(d.observed[i], d.mean[i]))
			hi = math.Max(hi, math.Max(d.observed[i], d.mean[i]))
		}
	}
	if !(lo < hi) {
		return nil, fmt.Errorf("report: fitted_values.csv has no finite observed and fitted pairs")
	}
	pad := (hi - lo) * 0.04
	lo, hi = lo-pad, hi+pad
	p.Add(&segments{x0: []float64{lo}, y0: []float64{lo}, x1: []float64{hi}, y1: []float64{hi},
		sty: refStyle(colRef, true)})
	pts := newDots(d.observed, d.mean, alpha(colFitted, 0.6), 2.2)
	cs, legend := d.groupColors()
	pts.colors = cs
	p.Add(pts)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
	p.X.Label.Text = "Observed " + d.response
	p.Y.Label.Text = "Fitted " + d.response + " (posterior mean)"
	f := single(p, "Observed vs fitted "+d.response, metricsLine(in.metrics()["all"], false))
	f.width, f.height = 7*vg.Inch, 6.2*vg.Inch
	f.legend = append([]legendEntry{{"Perfect fit (y = x)", lineThumb{refStyle(colRef, true)}}}, legend...)
	return f, nil
}

func drawPPC(in *inputs) (*figure, error) {
	if err := in.needDraws(); err != nil {
		return nil, err
	}
	d, err := in.fitData()
	if err != nil {
		return nil, err
	}
	fill := func(p *plot.Plot, rows []int) {
		x := pick(d.x, rows)
		p.Add(&band{x: x, lo: pick(d.predLo, rows), hi: pick(d.predHi, rows), fill: alpha(colFitted, 0.15)})
		p.Add(&band{x: x, lo: pick(d.q5, rows), hi: pick(d.q95, rows), fill: alpha(colFitted, 0.35)})
		p.Add(newSeries(x, pick(d.mean, rows), colFitted, 1.2))
		p.Add(newDots(x, pick(d.observed, rows), colObserved, 1.6))
	}
	sub := ""
	if m := in.metrics()["all"]; m != nil && finite(m.Coverage95) {
		sub = fmt.Sprintf("%s%% of observations fall inside their 95%% predictive interval (expect about 95%%)", num.Sig(100*m.Coverage95, 3))
	}
	f := d.timeFacets(fill, "Posterior predictive check: "+d.response, sub, d.response)
	f.legend = []legendEntry{
		{"Observed", dotThumb{draw.GlyphStyle{Color: colObserved, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}}},
		{"Posterior mean", lineThumb{draw.LineStyle{Color: colFitted, Width: vg.Points(1.5)}}},
		{"90% interval of the mean", swatch{alpha(colFitted, 0.45)}},
		{"95% predictive interval", swatch{alpha(colFitted, 0.15)}},
	}
	return f, nil
}

// residuals returns observed − fitted per row.
func residuals(obs, fit []float64) []float64 {
	r := make([]float64, len(obs))
	for i := range r {
		r[i] = obs[i] - fit[i]
	}
	return r
}

func finiteOnly(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if finite(x) {
			out = append(out, x)
		}
	}
	return out
}

func rms(v []float64) float64 {
	v = finiteOnly(v)
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(len(v)))
}

func drawResidualsTime(in *inputs) (*figure, error) {
	d, err := in.fitData()
	if err != nil {
		return nil, err
	}
	res := residuals(d.observed, d.mean)
	fill := func(p *plot.Plot, rows []int) {
		x, r := pick(d.x, rows), pick(res, rows)
		s := rms(r)
		p.Add(hline(0, colRef, false))
		p.Add(hline(2*s, colMuted, true), hline(-2*s, colMuted, true))
		p.Add(newSeries(x, r, alpha(colFitted, 0.5), 0.7))
		p.Add(newDots(x, r, colFitted, 1.5))
	}
	f := d.timeFacets(fill, "Residuals over time", "Residual = observed − fitted "+d.response+"; dashed lines at ±2 RMSE", "Residual")
	return f, nil
}

func drawResidualsVsFitted(in *inputs) (*figure, error) {
	d, err := in.fitData()
	if err != nil {
		return nil, err
	}
	res := residuals(d.observed, d.mean)
	p := newPlot()
	p.Add(gridLines{true, true})
	p.Add(hline(0, colRef, false))
	pts := newDots(d.mean, res, alpha(colFitted, 0.55), 2)
	cs, legend := d.groupColors()
	pts.colors = cs
	p.Add(pts)
	bx, by := binnedMeans(d.mean, res, 10)
	p.Add(newSeries(bx, by, colText, 1.6))
	p.X.Label.Text = "Fitted " + d.response + " (posterior mean)"
	p.Y.Label.Text = "Residual (observed − fitted)"
	f := single(p, "Residuals vs fitted", "A flat binned mean and an even spread are what a well-specified model gives")
	f.legend = append([]legendEntry{{"Binned mean (deciles of fitted)", lineThumb{draw.LineStyle{Color: colText, Width: vg.Points(1.6)}}}}, legend...)
	return f, nil
}

// binnedMeans returns the mean of y within k equal-count bins of x, at each bin's mean x.
func binnedMeans(x, y []float64, k int) (bx, by []float64) {
	idx := make([]int, 0, len(x))
	for i := range x {
		if finite(x[i], y[i]) {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2*k {
		return nil, nil
	}
	slices.SortFunc(idx, func(a, b int) int { return num.Compare(x[a], x[b]) })
	for b := range k {
		lo, hi := b*len(idx)/k, (b+1)*len(idx)/k
		var sx, sy float64
		for _, i := range idx[lo:hi] {
			sx += x[i]
			sy += y[i]
		}
		n := float64(hi - lo)
		bx, by = append(bx, sx/n), append(by, sy/n)
	}
	return bx, by
}

func drawResidualsHist(in *inputs) (*figure, error) {
	d, err := in.fitData()
	if err != nil {
		return nil, err
	}
	res := finiteOnly(residuals(d.observed, d.mean))
	if len(res) < 2 {
		return nil, fmt.Errorf("report: fewer than 2 finite residuals in fitted_values.csv")
	}
	mean, sd := stat.MeanStdDev(res, nil)
	lo, hi := slices.Min(res), slices.Max(res)
	if !(hi > lo) {
		return nil, fmt.Errorf("report: every residual is %g", lo)
	}
	bins := int(math.Ceil(math.Sqrt(float64(len(res)))))
	bins = max(10, min(bins, 60))
	w := (hi - lo) / float64(bins)
	counts := make([]float64, bins)
	for _, r := range res {
		counts[min(bins-1, int((r-lo)/w))]++
	}
	var bars rects
	for b, c := range counts {
		x0 := lo + float64(b)*w
		bars = append(bars, rect{x0 + w*0.04, x0 + w*0.96, 0, c / (float64(len(res)) * w), alpha(colFitted, 0.7)})
	}
	p := newPlot()
	p.Add(gridLines{false, true})
	p.Add(bars)
	nx := make([]float64, 200)
	ny := make([]float64, 200)
	for i := range nx {
		nx[i] = lo - w + (hi-lo+2*w)*float64(i)/199
		z := (nx[i] - mean) / sd
		ny[i] = math.Exp(-z*z/2) / (sd * math.Sqrt(2*math.Pi))
	}
	p.Add(newSeries(nx, ny, colObserved, 1.8))
	p.Add(vline(0, colRef, true))
	p.Y.Max *= 1.06 // headroom above the tallest bar
	p.X.Label.Text = "Residual (observed − fitted " + d.response + ")"
	p.Y.Label.Text = "Density"
	f := single(p, "Distribution of residuals", fmt.Sprintf("mean %s · sd %s · n = %d", num.Sig(mean, 3), num.Sig(sd, 3), len(res)))
	f.legend = []legendEntry{
		{"Residuals", swatch{alpha(colFitted, 0.7)}},
		{"Normal with the residuals' mean and sd", lineThumb{draw.LineStyle{Color: colObserved, Width: vg.Points(1.8)}}},
	}
	return f, nil
}

func drawACF(d *fitData, obs, fit []float64, title, sub string) (*figure, error) {
	res := residuals(obs, fit)
	ps, _ := d.panels()
	if len(d.groups) > MaxFacets {
		// Every group counts here, not only the ones a facet grid shows.
		ps = nil
		byGroup := map[string][]int{}
		for i, g := range d.group {
			byGroup[g] = append(byGroup[g], i)
		}
		for _, g := range d.groups {
			ps = append(ps, panel{label: g, rows: d.sorted(byGroup[g])})
		}
	}
	var series [][]float64
	shortest := math.MaxInt
	for _, p := range ps {
		// Pooled as fit_metrics.csv's acf1 is; only finite residuals of series long
		// enough to have a lag count.
		if s := finiteOnly(pick(res, p.rows)); len(s) >= 2 {
			series = append(series, s)
		}
		shortest = min(shortest, len(p.rows))
	}
	maxLag := min(26, shortest/3)
	if maxLag < 1 {
		return nil, fmt.Errorf("report: too few rows per series (%d) for an autocorrelation plot", shortest)
	}
	r, n := acf.Pooled(series, maxLag)
	lags := make([]float64, maxLag)
	zero := make([]float64, maxLag)
	for l := range lags {
		lags[l] = float64(l + 1)
	}
	p := newPlot()
	p.Add(gridLines{false, true})
	p.Add(hline(0, colRef, false))
	ci := 1.96 / math.Sqrt(float64(n))
	p.Add(hline(ci, colBad, true), hline(-ci, colBad, true))
	p.Add(&segments{x0: lags, y0: zero, x1: lags, y1: r, sty: draw.LineStyle{Color: colFitted, Width: vg.Points(3)}})
	p.Add(newDots(lags, r, colFitted, 2.2))
	p.X.Label.Text = "Lag (rows)"
	p.Y.Label.Text = "Autocorrelation of residuals"
	p.X.Min, p.X.Max = 0.3, float64(maxLag)+0.7
	f := single(p, title, sub)
	f.legend = []legendEntry{{"95% bounds for no autocorrelation (±1.96/√n)", lineThumb{refStyle(colBad, true)}}}
	return f, nil
}

func drawResidualsACF(in *inputs) (*figure, error) {
	d, err := in.fitData()
	if err != nil {
		return nil, err
	}
	sub := "Residual = observed − fitted " + d.response
	if len(d.groups) > 0 {
		sub += "; pooled within each " + d.factor
	}
	return drawACF(d, d.observed, d.mean, "Autocorrelation of residuals", sub)
}

func drawResidualsLatentACF(in *inputs) (*figure, error) {
	if in.formula() != "" && !in.isLog() {
		return nil, skipf("the response is not modelled on the log scale")
	}
	d, err := in.fitData()
	if err != nil {
		return nil, err
	}
	if d.latentObs == nil {
		return nil, skipf("the response is not modelled on the log scale")
	}
	return drawACF(d, d.latentObs, d.latentMean, "Autocorrelation of residuals on the log scale",
		"Residual = log(observed) − fitted log("+d.response+")")
}
