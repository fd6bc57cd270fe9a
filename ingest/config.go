package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/dsamstan/dsamstan/internal/strictyaml"
	"github.com/dsamstan/dsamstan/optimise"
)

// Config is a run configuration: the YAML file of DSAMbayes's runner, schema v1, with the
// keys dsamstan implements. ParseConfig fills every default and makes every path absolute,
// so after it the fields hold exactly what the run will use.
type Config struct {
	// SchemaVersion must be 1.
	SchemaVersion int               `yaml:"schema_version"`
	Data          DataConfig        `yaml:"data"`
	Model         ModelConfig       `yaml:"model"`
	CRE           CREConfig         `yaml:"cre"`
	Priors        PriorsConfig      `yaml:"priors"`
	Boundaries    BoundariesConfig  `yaml:"boundaries"`
	Fit           FitConfig         `yaml:"fit"`
	Diagnostics   DiagnosticsConfig `yaml:"diagnostics"`
	Outputs       OutputsConfig     `yaml:"outputs"`
	// Transforms are the media transforms of formula terms by column (adstock, then
	// saturation, each parameter fixed or estimated) and the sensitivity scenarios; empty
	// when the file has none.
	Transforms Transforms `yaml:"transforms,omitempty"`
	// Allocation is the budget-optimisation section, nil when the file has none. Package
	// optimise owns its schema: ParseConfig decodes and checks it with the rest of the file,
	// so its problems come in the same *ConfigError, and its later errors (a term the model
	// lacks, say) point into this file.
	Allocation *optimise.Scenario `yaml:"allocation,omitempty"`

	// Pooling is the pooled model's section (see pooling.go), nil when the file has none.
	Pooling *PoolingConfig `yaml:"pooling,omitempty"`
	// DSAMbayes sections for features dsamstan does not have, accepted while they are
	// switched off (see ported.go); nil when the file has none.
	TimeComponents *TimeComponentsConfig `yaml:"time_components,omitempty"`
	Forecast       *ForecastConfig       `yaml:"forecast,omitempty"`
	Security       *SecurityConfig       `yaml:"security,omitempty"`

	// Path is the absolute path of the config file, Dir its folder (relative paths in the
	// file are resolved against Dir) and Raw the original text.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
	Raw  []byte `yaml:"-"`

	file           string               // the path as given, for messages
	dataPath       string               // data.path as written, for messages
	dictionaryPath string               // data.dictionary_path as written, for messages
	fromRun        string               // priors.from_run as written, for messages and priors.csv
	previous       *PreviousRun         // the run priors.from_run names, once read (SetPreviousRun)
	pos            strictyaml.Positions // where each key appears
	allocation     map[string]any       // the allocation section as written, for ResolvedYAML

	transformsDropped bool // the transforms section had problems and was left out
}

// DataConfig is the data section.
type DataConfig struct {
	// Path is the CSV file (absolute after ParseConfig).
	Path string `yaml:"path"`
	// Format is "csv", or "long" for a CSV in long layout (one row per id, date and
	// variable; see LongIDCol), pivoted to one column per variable when it is read; by
	// default "csv" for a file ending in .csv.
	Format string `yaml:"format"`
	// LongIDCol, LongVariableCol and LongValueCol name the long layout's id (a panel's
	// group column), variable-name and value columns; all three, and DateVar, are required
	// with Format long.
	LongIDCol       string `yaml:"long_id_col,omitempty"`
	LongVariableCol string `yaml:"long_variable_col,omitempty"`
	LongValueCol    string `yaml:"long_value_col,omitempty"`
	// DateVar optionally names the date column.
	DateVar string `yaml:"date_var,omitempty"`
	// DateFormat, when set, is the strftime-style format of every value of DateVar (see
	// DateLayout); by default the format is recognised from the values.
	DateFormat string `yaml:"date_format,omitempty"`
	// NAAction is "omit" (drop rows with a missing value in a used column) or "error".
	NAAction string `yaml:"na_action"`
	// DictionaryPath is an optional data dictionary CSV (absolute after ParseConfig) and
	// Dictionary inline entries by term; see dictionary.go.
	DictionaryPath string                     `yaml:"dictionary_path,omitempty"`
	Dictionary     map[string]DictionaryEntry `yaml:"dictionary,omitempty"`
	// ReferenceLevels sets, per categorical formula term, the level its other levels are
	// compared with, instead of the first in sorted order (R's relevel); a dsamstan key.
	ReferenceLevels map[string]string `yaml:"reference_levels,omitempty"`
}

// ModelConfig is the model section.
type ModelConfig struct {
	// Name names the run folder; by default the config file's stem.
	Name string `yaml:"name"`
	// Formula is the model formula (see ParseFormula).
	Formula string `yaml:"formula"`
	// Type is auto, blm, re, cre or pooled; ParseConfig resolves auto (pooled when
	// pooling.enabled, cre when cre.enabled, re when the formula has group terms, blm
	// otherwise).
	Type string `yaml:"type"`
	// Scale standardises response and predictors before sampling (see Scaling).
	Scale bool `yaml:"scale"`
	// KPIType is revenue or subscriptions.
	KPIType string `yaml:"kpi_type"`
	// LogResponse is how a log(y) model's fit is reported on the KPI scale: mean, the
	// conditional mean exp(μ + σ²/2) per draw (DSAMbayes ≥ 1.2.2), or median, exp(μ).
	LogResponse string `yaml:"log_response"`
	// ForceRecompile bypasses the compile cache.
	ForceRecompile bool                `yaml:"force_recompile"`
	RandomEffects  RandomEffectsConfig `yaml:"random_effects"`
}

// RandomEffectsConfig tunes the group terms of a hierarchical model.
type RandomEffectsConfig struct {
	// Correlated: true adds an LKJ correlation between the group effects of | terms;
	// by default (and always for ||) they are independent.
	Correlated *bool `yaml:"correlated,omitempty"`
	// Parameterization is auto, centered or noncentered (centred and noncentred are
	// accepted and normalised).
	Parameterization string `yaml:"parameterization"`
}

// CREConfig is the correlated-random-effects (Mundlak) section.
type CREConfig struct {
	Enabled bool `yaml:"enabled"`
	// Vars are the population terms whose group means are added as terms.
	Vars []string `yaml:"vars"`
	// Group is the grouping column; needed only when the formula has several.
	Group string `yaml:"group,omitempty"`
	// Prefix names the new terms: Prefix + variable (default "cre_mean_").
	Prefix string `yaml:"prefix"`
}

// PriorsConfig is the priors section; priors are given in original units.
type PriorsConfig struct {
	// UseDefaults keeps the generated default priors; when false every parameter needs an
	// override.
	UseDefaults bool            `yaml:"use_defaults"`
	Overrides   []PriorOverride `yaml:"overrides"`
	// NoiseSD overrides the prior on the residual standard deviation.
	NoiseSD *NoiseSDConfig `yaml:"noise_sd,omitempty"`
	// FromOLS centres each population coefficient's prior on its OLS estimate, with the OLS
	// standard error times OLSInflate as its sd (DSAMbayes's blm.lm); single market only.
	FromOLS    bool    `yaml:"from_ols,omitempty"`
	OLSInflate float64 `yaml:"ols_inflate,omitempty"`
	// FromRun is a previous run folder whose posterior becomes the prior of every parameter
	// it shares with this model (see PreviousRun), the posterior sd times Inflate. ParseConfig
	// makes it absolute.
	FromRun string  `yaml:"from_run,omitempty"`
	Inflate float64 `yaml:"inflate,omitempty"`
}

// PriorOverride sets the prior of one parameter: a normal(Mean, SD) on a coefficient, a
// group scale or noise_sd (Family empty or normal), or, for an estimated transform
// parameter (adstock_decay[m_tv], half_saturation[m_tv], hill_shape[m_tv]), a prior of
// Family with mean Mean and sd SD on the natural scale, converted by moment matching: beta
// for a decay, lognormal (the default) or gamma for a half-saturation or a shape.
type PriorOverride struct {
	Parameter string `yaml:"parameter"`
	// Family is filled for transform parameters (beta for a decay, lognormal otherwise)
	// and left empty for the others.
	Family string   `yaml:"family,omitempty"`
	Mean   *float64 `yaml:"mean"`
	SD     *float64 `yaml:"sd"`
}

// NoiseSDConfig is the prior on noise_sd: half-normal (family normal) or lognormal_ms, both
// by mean and sd on the natural scale.
type NoiseSDConfig struct {
	Family string   `yaml:"family"`
	Mean   *float64 `yaml:"mean"`
	SD     *float64 `yaml:"sd"`
}

// BoundariesConfig is the boundaries section.
type BoundariesConfig struct {
	Overrides []BoundOverride `yaml:"overrides"`
}

// BoundOverride constrains one coefficient to [Lower, Upper]; an omitted side is infinite.
// .Inf, -.Inf, Inf and -Inf are accepted.
type BoundOverride struct {
	Parameter string  `yaml:"parameter"`
	Lower     float64 `yaml:"lower"`
	Upper     float64 `yaml:"upper"`
}

// FitConfig is the fit section.
type FitConfig struct {
	// Method is mcmc, optimise (a MAP point estimate; "optimize" is accepted and
	// normalised), laplace (draws from the normal approximation at the mode) or pathfinder
	// (CmdStan's multi-path Pathfinder): the last two give approximate draws.
	Method     string           `yaml:"method"`
	MCMC       MCMCConfig       `yaml:"mcmc"`
	Optimise   OptimiseConfig   `yaml:"optimise"`
	Laplace    LaplaceConfig    `yaml:"laplace"`
	Pathfinder PathfinderConfig `yaml:"pathfinder"`
}

// MAP reports whether the method is a MAP fit (optimise): one point, no draws.
func (f FitConfig) MAP() bool { return f.Method == "optimise" }

// Approximate reports whether the method gives approximate draws (laplace, pathfinder).
func (f FitConfig) Approximate() bool { return f.Method == "laplace" || f.Method == "pathfinder" }

// MCMCConfig holds the sampler settings. Iter counts warmup too, as in rstan.
type MCMCConfig struct {
	Chains       int     `yaml:"chains"`
	Iter         int     `yaml:"iter"`
	Warmup       int     `yaml:"warmup"`
	Seed         int64   `yaml:"seed"`
	Cores        int     `yaml:"cores"`
	AdaptDelta   float64 `yaml:"adapt_delta"`
	MaxTreedepth int     `yaml:"max_treedepth"`
	Thin         int     `yaml:"thin"`
}

// OptimiseConfig holds the MAP settings: NRuns optimisations from different inits.
type OptimiseConfig struct {
	NRuns int `yaml:"n_runs"`
}

// LaplaceConfig holds the Laplace approximation's settings: Draws from the normal
// approximation at the mode (the best of fit.optimise.n_runs optimisations, with the
// Jacobian).
type LaplaceConfig struct {
	Draws int `yaml:"draws"`
}

// PathfinderConfig holds Pathfinder's settings: NumPaths single paths, pooled into Draws
// draws by importance resampling.
type PathfinderConfig struct {
	NumPaths int `yaml:"num_paths"`
	Draws    int `yaml:"draws"`
}

// DiagnosticsConfig is the diagnostics section.
type DiagnosticsConfig struct {
	// PolicyMode is explore, publish or strict.
	PolicyMode string `yaml:"policy_mode"`
	// Identifiability holds the identifiability gate's limits; nil when the file has no
	// such section (IdentifiabilityLimits gives the defaults).
	Identifiability *IdentifiabilityConfig `yaml:"identifiability,omitempty"`
	// ModelSelection is a DSAMbayes switch for a feature dsamstan does not have yet:
	// accepted while not enabled.
	ModelSelection *Switch `yaml:"model_selection,omitempty"`
	// TimeSeriesSelection holds the time-series cross-validation settings; nil when the
	// file has no such section (no cross-validation).
	TimeSeriesSelection *TimeSeriesSelectionConfig `yaml:"time_series_selection,omitempty"`
}

// OutputsConfig is the outputs section.
type OutputsConfig struct {
	// RootDir is the parent of the timestamped run folders (absolute after ParseConfig).
	RootDir string `yaml:"root_dir"`
	// RunDir, when set, is the run folder itself.
	RunDir string `yaml:"run_dir,omitempty"`
	// Layout is staged or flat.
	Layout string `yaml:"layout"`
	// SaveSessionInfoTxt false leaves 00_run_metadata/session_info.txt out; nil or true
	// writes it.
	SaveSessionInfoTxt *bool `yaml:"save_session_info_txt,omitempty"`
	// SaveTransformAssumptionsTxt false leaves 10_pre_run/transform_assumptions.txt out.
	SaveTransformAssumptionsTxt *bool `yaml:"save_transform_assumptions_txt,omitempty"`
}

// SessionInfo reports whether session_info.txt is to be written.
func (o OutputsConfig) SessionInfo() bool {
	return o.SaveSessionInfoTxt == nil || *o.SaveSessionInfoTxt
}

// TransformAssumptions reports whether transform_assumptions.txt is to be written.
func (o OutputsConfig) TransformAssumptions() bool {
	return o.SaveTransformAssumptionsTxt == nil || *o.SaveTransformAssumptionsTxt
}

// Problem is one thing wrong with a config: its key path (e.g. "fit.mcmc.chains" or
// "priors.overrides[0].sd"), its line and column in the file (1-based; 0 when unknown),
// what is wrong and what is allowed, and the underlying error when there is one (a
// *FormulaError for model.formula).
type Problem = strictyaml.Problem

// ConfigError lists every problem found in a config.
type ConfigError struct {
	// File is the config path as given ("" for a config built in code).
	File     string
	Problems []Problem
}

// Error lists the problems one per line, each as "ingest: file:line:col: message".
func (e *ConfigError) Error() string {
	return strictyaml.Format("ingest", e.File, e.Problems)
}

// Unwrap returns the underlying errors of the problems, so errors.As finds a *FormulaError.
func (e *ConfigError) Unwrap() []error {
	var errs []error
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// Allowed values of the enumerated keys.
var (
	naActions   = []string{"omit", "error"}
	modelTypes  = []string{"auto", "blm", "re", "cre", "pooled"}
	kpiTypes    = []string{"revenue", "subscriptions"}
	reParams    = []string{"auto", "integrated", "centered", "noncentered"}
	fitMethods  = []string{"mcmc", "optimise", "laplace", "pathfinder"}
	policyModes = []string{"explore", "publish", "strict"}
	layouts     = []string{"staged", "flat"}
	families    = []string{NoiseNormal, NoiseLognormalMS}
)

// Spelling variants accepted and normalised.
var aliases = map[string]map[string]string{
	"fit.method": {"optimize": "optimise"},
	"model.random_effects.parameterization": {
		"centred": "centered", "noncentred": "noncentered", "non-centred": "noncentered",
		"non-centered": "noncentered",
	},
}

// unsupported are DSAMbayes v1 keys dsamstan does not implement; they get a clearer message
// than "unknown key".
var unsupported = map[string]string{}

// LoadConfig reads and parses a run config file (see ParseConfig).
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ingest: config file %q not found", path)
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: reading config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig decodes a run config strictly (unknown keys are errors), fills the defaults,
// resolves relative paths against the folder of path, and validates the result, the
// allocation section included. path names the file in messages and need not exist. Every
// problem found is reported at once in a *ConfigError.
func ParseConfig(data []byte, path string) (*Config, error) {
	c := &Config{Raw: data, file: path, pos: strictyaml.Positions{}}
	if path == "" {
		c.file = "config"
	}
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("ingest: config path %q: %w", path, err)
		}
		c.Path, c.Dir = abs, filepath.Dir(abs)
	} else if wd, err := os.Getwd(); err == nil {
		c.Dir = wd // no file: relative paths are relative to the working folder
	}

	body, p := strictyaml.Parse(data, "config")
	if p != nil {
		return nil, &ConfigError{File: c.file, Problems: []Problem{*p}}
	}
	d := strictyaml.NewDecoder(c.file, "run configs", "the config")
	d.Pos, d.Reject = c.pos, unsupportedKey
	if body != nil { // an empty file: Validate reports the missing keys
		d.Decode("", body, c)
	}
	probs := d.Problems()
	c.transformsDropped = d.Dropped("transforms")
	if !d.Fatal() {
		c.applyDefaults()
		var ce *ConfigError
		if err := c.Validate(); errors.As(err, &ce) {
			for _, p := range ce.Problems {
				if !d.Dropped(p.Key) {
					probs = append(probs, p)
				}
			}
		}
	}
	if len(probs) > 0 {
		return nil, &ConfigError{File: c.file, Problems: strictyaml.Sort(probs)}
	}
	if c.Model.Type == "auto" {
		f, _ := ParseFormula(c.Model.Formula) // Validate parsed it
		c.Model.Type = c.resolvedType(f)
	}
	if c.Allocation != nil {
		// Kept as written for ResolvedYAML; the decoder refused aliases, so this is cheap.
		var raw struct {
			Allocation map[string]any `yaml:"allocation"`
		}
		if err := yaml.NodeToValue(body, &raw); err != nil {
			return nil, fmt.Errorf("ingest: %s: the allocation section: %w", c.file, err)
		}
		c.allocation = raw.Allocation
	}
	return c, nil
}

// unsupportedKey gives the message for a DSAMbayes key that dsamstan does not implement.
func unsupportedKey(key string) (string, bool) {
	if msg, ok := switchedOffKey(key); ok {
		return msg, true
	}
	why, ok := unsupported[key]
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s is a DSAMbayes setting that dsamstan does not support (%s); remove it", strictyaml.Label(key), why), true
}

// applyDefaults fills every key the file did not set (or set to null).
func (c *Config) applyDefaults() {
	given := c.pos.Given
	setInt := func(key string, v *int, def int) {
		if !given(key) {
			*v = def
		}
	}
	setStr := func(key string, v *string, def string) {
		if !given(key) {
			*v = def
		}
	}
	setInt("schema_version", &c.SchemaVersion, 1)

	c.dataPath = c.Data.Path
	if c.Data.Path != "" && !filepath.IsAbs(c.Data.Path) {
		c.Data.Path = filepath.Join(c.Dir, c.Data.Path)
	}
	if !given("data.format") && strings.EqualFold(filepath.Ext(c.Data.Path), ".csv") {
		c.Data.Format = "csv"
	}
	setStr("data.na_action", &c.Data.NAAction, "omit")

	stem := strings.TrimSuffix(filepath.Base(c.Path), filepath.Ext(c.Path))
	setStr("model.name", &c.Model.Name, stem)
	setStr("model.type", &c.Model.Type, "auto")
	if !given("model.scale") {
		c.Model.Scale = true
	}
	setStr("model.kpi_type", &c.Model.KPIType, "revenue")
	setStr("model.log_response", &c.Model.LogResponse, "mean")
	setStr("model.random_effects.parameterization", &c.Model.RandomEffects.Parameterization, "auto")
	setStr("cre.prefix", &c.CRE.Prefix, "cre_mean_")
	if c.CRE.Vars == nil {
		c.CRE.Vars = []string{}
	}

	if !given("priors.use_defaults") {
		c.Priors.UseDefaults = true
	}
	if c.Priors.Overrides == nil {
		c.Priors.Overrides = []PriorOverride{}
	}
	for i := range c.Priors.Overrides {
		o := &c.Priors.Overrides[i]
		if kind, _, ok := parseTransformParam(o.Parameter); ok && o.Family == "" {
			o.Family = transformFamilies[kind][0]
		}
	}
	if ns := c.Priors.NoiseSD; ns != nil {
		setStr("priors.noise_sd.family", &ns.Family, NoiseNormal)
		if ns.Mean == nil && ns.Family == NoiseNormal {
			ns.Mean = new(float64)
		}
	}
	c.updateDefaults()
	if c.Boundaries.Overrides == nil {
		c.Boundaries.Overrides = []BoundOverride{}
	}
	for i := range c.Boundaries.Overrides {
		b := &c.Boundaries.Overrides[i]
		if !given(fmt.Sprintf("boundaries.overrides[%d].lower", i)) {
			b.Lower = math.Inf(-1)
		}
		if !given(fmt.Sprintf("boundaries.overrides[%d].upper", i)) {
			b.Upper = math.Inf(1)
		}
	}

	setStr("fit.method", &c.Fit.Method, "mcmc")
	m := &c.Fit.MCMC
	setInt("fit.mcmc.chains", &m.Chains, 4)
	switch {
	case given("fit.mcmc.iter") && !given("fit.mcmc.warmup"):
		m.Warmup = m.Iter / 2
	case !given("fit.mcmc.iter") && !given("fit.mcmc.warmup"):
		m.Iter, m.Warmup = 2000, 1000
	case !given("fit.mcmc.iter"):
		m.Iter = 2000
	}
	if !given("fit.mcmc.seed") {
		m.Seed = 123
	}
	setInt("fit.mcmc.cores", &m.Cores, max(1, min(m.Chains, runtime.NumCPU())))
	if !given("fit.mcmc.adapt_delta") {
		m.AdaptDelta = 0.8
	}
	setInt("fit.mcmc.max_treedepth", &m.MaxTreedepth, 10)
	setInt("fit.mcmc.thin", &m.Thin, 1)
	setInt("fit.optimise.n_runs", &c.Fit.Optimise.NRuns, 5)
	setInt("fit.laplace.draws", &c.Fit.Laplace.Draws, 1000)
	setInt("fit.pathfinder.num_paths", &c.Fit.Pathfinder.NumPaths, 4)
	setInt("fit.pathfinder.draws", &c.Fit.Pathfinder.Draws, 1000)

	setStr("diagnostics.policy_mode", &c.Diagnostics.PolicyMode, "publish")
	c.identifiabilityDefaults()
	c.tscvDefaults()
	setStr("outputs.root_dir", &c.Outputs.RootDir, "results")
	if c.Outputs.RootDir != "" && !filepath.IsAbs(c.Outputs.RootDir) {
		c.Outputs.RootDir = filepath.Join(c.Dir, c.Outputs.RootDir)
	}
	if c.Outputs.RunDir != "" && !filepath.IsAbs(c.Outputs.RunDir) {
		c.Outputs.RunDir = filepath.Join(c.Dir, c.Outputs.RunDir)
	}
	setStr("outputs.layout", &c.Outputs.Layout, "staged")

	c.holidayDefaults()
	c.forecastDefaults()
	c.dictionaryDefaults()
	c.poolingDefaults()
	c.Fit.Method = normalise("fit.method", c.Fit.Method)
	c.Model.RandomEffects.Parameterization = normalise("model.random_effects.parameterization", c.Model.RandomEffects.Parameterization)
}

// normalise replaces an accepted alias of key's value by its canonical spelling.
func normalise(key, v string) string {
	if to, ok := aliases[key][v]; ok {
		return to
	}
	return v
}

// resolvedType is model.type with auto resolved as DSAMbayes does.
func (c *Config) resolvedType(f *Formula) string {
	switch {
	case c.Model.Type != "auto":
		return c.Model.Type
	case c.Pooled():
		return "pooled"
	case c.CRE.Enabled:
		return "cre"
	case f != nil && len(f.Bars) > 0:
		return "re"
	}
	return "blm"
}

// ResolvedYAML returns the config with every default filled and every path absolute, as
// written to config.resolved.yaml. Parsing it again gives the same Config.
func (c *Config) ResolvedYAML() ([]byte, error) {
	// The allocation section is written as the file has it; its defaults are the
	// optimiser's, filled when it is decoded.
	opts := []yaml.EncodeOption{yaml.Indent(2), yaml.IndentSequence(true)}
	rest := *c
	rest.Allocation = nil
	out, err := yaml.MarshalWithOptions(&rest, opts...)
	if err != nil {
		return nil, fmt.Errorf("ingest: writing the resolved config: %w", err)
	}
	if c.allocation != nil {
		alloc, err := yaml.MarshalWithOptions(map[string]any{"allocation": c.allocation}, opts...)
		if err != nil {
			return nil, fmt.Errorf("ingest: writing the resolved config: %w", err)
		}
		out = append(out, alloc...)
	}
	header := "# resolved by dsamstan: every default filled, every path absolute\n"
	if c.Path != "" {
		header += "# from " + c.Path + "\n"
	}
	return append([]byte(header), out...), nil
}
