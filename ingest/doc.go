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
// The allocation section is package optimise's Scenario. ParseConfig decodes it with the
// rest of the file (both with package internal/strictyaml), so its problems are in the same
// *ConfigError, with their positions and keys under allocation.
//
// DSAMbayes sections for features dsamstan lacks (security,
// diagnostics.model_selection) are accepted while
// switched off, so ported configs load unchanged; the key that switches one on is refused at
// its line, saying what is missing. time_components.holidays, when switched on, generates
// holiday columns from a calendar CSV (see holidays.go): LoadData adds them to the table and
// BuildSpec appends them to the formula's terms. data.format long (see long.go) is pivoted
// to one column per variable by LoadData. A data dictionary (data.dictionary_path and
// data.dictionary, see dictionary.go) is checked against the data and carried in
// Spec.Dictionary; it does not change the model.
// data.date_format (strftime style, see DateLayout) makes every value of data.date_var
// parse in that format. Without it the format is recognised from the
// values (see dateLayouts), and slashed dates that read both day-first and month-first
// (no day past the 12th) are refused, naming the first line. diagnostics.identifiability
// holds the limits of the identifiability gate (IdentifiabilityConfig);
// diagnostics.time_series_selection the time-series cross-validation settings
// (TimeSeriesSelectionConfig), which need data.date_var. The forecast section
// (ForecastConfig) names a media plan to forecast after the fit; PlanDates and PlanTable read
// a plan's dates and holiday columns as the run's. Spec.Subset cuts a spec to some of
// its rows (a fold's training or holdout weeks) keeping the model and the transformed columns
// of the full series; Config.RowTimes parses each row's date.
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
// A formula term whose column holds text (no value is a number, and none looks like a
// formatted number such as 1,234) is categorical, as a character column is in R's lm(): it
// expands into treatment contrasts, one 0/1 column per level except the reference, named
// column + level as R's model.matrix names them (channelTV), in the term's place. The levels
// are those of the rows kept, sorted as R sorts text in an English locale (case-insensitive,
// then lower case first); the first, or the one data.reference_levels names, is the
// reference, except in a model without intercept, where the first categorical term keeps
// every level. Priors and bounds name the 0/1 columns; a name that extends a formula term (channelTV) is checked by BuildSpec, once the
// levels are known. A categorical term with one level or more than 50, inside a group term,
// in cre.vars or under transforms is refused with its position.
//
// LoadCSV reads the data as text, column by column; BuildSpec parses the columns the formula
// uses as numbers. The file is streamed and the columns are sized from the file size, so a
// load holds the table and little else. Each cell costs its text (shared with the rest of
// its row) plus a 16-byte string header: a 242 MB file of 1 000 000 rows × 30 columns loads
// into a 700 MB table with a peak heap of 745 MB (BenchmarkLoadCSV).
//
// What LoadCSV accepts: comma-separated UTF-8 text with a header line; a UTF-8 byte-order
// mark (dropped); LF, CRLF or old-Mac CR-only line ends (CR-only is recognised when the first
// 64 KB hold a CR and no LF); RFC 4180 quoting (a quoted field may hold commas, line breaks
// and doubled quotes ""); blank lines (skipped); spaces, stray byte-order marks and
// zero-width spaces around column names (trimmed); an unnamed column, such as the row names
// R's write.csv adds (kept, but no formula can name it). Column names may hold anything; a
// formula names an unusual one in backticks, and messages quote a name that holds invisible
// characters.
//
// What it refuses, each with the line (and column for quoting errors): an empty file; a
// column name that appears twice (after trimming); a row with more or fewer fields than the
// header, with a hint when two neighbouring fields look like one number cut at a thousands
// separator (1,234 unquoted); a bare or unterminated quote; and a header that is a single
// column holding ";", a tab or "|", which is a file in another separator.
//
// Cells: surrounding spaces are ignored. Missing values are empty cells, NA, N/A, n/a,
// #N/A, NaN, nan and NAN; data.na_action omit drops rows with one in a used column (a
// warning lists their lines), error refuses them, listing each with its line and column.
// Numbers are what strconv.ParseFloat reads; Inf, -Inf and Infinity (any case) and numbers
// beyond ±1.8e308 are infinities, which BuildSpec keeps for the data checks and codegen to
// refuse with the row's line. Anything else in a used column is refused with its line,
// column and, where the cell looks like a formatted number, the fix: thousands separators
// (1,234 1.234.567 1'234 "1 234"), decimal commas (12,5; 1.234,5), currency and percent
// signs ($12.5, 12%).
//
// # Units and scaling
//
// Every number in a Spec is in original units on the model scale (log y for a log response).
// Default priors follow DSAMbayes's normal(0, 5) on the standardised scale, written out in
// original units: normal(0, 5·sd(y)/sd(x)) for a slope, normal(mean(y), 5·sd(y)) for the
// intercept, a half-normal with sd sd(y) for noise_sd. User priors and bounds are in
// original units too. Spec.Scaling records the affine map codegen applies when model.scale
// is true; since predictors are scaled but not centred, each coefficient maps by its own
// factor and priors and bounds map exactly. Config.PriorTable lists every parameter's
// effective prior and bounds and where each came from.
//
// # Updating priors
//
// priors.from_ols (one market only) replaces each population coefficient's prior by
// normal(OLS estimate, OLS standard error × priors.ols_inflate), OLS being fitted on Spec.X
// (see OLS; a rank-deficient design is refused, naming the collinear columns).
// priors.from_run names a previous run folder; the pipeline reads its posterior
// (Config.SetPreviousRun) and BuildSpec gives every parameter of the same name that
// posterior, sd × priors.inflate, as prior: normal for coefficients, lognormal_ms for
// noise_sd, a normal truncated at 0 matched by moments (TruncNormalMS) for group scales,
// beta or lognormal by moments for transform parameters. priors.overrides and
// priors.noise_sd still win; bounds still apply. Prior.Origin (and PriorRow.Source) record
// where each prior came from.
//
// # Media transforms
//
// The transforms section sets, per formula term, a geometric adstock and then a Hill
// saturation of the term's column (see Transform for the formulas). Each parameter is a
// number, which fixes it, or estimate, which makes the model sample it under a prior:
// decay beta(2, 2), hill_shape lognormal(0, 0.5) and half_saturation lognormal(log(median
// positive value of the column over the rows used), 1) by default, or the prior an entry of
// priors.overrides gives by family, mean and sd (moment matching, see TransformPrior). BuildSpec
// applies the transforms when it builds the design, an estimated parameter at its prior's
// centre, so Spec.X holds the transformed columns: default priors, CRE means and everything
// downstream see the transformed values, and the coefficient multiplies them. The adstock
// runs within each series, the rows that share the value of every grouping column of the
// formula (the whole data without group terms), in the order of data.date_var: rows out of
// date order are sorted for the adstock (the data keeps its order), and a date repeated
// within a series, or a gap in its cadence (the shortest step between its dates, or
// calendar months), is an error naming the series, the lines and the dates.
//
// transforms.sensitivity lists values to try for fixed parameters; SensitivityScenarios
// expands them into every combination and WithScenario gives the config of one, fixed at
// those values.
//
// # Panel models
//
// Each group term ( … | g ) becomes a Grouping: its levels (composite keys market:brand
// group by the combined label "north:acme"), its group-varying terms (indexes into
// Spec.Terms) and one group scale sd_<i>[term] per term, i counting the group terms from 1
// (sd_1[(Intercept)], sd_1[m_tv]). Bounds apply to the population coefficients only.
//
// The default group-scale prior is DSAMbayes's, "a normal whose sd is the between-group
// standard deviation of the response, rounded to 2 decimals", applied like every default on
// the standardised scale and written out in original units, so scaled and unscaled fits
// share it: per grouping factor, s = round(sd of the group means of y*, 2) with
// y* = (y − mean y)/sd y (sd with n−1 over the group means, each group counting once;
// floored at 0.01, also for a single group), then normal(0, s·sd(y)) truncated at 0 for the
// intercept's scale and normal(0, s·sd(y)/sd(x)) for a slope on x. priors.overrides may
// replace it by name (mean ≥ 0, sd > 0, original units).
//
// BuildSpec refuses a group with a single row, and appends warnings for the pitfalls of
// the DSAMbayes tutorial: fewer than 4 groups (the group scales follow their priors),
// groups with fewer than 5 rows per group-varying term, and a group-varying slope whose
// variable is constant within a group.
//
// # Pooled models
//
// pooling.enabled (model.type pooled) makes a one-market model whose media terms listed in
// the map file pooling.map_path (a column term and one per pooling.grouping_vars entry)
// have their coefficients partially pooled across those dimensions (see Pooling). The map
// is read by BuildSpec and refused at its lines; the pooled terms' own priors are replaced
// by the pooled prior, whose parameters pooled_mean, sd_<dimension> and sd_term take
// priors.overrides like any other (see poolingPriors for the defaults).
//
// CRE (Mundlak): for each cre.vars entry the mean within the CRE group is joined onto every
// row as the population term cre_mean_<var> (prefix cre.prefix), with default priors and
// bounds like any other term. CRE needs group terms and at least 2 groups; a mean equal in
// every group is refused when model.scale is true (it cannot be standardised) and warned
// about otherwise; more CRE variables than groups is warned about.
package ingest
