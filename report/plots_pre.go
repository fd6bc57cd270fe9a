package report

import (
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/internal/num"
)

// spendColumns returns the data columns holding media spend: the allocation channels'
// spend_col when the config has channels and the data has those columns, else the model's
// m_* columns (DSAMbayes's naming convention for media).
func (in *inputs) spendColumns(header []string) (cols, labels []string, fromChannels bool) {
	has := func(c string) bool { return slices.Contains(header, c) }
	if cfg, err := in.runConfig(); err == nil {
		for _, ch := range allocationChannels(cfg) {
			if has(ch.spendCol) && !slices.Contains(cols, ch.spendCol) {
				cols, labels = append(cols, ch.spendCol), append(labels, ch.name)
			}
		}
	}
	if len(cols) > 0 {
		return cols, labels, true
	}
	var used []string
	if spec, err := in.modelSpec(); err == nil {
		for _, t := range spec.Terms {
			used = append(used, t.Name)
		}
	} else {
		used = header
	}
	for _, c := range used {
		if strings.HasPrefix(c, "m_") && has(c) {
			cols = append(cols, c)
		}
	}
	return cols, cols, false
}

func drawMediaSpend(in *inputs) (*figure, error) {
	data, err := in.dataTable()
	if err != nil {
		return nil, err
	}
	cols, names, fromChannels := in.spendColumns(data.Header)
	if len(cols) == 0 {
		return nil, skipf("no media spend columns: the data has no m_* columns and the config no allocation channels")
	}
	cfg, _ := in.runConfig()
	// Sum the channels' spend per date (over the groups of a panel), in date order.
	var xs []float64
	dated := false
	if dv := cfg.Data.DateVar; dv != "" && data.Col(dv) >= 0 {
		dated = true
		dates := data.Cells[data.Col(dv)]
		parsed := make([]float64, len(dates))
		for i, s := range dates {
			tm, err := parseDate(s)
			if err != nil {
				dated = false
				break
			}
			parsed[i] = float64(tm.Unix())
		}
		if dated {
			xs = parsed
		}
	}
	if !dated {
		xs = make([]float64, data.Rows())
		for i := range xs {
			xs[i] = float64(i + 1)
		}
	}
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
	sums := make([][]float64, len(cols))
	for c, col := range cols {
		v, _, err := data.Numeric(col)
		if err != nil {
			return nil, err
		}
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
	for c := range cols {
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
	sub := "Stacked spend per period from " + filepath.Base(data.Path)
	if len(xu) < len(xs) {
		sub += ", summed over the groups"
	}
	if !fromChannels {
		sub += "; media are the model's m_* columns"
	}
	f := single(p, "Media spend by channel", sub)
	for c, n := range names {
		f.legend = append(f.legend, legendEntry{n, swatch{alpha(paletteAt(c), 0.85)}})
	}
	return f, nil
}

// vif returns the variance inflation factor of each column: 1/(1 − R²) of its regression
// on the other columns and a constant. Exactly collinear columns get +Inf.
func vif(cols [][]float64) []float64 {
	p := len(cols)
	n := len(cols[0])
	z := mat.NewDense(n, p, nil)
	for j, c := range cols {
		m, sd := stat.MeanStdDev(c, nil)
		for i, v := range c {
			z.Set(i, j, (v-m)/sd)
		}
	}
	out := make([]float64, p)
	for j := range p {
		others := mat.NewDense(n, p-1, nil)
		k := 0
		for jj := range p {
			if jj == j {
				continue
			}
			for i := range n {
				others.Set(i, k, z.At(i, jj))
			}
			k++
		}
		b := mat.NewVecDense(n, nil)
		for i := range n {
			b.SetVec(i, z.At(i, j))
		}
		var svd mat.SVD
		if !svd.Factorize(others, mat.SVDThin) {
			out[j] = math.NaN()
			continue
		}
		vals := svd.Values(nil)
		rank := 0
		for _, s := range vals {
			if s > 1e-10*vals[0] {
				rank++
			}
		}
		var coef mat.VecDense
		svd.SolveVecTo(&coef, b, rank)
		var fit mat.VecDense
		fit.MulVec(others, &coef)
		var rss, tss float64
		for i := range n {
			e := b.AtVec(i) - fit.AtVec(i)
			rss += e * e
			tss += b.AtVec(i) * b.AtVec(i)
		}
		r2 := 1 - rss/tss
		if r2 >= 1-1e-12 {
			out[j] = math.Inf(1)
		} else {
			out[j] = 1 / (1 - r2)
		}
	}
	return out
}

func drawVIF(in *inputs) (*figure, error) {
	spec, err := in.modelSpec()
	if err != nil {
		return nil, err
	}
	var names, constant []string
	var cols [][]float64
	for k, t := range spec.Terms {
		if t.Intercept {
			continue
		}
		c := spec.X[k]
		if _, sd := stat.MeanStdDev(c, nil); !(sd > 0) || !finite(sd) {
			constant = append(constant, t.Name)
			continue
		}
		names, cols = append(names, t.Name), append(cols, c)
	}
	if len(cols) < 2 || spec.N < 3 {
		return nil, skipf("the design has fewer than 2 varying predictors")
	}
	v := vif(cols)
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
