package report

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/dsamstan/dsamstan/runfolder"
)

// stageTitles are the page's headings for the stages.
var stageTitles = map[string]string{
	runfolder.StageMetadata:       "Run metadata",
	runfolder.StagePreRun:         "Pre-run checks",
	runfolder.StageModelFit:       "Model fit",
	runfolder.StagePostRun:        "Posterior and decomposition",
	runfolder.StageDiagnostics:    "Diagnostics",
	runfolder.StageModelSelection: "Model selection",
	runfolder.StageOptimisation:   "Budget optimisation",
	runfolder.StageForecast:       "Forecast",
}

// IndexFile is the report page's name at the top of the run folder.
const IndexFile = runfolder.IndexHTML

// Layouts (outputs.layout), for Options.Layout.
const (
	LayoutStaged = runfolder.LayoutStaged
	LayoutFlat   = runfolder.LayoutFlat
)

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
	runfolder.RunJSON:        {runfolder.StageMetadata, "Status of the run (completed, failed or interrupted, and why), timings, CmdStan version and the compile-cache key."},
	runfolder.ConfigOriginal: {runfolder.StageMetadata, "The run config exactly as given."},
	runfolder.ConfigResolved: {runfolder.StageMetadata, "The config with every default filled in and every path made absolute: what the run actually used."},
	runfolder.SessionInfo:    {runfolder.StageMetadata, "Versions of dsamstan, Go, CmdStan and stanc, and the sampler settings, for reproducing the run."},
	runfolder.PriorsFile:     {runfolder.StageMetadata, "Every parameter's prior and bounds in original units, and where each came from (a default rule or the config key that set it)."},
	runfolder.DictionaryFile: {runfolder.StageMetadata, "The data dictionary of the config (data.dictionary_path and data.dictionary): each described term's unit, cadence, source, transform and rationale; the coefficient table shows them beside each coefficient."},
	runfolder.RunLog:         {runfolder.StageMetadata, "Everything dsamstan and CmdStan printed during the run; look here first when a run failed."},

	runfolder.ModelSpecFile:             {runfolder.StagePreRun, "The model as fitted: each term's prior and bounds, the groups of a panel and the allocation channels; the plots read it instead of the data file."},
	runfolder.VIFFile:                   {runfolder.StagePreRun, "Variance inflation factor of each predictor (NA for constant ones): above 5 deserves a look, above 10 means the data cannot separate that predictor from the others."},
	runfolder.MediaSpendFile:            {runfolder.StagePreRun, "Each media channel's spend on every row of the data file, as the run read it."},
	runfolder.TransformAssumptionsFile:  {runfolder.StagePreRun, "The media transforms of the model, in words: adstock and saturation per column, fixed or estimated (none when the model has no transforms)."},
	"transform_sensitivity_summary.csv": {runfolder.StagePreRun, "How the fit changes under other transform assumptions."},

	runfolder.ModelStan: {runfolder.StageModelFit, "The Stan program that was compiled and sampled."},
	runfolder.DataJSON:  {runfolder.StageModelFit, "The data handed to CmdStan (standardised when model.scale is true)."},

	runfolder.PosteriorSummary:    {runfolder.StagePostRun, "One row per parameter in original units: mean, sd and 90% interval (q5–q95); Rhat above 1.01 or ESS below 400 means that row has not converged."},
	runfolder.PosteriorDraws:      {runfolder.StagePostRun, "Every posterior draw of every parameter, one row per draw, with that draw's R², RMSE and sMAPE: the raw material for your own summaries."},
	runfolder.FittedValues:        {runfolder.StagePostRun, "Observed and fitted value per row, with the fitted mean's quantiles and the 95% predictive interval (pred_lo95–pred_hi95)."},
	runfolder.FitMetrics:          {runfolder.StagePostRun, "In-sample fit overall and per group: R² near 1 and small RMSE are good, coverage_95 should be near 0.95 and acf1 near 0."},
	runfolder.Decomposition:       {runfolder.StagePostRun, "Each term's contribution (coefficient × column) per row, with its 90% interval; the terms of a row add up to its fitted value."},
	runfolder.DecompositionTotals: {runfolder.StagePostRun, "Each term's contribution summed over all rows (and per group), its 90% interval and its share of the summed fit."},

	runfolder.DiagnosticsReport: {runfolder.StageDiagnostics, "One row per check: fix the fail rows first, P0 (data and design) before P1 (sampler); each message says what to do."},

	runfolder.LOOSummary:   {runfolder.StageModelSelection, "PSIS-LOO: elpd_loo is higher for the better of two models fitted to the same data; any pareto_k_bad or pareto_k_very_bad makes it unreliable."},
	runfolder.LOOPointwise: {runfolder.StageModelSelection, "Per-observation ELPD and Pareto k; rows with influential = true (k > 0.7) dominate the LOO estimate."},
	runfolder.LOOPIT:       {runfolder.StageModelSelection, "Each row's LOO-PIT, the probability its leave-one-out predictive distribution gives to values at or below the observed one: uniform on [0, 1] for a calibrated model; rows with pareto_k > 0.7 are unreliable."},
	"tscv_summary.csv":     {runfolder.StageModelSelection, "Time-series cross-validation: holdout ELPD, RMSE and sMAPE per fold."},

	runfolder.Allocation:          {runfolder.StageOptimisation, "Current and optimised spend per channel with the contribution's mean and 90% interval at each; marginal_roi is what one more unit of spend returns at the optimum."},
	runfolder.ResponseCurves:      {runfolder.StageOptimisation, "Each channel's contribution (mean and 90% interval) over a grid of spend levels."},
	runfolder.Frontier:            {runfolder.StageOptimisation, "The optimised total contribution at each total budget, with the spend per channel."},
	runfolder.Sensitivity:         {runfolder.StageOptimisation, "The total contribution when one channel's optimised spend moves down or up, the others fixed."},
	runfolder.OptimisationSummary: {runfolder.StageOptimisation, "Headline of the optimisation: budget, objective, solver, current and optimised totals and the lift."},
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
			return fileDoc{runfolder.StageModelFit, "CmdStan's output for one chain (or optimisation run): every draw of every sampler parameter."}
		default:
			return fileDoc{runfolder.StageModelFit, "What CmdStan printed for this chain; look here when a chain failed."}
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
