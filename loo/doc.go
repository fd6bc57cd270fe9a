// Package loo estimates out-of-sample predictive accuracy by Pareto-smoothed importance
// sampling leave-one-out cross-validation (PSIS-LOO; Vehtari, Gelman and Gabry 2017,
// "Practical Bayesian model evaluation using leave-one-out cross-validation and WAIC",
// Statistics and Computing 27; Vehtari, Simpson, Gelman, Yao and Gabry 2024, "Pareto
// smoothed importance sampling", JMLR 25) from the pointwise log-likelihood of posterior
// draws, and compares models by their expected log predictive density (ELPD).
//
// # Algorithm
//
// PSIS follows the R package loo 2.5.1 (Debian r-cran-loo; loo(), relative_eff(),
// psis(), loo_compare()) step for step, and its values agree with loo's to rounding
// (the tests hold them to 1e-6 on the project's own example). For observation i with
// log-likelihood ll[s] over S draws:
//
//  1. Relative efficiency r_eff = ESS/S of the likelihood values exp(ll), with the chain
//     structure, by loo's ess_rfun: Geyer's initial positive and monotone sequences on
//     the (unsplit, not rank-normalised) chains. Its autocovariances carry loo's FFT
//     scaling, which weights the within-chain variance by M/n against the variance of
//     the chain means when the FFT length M (the next 2^a·3^b·5^c ≥ n) differs from the
//     draws per chain n; that is kept so that r_eff matches loo for every n.
//  2. Log importance ratios r = −ll, shifted by their maximum. The largest
//     M = ceil(min(0.2·S, 3·sqrt(S/r_eff))) of them are replaced by the expected order
//     statistics of a generalized Pareto distribution fitted to their exceedances over the
//     next largest by Zhang and Stephens (2009) with loo's weakly informative prior (grid
//     of 30 + floor(sqrt(M)) points, k̂ shrunk towards 0.5 as k̂·M/(M+10) + 5/(M+10)).
//     Smoothed weights are capped at the largest raw weight, then normalised. With fewer
//     than 5 tail draws, or a constant tail, nothing is smoothed and k̂ is +Inf. (loo 2.x
//     does not truncate at S^(3/4) times the mean weight: that was loo 1.x's rule and is
//     the separate "tis" method, not PSIS.)
//  3. elpd_loo = log Σ w·exp(ll), lpd = log mean exp(ll), p_loo = lpd − elpd_loo,
//     looic = −2·elpd_loo. The Monte Carlo SE of elpd_loo is loo's mcse_elpd: the
//     variance of log z over 1000 normal scores z of the estimate of p(y_i | y_-i) with
//     standard deviation sqrt(Σ w²·(exp(ll) − exp(elpd_loo))²), divided by r_eff. The PSIS
//     effective sample size is r_eff / Σ w².
//
// Totals are sums over observations with standard errors sqrt(n·var(pointwise)). The
// Monte Carlo SE of the total elpd_loo is sqrt(Σ mcse²), NaN (NA in the CSV) when any k̂
// exceeds 0.7, as loo's print does. The likelihood values enter steps 1 and 3 only through
// ratios, so they are formed as exp(ll − max ll): identical in exact arithmetic, and free of
// the underflow loo suffers for observations with log-likelihoods below about −745.
//
// # Pareto k̂
//
// k̂ estimates the shape of the importance ratios' tail, which is also how much
// observation i on its own pulls the posterior. Results count observations in loo 2.5's
// fixed bands, each interval closed on the right: good k̂ ≤ 0.5, ok 0.5 < k̂ ≤ 0.7 (usable),
// bad 0.7 < k̂ ≤ 1 (unreliable: an influential observation), very bad k̂ > 1 (PSIS fails: the
// observation dominates). Newer loo (≥ 2.6) replaces the 0.5/0.7 split with a
// sample-size-dependent threshold min(1 − 1/log10(S), 0.7), which is below 0.7 only for
// S < 2154; Result.KThreshold reports it, for information; the bands and the warnings use
// the fixed 0.5/0.7/1 cut-offs.
//
// # LOO-PIT
//
// PSISExpect computes, in the same pass, the PSIS-weighted leave-one-out expectation of a
// per-draw quantity with the weights elpd_loo uses (loo's E_loo). With the predictive CDF at
// the observed value, Φ((y_i − μ_i,s)/σ_s) for the normal likelihood, it gives the LOO
// probability integral transform PIT_i = Σ_s w_is·Φ((y_i − μ_i,s)/σ_s), whose values are
// close to uniform for a calibrated model. UniformBand is the simultaneous band for the ECDF
// of such values (Säilynoja, Bürkner and Vehtari 2022), with the pointwise level adjusted by
// simulation so that a uniform sample's ECDF leaves it with probability alpha.
//
// # Files
//
// WriteSummaryCSV and WritePointwiseCSV write 50_model_selection/loo_summary.csv and
// loo_pointwise.csv (columns on each function); ReadPointwiseCSV reads the latter back for
// Compare, which ranks models as loo_compare does. WritePITCSV and ReadPITCSV write and read
// loo_pit.csv, the LOO-PIT value of every row.
package loo
