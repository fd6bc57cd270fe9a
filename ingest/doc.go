// Package ingest reads a run: the YAML run config (DSAMbayes runner schema v1), the CSV data
// and the model formula, checks them, and resolves them into a Spec, the model that codegen
// renders.
//
// # Config
//
// ParseConfig decodes strictly (unknown keys are errors), fills every default, resolves
// relative paths against the config file's folder and validates; every problem is reported
// at once in a *ConfigError whose lines read
//
//	ingest: run.yaml:14:5: `fit.mcmc.chains` is 0; must be between 1 and 64
//
// The allocation section is kept as decoded YAML and not validated here.
//
// # Formula
//
// ParseFormula accepts column names (R-style, or `quoted with backticks`), +, 1 / 0 / - 1
// for the intercept, log(y) on the left, one offset(x), and group terms ( … | g ) and
// ( … || g ) with composite keys g1:g2. Anything else is a *FormulaError that points at the
// offending character.
//
// # Data
//
// LoadCSV reads the data as text, column by column; BuildSpec parses the columns the formula
// uses as numbers. Missing values are empty cells, NA, N/A and NaN; data.na_action omit drops
// rows with one in a used column, error refuses them.
//
// # Units and scaling
//
// Every number in a Spec is in original units on the model scale (log y for a log response).
// Default priors follow DSAMbayes's normal(0, 5) on the standardised scale, written out in
// original units: normal(0, 5·sd(y)/sd(x)) for a slope, normal(mean(y), 5·sd(y)) for the
// intercept, a half-normal with sd sd(y) for noise_sd. User priors and bounds are in
// original units too. Spec.Scaling records the affine map codegen applies when model.scale
// is true; since predictors are scaled but not centred, each coefficient maps by its own
// factor and priors and bounds map exactly.
package ingest
