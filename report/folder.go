package report

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// Stage folders of the staged layout (spec §7.7), in page order.
const (
	StageMetadata       = "00_run_metadata"
	StagePreRun         = "10_pre_run"
	StageModelFit       = "20_model_fit"
	StagePostRun        = "30_post_run"
	StageDiagnostics    = "40_diagnostics"
	StageModelSelection = "50_model_selection"
	StageOptimisation   = "60_optimisation"
)

// Stages lists the stage folders in order.
var Stages = []string{StageMetadata, StagePreRun, StageModelFit, StagePostRun, StageDiagnostics,
	StageModelSelection, StageOptimisation}

// stageTitles are the page's headings for the stages.
var stageTitles = map[string]string{
	StageMetadata:       "Run metadata",
	StagePreRun:         "Pre-run checks",
	StageModelFit:       "Model fit",
	StagePostRun:        "Posterior and decomposition",
	StageDiagnostics:    "Diagnostics",
	StageModelSelection: "Model selection",
	StageOptimisation:   "Budget optimisation",
}

// IndexFile is the report page's name at the top of the run folder.
const IndexFile = "index.html"

// Layouts (outputs.layout).
const (
	LayoutStaged = "staged"
	LayoutFlat   = "flat"
)

// folder locates a run's files under either layout.
type folder struct {
	dir  string
	flat bool
}

// detectLayout decides whether dir uses the flat layout: a stage folder means staged, a
// run.json (or posterior summary) at the top means flat; an empty folder counts as staged.
func detectLayout(dir string) bool {
	for _, s := range Stages {
		if isDir(filepath.Join(dir, s)) {
			return false
		}
	}
	for _, name := range []string{"run.json", "config.resolved.yaml", "posterior_summary.csv"} {
		if isFile(filepath.Join(dir, name)) {
			return true
		}
	}
	return false
}

// out returns where a file of a stage is written.
func (f folder) out(stage, name string) string {
	if f.flat {
		return filepath.Join(f.dir, name)
	}
	return filepath.Join(f.dir, stage, name)
}

// rel returns the slash-separated path of a stage's file relative to the run folder, as
// the page links it.
func (f folder) rel(stage, name string) string {
	if f.flat {
		return name
	}
	return stage + "/" + name
}

// find returns the path of an existing file of a stage: where the layout puts it, else
// where the other layout would (a folder written partly by an older version).
func (f folder) find(stage, name string) (string, bool) {
	for _, p := range []string{f.out(stage, name), folder{f.dir, !f.flat}.out(stage, name)} {
		if isFile(p) {
			return p, true
		}
	}
	return "", false
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// fileDoc describes a file the runner writes: its stage and one sentence on how to read it.
type fileDoc struct {
	stage, read string
}

// knownFiles are the files the runner writes, by name. The sentences appear on the page.
var knownFiles = map[string]fileDoc{
	"run.json":             {StageMetadata, "Status of the run (completed, failed or interrupted, and why), timings, CmdStan version and the compile-cache key."},
	"config.original.yaml": {StageMetadata, "The run config exactly as given."},
	"config.resolved.yaml": {StageMetadata, "The config with every default filled in and every path made absolute: what the run actually used."},
	"session_info.txt":     {StageMetadata, "Versions of dsamstan, Go, CmdStan and stanc, and the sampler settings, for reproducing the run."},
	"run.log":              {StageMetadata, "Everything dsamstan and CmdStan printed during the run; look here first when a run failed."},

	"transform_assumptions.txt":         {StagePreRun, "The media transforms assumed before fitting."},
	"transform_sensitivity_summary.csv": {StagePreRun, "How the fit changes under other transform assumptions."},

	"model.stan": {StageModelFit, "The Stan program that was compiled and sampled."},
	"data.json":  {StageModelFit, "The data handed to CmdStan (standardised when model.scale is true)."},

	"posterior_summary.csv":    {StagePostRun, "One row per parameter in original units: mean, sd and 90% interval (q5–q95); Rhat above 1.01 or ESS below 400 means that row has not converged."},
	"posterior_draws.csv":      {StagePostRun, "Every posterior draw of every parameter, one row per draw, with that draw's R², RMSE and sMAPE: the raw material for your own summaries."},
	"fitted_values.csv":        {StagePostRun, "Observed and fitted value per row, with the fitted mean's quantiles and the 95% predictive interval (pred_lo95–pred_hi95)."},
	"fit_metrics.csv":          {StagePostRun, "In-sample fit overall and per group: R² near 1 and small RMSE are good, coverage_95 should be near 0.95 and acf1 near 0."},
	"decomposition.csv":        {StagePostRun, "Each term's contribution (coefficient × column) per row, with its 90% interval; the terms of a row add up to its fitted value."},
	"decomposition_totals.csv": {StagePostRun, "Each term's contribution summed over all rows (and per group), its 90% interval and its share of the summed fit."},

	"diagnostics_report.csv": {StageDiagnostics, "One row per check: fix the fail rows first, P0 (data and design) before P1 (sampler); each message says what to do."},

	"loo_summary.csv":   {StageModelSelection, "PSIS-LOO: elpd_loo is higher for the better of two models fitted to the same data; any pareto_k_bad or pareto_k_very_bad makes it unreliable."},
	"loo_pointwise.csv": {StageModelSelection, "Per-observation ELPD and Pareto k; rows with influential = true (k > 0.7) dominate the LOO estimate."},
	"tscv_summary.csv":  {StageModelSelection, "Time-series cross-validation: holdout ELPD, RMSE and sMAPE per fold."},

	"allocation.csv":      {StageOptimisation, "Current and optimised spend per channel with the contribution's mean and 90% interval at each; marginal_roi is what one more unit of spend returns at the optimum."},
	"response_curves.csv": {StageOptimisation, "Each channel's contribution (mean and 90% interval) over a grid of spend levels."},
	"frontier.csv":        {StageOptimisation, "The optimised total contribution at each total budget, with the spend per channel."},
	"sensitivity.csv":     {StageOptimisation, "The total contribution when one channel's optimised spend moves down or up, the others fixed."},
	"summary.json":        {StageOptimisation, "Headline of the optimisation: budget, objective, solver, current and optimised totals and the lift."},
}

// fitOutput matches the CmdStan output files of 20_model_fit.
var fitOutput = regexp.MustCompile(`^(chain|optimize)_\d+(\.csv|\.stdout\.txt|\.stderr\.txt)$`)

// docOf returns what the page says about a file, and the stage it belongs to ("" when the
// name is not one the runner writes).
func docOf(name string) fileDoc {
	if d, ok := knownFiles[name]; ok {
		return d
	}
	if fitOutput.MatchString(name) {
		switch filepath.Ext(name) {
		case ".csv":
			return fileDoc{StageModelFit, "CmdStan's output for one chain (or optimisation run): every draw of every sampler parameter."}
		default:
			return fileDoc{StageModelFit, "What CmdStan printed for this chain; look here when a chain failed."}
		}
	}
	for _, p := range plotDefs {
		if p.name == name {
			return fileDoc{p.stage, p.read}
		}
	}
	return fileDoc{}
}

// listDir returns the regular files of dir (nil when it does not exist), skipping hidden
// and temporary files.
func listDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name()[0] != '.' {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
