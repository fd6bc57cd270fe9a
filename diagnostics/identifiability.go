package diagnostics

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
)

// IsMediaTerm reports whether population term k of spec is a media coefficient for the
// identifiability checks: not the intercept, and either transformed (adstock or Hill, in
// spec.Transforms) or named m_* (DSAMbayes's naming convention for media columns, which
// the report's media plots follow too). Controls such as trend, seasonality and holiday
// terms are neither, so they are left out.
func IsMediaTerm(spec *ingest.Spec, k int) bool {
	t := spec.Terms[k]
	if t.Intercept {
		return false
	}
	if strings.HasPrefix(t.Name, "m_") {
		return true
	}
	for _, tr := range spec.Transforms {
		if tr.Column == t.Name {
			return true
		}
	}
	return false
}

// identParam is one parameter of the identifiability checks: its draws (chains
// concatenated), its prior variance, and whether it is a media coefficient (else a
// transform parameter).
type identParam struct {
	name     string
	draws    []float64
	priorVar float64
	coef     bool
}

// identParams collects the media coefficients of spec and the transform parameters found
// in params, in design order, each transform parameter after the coefficients. Parameters
// absent from params are left out.
func identParams(spec *ingest.Spec, params []Param) []identParam {
	index := map[string]int{}
	for j, p := range params {
		index[p.Name] = j
	}
	// draws concatenates the chains of the parameter called name.
	draws := func(name string) ([]float64, bool) {
		j, ok := index[name]
		if !ok {
			return nil, false
		}
		var all []float64
		for _, ch := range params[j].Draws {
			all = append(all, ch...)
		}
		return all, true
	}
	var out []identParam
	for k, t := range spec.Terms {
		if !IsMediaTerm(spec, k) {
			continue
		}
		d, ok := draws(t.Name)
		if !ok {
			continue
		}
		b := ingest.Unbounded
		if k < len(spec.Bounds) {
			b = spec.Bounds[k]
		}
		v := math.NaN()
		if k < len(spec.Priors) {
			v = TruncNormalVariance(spec.Priors[k].Mean, spec.Priors[k].SD, b.Lower, b.Upper)
		}
		out = append(out, identParam{name: t.Name, draws: d, priorVar: v, coef: true})
	}
	for _, tr := range spec.Transforms {
		for _, tp := range []struct {
			kind  string
			prior *ingest.TransformPrior
		}{{ingest.DecayParam, tr.DecayPrior}, {ingest.HalfSaturationParam, tr.HalfSaturationPrior}, {ingest.ShapeParam, tr.ShapePrior}} {
			if tp.prior == nil {
				continue
			}
			name := ingest.TransformParamName(tp.kind, tr.Column)
			if d, ok := draws(name); ok {
				out = append(out, identParam{name: name, draws: d, priorVar: TransformPriorVariance(*tp.prior)})
			}
		}
	}
	return out
}

// Identifiability runs the identifiability gate on the media parameters of spec (its media
// coefficients, IsMediaTerm, and the transform parameters adstock_decay[…],
// half_saturation[…] and hill_shape[…] of its estimated transforms) found among params, in
// original units, under the policy mode ("" means publish; any other value must be one of
// Modes, else Identifiability panics) and the limits of diagnostics.identifiability
// (lim, as ingest.DiagnosticsConfig.IdentifiabilityLimits gives them). It returns two rows:
//
//   - identifiability_contraction_min: the smallest posterior contraction
//     1 − var_post/var_prior over those parameters, where var_prior is the variance of the
//     parameter's prior (a coefficient's normal prior truncated to its bounds; a transform
//     parameter's beta, lognormal or gamma prior), computed in closed form.
//   - identifiability_correlation_max: the largest absolute posterior correlation between a
//     media coefficient and another media parameter (coefficient or transform parameter).
//
// Each warns beyond its limit (lim.MinContraction, lim.MaxAbsCorrelation) in modes explore
// and publish and fails beyond it in strict, as a rank-deficient design does in P0. Both
// are skipped when lim.Enabled is false or there is nothing to check.
func Identifiability(spec *ingest.Spec, params []Param, lim ingest.IdentifiabilityConfig, mode string) []Check {
	pol := policies[mustMode(mode)]
	cID, cMetric := "identifiability_contraction_min", "min_posterior_contraction"
	rID, rMetric := "identifiability_correlation_max", "max_abs_posterior_correlation"
	contractionFail, corrFail := math.Inf(-1), math.Inf(1)
	cThr := "warn < " + num.Short(lim.MinContraction)
	rThr := "warn > " + num.Short(lim.MaxAbsCorrelation)
	if pol.identFail {
		contractionFail, corrFail = lim.MinContraction, lim.MaxAbsCorrelation
		cThr = "fail < " + num.Short(lim.MinContraction)
		rThr = "fail > " + num.Short(lim.MaxAbsCorrelation)
	}
	if !lim.Enabled {
		msg := "diagnostics.identifiability.enabled is false"
		return []Check{p1(cID, cMetric, math.NaN(), cThr, StatusSkipped, msg), p1(rID, rMetric, math.NaN(), rThr, StatusSkipped, msg)}
	}
	ps := identParams(spec, params)
	return []Check{contractionCheck(cID, cMetric, cThr, ps, lim, contractionFail), correlationCheck(rID, rMetric, rThr, ps, lim, corrFail)}
}

func contractionCheck(id, metric, thr string, ps []identParam, lim ingest.IdentifiabilityConfig, failT float64) Check {
	if len(ps) == 0 {
		return p1(id, metric, math.NaN(), thr, StatusSkipped, "no media coefficients (terms with a media transform or named m_*) among the parameters")
	}
	type found struct {
		name string
		c    float64
	}
	var all, low []found
	for _, p := range ps {
		c := Contraction(p.draws, p.priorVar)
		if math.IsNaN(c) {
			continue
		}
		all = append(all, found{p.name, c})
		if c < lim.MinContraction {
			low = append(low, found{p.name, c})
		}
	}
	if len(all) == 0 {
		return p1(id, metric, math.NaN(), thr, StatusSkipped, "no media parameter has a finite prior variance and finite draws")
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].c < all[j].c })
	sort.SliceStable(low, func(i, j int) bool { return low[i].c < low[j].c })
	worst := all[0]
	status := below(worst.c, lim.MinContraction, failT)
	msg := fmt.Sprintf("min posterior contraction %.3g at %s", worst.c, worst.name)
	if status == StatusPass {
		return p1(id, metric, worst.c, thr, status, msg+fmt.Sprintf(" (%d media parameters checked)", len(all)))
	}
	var names []string
	for _, f := range low {
		names = append(names, fmt.Sprintf("%s %.3g", f.name, f.c))
	}
	msg += fmt.Sprintf(" (%d of %d media parameters below %s: %s): the data barely narrow these beyond their priors, so their estimates (and the ROI built on them) restate the prior; "+
		"give each an informative prior (priors.overrides) you can defend, drop or combine the column with a related one, or fit on longer data with more variation in it",
		len(low), len(all), num.Short(lim.MinContraction), nameList(names))
	return p1(id, metric, worst.c, thr, status, msg)
}

func correlationCheck(id, metric, thr string, ps []identParam, lim ingest.IdentifiabilityConfig, failT float64) Check {
	type pair struct {
		a, b      string
		r         float64
		transform bool // b is a transform parameter
	}
	var pairs []pair
	coefs := 0
	for i, p := range ps {
		if !p.coef {
			continue
		}
		coefs++
		for j, q := range ps {
			// every pair of coefficients once, and every transform parameter with every
			// coefficient
			if q.coef && j <= i {
				continue
			}
			r := Correlation(p.draws, q.draws)
			if !math.IsNaN(r) {
				pairs = append(pairs, pair{p.name, q.name, r, !q.coef})
			}
		}
	}
	if coefs == 0 || len(ps) < 2 {
		return p1(id, metric, math.NaN(), thr, StatusSkipped, "fewer than two media parameters (terms with a media transform or named m_*, and their transform parameters)")
	}
	if len(pairs) == 0 {
		return p1(id, metric, math.NaN(), thr, StatusSkipped, "no pair of media parameters with varying, finite draws")
	}
	sort.SliceStable(pairs, func(i, j int) bool { return math.Abs(pairs[i].r) > math.Abs(pairs[j].r) })
	worst := pairs[0]
	v := math.Abs(worst.r)
	status := above(v, lim.MaxAbsCorrelation, failT)
	msg := fmt.Sprintf("max |posterior correlation| %.3g between %s and %s (correlation %.3g)", v, worst.a, worst.b, worst.r)
	if status == StatusPass {
		return p1(id, metric, v, thr, status, msg+fmt.Sprintf(" (%d pairs checked)", len(pairs)))
	}
	var names []string
	transform := false
	for _, p := range pairs {
		if math.Abs(p.r) <= lim.MaxAbsCorrelation {
			break
		}
		names = append(names, fmt.Sprintf("%s ~ %s %.3g", p.a, p.b, p.r))
		transform = transform || p.transform
	}
	msg += fmt.Sprintf(" (%d of %d pairs above %s: %s): the data cannot tell these apart, only their combined effect, so each one's contribution and ROI is unreliable; "+
		"combine the columns into one term (or drop one), put an informative prior (priors.overrides) on one of them from an experiment or other evidence, or fit on longer data in which they vary independently",
		len(names), len(pairs), num.Short(lim.MaxAbsCorrelation), nameList(names))
	if transform {
		msg += "; for a transform parameter, tighten its prior or fix its value in the transforms section"
	}
	return p1(id, metric, v, thr, status, msg)
}

// Contraction returns the posterior contraction 1 − var_post/var_prior of a parameter
// with the given draws and prior variance: near 1 when the data pin it down, near 0 when
// the posterior is the prior. var_post is the sample variance (divisor n − 1). It is NaN
// for fewer than two draws, a non-finite draw or a prior variance that is not positive; an
// infinite prior variance (a flat prior) gives 1.
func Contraction(draws []float64, priorVar float64) float64 {
	if !(priorVar > 0) || len(draws) < 2 {
		return math.NaN()
	}
	v := variance(draws)
	if !finite(v) {
		return math.NaN()
	}
	if math.IsInf(priorVar, 1) {
		return 1
	}
	return 1 - v/priorVar
}

// variance is the sample variance (divisor n − 1) of x, len(x) ≥ 2.
func variance(x []float64) float64 {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var s float64
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s / float64(len(x)-1)
}

// Correlation returns the Pearson correlation of x and y, which must have the same length
// (Correlation panics otherwise). It is NaN when either is constant, holds a non-finite
// value or has fewer than two values.
func Correlation(x, y []float64) float64 {
	if len(x) != len(y) {
		panic("diagnostics: slice length mismatch")
	}
	if len(x) < 2 {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if !(sxx > 0 && syy > 0) || !finite(sxy) || !finite(sxx) || !finite(syy) {
		return math.NaN()
	}
	return math.Max(-1, math.Min(1, sxy/math.Sqrt(sxx*syy)))
}

// TruncNormalVariance returns the variance of a normal(mean, sd) distribution truncated to
// [lower, upper] (±Inf leaves a side open):
//
//	sd²·[1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²],  α = (lower−mean)/sd, β = (upper−mean)/sd,
//
// with Z = Φ(β) − Φ(α) (Johnson, Kotz and Balakrishnan 1994, "Continuous Univariate
// Distributions", vol. 1, §10.1). A half-normal (mean 0, lower 0) gives sd²·(1 − 2/π). It
// is NaN when sd is not positive or the interval holds no probability mass.
func TruncNormalVariance(mean, sd, lower, upper float64) float64 {
	if !(sd > 0) || math.IsNaN(mean) || !(lower < upper) {
		return math.NaN()
	}
	if math.IsInf(sd, 1) {
		return math.Inf(1)
	}
	std := distuv.UnitNormal
	a, b := (lower-mean)/sd, (upper-mean)/sd
	// Use the upper tail when both ends are above the mean, for accuracy.
	if a > 0 {
		a, b = -b, -a
	}
	z := std.CDF(b) - std.CDF(a)
	if !(z > 0) {
		return math.NaN()
	}
	// xφ(x) → 0 as x → ±∞.
	xphi := func(x float64) float64 {
		if math.IsInf(x, 0) {
			return 0
		}
		return x * std.Prob(x)
	}
	d := (std.Prob(a) - std.Prob(b)) / z
	return sd * sd * (1 + (xphi(a)-xphi(b))/z - d*d)
}

// TransformPriorVariance returns the variance of a transform parameter's prior in
// original units: beta(A, B) AB/((A+B)²(A+B+1)); lognormal(meanlog A, sdlog B)
// (e^{B²} − 1)e^{2A+B²}; gamma(shape A, rate B) A/B². It is NaN for another family.
func TransformPriorVariance(p ingest.TransformPrior) float64 {
	a, b := p.A, p.B
	switch p.Family {
	case ingest.PriorBeta:
		return a * b / ((a + b) * (a + b) * (a + b + 1))
	case ingest.PriorLognormal:
		return math.Expm1(b*b) * math.Exp(2*a+b*b)
	case ingest.PriorGamma:
		return a / (b * b)
	}
	return math.NaN()
}
