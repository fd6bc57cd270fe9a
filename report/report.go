package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/runfolder"
)

// Options tune Build; the zero value detects the layout and draws at 130 dpi.
type Options struct {
	// Layout is LayoutStaged, LayoutFlat, or "" to detect it from the folder.
	Layout string
	// DPI is the PNG resolution (default 130: an 8 × 5 inch plot is 1040 × 650 pixels).
	DPI float64
	// Workers bounds the plots drawn at once (default GOMAXPROCS, at most 4).
	Workers int
}

// Plot outcomes.
const (
	PlotWritten = "written"
	PlotSkipped = "skipped" // its inputs are not in the run folder
	PlotFailed  = "failed"
)

// Plot records what Build did about one plot.
type Plot struct {
	// Stage and Name identify the plot ("20_model_fit", "fit_timeseries.png").
	Stage, Name string
	// Path is the PNG's path relative to the run folder, slash-separated, as index.html
	// links it.
	Path string
	// Status is PlotWritten, PlotSkipped or PlotFailed.
	Status string
	// Reason says why a plot was skipped or how it failed.
	Reason string
	// Err is the failure (nil unless Status is PlotFailed).
	Err error
}

// Manifest is what Build wrote.
type Manifest struct {
	// RunDir is the run folder; Flat reports the layout found or chosen.
	RunDir string
	Flat   bool
	// Status is run.json's status (completed, failed, interrupted, running), "" without one.
	Status string
	// Verdict is the overall diagnostics status (pass, warn, fail), "" without a report.
	Verdict string
	// Plots lists every plot Build knows of, in page order.
	Plots []Plot
	// Index is the path of the index.html written.
	Index string
}

// Failed returns the plots that failed.
func (m *Manifest) Failed() []Plot {
	var out []Plot
	for _, p := range m.Plots {
		if p.Status == PlotFailed {
			out = append(out, p)
		}
	}
	return out
}

// Err joins the errors of the plots that failed; nil when none did.
func (m *Manifest) Err() error {
	var errs []error
	for _, p := range m.Failed() {
		errs = append(errs, fmt.Errorf("report: %s: %w", p.Path, p.Err))
	}
	return errors.Join(errs...)
}

// Build draws every plot whose inputs exist in runDir into its stage folder and writes
// runDir/index.html. A plot that fails is recorded in the Manifest (and on the page) and
// does not stop the others, so Build's error is reserved for what stops the report itself:
// a run folder that does not exist, an index.html that cannot be written, or ctx ending
// (plots not yet drawn are then skipped, and the page is still written).
func Build(ctx context.Context, runDir string, opts Options) (*Manifest, error) {
	if !isDir(runDir) {
		return nil, fmt.Errorf("report: run folder %s does not exist", runDir)
	}
	f, err := runfolder.Open(runDir, opts.Layout)
	if err != nil {
		return nil, fmt.Errorf("report: layout %q: use %s or %s", opts.Layout, LayoutStaged, LayoutFlat)
	}
	if opts.DPI <= 0 {
		opts.DPI = 130
	}
	if opts.Workers <= 0 {
		opts.Workers = min(4, runtime.GOMAXPROCS(0))
	}

	in := newInputs(f)
	m := &Manifest{RunDir: runDir, Flat: f.Flat, Plots: make([]Plot, len(plotDefs))}
	var g errgroup.Group
	g.SetLimit(opts.Workers)
	for i, def := range plotDefs {
		m.Plots[i] = Plot{Stage: def.stage, Name: def.name, Path: f.Rel(def.stage, def.name)}
		g.Go(func() error {
			m.Plots[i] = drawOne(ctx, in, f, def, m.Plots[i], opts.DPI)
			return nil
		})
	}
	g.Wait()

	pg, err := buildPage(in, m)
	if err != nil {
		return m, err
	}
	m.Verdict = pg.Verdict
	m.Index = filepath.Join(runDir, IndexFile)
	if err := writePage(m.Index, pg); err != nil {
		return m, err
	}
	return m, ctx.Err()
}

// drawOne draws one plot and writes it, turning a panic inside the plotting code into a
// failure of that plot alone.
func drawOne(ctx context.Context, in *inputs, f runfolder.Folder, def plotDef, rec Plot, dpi float64) (out Plot) {
	out = rec
	defer func() {
		if r := recover(); r != nil {
			out.Status = PlotFailed
			out.Err = fmt.Errorf("report: drawing %s panicked: %v\n%s", def.name, r, debug.Stack())
			out.Reason = fmt.Sprintf("drawing it panicked: %v", r)
		}
	}()
	if err := ctx.Err(); err != nil {
		out.Status, out.Reason = PlotSkipped, "the report was cancelled"
		return out
	}
	fig, err := def.draw(in)
	if err == nil {
		var png []byte
		if png, err = fig.png(dpi); err == nil {
			p := f.Path(def.stage, def.name)
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = atomicfile.WriteFile(p, png, 0o644)
			}
		}
	}
	var skip *skipError
	switch {
	case err == nil:
		out.Status = PlotWritten
	case errors.As(err, &skip):
		out.Status, out.Reason = PlotSkipped, skip.reason
	default:
		out.Status, out.Reason, out.Err = PlotFailed, err.Error(), err
	}
	return out
}

// plotDef is one plot: where it goes, how to read it and how to draw it.
type plotDef struct {
	stage, name string
	// read is the page's one sentence on how to read the plot.
	read string
	draw func(in *inputs) (*figure, error)
}

// plotDefs lists the plots in page order.
var plotDefs []plotDef

func init() {
	plotDefs = []plotDef{
		{runfolder.StagePreRun, "media_spend_timeseries.png", "Spend per media channel stacked over time: check for plausible seasonality, no unexpected zero-spend gaps mid-campaign (an ingestion problem) and sensible relative sizes.", drawMediaSpend},
		{runfolder.StagePreRun, "vif_bar.png", "How much each predictor's coefficient variance is inflated by its correlation with the others: above 5 deserves a look, above 10 means the data cannot separate that predictor's effect from the others'.", drawVIF},
		{runfolder.StageModelFit, "fit_timeseries.png", "The fitted line should follow the observed level and seasonality, with about 95% of observations inside the band; systematic misses (holiday peaks, level shifts) point to a missing term.", drawFitTimeseries},
		{runfolder.StageModelFit, "fit_scatter.png", "Points should lie close to the diagonal across the whole range; curvature or a fan shape means the model misses a non-linearity or the noise grows with the level.", drawFitScatter},
		{runfolder.StageModelFit, "posterior_forest.png", "Each line is a coefficient's 90% interval with its posterior mean; an interval that crosses zero is not distinguishable from no effect, and a very wide one is dominated by its prior.", drawForest},
		{runfolder.StageModelFit, "prior_posterior.png", "A posterior much narrower than its prior means the data inform that media effect; a posterior that looks like its prior means the data say little about it.", drawPriorPosterior},
		{runfolder.StageModelFit, "adstock_weights.png", "How a row's spend is spread over the following rows by each channel's adstock: a slowly falling profile means long carry-over; a wide band means the data say little about the decay.", drawAdstockWeights},
		{runfolder.StageModelFit, "saturation_curves.png", "Each channel's contribution as steady spend grows: where the curve flattens, more spend buys little; read it inside the shaded span of spend the data saw, since beyond it the curve is extrapolated.", drawSaturationCurves},
		{runfolder.StageModelFit, "transform_prior_posterior.png", "A posterior much narrower than its prior means the data inform that adstock or saturation parameter; one that looks like its prior means its value comes from the prior.", drawTransformPriorPosterior},
		{runfolder.StagePostRun, "decomp_predictor_impact.png", "Total modelled contribution of each term over the whole period; long media bars are the largest media contributions, and controls (trend, seasonality) usually dominate the baseline.", drawPredictorImpact},
		{runfolder.StagePostRun, "decomp_timeseries.png", "Media contributions stacked over time: their height is the part of the KPI the model attributes to media in each period.", drawDecompTimeseries},
		{runfolder.StageDiagnostics, "ppc.png", "Posterior predictive check: observed points should scatter inside the predictive band, with about 1 in 20 outside it; runs of points outside it mark periods the model cannot reproduce.", drawPPC},
		{runfolder.StageDiagnostics, "residuals_timeseries.png", "Residuals should scatter around zero with no trend, seasonal pattern or level shift; clusters outside the dashed ±2 RMSE lines are periods the model misses.", drawResidualsTime},
		{runfolder.StageDiagnostics, "residuals_vs_fitted.png", "There should be no pattern: a curved binned mean means a missing non-linearity, a fan shape means the noise grows with the level (consider log(y)).", drawResidualsVsFitted},
		{runfolder.StageDiagnostics, "residuals_hist.png", "Residuals should look roughly like the normal curve; heavy tails or skew point to outliers or a response that needs a log.", drawResidualsHist},
		{runfolder.StageDiagnostics, "residuals_acf.png", "Bars beyond the dashed 95% lines are autocorrelation the model leaves in its residuals: a missing trend, seasonality or carry-over, which makes the intervals too narrow.", drawResidualsACF},
		{runfolder.StageDiagnostics, "residuals_latent_acf.png", "The same autocorrelation check on the log scale the model is fitted on.", drawResidualsLatentACF},
		{runfolder.StageDiagnostics, "boundary_hits.png", "Share of draws pressed against each finite bound; a large share means the data push that coefficient against its constraint, so the bound, not the data, sets its value.", drawBoundaryHits},
		{runfolder.StageDiagnostics, "rhat_ess.png", "Every Rhat should sit left of the dashed line and every ESS right of it; parameters on the wrong side have not converged, so run longer chains or reparameterise.", drawRhatESS},
		{runfolder.StageModelSelection, "pareto_k.png", "Pareto k per observation: clusters of red or purple points are influential observations for which PSIS-LOO is unreliable.", drawParetoK},
		{runfolder.StageModelSelection, "loo_pit.png", "Calibration of the leave-one-out predictive distributions: the line is the ECDF of the LOO-PIT values minus the uniform CDF and should stay inside the band; a hump then a dip (values piled at 0 and 1) means the predictive intervals are too narrow, a dip then a hump that they are too wide, and a line above or below zero throughout that the model over- or under-predicts.", drawLOOPIT},
		{runfolder.StageModelSelection, "elpd_influence.png", "Each observation's elpd_loo (low values are observations the model predicts poorly) and Pareto k over time; ringed points (k > 0.7) are influential, and their LOO values are unreliable.", drawELPDInfluence},
		{runfolder.StageModelSelection, "tscv_holdout_fit.png", "Each cross-validation fold's held-out weeks predicted from the weeks before them: observed points should scatter inside the band, about 1 in 10 outside; points running outside it mean the model forecasts poorly.", drawHoldoutFit},
		{runfolder.StageOptimisation, "budget_response_curves.png", "Each channel's modelled contribution as its spend grows, with the current and optimised spend marked; a flattening curve means diminishing returns.", drawResponseCurves},
		{runfolder.StageOptimisation, "budget_roi_cpa.png", "Return per unit of spend for each channel at the current and the optimised allocation.", drawROI},
		{runfolder.StageOptimisation, "budget_impact.png", "Where the optimiser moves money (left) and what that does to each channel's contribution (right).", drawImpact},
		{runfolder.StageOptimisation, "budget_efficient_frontier.png", "The best achievable total contribution at each total budget; where the curve flattens, more budget buys little.", drawFrontier},
		{runfolder.StageOptimisation, "budget_sensitivity.png", "How the total contribution changes when one channel's optimised spend moves down or up, the others fixed: long bars are the channels the result is most sensitive to.", drawSensitivity},
	}
}
