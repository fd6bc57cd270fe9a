package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/summarise"
)

// Parameter names as the runner writes them (docs/architecture.md, decision 7): a group scale is
// sd_<i>[term], a group's coefficient term[factor=level], the average over a factor's
// groups term[average over factor].
var (
	groupScaleName = regexp.MustCompile(`^sd_\d+\[.*\]$`)
	bracketed      = regexp.MustCompile(`^(.*)\[([^\[\]]*)\]$`)
)

const noiseSD = "noise_sd"

// coefRow is one line of the forest plot.
type coefRow struct {
	label               string
	mean, q5, q95       float64
	population, average bool
}

func drawForest(in *inputs) (*figure, error) {
	sum, err := in.summary()
	if err != nil {
		return nil, err
	}
	terms, rows, groups := forestRows(sum)
	if len(terms) == 0 {
		return nil, fmt.Errorf("report: %s has no coefficient rows", in.f.Rel(runfolder.StagePostRun, runfolder.PosteriorSummary))
	}
	note := ""
	if len(groups) > MaxFacets {
		keep := map[string]bool{}
		for _, g := range groups[:MaxFacets] {
			_, level, _ := strings.Cut(g, "=")
			keep[level] = true
		}
		for _, term := range terms {
			rows[term] = slices.DeleteFunc(rows[term], func(r coefRow) bool {
				return !r.population && !r.average && !keep[r.label]
			})
		}
		note = fmt.Sprintf("Showing the first %d of %d groups; every group is in posterior_summary.csv.", MaxFacets, len(groups))
	}
	stack, colH := forestStack(terms, rows, len(groups) > 0)
	f := &figure{title: "Posterior coefficients", stack: stack, width: figWidth,
		subtitle: "Posterior mean (dot) and 90% interval (q5–q95) in original units; each panel has its own scale, the dashed line is zero"}
	if len(stack) > 1 {
		f.width = 11 * vg.Inch
	}
	f.height = max(3.5*vg.Inch, colH+1.5*vg.Inch)
	f.note = note
	f.legend = []legendEntry{{"Population coefficient", dotThumb{glyph(colFitted, 3)}}}
	if len(groups) > 0 {
		f.legend = append(f.legend,
			legendEntry{"Average over groups", dotThumb{glyph(colObserved, 3)}},
			legendEntry{"Each group's own coefficient", dotThumb{glyph(colMuted, 3)}})
	}
	return f, nil
}

// forestRows arranges the summary's coefficients by term: the population coefficient first,
// then the average over the groups, then each group's own. groups lists the groups
// ("market=north") in order of first appearance.
func forestRows(sum []summarise.Row) (terms []string, rows map[string][]coefRow, groups []string) {
	rows = map[string][]coefRow{}
	isTerm := map[string]bool{}
	for _, r := range sum {
		n := r.Parameter
		if strings.Contains(n, "[") || n == noiseSD || strings.HasSuffix(n, "__") {
			continue
		}
		terms = append(terms, n)
		isTerm[n] = true
		rows[n] = []coefRow{{label: "population", mean: r.Mean, q5: r.Q5, q95: r.Q95, population: true}}
	}
	seen := map[string]bool{}
	for _, s := range sum {
		m := bracketed.FindStringSubmatch(s.Parameter)
		if m == nil || groupScaleName.MatchString(s.Parameter) || !isTerm[m[1]] {
			continue
		}
		label := m[2]
		r := coefRow{label: label, mean: s.Mean, q5: s.Q5, q95: s.Q95}
		if strings.HasPrefix(label, "average over ") {
			r.average = true
			rows[m[1]] = slices.Insert(rows[m[1]], 1, r)
			continue
		}
		if _, level, ok := strings.Cut(label, "="); ok {
			r.label = level
		}
		if !seen[label] {
			seen[label] = true
			groups = append(groups, label)
		}
		rows[m[1]] = append(rows[m[1]], r)
	}
	return terms, rows, groups
}

// forestStack lays the terms' panels out in one column, two when they are many, each panel
// as high as its rows; colH is the taller column's height.
func forestStack(terms []string, rows map[string][]coefRow, grouped bool) (stack [][]stacked, colH vg.Length) {
	const rowH, panelPad = 0.22 * vg.Inch, 0.62 * vg.Inch
	var items []stacked
	var total vg.Length
	for _, term := range terms {
		h := panelPad + rowH*vg.Length(len(rows[term]))
		if !grouped {
			h = 0.62 * vg.Inch
		} else if len(rows[term]) == 1 {
			h = panelPad + rowH*1.5
		}
		items = append(items, stacked{forestPanel(term, rows[term], grouped), h})
		total += h
	}
	stack = [][]stacked{items}
	if total > 14*vg.Inch {
		var acc vg.Length
		for i, it := range items {
			if acc+it.h/2 > total/2 {
				stack = [][]stacked{items[:i], items[i:]}
				break
			}
			acc += it.h
		}
	}
	for _, col := range stack {
		var h vg.Length
		for _, it := range col {
			h += it.h
		}
		colH = max(colH, h)
	}
	return stack, colH
}

func glyph(c color.Color, r float64) draw.GlyphStyle {
	return draw.GlyphStyle{Color: c, Radius: vg.Points(r), Shape: draw.CircleGlyph{}}
}

// forestPanel draws one term's intervals, one row each.
func forestPanel(term string, rows []coefRow, panel bool) *plot.Plot {
	p := newPlot()
	labels := make([]string, len(rows))
	for i, r := range rows {
		labels[i] = r.label
	}
	if panel {
		p.Title.Text = term
	} else {
		labels[0] = term
	}
	y := nominalY(p, labels)
	p.Add(gridLines{vertical: true})
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, r := range rows {
		c := colMuted
		width := 2.0
		switch {
		case r.population:
			c, width = colFitted, 3
		case r.average:
			c, width = colObserved, 2.5
		}
		yy := y(i)
		p.Add(&segments{x0: []float64{r.q5}, y0: []float64{yy}, x1: []float64{r.q95}, y1: []float64{yy},
			sty: draw.LineStyle{Color: c, Width: vg.Points(width)}})
		p.Add(&dots{x: []float64{r.mean}, y: []float64{yy}, sty: glyph(c, width+0.8)})
		if finite(r.q5, r.q95) {
			lo, hi = math.Min(lo, r.q5), math.Max(hi, r.q95)
		}
	}
	// Zero is always in view: where the intervals sit relative to it tells the sign of an
	// effect and whether it is distinguishable from none.
	p.Add(vline(0, colRef, true))
	if lo < hi {
		pad := 0.04 * (math.Max(hi, 0) - math.Min(lo, 0))
		p.X.Min, p.X.Max = math.Min(lo, 0)-pad, math.Max(hi, 0)+pad
	}
	return p
}

// mediaTerms returns the model's media terms: population terms named m_* (DSAMbayes's
// convention) and the terms of the allocation channels, in the order names lists them.
func (in *inputs) mediaTerms(names []string) []string {
	alloc := map[string]bool{}
	for _, ch := range in.channels() {
		alloc[ch.Term] = true
	}
	var out []string
	for _, n := range names {
		if (strings.HasPrefix(n, "m_") || alloc[n]) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func drawPriorPosterior(in *inputs) (*figure, error) {
	if err := in.needDraws(); err != nil {
		return nil, err
	}
	draws, err := in.draws()
	if err != nil {
		return nil, err
	}
	media := in.mediaTerms(draws.Names)
	if len(media) == 0 {
		return nil, skipf("the model has no media terms (m_* or allocation channels)")
	}
	spec, err := in.modelSpec()
	if err != nil {
		var skip *skipError
		if errors.As(err, &skip) {
			return nil, skipf("the priors cannot be recovered: %s", skip.reason)
		}
		return nil, err
	}
	var plots []*plot.Plot
	for _, term := range media {
		st, ok := spec.Term(term)
		if !ok {
			continue
		}
		v, _ := draws.Column(term)
		p, err := priorPosteriorPanel(term, finiteOnly(v), prior{float64(st.PriorMean), float64(st.PriorSD)},
			bound{float64(st.Lower), float64(st.Upper)})
		if err != nil {
			return nil, err
		}
		plots = append(plots, p)
	}
	if len(plots) == 0 {
		return nil, skipf("no media term of posterior_draws.csv is a term of the model")
	}
	f := facets(plots, facetCols(len(plots)), 2.6*vg.Inch, "Prior vs posterior of the media coefficients",
		"Densities in original units; a posterior much narrower than its prior means the data inform the effect")
	if len(plots) == 1 {
		f = single(plots[0], f.title, f.subtitle)
	} else {
		for _, p := range plots {
			p.X.Label.Text, p.Y.Label.Text = "", ""
		}
		f.xLabel, f.yLabel = "Coefficient (original units)", "Density"
	}
	f.legend = []legendEntry{
		{"Posterior", swatch{alpha(colFitted, 0.35)}},
		{"Prior", lineThumb{draw.LineStyle{Color: colObserved, Width: vg.Points(1.6), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}}},
		{"Bound", lineThumb{refStyle(colRef, true)}},
	}
	return f, nil
}

// prior is a normal prior on a coefficient; bound its constraint Lower ≤ coefficient ≤
// Upper (±Inf for an open side).
type (
	prior struct{ Mean, SD float64 }
	bound struct{ Lower, Upper float64 }
)

// unbounded leaves both sides open.
var unbounded = bound{math.Inf(-1), math.Inf(1)}

// priorPosteriorPanel draws a term's posterior density (a kernel estimate reflected at
// its bounds) and its normal prior truncated to the bounds.
func priorPosteriorPanel(term string, draws []float64, prior prior, b bound) (*plot.Plot, error) {
	if len(draws) < 10 {
		return nil, fmt.Errorf("report: %s has %d finite draws; need at least 10", term, len(draws))
	}
	sorted := slices.Clone(draws)
	slices.Sort(sorted)
	qlo, qhi := stat.Quantile(0.005, stat.Empirical, sorted, nil), stat.Quantile(0.995, stat.Empirical, sorted, nil)
	span := qhi - qlo
	if !(span > 0) {
		span = math.Max(math.Abs(qlo)*0.1, 1e-9)
	}
	lo, hi := qlo-0.5*span, qhi+0.5*span
	// Take the prior's mean into view when that does not squash the posterior.
	if pm := prior.Mean; finite(pm) && math.Max(hi, pm)-math.Min(lo, pm) <= 4*span {
		lo, hi = math.Min(lo, pm-0.2*span), math.Max(hi, pm+0.2*span)
	}
	if finite(b.Lower) && b.Lower > lo-span && b.Lower < hi {
		lo = math.Max(lo, b.Lower-0.15*span)
	}
	if finite(b.Upper) && b.Upper < hi+span && b.Upper > lo {
		hi = math.Min(hi, b.Upper+0.15*span)
	}
	const n = 256
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*float64(i)/(n-1)
	}
	post := kde(draws, x, b)
	pri := make([]float64, n)
	mass := normCDF((b.Upper-prior.Mean)/prior.SD) - normCDF((b.Lower-prior.Mean)/prior.SD)
	for i, v := range x {
		if v < b.Lower || v > b.Upper || !(mass > 0) {
			pri[i] = math.NaN()
			continue
		}
		z := (v - prior.Mean) / prior.SD
		pri[i] = math.Exp(-z*z/2) / (prior.SD * math.Sqrt(2*math.Pi)) / mass
	}
	zero := make([]float64, n)
	p := newPlot()
	p.Add(gridLines{true, true})
	p.Add(&band{x: x, lo: zero, hi: post, fill: alpha(colFitted, 0.35)})
	p.Add(newSeries(x, post, colFitted, 1.4))
	p.Add(newSeries(x, pri, colObserved, 1.6, vg.Points(4), vg.Points(2)))
	for _, v := range []float64{b.Lower, b.Upper} {
		if finite(v) && v >= lo && v <= hi {
			p.Add(vline(v, colRef, true))
		}
	}
	p.X.Min, p.X.Max, p.Y.Min = lo, hi, 0
	p.Title.Text = fmt.Sprintf("%s   prior normal(%s, %s)", term, num.Sig(prior.Mean, 3), num.Sig(prior.SD, 3))
	p.X.Label.Text, p.Y.Label.Text = "Coefficient of "+term, "Density"
	return p, nil
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// kde is a Gaussian kernel density estimate of draws at x, with Silverman's bandwidth and
// the draws reflected at finite bounds, so the density does not leak past a bound.
func kde(draws, x []float64, b bound) []float64 {
	_, sd := stat.MeanStdDev(draws, nil)
	sorted := slices.Clone(draws)
	slices.Sort(sorted)
	iqr := stat.Quantile(0.75, stat.Empirical, sorted, nil) - stat.Quantile(0.25, stat.Empirical, sorted, nil)
	spread := sd
	if iqr > 0 {
		spread = math.Min(sd, iqr/1.34)
	}
	h := 0.9 * spread * math.Pow(float64(len(draws)), -0.2)
	if !(h > 0) {
		h = math.Max(math.Abs(sorted[0])*1e-3, 1e-9)
	}
	out := make([]float64, len(x))
	norm := 1 / (float64(len(draws)) * h * math.Sqrt(2*math.Pi))
	for i, v := range x {
		if v < b.Lower || v > b.Upper {
			continue
		}
		var s float64
		for _, d := range draws {
			z := (v - d) / h
			s += math.Exp(-z * z / 2)
			if finite(b.Lower) {
				z = (v - (2*b.Lower - d)) / h
				s += math.Exp(-z * z / 2)
			}
			if finite(b.Upper) {
				z = (v - (2*b.Upper - d)) / h
				s += math.Exp(-z * z / 2)
			}
		}
		out[i] = s * norm
	}
	return out
}

// isIntercept reports whether term is the model's intercept: the term model_spec.json marks
// so, or for runs without one the name every run gives it, "(Intercept)".
func (in *inputs) isIntercept(term string) bool {
	if s, err := in.modelSpec(); err == nil {
		t, ok := s.Term(term)
		return ok && t.Intercept
	}
	return term == "(Intercept)"
}

// isFactorTotal reports whether a decomposition_totals.csv term is a categorical column's
// total over its levels, not a model term (whose levels are drawn already): a name that is
// neither a term of model_spec.json nor the offset.
func (in *inputs) isFactorTotal(term string) bool {
	s, err := in.modelSpec()
	if err != nil || term == "offset" {
		return false
	}
	_, ok := s.Term(term)
	return !ok
}

// isLog reports whether the run's response is log(y), from the formula.
func (in *inputs) isLog() bool {
	lhs, _, _ := strings.Cut(in.formula(), "~")
	return strings.HasPrefix(strings.TrimSpace(lhs), "log(")
}

func drawPredictorImpact(in *inputs) (*figure, error) {
	rows, err := in.totals()
	if err != nil {
		return nil, err
	}
	n := len(rows)
	terms := make([]string, n)
	mean, q5, q95, share := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	var idx []int
	for i, r := range rows {
		terms[i], mean[i], q5[i], q95[i], share[i] = r.Term, r.Mean, r.Q5, r.Q95, r.Share
		if r.Scope == "all" && !in.isIntercept(r.Term) && !strings.EqualFold(r.Term, "total") && !in.isFactorTotal(r.Term) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, skipf("decomposition_totals.csv has no terms besides the intercept")
	}
	slices.SortStableFunc(idx, func(a, b int) int { return num.CompareDesc(math.Abs(mean[a]), math.Abs(mean[b])) })
	p, y, shares := impactBars(in, terms, mean, share, q95, idx)
	p.Add(&segments{x0: pick(q5, idx), y0: rowYs(y, len(idx)), x1: pick(q95, idx), y1: rowYs(y, len(idx)),
		sty: draw.LineStyle{Color: colText, Width: vg.Points(1)}})
	p.Add(vline(0, colText, false))
	p.Add(shares)
	unit := "in " + in.responseName() + " units"
	if in.isLog() {
		unit = "on the log scale"
	}
	p.X.Label.Text = "Total contribution over all rows (" + unit + ")"
	// Leave room right of the longest bar or whisker for its share label.
	p.X.Max = math.Max(p.X.Max, 0) + 0.1*(math.Max(p.X.Max, 0)-math.Min(p.X.Min, 0))
	f := single(p, "Contribution by predictor", "Sum over all rows of each term's contribution (intercept excluded), posterior mean with 90% interval; labels give the share of the summed fit")
	f.height = max(4*vg.Inch, vg.Length(0.32*float64(len(idx))+1.8)*vg.Inch)
	f.legend = []legendEntry{{"Media term", swatch{colFitted}}, {"Other term", swatch{rgb(0x9a, 0xa5, 0xb1)}},
		{"90% interval", lineThumb{draw.LineStyle{Color: colText, Width: vg.Points(1)}}}}
	return f, nil
}

// impactBars starts the predictor-impact plot: one bar per term of idx (media terms
// coloured). It returns the plot, the y of each bar and the labels of the terms' shares of
// the fit (right of the bar or its whisker), for the caller to add above the whiskers.
func impactBars(in *inputs, terms []string, mean, share, q95 []float64, idx []int) (*plot.Plot, func(int) float64, *labels) {
	media := map[string]bool{}
	for _, m := range in.mediaTerms(terms) {
		media[m] = true
	}
	names := make([]string, len(idx))
	for k, i := range idx {
		names[k] = terms[i]
	}
	p := newPlot()
	y := nominalY(p, names)
	p.Add(gridLines{vertical: true})
	var bars rects
	var lx, ly []float64
	var lt []string
	for k, i := range idx {
		c := rgb(0x9a, 0xa5, 0xb1)
		if media[terms[i]] {
			c = colFitted
		}
		bars = append(bars, rect{0, mean[i], y(k) - 0.32, y(k) + 0.32, c})
		if finite(share[i]) {
			right := math.Max(mean[i], 0)
			if finite(q95[i]) {
				right = math.Max(right, q95[i])
			}
			lx, ly = append(lx, right), append(ly, y(k))
			lt = append(lt, num.Percent(share[i]))
		}
	}
	p.Add(bars)
	ls := textStyle(8, false, colMuted)
	ls.YAlign = draw.YCenter
	return p, y, &labels{x: lx, y: ly, text: lt, sty: ls, dx: vg.Points(4)}
}

func rowYs(y func(int) float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = y(i)
	}
	return out
}

func drawDecompTimeseries(in *inputs) (*figure, error) {
	d, err := in.decomposition()
	if err != nil {
		return nil, err
	}
	var uniq []string
	seen := map[string]bool{}
	for _, term := range d.Terms {
		if !seen[term] {
			seen[term] = true
			uniq = append(uniq, term)
		}
	}
	media := in.mediaTerms(uniq)
	if len(media) == 0 {
		return nil, skipf("the model has no media terms (m_* or allocation channels)")
	}
	x, dated := keyAxis(d.Keys)
	groups, points := decompByGroup(d, media, x)
	note := ""
	if len(groups) > MaxFacets {
		note = fmt.Sprintf("Showing the first %d of %d groups; every group is in decomposition.csv.", MaxFacets, len(groups))
		groups = groups[:MaxFacets]
	}
	var plots []*plot.Plot
	for _, g := range groups {
		plots = append(plots, decompPanel(points[g], len(media), dated, len(groups) > 1, g))
	}
	if len(plots) == 0 {
		return nil, skipf("decomposition.csv has no rows for the media terms")
	}
	unit := in.responseName()
	if in.isLog() {
		unit = "log " + unit
	}
	xl := "Row"
	if dated {
		xl = "Date"
	}
	title, sub := "Media contributions over time", "Posterior mean contribution of each media term, stacked; units of "+unit
	var f *figure
	if len(plots) == 1 {
		plots[0].Title.Text = ""
		plots[0].X.Label.Text, plots[0].Y.Label.Text = xl, "Contribution to "+unit
		f = single(plots[0], title, sub)
	} else {
		f = facets(plots, min(facetCols(len(plots)), 3), 2.2*vg.Inch, title, sub)
		f.xLabel, f.yLabel = xl, "Contribution to "+unit
	}
	f.note = note
	for k, m := range media {
		f.legend = append(f.legend, legendEntry{m, swatch{alpha(paletteAt(k), 0.85)}})
	}
	return f, nil
}

// decompPoint is one row of a group: its x and each media term's contribution.
type decompPoint struct {
	x       float64
	contrib []float64
}

// decompByGroup sums the media terms' mean contributions per group and row: groups in order
// of first appearance, each group's points in x order.
func decompByGroup(d *posterior.DecompositionTable, media []string, x []float64) ([]string, map[string][]*decompPoint) {
	mi := map[string]int{}
	for k, m := range media {
		mi[m] = k
	}
	var groups []string
	series := map[string]map[int]*decompPoint{}
	points := map[string][]*decompPoint{}
	for i, key := range d.Keys {
		k, ok := mi[d.Terms[i]]
		if !ok {
			continue
		}
		g := strings.Join(key.Groups, " / ")
		if _, ok := series[g]; !ok {
			series[g] = map[int]*decompPoint{}
			groups = append(groups, g)
		}
		pt, ok := series[g][key.Row]
		if !ok {
			pt = &decompPoint{x: x[i], contrib: make([]float64, len(media))}
			series[g][key.Row] = pt
			points[g] = append(points[g], pt)
		}
		pt.contrib[k] += d.Mean[i]
	}
	for _, pts := range points {
		slices.SortStableFunc(pts, func(a, b *decompPoint) int { return num.Compare(a.x, b.x) })
	}
	return groups, points
}

// decompPanel stacks one group's media contributions over time: positive ones up from zero,
// negative ones down.
func decompPanel(pts []*decompPoint, nMedia int, dated, faceted bool, title string) *plot.Plot {
	xs := make([]float64, len(pts))
	for i, pt := range pts {
		xs[i] = pt.x
	}
	p := newPlot()
	p.Add(gridLines{true, true})
	posBase, negBase := make([]float64, len(pts)), make([]float64, len(pts))
	for k := range nMedia {
		lo, hi := make([]float64, len(pts)), make([]float64, len(pts))
		for i, pt := range pts {
			v := pt.contrib[k]
			if v >= 0 {
				lo[i], hi[i] = posBase[i], posBase[i]+v
				posBase[i] = hi[i]
			} else {
				hi[i], lo[i] = negBase[i], negBase[i]+v
				negBase[i] = lo[i]
			}
		}
		p.Add(&band{x: xs, lo: lo, hi: hi, fill: alpha(paletteAt(k), 0.85)})
	}
	p.Add(hline(0, colText, false))
	if dated {
		p.X.Tick.Marker = dateTicks{max: 8}
		if faceted {
			p.X.Tick.Marker = dateTicks{max: 5}
		}
	}
	p.Title.Text = title
	return p
}

// keyAxis returns the rows' dates as Unix seconds when every row has a parseable date,
// else their row numbers.
func keyAxis(keys []posterior.RowKey) ([]float64, bool) {
	x := make([]float64, len(keys))
	dated := len(keys) > 0
	for i, k := range keys {
		tm, err := parseDate(k.Date)
		if err != nil {
			dated = false
			break
		}
		x[i] = float64(tm.Unix())
	}
	if dated {
		return x, true
	}
	for i, k := range keys {
		x[i] = float64(k.Row)
	}
	return x, false
}
