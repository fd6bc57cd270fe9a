package diagnostics

import "math"

// policy holds the thresholds of one mode; the table in doc.go lists them all. A status is
// reached when the value is strictly beyond the threshold (above for "max" metrics, below for
// "min" metrics); an infinite threshold is never reached.
type policy struct {
	// kappaWarn, kappaFail: condition number of the design. kappaDowngrade turns a fail into a
	// warn (publish).
	kappaWarn, kappaFail float64
	kappaDowngrade       bool
	// rankDeficit is the status of a rank-deficient design.
	rankDeficit string
	// withinSome is the status when a group-varying term is constant within some groups,
	// withinAll when it is constant within every group.
	withinSome, withinAll string

	rhatWarn, rhatFail float64 // max Rhat
	essWarn, essFail   float64 // min bulk and tail ESS
	// divFail is the fraction of divergent draws above which divergences fail; any
	// divergence at all warns.
	divFail   float64
	treeWarn  float64 // fraction of draws at max_treedepth
	treeFail  float64
	ebfmiWarn float64 // min E-BFMI over chains
	ebfmiFail float64

	// identFail makes the identifiability gate fail, rather than warn, beyond the limits of
	// diagnostics.identifiability (a posterior contraction below min_contraction, an
	// absolute posterior correlation above max_abs_correlation).
	identFail bool
	// Ljung–Box and Jarque–Bera p-values of the standardised residuals: warn below
	// residWarn, fail below residFail.
	residWarn, residFail float64
}

var policies = map[string]policy{
	ModeExplore: {
		kappaWarn: 1e4, kappaFail: math.Inf(1),
		rankDeficit: StatusWarn,
		withinSome:  StatusWarn, withinAll: StatusWarn,
		rhatWarn: 1.05, rhatFail: 1.10,
		essWarn: 100, essFail: 50,
		divFail:  0.05,
		treeWarn: 0.05, treeFail: 0.25,
		ebfmiWarn: 0.2, ebfmiFail: 0.1,
		residWarn: 0.01, residFail: 0,
	},
	ModePublish: {
		kappaWarn: 1e4, kappaFail: 1e6, kappaDowngrade: true,
		rankDeficit: StatusWarn,
		withinSome:  StatusWarn, withinAll: StatusFail,
		rhatWarn: 1.01, rhatFail: 1.05,
		essWarn: 400, essFail: 100,
		divFail:  0.01,
		treeWarn: 0.01, treeFail: 0.10,
		ebfmiWarn: 0.3, ebfmiFail: 0.2,
		residWarn: 0.05, residFail: 0.001,
	},
	ModeStrict: {
		kappaWarn: 1e4, kappaFail: 1e6,
		rankDeficit: StatusFail,
		withinSome:  StatusFail, withinAll: StatusFail,
		rhatWarn: 1.005, rhatFail: 1.01,
		essWarn: 1000, essFail: 400,
		divFail:  0,
		treeWarn: 0, treeFail: 0.01,
		ebfmiWarn: 0.4, ebfmiFail: 0.3,
		identFail: true,
		residWarn: 0.05, residFail: 0.01,
	},
}

// above grades a "larger is worse" value: fail beyond failT, warn beyond warnT, else pass.
func above(v, warnT, failT float64) string {
	switch {
	case v > failT:
		return StatusFail
	case v > warnT:
		return StatusWarn
	}
	return StatusPass
}

// below grades a "smaller is worse" value.
func below(v, warnT, failT float64) string {
	switch {
	case v < failT:
		return StatusFail
	case v < warnT:
		return StatusWarn
	}
	return StatusPass
}
