package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
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
	// Allocation is the budget-optimisation section, kept as decoded YAML and not yet
	// validated: the optimiser owns its schema.
	Allocation map[string]any `yaml:"allocation,omitempty"`

	// Path is the absolute path of the config file, Dir its folder (relative paths in the
	// file are resolved against Dir) and Raw the original text.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
	Raw  []byte `yaml:"-"`

	file     string              // the path as given, for messages
	dataPath string              // data.path as written, for messages
	pos      map[string]position // where each key appears
}

// DataConfig is the data section.
type DataConfig struct {
	// Path is the CSV file (absolute after ParseConfig).
	Path string `yaml:"path"`
	// Format is "csv", the only format dsamstan reads; by default taken from the extension.
	Format string `yaml:"format"`
	// DateVar optionally names the date column.
	DateVar string `yaml:"date_var,omitempty"`
	// NAAction is "omit" (drop rows with a missing value in a used column) or "error".
	NAAction string `yaml:"na_action"`
}

// ModelConfig is the model section.
type ModelConfig struct {
	// Name names the run folder; by default the config file's stem.
	Name string `yaml:"name"`
	// Formula is the model formula (see ParseFormula).
	Formula string `yaml:"formula"`
	// Type is auto, blm, re or cre; ParseConfig resolves auto (cre when cre.enabled, re when
	// the formula has group terms, blm otherwise).
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
}

// PriorOverride sets a normal(Mean, SD) prior on one parameter.
type PriorOverride struct {
	Parameter string   `yaml:"parameter"`
	Mean      *float64 `yaml:"mean"`
	SD        *float64 `yaml:"sd"`
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
	// Method is mcmc or optimise ("optimize" is accepted and normalised).
	Method   string         `yaml:"method"`
	MCMC     MCMCConfig     `yaml:"mcmc"`
	Optimise OptimiseConfig `yaml:"optimise"`
}

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

// DiagnosticsConfig is the diagnostics section.
type DiagnosticsConfig struct {
	// PolicyMode is explore, publish or strict.
	PolicyMode string `yaml:"policy_mode"`
}

// OutputsConfig is the outputs section.
type OutputsConfig struct {
	// RootDir is the parent of the timestamped run folders (absolute after ParseConfig).
	RootDir string `yaml:"root_dir"`
	// RunDir, when set, is the run folder itself.
	RunDir string `yaml:"run_dir,omitempty"`
	// Layout is staged or flat.
	Layout string `yaml:"layout"`
}

// Problem is one thing wrong with a config.
type Problem struct {
	// Key is the YAML key path, e.g. "fit.mcmc.chains" or "priors.overrides[0].sd".
	Key string
	// Line and Col locate the key in the file (1-based); 0 when unknown.
	Line, Col int
	// Msg says what is wrong and what is allowed.
	Msg string
	// Err is the underlying error when there is one (a *FormulaError for model.formula).
	Err error
}

// ConfigError lists every problem found in a config.
type ConfigError struct {
	// File is the config path as given ("" for a config built in code).
	File     string
	Problems []Problem
}

// Error lists the problems one per line, each as "ingest: file:line:col: message".
func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		switch {
		case e.File != "" && p.Line > 0:
			lines[i] = fmt.Sprintf("ingest: %s:%d:%d: %s", e.File, p.Line, p.Col, p.Msg)
		case e.File != "":
			lines[i] = fmt.Sprintf("ingest: %s: %s", e.File, p.Msg)
		default:
			lines[i] = "ingest: " + p.Msg
		}
	}
	return strings.Join(lines, "\n")
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

// position is where a key sits in the file; set is false when its value is null.
type position struct {
	line, col int
	set       bool
}

// Allowed values of the enumerated keys.
var (
	naActions   = []string{"omit", "error"}
	modelTypes  = []string{"auto", "blm", "re", "cre"}
	kpiTypes    = []string{"revenue", "subscriptions"}
	reParams    = []string{"auto", "centered", "noncentered"}
	fitMethods  = []string{"mcmc", "optimise"}
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
var unsupported = map[string]string{
	"pooling":                                "pooled models are not supported",
	"transforms":                             "media transforms are not supported yet; add transformed columns to the data",
	"time_components":                        "managed holiday terms are not supported yet; add holiday columns to the data",
	"forecast":                               "forecasting is not supported",
	"security":                               "the formula grammar is fixed, so there is nothing to allow",
	"data.date_format":                       "dates are recognised automatically",
	"data.long_id_col":                       "long-format data is not supported; pivot it to one column per variable",
	"data.long_variable_col":                 "long-format data is not supported; pivot it to one column per variable",
	"data.long_value_col":                    "long-format data is not supported; pivot it to one column per variable",
	"data.dictionary_path":                   "data dictionaries are not supported",
	"data.dictionary":                        "data dictionaries are not supported",
	"diagnostics.identifiability":            "identifiability settings are not supported yet",
	"diagnostics.model_selection":            "model-selection settings are not supported yet",
	"diagnostics.time_series_selection":      "time-series cross-validation is not supported yet",
	"outputs.save_session_info_txt":          "dsamstan always writes its run metadata",
	"outputs.save_transform_assumptions_txt": "media transforms are not supported yet",
}

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
// resolves relative paths against the folder of path, and validates the result. path names
// the file in messages and need not exist. Every problem found is reported at once in a
// *ConfigError.
func ParseConfig(data []byte, path string) (*Config, error) {
	c := &Config{Raw: data, file: path, pos: map[string]position{}}
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

	probs, bad, fatal := c.decode(data)
	if !fatal {
		c.applyDefaults()
		var ce *ConfigError
		if err := c.Validate(); errors.As(err, &ce) {
			for _, p := range ce.Problems {
				if !under(p.Key, bad) {
					probs = append(probs, p)
				}
			}
		}
	}
	if len(probs) > 0 {
		return nil, &ConfigError{File: c.file, Problems: sortProblems(probs)}
	}
	if c.Model.Type == "auto" {
		f, _ := ParseFormula(c.Model.Formula) // Validate parsed it
		c.Model.Type = c.resolvedType(f)
	}
	return c, nil
}

// decode parses the YAML, checks every key and value type against Config, records where
// each key is, and decodes into c. Entries with problems are left out of the decoding, so
// the rest can still be validated; bad lists their key paths. fatal is true when nothing
// could be decoded.
func (c *Config) decode(data []byte) (probs []Problem, bad []string, fatal bool) {
	file, err := yamlparser.ParseBytes(data, 0)
	if err != nil {
		return []Problem{yamlProblem("invalid YAML: ", err)}, nil, true
	}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			line, col := startPos(doc.Body)
			return []Problem{{Line: line, Col: col,
				Msg: "the file holds more than one YAML document; put the whole config in one (remove ---)"}}, nil, true
		}
		body = doc.Body
	}
	if body == nil {
		return nil, nil, false // an empty file: Validate reports the missing keys
	}
	w := &walker{pos: c.pos}
	w.walk("", body, reflect.TypeOf(*c))
	if w.unpruned > 0 {
		return w.problems, nil, true
	}
	if err := yaml.NodeToValue(body, c, yaml.Strict(), yaml.CustomUnmarshaler[float64](unmarshalFloat)); err != nil {
		// The walk checked keys and types, so this is unexpected; report it as it comes.
		return append(w.problems, yamlProblem("", err)), nil, true
	}
	return w.problems, w.bad, false
}

// yamlProblem turns a goccy error into a Problem at its token.
func yamlProblem(prefix string, err error) Problem {
	p := Problem{Msg: prefix + err.Error()}
	var ye yaml.Error
	if errors.As(err, &ye) {
		p.Msg = prefix + ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return p
}

// under reports whether key is one of the paths in bad or lies below one.
func under(key string, bad []string) bool {
	for _, b := range bad {
		if key == b || strings.HasPrefix(key, b+".") || strings.HasPrefix(key, b+"[") {
			return true
		}
	}
	return false
}

// unmarshalFloat decodes a number, accepting Inf and -Inf as well as YAML's .inf forms.
func unmarshalFloat(f *float64, b []byte) error {
	if v, ok := parseInf(strings.TrimSpace(string(b))); ok {
		*f = v
		return nil
	}
	return yaml.Unmarshal(b, f)
}

// parseInf recognises the spellings of infinity accepted in configs.
func parseInf(s string) (float64, bool) {
	switch strings.ToLower(strings.TrimPrefix(s, "+")) {
	case "inf", ".inf", "infinity":
		return math.Inf(1), true
	case "-inf", "-.inf", "-infinity":
		return math.Inf(-1), true
	}
	return 0, false
}

// walker checks a YAML tree against the Config type by reflection, collecting every unknown
// key and mistyped value instead of stopping at the first, as the decoder would.
type walker struct {
	pos      map[string]position
	problems []Problem
	// unpruned counts problems whose entries are still in the tree; bad lists the key paths
	// of removed entries.
	unpruned int
	bad      []string
}

// add records a problem at node n.
func (w *walker) add(n ast.Node, key, format string, args ...any) {
	w.unpruned++
	p := Problem{Key: key, Msg: fmt.Sprintf(format, args...)}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		p.Line, p.Col = tk.Position.Line, tk.Position.Column
	}
	w.problems = append(w.problems, p)
}

// unwrap strips tags and anchors; aliases are refused (they are never needed in a run
// config and expanding them is a denial-of-service risk).
func (w *walker) unwrap(path string, n ast.Node) (ast.Node, bool) {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			w.add(n, path, "%s: YAML aliases (*name) are not supported in run configs; write the value out", label(path))
			return nil, false
		default:
			return n, n != nil
		}
	}
}

// label formats a key path for messages: in backticks, or quoted (see show) when a key
// the user wrote holds characters that would break the message.
func label(path string) string {
	if path == "" {
		return "the config"
	}
	if s := show(path); s != path {
		return s
	}
	return "`" + path + "`"
}

// walk checks node n against type t. It panics on a Config field of a kind it does not
// handle: that is a programming error, caught by the tests.
func (w *walker) walk(path string, n ast.Node, t reflect.Type) {
	n, ok := w.unwrap(path, n)
	if !ok || n.Type() == ast.NullType {
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if _, ok := n.(ast.MapNode); !ok {
			w.add(n, path, "%s must be a mapping (key: value lines), not %s", label(path), describeNode(n))
			return
		}
		w.mapping(path, n, t)
	case reflect.Map: // an opaque section (allocation): only its shape and aliases are checked
		if _, ok := n.(ast.MapNode); !ok {
			w.add(n, path, "%s must be a mapping (key: value lines), not %s", label(path), describeNode(n))
			return
		}
		if aliases := ast.Filter(ast.AliasType, n); len(aliases) > 0 {
			w.add(aliases[0], path, "%s: YAML aliases (*name) are not supported in run configs; write the value out", label(path))
		}
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			w.add(n, path, "%s must be a list (lines starting with -), not %s", label(path), describeNode(n))
			return
		}
		for i, item := range seq.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			line, col := startPos(item)
			w.pos[p] = position{line: line, col: col, set: item.Type() != ast.NullType}
			w.walk(p, item, t.Elem())
		}
	case reflect.String:
		switch n.Type() {
		case ast.StringType, ast.LiteralType, ast.IntegerType, ast.FloatType, ast.BoolType, ast.InfinityType, ast.NanType:
		default:
			w.add(n, path, "%s must be text, not %s", label(path), describeNode(n))
		}
	case reflect.Int, reflect.Int64:
		if n.Type() != ast.IntegerType {
			w.add(n, path, "%s is %s; must be a whole number", label(path), describeNode(n))
		}
	case reflect.Float64:
		switch n.Type() {
		case ast.IntegerType, ast.FloatType, ast.InfinityType, ast.NanType:
		default:
			if s, ok := n.(*ast.StringNode); ok {
				if _, ok := parseInf(s.Value); ok {
					return
				}
			}
			w.add(n, path, "%s is %s; must be a number (.Inf and -.Inf are allowed)", label(path), describeNode(n))
		}
	case reflect.Bool:
		if n.Type() != ast.BoolType {
			w.add(n, path, "%s is %s; must be true or false", label(path), describeNode(n))
		}
	default:
		panic("ingest: config field of unsupported kind " + t.Kind().String())
	}
}

// mapping checks the keys of a mapping node against the yaml fields of struct type t.
// An entry with a problem is removed from the tree (so the decoder never sees it and its key
// takes its default) and its key path is remembered, so Validate does not report it again.
func (w *walker) mapping(path string, n ast.Node, t reflect.Type) {
	var entries []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		entries = m.Values
	case *ast.MappingValueNode:
		entries = []*ast.MappingValueNode{m}
	}
	fields := map[string]reflect.Type{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	var kept []*ast.MappingValueNode
	for _, e := range entries {
		unpruned := w.unpruned
		child := w.entry(path, e, fields, names)
		if w.unpruned == unpruned {
			kept = append(kept, e)
			continue
		}
		if _, ok := n.(*ast.MappingNode); ok {
			w.unpruned = unpruned
			w.bad = append(w.bad, child)
			if p, ok := w.pos[child]; ok {
				p.set = false
				w.pos[child] = p
			}
		}
	}
	if m, ok := n.(*ast.MappingNode); ok {
		m.Values = kept
	}
}

// entry checks one key: value pair and returns the key path.
func (w *walker) entry(path string, e *ast.MappingValueNode, fields map[string]reflect.Type, names []string) string {
	k := e.Key
	name := k.GetToken().Value
	if s, ok := k.(*ast.StringNode); ok {
		name = s.Value
	}
	child := name
	if path != "" {
		child = path + "." + name
	}
	if k.IsMergeKey() {
		w.add(k, path, "%s: YAML merge keys (<<) are not supported in run configs; write the keys out", label(path))
		return child
	}
	v := e.Value
	kt := k.GetToken()
	w.pos[child] = position{line: kt.Position.Line, col: kt.Position.Column, set: v != nil && v.Type() != ast.NullType}
	ft, ok := fields[name]
	if !ok {
		w.unknown(k, path, child, name, names)
		return child
	}
	w.walk(child, v, ft)
	return child
}

// unknown reports a key that Config does not have.
func (w *walker) unknown(k ast.Node, path, child, name string, names []string) {
	if why, ok := unsupported[child]; ok {
		w.add(k, child, "%s is a DSAMbayes setting that dsamstan does not support (%s); remove it", label(child), why)
		return
	}
	where := "at the top level"
	if path != "" {
		where = "under " + label(path)
	}
	if s := closest(name, names, 3); len(s) > 0 {
		w.add(k, child, "unknown key %s; did you mean `%s`? (allowed %s: %s)", label(child), s[0], where, strings.Join(names, ", "))
		return
	}
	w.add(k, child, "unknown key %s (allowed %s: %s)", label(child), where, strings.Join(names, ", "))
}

// describeNode names a value for messages: its text for scalars, its kind otherwise.
func describeNode(n ast.Node) string {
	switch n.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.StringType, ast.LiteralType:
		if s, ok := n.(*ast.StringNode); ok {
			return strconv.Quote(s.Value)
		}
		return "a block of text"
	}
	return n.GetToken().Value
}

// startPos locates a node where a reader sees it start: a block mapping's token is its
// first ':', so use its first key instead.
func startPos(n ast.Node) (line, col int) {
	tk := n.GetToken()
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 && !m.IsFlowStyle {
			tk = m.Values[0].Key.GetToken()
		}
	case *ast.MappingValueNode:
		tk = m.Key.GetToken()
	}
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// applyDefaults fills every key the file did not set (or set to null).
func (c *Config) applyDefaults() {
	given := func(key string) bool { return c.pos[key].set }
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
	if ns := c.Priors.NoiseSD; ns != nil {
		setStr("priors.noise_sd.family", &ns.Family, NoiseNormal)
		if ns.Mean == nil && ns.Family == NoiseNormal {
			ns.Mean = new(float64)
		}
	}
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

	setStr("diagnostics.policy_mode", &c.Diagnostics.PolicyMode, "publish")
	setStr("outputs.root_dir", &c.Outputs.RootDir, "results")
	if c.Outputs.RootDir != "" && !filepath.IsAbs(c.Outputs.RootDir) {
		c.Outputs.RootDir = filepath.Join(c.Dir, c.Outputs.RootDir)
	}
	if c.Outputs.RunDir != "" && !filepath.IsAbs(c.Outputs.RunDir) {
		c.Outputs.RunDir = filepath.Join(c.Dir, c.Outputs.RunDir)
	}
	setStr("outputs.layout", &c.Outputs.Layout, "staged")

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
	out, err := yaml.MarshalWithOptions(c, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("ingest: writing the resolved config: %w", err)
	}
	header := "# resolved by dsamstan: every default filled, every path absolute\n"
	if c.Path != "" {
		header += "# from " + c.Path + "\n"
	}
	return append([]byte(header), out...), nil
}

// sortProblems orders problems by position in the file; those without one keep their order
// at the end.
func sortProblems(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if (a.Line > 0) != (b.Line > 0) {
			return a.Line > 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return ps
}
