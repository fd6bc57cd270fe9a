// Package diagnostics runs the gates around a fit and writes
// 40_diagnostics/diagnostics_report.csv: P0 checks on the data and the design before
// sampling (P0 computes them from an ingest.Spec) and P1 checks on the sampler after it (P1
// computes them from the CmdStan chains and the draws). Each check is a row
//
//	check_id,phase,severity,status,metric,value,threshold,message
//
// with phase P0 (severity critical) or P1 (severity important) and status pass, warn, fail
// or skipped. WriteCSV puts an overall row first (check_id "overall"): fail if any check
// failed, else warn if any warned, else pass; skipped rows do not count. Every warn or fail
// message says what to do, naming the config key to change and the worst parameter, column
// or group. Gate turns a status at or above a chosen level into a *GateError, which the CLI
// maps to exit status 4.
//
// # Policy modes
//
// diagnostics.policy_mode chooses the thresholds: explore (fast iteration: relaxed, the
// design checks only warn), publish (the default: balanced; a condition number above the
// fail threshold is downgraded to warn) and strict (audit grade: tightest; rank deficit,
// groups without variation and any divergence fail). A status is reached when the value is
// strictly beyond the threshold.
//
//	check_id                         metric                           explore           publish                  strict
//	                                                                  warn     fail     warn     fail            warn     fail
//	pre_response_finite              non_finite_response_count        —        > 0      —        > 0             —        > 0
//	pre_design_finite                non_finite_design_count          —        > 0      —        > 0             —        > 0
//	pre_design_constants_duplicates  constant_plus_duplicate_columns  —        > 0      —        > 0             —        > 0
//	pre_design_rank_deficit          rank_deficit                     > 0      —        > 0      —               —        > 0
//	pre_design_condition_number      kappa_X                          > 1e4    never    > 1e4    (> 1e6 → warn)  > 1e4    > 1e6
//	pre_within_group_variation[t|g]  constant_groups                  > 0      —        > 0      = all groups    —        > 0
//	sampler_rhat_max(_sd)            max_rhat                         > 1.05   > 1.10   > 1.01   > 1.05          > 1.005  > 1.01
//	sampler_ess_bulk_min(_sd)        min_ess_bulk                     < 100    < 50     < 400    < 100           < 1000   < 400
//	sampler_ess_tail_min(_sd)        min_ess_tail                     < 100    < 50     < 400    < 100           < 1000   < 400
//	sampler_divergences              divergent_transitions            > 0      > 5%     > 0      > 1%            —        > 0
//	sampler_treedepth_saturation     treedepth_saturation_fraction    > 5%     > 25%    > 1%     > 10%           > 0      > 1%
//	sampler_ebfmi_min                min_ebfmi                        < 0.2    < 0.1    < 0.3    < 0.2           < 0.4    < 0.3
//
// Percentages are of all post-warmup draws. The publish column is DSAMbayes's where it
// documents one (docs/dsambayes.md, sampler sanity thresholds); the rest are this package's choices. ESS 400 is 100
// per chain for four chains (Vehtari et al. 2021); E-BFMI 0.3 is the level CmdStan's
// bin/diagnose flags (Betancourt 2016).
//
// # What the P0 checks compute
//
// A column is constant when its range is at most 1e-12 of its largest absolute value, and
// two columns are duplicates when they agree to the same tolerance; the intercept is not
// counted as constant. pre_design_finite is an addition to DSAMbayes's table: non-finite
// predictor values would make the other design checks meaningless, which are then skipped.
//
// Rank and condition number come from the singular values σ of the design with every column
// scaled to unit Euclidean length (Belsley, Kuh and Welsch 1980, "Regression Diagnostics"),
// so they do not depend on the units of the predictors (spend in dollars or thousands):
// kappa_X = σ_max/σ_min, which is R's kappa(sweep(X, 2, sqrt(colSums(X^2)), "/"),
// exact = TRUE); the rank counts σ > 1e-7·σ_max, the tolerance of R's qr(). So a design is
// rank-deficient exactly when kappa_X > 1e7. Warn and fail messages name the columns that
// load most on the smallest singular directions: the columns of the (near) dependency.
//
// pre_within_group_variation has one row per group-varying term (the intercept aside) and
// grouping factor, e.g. pre_within_group_variation[m_tv|market]; its value is the number of
// groups in which the term is constant. There the term's group coefficient is fixed by its
// prior alone; when it is constant in every group its group effects cannot be told apart
// from the group intercepts. Single-market models get one skipped row.
//
// # What the P1 checks compute
//
// Rhat is the rank-normalised split-Rhat and ESS the bulk and tail ESS of package summarise
// (as the R package posterior). Each is computed over every parameter given to P1 and again
// over the group scales alone (names starting "sd_"), as the _sd rows; a parameter whose
// draws are all one value is left out, and one with non-finite draws fails the row.
// Divergences, tree-depth saturation (draws with treedepth__ ≥ the chain's max_depth) and
// E-BFMI belong to whole transitions, not to a parameter, so they have no _sd rows; the
// divergence message names the group scale whose small values the divergent draws crowd
// into, when there is one. E-BFMI is computed per chain from energy__ as
// Σ(E_n − E_{n−1})² / Σ(E_n − Ē)², as bin/diagnose does, and the row reports the smallest.
package diagnostics
