package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/runfolder"
)

// allocation is 60_optimisation/allocation.csv.
type allocation struct {
	channels                             []string
	current, optimised, curMean, optMean []float64
	curEff, optEff                       []float64
	effName                              string // "roi" or "cpa"
}

func (in *inputs) allocation() (*allocation, error) {
	t, err := load(in, runfolder.StageOptimisation, runfolder.Allocation, "", optimise.ReadAllocation)
	if err != nil {
		return nil, err
	}
	a := &allocation{effName: t.Efficiency}
	for _, r := range t.Rows {
		a.channels = append(a.channels, r.Channel)
		a.current, a.optimised = append(a.current, r.CurrentSpend), append(a.optimised, r.OptimisedSpend)
		a.curMean, a.optMean = append(a.curMean, r.Current.Mean), append(a.optMean, r.Optimised.Mean)
		a.curEff, a.optEff = append(a.curEff, r.CurrentEff), append(a.optEff, r.OptimisedEff)
	}
	return a, nil
}

func (in *inputs) budgetSummary() (*optimise.Summary, error) {
	return load(in, runfolder.StageOptimisation, runfolder.OptimisationSummary, "", optimise.ReadSummary)
}

var (
	colCurrent   = rgb(0x9a, 0xa5, 0xb1)
	colOptimised = colFitted
	colUp        = colGood
	colDown      = colBad
)

func drawResponseCurves(in *inputs) (*figure, error) {
	curves, err := load(in, runfolder.StageOptimisation, runfolder.ResponseCurves, "", optimise.ReadResponseCurves)
	if err != nil {
		return nil, err
	}
	n := len(curves)
	ch := make([]string, n)
	spend, mean, lo, hi := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, c := range curves {
		ch[i], spend[i], mean[i], lo[i], hi[i] = c.Channel, c.Spend, c.Contribution.Mean, c.Contribution.Q05, c.Contribution.Q95
	}
	alloc, aerr := in.allocation()
	var channels []string
	rows := map[string][]int{}
	for i, c := range ch {
		if _, ok := rows[c]; !ok {
			channels = append(channels, c)
		}
		rows[c] = append(rows[c], i)
	}
	var plots []*plot.Plot
	for _, c := range channels {
		r := rows[c]
		slices.SortStableFunc(r, func(a, b int) int { return num.Compare(spend[a], spend[b]) })
		p := newPlot()
		p.Add(gridLines{true, true})
		x := pick(spend, r)
		p.Add(&band{x: x, lo: pick(lo, r), hi: pick(hi, r), fill: alpha(colFitted, 0.2)})
		p.Add(newSeries(x, pick(mean, r), colFitted, 1.5))
		if aerr == nil {
			if k := slices.Index(alloc.channels, c); k >= 0 {
				p.Add(&dots{x: []float64{alloc.current[k]}, y: []float64{alloc.curMean[k]}, sty: glyph(colObserved, 4)})
				p.Add(&dots{x: []float64{alloc.optimised[k]}, y: []float64{alloc.optMean[k]},
					sty: draw.GlyphStyle{Color: colText, Radius: vg.Points(4), Shape: draw.PyramidGlyph{}}})
			}
		}
		p.Title.Text = c
		p.Y.Min = math.Min(p.Y.Min, 0)
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return nil, skipf("response_curves.csv has no rows")
	}
	title, sub := "Response curves by channel", "Modelled contribution per row at each spend level: posterior mean and 90% interval"
	var f *figure
	if len(plots) == 1 {
		plots[0].X.Label.Text, plots[0].Y.Label.Text = "Spend per row", "Contribution per row"
		f = single(plots[0], title, sub)
	} else {
		f = facets(plots, facetCols(len(plots)), 2.6*vg.Inch, title, sub)
		f.xLabel, f.yLabel = "Spend per row", "Contribution per row"
	}
	f.legend = []legendEntry{
		{"Posterior mean", lineThumb{draw.LineStyle{Color: colFitted, Width: vg.Points(1.5)}}},
		{"90% interval", swatch{alpha(colFitted, 0.2)}},
	}
	if aerr == nil {
		f.legend = append(f.legend,
			legendEntry{"Current spend", dotThumb{glyph(colObserved, 4)}},
			legendEntry{"Optimised spend", dotThumb{draw.GlyphStyle{Color: colText, Radius: vg.Points(4), Shape: draw.PyramidGlyph{}}}})
	}
	return f, nil
}

// channelBars draws, per channel, bars of each series (side by side within the row).
func channelBars(names []string, series [][]float64, colors []color.Color) *plot.Plot {
	p := newPlot()
	y := nominalY(p, names)
	p.Add(gridLines{vertical: true})
	var bars rects
	var lx, ly []float64
	var lt []string
	h := 0.8 / float64(len(series))
	for k := range names {
		for s, v := range series {
			y0 := y(k) + 0.4 - float64(s+1)*h
			if !finite(v[k]) {
				lx, ly, lt = append(lx, 0), append(ly, y0+h/2), append(lt, "n/a")
				continue
			}
			bars = append(bars, rect{0, v[k], y0 + h*0.08, y0 + h*0.92, colors[s]})
			lx, ly, lt = append(lx, v[k]), append(ly, y0+h/2), append(lt, num.Sig(v[k], 3))
		}
	}
	p.Add(bars)
	p.Add(vline(0, colText, false))
	p.Add(endLabels(lx, ly, lt, textStyle(8, false, colMuted))...)
	if xmin, xmax, _, _ := bars.DataRange(); finite(xmin, xmax) {
		pad := 0.15 * (math.Max(xmax, 0) - math.Min(xmin, 0))
		p.X.Min, p.X.Max = math.Min(xmin, 0)-pad*btoi(xmin < 0), math.Max(xmax, 0)+pad
	}
	return p
}

func drawROI(in *inputs) (*figure, error) {
	a, err := in.allocation()
	if err != nil {
		return nil, err
	}
	p := channelBars(a.channels, [][]float64{a.curEff, a.optEff}, []color.Color{colCurrent, colOptimised})
	title, label := "Return on investment by channel", "ROI: contribution per unit of spend"
	if a.effName == "cpa" {
		title, label = "Cost per acquisition by channel", "CPA: spend per unit of KPI (lower is better)"
	}
	p.X.Label.Text = label
	f := single(p, title, "Posterior mean at the current and the optimised allocation; n/a where a channel gets no spend")
	f.height = max(4*vg.Inch, vg.Length(0.55*float64(len(a.channels))+1.8)*vg.Inch)
	f.legend = []legendEntry{{"Current", swatch{colCurrent}}, {"Optimised", swatch{colOptimised}}}
	return f, nil
}

func drawImpact(in *inputs) (*figure, error) {
	a, err := in.allocation()
	if err != nil {
		return nil, err
	}
	dSpend := make([]float64, len(a.channels))
	dResp := make([]float64, len(a.channels))
	for i := range dSpend {
		dSpend[i] = a.optimised[i] - a.current[i]
		dResp[i] = a.optMean[i] - a.curMean[i]
	}
	diverging := func(v []float64, names []string, label string) *plot.Plot {
		p := newPlot()
		y := nominalY(p, names)
		p.Add(gridLines{vertical: true})
		var bars rects
		lx, ly, lt := make([]float64, len(v)), make([]float64, len(v)), make([]string, len(v))
		for k, x := range v {
			c := colUp
			if x < 0 {
				c = colDown
			}
			bars = append(bars, rect{0, x, y(k) - 0.3, y(k) + 0.3, c})
			lx[k], ly[k], lt[k] = x, y(k), num.Sig(x, 3)
			if x > 0 {
				lt[k] = "+" + lt[k]
			}
		}
		p.Add(bars)
		p.Add(vline(0, colText, false))
		p.Add(endLabels(lx, ly, lt, textStyle(8.5, false, colText))...)
		xmin, xmax, _, _ := bars.DataRange()
		pad := 0.15 * math.Max(xmax-xmin, 1e-9)
		p.X.Min, p.X.Max = math.Min(xmin, 0)-pad, math.Max(xmax, 0)+pad
		p.X.Label.Text = label
		return p
	}
	left := diverging(dSpend, a.channels, "Spend change per row (optimised − current)")
	right := diverging(dResp, make([]string, len(a.channels)), "Contribution change per row")
	f := &figure{
		title:    "Budget reallocation and its impact",
		subtitle: "Left: where the optimiser moves spend; right: the change in each channel's posterior mean contribution",
		grid:     [][]*plot.Plot{{left, right}},
		width:    10 * vg.Inch,
		height:   max(4*vg.Inch, vg.Length(0.55*float64(len(a.channels))+1.8)*vg.Inch),
		legend:   []legendEntry{{"Increase", swatch{colUp}}, {"Decrease", swatch{colDown}}},
	}
	return f, nil
}

func drawFrontier(in *inputs) (*figure, error) {
	fr, err := load(in, runfolder.StageOptimisation, runfolder.Frontier, "", optimise.ReadFrontier)
	if err != nil {
		return nil, err
	}
	n := len(fr.Points)
	budget, mean, lo, hi := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, pt := range fr.Points {
		budget[i], mean[i], lo[i], hi[i] = pt.Budget, pt.KPI.Mean, pt.KPI.Q05, pt.KPI.Q95
	}
	idx := make([]int, len(budget))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return num.Compare(budget[a], budget[b]) })
	x := pick(budget, idx)
	p := newPlot()
	p.Add(gridLines{true, true})
	p.Add(&band{x: x, lo: pick(lo, idx), hi: pick(hi, idx), fill: alpha(colFitted, 0.2)})
	p.Add(newSeries(x, pick(mean, idx), colFitted, 1.6))
	p.Add(newDots(x, pick(mean, idx), colFitted, 2.2))
	legend := []legendEntry{
		{"Optimised total (posterior mean)", lineThumb{draw.LineStyle{Color: colFitted, Width: vg.Points(1.6)}}},
		{"90% interval", swatch{alpha(colFitted, 0.2)}},
	}
	if s, err := in.budgetSummary(); err == nil {
		if !math.IsNaN(s.BudgetTotal) {
			p.Add(vline(s.BudgetTotal, colMuted, true))
			legend = append(legend, legendEntry{"Scenario budget", lineThumb{refStyle(colMuted, true)}})
		}
		if !math.IsNaN(s.Current.Spend) && !math.IsNaN(s.Current.KPI.Mean) {
			p.Add(&dots{x: []float64{s.Current.Spend}, y: []float64{s.Current.KPI.Mean}, sty: glyph(colObserved, 4.5)})
			legend = append(legend, legendEntry{"Current allocation", dotThumb{glyph(colObserved, 4)}})
		}
	}
	p.X.Label.Text = "Total budget per row"
	p.Y.Label.Text = "Total media contribution per row"
	f := single(p, "Efficient frontier", "The best total contribution the optimiser finds at each total budget")
	f.legend = legend
	return f, nil
}

func drawSensitivity(in *inputs) (*figure, error) {
	sens, err := load(in, runfolder.StageOptimisation, runfolder.Sensitivity, "", optimise.ReadSensitivity)
	if err != nil {
		return nil, err
	}
	ch := make([]string, len(sens))
	change, delta := make([]float64, len(sens)), make([]float64, len(sens))
	for i, pt := range sens {
		ch[i], change[i], delta[i] = pt.Channel, pt.Change, pt.DeltaMean
	}
	var channels []string
	var changes []float64
	for i, c := range ch {
		if !slices.Contains(channels, c) {
			channels = append(channels, c)
		}
		if !slices.Contains(changes, change[i]) {
			changes = append(changes, change[i])
		}
	}
	slices.Sort(changes)
	spread := map[string]float64{}
	for i, c := range ch {
		spread[c] = math.Max(spread[c], math.Abs(delta[i]))
	}
	slices.SortStableFunc(channels, func(a, b string) int { return num.CompareDesc(spread[a], spread[b]) })
	p := newPlot()
	y := nominalY(p, channels)
	p.Add(gridLines{vertical: true})
	h := 0.7 / float64(len(changes))
	var bars rects
	var lx, ly []float64
	var lt []string
	for i, c := range ch {
		k := slices.Index(channels, c)
		s := slices.Index(changes, change[i])
		y0 := y(k) + 0.35 - float64(s+1)*h
		bars = append(bars, rect{0, delta[i], y0 + h*0.08, y0 + h*0.92, changeColor(change[i])})
		lx, ly = append(lx, delta[i]), append(ly, y0+h/2)
		lt = append(lt, num.Sig(delta[i], 3))
	}
	p.Add(bars)
	p.Add(vline(0, colText, false))
	p.Add(endLabels(lx, ly, lt, textStyle(8, false, colMuted))...)
	xmin, xmax, _, _ := bars.DataRange()
	pad := 0.18 * math.Max(xmax-xmin, 1e-9)
	p.X.Min, p.X.Max = math.Min(xmin, 0)-pad, math.Max(xmax, 0)+pad
	p.X.Label.Text = "Change in total contribution per row"
	f := single(p, "Sensitivity of the optimised plan", "Total contribution when one channel's optimised spend moves, the others fixed")
	f.height = max(4*vg.Inch, vg.Length(0.55*float64(len(channels))+1.8)*vg.Inch)
	for _, c := range changes {
		f.legend = append(f.legend, legendEntry{strings.Replace(fmt.Sprintf("Spend %+.0f%%", 100*c), "-", "−", 1), swatch{changeColor(c)}})
	}
	return f, nil
}

func changeColor(change float64) color.Color {
	if change < 0 {
		return colDown
	}
	return colUp
}

func btoi(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
