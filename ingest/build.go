package ingest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
)

// defaultPriorSD is DSAMbayes's normal(0, 5) prior sd, stated on the standardised scale.
const defaultPriorSD = 5

// Load reads the run config at configPath and its data (see LoadData), and builds the
// model spec.
func Load(configPath string) (*Config, *Spec, error) {
	cfg, err := LoadConfig(configPath)
	if err != nil {
		return nil, nil, err
	}
	t, err := LoadData(cfg)
	if err != nil {
		return cfg, nil, err
	}
	spec, err := BuildSpec(cfg, t)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, spec, nil
}

// BuildSpec resolves a validated config against the data: it checks the formula's columns,
// parses them, applies data.na_action, builds the design, the groups and the CRE means, and
// sets the default priors and the scaling.
//
// Default priors follow DSAMbayes's normal(0, 5) on the standardised scale, written out in
// original units so that scaled and unscaled fits share them: a slope on x gets
// normal(0, 5·sd(y)/sd(x)), the intercept normal(mean(y), 5·sd(y)), and noise_sd a
// half-normal with sd sd(y) (y on the model scale, sd with n−1; a zero or non-finite sd counts
// as 1, leaving constant and non-finite columns to the P0 checks). Group scales sd_<i>[term]
// get DSAMbayes's between-group default (see the package doc, "Panel models"). The offset
// enters the linear predictor as given, so for a log response it is on the log scale, as
// in R.
func BuildSpec(cfg *Config, t *Table) (*Spec, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := ParseFormula(cfg.Model.Formula)
	if err != nil {
		return nil, err // Validate parsed it already
	}
	if t, err = cfg.prepareTable(t); err != nil {
		return nil, err
	}
	f.Terms = append(f.Terms, t.managed...)
	b := &builder{cfg: cfg, t: t, f: f, warnings: slices.Clone(t.warnings)}
	if err := b.checkColumns(); err != nil {
		return nil, err
	}
	if t.Rows() == 0 {
		return nil, fmt.Errorf("ingest: %s has a header but no data rows", t.name())
	}
	if err := b.parseColumns(); err != nil {
		return nil, err
	}
	if err := b.selectRows(); err != nil {
		return nil, err
	}
	if err := b.resolveFactors(); err != nil {
		return nil, err
	}
	s, err := b.spec()
	if err != nil {
		return nil, err
	}
	if s.Dictionary, err = cfg.dictionary(t, s); err != nil {
		return nil, err
	}
	return s, nil
}

// builder carries the state of one BuildSpec call.
type builder struct {
	cfg *Config
	t   *Table
	f   *Formula

	num      map[string][]float64 // numeric columns by name, all rows
	missing  []bool               // per row: a used cell is missing
	keep     []int                // rows kept, in file order
	warnings []string

	// transformed holds the transformed design columns by name, on the kept rows.
	transformed map[string][]float64

	factors     map[string]bool       // the categorical (text) terms
	factorTerms map[string]factorTerm // their levels on the kept rows

	priorWarnings []string // warnings about the priors, added to the spec's by priors
}

// where is the file position of a config key, "" when unknown.
func (c *Config) where(key string) string {
	line, col := c.at(key)
	if c.file == "" || line == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", c.file, line, col)
}

// checkColumns reports every column the config names that the data lacks.
func (b *builder) checkColumns() error {
	var errs []error
	seen := map[string]bool{}
	for _, r := range b.f.Refs {
		if seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		if b.t.Col(r.Name) >= 0 {
			continue
		}
		var msg string
		switch r.Role {
		case "group":
			msg = fmt.Sprintf("no grouping column %q in %s%s", r.Name, b.t.name(), b.suggest(r.Name))
		case "group term":
			msg = fmt.Sprintf("no column %q in %s for the group term ( … | %s )%s", r.Name, b.t.name(), showFactor(b.barAt(r.Pos).Factors), b.suggest(r.Name))
		default:
			msg = fmt.Sprintf("no column %q in %s%s", r.Name, b.t.name(), b.suggest(r.Name))
		}
		errs = append(errs, &FormulaError{Src: b.f.Source, Pos: r.Pos, Where: b.cfg.where("model.formula"), Msg: msg})
	}
	if dv := b.cfg.Data.DateVar; dv != "" && b.t.Col(dv) < 0 {
		errs = append(errs, b.configErr("data.date_var", "`data.date_var` is %q, which is not a column of %s%s", dv, b.t.name(), b.suggest(dv)))
	}
	if b.cfg.CRE.Enabled {
		for _, v := range b.cfg.CRE.Vars {
			name := b.cfg.CRE.Prefix + v
			if b.t.Col(name) >= 0 || slices.Contains(b.f.Terms, name) {
				errs = append(errs, b.configErr("cre.prefix", "the CRE term %q would clash with a column of %s; set `cre.prefix` to another prefix", name, b.t.name()))
			}
		}
	}
	return errors.Join(errs...)
}

// barAt returns the group term that holds the formula position pos: the last one opened
// before it. Only call it for positions inside a group term.
func (b *builder) barAt(pos int) Bar {
	var bar Bar
	for _, br := range b.f.Bars {
		if br.Pos < pos {
			bar = br
		}
	}
	return bar
}

// configErr formats an error about a config key at its position.
func (b *builder) configErr(key, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if w := b.cfg.where(key); w != "" {
		return fmt.Errorf("ingest: %s: %s", w, msg)
	}
	return fmt.Errorf("ingest: %s", msg)
}

// suggest names close columns, or lists the columns when none is close.
func (b *builder) suggest(name string) string {
	var cols []string
	for _, h := range b.t.Header {
		if h != "" {
			cols = append(cols, h)
		}
	}
	if s := closest(name, cols, 3); len(s) > 0 {
		return fmt.Sprintf("; did you mean %s?", quoteList(s, " or "))
	}
	if len(cols) > 12 {
		return fmt.Sprintf(" (its columns: %s, … %d more)", showList(cols[:12]), len(cols)-12)
	}
	return fmt.Sprintf(" (its columns: %s)", showList(cols))
}

// quoteList formats names as "a", "b" or "c".
func quoteList(names []string, last string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + last + q[len(q)-1]
}

// numericNames lists the columns used as numbers: response, terms, offset.
func (b *builder) numericNames() []string {
	names := append([]string{b.f.Response}, b.f.Terms...)
	if b.f.Offset != "" {
		names = append(names, b.f.Offset)
	}
	return names
}

// textNames lists the columns used as text: grouping columns and the date column.
func (b *builder) textNames() []string {
	var names []string
	for _, bar := range b.f.Bars {
		for _, g := range bar.Factors {
			if !slices.Contains(names, g) {
				names = append(names, g)
			}
		}
	}
	if dv := b.cfg.Data.DateVar; dv != "" && !slices.Contains(names, dv) {
		names = append(names, dv)
	}
	return names
}

// parseColumns parses the numeric columns and marks rows with missing cells, reporting bad
// cells of every column together.
func (b *builder) parseColumns() error {
	n := b.t.Rows()
	b.num = map[string][]float64{}
	b.factors = map[string]bool{}
	b.missing = make([]bool, n)
	var bad []badCell
	type miss struct {
		row    int
		column string
	}
	var misses []miss
	for _, name := range b.numericNames() {
		vals, m, bc := b.t.numeric(b.t.Col(name))
		if len(bc) > 0 && name != b.f.Response && name != b.f.Offset && slices.Contains(b.f.Terms, name) && textColumn(m, bc) {
			b.factors[name] = true
			bc = nil // a categorical term: its levels are resolved on the kept rows
		}
		bad = append(bad, bc...)
		b.num[name] = vals
		for i, isM := range m {
			if isM {
				b.missing[i] = true
				misses = append(misses, miss{i, name})
			}
		}
	}
	if len(bad) > 0 {
		return errors.Join(b.t.badCellsError(bad), b.mixedHint(bad))
	}
	for _, name := range b.textNames() {
		for i, s := range b.t.Cells[b.t.Col(name)] {
			if isMissing(s) {
				b.missing[i] = true
				misses = append(misses, miss{i, name})
			}
		}
	}
	if len(misses) == 0 || b.cfg.Data.NAAction != "error" {
		return nil
	}
	slices.SortStableFunc(misses, func(x, y miss) int { return x.row - y.row })
	var errs []error
	for _, m := range misses[:min(len(misses), maxReported)] {
		errs = append(errs, fmt.Errorf("ingest: %s:%d: column %q is missing (%q)", b.t.name(), b.t.Lines[m.row], m.column, b.t.Cells[b.t.Col(m.column)][m.row]))
	}
	if len(misses) > maxReported {
		errs = append(errs, fmt.Errorf("ingest: %s: and %d more missing cells", b.t.name(), len(misses)-maxReported))
	}
	errs = append(errs, b.configErr("data.na_action", "`data.na_action` is error, so missing values in the model's columns are not allowed; fill them in, or set na_action: omit to drop those rows"))
	return errors.Join(errs...)
}

// selectRows drops rows with missing cells (na_action omit), then checks log responses and
// dates on the rows kept.
func (b *builder) selectRows() error {
	var dropped []int
	for i, m := range b.missing {
		if m {
			dropped = append(dropped, b.t.Lines[i])
			continue
		}
		b.keep = append(b.keep, i)
	}
	if len(b.keep) == 0 {
		return fmt.Errorf("ingest: every row of %s misses a value in a column the model uses (%s); no rows are left", b.t.name(), showList(append(b.numericNames(), b.textNames()...)))
	}
	if len(dropped) > 0 {
		lines := make([]string, 0, 10)
		for _, l := range dropped[:min(len(dropped), 10)] {
			lines = append(lines, fmt.Sprint(l))
		}
		more := ""
		if len(dropped) > 10 {
			more = ", …"
		}
		b.warnings = append(b.warnings, fmt.Sprintf("dropped %d of %d rows with missing values (data.na_action: omit): lines %s%s",
			len(dropped), b.t.Rows(), strings.Join(lines, ", "), more))
	}
	var errs []error
	if b.f.LogResponse {
		y := b.num[b.f.Response]
		bad := 0
		for _, i := range b.keep {
			if y[i] > 0 {
				continue
			}
			if bad < maxReported {
				errs = append(errs, fmt.Errorf("ingest: %s:%d: column %q is %s; log(%s) needs every value > 0",
					b.t.name(), b.t.Lines[i], b.f.Response, strings.TrimSpace(b.t.Cells[b.t.Col(b.f.Response)][i]), b.f.Response))
			}
			bad++
		}
		if bad > maxReported {
			errs = append(errs, fmt.Errorf("ingest: %s: and %d more values ≤ 0 in column %q", b.t.name(), bad-maxReported, b.f.Response))
		}
	}
	if b.cfg.Data.DateVar != "" {
		errs = append(errs, b.checkDates()...)
	}
	return errors.Join(errs...)
}

// dateLayouts are the date formats recognised in data.date_var, with how users write them.
// Day and month may have one digit in the day-first and month-first forms (3/4/2024).
var dateLayouts = []struct{ layout, name string }{
	{"2006-01-02", "YYYY-MM-DD"},
	{"2006/01/02", "YYYY/MM/DD"},
	{dayFirst, "DD/MM/YYYY"},
	{monthFirst, "MM/DD/YYYY"},
	{"2.1.2006", "DD.MM.YYYY"},
	{"2006-01-02 15:04:05", "YYYY-MM-DD hh:mm:ss"},
	{"2006-01-02T15:04:05Z07:00", "RFC 3339"},
}

// checkDates finds the date format most values of data.date_var follow and reports the
// values that do not follow it. A column where fewer than half the values parse in any
// format holds labels (such as 2020-W01), not dates, and is not checked.
func (b *builder) checkDates() []error {
	dv := b.cfg.Data.DateVar
	cells := b.t.Cells[b.t.Col(dv)]
	if f := b.cfg.Data.DateFormat; f != "" {
		layout, _ := DateLayout(f) // Validate checked it
		return b.badDates(cells, layout, fmt.Sprintf("data.date_format %q", f))
	}
	values := make([]string, len(b.keep))
	for k, i := range b.keep {
		values[k] = strings.TrimSpace(cells[i])
	}
	best, bestN := bestDateLayout(values)
	if err := ambiguousDates(b.t, dv, values, b.keep); err != nil {
		return []error{err}
	}
	if best < 0 || 2*bestN < len(b.keep) || bestN == len(b.keep) {
		return nil
	}
	dl := dateLayouts[best]
	return b.badDates(cells, dl.layout, "the format of the other rows ("+dl.name+")")
}

// badDates reports the kept values of data.date_var that do not parse with layout, which
// is described as format.
func (b *builder) badDates(cells []string, layout, format string) []error {
	dv := b.cfg.Data.DateVar
	var errs []error
	bad := 0
	for _, i := range b.keep {
		if _, err := time.Parse(layout, strings.TrimSpace(cells[i])); err == nil {
			continue
		}
		if bad < maxReported {
			errs = append(errs, fmt.Errorf("ingest: %s:%d: column %q (data.date_var): %q is not a date in %s",
				b.t.name(), b.t.Lines[i], dv, cells[i], format))
		}
		bad++
	}
	if bad > maxReported {
		errs = append(errs, fmt.Errorf("ingest: %s: and %d more values of %q that are not dates", b.t.name(), bad-maxReported, dv))
	}
	return errs
}

// spec assembles the Spec from the kept rows.
func (b *builder) spec() (*Spec, error) {
	cfg, f := b.cfg, b.f
	n := len(b.keep)
	s := &Spec{
		Name:        sanitizeName(cfg.Model.Name),
		Response:    f.Response,
		LogResponse: f.LogResponse,
		N:           n,
		Scale:       cfg.Model.Scale,
		Lines:       make([]int, n),
		Dropped:     b.t.Rows() - n,
		Warnings:    b.warnings,
	}
	for k, i := range b.keep {
		s.Lines[k] = b.t.Lines[i]
	}
	for _, name := range f.Implicit {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s appears only inside a group term; it was added as a population term too", show(name)))
	}
	s.Y = b.column(f.Response)
	if f.LogResponse {
		for i, y := range s.Y {
			s.Y[i] = math.Log(y)
		}
	}
	if f.Offset != "" {
		s.Offset, s.OffsetName = b.column(f.Offset), f.Offset
	}
	if f.Intercept {
		ones := make([]float64, n)
		for i := range ones {
			ones[i] = 1
		}
		s.Terms = append(s.Terms, Term{Name: InterceptName, Intercept: true})
		s.X = append(s.X, ones)
	}
	ts, series, err := b.transforms(f.Terms)
	if err != nil {
		return nil, err
	}
	s.Transforms, s.Series = ts, series
	b.transformed = map[string][]float64{}
	for i := range ts {
		ts[i].Raw = b.column(ts[i].Column)
		b.transformed[ts[i].Column] = ts[i].Apply(ts[i].Raw, series)
	}
	for _, name := range f.Terms {
		if ft, ok := b.factorTerms[name]; ok {
			terms, cols := b.factorColumns(ft)
			s.Terms = append(s.Terms, terms...)
			s.X = append(s.X, cols...)
			continue
		}
		s.Terms = append(s.Terms, Term{Name: name})
		s.X = append(s.X, b.termColumn(name))
	}
	if cfg.Data.DateVar != "" {
		s.Dates = b.text(cfg.Data.DateVar)
	}
	for k, bar := range f.Bars {
		s.Groups = append(s.Groups, b.grouping(k, bar, s.Terms))
	}
	s.Parameterization = normalise("model.random_effects.parameterization", cfg.Model.RandomEffects.Parameterization)
	if err := b.checkGroups(s); err != nil {
		return nil, err
	}
	s.Warnings = append(s.Warnings, groupWarnings(s)...)
	if err := b.addCRE(s); err != nil {
		return nil, err
	}
	if err := b.priors(s); err != nil {
		return nil, err
	}
	if b.cfg.Pooled() {
		if s.Pooling, err = b.readPoolingMap(s); err != nil {
			return nil, err
		}
		if err := b.poolingPriors(s, s.Pooling); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// column returns a numeric column restricted to the kept rows.
func (b *builder) column(name string) []float64 {
	all := b.num[name]
	out := make([]float64, len(b.keep))
	for k, i := range b.keep {
		out[k] = all[i]
	}
	return out
}

// termColumn returns a term's design column: its transformed values when the config
// transforms it, else the column restricted to the kept rows.
func (b *builder) termColumn(name string) []float64 {
	if x, ok := b.transformed[name]; ok {
		return slices.Clone(x)
	}
	return b.column(name)
}

// text returns a text column restricted to the kept rows.
func (b *builder) text(name string) []string {
	all := b.t.Cells[b.t.Col(name)]
	out := make([]string, len(b.keep))
	for k, i := range b.keep {
		out[k] = strings.TrimSpace(all[i])
	}
	return out
}

// grouping builds group k from a bar term; labels of composite keys are joined with ":".
func (b *builder) grouping(k int, bar Bar, terms []Term) Grouping {
	// Group effects are independent by default, as DSAMbayes documents; only
	// model.random_effects.correlated: true adds a correlation, and || never has one.
	correlated := b.cfg.Model.RandomEffects.Correlated != nil && *b.cfg.Model.RandomEffects.Correlated
	g := Grouping{Factor: bar.Factor(), Index: k + 1, Of: make([]int, len(b.keep)),
		Independent: bar.Independent || !correlated}
	cols := make([][]string, len(bar.Factors))
	for j, name := range bar.Factors {
		cols[j] = b.text(name)
	}
	index := map[string]int{}
	parts := make([]string, len(cols))
	for i := range b.keep {
		for j := range cols {
			parts[j] = cols[j][i]
		}
		label := strings.Join(parts, ":")
		l, ok := index[label]
		if !ok {
			l = len(g.Levels)
			index[label] = l
			g.Levels = append(g.Levels, label)
		}
		g.Of[i] = l
	}
	termIndex := func(name string) int {
		return slices.IndexFunc(terms, func(t Term) bool { return t.Name == name })
	}
	if bar.Intercept {
		g.Terms = append(g.Terms, termIndex(InterceptName)) // ParseFormula guarantees it exists
	}
	for _, name := range bar.Terms {
		g.Terms = append(g.Terms, termIndex(name))
	}
	return g
}

// constant reports whether all values are equal up to rounding.
func constant(x []float64) bool {
	lo, hi := slices.Min(x), slices.Max(x)
	return hi-lo <= 1e-12*math.Max(1, math.Max(math.Abs(lo), math.Abs(hi)))
}

// meanSD returns the mean and the sd (n−1) of x, with a usable scale: an sd that is zero or
// not finite becomes 1, and a non-finite mean 0.
func meanSD(x []float64) (mean, sd float64) {
	mean, sd = stat.MeanStdDev(x, nil)
	if !isFinite(mean) {
		mean = 0
	}
	if !(sd > 0) || math.IsInf(sd, 0) {
		sd = 1
	}
	return mean, sd
}

// priors sets scaling, default priors (group scales included), overrides and bounds.
func (b *builder) priors(s *Spec) error {
	cfg := b.cfg
	meanY, sdY := meanSD(s.Y)
	s.Scaling = Scaling{YCentre: 0, YScale: 1, XScale: make([]float64, len(s.Terms))}
	s.Priors = make([]Prior, len(s.Terms))
	s.Bounds = make([]Bound, len(s.Terms))
	byName := map[string]int{}
	for k, term := range s.Terms {
		byName[term.Name] = k
		s.Bounds[k] = Unbounded
		s.Scaling.XScale[k] = 1
		if term.Intercept {
			s.Priors[k] = Prior{Mean: meanY, SD: defaultPriorSD * sdY, Default: true}
			continue
		}
		_, sdX := meanSD(s.X[k])
		s.Priors[k] = Prior{Mean: 0, SD: defaultPriorSD * sdY / sdX, Default: true}
		if cfg.Model.Scale {
			s.Scaling.XScale[k] = sdX
		}
	}
	if cfg.Model.Scale {
		// Centring y is exact only when an intercept absorbs the centre.
		s.Scaling.YScale = sdY
		if len(s.Terms) > 0 && s.Terms[0].Intercept {
			s.Scaling.YCentre = meanY
		}
	}
	s.NoiseSD = NoisePrior{Family: NoiseNormal, Mean: 0, SD: sdY, Default: true}
	type scaleRef struct{ g, j int }
	scaleByName := map[string]scaleRef{}
	for gi := range s.Groups {
		g := &s.Groups[gi]
		g.SDPriors = groupScalePriors(s, g, meanY, sdY)
		for j, k := range g.Terms {
			scaleByName[GroupScaleName(g.Index, s.Terms[k].Name)] = scaleRef{gi, j}
		}
	}

	if cfg.Priors.FromOLS {
		if err := b.olsPriors(s); err != nil {
			return err
		}
	}
	if cfg.Priors.FromRun != "" {
		if cfg.previous == nil {
			return fmt.Errorf("ingest: priors.from_run: the previous run %s was not read (Config.SetPreviousRun)", cfg.fromRunText())
		}
		b.runPriors(s)
		b.staleParams(s)
	}
	s.Warnings = append(s.Warnings, b.priorWarnings...)

	// Validate checked names, duplicates and values against the formula, so the lookups
	// below only fail if Spec and Config.Parameters disagree.
	var errs []error
	for i, o := range cfg.Priors.Overrides {
		if _, _, ok := parseTransformParam(o.Parameter); ok {
			continue // set with the transforms (see setTransformPriors)
		}
		if o.Parameter == NoiseSDName {
			s.NoiseSD = NoisePrior{Family: NoiseNormal, Mean: *o.Mean, SD: *o.SD, Origin: OriginOverride}
			continue
		}
		if slices.Contains(cfg.PooledParams(), o.Parameter) {
			continue // set with the pooling map (see poolingPriors)
		}
		if r, ok := scaleByName[o.Parameter]; ok {
			s.Groups[r.g].SDPriors[r.j] = Prior{Mean: *o.Mean, SD: *o.SD, Origin: OriginOverride}
			continue
		}
		k, ok := byName[o.Parameter]
		if !ok {
			errs = append(errs, b.configErr(fmt.Sprintf("priors.overrides[%d].parameter", i), "`priors.overrides[%d].parameter` is %q, which is not a coefficient of the model%s", i, o.Parameter, unknownParameter(s, o.Parameter)))
			continue
		}
		s.Priors[k] = Prior{Mean: *o.Mean, SD: *o.SD, Origin: OriginOverride}
	}
	if ns := cfg.Priors.NoiseSD; ns != nil {
		s.NoiseSD = NoisePrior{Family: ns.Family, Mean: *ns.Mean, SD: *ns.SD, Origin: OriginConfig}
	}
	for i, o := range cfg.Boundaries.Overrides {
		k, ok := byName[o.Parameter]
		if !ok {
			errs = append(errs, b.configErr(fmt.Sprintf("boundaries.overrides[%d].parameter", i), "`boundaries.overrides[%d].parameter` is %q, which is not a coefficient of the model%s", i, o.Parameter, unknownParameter(s, o.Parameter)))
			continue
		}
		s.Bounds[k] = Bound{Lower: o.Lower, Upper: o.Upper}
	}
	if !cfg.Priors.UseDefaults && !cfg.Pooled() { // a pooled model's are checked with its map (poolingPriors)
		errs = append(errs, b.derivedPriors(s))
	}
	return errors.Join(errs...)
}

// derivedPriors refuses, under priors.use_defaults false, the terms still on a default
// prior: Validate checked the formula's parameters, but the levels of categorical terms and
// the managed holiday terms are known only from the data.
func (b *builder) derivedPriors(s *Spec) error {
	var missing []string
	for k, t := range s.Terms {
		if s.Priors[k].Default {
			missing = append(missing, t.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return b.configErr("priors.use_defaults", "`priors.use_defaults` is false, so every parameter needs a prior in `priors.overrides`; missing: %s", showList(missing))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitizeName makes a model name safe for a folder name: runs of other characters become
// "_", and leading dots are dropped.
func sanitizeName(name string) string {
	s := strings.TrimLeft(unsafeName.ReplaceAllString(name, "_"), ".")
	if s == "" {
		return "model"
	}
	return s
}
