package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/report"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/summarise"
)

// forecastProbs are the quantiles a forecast reports: a 90% and a 50% interval and the
// median.
var forecastProbs = []float64{0.05, 0.25, 0.5, 0.75, 0.95}

// ForecastOptions are the inputs of ForecastRun.
type ForecastOptions struct {
	// RunDir is a completed MCMC run folder.
	RunDir string
	// Plan is the media plan CSV: the date column, a panel's grouping columns and every
	// column the model reads, one row per planned week (and group).
	Plan string
	// Out is the output folder (default the run's 70_forecast/).
	Out string
	// Log receives one line per file written.
	Log io.Writer

	// overlap lets the plan restate weeks the run has (tests): the history is then, per
	// series, the run's rows dated before the plan's first week.
	overlap bool
}

// ForecastRun forecasts the KPI of a media plan from every draw of a finished run: it
// reads the run's resolved config (and through it the data, the history the plan
// continues) and posterior_draws.csv, checks the plan, and writes forecast.csv,
// forecast_totals.csv and forecast.png into Out; by default into the run's 70_forecast/,
// and then it draws the run's report page again, which shows them.
func ForecastRun(ctx context.Context, opts ForecastOptions) error {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	f := runfolder.Detect(opts.RunDir)
	find := func(stage, name string) (string, error) {
		if p, ok := f.Find(stage, name); ok {
			return p, nil
		}
		return "", fmt.Errorf("forecast: %s has no %s/%s: is it a completed MCMC run folder?", f.Dir, stage, name)
	}
	cfgPath, err := find(runfolder.StageMetadata, runfolder.ConfigResolved)
	if err != nil {
		return err
	}
	cfg, err := ingest.LoadConfig(cfgPath)
	if err != nil {
		return fmt.Errorf("forecast: the run's resolved config no longer loads: %w", err)
	}
	if cfg.Fit.MAP() {
		return fmt.Errorf("forecast: %s is a MAP fit (fit.method: optimise), one point with no uncertainty; a forecast needs posterior draws: refit with fit.method: mcmc (or laplace or pathfinder for approximate draws)", f.Dir)
	}
	data, err := ingest.LoadData(cfg)
	if err != nil {
		return fmt.Errorf("forecast: the run's data no longer load (have they moved?): %w", err)
	}
	spec, err := ingest.BuildSpec(cfg, data)
	if err != nil {
		return err
	}
	drawsPath, err := find(runfolder.StagePostRun, runfolder.PosteriorDraws)
	if err != nil {
		return err
	}
	pd, err := readPosteriorDraws(spec, drawsPath)
	if err != nil {
		return err
	}
	plan, err := ingest.LoadCSV(opts.Plan)
	if err != nil {
		return err
	}
	fc, err := forecast(ctx, cfg, spec, data, pd, plan, opts.overlap)
	if err != nil {
		return err
	}
	if opts.Out != "" {
		return fc.writeFiles(opts.Out, opts.RunDir, opts.Log)
	}
	if err := fc.writeFiles(f.StageDir(runfolder.StageForecast), opts.RunDir, opts.Log); err != nil {
		return err
	}
	// The run's report page gains its Forecast section.
	m, err := report.Build(ctx, opts.RunDir, report.Options{Layout: cfg.Outputs.Layout})
	if err != nil {
		fmt.Fprintf(opts.Log, "warning: report: %v\n", err)
		return nil
	}
	fmt.Fprintln(opts.Log, m.Index)
	return nil
}

// writeFiles writes forecast.csv, forecast_totals.csv and forecast.png (with the history
// from runDir's fitted_values.csv) into dir, naming each file written on log.
func (fc *forecastResult) writeFiles(dir, runDir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	var rows, totals, png bytes.Buffer
	if err := fc.writeRows(&rows); err != nil {
		return fmt.Errorf("forecast: %s: %w", runfolder.ForecastFile, err)
	}
	if err := fc.writeTotals(&totals); err != nil {
		return fmt.Errorf("forecast: %s: %w", runfolder.ForecastTotalsFile, err)
	}
	if err := report.ForecastPlot(&png, runDir, rows.Bytes(), 0); err != nil {
		return fmt.Errorf("forecast: %s: %w", runfolder.ForecastPlot, err)
	}
	for _, file := range []struct {
		name string
		data []byte
	}{{runfolder.ForecastFile, rows.Bytes()}, {runfolder.ForecastTotalsFile, totals.Bytes()}, {runfolder.ForecastPlot, png.Bytes()}} {
		p := filepath.Join(dir, file.name)
		if err := atomicfile.WriteFile(p, file.data, 0o644); err != nil {
			return fmt.Errorf("forecast: %w", err)
		}
		fmt.Fprintln(log, p)
	}
	return nil
}

// CheckForecastPlan checks the config's media plan (forecast.enabled) against the model
// and data before anything is fitted, so a bad plan fails in seconds, not after sampling.
func CheckForecastPlan(cfg *ingest.Config, spec *ingest.Spec, t *ingest.Table) error {
	if cfg.Forecast == nil || !cfg.Forecast.Enabled {
		return nil
	}
	plan, err := ingest.LoadCSV(cfg.Forecast.PlanPath)
	if err != nil {
		return err
	}
	_, err = readPlan(cfg, spec, t, plan, false)
	return err
}

// writeForecast forecasts the config's media plan (forecast.enabled) from the run's draws
// into 70_forecast/.
func (r *runner) writeForecast(ctx context.Context, spec *ingest.Spec, pd *posterior.Draws) error {
	plan, err := ingest.LoadCSV(r.cfg.Forecast.PlanPath)
	if err != nil {
		return err
	}
	fc, err := forecast(ctx, r.cfg, spec, r.table, pd, plan, false)
	if err != nil {
		return err
	}
	return fc.writeFiles(r.folder.StageDir(runfolder.StageForecast), r.folder.Dir, io.Discard)
}

// readPosteriorDraws reads posterior_draws.csv and arranges it as the fit's draws for
// spec, as the run arranged them for its derived tables.
func readPosteriorDraws(spec *ingest.Spec, path string) (*posterior.Draws, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	defer f.Close()
	t, err := posterior.ReadDraws(f)
	if err != nil {
		return nil, fmt.Errorf("forecast: %s: %w", path, err)
	}
	chain, ok := t.Column("chain")
	if !ok || len(chain) == 0 {
		return nil, fmt.Errorf("forecast: %s has no draws (or no chain column)", path)
	}
	chains := int(slices.Max(chain))
	if chains < 1 || len(chain)%chains != 0 {
		return nil, fmt.Errorf("forecast: %s: %d draws do not split into %d chains", path, len(chain), chains)
	}
	d := &decoded{names: t.Names, cols: t.Cols, chains: chains, perChain: len(chain) / chains}
	pd, err := posteriorDraws(spec, d)
	if err != nil {
		return nil, fmt.Errorf("forecast: %s: %w", path, err)
	}
	return pd, nil
}

// forecastResult is a plan's forecast.
type forecastResult struct {
	spec *ingest.Spec // the joined spec (history, then plan rows)
	plan *plan
	// terms names the contribution columns: the model's terms, then "offset".
	terms []string
	rows  []forecastRow
	// totals are the per-draw sums over the plan's rows, by scope ("all", then
	// factor=level in the groups' order).
	totals []forecastTotal
}

// forecastRow is one plan row's forecast on the KPI scale.
type forecastRow struct {
	// pred summarises the posterior predictive (μ plus noise), expected the expected value.
	pred, expected summary
	// contrib[k] is the posterior mean of term k's contribution (model scale).
	contrib []float64
}

// summary is a mean and the forecastProbs quantiles.
type summary struct {
	mean float64
	q    [5]float64
}

func summariseDraws(x []float64) summary {
	s := summary{mean: num.Mean(x)}
	y := slices.Clone(x)
	slices.Sort(y)
	for i, p := range forecastProbs {
		s.q[i] = summarise.Quantile(y, p)
	}
	return s
}

// forecastTotal is one scope's per-draw sums over the plan's rows.
type forecastTotal struct {
	scope          string
	n              int
	pred, expected []float64
	contrib        [][]float64 // [term][draw]
}

// forecast checks the plan against the run and computes, from every draw, each plan row's
// posterior predictive (μ plus one seeded noise draw per posterior draw) and expected value
// on the KPI scale, each term's mean contribution, and the per-draw totals over the plan.
func forecast(ctx context.Context, cfg *ingest.Config, spec *ingest.Spec, data *ingest.Table, pd *posterior.Draws, t *ingest.Table, overlap bool) (*forecastResult, error) {
	p, err := readPlan(cfg, spec, data, t, overlap)
	if err != nil {
		return nil, err
	}
	joined := forecastSpec(spec, p)
	contributions, err := pd.Contributions(joined)
	if err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	S, K := pd.S(), len(spec.Terms)
	res := &forecastResult{spec: joined, plan: p, terms: slices.Clone(pd.Terms)}
	nTerms := K
	if spec.Offset != nil {
		res.terms = append(res.terms, "offset")
		nTerms++
	}
	newTotal := func(scope string) forecastTotal {
		return forecastTotal{scope: scope, pred: make([]float64, S), expected: make([]float64, S), contrib: matrix(nTerms, S)}
	}
	res.totals = append(res.totals, newTotal("all"))
	scopeOf := make([][]int, len(spec.Groups)) // [factor][level] -> index into totals
	for f, g := range spec.Groups {
		scopeOf[f] = make([]int, len(g.Levels))
		for l, level := range g.Levels {
			scopeOf[f][l] = len(res.totals)
			res.totals = append(res.totals, newTotal(g.Factor+"="+level))
		}
	}
	c := matrix(K, S)
	mu, pred, exp := make([]float64, S), make([]float64, S), make([]float64, S)
	logMedian := cfg.Model.LogResponse == "median"
	seed := uint64(cfg.Fit.MCMC.Seed)
	for j := range p.n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		i := len(p.history) + j // the row in the joined spec
		contributions(i, c, mu)
		rng := rand.New(rand.NewPCG(seed, uint64(j)))
		for s, m := range mu {
			sg := pd.NoiseSD[s]
			pred[s] = m + sg*rng.NormFloat64()
			exp[s] = m
			if spec.LogResponse {
				pred[s] = math.Exp(pred[s])
				if logMedian {
					exp[s] = math.Exp(m)
				} else {
					exp[s] = math.Exp(m + sg*sg/2)
				}
			}
		}
		row := forecastRow{pred: summariseDraws(pred), expected: summariseDraws(exp), contrib: make([]float64, nTerms)}
		for k := range K {
			row.contrib[k] = num.Mean(c[k])
		}
		if spec.Offset != nil {
			row.contrib[K] = p.offset[j]
		}
		res.rows = append(res.rows, row)
		scopes := []int{0}
		for f := range spec.Groups {
			scopes = append(scopes, scopeOf[f][p.of[f][j]])
		}
		for _, sc := range scopes {
			tot := &res.totals[sc]
			tot.n++
			addTo(tot.pred, pred)
			addTo(tot.expected, exp)
			for k := range K {
				addTo(tot.contrib[k], c[k])
			}
			if spec.Offset != nil {
				for s := range tot.contrib[K] {
					tot.contrib[K][s] += p.offset[j]
				}
			}
		}
	}
	return res, nil
}

func addTo(dst, src []float64) {
	for i, v := range src {
		dst[i] += v
	}
}

func matrix(rows, cols int) [][]float64 {
	m := make([][]float64, rows)
	for r := range m {
		m[r] = make([]float64, cols)
	}
	return m
}

func summaryHeader(prefix string) []string {
	out := []string{prefix + "mean"}
	for _, p := range forecastProbs {
		out = append(out, prefix+"q"+strconv.Itoa(int(math.Round(100*p))))
	}
	return out
}

func (s summary) cells() []string {
	out := []string{num.Format(s.mean)}
	for _, q := range s.q {
		out = append(out, num.Format(q))
	}
	return out
}

// writeRows writes forecast.csv: per plan row (in plan order) its line in the plan, date
// and groups, the observed KPI when the plan gives it (else NA), the posterior predictive
// and the expected value on the KPI scale (mean, 5/25/50/75/95% quantiles), and each term's
// mean contribution (model scale, as in decomposition.csv).
func (r *forecastResult) writeRows(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"row", "line", "date"}
	for _, g := range r.spec.Groups {
		header = append(header, g.Factor)
	}
	header = append(header, "observed")
	header = append(header, summaryHeader("pred_")...)
	header = append(header, summaryHeader("expected_")...)
	for _, term := range r.terms {
		header = append(header, "contribution["+term+"]")
	}
	cw.Write(header)
	p := r.plan
	for j, row := range r.rows {
		rec := []string{strconv.Itoa(j + 1), strconv.Itoa(p.lines[j]), p.dates[j]}
		for f, g := range r.spec.Groups {
			rec = append(rec, g.Levels[p.of[f][j]])
		}
		rec = append(rec, num.Format(p.observed[j]))
		rec = append(rec, row.pred.cells()...)
		rec = append(rec, row.expected.cells()...)
		for _, c := range row.contrib {
			rec = append(rec, num.Format(c))
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// writeTotals writes forecast_totals.csv: per scope (all rows, then each group's) and
// quantity (the KPI's posterior predictive and expected value, then each term's
// contribution), the sum over the plan's rows summarised across draws, so the intervals are
// those of the sums, not sums of intervals.
func (r *forecastResult) writeTotals(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(append([]string{"scope", "quantity", "rows"}, summaryHeader("")...))
	for _, t := range r.totals {
		if t.n == 0 {
			continue
		}
		emit := func(quantity string, x []float64) {
			cw.Write(append([]string{t.scope, quantity, strconv.Itoa(t.n)}, summariseDraws(x).cells()...))
		}
		emit("kpi_predictive", t.pred)
		emit("kpi_expected", t.expected)
		for k, term := range r.terms {
			emit("contribution["+term+"]", t.contrib[k])
		}
	}
	cw.Flush()
	return cw.Error()
}
