package report

import (
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The plotters below skip non-finite values instead of failing on them, so a stray NA in a
// table leaves a gap rather than losing the plot.

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// dataRange is a running min/max over finite values.
type dataRange struct{ xmin, xmax, ymin, ymax float64 }

func newRange() dataRange {
	return dataRange{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
}

func (r *dataRange) add(x, y float64) {
	if finite(x) {
		r.xmin, r.xmax = math.Min(r.xmin, x), math.Max(r.xmax, x)
	}
	if finite(y) {
		r.ymin, r.ymax = math.Min(r.ymin, y), math.Max(r.ymax, y)
	}
}

func (r dataRange) get() (xmin, xmax, ymin, ymax float64) { return r.xmin, r.xmax, r.ymin, r.ymax }

// series is a polyline through (x, y), broken where a value is not finite.
type series struct {
	x, y []float64
	sty  draw.LineStyle
}

func newSeries(x, y []float64, c color.Color, width float64, dashes ...vg.Length) *series {
	return &series{x: x, y: y, sty: draw.LineStyle{Color: c, Width: vg.Points(width), Dashes: dashes}}
}

func (s *series) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	var line []vg.Point
	flush := func() {
		if len(line) > 1 {
			c.StrokeLines(s.sty, c.ClipLinesXY(line)...)
		}
		line = line[:0]
	}
	for i := range s.x {
		if !finite(s.x[i], s.y[i]) {
			flush()
			continue
		}
		line = append(line, vg.Point{X: trX(s.x[i]), Y: trY(s.y[i])})
	}
	flush()
}

func (s *series) DataRange() (float64, float64, float64, float64) {
	r := newRange()
	for i := range s.x {
		if finite(s.x[i], s.y[i]) {
			r.add(s.x[i], s.y[i])
		}
	}
	return r.get()
}

func (s *series) Thumbnail(c *draw.Canvas) { lineThumb{s.sty}.Thumbnail(c) }

// band fills the area between lo and hi over x, broken where a value is not finite.
type band struct {
	x, lo, hi []float64
	fill      color.Color
}

func (b *band) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	var up, down []vg.Point
	flush := func() {
		if len(up) > 1 {
			poly := append([]vg.Point(nil), up...)
			for i := len(down) - 1; i >= 0; i-- {
				poly = append(poly, down[i])
			}
			c.FillPolygon(b.fill, c.ClipPolygonXY(poly))
		}
		up, down = up[:0], down[:0]
	}
	for i := range b.x {
		if !finite(b.x[i], b.lo[i], b.hi[i]) {
			flush()
			continue
		}
		x := trX(b.x[i])
		up = append(up, vg.Point{X: x, Y: trY(b.hi[i])})
		down = append(down, vg.Point{X: x, Y: trY(b.lo[i])})
	}
	flush()
}

func (b *band) DataRange() (float64, float64, float64, float64) {
	r := newRange()
	for i := range b.x {
		if finite(b.x[i], b.lo[i], b.hi[i]) {
			r.add(b.x[i], b.lo[i])
			r.add(b.x[i], b.hi[i])
		}
	}
	return r.get()
}

// dots draws a glyph at each finite (x, y); colors, when set, colours each point.
type dots struct {
	x, y   []float64
	sty    draw.GlyphStyle
	colors []color.Color
}

func newDots(x, y []float64, c color.Color, radius float64) *dots {
	return &dots{x: x, y: y, sty: draw.GlyphStyle{Color: c, Radius: vg.Points(radius), Shape: draw.CircleGlyph{}}}
}

func (d *dots) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i := range d.x {
		if !finite(d.x[i], d.y[i]) {
			continue
		}
		sty := d.sty
		if d.colors != nil {
			sty.Color = d.colors[i]
		}
		pt := vg.Point{X: trX(d.x[i]), Y: trY(d.y[i])}
		if c.Contains(pt) {
			c.DrawGlyph(sty, pt)
		}
	}
}

func (d *dots) DataRange() (float64, float64, float64, float64) {
	r := newRange()
	for i := range d.x {
		if finite(d.x[i], d.y[i]) {
			r.add(d.x[i], d.y[i])
		}
	}
	return r.get()
}

// refLine is a horizontal (at y) or vertical (at x) reference line across the plot; it
// widens the axis to include its value.
type refLine struct {
	at       float64
	vertical bool
	sty      draw.LineStyle
}

func hline(y float64, c color.Color, dashed bool) *refLine {
	return &refLine{at: y, sty: refStyle(c, dashed)}
}

func vline(x float64, c color.Color, dashed bool) *refLine {
	return &refLine{at: x, vertical: true, sty: refStyle(c, dashed)}
}

func refStyle(c color.Color, dashed bool) draw.LineStyle {
	sty := draw.LineStyle{Color: c, Width: vg.Points(1)}
	if dashed {
		sty.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return sty
}

func (l *refLine) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	if l.vertical {
		x := trX(l.at)
		if c.ContainsX(x) {
			c.StrokeLine2(l.sty, x, c.Min.Y, x, c.Max.Y)
		}
		return
	}
	y := trY(l.at)
	if c.ContainsY(y) {
		c.StrokeLine2(l.sty, c.Min.X, y, c.Max.X, y)
	}
}

func (l *refLine) DataRange() (float64, float64, float64, float64) {
	if l.vertical {
		return l.at, l.at, math.Inf(1), math.Inf(-1)
	}
	return math.Inf(1), math.Inf(-1), l.at, l.at
}

func (l *refLine) Thumbnail(c *draw.Canvas) { lineThumb{l.sty}.Thumbnail(c) }

// rect is one filled rectangle in data coordinates.
type rect struct {
	x0, x1, y0, y1 float64
	fill           color.Color
}

// rects draws filled rectangles: bars of every orientation, histograms and stacks.
type rects []rect

func (rs rects) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, r := range rs {
		if !finite(r.x0, r.x1, r.y0, r.y1) {
			continue
		}
		a := vg.Point{X: trX(r.x0), Y: trY(r.y0)}
		b := vg.Point{X: trX(r.x1), Y: trY(r.y1)}
		poly := []vg.Point{a, {X: b.X, Y: a.Y}, b, {X: a.X, Y: b.Y}}
		c.FillPolygon(r.fill, c.ClipPolygonXY(poly))
	}
}

func (rs rects) DataRange() (float64, float64, float64, float64) {
	r := newRange()
	for _, q := range rs {
		if finite(q.x0, q.x1, q.y0, q.y1) {
			r.add(q.x0, q.y0)
			r.add(q.x1, q.y1)
		}
	}
	return r.get()
}

// segments draws line segments (x0, y0)–(x1, y1): interval whiskers and ACF spikes.
type segments struct {
	x0, y0, x1, y1 []float64
	sty            draw.LineStyle
}

func (s *segments) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i := range s.x0 {
		if !finite(s.x0[i], s.y0[i], s.x1[i], s.y1[i]) {
			continue
		}
		line := []vg.Point{{X: trX(s.x0[i]), Y: trY(s.y0[i])}, {X: trX(s.x1[i]), Y: trY(s.y1[i])}}
		c.StrokeLines(s.sty, c.ClipLinesXY(line)...)
	}
}

func (s *segments) DataRange() (float64, float64, float64, float64) {
	r := newRange()
	for i := range s.x0 {
		if finite(s.x0[i], s.y0[i], s.x1[i], s.y1[i]) {
			r.add(s.x0[i], s.y0[i])
			r.add(s.x1[i], s.y1[i])
		}
	}
	return r.get()
}

// labels writes text at data coordinates, offset in points.
type labels struct {
	x, y   []float64
	text   []string
	sty    text.Style
	dx, dy vg.Length
}

func (l *labels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i := range l.x {
		if !finite(l.x[i], l.y[i]) || l.text[i] == "" {
			continue
		}
		c.FillText(l.sty, vg.Point{X: trX(l.x[i]) + l.dx, Y: trY(l.y[i]) + l.dy}, l.text[i])
	}
}

// endLabels labels bar ends outside the bar: right of a positive end, left of a negative one.
func endLabels(x, y []float64, txt []string, sty text.Style) []plot.Plotter {
	pos, neg := &labels{sty: sty, dx: vg.Points(4)}, &labels{sty: sty, dx: -vg.Points(4)}
	pos.sty.XAlign, pos.sty.YAlign = draw.XLeft, draw.YCenter
	neg.sty.XAlign, neg.sty.YAlign = draw.XRight, draw.YCenter
	for i := range x {
		l := pos
		if x[i] < 0 {
			l = neg
		}
		l.x, l.y, l.text = append(l.x, x[i]), append(l.y, y[i]), append(l.text, txt[i])
	}
	return []plot.Plotter{pos, neg}
}

// dateTicks labels a time axis (Unix seconds) at calendar months, quarters or years.
type dateTicks struct{ max int }

func (d dateTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo < hi) || !finite(lo, hi) {
		return nil
	}
	maxTicks := d.max
	if maxTicks <= 0 {
		maxTicks = 7
	}
	t0, t1 := time.Unix(int64(lo), 0).UTC(), time.Unix(int64(hi), 0).UTC()
	months := (t1.Year()-t0.Year())*12 + int(t1.Month()-t0.Month()) + 1
	steps := []int{1, 2, 3, 6, 12, 24, 60, 120}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if months/s+1 <= maxTicks {
			step = s
			break
		}
	}
	if months <= 1 {
		// Less than a month: fall back to numeric days.
		return nil
	}
	start := time.Date(t0.Year(), t0.Month(), 1, 0, 0, 0, 0, time.UTC)
	for (int(start.Month())-1)%min(step, 12) != 0 {
		start = start.AddDate(0, 1, 0)
	}
	var ticks []plot.Tick
	for t := start; !t.After(t1); t = t.AddDate(0, step, 0) {
		if t.Before(t0) {
			continue
		}
		label := t.Format("Jan 2006")
		if step >= 12 {
			label = t.Format("2006")
		}
		ticks = append(ticks, plot.Tick{Value: float64(t.Unix()), Label: label})
	}
	return ticks
}

// nominalY turns p's y axis into rows labelled names from the top down (row 0 at the top).
// It returns the y value of row i.
func nominalY(p *plot.Plot, names []string) func(i int) float64 {
	n := len(names)
	ticks := make([]plot.Tick, n)
	for i, name := range names {
		ticks[i] = plot.Tick{Value: float64(n - 1 - i), Label: name}
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.Y.Tick.Length = 0
	p.Y.Color = color.Transparent
	p.Y.Tick.Label.Color = colText
	return func(i int) float64 { return float64(n - 1 - i) }
}
