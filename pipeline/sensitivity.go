package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/summarise"
)

// ScenariosDir is the folder, inside the run folder, that holds one complete run folder per
// transform sensitivity scenario (01, 02, …, in the order of
// transform_sensitivity_summary.csv).
const ScenariosDir = "scenarios"

// scenarioFit is one fitted sensitivity scenario.
type scenarioFit struct {
	scenario ingest.SensitivityScenario
	dir      string
	loo      *loo.Result
	coef     map[string]float64 // posterior mean of each transformed term's coefficient
	contrib  map[string]float64 // posterior mean of each transformed term's total contribution
	err      error
}

// runSensitivity fits every scenario of transforms.sensitivity (each a fixed-transform run of
// its own, in ScenariosDir, sharing one compiled program), ranks them by PSIS-LOO with
// stacking weights, and fits the best scenario as the run itself, so that every file of the
// run folder is that scenario's; transform_sensitivity_summary.csv and run.json say which it
// was and how the others compared.
func runSensitivity(ctx context.Context, cfg *ingest.Config, scenarios []ingest.SensitivityScenario, opts Options) (*Result, error) {
	if cfg.Fit.MAP() {
		return nil, fmt.Errorf("pipeline: transforms.sensitivity ranks scenarios by PSIS-LOO, which needs posterior draws: fit.method mcmc, laplace or pathfinder (it is optimise)")
	}
	folder, err := resolveFolder(cfg, opts)
	if err != nil {
		return nil, err
	}
	fits := make([]scenarioFit, len(scenarios))
	for i, sc := range scenarios {
		fits[i] = scenarioFit{scenario: sc, dir: filepath.Join(folder.Dir, ScenariosDir, fmt.Sprintf("%02d", i+1))}
	}
	if opts.Executor != nil {
		err = fitScenariosElsewhere(ctx, cfg, fits, filepath.Join(folder.Dir, ScenariosDir), opts)
	} else {
		err = fitScenariosHere(ctx, cfg, fits, folder.Dir, opts)
	}
	if err != nil {
		return nil, err
	}
	best, weights, err := rankScenarios(fits)
	if err != nil {
		return nil, err
	}
	chosen, err := cfg.WithScenario(fits[best].scenario)
	if err != nil {
		return nil, err
	}
	spend, err := rawTotals(chosen)
	if err != nil {
		return nil, err
	}
	summary, err := sensitivitySummary(fits, weights, best, spend)
	if err != nil {
		return nil, err
	}
	main := opts
	main.RunDir = folder.Dir
	main.sensitivity = &sensitivityOutcome{
		summary: summary,
		note: fmt.Sprintf("transform sensitivity: %d scenarios fitted (%s/); this run is scenario %02d (%s), the highest elpd_loo, stacking weight %s; see %s",
			len(fits), ScenariosDir, best+1, fits[best].scenario.Name, num.Plain(math.Round(weights[best]*1000)/1000), runfolder.TransformSensitivityFile),
	}
	fmt.Fprintf(opts.Log, "sensitivity: best scenario %02d (%s); fitting it as the run\n", best+1, fits[best].scenario.Name)
	return runConfig(ctx, chosen, main)
}

// sensitivityOutcome is what a sensitivity run hands to the run of its best scenario: the
// summary table and the line run.json and the report show.
type sensitivityOutcome struct {
	summary []byte
	note    string
}

// fitScenariosHere fits the scenarios in this process, as many at a time as the cores allow
// for the config's chains.
func fitScenariosHere(ctx context.Context, cfg *ingest.Config, fits []scenarioFit, dir string, opts Options) error {
	jobs := max(1, runtime.NumCPU()/max(1, cfg.Fit.MCMC.Chains))
	fmt.Fprintf(opts.Log, "sensitivity: fitting %d transform scenarios, %d at a time, into %s\n",
		len(fits), jobs, filepath.Join(dir, ScenariosDir))
	var logMu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i := range fits {
		g.Go(func() error {
			fit := &fits[i]
			fit.err = fitScenario(gctx, cfg, fit, opts)
			logMu.Lock()
			defer logMu.Unlock()
			logScenario(opts.Log, i, fit)
			// A failed scenario is reported in the summary; only an interrupt stops the others.
			if errors.Is(fit.err, ErrInterrupted) || errors.Is(fit.err, context.Canceled) {
				return fit.err
			}
			return nil
		})
	}
	return g.Wait()
}

func logScenario(w io.Writer, i int, fit *scenarioFit) {
	if fit.err != nil {
		fmt.Fprintf(w, "sensitivity: scenario %02d (%s) failed: %v\n", i+1, fit.scenario.Name, fit.err)
	} else {
		fmt.Fprintf(w, "sensitivity: scenario %02d (%s): elpd_loo %.1f (se %.1f)\n", i+1, fit.scenario.Name, fit.loo.ELPD, fit.loo.ELPDSE)
	}
}

// fitScenariosElsewhere writes each scenario's config as YAML (NN.yaml beside its run folder
// NN), has opts.Executor fit them (`dsamstan run NN.yaml --run-dir NN --scenario-task`) and
// reads back each that completed.
func fitScenariosElsewhere(ctx context.Context, base *ingest.Config, fits []scenarioFit, dir string, opts Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	tasks := make([]Task, len(fits))
	cfgs := make([]*ingest.Config, len(fits))
	for i := range fits {
		cfg, err := base.WithScenario(fits[i].scenario)
		if err != nil {
			return err
		}
		b, err := cfg.ResolvedYAML()
		if err != nil {
			return err
		}
		path := filepath.Join(dir, fmt.Sprintf("%02d", i+1)+runfolder.ScenarioConfigExt)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		cfgs[i] = cfg
		tasks[i] = Task{Name: fits[i].scenario.Name, Config: path, RunDir: fits[i].dir, Flags: []string{ScenarioTaskFlag}}
	}
	fmt.Fprintf(opts.Log, "sensitivity: fitting %d transform scenarios elsewhere, into %s\n", len(fits), dir)
	errs, err := opts.Executor.Run(ctx, Fanout{Step: "sensitivity", Unit: "scenario", Dir: dir, Tasks: tasks})
	if err != nil {
		return err
	}
	for i := range fits {
		fit := &fits[i]
		if i < len(errs) && errs[i] != nil {
			fit.err = errs[i]
		} else {
			fit.err = readScenario(cfgs[i], fit)
		}
		logScenario(opts.Log, i, fit)
	}
	return nil
}

// fitScenario fits one scenario into fit.dir and reads it back (readScenario).
func fitScenario(ctx context.Context, base *ingest.Config, fit *scenarioFit, opts Options) error {
	cfg, err := base.WithScenario(fit.scenario)
	if err != nil {
		return err
	}
	sub := opts
	sub.RunDir, sub.Log, sub.Progress = fit.dir, io.Discard, io.Discard
	sub.noTSCV = true
	if _, err := runConfig(ctx, cfg, sub); err != nil {
		return err
	}
	return readScenario(cfg, fit)
}

// readScenario reads a fitted scenario's run folder fit.dir: its LOO, each transformed term's
// coefficient (posterior mean, from posterior_summary.csv) and total contribution.
func readScenario(cfg *ingest.Config, fit *scenarioFit) error {
	f := runfolder.Detect(fit.dir)
	var err error
	fit.loo, err = readScenarioLOO(f)
	if err != nil {
		return err
	}
	p, err := findRunFile(f, runfolder.StagePostRun, runfolder.PosteriorSummary)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	summary, err := summarise.ReadCSV(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("pipeline: %s: %w", p, err)
	}
	fit.coef, fit.contrib = map[string]float64{}, map[string]float64{}
	for _, row := range summary {
		if _, ok := cfg.Transforms.Columns[row.Parameter]; ok {
			fit.coef[row.Parameter] = row.Mean
		}
	}
	if p, ok := f.Find(runfolder.StagePostRun, runfolder.DecompositionTotals); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rows, err := posterior.ReadTotals(bytes.NewReader(b))
		if err != nil {
			return err
		}
		for _, r := range rows {
			if _, ok := cfg.Transforms.Columns[r.Term]; ok && r.Scope == "all" {
				fit.contrib[r.Term] = r.Mean
			}
		}
	}
	return nil
}

// readScenarioLOO reads a scenario's pointwise LOO and sums it into elpd_loo and its
// standard error.
func readScenarioLOO(f runfolder.Folder) (*loo.Result, error) {
	p, ok := f.Find(runfolder.StageModelSelection, runfolder.LOOPointwise)
	if !ok {
		return nil, fmt.Errorf("pipeline: the scenario wrote no %s; sensitivity scenarios are ranked by PSIS-LOO", runfolder.LOOPointwise)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	r, _, err := loo.ReadPointwiseCSV(bytes.NewReader(b), p)
	if err != nil {
		return nil, err
	}
	var sum, sq float64
	for _, pt := range r.Pointwise {
		sum += pt.ELPD
	}
	n := float64(len(r.Pointwise))
	for _, pt := range r.Pointwise {
		d := pt.ELPD - sum/n
		sq += d * d
	}
	r.ELPD, r.N = sum, len(r.Pointwise)
	if n > 1 {
		r.ELPDSE = math.Sqrt(n * sq / (n - 1))
	}
	return r, nil
}

// rankScenarios returns the scenario with the highest elpd_loo and the stacking weights of
// all (0 for a scenario that failed).
func rankScenarios(fits []scenarioFit) (best int, weights []float64, err error) {
	var ok []*loo.Result
	var idx []int
	for i, f := range fits {
		if f.err == nil {
			ok = append(ok, f.loo)
			idx = append(idx, i)
		}
	}
	if len(ok) == 0 {
		return 0, nil, fmt.Errorf("pipeline: every transform sensitivity scenario failed (the first: %v)", fits[0].err)
	}
	w, err := loo.StackingWeights(ok)
	if err != nil {
		return 0, nil, err
	}
	weights = make([]float64, len(fits))
	best = idx[0]
	for j, i := range idx {
		weights[i] = w[j]
		if fits[i].loo.ELPD > fits[best].loo.ELPD {
			best = i
		}
	}
	return best, weights, nil
}

// sensitivitySummary writes transform_sensitivity_summary.csv: one row per scenario with its
// fixed values, elpd_loo and se, stacking weight, whether it is the run's, each transformed
// term's coefficient (posterior mean), total contribution (posterior mean, model scale) and
// ROI: that contribution over the term's total raw value (KPI per unit of spend for an
// identity response).
func sensitivitySummary(fits []scenarioFit, weights []float64, best int, spend map[string]float64) ([]byte, error) {
	var keys, terms []string
	for _, f := range fits {
		for k := range f.scenario.Values {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		for t := range f.coef {
			if !slices.Contains(terms, t) {
				terms = append(terms, t)
			}
		}
	}
	slices.Sort(keys)
	slices.Sort(terms)
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	header := []string{"scenario", "name"}
	header = append(header, keys...)
	header = append(header, "elpd_loo", "se_elpd_loo", "stacking_weight", "chosen", "status")
	for _, t := range terms {
		header = append(header, "coef_"+t, "contribution_"+t, "roi_"+t)
	}
	cw.Write(header)
	for i, f := range fits {
		row := []string{fmt.Sprintf("%02d", i+1), f.scenario.Name}
		for _, k := range keys {
			v, ok := f.scenario.Values[k]
			row = append(row, cell(v, ok))
		}
		status := "ok"
		elpd, se := "", ""
		if f.err != nil {
			status = "failed: " + f.err.Error()
		} else {
			elpd, se = num.Format(f.loo.ELPD), num.Format(f.loo.ELPDSE)
		}
		row = append(row, elpd, se, num.Format(weights[i]), strconv.FormatBool(i == best), status)
		for _, t := range terms {
			c, okc := f.coef[t]
			s, oks := f.contrib[t]
			sp := spend[t]
			row = append(row, cell(c, okc), cell(s, oks), cell(s/sp, oks && sp != 0))
		}
		cw.Write(row)
	}
	cw.Flush()
	return buf.Bytes(), cw.Error()
}

func cell(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return num.Format(v)
}

// rawTotals sums each transformed term's raw (untransformed) column over the model's rows.
func rawTotals(cfg *ingest.Config) (map[string]float64, error) {
	t, err := ingest.LoadCSV(cfg.Data.Path)
	if err != nil {
		return nil, err
	}
	spec, err := ingest.BuildSpec(cfg, t)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, tr := range spec.Transforms {
		s := 0.0
		for _, v := range tr.Raw {
			s += v
		}
		out[tr.Column] = s
	}
	return out, nil
}
