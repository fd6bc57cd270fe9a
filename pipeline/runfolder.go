package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/internal/atomicfile"
)

// Stage folders of the staged layout (DSAMbayes runner, spec §7.7).
const (
	StageMetadata       = "00_run_metadata"
	StagePreRun         = "10_pre_run"
	StageModelFit       = "20_model_fit"
	StagePostRun        = "30_post_run"
	StageDiagnosis      = "40_diagnostics"
	StageModelSelection = "50_model_selection"
	StageOptimisation   = "60_optimisation"
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

// Path returns where file name of a stage lives.
func (f Folder) Path(stage, name string) string {
	if f.Flat {
		return filepath.Join(f.Dir, name)
	}
	return filepath.Join(f.Dir, stage, name)
}

// Write writes one file of a stage atomically, creating the stage folder.
func (f Folder) Write(stage, name string, data []byte) error {
	p := f.Path(stage, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("pipeline: run folder: %w", err)
	}
	if err := atomicfile.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// Mkdir creates a stage folder and returns its path.
func (f Folder) Mkdir(stage string) (string, error) {
	d := f.Dir
	if !f.Flat {
		d = filepath.Join(f.Dir, stage)
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("pipeline: run folder: %w", err)
	}
	return d, nil
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
		return "", fmt.Errorf("pipeline: outputs.root_dir: %w", err)
	}
	base := filepath.Join(root, now.Format("20060102_150405")+"_"+Slug(name))
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !os.IsExist(err) {
			return "", fmt.Errorf("pipeline: run folder: %w", err)
		}
		if i > 1000 {
			return "", fmt.Errorf("pipeline: run folder: too many runs named %s", base)
		}
		dir = fmt.Sprintf("%s_%d", base, i)
	}
}

// RunInfo is the content of 00_run_metadata/run.json.
type RunInfo struct {
	Status          string             `json:"status"`
	Error           string             `json:"error,omitempty"`
	Model           string             `json:"model"`
	Formula         string             `json:"formula"`
	Config          string             `json:"config"`
	RunDir          string             `json:"run_dir"`
	Started         time.Time          `json:"started"`
	Finished        *time.Time         `json:"finished,omitempty"`
	Timings         map[string]float64 `json:"timings_seconds"`
	DsamstanVersion string             `json:"dsamstan_version"`
	CmdStan         string             `json:"cmdstan_dir,omitempty"`
	CmdStanVersion  string             `json:"cmdstan_version,omitempty"`
	StancVersion    string             `json:"stanc_version,omitempty"`
	Template        string             `json:"template,omitempty"`
	// RandomEffects records the parameterisation chosen for each group-varying term.
	RandomEffects   []codegen.REChoice `json:"random_effects,omitempty"`
	CompileKey      string             `json:"compile_cache_key,omitempty"`
	CompileCacheHit *bool              `json:"compile_cache_hit,omitempty"`
	Method          string             `json:"fit_method"`
	Chains          []string           `json:"chain_csv,omitempty"`
	Warnings        []string           `json:"warnings,omitempty"`
	// Diagnostics is the diagnostics report's overall status: pass, warn or fail.
	Diagnostics string `json:"diagnostics,omitempty"`
}

func (r *RunInfo) save(f Folder) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("pipeline: run.json: %w", err)
	}
	return f.Write(StageMetadata, "run.json", append(b, '\n'))
}
