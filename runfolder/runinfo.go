package runfolder

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/dsamstan/dsamstan/codegen"
)

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
	// Sensitivity says, for a run with transform sensitivity scenarios, which scenario the
	// run is and where the others are.
	Sensitivity string `json:"transform_sensitivity,omitempty"`
	// Diagnostics is the diagnostics report's overall status: pass, warn or fail.
	Diagnostics string `json:"diagnostics,omitempty"`
	// Skipped lists the outputs the fit method cannot give, and why: a MAP fit has no
	// LOO, no intervals and no convergence diagnostics; approximate draws no convergence
	// diagnostics.
	Skipped []SkippedOutput `json:"skipped_outputs,omitempty"`
	// Approximation describes a fit by approximate draws (fit.method laplace or
	// pathfinder) and how good the approximation is; nil for MCMC and MAP fits.
	Approximation *Approximation `json:"approximation,omitempty"`
}

// SkippedOutput is one output a run did not write, and why.
type SkippedOutput struct {
	Output string `json:"output"`
	Reason string `json:"reason"`
}

// Approximation is the diagnostic of approximate draws: the Pareto k̂ of importance
// sampling from the approximation to the posterior (k̂ > 0.7: the approximation is poor and
// its draws misrepresent the posterior).
type Approximation struct {
	// Method is laplace or pathfinder.
	Method string `json:"method"`
	Draws  int    `json:"draws"`
	// ParetoK is k̂; nil when it is not known (pathfinder reports k̂ only above 0.7).
	ParetoK *float64 `json:"pareto_k,omitempty"`
	// Note says where k̂ comes from and what it means for this run.
	Note string `json:"note"`
}

// Save writes run.json into the folder's metadata stage.
func (r *RunInfo) Save(f Folder) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("runfolder: %s: %w", RunJSON, err)
	}
	return f.Write(StageMetadata, RunJSON, append(b, '\n'))
}

// ReadRunInfo reads the folder's run.json; the error wraps fs.ErrNotExist when the run has
// none.
func ReadRunInfo(f Folder) (*RunInfo, error) {
	p, ok := f.Find(StageMetadata, RunJSON)
	if !ok {
		return nil, fmt.Errorf("runfolder: no %s: %w", f.Rel(StageMetadata, RunJSON), os.ErrNotExist)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("runfolder: %w", err)
	}
	var r RunInfo
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("runfolder: %s: %w", f.Rel(StageMetadata, RunJSON), err)
	}
	return &r, nil
}
