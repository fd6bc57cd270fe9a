// Package pipeline runs one model end to end — load and check the config and data, write
// what the report needs from them (10_pre_run/), render the Stan program, compile it
// through the cache, sample or optimise, summarise, derive the row-wise tables, PSIS-LOO,
// budget optimisation and the report — each step timed into run.json. It writes the run
// folder through package runfolder, every file atomically, and 00_run_metadata/run.json
// always says whether the run completed, failed or was interrupted, and why.
//
// With diagnostics.time_series_selection enabled, Run then cross-validates in time (tscv.go):
// each fold's training rows (ingest.Spec.Subset) are fitted with the run's program into
// 50_model_selection/tscv/fold_NN, and the training draws applied to the full spec score the
// held-out rows (posterior.Draws.Mu), into tscv_summary.csv and tscv_folds.csv.
//
// fit.method optimise (MAP), laplace and pathfinder are the fast fits (approx.go): a MAP fit
// gets every output of one point (the derived tables at the mode, its intervals NA, and the
// budget optimisation) but no PSIS-LOO; Laplace and Pathfinder draws go through every step
// as MCMC draws do, with the convergence checks marked not applicable and the
// approximation's Pareto k̂ checked instead. run.json's skipped_outputs, the log and the
// report say what a method leaves out.
//
// Validate makes every check Run makes before compiling (the validate command), with the same
// steps and messages, and writes only the run metadata and the P0 report, when asked to.
//
// OptimiseRun re-optimises a finished run's budget (the optimise command).
//
// ForecastRun forecasts a media plan from a finished run's draws (the forecast command, and
// forecast.enabled after a fit; forecast.go): the plan is checked against the run's data
// (file:line for every problem), its rows are appended to the run's history rows in one
// spec, so adstock carries over along each series, and every draw's contributions
// (posterior.Draws.Contributions) plus one seeded noise draw give the posterior predictive,
// written with per-draw totals to 70_forecast/.
package pipeline
