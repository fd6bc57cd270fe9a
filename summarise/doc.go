// Package summarise turns posterior draws into the numbers a run reports: means,
// standard deviations and quantiles, and the convergence diagnostics rank-normalised
// split-Rhat, bulk- and tail-ESS and Monte Carlo standard errors.
//
// The diagnostics follow the R package posterior (Vehtari, Gelman, Simpson, Carpenter
// and Bürkner 2021, "Rank-normalization, folding, and localization: an improved Rhat
// for assessing convergence of MCMC", Bayesian Analysis 16(2); posterior's
// R/convergence.R) step for step, with the ess_sd of posterior ≥ 1.6, so their values
// agree with posterior's to rounding: split chains drop the middle draw of
// odd-length chains, ranks are averaged over ties and normalised with Blom's offset
// 3/8, and autocorrelations are truncated by Geyer's initial positive and monotone
// sequences. Autocovariances are summed directly for the first lags, which is all
// Geyer's sequence needs for well-mixed chains, and come from one FFT per series
// once the sequence runs longer; both give posterior's values to rounding.
//
// Every diagnostic takes the draws of one parameter as chains [][]float64, one slice
// per chain. All chains must have the same length: unequal lengths are a programming
// error and panic. Where posterior returns NA (constant draws, too few draws, a
// non-finite draw) the functions return NaN; no chains at all also give NaN. One
// deliberate difference: any ±Inf draw gives NaN for every diagnostic, where
// posterior's rank-based rhat and ess_bulk would rank the infinities. A single chain
// is fine (split into two halves). The functions are safe for concurrent use.
//
// For many parameters, Summarise computes a Row per parameter on several goroutines,
// sharing one sort and one set of buffers per parameter between the statistics, and
// WriteCSV writes the rows as posterior_summary.csv.
package summarise
