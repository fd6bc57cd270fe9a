package ingest

import "math"

// InterceptName is how the intercept is named in every output, as in R.
const InterceptName = "(Intercept)"

// Spec is a fully resolved model: the design built from the data, the formula, the priors and
// the bounds. It is what codegen renders and what summarise maps draws back through. All
// numbers are on the model scale (after log() for a log response) and in original units;
// Scaling says how codegen must standardise them and how draws map back.
type Spec struct {
	// Name is model.name (already sanitised for use in a folder name).
	Name string
	// Response is the KPI column; LogResponse is true for log(y) ~ ... formulas.
	Response    string
	LogResponse bool
	// N is the number of rows kept after na_action.
	N int
	// Y is the response on the model scale (log taken when LogResponse), length N.
	Y []float64
	// Offset is the offset column on the model scale, nil when the formula has none.
	Offset []float64
	// OffsetName is the offset's column name ("" when none).
	OffsetName string
	// Terms are the population terms in design order; Terms[0] is the intercept when present.
	Terms []Term
	// X holds the design column by column: X[k] has length N and belongs to Terms[k]
	// (all ones for the intercept).
	X [][]float64
	// Priors and Bounds have one entry per term, in original units.
	Priors []Prior
	Bounds []Bound
	// NoiseSD is the prior on the residual standard deviation, in original units.
	NoiseSD NoisePrior
	// Scale reports model.scale; Scaling is the identity when it is false.
	Scale   bool
	Scaling Scaling
	// Dictionary is the data dictionary (data.dictionary_path and data.dictionary merged),
	// nil when the config has none.
	Dictionary []DictionaryEntry
	// Transforms are the fixed media transforms of terms, in term order: X holds the
	// transformed columns, so each such term's coefficient multiplies the transformed values.
	Transforms []Transform
	// Series lists each series' rows (indexes into the kept rows), in date order: the rows
	// that share every grouping column, along which adstock carries over. Nil when no term
	// has adstock.
	Series [][]int
	// Dates holds the date_var value of each kept row (nil without data.date_var).
	Dates []string
	// Lines holds the 1-based CSV line number of each kept row, for messages.
	Lines []int
	// Groups holds the grouping factors of a panel model; empty for a single market.
	Groups []Grouping
	// Parameterization is model.random_effects.parameterization: "auto" (choose per
	// group-varying term from the data), "centered" or "noncentered".
	Parameterization string
	// Pooling is the pooled part of a pooled model (model.type pooled), nil otherwise.
	Pooling *Pooling
	// Dropped is the number of rows data.na_action omit dropped.
	Dropped int
	// Warnings are things users should be told (rows dropped, terms added implicitly).
	Warnings []string
}

// Term is one population-level coefficient.
type Term struct {
	// Name is the name users see: the column name, or InterceptName.
	Name string
	// Intercept is true for the (Intercept) term.
	Intercept bool
	// Factor is the text column of a categorical term's 0/1 column ("" otherwise), Level the
	// level it indicates: Name is Factor + Level, as R's model.matrix names it (channelTV).
	Factor, Level string
}

// Prior is a normal(Mean, SD) prior on one coefficient, in original units.
type Prior struct {
	Mean, SD float64
	// Default is true when the prior came from the defaults, not from priors.overrides,
	// priors.from_ols or priors.from_run.
	Default bool
	// Origin says where a prior that is not Default came from: OriginOverride, OriginOLS or
	// OriginRun + the folder.
	Origin string
}

// Bound is a hard constraint Lower <= coefficient <= Upper; ±Inf leaves a side open.
type Bound struct {
	Lower, Upper float64
}

// Unbounded is the default bound of every coefficient.
var Unbounded = Bound{Lower: math.Inf(-1), Upper: math.Inf(1)}

// Noise prior families, as DSAMbayes's prior_family_noise_sd flag encodes them.
const (
	NoiseNormal      = "normal"       // half-normal on noise_sd (prior_family_noise_sd = 0)
	NoiseLognormalMS = "lognormal_ms" // lognormal by natural-scale mean and sd (= 1)
)

// NoisePrior is the prior on noise_sd in original units.
type NoisePrior struct {
	Family   string // NoiseNormal or NoiseLognormalMS
	Mean, SD float64
	Default  bool
	// Origin says where a prior that is not Default came from (see Prior.Origin;
	// OriginConfig for priors.noise_sd).
	Origin string
}

// Scaling is the affine map between original units and the standardised space the sampler
// works in. The response is centred and scaled; predictors are scaled but not centred, so
// every coefficient maps by its own factor and priors and bounds map exactly, term by term:
//
//	y* = (y - YCentre) / YScale,   x*_k = x_k / XScale[k]   (XScale = 1 for the intercept)
//	intercept:  a = YCentre + YScale·a*        slope:  b_k = YScale·b*_k / XScale[k]
//	noise_sd:   σ = YScale·σ*                 offset: o* = o / YScale
//
// With model.scale false the map is the identity (YCentre 0, every scale 1).
type Scaling struct {
	YCentre, YScale float64
	XScale          []float64
}

// Grouping is one grouping factor of a panel model: a bar term (… | g) or (… || g).
type Grouping struct {
	// Factor is the grouping expression as written ("market" or "market:brand").
	Factor string
	// Index is the 1-based position used in sd_<Index>[term] names.
	Index int
	// Levels are the group labels in order of first appearance; Of[i] is row i's level (0-based).
	Levels []string
	Of     []int
	// Terms are the group-varying terms, indexes into Spec.Terms.
	Terms []int
	// Independent is true when the group effects are uncorrelated: always for (… || g),
	// and for (… | g) unless model.random_effects.correlated is true.
	Independent bool
	// SDPriors holds, for each of Terms, the prior on that term's group scale
	// sd_<Index>[term]: a normal(Mean, SD) truncated at 0, in original units.
	SDPriors []Prior
}
