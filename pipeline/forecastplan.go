package pipeline

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
)

// The media plan of a forecast: read, checked against the run, and joined to the run's
// history rows.

// plan is a media plan read and checked against the run: its rows' design, in plan order.
type plan struct {
	file  string
	n     int
	lines []int
	dates []string
	times []time.Time
	// x[k] is term k's column (transformed terms: the raw column; see raw), raw[t] the raw
	// column of spec.Transforms[t], offset the offset column (nil without one).
	x, raw [][]float64
	offset []float64
	// of[f][j] is row j's level of grouping factor f.
	of [][]int
	// observed is the KPI column when the plan gives it (on the KPI scale), else NaN.
	observed []float64
	// history lists the run's rows the plan continues (all of them unless overlap).
	history []int
}

// errorf formats a problem with the plan at one of its lines.
func (p *plan) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("forecast: %s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

// readPlan checks the plan t against the run (cfg, spec, data) and builds its design. It
// reports every problem it finds: missing columns, unknown groups and levels, cells that
// are not numbers or are missing, bad or repeated dates and dates that do not continue the
// run's weeks.
func readPlan(cfg *ingest.Config, spec *ingest.Spec, data, t *ingest.Table, overlap bool) (*plan, error) {
	p := &plan{file: t.DisplayName(), n: t.Rows(), lines: t.Lines}
	if cfg.Data.DateVar == "" {
		return nil, fmt.Errorf("forecast: the run has no `data.date_var`; a plan's weeks continue the data's dates, so a forecast needs them")
	}
	if p.n == 0 {
		return nil, fmt.Errorf("forecast: %s has a header but no rows; give one row per planned week (and group)", p.file)
	}
	t, err := cfg.PlanTable(t)
	if err != nil {
		return nil, err
	}
	// The columns the plan must give, in the order the model reads them.
	need := []string{cfg.Data.DateVar}
	for _, g := range spec.Groups {
		for _, c := range strings.Split(g.Factor, ":") {
			if !slices.Contains(need, c) {
				need = append(need, c)
			}
		}
	}
	cre := map[string]bool{}
	if cfg.CRE.Enabled {
		for _, v := range cfg.CRE.Vars {
			cre[cfg.CRE.Prefix+v] = true
		}
	}
	for _, term := range spec.Terms {
		name := term.Name
		switch {
		case term.Intercept, cre[name], cfg.HolidayColumn(name) && t.Col(name) < 0:
			continue
		case term.Factor != "":
			name = term.Factor
		}
		if !slices.Contains(need, name) {
			need = append(need, name)
		}
	}
	if spec.OffsetName != "" && !slices.Contains(need, spec.OffsetName) {
		need = append(need, spec.OffsetName)
	}
	var missing []string
	for _, c := range need {
		if t.Col(c) < 0 {
			missing = append(missing, strconv.Quote(c))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("forecast: %s:1: the plan has no column %s; a plan gives, for every planned week (and group), the date, the grouping columns and every column the model reads: media, controls, and trend and seasonality too (dsamstan does not extrapolate them; CRE means and managed holidays are derived)",
			p.file, strings.Join(missing, ", "))
	}

	var errs []error
	cells := func(name string) []string { return t.Cells[t.Col(name)] }
	numeric := func(name string) []float64 {
		v, miss, err := t.Numeric(name)
		if err != nil {
			errs = append(errs, err)
			return make([]float64, p.n)
		}
		for j, m := range miss {
			if m {
				errs = append(errs, p.errorf(p.lines[j], "column %q is missing (%q); a plan needs every value of the columns the model reads", name, cells(name)[j]))
			}
		}
		return v
	}

	// Groups.
	p.of = make([][]int, len(spec.Groups))
	for f, g := range spec.Groups {
		cols := strings.Split(g.Factor, ":")
		p.of[f] = make([]int, p.n)
		parts := make([]string, len(cols))
		for j := range p.n {
			for c, name := range cols {
				parts[c] = strings.TrimSpace(cells(name)[j])
			}
			label := strings.Join(parts, ":")
			l := slices.Index(g.Levels, label)
			if l < 0 {
				errs = append(errs, p.errorf(p.lines[j], "%s %q is not a group of the run (its groups: %s); a forecast needs a fitted group",
					g.Factor, label, strings.Join(g.Levels, ", ")))
			}
			p.of[f][j] = l
		}
	}

	// The design columns.
	p.x = make([][]float64, len(spec.Terms))
	for k, term := range spec.Terms {
		col := make([]float64, p.n)
		switch {
		case term.Intercept:
			for j := range col {
				col[j] = 1
			}
		case cre[term.Name]:
			// A CRE term is its variable's mean over the group's fitted rows: constant per group.
			g := creGroup(cfg, spec)
			for j := range col {
				l := p.of[g][j]
				i := slices.Index(spec.Groups[g].Of, l)
				if l >= 0 && i >= 0 {
					col[j] = spec.X[k][i]
				}
			}
		case cfg.HolidayColumn(term.Name) && t.Col(term.Name) < 0:
			// No event day in the plan's weeks.
		case term.Factor != "":
			levels := factorLevels(data, term.Factor)
			for j, v := range cells(term.Factor) {
				v = strings.TrimSpace(v)
				if v == term.Level {
					col[j] = 1
				}
				if k == firstLevelTerm(spec, term.Factor) && !slices.Contains(levels, v) {
					errs = append(errs, p.errorf(p.lines[j], "column %q: %q is not a level of the run's data (its levels: %s)", term.Factor, v, strings.Join(levels, ", ")))
				}
			}
		default:
			col = numeric(term.Name)
		}
		p.x[k] = col
	}
	p.raw = make([][]float64, len(spec.Transforms))
	for i, tr := range spec.Transforms {
		k := slices.IndexFunc(spec.Terms, func(t ingest.Term) bool { return t.Name == tr.Column })
		if k < 0 {
			return nil, fmt.Errorf("forecast: the transformed column %q is not a term", tr.Column)
		}
		p.raw[i] = p.x[k]
	}
	if spec.OffsetName != "" {
		p.offset = numeric(spec.OffsetName)
	}
	p.observed = make([]float64, p.n)
	for j := range p.observed {
		p.observed[j] = math.NaN()
	}
	if t.Col(spec.Response) >= 0 {
		v, _, err := t.Numeric(spec.Response)
		if err != nil {
			errs = append(errs, err)
		} else {
			p.observed = v
		}
	}

	// Dates: parsed as the run's, each series' weeks continuing the run's, none repeated.
	dcells := cells(cfg.Data.DateVar)
	p.dates = make([]string, p.n)
	for j, c := range dcells {
		p.dates[j] = strings.TrimSpace(c)
	}
	if p.times, err = cfg.PlanDates(spec, p.file, dcells, p.lines); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := p.checkDates(cfg, spec, overlap); err != nil {
		return nil, err
	}
	return p, nil
}

// creGroup returns the index of the CRE grouping factor among spec.Groups.
func creGroup(cfg *ingest.Config, spec *ingest.Spec) int {
	for f, g := range spec.Groups {
		if cfg.CRE.Group == "" || g.Factor == cfg.CRE.Group {
			return f
		}
	}
	return 0
}

// factorLevels lists the distinct values of a categorical column of the run's data.
func factorLevels(data *ingest.Table, column string) []string {
	var out []string
	if j := data.Col(column); j >= 0 {
		for _, v := range data.Cells[j] {
			if v = strings.TrimSpace(v); !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// firstLevelTerm returns the design index of the first level column of a categorical
// column, where its cells are checked once.
func firstLevelTerm(spec *ingest.Spec, factor string) int {
	return slices.IndexFunc(spec.Terms, func(t ingest.Term) bool { return t.Factor == factor })
}

// seriesKey is the label of a row's series: its level under every grouping factor.
func seriesKey(levels []int) string {
	parts := make([]string, len(levels))
	for f, l := range levels {
		parts[f] = strconv.Itoa(l)
	}
	return strings.Join(parts, ",")
}

// checkDates checks that each series' plan weeks continue the run's: the first one step
// (the run's spacing, normally 7 days) after the series' last fitted week, then one step
// apart, none repeated. With overlap the plan may restate fitted weeks; the history is then
// each series' rows before its first plan week. It sets p.history.
func (p *plan) checkDates(cfg *ingest.Config, spec *ingest.Spec, overlap bool) error {
	runTimes, err := cfg.RowTimes(spec)
	if err != nil {
		return err
	}
	key := func(i int, of func(f int) int) string {
		levels := make([]int, len(spec.Groups))
		for f := range levels {
			levels[f] = of(f)
		}
		return seriesKey(levels)
	}
	runKey := func(i int) string { return key(i, func(f int) int { return spec.Groups[f].Of[i] }) }
	planKey := func(j int) string { return key(j, func(f int) int { return p.of[f][j] }) }
	step := runStep(runTimes)

	bySeries := map[string][]int{}
	var order []string
	for j := range p.n {
		k := planKey(j)
		if _, ok := bySeries[k]; !ok {
			order = append(order, k)
		}
		bySeries[k] = append(bySeries[k], j)
	}
	start := map[string]time.Time{}
	var errs []error
	for _, k := range order {
		rows := bySeries[k]
		slices.SortStableFunc(rows, func(a, b int) int { return p.times[a].Compare(p.times[b]) })
		for n, j := range rows {
			if n == 0 {
				continue
			}
			prev := rows[n-1]
			switch d := p.times[j].Sub(p.times[prev]); {
			case d == 0:
				errs = append(errs, p.errorf(p.lines[j], "repeats the week %s%s of line %d; give each week (and group) once", p.dates[j], p.groupLabel(spec, j), p.lines[prev]))
			case step > 0 && d != step:
				errs = append(errs, p.errorf(p.lines[j], "the plan steps from %s (line %d) to %s%s, %s; the run's dates are %s apart, and a plan's weeks must follow each other without gaps",
					p.dates[prev], p.lines[prev], p.dates[j], p.groupLabel(spec, j), showStep(d), showStep(step)))
			}
		}
		start[k] = p.times[rows[0]]
	}
	// The history: per series, the run's rows before the plan's first week.
	last := map[string]int{}
	for i := range spec.N {
		k := runKey(i)
		s, planned := start[k]
		if overlap && planned && !runTimes[i].Before(s) {
			continue
		}
		p.history = append(p.history, i)
		if l, ok := last[k]; !ok || runTimes[i].After(runTimes[l]) {
			last[k] = i
		}
	}
	for _, k := range order {
		j := bySeries[k][0]
		l, ok := last[k]
		if !ok {
			continue
		}
		switch {
		case !p.times[j].After(runTimes[l]):
			errs = append(errs, p.errorf(p.lines[j], "the plan starts at %s%s, but the run's data reach %s (line %d); a plan forecasts the weeks after the fitted ones",
				p.dates[j], p.groupLabel(spec, j), spec.Dates[l], spec.Lines[l]))
		case step > 0 && p.times[j].Sub(runTimes[l]) != step:
			errs = append(errs, p.errorf(p.lines[j], "the plan starts at %s%s, %s after the run's last week %s; it must start at the next week (%s after), so that media carry over without a gap",
				p.dates[j], p.groupLabel(spec, j), showStep(p.times[j].Sub(runTimes[l])), spec.Dates[l], showStep(step)))
		}
	}
	return errors.Join(errs...)
}

// groupLabel names row j's groups for messages: " (market north)", or "" for one market.
func (p *plan) groupLabel(spec *ingest.Spec, j int) string {
	var parts []string
	for f, g := range spec.Groups {
		if l := p.of[f][j]; l >= 0 {
			parts = append(parts, g.Factor+" "+g.Levels[l])
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// runStep is the smallest positive spacing of the run's dates (0 with a single date).
func runStep(times []time.Time) time.Duration {
	ts := slices.Clone(times)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	var step time.Duration
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d > 0 && (step == 0 || d < step) {
			step = d
		}
	}
	return step
}

// showStep writes a spacing in days.
func showStep(d time.Duration) string {
	days := d.Hours() / 24
	if days == 1 {
		return "1 day"
	}
	return num.Plain(days) + " days"
}

// forecastSpec joins the run's history rows and the plan's rows into one spec of the run's
// model, history first: every design column, the raw columns of the transforms, the
// groups and the series, along which adstock carries over from the history into the plan.
// Fixed transforms are applied again over the joined series.
func forecastSpec(spec *ingest.Spec, p *plan) *ingest.Spec {
	h := spec.Subset(p.history)
	out := *h
	out.N = h.N + p.n
	out.X = make([][]float64, len(h.X))
	for k := range h.X {
		out.X[k] = append(slices.Clip(h.X[k]), p.x[k]...)
	}
	out.Y = append(slices.Clip(h.Y), make([]float64, p.n)...)
	if h.Offset != nil {
		out.Offset = append(slices.Clip(h.Offset), p.offset...)
	}
	out.Lines = append(slices.Clip(h.Lines), p.lines...)
	out.Dates = append(slices.Clip(h.Dates), p.dates...)
	out.Groups = slices.Clone(h.Groups)
	for f := range out.Groups {
		out.Groups[f].Of = append(slices.Clip(h.Groups[f].Of), p.of[f]...)
	}
	if spec.Series != nil {
		at := map[string]int{}
		out.Series = nil
		for _, rows := range h.Series {
			levels := make([]int, len(h.Groups))
			for f, g := range h.Groups {
				levels[f] = g.Of[rows[0]]
			}
			at[seriesKey(levels)] = len(out.Series)
			out.Series = append(out.Series, slices.Clone(rows))
		}
		order := make([]int, p.n)
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, func(a, b int) int { return p.times[a].Compare(p.times[b]) })
		for _, j := range order {
			levels := make([]int, len(p.of))
			for f := range levels {
				levels[f] = p.of[f][j]
			}
			k := seriesKey(levels)
			s, ok := at[k]
			if !ok {
				s = len(out.Series)
				at[k] = s
				out.Series = append(out.Series, nil)
			}
			out.Series[s] = append(out.Series[s], h.N+j)
		}
	}
	out.Transforms = slices.Clone(h.Transforms)
	for t := range out.Transforms {
		tr := &out.Transforms[t]
		tr.Raw = append(slices.Clip(h.Transforms[t].Raw), p.raw[t]...)
		k := slices.IndexFunc(out.Terms, func(term ingest.Term) bool { return term.Name == tr.Column })
		out.X[k] = tr.Apply(tr.Raw, out.Series)
	}
	return &out
}
