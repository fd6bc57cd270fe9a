// Package report draws the plots of a run folder and writes its index.html.
//
// It reads only the files a run left behind (00_run_metadata/run.json and the resolved
// config, what the pipeline wrote about the model and its data in 10_pre_run/, and the
// tables of 30_post_run to 60_optimisation), never the data file, which may have moved or
// changed since the run. Tables are read with the readers of the packages that write them
// (summarise, posterior, diagnostics, runfolder), and the layout, file names and run.json
// come from package runfolder. So Build can run after a completed, failed or interrupted
// run, or again later on an old folder; a folder written before 10_pre_run/ existed gets
// every plot except those that need it, which are skipped with the reason. Each plot is written only
// when its inputs exist; a plot whose inputs are missing is skipped, and one that fails
// (a corrupt table, data that cannot be drawn) is recorded in the Manifest and on the page
// without stopping the others.
//
// index.html is one self-contained page: it opens from disk without a server or network,
// with all CSS inline and the plots linked as relative paths to the PNG files beside it. The
// run's status and diagnostics verdict come first, then every table and plot grouped by
// stage, each with one sentence on how to read it. The post-run section opens with the prior
// table (priors.csv: each prior and bounds in original and sampler units, where it came
// from, and the posterior mean and sd beside it), and the coefficient table
// (posterior_summary.csv) gains the data dictionary's fields (data_dictionary.csv) when the
// run has one. Every string taken from the run (model name, column names, group labels,
// messages) is escaped by html/template.
//
// Both layouts are supported: staged (stage folders 00_run_metadata/ … 60_optimisation/)
// and flat (every file directly in the run folder); Build detects which one a folder uses.
//
// # Plots
//
//	10_pre_run/media_spend_timeseries.png   stacked spend by media channel (media_spend.csv)
//	10_pre_run/vif_bar.png                  variance inflation factor per predictor (vif.csv)
//	20_model_fit/fit_timeseries.png         observed vs fitted with the 95% predictive interval
//	20_model_fit/fit_scatter.png            observed vs fitted
//	20_model_fit/posterior_forest.png       90% intervals per coefficient (and per group)
//	20_model_fit/prior_posterior.png        prior vs posterior density of the media terms (model_spec.json)
//	20_model_fit/adstock_weights.png        adstock lag weights per channel (posterior mean, 90% band)
//	20_model_fit/saturation_curves.png      Hill curves, coefficient · h(spend), over the data's spend range
//	20_model_fit/transform_prior_posterior.png prior vs posterior of each estimated transform parameter
//	30_post_run/decomp_predictor_impact.png total contribution per term
//	30_post_run/decomp_timeseries.png       stacked media contributions over time
//	40_diagnostics/ppc.png                  posterior predictive fan chart
//	40_diagnostics/residuals_*.png          residuals over time, vs fitted, histogram, ACF
//	40_diagnostics/residuals_latent_acf.png residual ACF on the log scale (log(y) models only)
//	40_diagnostics/boundary_hits.png        share of draws at each finite coefficient bound
//	40_diagnostics/rhat_ess.png             Rhat and ESS per parameter with thresholds
//	50_model_selection/pareto_k.png         PSIS-LOO Pareto k per observation
//	50_model_selection/loo_pit.png          ECDF of the LOO-PIT values minus uniform, 95% simultaneous band (loo_pit.csv)
//	50_model_selection/elpd_influence.png   pointwise elpd_loo and Pareto k over time, k > 0.7 ringed
//	50_model_selection/tscv_holdout_fit.png held-out fit of each time-series CV fold (tscv_predictions.csv)
//	60_optimisation/budget_*.png            response curves, ROI/CPA, impact, frontier, sensitivity
//
// A MAP fit (run.json's fit_method optimise) has one point: the plots of a spread of draws
// (prior_posterior, transform_prior_posterior, boundary_hits, ppc) are skipped, saying so,
// and the page notes what the fit method leaves out (run.json's skipped_outputs and, for
// Laplace and Pathfinder fits, the approximation and its Pareto k̂).
//
// Panel models are drawn as a grid of small panels, one per group (at most MaxFacets; the
// figure says when groups were left out). Values are shown on the KPI scale where the run
// reports one (kpi_* columns of a log-response model), as fit_metrics.csv is.
//
// The transform plots take the media transforms from 10_pre_run/model_spec.json (types,
// max_lag, fixed values, and the prior of each estimated parameter, default or override) and
// the estimated parameters' draws from posterior_draws.csv (adstock_decay[m_tv],
// half_saturation[m_tv], hill_shape[m_tv], in original units); the spend range comes from
// media_spend.csv. Each plot is skipped when the run has no transforms of its kind.
//
// A draw "hits" a bound in boundary_hits.png when it lies within a quarter of the
// parameter's posterior sd of that bound: about 12% of the draws of a posterior piled up
// against its bound (a half-normal shape), under 2% for one whose mean is 2 sd away.
package report
