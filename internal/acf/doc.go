// Package acf computes the autocovariances and autocorrelations that dsamstan's
// estimators share: the lag products of centred Markov chains, summed directly or for
// every lag at once by FFT (Chains); Geyer's truncation of chain autocorrelations into an
// integrated autocorrelation time (GeyerTau), the common core of posterior's effective
// sample size (package summarise) and loo's relative efficiency (package loo); and the
// autocorrelation of model residuals pooled over series (Pooled), which fit_metrics.csv
// and the report's residual ACF plots show.
//
// The two effective-sample-size estimators differ on purpose in how they centre the
// chains, how they scale the lag products and how many lags they sum directly, each to
// match its R package to rounding. This package leaves those choices to its callers and
// returns unscaled sums, so that each estimator's arithmetic is exactly its own.
package acf
