package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/runfolder"
)

// Checked is what Validate found: the config and model spec a run would use and the P0
// data checks. RunDir is the folder written, "" when none was asked for.
type Checked struct {
	Config *ingest.Config
	Spec   *ingest.Spec
	Report *diagnostics.Report
	RunDir string
}

// Validate makes every check Run makes before compiling, with the same steps and the same
// messages: the config, the data and formula, the allocation section, the P0 data checks
// (a *PreflightError when one fails, as Run's) and that the Stan program renders. Nothing
// is compiled or sampled. When opts.RunDir is set it writes there what DSAMbayes's validate
// writes: 00_run_metadata/ (config.original.yaml, config.resolved.yaml, session_info.txt)
// and the P0 rows of 40_diagnostics/diagnostics_report.csv; otherwise it writes nothing.
// Only ConfigPath, RunDir, Version, Log and Now of opts are used.
func Validate(ctx context.Context, opts Options) (*Checked, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	cfg, err := ingest.LoadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	if err := readPreviousRun(cfg); err != nil {
		return nil, err
	}
	r := &runner{opts: opts, cfg: cfg, clock: opts.Now(), info: &runfolder.RunInfo{Timings: map[string]float64{}}}
	res := &Checked{Config: cfg}
	if opts.RunDir != "" {
		dir, err := filepath.Abs(opts.RunDir)
		if err != nil {
			return nil, fmt.Errorf("pipeline: run folder: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("pipeline: run folder %s: %w", dir, err)
		}
		r.folder = runfolder.Folder{Dir: dir, Flat: cfg.Outputs.Layout == runfolder.LayoutFlat}
		res.RunDir = dir
		if err := r.folder.Write(runfolder.StageMetadata, runfolder.ConfigOriginal, cfg.Raw); err != nil {
			return res, err
		}
		if err := r.writeResolved(); err != nil {
			return res, err
		}
	}
	spec, err := r.ingest(ctx)
	if err != nil {
		return res, err
	}
	res.Spec = spec
	perr := r.preflight(spec)
	res.Report = r.report
	var prog *codegen.Program
	if perr == nil {
		if prog, err = codegen.Render(ctx, nil, spec); err != nil {
			return res, err
		}
	}
	if r.folder.Dir != "" && cfg.Outputs.SessionInfo() {
		if err := r.folder.Write(runfolder.StageMetadata, runfolder.SessionInfo, r.sessionInfo(spec, prog)); err != nil {
			return res, err
		}
	}
	return res, perr
}
