package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/runfolder"
)

// boundaryTol is the distance from a bound, in posterior sds, within which a draw counts as
// a hit (see the package documentation).
const boundaryTol = 0.25

func drawBoundaryHits(in *inputs) (*figure, error) {
	if err := in.needDraws(); err != nil {
		return nil, err
	}
	cfg, err := in.runConfig()
	if err != nil {
		return nil, err
	}
	type side struct {
		param, label string
		bound        float64
	}
	var sides []side
	for _, o := range cfg.Boundaries.Overrides {
		if o.Lower != nil && finite(*o.Lower) {
			sides = append(sides, side{o.Parameter, fmt.Sprintf("%s ≥ %s", o.Parameter, num.Sig(*o.Lower, 4)), *o.Lower})
		}
		if o.Upper != nil && finite(*o.Upper) {
			sides = append(sides, side{o.Parameter, fmt.Sprintf("%s ≤ %s", o.Parameter, num.Sig(*o.Upper, 4)), *o.Upper})
		}
	}
	if len(sides) == 0 {
		return nil, skipf("the config sets no finite coefficient bounds")
	}
	draws, err := in.draws()
	if err != nil {
		return nil, err
	}
	var names []string
	var share []float64
	for _, s := range sides {
		v, ok := draws.Column(s.param)
		if !ok {
			return nil, fmt.Errorf("report: %s has no column %q", in.f.Rel(runfolder.StagePostRun, runfolder.PosteriorDraws), s.param)
		}
		v = finiteOnly(v)
		if len(v) < 2 {
			return nil, fmt.Errorf("report: %s has %d finite draws", s.param, len(v))
		}
		names = append(names, s.label)
		share = append(share, boundaryShare(v, s.bound))
	}
	p := newPlot()
	y := nominalY(p, names)
	p.Add(gridLines{vertical: true})
	var bars rects
	lx, ly, lt := make([]float64, len(names)), make([]float64, len(names)), make([]string, len(names))
	for i, s := range share {
		c := colGood
		switch {
		case s > 0.10:
			c = colBad
		case s > 0.02:
			c = colOK
		}
		bars = append(bars, rect{0, 100 * s, y(i) - 0.3, y(i) + 0.3, c})
		lx[i], ly[i], lt[i] = 100*s, y(i), num.Sig(100*s, 2)+"%"
	}
	p.Add(vline(2, colOK, true), vline(10, colBad, true))
	p.Add(bars)
	ls := textStyle(8.5, false, colText)
	ls.YAlign = draw.YCenter
	p.Add(&labels{x: lx, y: ly, text: lt, sty: ls, dx: vg.Points(4)})
	p.X.Min = 0
	p.X.Max = math.Max(12, 100*slices.Max(share)*1.15)
	p.X.Label.Text = "Share of draws at the bound (%)"
	f := single(p, "Posterior draws at coefficient bounds",
		fmt.Sprintf("A draw counts when it lies within %g posterior sd of the bound; dashed lines at 2%% and 10%%", boundaryTol))
	f.height = max(3.5*vg.Inch, vg.Length(0.4*float64(len(names))+1.8)*vg.Inch)
	return f, nil
}

// boundaryShare returns the share of draws within boundaryTol posterior sds of bound.
func boundaryShare(draws []float64, bound float64) float64 {
	tol := boundaryTol * stat.StdDev(draws, nil)
	if !(tol > 0) {
		tol = 1e-9 * math.Max(1, math.Abs(bound))
	}
	hits := 0
	for _, x := range draws {
		if math.Abs(x-bound) <= tol {
			hits++
		}
	}
	return float64(hits) / float64(len(draws))
}

// policyMode returns the diagnostics policy of the run and its Rhat and ESS thresholds:
// the diagnostics report's, else the config's, else publish.
func (in *inputs) policyMode() (string, diagnostics.Convergence) {
	if rep, err := in.diagnosticsReport(); err == nil {
		if th, known := diagnostics.ConvergenceThresholds(rep.Mode); known {
			return rep.Mode, th
		}
	}
	if cfg, err := in.runConfig(); err == nil {
		if th, known := diagnostics.ConvergenceThresholds(cfg.Diagnostics.PolicyMode); known {
			return cfg.Diagnostics.PolicyMode, th
		}
	}
	th, _ := diagnostics.ConvergenceThresholds(diagnostics.ModePublish)
	return diagnostics.ModePublish, th
}

// maxRhatRows caps the parameters rhat_ess.png lists.
const maxRhatRows = 40

func drawRhatESS(in *inputs) (*figure, error) {
	rows, err := in.summary()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(rows))
	rhat, bulk, tail := make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		names[i], rhat[i], bulk[i], tail[i] = r.Parameter, r.Rhat, r.ESSBulk, r.ESSTail
	}
	mode, th := in.policyMode()
	idx := convergenceOrder(rhat, bulk, tail, th)
	if len(idx) == 0 {
		return nil, skipf("posterior_summary.csv has no Rhat or ESS (a MAP fit, or approximate draws, to which they do not apply)")
	}
	note := ""
	if len(idx) > maxRhatRows {
		note = fmt.Sprintf("Showing the %d parameters closest to (or beyond) the thresholds, of %d; all are in posterior_summary.csv.", maxRhatRows, len(idx))
		idx = idx[:maxRhatRows]
	}
	left, ry := rhatPanel(pick(names, idx), pick(rhat, idx), th)
	right := essPanel(ry, pick(bulk, idx), pick(tail, idx), th)
	h := max(4.5*vg.Inch, vg.Length(0.2*float64(len(idx))+1.9)*vg.Inch)
	f := &figure{
		title: "Convergence: Rhat and effective sample size",
		subtitle: fmt.Sprintf("Policy %s: Rhat warns above %g and fails above %g; bulk and tail ESS warn below %g and fail below %g",
			mode, th.RhatWarn, th.RhatFail, th.ESSWarn, th.ESSFail),
		grid:  [][]*plot.Plot{{left, right}},
		width: 10 * vg.Inch, height: h, note: note,
		legend: []legendEntry{
			{"Within threshold", dotThumb{glyph(colFitted, 3)}},
			{"Warn", dotThumb{glyph(colOK, 3)}},
			{"Fail", dotThumb{glyph(colBad, 3)}},
			{"Bulk ESS", dotThumb{glyph(colMuted, 3)}},
			{"Tail ESS", dotThumb{draw.GlyphStyle{Color: colMuted, Radius: vg.Points(3), Shape: draw.PyramidGlyph{}}}},
		},
	}
	return f, nil
}

// convergenceOrder returns the parameters with an Rhat or ESS, those closest to (or
// beyond) a warning first: on a common scale where 1 is at the warn threshold.
func convergenceOrder(rhat, bulk, tail []float64, th diagnostics.Convergence) []int {
	var idx []int
	score := make([]float64, len(rhat))
	for i := range rhat {
		if !finite(rhat[i]) && !finite(bulk[i]) {
			continue // a MAP fit, or a constant parameter
		}
		idx = append(idx, i)
		score[i] = math.Max((rhat[i]-1)/(th.RhatWarn-1), th.ESSWarn/math.Min(bulk[i], tail[i]))
		if !finite(score[i]) {
			score[i] = math.Inf(1)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return num.CompareDesc(score[a], score[b]) })
	return idx
}

// convergenceColor colours a value that fails, warns or passes.
func convergenceColor(bad, warn bool) color.Color {
	switch {
	case bad:
		return colBad
	case warn:
		return colOK
	}
	return colFitted
}

// rhatPanel draws each parameter's Rhat against the thresholds, one row each; ry are the
// rows' y values, for the ESS panel beside it.
func rhatPanel(names []string, rx []float64, th diagnostics.Convergence) (*plot.Plot, []float64) {
	left := newPlot()
	y := nominalY(left, names)
	left.Add(gridLines{vertical: true})
	ry := rowYs(y, len(names))
	rd := newDots(rx, ry, colFitted, 3)
	rd.colors = make([]color.Color, len(names))
	for k, v := range rx {
		rd.colors[k] = convergenceColor(v > th.RhatFail, v > th.RhatWarn)
	}
	left.Add(vline(1, colMuted, false))
	left.Add(vline(th.RhatWarn, colOK, true), vline(th.RhatFail, colBad, true))
	left.Add(rd)
	left.X.Label.Text = "Rhat (rank-normalised split)"
	xmin, xmax, _, _ := rd.DataRange()
	left.X.Min = math.Min(0.998, xmin)
	left.X.Max = math.Max(th.RhatFail+0.2*(th.RhatFail-1), xmax+0.002)
	return left, ry
}

// essPanel draws each parameter's bulk and tail ESS on a log scale against the thresholds.
func essPanel(ry, bx, tx []float64, th diagnostics.Convergence) *plot.Plot {
	right := newPlot()
	nominalY(right, make([]string, len(ry)))
	right.Add(gridLines{vertical: true})
	bd := newDots(bx, ry, colFitted, 3)
	td := newDots(tx, ry, colFitted, 3)
	td.sty.Shape = draw.PyramidGlyph{}
	bd.colors, td.colors = make([]color.Color, len(ry)), make([]color.Color, len(ry))
	for k := range ry {
		bd.colors[k] = convergenceColor(bx[k] < th.ESSFail, bx[k] < th.ESSWarn)
		td.colors[k] = convergenceColor(tx[k] < th.ESSFail, tx[k] < th.ESSWarn)
	}
	right.Add(vline(th.ESSWarn, colOK, true), vline(th.ESSFail, colBad, true))
	right.Add(bd, td)
	right.X.Scale = plot.LogScale{}
	right.X.Tick.Marker = logTicks{}
	right.X.Label.Text = "Effective sample size (log scale)"
	lo := math.Inf(1)
	hi := 0.0
	for _, v := range append(slices.Clone(bx), tx...) {
		if finite(v) && v > 0 {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	right.X.Min = math.Min(lo, th.ESSFail) / 1.5
	right.X.Max = math.Max(hi, th.ESSWarn) * 1.5
	return right
}

// logTicks labels a log axis at 1, 2 and 5 times powers of ten.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0 && lo < hi) {
		return nil
	}
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo && v <= hi {
				out = append(out, plot.Tick{Value: v, Label: num.Tick(v, v)})
			}
		}
	}
	return out
}

// Pareto k bands of PSIS-LOO (docs/dsambayes.md#psis-loo): good ≤ 0.5, ok ≤ 0.7, bad ≤ 1, very bad above.
var kBands = []struct {
	upper float64
	label string
	c     color.RGBA
}{
	{0.5, "k ≤ 0.5 reliable", colGood},
	{0.7, "0.5 < k ≤ 0.7 acceptable", colOK},
	{1, "0.7 < k ≤ 1 unreliable", colBad},
	{math.Inf(1), "k > 1 PSIS fails", colVeryBad},
}

func kBand(k float64) int {
	for b, kb := range kBands {
		if k <= kb.upper {
			return b
		}
	}
	return len(kBands) - 1
}

func drawParetoK(in *inputs) (*figure, error) {
	lp, err := in.looPoints()
	if err != nil {
		return nil, err
	}
	k := make([]float64, len(lp.res.Pointwise))
	x := make([]float64, len(k))
	for i, pt := range lp.res.Pointwise {
		k[i], x[i] = pt.ParetoK, float64(i+1)
	}
	dated := false
	if len(lp.labels) > 0 {
		ds := make([]float64, len(lp.labels))
		dated = true
		for i, s := range lp.labels {
			tm, err := parseDate(s)
			if err != nil {
				dated = false
				break
			}
			ds[i] = float64(tm.Unix())
		}
		if dated {
			x = ds
		}
	}
	counts := make([]int, len(kBands))
	colors := make([]color.Color, len(k))
	for i, v := range k {
		if !finite(v) && !math.IsInf(v, 1) {
			continue
		}
		b := kBand(v)
		counts[b]++
		colors[i] = kBands[b].c
	}
	p := newPlot()
	p.Add(gridLines{true, true})
	for b, l := range []float64{0.5, 0.7, 1} {
		p.Add(hline(l, kBands[b+1].c, true))
	}
	d := newDots(x, k, colGood, 2.2)
	d.colors = colors
	p.Add(d)
	p.Y.Label.Text = "Pareto k"
	p.X.Label.Text = "Observation (row of the data)"
	if dated {
		p.X.Tick.Marker = dateTicks{max: 8}
		p.X.Label.Text = "Date"
	}
	p.Y.Max = math.Max(p.Y.Max, 1.05)
	f := single(p, "PSIS-LOO Pareto k per observation", fmt.Sprintf("%d observations; %d with k > 0.7, for which the LOO estimate is unreliable", len(k), counts[2]+counts[3]))
	for b, kb := range kBands {
		f.legend = append(f.legend, legendEntry{fmt.Sprintf("%s (%d)", kb.label, counts[b]), dotThumb{glyph(kb.c, 3)}})
	}
	return f, nil
}
