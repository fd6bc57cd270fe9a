package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/internal/strictyaml"
)

// validator collects problems with their positions.
type validator struct {
	c     *Config
	probs []Problem
}

func (v *validator) add(key, format string, args ...any) {
	p := Problem{Key: key, Msg: fmt.Sprintf(format, args...)}
	p.Line, p.Col = v.c.at(key)
	v.probs = append(v.probs, p)
}

// at locates key, or its nearest ancestor present in the file, or returns 0, 0.
func (c *Config) at(key string) (line, col int) { return c.pos.At(key) }

// enum checks that a key holds one of the allowed values (or an accepted alias).
func (v *validator) enum(key, val string, allowed []string) {
	if slices.Contains(allowed, val) {
		return
	}
	if _, ok := aliases[key][val]; ok {
		return
	}
	v.add(key, "`%s` is %q; must be one of %s", key, val, strings.Join(allowed, ", "))
}

// intRange checks lo <= val <= hi.
func (v *validator) intRange(key string, val, lo, hi int64) {
	if val < lo || val > hi {
		v.add(key, "`%s` is %d; must be between %d and %d", key, val, lo, hi)
	}
}

// Validate checks every value and the rules between keys, and reports every problem at once
// as a *ConfigError. It also checks that data.path exists and that model.formula parses, and
// checks parameter names in priors and boundaries against the formula's terms.
func (c *Config) Validate() error {
	v := &validator{c: c}
	if c.SchemaVersion != 1 {
		v.add("schema_version", "`schema_version` is %d; must be 1 (dsamstan reads DSAMbayes runner schema v1)", c.SchemaVersion)
	}
	c.validateData(v)
	f := c.validateModel(v)
	c.validateTransforms(v, f)
	c.validatePriors(v, f)
	c.validateFit(v)
	v.enum("diagnostics.policy_mode", c.Diagnostics.PolicyMode, policyModes)
	c.validateIdentifiability(v)
	c.validateTSCV(v)
	c.validatePorted(v)
	if c.Outputs.RootDir == "" {
		v.add("outputs.root_dir", "`outputs.root_dir` is empty; set the folder that holds the run folders (default results)")
	}
	v.enum("outputs.layout", c.Outputs.Layout, layouts)
	if len(v.probs) == 0 {
		return nil
	}
	file := c.file
	if file == "" && c.Path != "" {
		file = c.Path
	}
	return &ConfigError{File: file, Problems: strictyaml.Sort(v.probs)}
}

func (c *Config) validateData(v *validator) {
	written := c.dataPath
	if written == "" {
		written = c.Data.Path
	}
	if c.Data.Path == "" {
		v.add("data.path", "`data.path` is missing; set it to the CSV file (relative to the config's folder)")
	} else if st, err := os.Stat(c.Data.Path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			v.add("data.path", "data file %q not found (`data.path` is resolved against the config's folder %s)", written, c.Dir)
		} else {
			v.add("data.path", "data file %q: %v", written, err)
		}
	} else if st.IsDir() {
		v.add("data.path", "data file %q is a folder; `data.path` must name a CSV file", written)
	}
	switch c.Data.Format {
	case "csv":
		c.validateLongKeys(v)
	case "long":
		c.validateLong(v)
	case "":
		if c.Data.Path != "" {
			v.add("data.path", "`data.format` is not set and data.path %q does not end in .csv; dsamstan reads CSV (convert the file, or set `data.format: csv` if it is CSV)", written)
		}
	default:
		v.add("data.format", "`data.format` is %q; dsamstan reads csv, or long (a CSV with one row per id, date and variable); convert the data to CSV", c.Data.Format)
	}
	v.enum("data.na_action", c.Data.NAAction, naActions)
}

// validateModel checks the model and cre sections and returns the parsed formula (nil when
// it does not parse).
func (c *Config) validateModel(v *validator) *Formula {
	var f *Formula
	if strings.TrimSpace(c.Model.Formula) == "" {
		v.add("model.formula", "`model.formula` is missing; write the model as y ~ x1 + x2")
	} else if pf, err := ParseFormula(c.Model.Formula); err != nil {
		var fe *FormulaError
		errors.As(err, &fe)
		v.add("model.formula", "%s", fe.render("`model.formula`"))
		v.probs[len(v.probs)-1].Err = err
	} else {
		f = pf
	}
	if c.Model.Name == "" {
		v.add("model.name", "`model.name` is empty; name the model (it names the run folder)")
	}
	v.enum("model.type", c.Model.Type, modelTypes)
	v.enum("model.kpi_type", c.Model.KPIType, kpiTypes)
	v.enum("model.log_response", c.Model.LogResponse, []string{"mean", "median"})
	v.enum("model.random_effects.parameterization", c.Model.RandomEffects.Parameterization, reParams)
	if f != nil {
		switch t := c.Model.Type; {
		case t == "blm" && len(f.Bars) > 0:
			v.add("model.type", "`model.type` is blm but the formula has group terms ( … | %s ); use re, cre or auto", showFactor(f.Bars[0].Factors))
		case (t == "re" || t == "cre") && len(f.Bars) == 0:
			v.add("model.type", "`model.type` is %s but the formula has no group terms; add ( 1 + … | group ) or use blm", t)
		}
	}

	c.validatePooling(v, f)

	// cre: checked here because it changes the model.
	cre := c.CRE
	if c.Model.Type == "cre" && !cre.Enabled {
		v.add("cre.enabled", "`model.type` is cre but `cre.enabled` is false; set cre.enabled: true and list cre.vars")
	}
	if !cre.Enabled {
		return f
	}
	if c.Model.Type == "blm" || c.Model.Type == "re" || c.Model.Type == "pooled" {
		v.add("cre.enabled", "`cre.enabled` is true but `model.type` is %s; use cre or auto", c.Model.Type)
	}
	if len(cre.Vars) == 0 {
		v.add("cre.vars", "`cre.enabled` is true but `cre.vars` is empty; list the terms whose group means to add")
	}
	if !isName(cre.Prefix) {
		v.add("cre.prefix", "`cre.prefix` is %q; must start with a letter and hold only letters, digits, . and _", cre.Prefix)
	}
	if f == nil {
		return f
	}
	if len(f.Bars) == 0 {
		v.add("cre.enabled", "`cre.enabled` is true but the formula has no group terms; CRE needs a panel model: add a group term such as (1 | market), or set `cre.enabled: false`")
	}
	seen := map[string]bool{}
	for i, name := range cre.Vars {
		key := fmt.Sprintf("cre.vars[%d]", i)
		switch {
		case seen[name]:
			v.add(key, "`%s` repeats %q", key, name)
		case !slices.Contains(f.Terms, name):
			v.add(key, "`%s` is %q, which is not a term of the formula (terms: %s)", key, name, showList(f.Terms))
		}
		seen[name] = true
	}
	var factors, shown []string
	for _, b := range f.Bars {
		factors = append(factors, b.Factor())
		shown = append(shown, showFactor(b.Factors))
	}
	if cre.Group != "" && !slices.Contains(factors, cre.Group) {
		v.add("cre.group", "`cre.group` is %q; must be a grouping key of the formula: %s", cre.Group, strings.Join(shown, ", "))
	}
	if cre.Group == "" && len(factors) > 1 {
		v.add("cre.group", "the formula has several grouping keys (%s); set `cre.group` to one of them", strings.Join(shown, ", "))
	}
	return f
}

// Parameters returns the names priors may refer to for formula f (noise_sd and the
// estimated transform parameters aside, see EstimatedTransformParams), in order: the coefficients (see Coefficients), then the group scales sd_<i>[term] of each
// group term, i counting the group terms from 1 and the varying intercept named
// (Intercept): sd_1[(Intercept)], sd_1[m_tv].
func (c *Config) Parameters(f *Formula) []string {
	names := c.Coefficients(f)
	for i, b := range f.Bars {
		if b.Intercept {
			names = append(names, GroupScaleName(i+1, InterceptName))
		}
		for _, t := range b.Terms {
			names = append(names, GroupScaleName(i+1, t))
		}
	}
	return names
}

// Coefficients returns the population coefficients of formula f, the names bounds may
// refer to, in design order: (Intercept) when present, the terms, then the cre_mean_ terms
// when CRE is enabled.
func (c *Config) Coefficients(f *Formula) []string {
	var names []string
	if f.Intercept {
		names = append(names, InterceptName)
	}
	names = append(names, f.Terms...)
	if c.CRE.Enabled {
		for _, v := range c.CRE.Vars {
			names = append(names, c.CRE.Prefix+v)
		}
	}
	return names
}

// scaleTerms maps each group-scale name of formula f to its term: sd_1[m_tv] -> m_tv.
func scaleTerms(f *Formula) map[string]string {
	m := map[string]string{}
	for i, b := range f.Bars {
		if b.Intercept {
			m[GroupScaleName(i+1, InterceptName)] = InterceptName
		}
		for _, t := range b.Terms {
			m[GroupScaleName(i+1, t)] = t
		}
	}
	return m
}

// NoiseSDName is the parameter name of the residual standard deviation.
const NoiseSDName = "noise_sd"

func (c *Config) validatePriors(v *validator, f *Formula) {
	var params, coefs, estimated []string
	var scales map[string]string
	if f != nil {
		params, coefs, scales = c.Parameters(f), c.Coefficients(f), scaleTerms(f)
		estimated = c.EstimatedTransformParams(f)
	}
	// known checks a prior's name (prior true: a coefficient, a group scale or noise_sd) or
	// a bound's (a coefficient).
	known := func(key, name string, prior bool) bool {
		valid := coefs
		if prior {
			valid = append(append(append(slices.Clone(params), NoiseSDName), estimated...), c.PooledParams()...)
		}
		if f == nil || slices.Contains(valid, name) || c.derivedName(f, name) {
			return true
		}
		if term, ok := scales[name]; ok && !prior {
			v.add(key, "`%s` is %q; bounds apply to population coefficients, not group scales (which are ≥ 0 already): bound %s instead, or narrow %s with a prior in `priors.overrides`", key, name, show(term), show(name))
			return false
		}
		hint := ""
		if s := closest(name, valid, 1); len(s) > 0 {
			hint = fmt.Sprintf("did you mean %q? ", s[0])
		}
		if !prior && name == NoiseSDName {
			hint = "bounds apply to coefficients only; "
		}
		v.add(key, "`%s` is %q; %smust be one of: %s", key, name, hint, showList(valid))
		return false
	}

	c.validateUpdate(v, f)
	covered := map[string]bool{}
	for i, o := range c.Priors.Overrides {
		item := fmt.Sprintf("priors.overrides[%d]", i)
		if kind, column, ok := parseTransformParam(o.Parameter); ok {
			c.validateTransformOverride(v, item, o, kind, column, covered)
			continue
		}
		if o.Family != "" && o.Family != "normal" {
			v.add(item+".family", "`%s.family` is %q; a prior on %s is a normal (truncated at 0 for a scale), so family may only be normal (beta, lognormal and gamma are for estimated transform parameters)%s",
				item, o.Family, show(o.Parameter), noiseFamilyHint(o.Parameter))
		}
		if o.Parameter == "" {
			v.add(item+".parameter", "`%s` has no `parameter`; name the coefficient (or noise_sd)", item)
		} else if known(item+".parameter", o.Parameter, true) {
			if covered[o.Parameter] {
				v.add(item, "%s repeats an earlier override; give each parameter once", itemLabel(item, o.Parameter))
			}
			covered[o.Parameter] = true
		}
		if o.Mean == nil {
			v.add(item, "%s has no `mean`", itemLabel(item, o.Parameter))
		} else if !isFinite(*o.Mean) {
			v.add(item+".mean", "`%s.mean` is %s; must be a finite number", item, num.Plain(*o.Mean))
		} else if slices.Contains(c.PooledParams(), o.Parameter) && o.Parameter != PooledMeanName && *o.Mean < 0 {
			v.add(item+".mean", "`%s.mean` is %s; the prior on the pooling scale %s is a normal truncated at 0, so its mean must be ≥ 0", item, num.Plain(*o.Mean), show(o.Parameter))
		} else if _, ok := scales[o.Parameter]; ok && *o.Mean < 0 {
			v.add(item+".mean", "`%s.mean` is %s; the prior on the group scale %s is a normal truncated at 0, so its mean must be ≥ 0", item, num.Plain(*o.Mean), show(o.Parameter))
		}
		if o.SD == nil {
			v.add(item, "%s has no `sd`", itemLabel(item, o.Parameter))
		} else if !(*o.SD > 0) || math.IsInf(*o.SD, 1) {
			v.add(item+".sd", "`%s.sd` is %s; must be > 0 and finite", item, num.Plain(*o.SD))
		}
	}
	if ns := c.Priors.NoiseSD; ns != nil {
		if covered[NoiseSDName] {
			v.add("priors.noise_sd", "`priors.noise_sd` and a `priors.overrides` entry for noise_sd are both given; keep one")
		}
		covered[NoiseSDName] = true
		v.enum("priors.noise_sd.family", ns.Family, families)
		switch {
		case ns.SD == nil:
			v.add("priors.noise_sd", "`priors.noise_sd` has no `sd`")
		case !(*ns.SD > 0) || math.IsInf(*ns.SD, 1):
			v.add("priors.noise_sd.sd", "`priors.noise_sd.sd` is %s; must be > 0 and finite", num.Plain(*ns.SD))
		}
		switch {
		case ns.Mean == nil:
			if ns.Family == NoiseLognormalMS {
				v.add("priors.noise_sd", "`priors.noise_sd` has no `mean` (the lognormal_ms family needs the mean of noise_sd, > 0)")
			}
		case !isFinite(*ns.Mean):
			v.add("priors.noise_sd.mean", "`priors.noise_sd.mean` is %s; must be a finite number", num.Plain(*ns.Mean))
		case ns.Family == NoiseLognormalMS && !(*ns.Mean > 0):
			v.add("priors.noise_sd.mean", "`priors.noise_sd.mean` is %s; must be > 0 for the lognormal_ms family", num.Plain(*ns.Mean))
		}
	}
	if !c.Priors.UseDefaults && params != nil {
		var missing []string
		for _, p := range append(append(slices.Clone(params), NoiseSDName), estimated...) {
			if c.Pooled() && slices.Contains(coefs, p) {
				continue // which terms are pooled is known from the map: BuildSpec checks them
			}
			if !covered[p] {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			v.add("priors.use_defaults", "`priors.use_defaults` is false, so every parameter needs a prior in `priors.overrides` (or `priors.noise_sd`); missing: %s", showList(missing))
		}
	}

	bounded := map[string]bool{}
	for i, b := range c.Boundaries.Overrides {
		item := fmt.Sprintf("boundaries.overrides[%d]", i)
		if b.Parameter == "" {
			v.add(item+".parameter", "`%s` has no `parameter`; name the coefficient", item)
		} else if known(item+".parameter", b.Parameter, false) {
			if bounded[b.Parameter] {
				v.add(item, "%s repeats an earlier override; give each parameter once", itemLabel(item, b.Parameter))
			}
			bounded[b.Parameter] = true
		}
		switch {
		case math.IsNaN(b.Lower) || math.IsNaN(b.Upper):
			v.add(item, "%s: lower and upper must be numbers, not .nan", itemLabel(item, b.Parameter))
		case b.Lower > b.Upper:
			v.add(item, "%s: lower %s is above upper %s", itemLabel(item, b.Parameter), num.Plain(b.Lower), num.Plain(b.Upper))
		case math.IsInf(b.Lower, 1):
			v.add(item, "%s: lower is Inf; use -Inf (or leave it out) for no lower bound", itemLabel(item, b.Parameter))
		case math.IsInf(b.Upper, -1):
			v.add(item, "%s: upper is -Inf; use Inf (or leave it out) for no upper bound", itemLabel(item, b.Parameter))
		case b.Lower == b.Upper:
			v.add(item, "%s: lower and upper are both %s; lower must be below upper", itemLabel(item, b.Parameter), num.Plain(b.Lower))
		}
	}
}

func (c *Config) validateFit(v *validator) {
	v.enum("fit.method", c.Fit.Method, fitMethods)
	m := c.Fit.MCMC
	v.intRange("fit.mcmc.chains", int64(m.Chains), 1, 64)
	v.intRange("fit.mcmc.iter", int64(m.Iter), 1, 1_000_000)
	if m.Warmup < 0 {
		v.add("fit.mcmc.warmup", "`fit.mcmc.warmup` is %d; must be 0 or more", m.Warmup)
	} else if m.Iter >= 1 && m.Warmup >= m.Iter {
		v.add("fit.mcmc.warmup", "`fit.mcmc.warmup` is %d; must be below `fit.mcmc.iter` (%d), which includes the warmup", m.Warmup, m.Iter)
	}
	v.intRange("fit.mcmc.seed", m.Seed, 0, math.MaxUint32)
	v.intRange("fit.mcmc.cores", int64(m.Cores), 1, 1024)
	if !(m.AdaptDelta > 0 && m.AdaptDelta < 1) {
		v.add("fit.mcmc.adapt_delta", "`fit.mcmc.adapt_delta` is %s; must be between 0 and 1 (exclusive), e.g. 0.95", num.Plain(m.AdaptDelta))
	}
	v.intRange("fit.mcmc.max_treedepth", int64(m.MaxTreedepth), 1, 100)
	if m.Thin < 1 {
		v.add("fit.mcmc.thin", "`fit.mcmc.thin` is %d; must be 1 or more", m.Thin)
	} else if n := m.Iter - m.Warmup; n >= 1 && m.Thin > n {
		v.add("fit.mcmc.thin", "`fit.mcmc.thin` is %d; must not exceed the %d sampling iterations (iter - warmup)", m.Thin, n)
	}
	v.intRange("fit.optimise.n_runs", int64(c.Fit.Optimise.NRuns), 1, 1000)
	v.intRange("fit.laplace.draws", int64(c.Fit.Laplace.Draws), 2, 1_000_000)
	v.intRange("fit.pathfinder.num_paths", int64(c.Fit.Pathfinder.NumPaths), 1, 1000)
	v.intRange("fit.pathfinder.draws", int64(c.Fit.Pathfinder.Draws), 2, 1_000_000)
}

// isName reports whether s is an R-style name, usable in a formula without backticks.
func isName(s string) bool {
	for i, r := range s {
		if i == 0 && !(r == '.' || unicode.IsLetter(r)) || !isNameRune(r) {
			return false
		}
	}
	return s != "" && s != "." && !(s[0] == '.' && len(s) > 1 && s[1] >= '0' && s[1] <= '9')
}

// itemLabel names a list item for messages, with its parameter when known.
func itemLabel(item, param string) string {
	if param == "" {
		return "`" + item + "`"
	}
	return fmt.Sprintf("`%s` (%s)", item, show(param))
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
