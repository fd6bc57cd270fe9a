package runfolder

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/internal/atomicfile"
)

// Stage folders of the staged layout, in page order.
const (
	StageMetadata       = "00_run_metadata"
	StagePreRun         = "10_pre_run"
	StageModelFit       = "20_model_fit"
	StagePostRun        = "30_post_run"
	StageDiagnostics    = "40_diagnostics"
	StageModelSelection = "50_model_selection"
	StageOptimisation   = "60_optimisation"
	// StageForecast holds a media plan's forecast (dsamstan forecast, forecast.enabled).
	StageForecast = "70_forecast"
)

// Stages lists the stage folders in order.
var Stages = []string{StageMetadata, StagePreRun, StageModelFit, StagePostRun, StageDiagnostics,
	StageModelSelection, StageOptimisation, StageForecast}

// Files a run writes, by stage.
const (
	// 00_run_metadata
	RunJSON        = "run.json"
	ConfigOriginal = "config.original.yaml"
	ConfigResolved = "config.resolved.yaml"
	SessionInfo    = "session_info.txt"
	RunLog         = "run.log"

	// ScenarioConfigExt ends the config of a transform sensitivity scenario fitted through
	// an executor (dsamstan run --executor slurm): scenarios/NN.yaml beside scenarios/NN/.
	// Each fan-out's folder (scenarios/, tscv/) holds its job script FanoutScript and its
	// task logs in FanoutLogs/.
	ScenarioConfigExt = ".yaml"
	FanoutScript      = "slurm_job.sh"
	FanoutLogs        = "logs"

	// 10_pre_run: what the report needs from the data and the model spec, so that it never
	// reads the data file again.
	ModelSpecFile  = "model_spec.json"
	VIFFile        = "vif.csv"
	MediaSpendFile = "media_spend.csv"
	// TransformAssumptionsFile is DSAMbayes's name for the media transforms in words.
	TransformAssumptionsFile = "transform_assumptions.txt"
	// TransformSensitivityFile is DSAMbayes's name for the ranked transform scenarios.
	TransformSensitivityFile = "transform_sensitivity_summary.csv"

	// 20_model_fit (besides CmdStan's chain_<k>.csv and optimize_<k>.csv)
	ModelStan = "model.stan"
	DataJSON  = "data.json"

	// 30_post_run
	PosteriorSummary    = "posterior_summary.csv"
	PosteriorDraws      = "posterior_draws.csv"
	FittedValues        = "fitted_values.csv"
	FitMetrics          = "fit_metrics.csv"
	Decomposition       = "decomposition.csv"
	DecompositionTotals = "decomposition_totals.csv"

	// 40_diagnostics
	DiagnosticsReport = "diagnostics_report.csv"

	// 50_model_selection
	LOOSummary   = "loo_summary.csv"
	LOOPointwise = "loo_pointwise.csv"
	// LOOPIT holds each row's LOO probability integral transform (DSAMbayes's loo_pit.png
	// is drawn from it).
	LOOPIT = "loo_pit.csv"

	// 60_optimisation
	Allocation          = "allocation.csv"
	ResponseCurves      = "response_curves.csv"
	Frontier            = "frontier.csv"
	Sensitivity         = "sensitivity.csv"
	OptimisationSummary = "summary.json"

	// 70_forecast
	ForecastFile       = "forecast.csv"
	ForecastTotalsFile = "forecast_totals.csv"
	ForecastPlot       = "forecast.png"

	// IndexHTML is the report page at the top of the run folder (both layouts).
	IndexHTML = "index.html"
)

// Layouts (outputs.layout).
const (
	LayoutStaged = "staged"
	LayoutFlat   = "flat"
)

// Run statuses recorded in run.json.
const (
	StatusRunning     = "running"
	StatusCompleted   = "completed"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
)

// Folder is a run folder: where each stage's files go under the chosen layout.
type Folder struct {
	Dir  string
	Flat bool // outputs.layout: flat puts every file directly in Dir
}

// Open returns the run folder dir with layout LayoutStaged, LayoutFlat, or "" to detect
// it (see Detect).
func Open(dir, layout string) (Folder, error) {
	switch layout {
	case "":
		return Detect(dir), nil
	case LayoutFlat:
		return Folder{Dir: dir, Flat: true}, nil
	case LayoutStaged:
		return Folder{Dir: dir}, nil
	}
	return Folder{}, fmt.Errorf("runfolder: layout %q: use %s or %s", layout, LayoutStaged, LayoutFlat)
}

// Detect decides whether dir uses the flat layout: a stage folder means staged, a run.json
// (or resolved config, or posterior summary) at the top means flat; an empty folder counts
// as staged.
func Detect(dir string) Folder {
	for _, s := range Stages {
		if isDir(filepath.Join(dir, s)) {
			return Folder{Dir: dir}
		}
	}
	for _, name := range []string{RunJSON, ConfigResolved, PosteriorSummary} {
		if isFile(filepath.Join(dir, name)) {
			return Folder{Dir: dir, Flat: true}
		}
	}
	return Folder{Dir: dir}
}

// Path returns where file name of a stage lives.
func (f Folder) Path(stage, name string) string {
	if f.Flat {
		return filepath.Join(f.Dir, name)
	}
	return filepath.Join(f.Dir, stage, name)
}

// StageDir returns the folder a stage's files go to: the stage folder, or Dir when flat.
func (f Folder) StageDir(stage string) string {
	if f.Flat {
		return f.Dir
	}
	return filepath.Join(f.Dir, stage)
}

// Rel returns the slash-separated path of a stage's file relative to the run folder, as
// the report page links it.
func (f Folder) Rel(stage, name string) string {
	if f.Flat {
		return name
	}
	return stage + "/" + name
}

// Find returns the path of an existing file of a stage: where the layout puts it, else
// where the other layout would (a folder written partly by an older version).
func (f Folder) Find(stage, name string) (string, bool) {
	for _, p := range []string{f.Path(stage, name), Folder{f.Dir, !f.Flat}.Path(stage, name)} {
		if isFile(p) {
			return p, true
		}
	}
	return "", false
}

// Write writes one file of a stage atomically, creating the stage folder.
func (f Folder) Write(stage, name string, data []byte) error {
	return f.WriteFunc(stage, name, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc streams one file of a stage atomically, creating the stage folder: fill writes
// the content through a buffer, so a table of hundreds of megabytes (posterior_draws.csv of a
// 500-market panel) is never held in memory whole. When fill fails the file is not written.
func (f Folder) WriteFunc(stage, name string, fill func(w io.Writer) error) error {
	p := f.Path(stage, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("runfolder: %w", err)
	}
	err := atomicfile.Write(p, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("runfolder: %w", err)
	}
	return nil
}

// Mkdir creates a stage folder and returns its path.
func (f Folder) Mkdir(stage string) (string, error) {
	d := f.StageDir(stage)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("runfolder: %w", err)
	}
	return d, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

var unsafeSlug = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Slug turns a model name into a safe folder-name part: only letters, digits, '.', '_' and
// '-', no leading dots, at most 64 characters, never empty. Nothing in a model name can make
// the run folder escape outputs.root_dir.
func Slug(name string) string {
	s := unsafeSlug.ReplaceAllString(name, "_")
	s = strings.Trim(s, "._-")
	if len(s) > 64 {
		s = strings.TrimRight(s[:64], "._-")
	}
	if s == "" {
		s = "model"
	}
	return s
}

// NewRunDir picks <root>/YYYYMMDD_HHMMSS_<slug>/ and creates it; when two runs start in the
// same second, the second gets a _2 suffix (then _3, …) rather than sharing a folder.
func NewRunDir(root, name string, now time.Time) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("runfolder: outputs.root_dir: %w", err)
	}
	base := filepath.Join(root, now.Format("20060102_150405")+"_"+Slug(name))
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !os.IsExist(err) {
			return "", fmt.Errorf("runfolder: run folder: %w", err)
		}
		if i > 1000 {
			return "", fmt.Errorf("runfolder: run folder: too many runs named %s", base)
		}
		dir = fmt.Sprintf("%s_%d", base, i)
	}
}

// Files `dsamstan calibrate` writes to its output folder.
const (
	// CalibrationSummary has one row per parameter: the rank uniformity test, coverage,
	// mean z-score and contraction.
	CalibrationSummary = "calibration.csv"
	// CalibrationRanks has one row per simulation and parameter, appended as each
	// simulation finishes.
	CalibrationRanks = "calibration_ranks.csv"
	// CalibrationSims has one row per simulation: seed, divergences, thinning.
	CalibrationSims = "calibration_sims.csv"
	// CalibrationVerdict is the one-line verdict.
	CalibrationVerdict = "verdict.txt"
	// CalibrationHistograms is the pattern of the rank histogram figures (1, 2, …).
	CalibrationHistograms = "rank_histograms_%d.png"
	// CalibrationStudy describes a calibration run as a Slurm job array: the config, the
	// study settings, and each array task's simulations and Slurm job.
	CalibrationStudy = "calibration_study.json"
	// CalibrationScript is the job script sbatch runs for each array task.
	CalibrationScript = "calibration.sbatch"
	// CalibrationResults holds one result file per finished simulation (CalibrationResult).
	CalibrationResults = "sims"
	// CalibrationResult is the pattern of a simulation's result file, by its number (1, 2, …).
	CalibrationResult = "sim_%04d.json"
	// CalibrationLogs holds each array task's log, task_<i>_<jobid>.log.
	CalibrationLogs = "logs"
)

// Files and folders of a batch folder (dsamstan batch --out DIR).
const (
	// BatchManifest lists the batch's runs: each config with its sha256, its run folder, its
	// log and, on Slurm, the job id and array index it was last submitted as.
	BatchManifest = "manifest.json"
	// BatchSummary has one row per run: status, reason, verdict, wall time and key figures.
	BatchSummary = "batch_summary.csv"
	// BatchScript is the job script sbatch runs for each array task.
	BatchScript = "batch.sbatch"
	// BatchRuns holds the run folders, one per config.
	BatchRuns = "runs"
	// BatchLogs holds each task's log.
	BatchLogs = "logs"
)
