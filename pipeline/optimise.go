package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
)

// PopulationDraws arranges population coefficient draws as the optimiser takes them:
// draws[s][k] for spec's terms, from columns cols[k] (chains concatenated).
func PopulationDraws(beta [][]float64) [][]float64 {
	if len(beta) == 0 {
		return nil
	}
	out := make([][]float64, len(beta[0]))
	for s := range out {
		out[s] = make([]float64, len(beta))
		for k := range beta {
			out[s][k] = beta[k][s]
		}
	}
	return out
}

// SpendColumns reads every numeric column of the data table, for the channels' spend_col
// (which need not be model terms). Columns that are not numeric are left out.
func SpendColumns(t *ingest.Table) map[string][]float64 {
	cols := map[string][]float64{}
	for _, name := range t.Header {
		if v, _, err := t.Numeric(name); err == nil {
			cols[name] = v
		}
	}
	return cols
}

// writeOptimisation runs the config's allocation scenario on the population-level
// coefficient draws (as DSAMbayes's tutorial prescribes for panels), with the model's own
// curves for transformed terms (per draw where the saturation is estimated), into
// 60_optimisation/.
func (r *runner) writeOptimisation(ctx context.Context, spec *ingest.Spec, t *ingest.Table, d *decoded) error {
	sc := r.cfg.Allocation
	beta := make([][]float64, len(spec.Terms))
	terms := make([]string, len(spec.Terms))
	for k, term := range spec.Terms {
		j := d.index(term.Name)
		if j < 0 {
			return fmt.Errorf("pipeline: optimisation: no draws for %s", term.Name)
		}
		beta[k], terms[k] = d.cols[j], term.Name
	}
	perDraw, err := ModelResponseDraws(spec, d.chains*d.perChain, func(name string) ([]float64, error) {
		j := d.index(name)
		if j < 0 {
			return nil, fmt.Errorf("pipeline: optimisation: no draws for %s", name)
		}
		return d.cols[j], nil
	})
	if err != nil {
		return err
	}
	res, err := optimise.Optimise(ctx, sc, optimise.Inputs{
		Terms: terms, Draws: PopulationDraws(beta), SpendColumns: SpendColumns(t), KPIType: r.cfg.Model.KPIType,
		ModelResponses: ModelResponses(spec), ModelResponseDraws: perDraw,
	}, optimise.Options{Seed: uint64(r.cfg.Fit.MCMC.Seed)})
	if err != nil {
		return err
	}
	dir, err := r.folder.Mkdir(runfolder.StageOptimisation)
	if err != nil {
		return err
	}
	return res.WriteFiles(dir)
}

// ModelResponses are the steady-state response curves of the terms spec transforms with
// fixed curves, for the optimiser: constant spend s gives an adstocked value of s (the
// adstock weights sum to 1), so a term with fixed Hill saturation responds as
// hill {ec50: half_saturation, slope: shape} in its column's units, and one with adstock
// alone, its decay fixed or estimated, as the identity (β·s). A term whose saturation the
// model estimates has a curve per draw instead (ModelResponseDraws).
func ModelResponses(spec *ingest.Spec) map[string]optimise.Response {
	if len(spec.Transforms) == 0 {
		return nil
	}
	out := map[string]optimise.Response{}
	for _, t := range spec.Transforms {
		if estimatedHill(t) {
			continue
		}
		r := optimise.Response{Type: optimise.ResponseIdentity}
		if t.Hill {
			r = optimise.Response{Type: optimise.ResponseHill, EC50: t.HalfSaturation, Slope: t.Shape}
		}
		out[t.Column] = r
	}
	return out
}

// estimatedHill reports whether the model estimates a parameter of t's Hill saturation.
func estimatedHill(t ingest.Transform) bool {
	return t.Hill && (t.HalfSaturationPrior != nil || t.ShapePrior != nil)
}

// ModelResponseDraws are the steady-state curves of the terms whose saturation the model
// estimates, one per draw: draw s's hill {ec50: half_saturation_s, slope: shape_s}, the
// estimated parameters read by name with param (n draws each), the fixed ones from spec.
// A nil param takes every parameter at its value in spec (the prior centre of an estimated
// one) for n draws. Nil when no saturation is estimated.
func ModelResponseDraws(spec *ingest.Spec, n int, param func(name string) ([]float64, error)) (map[string][]optimise.Response, error) {
	var out map[string][]optimise.Response
	for _, t := range spec.Transforms {
		if !estimatedHill(t) {
			continue
		}
		values := func(kind string, prior *ingest.TransformPrior, fixed float64) ([]float64, error) {
			if prior != nil && param != nil {
				v, err := param(ingest.TransformParamName(kind, t.Column))
				if err == nil && len(v) != n {
					err = fmt.Errorf("pipeline: %s has %d draws; want %d", ingest.TransformParamName(kind, t.Column), len(v), n)
				}
				return v, err
			}
			v := make([]float64, n)
			for s := range v {
				v[s] = fixed
			}
			return v, nil
		}
		half, err := values(ingest.HalfSaturationParam, t.HalfSaturationPrior, t.HalfSaturation)
		if err != nil {
			return nil, err
		}
		shape, err := values(ingest.ShapeParam, t.ShapePrior, t.Shape)
		if err != nil {
			return nil, err
		}
		rs := make([]optimise.Response, n)
		for s := range rs {
			rs[s] = optimise.Response{Type: optimise.ResponseHill, EC50: half[s], Slope: shape[s]}
		}
		if out == nil {
			out = map[string][]optimise.Response{}
		}
		out[t.Column] = rs
	}
	return out, nil
}

// CheckAllocation checks the config's allocation section against the model and data before
// anything is fitted, by solving the scenario once on the prior means: an unknown term or
// spend column then fails in seconds, not after sampling.
func CheckAllocation(ctx context.Context, cfg *ingest.Config, spec *ingest.Spec, t *ingest.Table) error {
	sc := cfg.Allocation
	if sc == nil {
		return nil
	}
	terms := make([]string, len(spec.Terms))
	means := make([]float64, len(spec.Terms))
	for k, term := range spec.Terms {
		terms[k], means[k] = term.Name, spec.Priors[k].Mean
	}
	perDraw, err := ModelResponseDraws(spec, 1, nil) // at the prior centres
	if err != nil {
		return err
	}
	_, err = optimise.Optimise(ctx, sc, optimise.Inputs{
		Terms: terms, Draws: [][]float64{means}, SpendColumns: SpendColumns(t), KPIType: cfg.Model.KPIType,
		ModelResponses: ModelResponses(spec), ModelResponseDraws: perDraw,
	}, optimise.Options{Starts: -1, FrontierSteps: 2, CurvePoints: 2})
	return err
}

// ErrNoScenario reports an optimisation of a run whose config has no allocation section,
// without a scenario file.
var ErrNoScenario = errors.New("pipeline: the run's config has no allocation section: pass --scenario FILE")

// ErrNotPanel reports a per-group optimisation of a run without group terms.
var ErrNotPanel = errors.New("pipeline: --per-group needs a panel model; this run has no group terms")

// OptimiseOptions are the inputs of OptimiseRun.
type OptimiseOptions struct {
	// RunDir is a completed MCMC run folder.
	RunDir string
	// Scenario is a scenario file; "" takes the run config's allocation section.
	Scenario string
	// Out is the output folder (default the run's 60_optimisation/).
	Out string
	// PerGroup also optimises each group of a panel on its own coefficients, into
	// group_<level>/ below Out.
	PerGroup bool
	// Seed seeds the general solver's random starts.
	Seed uint64
	// Log receives one line per allocation written: "<population|factor=level>: <dir>".
	Log io.Writer
}

// OptimiseRun optimises a budget on a finished run's posterior draws: the population-level
// coefficients, and with PerGroup each group's. It reads the run's resolved config (and
// through it the data, for the spend columns) and posterior_draws.csv.
func OptimiseRun(ctx context.Context, opts OptimiseOptions) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	f := runfolder.Folder{Dir: opts.RunDir}
	cfgPath, err := findRunFile(f, runfolder.StageMetadata, runfolder.ConfigResolved)
	if err != nil {
		return err
	}
	cfg, spec, err := ingest.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("optimise: the run's resolved config no longer loads (has its data moved?): %w", err)
	}
	t, err := ingest.LoadData(cfg)
	if err != nil {
		return err
	}
	sc, err := runScenario(opts.Scenario, cfg)
	if err != nil {
		return err
	}
	drawsPath, err := findRunFile(f, runfolder.StagePostRun, runfolder.PosteriorDraws)
	if err != nil {
		return err
	}
	draws, err := readDraws(drawsPath)
	if err != nil {
		return err
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(opts.RunDir, runfolder.StageOptimisation)
	}
	s := &solver{opts: opts, sc: sc, spend: SpendColumns(t), kpiType: cfg.Model.KPIType, draws: draws, drawsPath: drawsPath,
		responses: ModelResponses(spec)}
	var nDraws int
	for _, c := range draws {
		nDraws = len(c)
		break
	}
	s.responseDraws, err = ModelResponseDraws(spec, nDraws, func(name string) ([]float64, error) {
		c, ok := draws[name]
		if !ok {
			return nil, fmt.Errorf("optimise: %s has no column %q", drawsPath, name)
		}
		return c, nil
	})
	if err != nil {
		return err
	}
	for k := range spec.Terms {
		s.terms = append(s.terms, spec.Terms[k].Name)
	}
	if err := s.solve(ctx, "", out, func(k int) string { return s.terms[k] }); err != nil {
		return err
	}
	if !opts.PerGroup {
		return nil
	}
	if len(spec.Groups) == 0 {
		return ErrNotPanel
	}
	g := spec.Groups[0]
	varies := map[int]bool{}
	for _, k := range g.Terms {
		varies[k] = true
	}
	for _, level := range g.Levels {
		dir := filepath.Join(out, "group_"+runfolder.Slug(level))
		err := s.solve(ctx, g.Factor+"="+level, dir, func(k int) string {
			if varies[k] {
				return codegen.GroupCoefficientName(s.terms[k], g.Factor, level)
			}
			return s.terms[k]
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// findRunFile finds a stage's file in a run folder, staged or flat.
func findRunFile(f runfolder.Folder, stage, name string) (string, error) {
	if p, ok := f.Find(stage, name); ok {
		return p, nil
	}
	return "", fmt.Errorf("optimise: %s has no %s/%s: is it a completed MCMC run folder?", f.Dir, stage, name)
}

// runScenario reads the scenario file, else the config's allocation section.
func runScenario(path string, cfg *ingest.Config) (*optimise.Scenario, error) {
	switch {
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("optimise: --scenario: %w", err)
		}
		return optimise.ParseScenario(b, path)
	case cfg.Allocation != nil:
		return cfg.Allocation, nil // checked when the config loaded
	}
	return nil, ErrNoScenario
}

// readDraws reads posterior_draws.csv into columns by name.
func readDraws(path string) (map[string][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("optimise: %w", err)
	}
	defer f.Close()
	t, err := posterior.ReadDraws(f)
	if err != nil {
		return nil, fmt.Errorf("optimise: %s: %w", path, err)
	}
	if len(t.Names) == 0 || len(t.Cols[0]) == 0 {
		return nil, fmt.Errorf("optimise: %s has no draws", path)
	}
	out := make(map[string][]float64, len(t.Names))
	for j, n := range t.Names {
		out[n] = t.Cols[j]
	}
	return out, nil
}

// solver optimises one scenario on columns of a run's draws.
type solver struct {
	opts      OptimiseOptions
	sc        *optimise.Scenario
	spend     map[string][]float64
	kpiType   string
	terms     []string
	draws     map[string][]float64
	drawsPath string
	responses map[string]optimise.Response // the model's own, by term
	// responseDraws are the model's own curves per draw, by term (estimated saturation);
	// the transform parameters are population-level, so every group shares them.
	responseDraws map[string][]optimise.Response
}

// solve optimises on the draws of column(k) for each term k and writes the files into dir.
func (s *solver) solve(ctx context.Context, group, dir string, column func(k int) string) error {
	beta := make([][]float64, len(s.terms))
	for k := range s.terms {
		name := column(k)
		c, ok := s.draws[name]
		if !ok {
			return fmt.Errorf("optimise: %s has no column %q", s.drawsPath, name)
		}
		beta[k] = c
	}
	res, err := optimise.Optimise(ctx, s.sc, optimise.Inputs{
		Terms: s.terms, Draws: PopulationDraws(beta), SpendColumns: s.spend,
		KPIType: s.kpiType, Group: group, ModelResponses: s.responses, ModelResponseDraws: s.responseDraws,
	}, optimise.Options{Seed: s.opts.Seed})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("optimise: %w", err)
	}
	if err := res.WriteFiles(dir); err != nil {
		return err
	}
	label := group
	if label == "" {
		label = "population"
	}
	fmt.Fprintf(s.opts.Log, "%s: %s\n", label, dir)
	return nil
}
