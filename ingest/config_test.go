package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/optimise"
)

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig("testdata/run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	inf := math.Inf(1)
	checks := []struct {
		key       string
		got, want any
	}{
		{"Path", cfg.Path, filepath.Join(dir, "run.yaml")},
		{"Dir", cfg.Dir, dir},
		{"schema_version", cfg.SchemaVersion, 1},
		{"data.path", cfg.Data.Path, filepath.Join(dir, "data.csv")},
		{"data.format", cfg.Data.Format, "csv"},
		{"data.na_action", cfg.Data.NAAction, "omit"},
		{"data.date_var", cfg.Data.DateVar, "date"},
		{"model.name", cfg.Model.Name, "sample blm"},
		{"model.type", cfg.Model.Type, "blm"}, // auto, resolved
		{"model.scale", cfg.Model.Scale, true},
		{"model.kpi_type", cfg.Model.KPIType, "revenue"},
		{"model.random_effects.parameterization", cfg.Model.RandomEffects.Parameterization, "auto"},
		{"cre.prefix", cfg.CRE.Prefix, "cre_mean_"},
		{"priors.use_defaults", cfg.Priors.UseDefaults, true},
		{"priors.overrides[0].sd", *cfg.Priors.Overrides[0].SD, 0.25},
		{"boundaries.overrides[0]", cfg.Boundaries.Overrides[0], BoundOverride{Parameter: "m_tv", Lower: 0, Upper: inf}},
		{"fit.method", cfg.Fit.Method, "mcmc"},
		{"fit.mcmc.chains", cfg.Fit.MCMC.Chains, 2},
		{"fit.mcmc.iter", cfg.Fit.MCMC.Iter, 500},
		{"fit.mcmc.warmup", cfg.Fit.MCMC.Warmup, 250}, // iter/2 when only iter is given
		{"fit.mcmc.seed", cfg.Fit.MCMC.Seed, int64(123)},
		{"fit.mcmc.cores", cfg.Fit.MCMC.Cores, min(2, runtime.NumCPU())},
		{"fit.mcmc.adapt_delta", cfg.Fit.MCMC.AdaptDelta, 0.8},
		{"fit.mcmc.max_treedepth", cfg.Fit.MCMC.MaxTreedepth, 10},
		{"fit.mcmc.thin", cfg.Fit.MCMC.Thin, 1},
		{"fit.optimise.n_runs", cfg.Fit.Optimise.NRuns, 5},
		{"fit.laplace.draws", cfg.Fit.Laplace.Draws, 1000},
		{"fit.pathfinder.num_paths", cfg.Fit.Pathfinder.NumPaths, 4},
		{"fit.pathfinder.draws", cfg.Fit.Pathfinder.Draws, 1000},
		{"diagnostics.policy_mode", cfg.Diagnostics.PolicyMode, "publish"},
		{"outputs.root_dir", cfg.Outputs.RootDir, filepath.Join(dir, "results")},
		{"outputs.layout", cfg.Outputs.Layout, "staged"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.key, c.got, c.want)
		}
	}

	panel, err := LoadConfig("testdata/panel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if panel.Model.Name != "panel" || panel.Model.Type != "re" || panel.Fit.Method != "optimise" ||
		panel.Model.RandomEffects.Parameterization != "noncentered" || panel.Fit.MCMC.Iter != 2000 || panel.Fit.MCMC.Warmup != 1000 {
		t.Errorf("panel.yaml: name %q, type %q, method %q, parameterization %q, iter %d, warmup %d; want panel, re, optimise, noncentered, 2000, 1000",
			panel.Model.Name, panel.Model.Type, panel.Fit.Method, panel.Model.RandomEffects.Parameterization, panel.Fit.MCMC.Iter, panel.Fit.MCMC.Warmup)
	}
}

func TestParseConfigInfinities(t *testing.T) {
	src := `data: {path: data.csv}
model: {formula: kpi ~ m_tv + m_search + price}
boundaries:
  overrides:
    - {parameter: m_tv, lower: 0, upper: .Inf}
    - {parameter: m_search, lower: -Inf, upper: Inf}
    - {parameter: price, lower: -.inf}
allocation:
  channels:
    - {term: m_tv, name: tv, bounds: {min: 0, max: Inf}}
  budget_total: 1e3
`
	cfg, err := ParseConfig([]byte(src), "testdata/inf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inf := math.Inf(1)
	want := []BoundOverride{{"m_tv", 0, inf}, {"m_search", -inf, inf}, {"price", -inf, inf}}
	if !reflect.DeepEqual(cfg.Boundaries.Overrides, want) {
		t.Errorf("bounds = %v; want %v", cfg.Boundaries.Overrides, want)
	}
	if a := cfg.Allocation; a == nil || len(a.Channels) != 1 || a.Channels[0].Name != "tv" || !math.IsInf(a.Channels[0].Bounds.Max, 1) || a.BudgetTotal != 1000 {
		t.Errorf("allocation = %+v; want channel tv with bounds.max +Inf and budget 1000", a)
	}
}

func TestResolvedYAMLRoundTrip(t *testing.T) {
	for _, name := range []string{"run.yaml", "panel.yaml", "full.yaml"} {
		cfg, err := LoadConfig(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		out, err := cfg.ResolvedYAML()
		if err != nil {
			t.Fatal(err)
		}
		// Written elsewhere, the resolved file must still mean the same: paths are absolute.
		again, err := ParseConfig(out, filepath.Join(t.TempDir(), "config.resolved.yaml"))
		if err != nil {
			t.Fatalf("%s: parsing the resolved config: %v\n%s", name, err, out)
		}
		a, b := *cfg, *again
		a.Path, a.Dir, a.Raw, a.file, a.pos, a.dataPath = "", "", nil, "", nil, ""
		b.Path, b.Dir, b.Raw, b.file, b.pos, b.dataPath = "", "", nil, "", nil, ""
		// The scenarios remember their file for later messages; compare what they hold.
		if (a.Allocation == nil) != (b.Allocation == nil) {
			t.Errorf("%s: allocation %v, resolved %v", name, a.Allocation, b.Allocation)
		} else if a.Allocation != nil {
			x, y := a.Allocation, b.Allocation
			if !reflect.DeepEqual(x.Channels, y.Channels) || x.BudgetTotal != y.BudgetTotal ||
				!reflect.DeepEqual(x.ReferenceSpend, y.ReferenceSpend) || x.Objective != y.Objective {
				t.Errorf("%s: resolved allocation %+v; want %+v", name, y, x)
			}
		}
		a.Allocation, b.Allocation = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: resolved config parses to\n%+v\nwant\n%+v", name, b, a)
		}
		for _, want := range []string{"iter: ", "warmup: ", "cores: ", "root_dir: /"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: resolved YAML lacks %q:\n%s", name, want, out)
			}
		}
	}
}

func TestLoadConfigMissing(t *testing.T) {
	_, err := LoadConfig("testdata/nope.yaml")
	if want := `ingest: config file "testdata/nope.yaml" not found`; err == nil || err.Error() != want {
		t.Errorf("LoadConfig error = %v; want %s", err, want)
	}
}

func TestBadConfigs(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	const head = "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tv + m_search\n"
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{
			name:    "unknown key",
			yaml:    head + "fit:\n  mcmc:\n    chians: 4\n",
			wantErr: "ingest: testdata/bad.yaml:7:5: unknown key `fit.mcmc.chians`; did you mean `chains`? (allowed under `fit.mcmc`: chains, iter, warmup, seed, cores, adapt_delta, max_treedepth, thin)",
		},
		{
			name:    "unknown top-level key",
			yaml:    head + "sampler: {chains: 4}\n",
			wantErr: "ingest: testdata/bad.yaml:5:1: unknown key `sampler` (allowed at the top level: schema_version, data, model, cre, priors, boundaries, fit, diagnostics, outputs, transforms, allocation, pooling, time_components, forecast, security)",
		},
		{
			name: "DSAMbayes features switched on",
			yaml: head + "pooling: {enabled: true}\nforecast:\n  enabled: true\nsecurity:\n  allow_unsafe_formula: true\n" +
				"time_components:\n  enabled: true\n  holidays:\n    enabled: true\n    calendar_path: nope.csv\n" +
				"diagnostics:\n  identifiability: {enabled: true}\n  model_selection:\n    enabled: true\n  time_series_selection:\n    enabled: true\n",
			wantErr: "ingest: testdata/bad.yaml:5:1: `pooling.map_path` is missing; set it to the CSV that gives each pooled term's level in each dimension (columns term and those of `pooling.grouping_vars`), relative to the config's folder\n" +
				"ingest: testdata/bad.yaml:5:1: `pooling.grouping_vars` is empty; list the map's dimension columns, e.g. [channel, campaign]\n" +
				"ingest: testdata/bad.yaml:7:3: `forecast.enabled` is true but `forecast.plan_path` is not set; name the media plan CSV (relative to the config's folder)\n" +
				"ingest: testdata/bad.yaml:7:3: `forecast.enabled` is true but `data.date_var` is not set; a plan's weeks continue the data's dates, so name the date column\n" +
				"ingest: testdata/bad.yaml:9:3: `security.allow_unsafe_formula` is true, but dsamstan's formula grammar is fixed and cannot be relaxed; put a transformed term in a data column instead; set it to false (or remove the section)\n" +
				"ingest: testdata/bad.yaml:13:5: `time_components.holidays.enabled` is true but `data.date_var` is not set; holidays are joined to the data by week, so name the date column\n" +
				"ingest: testdata/bad.yaml:14:5: holiday calendar \"nope.csv\" not found (`time_components.holidays.calendar_path` is resolved against the config's folder " + dir + ")\n" +
				"ingest: testdata/bad.yaml:18:5: `diagnostics.model_selection.enabled` is true, but dsamstan has no model-selection settings yet; set it to false (or remove the section)\n" +
				"ingest: testdata/bad.yaml:20:5: `diagnostics.time_series_selection.enabled` is true but `data.date_var` is not set; the folds are cut by date, so name the date column",
		},
		{
			name: "identifiability limits out of range",
			yaml: head + "diagnostics:\n  identifiability:\n    max_abs_correlation: 1.5\n    min_contraction: -0.1\n",
			wantErr: "ingest: testdata/bad.yaml:7:5: `diagnostics.identifiability.max_abs_correlation` is 1.5; must be above 0 and at most 1 (default 0.9; 1 never warns)\n" +
				"ingest: testdata/bad.yaml:8:5: `diagnostics.identifiability.min_contraction` is -0.1; must be at least 0 and below 1 (default 0.1; 0 warns only when a posterior is wider than its prior)",
		},
		{
			name: "identifiability limits at the open ends",
			yaml: head + "diagnostics: {identifiability: {max_abs_correlation: 0, min_contraction: 1}}\n",
			wantErr: "ingest: testdata/bad.yaml:5:33: `diagnostics.identifiability.max_abs_correlation` is 0; must be above 0 and at most 1 (default 0.9; 1 never warns)\n" +
				"ingest: testdata/bad.yaml:5:57: `diagnostics.identifiability.min_contraction` is 1; must be at least 0 and below 1 (default 0.1; 0 warns only when a posterior is wider than its prior)",
		},
		{
			name:    "identifiability key misspelt",
			yaml:    head + "diagnostics:\n  identifiability:\n    max_abs_corr: 0.8\n",
			wantErr: "ingest: testdata/bad.yaml:7:5: unknown key `diagnostics.identifiability.max_abs_corr`; did you mean `max_abs_correlation`? (allowed under `diagnostics.identifiability`: enabled, max_abs_correlation, min_contraction)",
		},
		{
			name:    "key inside a switched-off section",
			yaml:    head + "security:\n  allow_unsafe_formula: false\n  level: 2\n",
			wantErr: "ingest: testdata/bad.yaml:7:3: `security.level` is a DSAMbayes setting that dsamstan does not read (dsamstan's formula grammar is fixed and cannot be relaxed; put a transformed term in a data column instead); only `security.allow_unsafe_formula: false` is accepted in this section; remove it",
		},
		{
			name:    "date_format directive",
			yaml:    "data:\n  path: data.csv\n  date_format: \"%d/%m/%Q\"\nmodel:\n  formula: kpi ~ m_tv\n",
			wantErr: "ingest: testdata/bad.yaml:3:3: `data.date_format` is \"%d/%m/%Q\": %Q is not a date directive dsamstan reads (it reads %Y %y %m %d %e %b %h %B %a %A %H %M %S %F %z and %%)",
		},
		{
			name:    "lower above upper",
			yaml:    head + "boundaries:\n  overrides:\n    - {parameter: m_search, lower: 0}\n    - {parameter: m_tv, lower: 5, upper: 1}\n",
			wantErr: "ingest: testdata/bad.yaml:8:7: `boundaries.overrides[1]` (m_tv): lower 5 is above upper 1",
		},
		{
			name:    "lower Inf",
			yaml:    head + "boundaries:\n  overrides:\n    - parameter: m_tv\n      lower: Inf\n",
			wantErr: "ingest: testdata/bad.yaml:7:7: `boundaries.overrides[0]` (m_tv): lower is Inf; use -Inf (or leave it out) for no lower bound",
		},
		{
			name:    "prior sd not positive",
			yaml:    head + "priors:\n  overrides:\n    - {parameter: m_tv, mean: 0, sd: -1}\n    - {parameter: m_search, mean: 0, sd: 0}\n",
			wantErr: "ingest: testdata/bad.yaml:7:34: `priors.overrides[0].sd` is -1; must be > 0 and finite\ningest: testdata/bad.yaml:8:38: `priors.overrides[1].sd` is 0; must be > 0 and finite",
		},
		{
			// A name that extends a term (m_tvv) may be a level of a categorical term, which
			// only the data can tell: BuildSpec checks it (TestCategoricalErrors).
			name:    "prior without sd, unknown parameter",
			yaml:    head + "priors:\n  overrides:\n    - parameter: m_tw\n      mean: 1\n",
			wantErr: "ingest: testdata/bad.yaml:7:7: `priors.overrides[0].parameter` is \"m_tw\"; did you mean \"m_tv\"? must be one of: (Intercept), m_tv, m_search, noise_sd\ningest: testdata/bad.yaml:7:7: `priors.overrides[0]` (m_tw) has no `sd`",
		},
		{
			name:    "bound on noise_sd",
			yaml:    head + "boundaries:\n  overrides:\n    - {parameter: noise_sd, lower: 0}\n",
			wantErr: "ingest: testdata/bad.yaml:7:8: `boundaries.overrides[0].parameter` is \"noise_sd\"; bounds apply to coefficients only; must be one of: (Intercept), m_tv, m_search",
		},
		{
			name:    "use_defaults false lists missing priors",
			yaml:    head + "priors:\n  use_defaults: false\n  overrides:\n    - {parameter: m_tv, mean: 0, sd: 1}\n",
			wantErr: "ingest: testdata/bad.yaml:6:3: `priors.use_defaults` is false, so every parameter needs a prior in `priors.overrides` (or `priors.noise_sd`); missing: (Intercept), m_search, noise_sd",
		},
		{
			name:    "lognormal_ms noise prior needs a positive mean",
			yaml:    head + "priors:\n  noise_sd: {family: lognormal_ms, mean: 0, sd: 1}\n",
			wantErr: "ingest: testdata/bad.yaml:6:36: `priors.noise_sd.mean` is 0; must be > 0 for the lognormal_ms family",
		},
		{
			name: "bad enum values",
			yaml: "data:\n  path: data.csv\n  na_action: drop\nmodel:\n  formula: kpi ~ m_tv\n  type: pooled\n  kpi_type: units\n" +
				"fit:\n  method: vb\ndiagnostics:\n  policy_mode: lenient\noutputs:\n  layout: nested\npriors:\n  noise_sd: {family: cauchy, sd: 1}\n",
			wantErr: "ingest: testdata/bad.yaml:3:3: `data.na_action` is \"drop\"; must be one of omit, error\n" +
				"ingest: testdata/bad.yaml:6:3: `model.type` is pooled but `pooling.enabled` is not true; add a pooling section with enabled: true, map_path and grouping_vars\n" +
				"ingest: testdata/bad.yaml:7:3: `model.kpi_type` is \"units\"; must be one of revenue, subscriptions\n" +
				"ingest: testdata/bad.yaml:9:3: `fit.method` is \"vb\"; must be one of mcmc, optimise, laplace, pathfinder\n" +
				"ingest: testdata/bad.yaml:11:3: `diagnostics.policy_mode` is \"lenient\"; must be one of explore, publish, strict\n" +
				"ingest: testdata/bad.yaml:13:3: `outputs.layout` is \"nested\"; must be one of staged, flat\n" +
				"ingest: testdata/bad.yaml:15:14: `priors.noise_sd.family` is \"cauchy\"; must be one of normal, lognormal_ms",
		},
		{
			name:    "approximation settings",
			yaml:    head + "fit:\n  method: laplace\n  pathfinder: {num_paths: 2, drawz: 10}\n",
			wantErr: "ingest: testdata/bad.yaml:7:30: unknown key `fit.pathfinder.drawz`; did you mean `draws`? (allowed under `fit.pathfinder`: num_paths, draws)",
		},
		{
			name: "approximation draws",
			yaml: head + "fit:\n  method: pathfinder\n  laplace: {draws: 1}\n  pathfinder: {num_paths: 0}\n",
			wantErr: "ingest: testdata/bad.yaml:7:13: `fit.laplace.draws` is 1; must be between 2 and 1000000\n" +
				"ingest: testdata/bad.yaml:8:16: `fit.pathfinder.num_paths` is 0; must be between 1 and 1000",
		},
		{
			name: "sampler settings",
			yaml: head + "fit:\n  mcmc:\n    chains: 0\n    iter: 1000\n    warmup: 1000\n    seed: -5\n    adapt_delta: 1\n    thin: 0\n",
			wantErr: "ingest: testdata/bad.yaml:7:5: `fit.mcmc.chains` is 0; must be between 1 and 64\n" +
				"ingest: testdata/bad.yaml:9:5: `fit.mcmc.warmup` is 1000; must be below `fit.mcmc.iter` (1000), which includes the warmup\n" +
				"ingest: testdata/bad.yaml:10:5: `fit.mcmc.seed` is -5; must be between 0 and 4294967295\n" +
				"ingest: testdata/bad.yaml:11:5: `fit.mcmc.adapt_delta` is 1; must be between 0 and 1 (exclusive), e.g. 0.95\n" +
				"ingest: testdata/bad.yaml:12:5: `fit.mcmc.thin` is 0; must be 1 or more",
		},
		{
			name:    "wrong value types",
			yaml:    head + "  scale: yes\nfit:\n  mcmc:\n    chains: four\n    adapt_delta: high\n",
			wantErr: "ingest: testdata/bad.yaml:5:10: `model.scale` is \"yes\"; must be true or false\ningest: testdata/bad.yaml:8:13: `fit.mcmc.chains` is \"four\"; must be a whole number\ningest: testdata/bad.yaml:9:18: `fit.mcmc.adapt_delta` is \"high\"; must be a number (.Inf and -.Inf are allowed)",
		},
		{
			name: "several problems at once",
			yaml: "schema_version: 2\ndata:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tv * price\n  colour: red\nfit:\n  mcmc: {chains: 100}\n" +
				"boundaries:\n  overrides:\n    - {parameter: m_tv, lower: 5, upper: 1}\n",
			wantErr: "ingest: testdata/bad.yaml:1:1: `schema_version` is 2; must be 1 (dsamstan reads DSAMbayes runner schema v1)\n" +
				"ingest: testdata/bad.yaml:5:3: `model.formula`: column 12: unexpected \"*\" (interactions are not supported; add a column with the product)\n" +
				"  kpi ~ m_tv * price\n" +
				"             ^\n" +
				"ingest: testdata/bad.yaml:6:3: unknown key `model.colour` (allowed under `model`: name, formula, type, scale, kpi_type, log_response, force_recompile, random_effects)\n" +
				"ingest: testdata/bad.yaml:8:10: `fit.mcmc.chains` is 100; must be between 1 and 64\n" +
				"ingest: testdata/bad.yaml:11:7: `boundaries.overrides[0]` (m_tv): lower 5 is above upper 1",
		},
		{
			name:    "missing data file",
			yaml:    "data:\n  path: sub/nope.csv\nmodel:\n  formula: kpi ~ m_tv\n",
			wantErr: "ingest: testdata/bad.yaml:2:3: data file \"sub/nope.csv\" not found (`data.path` is resolved against the config's folder " + dir + ")",
		},
		{
			name:    "not csv",
			yaml:    "data:\n  path: run.yaml\nmodel:\n  formula: kpi ~ m_tv\n",
			wantErr: "ingest: testdata/bad.yaml:2:3: `data.format` is not set and data.path \"run.yaml\" does not end in .csv; dsamstan reads CSV (convert the file, or set `data.format: csv` if it is CSV)",
		},
		{
			name:    "empty file",
			yaml:    "# nothing yet\n",
			wantErr: "ingest: testdata/bad.yaml: `data.path` is missing; set it to the CSV file (relative to the config's folder)\ningest: testdata/bad.yaml: `model.formula` is missing; write the model as y ~ x1 + x2",
		},
		{
			name:    "blm with group terms",
			yaml:    "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tv + (1 | market)\n  type: blm\n",
			wantErr: "ingest: testdata/bad.yaml:5:3: `model.type` is blm but the formula has group terms ( … | market ); use re, cre or auto",
		},
		{
			name:    "cre without vars",
			yaml:    "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tv + (1 | market)\ncre:\n  enabled: true\n",
			wantErr: "ingest: testdata/bad.yaml:5:1: `cre.enabled` is true but `cre.vars` is empty; list the terms whose group means to add",
		},
		{
			name:    "duplicate key",
			yaml:    head + "  formula: kpi ~ m_tv\n",
			wantErr: "ingest: testdata/bad.yaml:5:3: invalid YAML: mapping key \"formula\" already defined at [4:3]",
		},
		{
			name:    "alias",
			yaml:    "data:\n  path: &p data.csv\nmodel:\n  formula: *p\n",
			wantErr: "ingest: testdata/bad.yaml:4:12: `model.formula`: YAML aliases (*name) are not supported in run configs; write the value out",
		},
		{
			name:    "invalid YAML",
			yaml:    "data:\n  path: [data.csv\nmodel:\n",
			wantErr: "ingest: testdata/bad.yaml:3:1: invalid YAML: ',' or ']' must be specified",
		},
		{
			name:    "not a mapping",
			yaml:    "- data.csv\n",
			wantErr: "ingest: testdata/bad.yaml:1:1: the config must be a mapping (key: value lines), not a list",
		},
		{
			// The allocation section is decoded with the rest of the file: its problems come in
			// the same round as those of other sections, each with its position.
			name: "model and allocation problems at once",
			yaml: head + "  colour: red\nallocation:\n  channels:\n    - term: m_tv\n      bounds: {mni: 3}\n  budget_totl: 10\n",
			wantErr: "ingest: testdata/bad.yaml:5:3: unknown key `model.colour` (allowed under `model`: name, formula, type, scale, kpi_type, log_response, force_recompile, random_effects)\n" +
				"ingest: testdata/bad.yaml:6:1: `allocation.budget_total` is missing; give the spend to allocate per model row (e.g. per week)\n" +
				"ingest: testdata/bad.yaml:9:16: unknown key `allocation.channels[0].bounds.mni`; did you mean `min`? (allowed under `allocation.channels[0].bounds`: min, max)\n" +
				"ingest: testdata/bad.yaml:10:3: unknown key `allocation.budget_totl`; did you mean `budget_total`? (allowed under `allocation`: channels, budget_total, reference_spend, objective, risk)",
		},
		{
			name: "sampler and allocation values at once",
			yaml: head + "fit:\n  mcmc: {chains: 0}\nallocation:\n  channels:\n    - {term: m_tv, bounds: {min: 5, max: 2}}\n    - {term: m_tv, response: {type: sigmoid}}\n  budget_total: -1\n  objective: {type: quantile, q: 1.5}\n",
			wantErr: "ingest: testdata/bad.yaml:6:10: `fit.mcmc.chains` is 0; must be between 1 and 64\n" +
				"ingest: testdata/bad.yaml:9:37: `allocation.channels[0].bounds.max` is 2; must be ≥ bounds.min (5), or left out for no limit\n" +
				"ingest: testdata/bad.yaml:10:7: `allocation.channels[1].name` \"m_tv\" repeats channels[0]; channel names must be unique\n" +
				"ingest: testdata/bad.yaml:10:8: `allocation.channels[1].term` \"m_tv\" repeats channels[0]; each term can be allocated once\n" +
				"ingest: testdata/bad.yaml:10:31: `allocation.channels[1].response.type` is \"sigmoid\"; must be one of identity, hill, log1p, power\n" +
				"ingest: testdata/bad.yaml:11:3: `allocation.budget_total` is -1; must be a finite spend > 0 (per model row, e.g. per week)\n" +
				"ingest: testdata/bad.yaml:12:31: `allocation.objective.q` is 1.5; must lie strictly between 0 and 1 (e.g. 0.1 for a pessimistic plan)",
		},
		{
			name:    "allocation key dsamstan refuses",
			yaml:    head + "allocation:\n  channels:\n    - {term: m_tv, currency_col: fx}\n  budget_total: 10\n",
			wantErr: "ingest: testdata/bad.yaml:7:20: `allocation.channels[0].currency_col` is not supported; convert the channel's spend to currency in the data",
		},
		{
			name:    "allocation not a mapping",
			yaml:    head + "allocation: [tv, search]\n",
			wantErr: "ingest: testdata/bad.yaml:5:13: `allocation` must be a mapping (key: value lines), not a list",
		},
		{
			name: "allocation value of the wrong type",
			yaml: head + "allocation:\n  channels: [{term: m_tv}]\n  budget_total: lots\n  objective: [mean]\n",
			wantErr: "ingest: testdata/bad.yaml:7:17: `allocation.budget_total` is \"lots\"; must be a number (.Inf and -.Inf are allowed)\n" +
				"ingest: testdata/bad.yaml:8:14: `allocation.objective` must be a type name (mean, mean_minus_sd, quantile, cvar) or a mapping with type and its parameter, not a list",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml), "testdata/bad.yaml")
			if err == nil {
				t.Fatalf("ParseConfig succeeded; want\n%s", tt.wantErr)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error is %T; want *ConfigError", err)
			}
			if got := err.Error(); got != tt.wantErr {
				t.Errorf("ParseConfig error =\n%s\nwant\n%s", got, tt.wantErr)
			}
		})
	}
}

func TestConfigErrorFindsFormulaError(t *testing.T) {
	_, err := ParseConfig([]byte("data: {path: data.csv}\nmodel: {formula: y ~ a*b}\n"), "testdata/x.yaml")
	var fe *FormulaError
	if !errors.As(err, &fe) || fe.Pos != 5 {
		t.Errorf("errors.As(%v, *FormulaError) = %v, %+v; want the formula error at 5", err, fe != nil, fe)
	}
}

func TestValidateBuiltConfig(t *testing.T) {
	// A config built in code has no file positions; Validate still names each key.
	c := &Config{SchemaVersion: 1}
	err := c.Validate()
	want := "ingest: `data.path` is missing; set it to the CSV file (relative to the config's folder)"
	if err == nil || !strings.HasPrefix(err.Error(), want+"\n") {
		t.Errorf("Validate() = %v; want it to start with %s", err, want)
	}
}

// FuzzParseConfig checks that no input panics or hangs, and that every error is a
// *ConfigError whose problems each name a key or a position. Seeds: testdata/*.yaml.
func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\nfit: {mcmc: {chains: 0, iter: 10, warmup: 20}}\n",
		"boundaries:\n  overrides:\n    - {parameter: m_tv, lower: Inf, upper: -.inf}\npriors:\n  overrides: [{parameter: x, sd: -1}]\n",
		"data:\n  path: &p data.csv\nmodel:\n  <<: {formula: *p}\n",
		"cre: {enabled: true, vars: [a, a], prefix: 1x}\nmodel: {formula: 'y ~ a + (1|g) + (1|h)', type: blm}\n",
		"data: {path: data.csv, date_var: d}\nmodel: {formula: kpi ~ m_tv}\ntransforms:\n  m_tv: {adstock: {type: geometric, decay: estimate}, saturation: {type: hill, half_saturation: estimate, shape: 2}}\n" +
			"  sensitivity: {m_tv.shape: [1, 2]}\npriors:\n  overrides: [{parameter: \"adstock_decay[m_tv]\", family: beta, mean: 0.4, sd: 0.1}]\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.csv"), []byte("kpi,m_tv\n1,2\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "run.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, path)
		if err == nil {
			if _, err := cfg.ResolvedYAML(); err != nil {
				t.Fatalf("ResolvedYAML: %v", err)
			}
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("ParseConfig(%q) error %T %v; want a *ConfigError with problems", data, err, err)
		}
		for _, p := range ce.Problems {
			if p.Key == "" && p.Line == 0 || p.Msg == "" {
				t.Fatalf("ParseConfig(%q): problem %+v has no key or position", data, p)
			}
		}
	})
}

func TestAllocationAliasRefused(t *testing.T) {
	src := "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\nallocation:\n  a: &x [1, 2]\n  b: [*x, *x]\n"
	_, err := ParseConfig([]byte(src), "testdata/x.yaml")
	want := "ingest: testdata/x.yaml:5:7: `allocation`: YAML aliases (*name) are not supported in run configs; write the value out"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v; want %s", err, want)
	}
}

// The allocation section decodes into the optimiser's scenario, which remembers where it
// came from: problems found only against the model (a term it lacks) point into the config.
func TestAllocationErrorsPointIntoConfig(t *testing.T) {
	src := "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\nallocation:\n  channels:\n    - term: m_tv\n    - term: m_radio\n      spend_col: m_tv\n  budget_total: 10\n"
	cfg, err := ParseConfig([]byte(src), "testdata/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = optimise.Optimise(context.Background(), cfg.Allocation, optimise.Inputs{
		Terms: []string{"(Intercept)", "m_tv"}, Draws: [][]float64{{1, 2}}, SpendColumns: map[string][]float64{"m_tv": {1}},
	}, optimise.Options{})
	want := "optimise: testdata/x.yaml:6:7: `allocation.channels[1].term` \"m_radio\" is not a population term of the model; terms are (Intercept), m_tv"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}

// Allocation problems are config problems: their keys start with allocation.
func TestAllocationProblemKeys(t *testing.T) {
	src := "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\nallocation:\n  channels: [{term: m_tv, bounds: {min: -1}}]\n"
	_, err := ParseConfig([]byte(src), "testdata/x.yaml")
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v; want a *ConfigError", err, err)
	}
	var keys []string
	for _, p := range ce.Problems {
		keys = append(keys, fmt.Sprintf("%s@%d:%d", p.Key, p.Line, p.Col))
	}
	if got, want := strings.Join(keys, " "), "allocation.budget_total@3:1 allocation.channels[0].bounds.min@4:36"; got != want {
		t.Errorf("problem keys %s; want %s", got, want)
	}
}

func TestIsName(t *testing.T) {
	for s, want := range map[string]bool{"cre_mean_": true, "y": true, ".x": true, "télé": true, "m.2": true,
		"": false, ".": false, ".2x": false, "1x": false, "_x": false, "a b": false, "a-b": false} {
		if got := isName(s); got != want {
			t.Errorf("isName(%q) = %v; want %v", s, got, want)
		}
	}
}
