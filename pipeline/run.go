package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/report"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

// Options are the knobs of one run that do not live in the config file.
type Options struct {
	ConfigPath string
	// RunDir is --run-dir: it beats outputs.run_dir, which beats a timestamped folder
	// under outputs.root_dir.
	RunDir     string
	CmdStanDir string // --cmdstan
	// Chains and Cores override fit.mcmc.chains/cores when > 0.
	Chains, Cores int
	// Timeout ends sampling that runs longer (0: no limit).
	Timeout time.Duration
	// Version is dsamstan's version, recorded in run.json and session_info.txt.
	Version string
	// Log receives human-readable progress; Progress receives the per-chain progress
	// display (bars on a terminal, plain lines otherwise).
	Log, Progress io.Writer
	// Now is the clock (tests fix it).
	Now func() time.Time
	// Executor, when set, fits the scenarios of transforms.sensitivity and the folds of
	// time-series CV instead of this process (dsamstan run --executor slurm); nil fits them
	// here.
	Executor Executor
	// ScenarioTask marks the run as one scenario of a sensitivity run fitted by an Executor
	// (--scenario-task): like a scenario fitted here, it does no time-series CV.
	ScenarioTask bool
	// TSCVFold, when positive, makes the run one fold of a time-series CV fitted by an
	// Executor (--tscv-fold N): RunDir gets that fold's program, data, chains and a run.json,
	// as the fold's folder of a run that cross-validates here.
	TSCVFold int

	sensitivity *sensitivityOutcome // set by runSensitivity for the run of its best scenario
	noTSCV      bool                // set for sensitivity scenarios: only the chosen run cross-validates
	noReport    bool                // tests that read only the tables skip drawing the page
}

// Result is what a finished run produced.
type Result struct {
	RunDir   string
	Info     *runfolder.RunInfo
	Summary  []summarise.Row
	CacheHit bool
	// Report holds the P0 and P1 diagnostics checks (overall status first when written).
	Report *diagnostics.Report
}

// ErrInterrupted reports a run stopped by Ctrl-C or SIGTERM; run.json says "interrupted".
var ErrInterrupted = cmdstan.ErrInterrupted

// Run fits the model of opts.ConfigPath and writes its run folder. A config that does not
// load creates no folder; any later failure leaves the folder with run.json saying why.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Progress == nil {
		opts.Progress = opts.Log
	}
	cfg, err := ingest.LoadConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	if err := readPreviousRun(cfg); err != nil {
		return nil, err
	}
	if opts.TSCVFold > 0 {
		return runFoldTask(ctx, cfg, opts)
	}
	opts.noTSCV = opts.noTSCV || opts.ScenarioTask
	scenarios := cfg.SensitivityScenarios()
	if opts.Executor != nil && len(scenarios) == 0 && !cfg.CrossValidates() {
		return nil, fmt.Errorf("%w (%s)", ErrNothingToFanOut, opts.ConfigPath)
	}
	if len(scenarios) > 0 {
		return runSensitivity(ctx, cfg, scenarios, opts)
	}
	return runConfig(ctx, cfg, opts)
}

// runConfig fits the loaded config cfg and writes its run folder (see Run).
func runConfig(ctx context.Context, cfg *ingest.Config, opts Options) (*Result, error) {
	folder, err := resolveFolder(cfg, opts)
	if err != nil {
		return nil, err
	}
	r := newRunner(cfg, opts, folder)
	res, err := r.run(ctx)
	err = r.interrupted(ctx, err)
	r.finish(err)
	if !opts.noReport {
		r.step("report", func() error { r.writeHTML(ctx); return nil })
	}
	r.saveInfo() // again, with the report's timing
	if res == nil {
		// The folder exists: callers can point users at it, even when the run failed.
		res = &Result{RunDir: folder.Dir, Info: r.info, Report: r.report}
		return res, err
	}
	return res, err
}

// newRunner starts a run of cfg into folder: its run.json says running, and everything it
// logs also goes to run.log, written when the run ends.
func newRunner(cfg *ingest.Config, opts Options, folder runfolder.Folder) *runner {
	r := &runner{opts: opts, cfg: cfg, folder: folder, clock: opts.Now()}
	r.opts.Log = io.MultiWriter(opts.Log, &r.log)
	r.info = &runfolder.RunInfo{
		Status:          runfolder.StatusRunning,
		Model:           cfg.Model.Name,
		Formula:         cfg.Model.Formula,
		Config:          cfg.Path,
		RunDir:          folder.Dir,
		Started:         r.clock,
		Timings:         map[string]float64{},
		DsamstanVersion: opts.Version,
		Method:          cfg.Fit.Method,
	}
	return r
}

// writeHTML draws the plots and index.html from whatever the run left in its folder, so
// failed and interrupted runs get a page that says so too. It runs even after Ctrl-C (the
// page is quick to draw); a plot that fails is logged, never fatal.
func (r *runner) writeHTML(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	m, err := report.Build(ctx, r.folder.Dir, report.Options{Layout: r.cfg.Outputs.Layout})
	if err != nil {
		fmt.Fprintf(r.opts.Log, "warning: report: %v\n", err)
		return
	}
	if err := m.Err(); err != nil {
		fmt.Fprintf(r.opts.Log, "warning: some plots failed: %v\n", err)
	}
	fmt.Fprintf(r.opts.Log, "report: %s\n", m.Index)
}

func resolveFolder(cfg *ingest.Config, opts Options) (runfolder.Folder, error) {
	f := runfolder.Folder{Flat: cfg.Outputs.Layout == runfolder.LayoutFlat}
	switch {
	case opts.RunDir != "":
		f.Dir = opts.RunDir
	case cfg.Outputs.RunDir != "":
		f.Dir = cfg.Outputs.RunDir
	default:
		d, err := runfolder.NewRunDir(cfg.Outputs.RootDir, cfg.Model.Name, opts.Now())
		if err != nil {
			return f, err
		}
		f.Dir = d
	}
	abs, err := filepath.Abs(f.Dir)
	if err != nil {
		return f, fmt.Errorf("pipeline: run folder: %w", err)
	}
	f.Dir = abs
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return f, fmt.Errorf("pipeline: run folder %s: %w", f.Dir, err)
	}
	return f, nil
}

type runner struct {
	opts   Options
	cfg    *ingest.Config
	folder runfolder.Folder
	info   *runfolder.RunInfo
	clock  time.Time
	report *diagnostics.Report // P0 checks, then P1 after sampling
	log    syncBuffer          // a copy of the log, for run.log
	table  *ingest.Table       // the data, for spend columns
	stage  string              // the step running or last run, for an interruption's message
	// approxK is the Pareto k̂ pathfinder reported for the run's fit (NaN: none).
	approxK float64
}

// interrupted returns err, unless ctx was cancelled (Ctrl-C, SIGTERM) and err is not
// already the sampler's ErrInterrupted: then the step that was running failed because
// of the cancellation (a bare context.Canceled from reading the chains, say), and the
// run reports the interruption, wrapping ErrInterrupted, as it would during sampling.
func (r *runner) interrupted(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || errors.Is(err, ErrInterrupted) {
		return err
	}
	return fmt.Errorf("%w: stopped during the %s step; what the run wrote so far is kept in %s (%w)",
		ErrInterrupted, r.stage, r.folder.Dir, context.Cause(ctx))
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of several chains.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// PreflightError stops a run before compiling: a P0 data check failed. The report is
// written to 40_diagnostics/diagnostics_report.csv.
type PreflightError struct{ Report *diagnostics.Report }

func (e *PreflightError) Error() string {
	var b strings.Builder
	b.WriteString("pipeline: pre-flight data checks failed, nothing was compiled or sampled:")
	for _, c := range e.Report.Checks {
		if c.Status == diagnostics.StatusFail && c.ID != diagnostics.OverallID {
			fmt.Fprintf(&b, "\n  %s: %s", c.ID, c.Message)
		}
	}
	return b.String()
}

// writeReport writes the diagnostics report as it stands and records its verdict.
func (r *runner) writeReport() error {
	var buf bytes.Buffer
	if err := diagnostics.WriteCSV(&buf, r.report); err != nil {
		return err
	}
	r.info.Diagnostics = r.report.Status()
	return r.folder.Write(runfolder.StageDiagnostics, runfolder.DiagnosticsReport, buf.Bytes())
}

// step times one stage of the run into run.json's timings.
func (r *runner) step(name string, fn func() error) error {
	r.stage = name
	t0 := time.Now()
	err := fn()
	r.info.Timings[name] = time.Since(t0).Seconds()
	return err
}

func (r *runner) logf(format string, a ...any) { fmt.Fprintf(r.opts.Log, format+"\n", a...) }

// run is the run's sequence of steps, each timed into run.json: ingest, pre_run, render,
// compile, fit, summarise, derive, loo, optimise and forecast (the report is drawn by Run
// after it).
func (r *runner) run(ctx context.Context) (*Result, error) {
	if err := r.writeConfig(); err != nil {
		return nil, err
	}
	if sens := r.opts.sensitivity; sens != nil {
		r.info.Sensitivity = sens.note
		r.logf("%s", sens.note)
		if err := r.folder.Write(runfolder.StagePreRun, runfolder.TransformSensitivityFile, sens.summary); err != nil {
			return nil, err
		}
	}
	spec, err := r.ingest(ctx)
	if err != nil {
		return nil, err
	}
	if err := writePriors(r.folder, r.cfg, spec); err != nil {
		return nil, err
	}
	if err := writeDictionary(r.folder, spec); err != nil {
		return nil, err
	}
	if err := r.step("pre_run", func() error { return WritePreRun(r.folder, r.cfg, r.table, spec) }); err != nil {
		return nil, err
	}
	if err := r.preflight(spec); err != nil {
		return nil, err
	}
	folds, err := r.tscvFolds(spec)
	if err != nil {
		return nil, err
	}
	var prog *codegen.Program
	if err := r.step("render", func() (err error) {
		prog, err = codegen.Render(ctx, nil, spec)
		return err
	}); err != nil {
		return nil, err
	}
	fitDir, dataPath, err := r.writeProgram(prog)
	if err != nil {
		return nil, err
	}
	runner, err := r.openCmdStan(ctx)
	if err != nil {
		return nil, err
	}
	compiled, err := r.compile(ctx, runner, prog)
	if err != nil {
		return nil, err
	}
	var csvs []string
	if err := r.step("fit", func() (err error) {
		csvs, err = r.fit(ctx, runner, prog, compiled.Exe, dataPath, fitDir)
		return err
	}); err != nil {
		return nil, err
	}
	r.info.Chains = csvs
	r.noteSkipped()
	rows, err := r.postRun(ctx, spec, prog, csvs)
	if err != nil {
		return nil, err
	}
	if folds != nil {
		if err := r.step("tscv", func() error { return r.timeSeriesCV(ctx, runner, spec, folds, compiled.Key) }); err != nil {
			return nil, err
		}
	}
	if r.cfg.Outputs.SessionInfo() {
		if err := r.folder.Write(runfolder.StageMetadata, runfolder.SessionInfo, r.sessionInfo(spec, prog)); err != nil {
			return nil, err
		}
	}
	return &Result{RunDir: r.folder.Dir, Info: r.info, Summary: rows, CacheHit: compiled.CacheHit, Report: r.report}, nil
}

// writeConfig writes the config as given, the first run.json ("running") and the resolved
// config.
func (r *runner) writeConfig() error {
	if err := r.folder.Write(runfolder.StageMetadata, runfolder.ConfigOriginal, r.cfg.Raw); err != nil {
		return err
	}
	if err := r.info.Save(r.folder); err != nil {
		return err
	}
	return r.writeResolved()
}

// writeResolved writes config.resolved.yaml.
func (r *runner) writeResolved() error {
	if resolved, err := r.cfg.ResolvedYAML(); err == nil {
		if err := r.folder.Write(runfolder.StageMetadata, runfolder.ConfigResolved, resolved); err != nil {
			return err
		}
	}
	return nil
}

// ingest loads the data, builds the model spec and checks the allocation section against
// them; the spec's warnings go to run.json and the log.
func (r *runner) ingest(ctx context.Context) (*ingest.Spec, error) {
	var spec *ingest.Spec
	if err := r.step("ingest", func() (err error) {
		r.table, err = ingest.LoadData(r.cfg)
		if err != nil {
			return err
		}
		if spec, err = ingest.BuildSpec(r.cfg, r.table); err != nil {
			return err
		}
		if err := CheckAllocation(ctx, r.cfg, spec, r.table); err != nil {
			return err
		}
		return CheckForecastPlan(r.cfg, spec, r.table)
	}); err != nil {
		return nil, err
	}
	r.info.Warnings = append(r.info.Warnings, spec.Warnings...)
	for _, w := range spec.Warnings {
		r.logf("warning: %s", w)
	}
	return spec, nil
}

// preflight runs the P0 data checks and writes their report; a failing check stops the run
// before anything is compiled.
func (r *runner) preflight(spec *ingest.Spec) error {
	r.report = &diagnostics.Report{Mode: r.cfg.Diagnostics.PolicyMode, Checks: diagnostics.P0(spec, r.cfg.Diagnostics.PolicyMode)}
	if r.folder.Dir != "" {
		if err := r.writeReport(); err != nil {
			return err
		}
	}
	if r.report.Status() == diagnostics.StatusFail {
		return &PreflightError{Report: r.report}
	}
	return nil
}

// writeProgram records the program in run.json and writes it and its data into
// 20_model_fit/, returning that folder and the data file's path.
func (r *runner) writeProgram(prog *codegen.Program) (fitDir, dataPath string, err error) {
	r.info.Template = prog.Template
	r.info.RandomEffects = prog.RandomEffects
	if fitDir, err = r.folder.Mkdir(runfolder.StageModelFit); err != nil {
		return "", "", err
	}
	if err := r.folder.Write(runfolder.StageModelFit, runfolder.ModelStan, prog.Code); err != nil {
		return "", "", err
	}
	dataPath = r.folder.Path(runfolder.StageModelFit, runfolder.DataJSON)
	if err := stanio.WriteDataFile(dataPath, r.fitData(prog)); err != nil {
		return "", "", err
	}
	return fitDir, dataPath, nil
}

// fitData is prog's data for the run's fit method: a MAP fit asks for the mode of the
// coefficients' own density, without the program's Jacobian.
func (r *runner) fitData(prog *codegen.Program) []stanio.Var {
	if r.cfg.Fit.MAP() {
		return prog.MAPData()
	}
	return prog.Data
}

// openCmdStan finds CmdStan and the compile cache and records CmdStan's and stanc's
// versions.
func (r *runner) openCmdStan(ctx context.Context) (*cmdstan.Runner, error) {
	inst, err := cmdstan.Find(r.opts.CmdStanDir)
	if err != nil {
		return nil, err
	}
	r.info.CmdStan, r.info.CmdStanVersion = inst.Dir, inst.Version
	cache, err := cmdstan.OpenCache("")
	if err != nil {
		return nil, err
	}
	runner := cmdstan.NewRunner(inst, cache, r.opts.Log)
	if v, err := runner.StancVersion(ctx); err == nil {
		r.info.StancVersion = v
	} else {
		r.logf("warning: %v", err)
	}
	return runner, nil
}

// compile compiles the program through the cache and records the cache key and hit.
func (r *runner) compile(ctx context.Context, runner *cmdstan.Runner, prog *codegen.Program) (*cmdstan.Compiled, error) {
	var compiled *cmdstan.Compiled
	if err := r.step("compile", func() (err error) {
		compiled, err = runner.Compile(ctx, prog.Code, cmdstan.CompileOptions{
			ToolDigest: codegen.TemplateVersion,
			Force:      r.cfg.Model.ForceRecompile,
		})
		return err
	}); err != nil {
		return nil, err
	}
	hit := compiled.CacheHit
	r.info.CompileCacheHit, r.info.CompileKey = &hit, compiled.Key
	if hit {
		r.logf("compile cache hit (%s)", compiled.Key[:12])
	} else {
		r.logf("compiled %s in %.1fs", prog.Template, compiled.Duration.Seconds())
	}
	return compiled, nil
}

func (r *runner) fit(ctx context.Context, runner *cmdstan.Runner, p *codegen.Program, exe, dataPath, dir string) ([]string, error) {
	if r.cfg.Fit.Approximate() {
		csv, k, err := r.approximate(ctx, runner, exe, dataPath, dir)
		if err != nil {
			return nil, err
		}
		r.approxK = k
		return []string{csv}, nil
	}
	return r.sample(ctx, runner, p, exe, dataPath, dir, r.opts.Progress)
}

// sample fits with the run's settings into dir, showing the chains' progress on progress.
func (r *runner) sample(ctx context.Context, runner *cmdstan.Runner, p *codegen.Program, exe, dataPath, dir string, progress io.Writer) ([]string, error) {
	fc := r.cfg.Fit
	if fc.MAP() { // DSAMbayes's name for a MAP fit: CmdStan's optimize method
		best, _, err := runner.Optimize(ctx, exe, dataPath, dir, cmdstan.OptimizeOptions{
			Runs: fc.Optimise.NRuns, Seed: fc.MCMC.Seed,
		})
		if err != nil {
			return nil, err
		}
		return []string{best}, nil
	}
	if fc.Approximate() {
		csv, _, err := r.approximate(ctx, runner, exe, dataPath, dir)
		if err != nil {
			return nil, err
		}
		return []string{csv}, nil
	}
	chains, cores := fc.MCMC.Chains, fc.MCMC.Cores
	if r.opts.Chains > 0 {
		chains = r.opts.Chains
	}
	if r.opts.Cores > 0 {
		cores = r.opts.Cores
	}
	if cores <= 0 {
		cores = min(chains, runtime.NumCPU())
	}
	if p.AdaptDelta > fc.MCMC.AdaptDelta {
		r.logf("fit: the %s program samples with adapt_delta %g (fit.mcmc.adapt_delta is %g)", p.Template, p.AdaptDelta, fc.MCMC.AdaptDelta)
	}
	prog := cmdstan.NewProgress(progress, chains)
	csvs, err := runner.Sample(ctx, exe, dataPath, dir, cmdstan.SampleOptions{
		Chains:       chains,
		Cores:        cores,
		Seed:         fc.MCMC.Seed,
		Warmup:       fc.MCMC.Warmup,
		Samples:      fc.MCMC.Iter - fc.MCMC.Warmup,
		Thin:         fc.MCMC.Thin,
		AdaptDelta:   max(fc.MCMC.AdaptDelta, p.AdaptDelta), // the program may ask for more
		MaxTreedepth: fc.MCMC.MaxTreedepth,
		Metric:       p.Metric, // chosen by codegen for the program's geometry
		Timeout:      r.opts.Timeout,
	}, prog)
	prog.Wait()
	return csvs, err
}

// postRun summarises the fit, derives the row-wise tables, computes PSIS-LOO (not for a
// MAP fit: it has one point), optimises the budget and forecasts the media plan, each its
// own timed step.
func (r *runner) postRun(ctx context.Context, spec *ingest.Spec, prog *codegen.Program, csvs []string) ([]summarise.Row, error) {
	var d *decoded
	var rows []summarise.Row
	if err := r.step("summarise", func() (err error) {
		d, rows, err = r.summarise(ctx, spec, prog, csvs)
		return err
	}); err != nil {
		return nil, err
	}
	pd, err := r.derivedAndLOO(ctx, spec, d)
	if err != nil {
		return nil, err
	}
	if r.cfg.Allocation != nil {
		if err := r.step("optimise", func() error { return r.writeOptimisation(ctx, spec, r.table, d) }); err != nil {
			return nil, err
		}
	}
	if f := r.cfg.Forecast; f != nil && f.Enabled {
		if err := r.step("forecast", func() error { return r.writeForecast(ctx, spec, pd) }); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// derivedAndLOO writes the derived tables (the derive step) and, for draws, PSIS-LOO (the
// loo step) beside them: both spread over the cores, and each has serial stretches
// (writing its CSVs) that the other fills. Each step's timing is its own wall time. It
// returns the draws arranged for the row-wise derivations.
func (r *runner) derivedAndLOO(ctx context.Context, spec *ingest.Spec, d *decoded) (*posterior.Draws, error) {
	pd, err := posteriorDraws(spec, d)
	if err != nil {
		return nil, err
	}
	var (
		looErr      error
		looWarnings []string
		looSeconds  float64 // recorded after the join: the derive step writes Timings meanwhile
		looDone     = make(chan struct{})
	)
	withLOO := !r.cfg.Fit.MAP() // a point estimate has no draws to weigh
	if withLOO {
		go func() {
			defer close(looDone)
			t0 := time.Now()
			looWarnings, looErr = r.writeLOO(spec, pd)
			looSeconds = time.Since(t0).Seconds()
		}()
	} else {
		close(looDone)
	}
	err = r.step("derive", func() error { return r.writeDerived(ctx, spec, d, pd) })
	<-looDone
	if withLOO {
		r.info.Timings["loo"] = looSeconds
	}
	for _, w := range looWarnings {
		r.logf("loo: %s", w)
	}
	if err != nil {
		return nil, err
	}
	if looErr != nil {
		r.stage = "loo"
		return nil, looErr
	}
	return pd, nil
}

// summarise reads the chain CSVs, maps every Stan column back to the parameters users see
// (original units), adds the sampler checks to the diagnostics report (MCMC fits) and
// writes the summary table.
func (r *runner) summarise(ctx context.Context, spec *ingest.Spec, prog *codegen.Program, csvs []string) (*decoded, []summarise.Row, error) {
	chains, err := stanio.ReadCSVFiles(ctx, csvs)
	if err != nil {
		return nil, nil, err
	}
	d, err := decode(prog, chains)
	if err != nil {
		return nil, nil, err
	}
	mapFit := r.cfg.Fit.MAP()
	if !mapFit {
		params := make([]diagnostics.Param, len(d.names))
		for j, name := range d.names {
			params[j] = diagnostics.Param{Name: name, Draws: d.perChainView(j)}
		}
		mode := r.cfg.Diagnostics.PolicyMode
		p1 := diagnostics.P1(chains, params, mode)
		if r.cfg.Fit.Approximate() {
			if p1, err = r.approxChecks(p1, chains, r.approxK); err != nil {
				return nil, nil, err
			}
		}
		r.report.Checks = append(r.report.Checks, p1...)
		r.report.Checks = append(r.report.Checks, diagnostics.Identifiability(spec, params, r.cfg.Diagnostics.IdentifiabilityLimits(), mode)...)
		if err := r.writeReport(); err != nil {
			return nil, nil, err
		}
	}
	groupAverages(spec, d)
	rows := summaryRows(d, mapFit)
	if r.cfg.Fit.Approximate() {
		for i := range rows { // not Markov chains: Rhat and ESS do not apply
			rows[i].Rhat, rows[i].ESSBulk, rows[i].ESSTail, rows[i].MCSEMean = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		}
	}
	if err := r.folder.Write(runfolder.StagePostRun, runfolder.PosteriorSummary, summaryCSV(rows)); err != nil {
		return nil, nil, err
	}
	return d, rows, nil
}

func summaryCSV(rows []summarise.Row) []byte {
	var b strings.Builder
	if err := summarise.WriteCSV(&b, rows); err != nil {
		panic(err) // a strings.Builder never fails to write
	}
	return []byte(b.String())
}

func (r *runner) sessionInfo(spec *ingest.Spec, prog *codegen.Program) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "dsamstan %s\n", r.opts.Version)
	fmt.Fprintf(&b, "schema_version: 1\n")
	fmt.Fprintf(&b, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if r.info.CmdStan != "" {
		fmt.Fprintf(&b, "cmdstan: %s (%s)\n", r.info.CmdStanVersion, r.info.CmdStan)
		fmt.Fprintf(&b, "stanc: %s\n", r.info.StancVersion)
	}
	if prog != nil {
		fmt.Fprintf(&b, "template: %s (%s)\n", prog.Template, codegen.TemplateVersion)
	}
	fmt.Fprintf(&b, "model: %s\nformula: %s\n", r.cfg.Model.Name, r.cfg.Model.Formula)
	fmt.Fprintf(&b, "rows: %d\nterms: %d\nscale: %v\n", spec.N, len(spec.Terms), spec.Scale)
	fc := r.cfg.Fit
	fmt.Fprintf(&b, "fit.method: %s\n", fc.Method)
	switch fc.Method {
	case "optimise":
		fmt.Fprintf(&b, "fit.optimise.n_runs: %d\n", fc.Optimise.NRuns)
	case "laplace":
		fmt.Fprintf(&b, "fit.optimise.n_runs: %d\nfit.laplace.draws: %d\n", fc.Optimise.NRuns, fc.Laplace.Draws)
	case "pathfinder":
		fmt.Fprintf(&b, "fit.pathfinder: num_paths=%d draws=%d seed=%d\n", fc.Pathfinder.NumPaths, fc.Pathfinder.Draws, fc.MCMC.Seed)
	default:
		fmt.Fprintf(&b, "fit.mcmc: chains=%d iter=%d warmup=%d seed=%d adapt_delta=%g max_treedepth=%d\n",
			fc.MCMC.Chains, fc.MCMC.Iter, fc.MCMC.Warmup, fc.MCMC.Seed, fc.MCMC.AdaptDelta, fc.MCMC.MaxTreedepth)
	}
	return []byte(b.String())
}

// finish records the outcome in run.json. It uses a fresh write so that even an
// interrupted run leaves a complete run.json behind.
func (r *runner) finish(err error) {
	now := r.opts.Now()
	r.info.Finished = &now
	r.info.Timings["total"] = now.Sub(r.clock).Seconds()
	switch {
	case err == nil:
		r.info.Status = runfolder.StatusCompleted
	case errors.Is(err, cmdstan.ErrInterrupted) || errors.Is(err, context.Canceled):
		r.info.Status = runfolder.StatusInterrupted
		r.info.Error = err.Error()
	default:
		r.info.Status = runfolder.StatusFailed
		r.info.Error = err.Error()
	}
	if err != nil {
		fmt.Fprintf(&r.log, "error: %v\n", err)
	}
	if werr := r.folder.Write(runfolder.StageMetadata, runfolder.RunLog, r.log.Bytes()); werr != nil {
		fmt.Fprintf(r.opts.Log, "warning: could not write run.log: %v\n", werr)
	}
	r.saveInfo()
}

// saveInfo writes run.json, warning (never failing) when it cannot.
func (r *runner) saveInfo() {
	if werr := r.info.Save(r.folder); werr != nil {
		fmt.Fprintf(r.opts.Log, "warning: could not record the run's status: %v\n", werr)
	}
}
