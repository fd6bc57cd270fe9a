package report

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
)

// The LOO-PIT band: 95% simultaneous, evaluated at up to pitPoints points, with the
// pointwise level from pitSims simulated uniform samples of a fixed seed, so the same run
// folder always gets the same band.
const (
	pitAlpha  = 0.05
	pitPoints = 100
	pitSims   = 1000
	pitSeed   = 1
)

// looPIT returns loo_pit.csv.
func (in *inputs) looPIT() (*loo.PITTable, error) {
	return load(in, runfolder.StageModelSelection, runfolder.LOOPIT, " (runs written before dsamstan wrote LOO-PIT values have none)", loo.ReadPITCSV)
}

// looRows returns the rows' dates and groups for the LOO plots: from loo_pit.csv, written
// with loo_pointwise.csv, else (a run written before it) from fitted_values.csv; and the
// file they came from.
func (in *inputs) looRows() (*fitData, string, error) {
	t, err := in.looPIT()
	if isSkip(err) {
		d, err := in.fitData()
		return d, in.f.Rel(runfolder.StagePostRun, runfolder.FittedValues), err
	}
	if err != nil {
		return nil, "", err
	}
	keys := make([]posterior.RowKey, len(t.Rows))
	for i, r := range t.Rows {
		keys[i] = posterior.RowKey{Row: r.Row, Date: r.Date, Groups: r.Groups}
	}
	d := &fitData{scopes: map[string]string{}}
	d.setKeys(t.Factors, keys)
	return d, in.f.Rel(runfolder.StageModelSelection, runfolder.LOOPIT), nil
}

// drawLOOPIT draws the ECDF of the LOO-PIT values minus the uniform CDF, with the 95%
// simultaneous band of a uniform sample's ECDF (bayesplot's ppc_loo_pit_ecdf with
// plot_diff = TRUE).
func drawLOOPIT(in *inputs) (*figure, error) {
	t, err := in.looPIT()
	if err != nil {
		return nil, err
	}
	var pit []float64
	bad := 0
	for _, r := range t.Rows {
		if !finite(r.PIT) || r.PIT < 0 || r.PIT > 1 {
			return nil, fmt.Errorf("report: %s: row %d: pit %v is not in [0, 1]", in.f.Rel(runfolder.StageModelSelection, runfolder.LOOPIT), r.Row, r.PIT)
		}
		pit = append(pit, r.PIT)
		if r.ParetoK > loo.KBad {
			bad++
		}
	}
	n := len(pit)
	b, err := loo.NewUniformBand(n, min(n, pitPoints), pitAlpha, pitSims, pitSeed)
	if err != nil {
		return nil, err
	}
	ecdf := b.ECDF(pit)
	diff, lo, hi := make([]float64, len(b.Z)), make([]float64, len(b.Z)), make([]float64, len(b.Z))
	var outX, outY []float64
	for j, z := range b.Z {
		diff[j], lo[j], hi[j] = ecdf[j]-z, b.Lower[j]-z, b.Upper[j]-z
		if diff[j] < lo[j] || diff[j] > hi[j] {
			outX, outY = append(outX, z), append(outY, diff[j])
		}
	}
	inside := len(outX) == 0
	p := newPlot()
	p.Add(gridLines{true, true})
	p.Add(&band{x: b.Z, lo: lo, hi: hi, fill: alpha(colFitted, 0.18)})
	p.Add(hline(0, colRef, true))
	lineCol := colFitted
	if !inside {
		lineCol = colBad
	}
	p.Add(newSeries(b.Z, diff, lineCol, 1.6))
	if !inside {
		p.Add(newDots(outX, outY, colBad, 2.5))
	}
	p.X.Min, p.X.Max = 0, 1
	p.X.Label.Text = "LOO-PIT value"
	p.Y.Label.Text = "ECDF − uniform CDF"
	verdict := "the ECDF stays inside the band: no evidence that the predictive distributions are miscalibrated"
	if !inside {
		verdict = "the ECDF leaves the band: the leave-one-out predictive distributions are miscalibrated"
	}
	f := single(p, "LOO-PIT calibration: ECDF difference",
		fmt.Sprintf("%d observations; the band holds the ECDF of %d uniform values with 95%% simultaneous probability (pointwise level %.2g); %s",
			n, n, b.Gamma, verdict))
	f.legend = []legendEntry{
		{"ECDF of the LOO-PIT values − uniform CDF", lineThumb{draw.LineStyle{Color: lineCol, Width: vg.Points(1.6)}}},
		{"95% simultaneous band", swatch{alpha(colFitted, 0.18)}},
	}
	if !inside {
		f.legend = append(f.legend, legendEntry{"outside the band", dotThumb{glyph(colBad, 2.5)}})
	}
	if bad > 0 {
		f.note = fmt.Sprintf("%d of %d observations have Pareto k > 0.7: their PIT values are unreliable.", bad, n)
	}
	return f, nil
}

// drawELPDInfluence draws each observation's elpd_loo and Pareto k over time (or row),
// coloured by group for a panel, with the k thresholds and the observations above 0.7
// ringed in both panels.
func drawELPDInfluence(in *inputs) (*figure, error) {
	lp, err := in.looPoints()
	if err != nil {
		return nil, err
	}
	d, keysFrom, err := in.looRows()
	if err != nil {
		return nil, err
	}
	pts := lp.res.Pointwise
	if len(pts) != len(d.x) {
		return nil, fmt.Errorf("report: %s has %d rows, %s %d; they should describe the same observations",
			in.f.Rel(runfolder.StageModelSelection, runfolder.LOOPointwise), len(pts), keysFrom, len(d.x))
	}
	elpd, k := make([]float64, len(pts)), make([]float64, len(pts))
	var badX, badE, badK []float64
	for i, pt := range pts {
		elpd[i], k[i] = pt.ELPD, pt.ParetoK
		if pt.ParetoK > loo.KBad {
			kk := pt.ParetoK
			if math.IsInf(kk, 1) {
				kk = math.NaN() // no position to ring on the k axis
			}
			badX, badE, badK = append(badX, d.x[i]), append(badE, pt.ELPD), append(badK, kk)
		}
	}
	colors, legend := d.groupColors()
	top, bottom := newPlot(), newPlot()
	top.Add(gridLines{true, true})
	bottom.Add(gridLines{true, true})
	bottom.Add(hline(loo.KOK, colOK, true), hline(loo.KBad, colBad, false))
	ps, _ := d.panels()
	if len(d.groups) > MaxFacets {
		ps = nil // lines only for a readable number of groups
	}
	for gi, pn := range ps {
		c := colMuted
		if colors != nil {
			c = paletteAt(gi)
		}
		x := pick(d.x, pn.rows)
		top.Add(newSeries(x, pick(elpd, pn.rows), alpha(c, 0.5), 0.7))
		bottom.Add(newSeries(x, pick(k, pn.rows), alpha(c, 0.5), 0.7))
	}
	for _, pl := range []struct {
		p *plot.Plot
		y []float64
	}{{top, elpd}, {bottom, k}} {
		dt := newDots(d.x, pl.y, colFitted, 2)
		dt.colors = colors
		pl.p.Add(dt)
	}
	ring := draw.GlyphStyle{Color: colBad, Radius: vg.Points(5), Shape: draw.RingGlyph{}}
	if len(badX) > 0 {
		for _, pl := range []struct {
			p *plot.Plot
			y []float64
		}{{top, badE}, {bottom, badK}} {
			r := newDots(badX, pl.y, colBad, 5)
			r.sty = ring
			pl.p.Add(r)
		}
	}
	for _, p := range []*plot.Plot{top, bottom} {
		d.styleX(p, 8)
	}
	top.Y.Label.Text = "elpd_loo per observation"
	bottom.Y.Label.Text = "Pareto k"
	bottom.X.Label.Text = d.xLabel()
	bottom.Y.Min = math.Min(bottom.Y.Min, 0)
	bottom.Y.Max = math.Max(bottom.Y.Max, 0.8)
	// Both panels over the same x range, so that a row sits at the same place in each.
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = math.Min(top.X.Min, bottom.X.Min), math.Max(top.X.Max, bottom.X.Max)
	}
	f := &figure{
		title: "Pointwise ELPD and Pareto k",
		subtitle: fmt.Sprintf("%d observations, elpd_loo %.1f in total; %d with Pareto k > 0.7 (ringed), whose PSIS-LOO values are unreliable. Lines at k = 0.7 and, dashed, 0.5",
			len(pts), lp.res.ELPD, len(badX)),
		grid:   [][]*plot.Plot{{top}, {bottom}},
		width:  figWidth,
		height: 6.5 * vg.Inch,
		legend: append(legend, legendEntry{fmt.Sprintf("k > 0.7 (%d)", len(badX)), dotThumb{ring}}),
	}
	if len(d.groups) > 1 && colors == nil {
		f.note = fmt.Sprintf("%d groups (%s): too many to tell apart by colour; loo_pointwise.csv labels every row.", len(d.groups), d.factor)
	}
	return f, nil
}
