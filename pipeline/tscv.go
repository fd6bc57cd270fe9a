package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
)

// Time-series cross-validation files and folders, in 50_model_selection/.
const (
	TSCVSummaryFile = "tscv_summary.csv"
	TSCVFoldsFile   = "tscv_folds.csv"
	// TSCVPredictionsFile holds every held-out row: observed, predictive mean and 90% interval.
	TSCVPredictionsFile = "tscv_predictions.csv"
	TSCVDir             = "tscv" // holds fold_01/, fold_02/, … (each fold's program, data and chains)
)

// tscvFold is one fold: its rows (indexes into the spec's rows), training before Cut and
// holdout from Cut on.
type tscvFold struct {
	Cut, TrainStart, HoldEnd time.Time
	Train, Hold              []int
}

// makeFolds cuts the rows into cfg.Folds folds by date, every group at the same date. With m
// distinct dates, fold f (1-based) holds out dates m−(Folds−f+1)·Horizon … m−(Folds−f)·Horizon−1
// (0-based), so the holdouts tile the last Folds·Horizon dates and the last ends at the last
// date; it trains on every earlier date (expanding) or the MinTrain dates just before
// (rolling). The first fold must have at least MinTrain training dates.
func makeFolds(times []time.Time, cfg ingest.TimeSeriesSelectionConfig) ([]tscvFold, error) {
	dates := slices.Clone(times)
	slices.SortFunc(dates, func(a, b time.Time) int { return a.Compare(b) })
	dates = slices.CompactFunc(dates, func(a, b time.Time) bool { return a.Equal(b) })
	m := len(dates)
	first := m - cfg.Folds*cfg.Horizon
	if first < cfg.MinTrain {
		return nil, fmt.Errorf("pipeline: time-series cross-validation needs min_train + folds·horizon = %d + %d·%d = %d dates; the data have %d; lower diagnostics.time_series_selection's folds, horizon or min_train",
			cfg.MinTrain, cfg.Folds, cfg.Horizon, cfg.MinTrain+cfg.Folds*cfg.Horizon, m)
	}
	pos := make(map[int64]int, m)
	for j, d := range dates {
		pos[d.UnixNano()] = j
	}
	folds := make([]tscvFold, cfg.Folds)
	for f := range folds {
		cut := first + f*cfg.Horizon
		lo := 0
		if cfg.Window == "rolling" {
			lo = cut - cfg.MinTrain
		}
		fd := tscvFold{Cut: dates[cut], TrainStart: dates[lo], HoldEnd: dates[cut+cfg.Horizon-1]}
		for i, t := range times {
			switch j := pos[t.UnixNano()]; {
			case j >= lo && j < cut:
				fd.Train = append(fd.Train, i)
			case j >= cut && j < cut+cfg.Horizon:
				fd.Hold = append(fd.Hold, i)
			}
		}
		folds[f] = fd
	}
	return folds, nil
}

// tscvScore is the holdout score of some rows.
type tscvScore struct {
	// ELPD is Σ_i log (1/S) Σ_s N(y_i | μ_is, σ_s) on the model scale.
	ELPD float64
	// RMSE and SMAPE compare y with the predictive mean in the response's units (exp of the
	// model scale for log responses); SMAPE is 100·mean 2|y−ŷ|/(|y|+|ŷ|).
	RMSE, SMAPE float64
	// Coverage90 is the share of rows inside the predictive 5–95% interval (noise included).
	Coverage90 float64
	N          int
}

// rowScore is one held-out row's contribution, and its observed value, predictive mean and
// 5% and 95% predictive quantiles in the KPI's units.
type rowScore struct {
	lpd, sqErr, ape     float64
	covered             bool
	obs, pred, q05, q95 float64
}

// scoreRow scores one held-out row: y on the model scale, mu its linear predictor and sigma
// the noise sd per draw. The predictive distribution is the mixture (1/S) Σ_s N(μ_s, σ_s):
// coverage asks whether y lies between its 5% and 95% quantiles, i.e. whether the mixture
// CDF at y is in [0.05, 0.95].
func scoreRow(y float64, mu, sigma []float64, logResponse bool) rowScore {
	S := float64(len(mu))
	lp := make([]float64, len(mu))
	cdf, pred := 0.0, 0.0
	for s := range mu {
		z := (y - mu[s]) / sigma[s]
		lp[s] = -0.5*z*z - math.Log(sigma[s]) - 0.5*math.Log(2*math.Pi)
		cdf += 0.5 * math.Erfc(-z/math.Sqrt2)
		if logResponse {
			pred += math.Exp(mu[s] + sigma[s]*sigma[s]/2)
		} else {
			pred += mu[s]
		}
	}
	cdf /= S
	pred /= S
	mx := slices.Max(lp)
	sum := 0.0
	for _, v := range lp {
		sum += math.Exp(v - mx)
	}
	obs := y
	if logResponse {
		obs = math.Exp(y)
	}
	r := rowScore{lpd: mx + math.Log(sum/S), sqErr: (obs - pred) * (obs - pred), covered: cdf >= 0.05 && cdf <= 0.95,
		obs: obs, pred: pred, q05: mixtureQuantile(0.05, mu, sigma), q95: mixtureQuantile(0.95, mu, sigma)}
	if logResponse {
		r.q05, r.q95 = math.Exp(r.q05), math.Exp(r.q95)
	}
	if d := math.Abs(obs) + math.Abs(pred); d > 0 {
		r.ape = 2 * math.Abs(obs-pred) / d
	}
	return r
}

// mixtureQuantile returns the p-quantile of (1/S) Σ_s N(μ_s, σ_s) by bisection, to a
// millionth of the spread of the draws.
func mixtureQuantile(p float64, mu, sigma []float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for s := range mu {
		lo = min(lo, mu[s]-10*sigma[s])
		hi = max(hi, mu[s]+10*sigma[s])
	}
	tol := (hi - lo) * 1e-6
	for hi-lo > tol {
		mid := (lo + hi) / 2
		cdf := 0.0
		for s := range mu {
			cdf += 0.5 * math.Erfc(-(mid-mu[s])/(sigma[s]*math.Sqrt2))
		}
		if cdf/float64(len(mu)) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// aggregate sums row scores into a tscvScore.
func aggregate(rows []rowScore) tscvScore {
	var sc tscvScore
	sc.N = len(rows)
	if sc.N == 0 {
		return sc
	}
	var se, ape, cov float64
	for _, r := range rows {
		sc.ELPD += r.lpd
		se += r.sqErr
		ape += r.ape
		if r.covered {
			cov++
		}
	}
	n := float64(sc.N)
	sc.RMSE, sc.SMAPE, sc.Coverage90 = math.Sqrt(se/n), 100*ape/n, cov/n
	return sc
}

// tscvResult is one fold's outcome.
type tscvResult struct {
	rows []rowScore // one per fold.Hold row
}

// groupLabels names each row's group for per-group scores: the levels of every grouping
// factor joined by ":", or "all" for a single market.
func groupLabels(spec *ingest.Spec) []string {
	out := make([]string, spec.N)
	for i := range out {
		if len(spec.Groups) == 0 {
			out[i] = "all"
			continue
		}
		parts := make([]string, len(spec.Groups))
		for g, gr := range spec.Groups {
			parts[g] = gr.Levels[gr.Of[i]]
		}
		out[i] = strings.Join(parts, ":")
	}
	return out
}

// tscvFolds cuts the folds when diagnostics.time_series_selection is enabled (nil
// otherwise), so that too short data fail before the main fit.
func (r *runner) tscvFolds(spec *ingest.Spec) ([]tscvFold, error) {
	ts := r.cfg.Diagnostics.TimeSeriesSelection
	if ts == nil || !ts.Enabled || r.opts.noTSCV {
		return nil, nil
	}
	times, err := r.cfg.RowTimes(spec)
	if err != nil {
		return nil, err
	}
	return makeFolds(times, *ts)
}

// timeSeriesCV fits every fold with the run's program and sampler settings (in
// 50_model_selection/tscv/fold_NN, here or through opts.Executor), scores each fold's holdout
// with the training draws applied to the full spec (so adstock carries over from the
// training weeks), and writes tscv_summary.csv, tscv_folds.csv and tscv_predictions.csv.
func (r *runner) timeSeriesCV(ctx context.Context, runner *cmdstan.Runner, spec *ingest.Spec, folds []tscvFold, mainKey string) error {
	base, err := r.folder.Mkdir(runfolder.StageModelSelection)
	if err != nil {
		return err
	}
	dir := filepath.Join(base, TSCVDir)
	preps := make([]foldRun, len(folds))
	for f, fd := range folds {
		if preps[f], err = prepareFold(ctx, spec, fd, filepath.Join(dir, fmt.Sprintf("fold_%02d", f+1))); err != nil {
			return fmt.Errorf("pipeline: tscv fold %d: %w", f+1, err)
		}
	}
	var results []tscvResult
	if r.opts.Executor != nil {
		results, err = r.foldsElsewhere(ctx, spec, folds, preps, dir)
	} else {
		results, err = r.foldsHere(ctx, runner, spec, folds, preps, dir, mainKey)
	}
	if err != nil {
		return err
	}
	summary, perGroup := tscvTables(spec, folds, results)
	if err := r.folder.Write(runfolder.StageModelSelection, TSCVSummaryFile, summary); err != nil {
		return err
	}
	if err := r.folder.Write(runfolder.StageModelSelection, TSCVFoldsFile, perGroup); err != nil {
		return err
	}
	return r.folder.Write(runfolder.StageModelSelection, TSCVPredictionsFile, tscvPredictions(spec, folds, results))
}

// foldRun is one fold ready to fit: its training rows' spec, its program and its folder.
type foldRun struct {
	prog *codegen.Program
	sub  *ingest.Spec
	dir  string
}

// prepareFold renders fold fd's program on its training rows and writes it into dir.
func prepareFold(ctx context.Context, spec *ingest.Spec, fd tscvFold, dir string) (foldRun, error) {
	sub := spec.Subset(fd.Train)
	prog, err := codegen.Render(ctx, nil, sub)
	if err != nil {
		return foldRun{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return foldRun{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, runfolder.ModelStan), prog.Code, 0o644); err != nil {
		return foldRun{}, err
	}
	return foldRun{prog: prog, sub: sub, dir: dir}, nil
}

// compileFold compiles a fold's program through the cache; the folds' programs normally
// share the run's entry.
func compileFold(ctx context.Context, runner *cmdstan.Runner, p foldRun) (*cmdstan.Compiled, error) {
	return runner.Compile(ctx, p.prog.Code, cmdstan.CompileOptions{ToolDigest: codegen.TemplateVersion})
}

// sampleFold writes a fold's data and samples it with the run's settings into its folder.
func (r *runner) sampleFold(ctx context.Context, runner *cmdstan.Runner, p foldRun, exe string) ([]string, error) {
	dataPath := filepath.Join(p.dir, runfolder.DataJSON)
	if err := stanio.WriteDataFile(dataPath, r.fitData(p.prog)); err != nil {
		return nil, err
	}
	return r.sample(ctx, runner, p.prog, exe, dataPath, p.dir, io.Discard)
}

// logFold logs a fold's holdout score.
func (r *runner) logFold(f int, fd tscvFold, rows []rowScore) {
	sc := aggregate(rows)
	r.logf("tscv: fold %02d (holdout from %s, %d rows): elpd %.1f, rmse %.4g, coverage90 %.2f", f+1, fd.Cut.Format(time.DateOnly), sc.N, sc.ELPD, sc.RMSE, sc.Coverage90)
}

// foldsHere compiles the folds one by one, then fits and scores as many at a time as the
// cores allow for the run's chains.
func (r *runner) foldsHere(ctx context.Context, runner *cmdstan.Runner, spec *ingest.Spec, folds []tscvFold, preps []foldRun, dir, mainKey string) ([]tscvResult, error) {
	exes := make([]string, len(folds))
	shared := 0
	for f := range folds {
		c, err := compileFold(ctx, runner, preps[f])
		if err != nil {
			return nil, fmt.Errorf("pipeline: tscv fold %d: %w", f+1, err)
		}
		if c.Key == mainKey {
			shared++
		}
		exes[f] = c.Exe
	}
	chains := r.cfg.Fit.MCMC.Chains
	if r.opts.Chains > 0 {
		chains = r.opts.Chains
	}
	cores := r.cfg.Fit.MCMC.Cores
	if r.opts.Cores > 0 {
		cores = r.opts.Cores
	}
	if cores <= 0 {
		cores = runtime.NumCPU()
	}
	jobs := max(1, cores/max(1, chains)) // folds at a time, each running its chains in parallel
	r.logf("tscv: %d folds (%s window, horizon %d), %d at a time, into %s; %d of %d share the run's compiled program",
		len(folds), r.cfg.Diagnostics.TimeSeriesSelection.Window, r.cfg.Diagnostics.TimeSeriesSelection.Horizon, jobs, dir, shared, len(folds))
	results := make([]tscvResult, len(folds))
	var logMu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for f := range folds {
		g.Go(func() error {
			p, fd := preps[f], folds[f]
			csvs, err := r.sampleFold(gctx, runner, p, exes[f])
			if err != nil {
				return fmt.Errorf("pipeline: tscv fold %d: %w", f+1, err)
			}
			rows, err := scoreFold(gctx, spec, p.sub, p.prog, csvs, fd.Hold)
			if err != nil {
				return fmt.Errorf("pipeline: tscv fold %d: %w", f+1, err)
			}
			results[f].rows = rows
			logMu.Lock()
			r.logFold(f, fd, rows)
			logMu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return results, nil
}

// foldsElsewhere has opts.Executor fit the folds, each `dsamstan run
// 00_run_metadata/config.resolved.yaml --run-dir tscv/fold_NN --tscv-fold N` (the run's own
// resolved config, which parses to the same config), and scores the chains each completed
// fold's run.json lists. A fold that did not complete fails the step, naming every such fold
// and why.
func (r *runner) foldsElsewhere(ctx context.Context, spec *ingest.Spec, folds []tscvFold, preps []foldRun, dir string) ([]tscvResult, error) {
	cfgPath := r.folder.Path(runfolder.StageMetadata, runfolder.ConfigResolved)
	if _, err := os.Stat(cfgPath); err != nil {
		return nil, fmt.Errorf("pipeline: the CV folds are fitted from the run's resolved config: %w", err)
	}
	tasks := make([]Task, len(folds))
	for f, fd := range folds {
		tasks[f] = Task{Name: "holdout from " + fd.Cut.Format(time.DateOnly), Config: cfgPath, RunDir: preps[f].dir,
			Flags: []string{TSCVFoldFlag, strconv.Itoa(f + 1)}}
	}
	ts := r.cfg.Diagnostics.TimeSeriesSelection
	r.logf("tscv: %d folds (%s window, horizon %d) through the executor, into %s", len(folds), ts.Window, ts.Horizon, dir)
	errs, err := r.opts.Executor.Run(ctx, Fanout{Step: "tscv", Unit: "fold", Dir: dir, Tasks: tasks})
	if err != nil {
		return nil, err
	}
	results := make([]tscvResult, len(folds))
	var failed []string
	for f, fd := range folds {
		if f < len(errs) && errs[f] != nil {
			failed = append(failed, fmt.Sprintf("fold %d: %v", f+1, errs[f]))
			continue
		}
		csvs, err := foldChains(preps[f].dir)
		if err == nil {
			results[f].rows, err = scoreFold(ctx, spec, preps[f].sub, preps[f].prog, csvs, fd.Hold)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("fold %d: %v", f+1, err))
			continue
		}
		r.logFold(f, fd, results[f].rows)
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("pipeline: time-series CV: %d of %d folds did not complete (their folders are in %s):\n  %s",
			len(failed), len(folds), dir, strings.Join(failed, "\n  "))
	}
	return results, nil
}

// foldChains lists the chain CSVs a fold task recorded in its run.json, inside its folder
// (the task may have seen the shared folder under another path).
func foldChains(dir string) ([]string, error) {
	info, err := runfolder.ReadRunInfo(runfolder.Detect(dir))
	if err != nil {
		return nil, err
	}
	if info.Status != runfolder.StatusCompleted || len(info.Chains) == 0 {
		return nil, fmt.Errorf("pipeline: %s: the fold's run.json says %s with %d chains", dir, info.Status, len(info.Chains))
	}
	out := make([]string, len(info.Chains))
	for i, c := range info.Chains {
		out[i] = filepath.Join(dir, filepath.Base(c))
	}
	return out, nil
}

// runFoldTask fits fold opts.TSCVFold of the config's time-series CV into opts.RunDir, as
// one task of a CV fitted by an Executor (`dsamstan run CONFIG --run-dir DIR --tscv-fold N`):
// the fold's program, data and chains, as a run that cross-validates here writes them, and a
// run.json (status, error, chains) and run.log beside them.
func runFoldTask(ctx context.Context, cfg *ingest.Config, opts Options) (*Result, error) {
	if opts.RunDir == "" {
		return nil, fmt.Errorf("pipeline: %s needs --run-dir, the fold's folder", TSCVFoldFlag)
	}
	if !cfg.CrossValidates() {
		return nil, fmt.Errorf("pipeline: %s %d: %s does not enable diagnostics.time_series_selection", TSCVFoldFlag, opts.TSCVFold, cfg.Path)
	}
	folder, err := resolveFolder(cfg, opts)
	if err != nil {
		return nil, err
	}
	folder.Flat = true
	r := newRunner(cfg, opts, folder)
	r.saveInfo()
	csvs, err := r.fitFold(ctx)
	r.info.Chains = csvs
	err = r.interrupted(ctx, err)
	r.finish(err)
	return &Result{RunDir: folder.Dir, Info: r.info}, err
}

// fitFold is runFoldTask's work: the data, the fold's rows, its program and its chains.
func (r *runner) fitFold(ctx context.Context) ([]string, error) {
	spec, err := r.ingest(ctx)
	if err != nil {
		return nil, err
	}
	folds, err := r.tscvFolds(spec)
	if err != nil {
		return nil, err
	}
	n := r.opts.TSCVFold
	if n > len(folds) {
		return nil, fmt.Errorf("pipeline: %s %d: the config cuts %d folds", TSCVFoldFlag, n, len(folds))
	}
	var p foldRun
	if err := r.step("render", func() (err error) {
		p, err = prepareFold(ctx, spec, folds[n-1], r.folder.Dir)
		return err
	}); err != nil {
		return nil, err
	}
	runner, err := r.openCmdStan(ctx)
	if err != nil {
		return nil, err
	}
	var c *cmdstan.Compiled
	if err := r.step("compile", func() (err error) {
		c, err = compileFold(ctx, runner, p)
		return err
	}); err != nil {
		return nil, err
	}
	hit := c.CacheHit
	r.info.CompileCacheHit, r.info.CompileKey = &hit, c.Key
	var csvs []string
	err = r.step("fit", func() (err error) {
		csvs, err = r.sampleFold(ctx, runner, p, c.Exe)
		return err
	})
	return csvs, err
}

// tscvPredictions renders tscv_predictions.csv: every held-out row of every fold, in the
// KPI's units, for plotting the held-out fit.
func tscvPredictions(spec *ingest.Spec, folds []tscvFold, results []tscvResult) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"fold", "date", "group", "line", "observed", "predicted", "q05", "q95"})
	labels := groupLabels(spec)
	for f, fd := range folds {
		for j, i := range fd.Hold {
			r := results[f].rows[j]
			w.Write([]string{strconv.Itoa(f + 1), spec.Dates[i], labels[i], strconv.Itoa(spec.Lines[i]), ff(r.obs), ff(r.pred), ff(r.q05), ff(r.q95)})
		}
	}
	w.Flush()
	return b.Bytes()
}

// scoreFold reads a fold's chains and scores its holdout rows: the training fit's draws
// (original units) applied to the full spec's rows.
func scoreFold(ctx context.Context, spec, sub *ingest.Spec, prog *codegen.Program, csvs []string, hold []int) ([]rowScore, error) {
	chains, err := stanio.ReadCSVFiles(ctx, csvs)
	if err != nil {
		return nil, err
	}
	d, err := decode(prog, chains)
	if err != nil {
		return nil, err
	}
	pd, err := posteriorDraws(sub, d)
	if err != nil {
		return nil, err
	}
	mu, err := pd.Mu(spec)
	if err != nil {
		return nil, err
	}
	out := make([]rowScore, len(hold))
	for j, i := range hold {
		out[j] = scoreRow(spec.Y[i], mu(i), pd.NoiseSD, spec.LogResponse)
	}
	return out, nil
}

// tscvTables renders tscv_summary.csv (one row per fold, then "all") and tscv_folds.csv (per
// fold and group, then per group over all folds).
func tscvTables(spec *ingest.Spec, folds []tscvFold, results []tscvResult) (summary, perGroup []byte) {
	head := []string{"elpd_holdout", "rmse", "smape", "coverage90", "n"}
	cells := func(sc tscvScore) []string {
		return []string{ff(sc.ELPD), ff(sc.RMSE), ff(sc.SMAPE), ff(sc.Coverage90), strconv.Itoa(sc.N)}
	}
	var sb, gb bytes.Buffer
	sw, gw := csv.NewWriter(&sb), csv.NewWriter(&gb)
	sw.Write(append([]string{"fold", "train_start", "cutoff", "holdout_end", "n_train"}, head...))
	gw.Write(append([]string{"fold", "group"}, head...))
	labels := groupLabels(spec)
	var groups []string
	for _, l := range labels {
		if !slices.Contains(groups, l) {
			groups = append(groups, l)
		}
	}
	var all []rowScore
	byGroupAll := map[string][]rowScore{}
	for f, fd := range folds {
		rows := results[f].rows
		all = append(all, rows...)
		day := func(t time.Time) string { return t.Format(time.DateOnly) }
		sw.Write(append([]string{strconv.Itoa(f + 1), day(fd.TrainStart), day(fd.Cut), day(fd.HoldEnd), strconv.Itoa(len(fd.Train))}, cells(aggregate(rows))...))
		byGroup := map[string][]rowScore{}
		for j, i := range fd.Hold {
			byGroup[labels[i]] = append(byGroup[labels[i]], rows[j])
			byGroupAll[labels[i]] = append(byGroupAll[labels[i]], rows[j])
		}
		for _, g := range groups {
			gw.Write(append([]string{strconv.Itoa(f + 1), g}, cells(aggregate(byGroup[g]))...))
		}
	}
	sw.Write(append([]string{"all", "", "", "", ""}, cells(aggregate(all))...))
	for _, g := range groups {
		gw.Write(append([]string{"all", g}, cells(aggregate(byGroupAll[g]))...))
	}
	sw.Flush()
	gw.Flush()
	return sb.Bytes(), gb.Bytes()
}

// ff formats a score with enough digits to compare runs.
func ff(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
