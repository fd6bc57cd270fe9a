package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/dsamstan/dsamstan/internal/num"
)

// PoolingConfig is the pooling section of a pooled model (model.type pooled): the media
// terms listed in the map file have their coefficients partially pooled across the
// labelled dimensions GroupingVars (see Pooling). ParseConfig makes MapPath absolute.
type PoolingConfig struct {
	Enabled bool `yaml:"enabled"`
	// MapPath is a CSV with a column term and one column per grouping variable, one row
	// per pooled term (relative to the config's folder, absolute after ParseConfig).
	MapPath string `yaml:"map_path,omitempty"`
	// GroupingVars are the map's dimension columns, e.g. [channel, campaign].
	GroupingVars []string `yaml:"grouping_vars,omitempty"`

	mapWritten string // map_path as written, for messages
}

// Names of the pooled model's parameters, as priors.overrides and the outputs use them.
const (
	// PooledMeanName is the mean of the pooled coefficients, in original units.
	PooledMeanName = "pooled_mean"
	// PooledTermSDName is each pooled coefficient's own deviation from its level means.
	PooledTermSDName = "sd_term"
	// poolingTermColumn is the map file's column of term names.
	poolingTermColumn = "term"
)

// PooledDimSDName names the scale of dimension dim's level effects: sd_channel.
func PooledDimSDName(dim string) string { return "sd_" + dim }

// PooledEffectName names level level's effect in dimension dim, in original units:
// pooled_effect[channel=tv].
func PooledEffectName(dim, level string) string {
	return fmt.Sprintf("pooled_effect[%s=%s]", dim, level)
}

// Pooling is the pooled part of a model (model.type pooled). For pooled term t with level
// l_d(t) in each dimension d, in original units,
//
//	m_t    = pooled_mean + Σ_d sd_d·z_{d,l_d(t)},   z ~ normal(0, 1)
//	beta_t ~ normal(m_t, sd_term) truncated to the term's bounds
//
// The pooled terms' own priors are replaced by this; Spec.Priors keeps the prior of
// pooled_mean at their places (see MeanPrior).
type Pooling struct {
	// Dims are the dimensions in grouping_vars order.
	Dims []PoolDim
	// Terms are the pooled terms, indexes into Spec.Terms in map-file order.
	Terms []int
	// Level[p][d] is pooled term p's level in Dims[d] (an index into its Levels).
	Level [][]int
	// MeanPrior is the normal prior on pooled_mean, DimSD the half-normal priors (normals
	// truncated at 0) on each dimension's scale sd_<dim>, TermSD on sd_term; all in
	// original units.
	MeanPrior Prior
	DimSD     []Prior
	TermSD    Prior
	// MapPath is the map file as written, for messages.
	MapPath string
}

// PoolDim is one pooling dimension: its name (a map column) and its levels in order of
// first appearance in the map.
type PoolDim struct {
	Name   string
	Levels []string
}

// Pooled reports whether the config asks for a pooled model.
func (c *Config) Pooled() bool { return c.Pooling != nil && c.Pooling.Enabled }

// poolingDefaults makes pooling.map_path absolute.
func (c *Config) poolingDefaults() {
	p := c.Pooling
	if p == nil {
		return
	}
	p.mapWritten = p.MapPath
	if p.MapPath != "" && !filepath.IsAbs(p.MapPath) {
		p.MapPath = filepath.Join(c.Dir, p.MapPath)
	}
}

// PooledParams lists the names the priors of a pooled model may set besides the formula's:
// pooled_mean, sd_<dim> per grouping variable and sd_term. Nil without pooling.
func (c *Config) PooledParams() []string {
	if !c.Pooled() {
		return nil
	}
	names := []string{PooledMeanName}
	for _, d := range c.Pooling.GroupingVars {
		names = append(names, PooledDimSDName(d))
	}
	return append(names, PooledTermSDName)
}

// validatePooling checks model.type against the pooling section and the section's keys.
func (c *Config) validatePooling(v *validator, f *Formula) {
	pooled := c.Pooled()
	switch {
	case c.Model.Type == "pooled" && !pooled:
		v.add("model.type", "`model.type` is pooled but `pooling.enabled` is not true; add a pooling section with enabled: true, map_path and grouping_vars")
	case pooled && c.Model.Type != "pooled" && c.Model.Type != "auto":
		v.add("pooling.enabled", "`pooling.enabled` is true but `model.type` is %s; use pooled or auto", c.Model.Type)
	}
	if !pooled {
		return
	}
	p := c.Pooling
	written := p.mapWritten
	if written == "" {
		written = p.MapPath
	}
	if p.MapPath == "" {
		v.add("pooling.map_path", "`pooling.map_path` is missing; set it to the CSV that gives each pooled term's level in each dimension (columns term and those of `pooling.grouping_vars`), relative to the config's folder")
	} else if st, err := os.Stat(p.MapPath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			v.add("pooling.map_path", "pooling map %q not found (`pooling.map_path` is resolved against the config's folder %s)", written, c.Dir)
		} else {
			v.add("pooling.map_path", "pooling map %q: %v", written, err)
		}
	} else if st.IsDir() {
		v.add("pooling.map_path", "pooling map %q is a folder; `pooling.map_path` must name a CSV file", written)
	}
	if len(p.GroupingVars) == 0 {
		v.add("pooling.grouping_vars", "`pooling.grouping_vars` is empty; list the map's dimension columns, e.g. [channel, campaign]")
	}
	seen := map[string]bool{}
	for i, g := range p.GroupingVars {
		key := fmt.Sprintf("pooling.grouping_vars[%d]", i)
		switch {
		case g == poolingTermColumn:
			v.add(key, "`%s` is %q, the map's column of term names; name a dimension column instead", key, g)
		case !isName(g):
			v.add(key, "`%s` is %q; must start with a letter and hold only letters, digits, . and _ (it names the parameter sd_%s)", key, g, g)
		case seen[g]:
			v.add(key, "`%s` repeats %q", key, g)
		}
		seen[g] = true
	}
	if f == nil {
		return
	}
	if len(f.Bars) > 0 {
		v.add("model.formula", "a pooled model (pooling.enabled: true) has one market, but the formula has group terms ( … | %s ); remove them, or switch pooling off for a panel model", showFactor(f.Bars[0].Factors))
	}
	if est := c.EstimatedTransformParams(f); len(est) > 0 {
		v.add("pooling.enabled", "a pooled model cannot estimate media transforms yet (the transforms section estimates %s); fix those parameters (numbers instead of estimate), or switch pooling off", showList(est))
	}
	if c.Fit.MAP() {
		v.add("fit.method", "`fit.method` is optimise, but a pooled model has no MAP: its density grows without bound as sd_term and the level scales shrink to 0 with the coefficients on their pooled means; use mcmc, laplace or pathfinder")
	}
	if c.Priors.FromOLS {
		v.add("priors.from_ols", "`priors.from_ols` is true, but a pooled model replaces the pooled terms' priors; set it to false")
	}
	if c.Priors.FromRun != "" {
		v.add("priors.from_run", "`priors.from_run` is set, but a pooled model cannot take its priors from a previous run yet; remove it")
	}
}

// readPoolingMap reads the pooling map and resolves it against the spec's terms: every
// problem found in the file, each at its line.
func (b *builder) readPoolingMap(s *Spec) (*Pooling, error) {
	pc := b.cfg.Pooling
	t, err := LoadCSV(pc.MapPath)
	if err != nil {
		return nil, fmt.Errorf("%w (pooling.map_path)", err)
	}
	name := t.name()
	var errs []error
	col := func(c string) int {
		j := t.Col(c)
		if j < 0 {
			hint := ""
			if s := closest(c, t.Header, 1); len(s) > 0 {
				hint = fmt.Sprintf("; did you mean %q?", s[0])
			}
			what := "the column of pooled term names"
			if c != poolingTermColumn {
				what = "a dimension named in `pooling.grouping_vars`"
			}
			errs = append(errs, fmt.Errorf("ingest: %s:1: the pooling map has no column %q (%s); its columns: %s%s", name, c, what, showList(t.Header), hint))
		}
		return j
	}
	tj := col(poolingTermColumn)
	dj := make([]int, len(pc.GroupingVars))
	for d, g := range pc.GroupingVars {
		dj[d] = col(g)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if t.Rows() == 0 {
		return nil, fmt.Errorf("ingest: %s: the pooling map has a header but no rows; list one pooled term per row", name)
	}
	p := &Pooling{MapPath: pc.mapWritten}
	index := make([]map[string]int, len(pc.GroupingVars))
	for d, g := range pc.GroupingVars {
		p.Dims = append(p.Dims, PoolDim{Name: g})
		index[d] = map[string]int{}
	}
	byName := map[string]int{}
	for k, term := range s.Terms {
		byName[term.Name] = k
	}
	seenAt := map[string]int{}
	for i, line := range t.Lines {
		term := strings.TrimSpace(t.Cells[tj][i])
		k, ok := byName[term]
		switch {
		case term == "":
			errs = append(errs, fmt.Errorf("ingest: %s:%d: the term is empty; name a term of the formula", name, line))
			continue
		case seenAt[term] > 0:
			errs = append(errs, fmt.Errorf("ingest: %s:%d: term %q is listed again (first at line %d); give each pooled term once", name, line, term, seenAt[term]))
			continue
		case ok && s.Terms[k].Intercept:
			errs = append(errs, fmt.Errorf("ingest: %s:%d: the intercept cannot be pooled; list media terms", name, line))
			continue
		case !ok:
			errs = append(errs, fmt.Errorf("ingest: %s:%d: term %q is not a term of the formula%s", name, line, term, unknownParameter(s, term)))
			continue
		case s.Terms[k].Factor != "":
			errs = append(errs, fmt.Errorf("ingest: %s:%d: term %q is a level of the text column %q; pooled terms must be numeric columns", name, line, term, s.Terms[k].Factor))
			continue
		}
		seenAt[term] = line
		levels := make([]int, len(dj))
		bad := false
		for d, j := range dj {
			label := strings.TrimSpace(t.Cells[j][i])
			if isMissing(label) {
				errs = append(errs, fmt.Errorf("ingest: %s:%d: term %q has no level in column %q; give every pooled term a level in each of %s", name, line, term, pc.GroupingVars[d], showList(pc.GroupingVars)))
				bad = true
				continue
			}
			l, ok := index[d][label]
			if !ok {
				l = len(p.Dims[d].Levels)
				index[d][label] = l
				p.Dims[d].Levels = append(p.Dims[d].Levels, label)
			}
			levels[d] = l
		}
		if !bad {
			p.Terms = append(p.Terms, k)
			p.Level = append(p.Level, levels)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, d := range p.Dims {
		if len(d.Levels) < 2 {
			errs = append(errs, fmt.Errorf("ingest: %s: dimension %q has one level (%q) across the map; a dimension needs 2 or more levels to pool over, so drop it from `pooling.grouping_vars`", name, d.Name, d.Levels[0]))
		}
	}
	if len(p.Terms) < 2 {
		errs = append(errs, fmt.Errorf("ingest: %s: the pooling map lists %d term; pooling needs 2 or more", name, len(p.Terms)))
	}
	return p, errors.Join(errs...)
}

// poolingPriors sets the priors of the pooled model's parameters: pooled_mean from the
// priors.overrides entry pooled_mean, or else from the entries under the pooled terms'
// names (which must agree), or else the default normal(0, 5·u) with u the largest
// sd(y)/sd(x) of the pooled terms (the widest default the BLM would give one of them); the
// scales sd_<dim> and sd_term from their entries, or else half_normal(0, u). The pooled
// terms' places in s.Priors take the prior of pooled_mean.
func (b *builder) poolingPriors(s *Spec, p *Pooling) error {
	_, sdY := meanSD(s.Y)
	unit := 0.0
	pooled := map[string]bool{}
	for _, k := range p.Terms {
		_, sdX := meanSD(s.X[k])
		unit = math.Max(unit, sdY/sdX)
		pooled[s.Terms[k].Name] = true
	}
	p.MeanPrior = Prior{Mean: 0, SD: defaultPriorSD * unit, Default: true}
	p.TermSD = Prior{Mean: 0, SD: unit, Default: true}
	p.DimSD = make([]Prior, len(p.Dims))
	for d := range p.Dims {
		p.DimSD[d] = Prior{Mean: 0, SD: unit, Default: true}
	}
	var termKeys []string
	var termPrior *Prior
	var conflict bool
	for i, o := range b.cfg.Priors.Overrides {
		if o.Mean == nil || o.SD == nil {
			continue // Validate reported it
		}
		pr := Prior{Mean: *o.Mean, SD: *o.SD, Origin: OriginOverride}
		item := fmt.Sprintf("priors.overrides[%d]", i)
		switch {
		case o.Parameter == PooledMeanName:
			p.MeanPrior = pr
		case o.Parameter == PooledTermSDName:
			p.TermSD = pr
		case pooled[o.Parameter]:
			termKeys = append(termKeys, fmt.Sprintf("%s (%s: normal(%s, %s))", item, o.Parameter, num.Plain(pr.Mean), num.Plain(pr.SD)))
			if termPrior != nil && (termPrior.Mean != pr.Mean || termPrior.SD != pr.SD) {
				conflict = true
			}
			if termPrior == nil {
				termPrior = &pr
			}
		default:
			for d, dim := range p.Dims {
				if o.Parameter == PooledDimSDName(dim.Name) {
					p.DimSD[d] = pr
				}
			}
		}
	}
	if conflict {
		return b.configErr("priors.overrides", "the pooled terms carry different priors (%s), but a pooled model has one prior for their mean; give them one prior, or set `pooled_mean` instead", strings.Join(termKeys, ", "))
	}
	if termPrior != nil {
		if !p.MeanPrior.Default {
			return b.configErr("priors.overrides", "both `pooled_mean` and the pooled terms (%s) carry a prior; the pooled terms' prior is the prior of pooled_mean, so keep one", strings.Join(termKeys, ", "))
		}
		p.MeanPrior = *termPrior
	}
	for _, k := range p.Terms {
		s.Priors[k] = p.MeanPrior
	}
	if b.cfg.Priors.UseDefaults {
		return nil
	}
	var missing []string
	for k, t := range s.Terms {
		if s.Priors[k].Default && !pooled[t.Name] {
			missing = append(missing, t.Name)
		}
	}
	if p.MeanPrior.Default {
		missing = append(missing, PooledMeanName+" (or the pooled terms)")
	}
	for d, dim := range p.Dims {
		if p.DimSD[d].Default {
			missing = append(missing, PooledDimSDName(dim.Name))
		}
	}
	if p.TermSD.Default {
		missing = append(missing, PooledTermSDName)
	}
	if len(missing) > 0 {
		return b.configErr("priors.use_defaults", "`priors.use_defaults` is false, so every parameter needs a prior in `priors.overrides`; missing: %s", strings.Join(missing, ", "))
	}
	return nil
}

// pooledPriorRows lists the prior rows of a pooled model's own parameters (see PriorTable).
func (c *Config) pooledPriorRows(s *Spec, source func(name, origin, rule string) string, origin func(string) string) []PriorRow {
	p := s.Pooling
	meanSrc := source(PooledMeanName, p.MeanPrior.Origin, fmt.Sprintf("default: normal(0, %d·u), u = the largest sd(y)/sd(x) of the pooled terms", defaultPriorSD))
	if meanSrc == "" { // set by the pooled terms' entries, not by pooled_mean's
		meanSrc = "priors.overrides of the pooled terms (their prior becomes pooled_mean's)"
	}
	rows := []PriorRow{{Parameter: PooledMeanName, Kind: KindPooled, Family: "normal", Mean: p.MeanPrior.Mean, SD: p.MeanPrior.SD,
		Lower: math.Inf(-1), Upper: math.Inf(1), PriorSource: meanSrc, BoundSource: "default: unbounded", Source: origin(p.MeanPrior.Origin)}}
	scale := func(name string, pr Prior) PriorRow {
		return PriorRow{Parameter: name, Kind: KindPooled, Family: "half_normal", Mean: pr.Mean, SD: pr.SD, Lower: 0, Upper: math.Inf(1),
			PriorSource: source(name, pr.Origin, "default: half_normal(0, u), u = the largest sd(y)/sd(x) of the pooled terms"),
			BoundSource: "a scale: ≥ 0", Source: origin(pr.Origin)}
	}
	for d, dim := range p.Dims {
		rows = append(rows, scale(PooledDimSDName(dim.Name), p.DimSD[d]))
	}
	return append(rows, scale(PooledTermSDName, p.TermSD))
}
