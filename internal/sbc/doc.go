// Package sbc holds the arithmetic of simulation-based calibration (Talts, Betancourt,
// Simpson, Vehtari and Gelman 2018, "Validating Bayesian inference algorithms with
// simulation-based calibration", arXiv:1804.06788): the rank of a true value among
// thinned posterior draws, the thinning that makes those draws nearly independent, the
// chi-square test that ranks are uniform and the band a uniform rank histogram stays in,
// the coverage of central intervals, and two draws the priors need (a truncated normal and
// the Cholesky factor of an LKJ correlation matrix).
//
// It imports no other package of dsamstan, so that both the calibrate package and
// codegen's own calibration tests use it.
package sbc
