package calibrate

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/dsamstan/dsamstan/internal/sbc"
	"github.com/dsamstan/dsamstan/runfolder"
)

// perFigure is how many parameters one histogram figure holds (a 4 × 4 grid).
const perFigure = 16

// bandLevel is the probability a uniform rank's bin count stays in the grey band.
const bandLevel = 0.99

// plotRanks draws each parameter's rank histogram with the band a uniform rank's bin
// counts stay in with probability 99%, perFigure parameters to a figure.
func plotRanks(dir string, names []string, results []*simResult) error {
	bins := sbc.Bins(len(results))
	ns := make([]int, len(results))
	for i, r := range results {
		ns[i] = r.draws
	}
	for fig := 0; fig*perFigure < len(names); fig++ {
		chunk := names[fig*perFigure : min(len(names), (fig+1)*perFigure)]
		cols := min(4, len(chunk))
		rows := (len(chunk) + cols - 1) / cols
		plots := make([][]*plot.Plot, rows)
		for r := range plots {
			plots[r] = make([]*plot.Plot, cols)
		}
		for k, name := range chunk {
			j := fig*perFigure + k
			ranks := make([]int, len(results))
			for i, r := range results {
				ranks[i] = r.rank[j]
			}
			p, err := rankPlot(name, ranks, ns, bins)
			if err != nil {
				return err
			}
			plots[k/cols][k%cols] = p
		}
		const tile = 2.4 * vg.Inch
		img := vgimg.New(vg.Length(cols)*tile, vg.Length(rows)*tile)
		dc := draw.New(img)
		t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter, PadY: vg.Millimeter,
			PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: vg.Millimeter}
		canvases := plot.Align(plots, t, dc)
		for r := range plots {
			for c, p := range plots[r] {
				if p != nil {
					p.Draw(canvases[r][c])
				}
			}
		}
		path := filepath.Join(dir, fmt.Sprintf(runfolder.CalibrationHistograms, fig+1))
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("calibrate: %w", err)
		}
		if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
			f.Close()
			return fmt.Errorf("calibrate: %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("calibrate: %w", err)
		}
	}
	return nil
}

// rankPlot is one parameter's histogram of normalised ranks: bars of the counts per bin
// over a grey band from each bin's 0.5% to 99.5% binomial quantile under uniform ranks.
func rankPlot(name string, ranks, ns []int, bins int) (*plot.Plot, error) {
	counts, expected := sbc.Histogram(ranks, ns, bins)
	p := plot.New()
	p.Title.Text = name
	p.Title.TextStyle.Font.Size = vg.Points(9)
	p.X.Label.Text = "rank / (draws + 1)"
	p.Y.Label.Text = "simulations"
	p.X.Tick.Label.Font.Size = vg.Points(7)
	p.Y.Tick.Label.Font.Size = vg.Points(7)
	p.X.Label.TextStyle.Font.Size = vg.Points(8)
	p.Y.Label.TextStyle.Font.Size = vg.Points(8)
	w := 1 / float64(bins)
	var band, upper plotter.XYs
	for b := range bins {
		lo, hi := sbc.Band(len(ranks), expected[b]/float64(len(ranks)), bandLevel)
		x0, x1 := float64(b)*w, float64(b+1)*w
		band = append(band, plotter.XY{X: x0, Y: lo}, plotter.XY{X: x1, Y: lo})
		upper = append(upper, plotter.XY{X: x0, Y: hi}, plotter.XY{X: x1, Y: hi})
	}
	for i := len(upper) - 1; i >= 0; i-- {
		band = append(band, upper[i])
	}
	poly, err := plotter.NewPolygon(band)
	if err != nil {
		return nil, fmt.Errorf("calibrate: plot %s: %w", name, err)
	}
	poly.Color = color.Gray{Y: 215}
	poly.LineStyle.Width = 0
	p.Add(poly)
	for b, c := range counts {
		if c == 0 {
			continue
		}
		x0, x1 := (float64(b)+0.1)*w, (float64(b)+0.9)*w
		bar, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: c}, {X: x0, Y: c}})
		if err != nil {
			return nil, fmt.Errorf("calibrate: plot %s: %w", name, err)
		}
		bar.Color = color.RGBA{R: 70, G: 110, B: 170, A: 220}
		bar.LineStyle.Width = 0
		p.Add(bar)
	}
	p.X.Min, p.X.Max = 0, 1
	p.Y.Min = 0
	return p, nil
}
