package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/report"
	"github.com/dsamstan/dsamstan/runfolder"
)

// forecastProbs are the quantiles a forecast reports: a 90% and a 50% interval and the
// median.
var forecastProbs = []float64{0.05, 0.25, 0.5, 0.75, 0.95}

// ForecastOptions are the inputs of ForecastRun.
type ForecastOptions struct {
	// RunDir is a completed MCMC run folder.
	RunDir string
	// Plan is the media plan CSV: the date column, a panel's grouping columns and every
	// column the model reads, one row per planned week (and group).
	Plan string
	// Out is the output folder (default the run's 70_forecast/).
	Out string
	// Log receives one line per file written.
	Log io.Writer

	// overlap lets the plan restate weeks the run has (tests): the history is then, per
	// series, the run's rows dated before the plan's first week.
	overlap bool
}

// ForecastRun forecasts the KPI of a media plan from every draw of a finished run: it
// reads the run's resolved config (and through it the data, the history the plan
// continues) and posterior_draws.csv, checks the plan, and writes forecast.csv,
// forecast_totals.csv and forecast.png into Out; by default into the run's 70_forecast/,
// and then it draws the run's report page again, which shows them.
func ForecastRun(ctx context.Context, opts ForecastOptions) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	f := runfolder.Detect(opts.RunDir)
	find := func(stage, name string) (string, error) {
		if p, ok := f.Find(stage, name); ok {
			return p, nil
		}
		return "", fmt.Errorf("forecast: %s has no %s/%s: is it a completed MCMC run folder?", f.Dir, stage, name)
	}
	cfgPath, err := find(runfolder.StageMetadata, runfolder.ConfigResolved)
	if err != nil {
		return err
	}
	cfg, err := ingest.LoadConfig(cfgPath)
	if err != nil {
		return fmt.Errorf("forecast: the run's resolved config no longer loads: %w", err)
	}
	data, err := ingest.LoadData(cfg)
	if err != nil {
		return fmt.Errorf("forecast: the run's data no longer load (have they moved?): %w", err)
	}
	spec, err := ingest.BuildSpec(cfg, data)
	if err != nil {
		return err
	}
	drawsPath, err := find(runfolder.StagePostRun, runfolder.PosteriorDraws)
	if err != nil {
		return err
	}
	pd, err := readPosteriorDraws(spec, drawsPath)
	if err != nil {
		return err
	}
	plan, err := ingest.LoadCSV(opts.Plan)
	if err != nil {
		return err
	}
	fc, err := forecast(ctx, cfg, spec, data, pd, plan, opts.overlap)
	if err != nil {
		return err
	}
	if opts.Out != "" {
		return fc.writeFiles(opts.Out, opts.RunDir, opts.Log)
	}
	if err := fc.writeFiles(f.StageDir(runfolder.StageForecast), opts.RunDir, opts.Log); err != nil {
		return err
	}
	// The run's report page gains its Forecast section.
	m, err := report.Build(ctx, opts.RunDir, report.Options{Layout: cfg.Outputs.Layout})
	if err != nil {
		fmt.Fprintf(opts.Log, "warning: report: %v\n", err)
		return nil
	}
	fmt.Fprintln(opts.Log, m.Index)
	return nil
}

// writeFiles writes forecast.csv, forecast_totals.csv and forecast.png (with the history
// from runDir's fitted_values.csv) into dir, naming each file written on log.
func (fc *forecastResult) writeFiles(dir, runDir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	var rows, totals, png bytes.Buffer
	if err := fc.writeRows(&rows); err != nil {
		return fmt.Errorf("forecast: %s: %w", runfolder.ForecastFile, err)
	}
	if err := fc.writeTotals(&totals); err != nil {
		return fmt.Errorf("forecast: %s: %w", runfolder.ForecastTotalsFile, err)
	}
	if err := report.ForecastPlot(&png, runDir, rows.Bytes(), 0); err != nil {
		return fmt.Errorf("forecast: %s: %w", runfolder.ForecastPlot, err)
	}
	for _, file := range []struct {
		name string
		data []byte
	}{{runfolder.ForecastFile, rows.Bytes()}, {runfolder.ForecastTotalsFile, totals.Bytes()}, {runfolder.ForecastPlot, png.Bytes()}} {
		p := filepath.Join(dir, file.name)
		if err := atomicfile.WriteFile(p, file.data, 0o644); err != nil {
			return fmt.Errorf("forecast: %w", err)
		}
		fmt.Fprintln(log, p)
	}
	return nil
}

// CheckForecastPlan checks the config's media plan (forecast.enabled) against the model
// and data before anything is fitted, so a bad plan fails in seconds, not after sampling.
func CheckForecastPlan(cfg *ingest.Config, spec *ingest.Spec, t *ingest.Table) error {
	if cfg.Forecast == nil || !cfg.Forecast.Enabled {
		return nil
	}
	plan, err := ingest.LoadCSV(cfg.Forecast.PlanPath)
	if err != nil {
		return err
	}
	_, err = readPlan(cfg, spec, t, plan, false)
	return err
}

// writeForecast forecasts the config's media plan (forecast.enabled) from the run's draws
// into 70_forecast/.
func (r *runner) writeForecast(ctx context.Context, spec *ingest.Spec, pd *posterior.Draws) error {
	plan, err := ingest.LoadCSV(r.cfg.Forecast.PlanPath)
	if err != nil {
		return err
	}
	fc, err := forecast(ctx, r.cfg, spec, r.table, pd, plan, false)
	if err != nil {
		return err
	}
	return fc.writeFiles(r.folder.StageDir(runfolder.StageForecast), r.folder.Dir, io.Discard)
}

// readPosteriorDraws reads posterior_draws.csv and arranges it as the fit's draws for
// spec, as the run arranged them for its derived tables.
func readPosteriorDraws(spec *ingest.Spec, path string) (*posterior.Draws, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	defer f.Close()
	t, err := posterior.ReadDraws(f)
	if err != nil {
		return nil, fmt.Errorf("forecast: %s: %w", path, err)
	}
	chain, ok := t.Column("chain")
	if !ok || len(chain) == 0 {
		return nil, fmt.Errorf("forecast: %s has no draws (or no chain column)", path)
	}
	chains := int(slices.Max(chain))
	if chains < 1 || len(chain)%chains != 0 {
		return nil, fmt.Errorf("forecast: %s: %d draws do not split into %d chains", path, len(chain), chains)
	}
	d := &decoded{names: t.Names, cols: t.Cols, chains: chains, perChain: len(chain) / chains}
	pd, err := posteriorDraws(spec, d)
	if err != nil {
		return nil, fmt.Errorf("forecast: %s: %w", path, err)
	}
	return pd, nil
}

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

// forecastResult is a plan's forecast.
type forecastResult struct {
	spec *ingest.Spec // the joined spec (history, then plan rows)
	plan *plan
	// terms names the contribution columns: the model's terms, then "offset".
	terms []string
	rows  []forecastRow
	// totals are the per-draw sums over the plan's rows, by scope ("all", then
	// factor=level in the groups' order).
	totals []forecastTotal
}

// forecastRow is one plan row's forecast on the KPI scale.
type forecastRow struct {
	// pred summarises the posterior predictive (μ plus noise), expected the expected value.
	pred, expected summary
	// contrib[k] is the posterior mean of term k's contribution (model scale).
	contrib []float64
}

// summary is a mean and the forecastProbs quantiles.
type summary struct {
	mean float64
	q    [5]float64
}

func summariseDraws(x []float64) summary {
	s := summary{mean: meanOf(x)}
	y := slices.Clone(x)
	slices.Sort(y)
	for i, p := range forecastProbs {
		s.q[i] = quantileSorted(y, p)
	}
	return s
}

// quantileSorted is R's type-7 quantile of sorted x.
func quantileSorted(x []float64, p float64) float64 {
	h := float64(len(x)-1) * p
	j := int(math.Floor(h))
	if j+1 >= len(x) {
		return x[len(x)-1]
	}
	return x[j] + (h-float64(j))*(x[j+1]-x[j])
}

func meanOf(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// forecastTotal is one scope's per-draw sums over the plan's rows.
type forecastTotal struct {
	scope          string
	n              int
	pred, expected []float64
	contrib        [][]float64 // [term][draw]
}

// forecast checks the plan against the run and computes, from every draw, each plan row's
// posterior predictive (μ plus one seeded noise draw per posterior draw) and expected value
// on the KPI scale, each term's mean contribution, and the per-draw totals over the plan.
func forecast(ctx context.Context, cfg *ingest.Config, spec *ingest.Spec, data *ingest.Table, pd *posterior.Draws, t *ingest.Table, overlap bool) (*forecastResult, error) {
	p, err := readPlan(cfg, spec, data, t, overlap)
	if err != nil {
		return nil, err
	}
	joined := forecastSpec(spec, p)
	contributions, err := pd.Contributions(joined)
	if err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	S, K := pd.S(), len(spec.Terms)
	res := &forecastResult{spec: joined, plan: p, terms: slices.Clone(pd.Terms)}
	nTerms := K
	if spec.Offset != nil {
		res.terms = append(res.terms, "offset")
		nTerms++
	}
	newTotal := func(scope string) forecastTotal {
		return forecastTotal{scope: scope, pred: make([]float64, S), expected: make([]float64, S), contrib: matrix(nTerms, S)}
	}
	res.totals = append(res.totals, newTotal("all"))
	scopeOf := make([][]int, len(spec.Groups)) // [factor][level] -> index into totals
	for f, g := range spec.Groups {
		scopeOf[f] = make([]int, len(g.Levels))
		for l, level := range g.Levels {
			scopeOf[f][l] = len(res.totals)
			res.totals = append(res.totals, newTotal(g.Factor+"="+level))
		}
	}
	c := matrix(K, S)
	mu, pred, exp := make([]float64, S), make([]float64, S), make([]float64, S)
	logMedian := cfg.Model.LogResponse == "median"
	seed := uint64(cfg.Fit.MCMC.Seed)
	for j := range p.n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		i := len(p.history) + j // the row in the joined spec
		contributions(i, c, mu)
		rng := rand.New(rand.NewPCG(seed, uint64(j)))
		for s, m := range mu {
			sg := pd.NoiseSD[s]
			pred[s] = m + sg*rng.NormFloat64()
			exp[s] = m
			if spec.LogResponse {
				pred[s] = math.Exp(pred[s])
				if logMedian {
					exp[s] = math.Exp(m)
				} else {
					exp[s] = math.Exp(m + sg*sg/2)
				}
			}
		}
		row := forecastRow{pred: summariseDraws(pred), expected: summariseDraws(exp), contrib: make([]float64, nTerms)}
		for k := range K {
			row.contrib[k] = meanOf(c[k])
		}
		if spec.Offset != nil {
			row.contrib[K] = p.offset[j]
		}
		res.rows = append(res.rows, row)
		scopes := []int{0}
		for f := range spec.Groups {
			scopes = append(scopes, scopeOf[f][p.of[f][j]])
		}
		for _, sc := range scopes {
			tot := &res.totals[sc]
			tot.n++
			addTo(tot.pred, pred)
			addTo(tot.expected, exp)
			for k := range K {
				addTo(tot.contrib[k], c[k])
			}
			if spec.Offset != nil {
				for s := range tot.contrib[K] {
					tot.contrib[K][s] += p.offset[j]
				}
			}
		}
	}
	return res, nil
}

func addTo(dst, src []float64) {
	for i, v := range src {
		dst[i] += v
	}
}

func matrix(rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	for r := range m {
		m[r] = make([]float64, cols)
	}
	return m
}

func summaryHeader(prefix string) []string {
	out := []string{prefix + "mean"}
	for _, p := range forecastProbs {
		out = append(out, prefix+"q"+strconv.Itoa(int(math.Round(100*p))))
	}
	return out
}

func (s summary) cells() []string {
	out := []string{num.Format(s.mean)}
	for _, q := range s.q {
		out = append(out, num.Format(q))
	}
	return out
}

// writeRows writes forecast.csv: per plan row (in plan order) its line in the plan, date
// and groups, the observed KPI when the plan gives it (else NA), the posterior predictive
// and the expected value on the KPI scale (mean, 5/25/50/75/95% quantiles), and each term's
// mean contribution (model scale, as in decomposition.csv).
func (r *forecastResult) writeRows(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"row", "line", "date"}
	for _, g := range r.spec.Groups {
		header = append(header, g.Factor)
	}
	header = append(header, "observed")
	header = append(header, summaryHeader("pred_")...)
	header = append(header, summaryHeader("expected_")...)
	for _, term := range r.terms {
		header = append(header, "contribution["+term+"]")
	}
	cw.Write(header)
	p := r.plan
	for j, row := range r.rows {
		rec := []string{strconv.Itoa(j + 1), strconv.Itoa(p.lines[j]), p.dates[j]}
		for f, g := range r.spec.Groups {
			rec = append(rec, g.Levels[p.of[f][j]])
		}
		rec = append(rec, num.Format(p.observed[j]))
		rec = append(rec, row.pred.cells()...)
		rec = append(rec, row.expected.cells()...)
		for _, c := range row.contrib {
			rec = append(rec, num.Format(c))
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// writeTotals writes forecast_totals.csv: per scope (all rows, then each group's) and
// quantity (the KPI's posterior predictive and expected value, then each term's
// contribution), the sum over the plan's rows summarised across draws, so the intervals are
// those of the sums, not sums of intervals.
func (r *forecastResult) writeTotals(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(append([]string{"scope", "quantity", "rows"}, summaryHeader("")...))
	for _, t := range r.totals {
		if t.n == 0 {
			continue
		}
		emit := func(quantity string, x []float64) {
			cw.Write(append([]string{t.scope, quantity, strconv.Itoa(t.n)}, summariseDraws(x).cells()...))
		}
		emit("kpi_predictive", t.pred)
		emit("kpi_expected", t.expected)
		for k, term := range r.terms {
			emit("contribution["+term+"]", t.contrib[k])
		}
	}
	cw.Flush()
	return cw.Error()
}
