// Package simulate writes seeded example datasets with known true parameters, so that a fit
// can be checked against the truth and `dsamstan example` always writes the same files.
package simulate
