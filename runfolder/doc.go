// Package runfolder owns the layout of a run folder: the stage folders, the name of every
// file a run writes, the two layouts (staged and flat), run.json's schema (RunInfo), the
// model description the report reads instead of the data (ModelSpec), and where to find a
// file in a folder written by this or an older version.
//
// The pipeline writes through it and the report, the diagnose, compare and optimise
// commands read through it, so a file's name and place are declared once.
//
// The staged layout puts each file in its stage folder:
//
//	00_run_metadata/     run.json, config.original.yaml, config.resolved.yaml, session_info.txt, priors.csv, data_dictionary.csv, run.log
//	10_pre_run/          model_spec.json, vif.csv, media_spend.csv
//	20_model_fit/        model.stan, data.json, chain_<k>.csv (or optimize_<k>.csv)
//	30_post_run/         posterior_summary.csv, posterior_draws.csv, fitted_values.csv, ...
//	40_diagnostics/      diagnostics_report.csv
//	50_model_selection/  loo_summary.csv, loo_pointwise.csv
//	60_optimisation/     allocation.csv, response_curves.csv, frontier.csv, sensitivity.csv, summary.json
//
// The flat layout (outputs.layout: flat) puts every file directly in the run folder.
package runfolder
