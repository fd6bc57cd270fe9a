package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/runfolder"
)

// tscvPredictionsFile is the pipeline's table of held-out rows (time-series cross-validation).
const tscvPredictionsFile = "tscv_predictions.csv"

// holdoutRow is one held-out row of tscv_predictions.csv, in the KPI's units.
type holdoutRow struct {
	fold                   int
	x                      float64 // Unix seconds of the date
	group                  string
	observed, pred, lo, hi float64
}

// readHoldout reads tscv_predictions.csv (fold,date,group,line,observed,predicted,q05,q95).
func readHoldout(r io.Reader) ([]holdoutRow, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 || len(recs[0]) != 8 || recs[0][0] != "fold" {
		return nil, fmt.Errorf("not a table of held-out predictions")
	}
	var out []holdoutRow
	for i, rec := range recs[1:] {
		var v [5]float64
		for j, c := range []int{0, 4, 5, 6, 7} {
			if v[j], err = strconv.ParseFloat(rec[c], 64); err != nil {
				return nil, fmt.Errorf("row %d: %w", i+2, err)
			}
		}
		t, err := parseDate(rec[1])
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i+2, err)
		}
		out = append(out, holdoutRow{fold: int(v[0]), x: float64(t.Unix()), group: rec[2], observed: v[1], pred: v[2], lo: v[3], hi: v[4]})
	}
	return out, nil
}

// drawHoldoutFit draws each fold's held-out weeks: observed points against the predictive
// mean and 90% interval of the fit to the weeks before, one panel per group.
func drawHoldoutFit(in *inputs) (*figure, error) {
	rows, err := load(in, runfolder.StageModelSelection, tscvPredictionsFile, " (time-series cross-validation is off)", readHoldout)
	if err != nil {
		return nil, err
	}
	var groups []string
	byGroup := map[string][]holdoutRow{}
	for _, r := range rows {
		if _, ok := byGroup[r.group]; !ok {
			groups = append(groups, r.group)
		}
		byGroup[r.group] = append(byGroup[r.group], r)
	}
	note := ""
	if len(groups) > MaxFacets {
		note = fmt.Sprintf("Showing %d of %d groups.", MaxFacets, len(groups))
		groups = groups[:MaxFacets]
	}
	covered, n := 0, 0
	panel := func(rs []holdoutRow) *plot.Plot {
		p := newPlot()
		p.Add(gridLines{true, true})
		folds := map[int][]holdoutRow{}
		var order []int
		for _, r := range rs {
			if _, ok := folds[r.fold]; !ok {
				order = append(order, r.fold)
			}
			folds[r.fold] = append(folds[r.fold], r)
		}
		for _, f := range order {
			fr := folds[f]
			x, obs, pred, lo, hi := make([]float64, len(fr)), make([]float64, len(fr)), make([]float64, len(fr)), make([]float64, len(fr)), make([]float64, len(fr))
			for i, r := range fr {
				x[i], obs[i], pred[i], lo[i], hi[i] = r.x, r.observed, r.pred, r.lo, r.hi
				n++
				if r.lo <= r.observed && r.observed <= r.hi {
					covered++
				}
			}
			p.Add(&band{x: x, lo: lo, hi: hi, fill: alpha(colFitted, 0.18)})
			p.Add(newSeries(x, pred, colFitted, 1.3))
			p.Add(newDots(x, obs, colObserved, 1.8))
		}
		p.X.Tick.Marker = dateTicks{max: 6}
		return p
	}
	response := in.responseName()
	sub := ""
	var f *figure
	if len(groups) == 1 {
		p := panel(byGroup[groups[0]])
		p.X.Label.Text, p.Y.Label.Text = "Date", response
		f = single(p, "Held-out fit (time-series cross-validation)", "")
	} else {
		plots := make([]*plot.Plot, len(groups))
		for i, g := range groups {
			plots[i] = panel(byGroup[g])
			plots[i].Title.Text = g
		}
		f = facets(plots, min(facetCols(len(groups)), 3), 2.2*vg.Inch, "Held-out fit (time-series cross-validation)", "")
		f.xLabel, f.yLabel, f.note = "Date", response, note
	}
	if n > 0 {
		sub = fmt.Sprintf("%d held-out rows; %.0f%% inside their 90%% predictive interval (about 90%% expected)", n, 100*float64(covered)/float64(n))
	}
	f.subtitle = sub
	f.legend = []legendEntry{
		{"Observed (held out)", dotThumb{draw.GlyphStyle{Color: colObserved, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}}},
		{"Predicted from the earlier weeks (mean)", lineThumb{draw.LineStyle{Color: colFitted, Width: vg.Points(1.5)}}},
		{"90% predictive interval", swatch{alpha(colFitted, 0.18)}},
	}
	return f, nil
}
