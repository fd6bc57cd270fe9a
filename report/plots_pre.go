package report

import (
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/internal/num"
)

func drawMediaSpend(in *inputs) (*figure, error) {
	spend, err := in.mediaSpend()
	if err != nil {
		return nil, err
	}
	spec, err := in.modelSpec()
	if err != nil {
		return nil, err
	}
	if len(spend.Labels) == 0 {
		return nil, skipf("no media spend columns: the data has no m_* columns and the config no allocation channels")
	}
	// Sum the channels' spend per date (over the groups of a panel), in date order.
	xs, dated := spendPeriods(spend.Dates)
	index := map[float64]int{}
	var xu []float64
	for _, x := range xs {
		if _, ok := index[x]; !ok {
			index[x] = len(xu)
			xu = append(xu, x)
		}
	}
	order := make([]int, len(xu))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return num.Compare(xu[a], xu[b]) })
	sums := make([][]float64, len(spend.Labels))
	for c, v := range spend.Spend {
		s := make([]float64, len(xu))
		for i, x := range v {
			if finite(x) {
				s[index[xs[i]]] += x
			}
		}
		sums[c] = pick(s, order)
	}
	x := pick(xu, order)
	p := newPlot()
	p.Add(gridLines{true, true})
	base := make([]float64, len(x))
	for c := range spend.Labels {
		top := make([]float64, len(x))
		for i := range x {
			top[i] = base[i] + math.Max(sums[c][i], 0)
		}
		p.Add(&band{x: x, lo: slices.Clone(base), hi: top, fill: alpha(paletteAt(c), 0.85)})
		base = top
	}
	if dated {
		p.X.Tick.Marker = dateTicks{max: 8}
		p.X.Label.Text = "Date"
	} else {
		p.X.Label.Text = "Row"
	}
	p.Y.Min = 0
	p.Y.Label.Text = "Spend (data units)"
	sub := "Stacked spend per period from " + spec.DataFile
	if len(xu) < len(xs) {
		sub += ", summed over the groups"
	}
	if !spec.MediaSpendFromChannels {
		sub += "; media are the model's m_* columns"
	}
	f := single(p, "Media spend by channel", sub)
	for c, n := range spend.Labels {
		f.legend = append(f.legend, legendEntry{n, swatch{alpha(paletteAt(c), 0.85)}})
	}
	return f, nil
}

// spendPeriods returns the x value of each row: its date (Unix seconds) when every row has
// one that parses, else its 1-based row number.
func spendPeriods(dates []string) (xs []float64, dated bool) {
	xs = make([]float64, len(dates))
	for i, s := range dates {
		tm, err := parseDate(s)
		if err != nil {
			for i := range xs {
				xs[i] = float64(i + 1)
			}
			return xs, false
		}
		xs[i] = float64(tm.Unix())
	}
	return xs, len(dates) > 0
}

func drawVIF(in *inputs) (*figure, error) {
	rows, err := in.vifTable()
	if err != nil {
		return nil, err
	}
	var names, constant []string
	var v []float64
	computed := false
	for _, r := range rows {
		if r.Constant {
			constant = append(constant, r.Term)
			continue
		}
		names, v = append(names, r.Term), append(v, r.VIF)
		computed = computed || !math.IsNaN(r.VIF)
	}
	if len(names) < 2 || !computed {
		return nil, skipf("the design has fewer than 2 varying predictors")
	}
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return num.CompareDesc(v[a], v[b]) })
	sorted := make([]string, len(idx))
	for k, i := range idx {
		sorted[k] = names[i]
	}
	finiteMax := 0.0
	for _, x := range v {
		if finite(x) {
			finiteMax = math.Max(finiteMax, x)
		}
	}
	xmax := math.Max(12, math.Min(finiteMax, 100)*1.15)
	p := newPlot()
	y := nominalY(p, sorted)
	p.Add(gridLines{vertical: true})
	var bars rects
	lx, ly, lt := make([]float64, len(idx)), make([]float64, len(idx)), make([]string, len(idx))
	for k, i := range idx {
		c := colGood
		switch {
		case v[i] > 10:
			c = colBad
		case v[i] > 5:
			c = colOK
		}
		w := math.Min(v[i], xmax)
		bars = append(bars, rect{0, w, y(k) - 0.32, y(k) + 0.32, c})
		lx[k], ly[k] = w, y(k)
		lt[k] = num.Sig(v[i], 3)
		if math.IsInf(v[i], 1) {
			lt[k] = "∞ (collinear)"
		}
	}
	p.Add(bars)
	p.Add(vline(5, colOK, true), vline(10, colBad, true))
	ls := textStyle(8.5, false, colText)
	ls.YAlign = draw.YCenter
	p.Add(&labels{x: lx, y: ly, text: lt, sty: ls, dx: vg.Points(4)})
	p.X.Min, p.X.Max = 0, xmax*1.1
	p.X.Label.Text = "Variance inflation factor"
	sub := "How much each coefficient's variance grows from correlation with the other predictors; dashed lines at 5 and 10"
	f := single(p, "Collinearity of the predictors (VIF)", sub)
	if len(constant) > 0 {
		f.note = "Left out (constant in the data): " + strings.Join(constant, ", ")
	}
	f.height = max(4*vg.Inch, vg.Length(0.32*float64(len(idx))+1.8)*vg.Inch)
	f.legend = []legendEntry{{"below 5", swatch{colGood}}, {"5 to 10", swatch{colOK}}, {"above 10", swatch{colBad}}}
	return f, nil
}
