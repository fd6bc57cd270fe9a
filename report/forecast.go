package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
)

// colForecast colours a plan's forecast.
var colForecast = rgb(0x2e, 0x9e, 0x5b)

// ForecastPlot writes forecast.png to w: per group, the run's fitted history from its
// fitted_values.csv (observed, posterior mean and 95% predictive band; left out when the
// run has none) followed by the plan's forecast from forecastCSV (forecast.csv, as
// package pipeline writes it): the posterior predictive mean with its 50% and 90%
// intervals, and the observed KPI where the plan gives it. dpi <= 0 takes the report's
// default.
func ForecastPlot(w io.Writer, runDir string, forecastCSV []byte, dpi float64) error {
	if dpi <= 0 {
		dpi = 130 // as Build
	}
	d := &fitData{scopes: map[string]string{}}
	in := newInputs(runfolder.Detect(runDir))
	if h, err := in.fitData(); err == nil {
		d = h
	}
	d.response = in.responseName()
	nHist := len(d.x)
	recs, err := csv.NewReader(bytes.NewReader(forecastCSV)).ReadAll()
	if err != nil || len(recs) < 2 {
		return fmt.Errorf("report: forecast.csv: no rows (%v)", err)
	}
	head := recs[0]
	col := func(name string) int { return slices.Index(head, name) }
	date, obs := col("date"), col("observed")
	if date < 0 || obs < date {
		return fmt.Errorf("report: forecast.csv: want the columns date … observed")
	}
	names := []string{"pred_mean", "pred_q5", "pred_q25", "pred_q75", "pred_q95"}
	cols := make([][]float64, len(names))
	for _, name := range names {
		if col(name) < 0 {
			return fmt.Errorf("report: forecast.csv has no column %s", name)
		}
	}
	var keys []posterior.RowKey
	var observed []float64
	for _, rec := range recs[1:] {
		k := posterior.RowKey{Date: rec[date], Groups: rec[date+1 : obs]}
		keys = append(keys, k)
		g := strings.Join(k.Groups, " / ")
		d.group = append(d.group, g)
		if g != "" && !slices.Contains(d.groups, g) {
			d.groups = append(d.groups, g)
		}
		v, _ := num.Parse(rec[obs])
		observed = append(observed, v)
		for c, name := range names {
			x, _ := num.Parse(rec[col(name)])
			cols[c] = append(cols[c], x)
		}
	}
	if x, dated := keyAxis(keys); dated && (d.dated || nHist == 0) {
		d.x, d.dated = append(d.x, x...), true
	} else {
		for j := range keys {
			d.x = append(d.x, float64(nHist+j+1))
		}
	}
	nan := make([]float64, len(keys))
	for j := range nan {
		nan[j] = math.NaN()
	}
	d.observed = append(d.observed, observed...)
	d.mean = append(d.mean, nan...)
	d.predLo = append(d.predLo, nan...)
	d.predHi = append(d.predHi, nan...)
	at := func(c int, rows []int) []float64 {
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = cols[c][r-nHist]
		}
		return out
	}
	fill := func(p *plot.Plot, rows []int) {
		var hist, fc []int
		for _, r := range rows {
			if r < nHist {
				hist = append(hist, r)
			} else {
				fc = append(fc, r)
			}
		}
		if len(hist) > 0 {
			x := pick(d.x, hist)
			p.Add(&band{x: x, lo: pick(d.predLo, hist), hi: pick(d.predHi, hist), fill: alpha(colFitted, 0.18)})
			p.Add(newSeries(x, pick(d.observed, hist), colObserved, 1.1))
			p.Add(newSeries(x, pick(d.mean, hist), colFitted, 1.3))
		}
		x := pick(d.x, fc)
		p.Add(&band{x: x, lo: at(1, fc), hi: at(4, fc), fill: alpha(colForecast, 0.2)})
		p.Add(&band{x: x, lo: at(2, fc), hi: at(3, fc), fill: alpha(colForecast, 0.4)})
		p.Add(newSeries(x, at(0, fc), colForecast, 1.4))
		p.Add(newDots(x, pick(d.observed, fc), colObserved, 1.8))
	}
	f := d.timeFacets(fill, "Forecast of "+d.response+" for the media plan",
		"The fitted weeks, then the plan's weeks: the posterior predictive mean with its 50% and 90% intervals (noise included).", d.response)
	f.legend = []legendEntry{
		{"Observed", lineThumb{draw.LineStyle{Color: colObserved, Width: vg.Points(1.5)}}},
		{"Fitted (posterior mean)", lineThumb{draw.LineStyle{Color: colFitted, Width: vg.Points(1.5)}}},
		{"Forecast (predictive mean)", lineThumb{draw.LineStyle{Color: colForecast, Width: vg.Points(1.5)}}},
		{"50% / 90% predictive interval", swatch{alpha(colForecast, 0.4)}},
	}
	png, err := f.png(dpi)
	if err != nil {
		return err
	}
	_, err = w.Write(png)
	return err
}
