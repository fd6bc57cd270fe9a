package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/internal/num"
)

// Where a prior came from, as priors.csv's source column records it (see PriorRow.Source).
const (
	OriginDefault  = "default"  // a default rule
	OriginConfig   = "config"   // priors.noise_sd
	OriginOLS      = "ols"      // priors.from_ols
	OriginOverride = "override" // an entry of priors.overrides
	// OriginRun is followed by priors.from_run as written: run:results/2026-11.
	OriginRun = "run:"
)

// olsTol is the relative tolerance below which a design column counts as a linear
// combination of the columns before it: R's lm() default (lm.fit's tol = 1e-07, applied by
// its QR to each column's norm after the earlier columns are projected out).
const olsTol = 1e-7

// PreviousRun is what priors.from_run takes from the previous run folder. The pipeline reads
// it (see Config.SetPreviousRun); BuildSpec turns it into priors.
type PreviousRun struct {
	// Posterior holds each parameter's posterior mean and sd by name, as that run's
	// posterior_summary.csv has them (original units).
	Posterior map[string]Moments
	// Params names the parameters that had a prior in that run (its priors.csv), nil when
	// it recorded none; those this model lacks are warned about.
	Params []string
}

// Moments are a distribution's mean and standard deviation.
type Moments struct{ Mean, SD float64 }

// SetPreviousRun gives BuildSpec the posterior of the run priors.from_run names.
func (c *Config) SetPreviousRun(p *PreviousRun) { c.previous = p }

// Where returns the file position of a config key (file:line:col), "" when unknown.
func (c *Config) Where(key string) string { return c.where(key) }

// FromRunWritten returns priors.from_run as the config file writes it ("" when unset).
func (c *Config) FromRunWritten() string { return c.fromRun }

// updateDefaults fills the inflation factors of priors.from_ols and priors.from_run when
// those are on, and makes priors.from_run absolute.
func (c *Config) updateDefaults() {
	p := &c.Priors
	if p.FromOLS && !c.pos.Given("priors.ols_inflate") {
		p.OLSInflate = 1
	}
	if p.FromRun == "" {
		return
	}
	if !c.pos.Given("priors.inflate") {
		p.Inflate = 1
	}
	c.fromRun = p.FromRun
	if !filepath.IsAbs(p.FromRun) {
		p.FromRun = filepath.Join(c.Dir, p.FromRun)
	}
}

// validateUpdate checks priors.from_ols, priors.from_run and their inflation factors.
func (c *Config) validateUpdate(v *validator, f *Formula) {
	p := c.Priors
	inflate := func(key string, x float64, on bool, switchKey string) {
		switch {
		case !on && x != 0:
			v.add(key, "`%s` is set, but `%s` is not; remove it, or set `%s`", key, switchKey, switchKey)
		case on && (!(x > 0) || math.IsInf(x, 1)):
			v.add(key, "`%s` is %s; must be > 0 and finite (the factor on the prior sd; default 1)", key, num.Plain(x))
		}
	}
	inflate("priors.ols_inflate", p.OLSInflate, p.FromOLS, "priors.from_ols")
	inflate("priors.inflate", p.Inflate, p.FromRun != "", "priors.from_run")
	if p.FromOLS && p.FromRun != "" {
		v.add("priors.from_ols", "`priors.from_ols` and `priors.from_run` are both set; choose one source for the priors")
	}
	if p.FromOLS && f != nil && (len(f.Bars) > 0 || c.CRE.Enabled) {
		v.add("priors.from_ols", "`priors.from_ols` is true, but the model is a panel (group terms or CRE); OLS priors (DSAMbayes's blm.lm) are for a single market: remove it, or give the priors in `priors.overrides`")
	}
	if p.FromRun == "" {
		return
	}
	written := c.fromRun
	if written == "" {
		written = p.FromRun
	}
	if st, err := os.Stat(p.FromRun); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			v.add("priors.from_run", "previous run folder %q not found (`priors.from_run` is resolved against the config's folder %s)", written, c.Dir)
		} else {
			v.add("priors.from_run", "previous run folder %q: %v", written, err)
		}
	} else if !st.IsDir() {
		v.add("priors.from_run", "`priors.from_run` is %q, which is a file; it must name a previous run folder", written)
	}
}

// OLS fits y on the columns x[0] … x[p−1] (each of length len(y)) by least squares, with a
// Householder QR, and returns the estimates and their standard errors σ̂·√diag((XᵀX)⁻¹),
// σ̂² = RSS/(n−p), as R's summary(lm()) reports them. A column within olsTol of the span of
// the columns before it is a rank deficiency: the error names it and the columns it is a
// combination of (names[k] names column k). So is a design with no more rows than columns,
// or one that fits y exactly (the standard errors would be 0).
func OLS(x [][]float64, y []float64, names []string) (est, se []float64, err error) {
	n, p := len(y), len(x)
	if n <= p {
		return nil, nil, fmt.Errorf("OLS needs more rows than coefficients; the model has %d rows and %d coefficients", n, p)
	}
	xm := mat.NewDense(n, p, nil)
	norms := make([]float64, p)
	for k, col := range x {
		xm.SetCol(k, col)
		norms[k] = norm2(col)
	}
	var qr mat.QR
	qr.Factorize(xm)
	var r mat.Dense
	qr.RTo(&r)
	var indep []int
	var problems []string
	for k := range p {
		if norms[k] > 0 && math.Abs(r.At(k, k)) > olsTol*norms[k] {
			indep = append(indep, k)
			continue
		}
		problems = append(problems, collinear(x, names, norms, indep, k))
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("the design is rank-deficient, so OLS has no unique estimate: %s; drop one of each set of collinear columns", strings.Join(problems, "; "))
	}
	var b mat.VecDense
	if err := qr.SolveVecTo(&b, false, mat.NewVecDense(n, slices.Clone(y))); err != nil {
		return nil, nil, fmt.Errorf("OLS: %w", err)
	}
	rss := 0.0
	for i := range n {
		e := y[i]
		for k := range p {
			e -= x[k][i] * b.AtVec(k)
		}
		rss += e * e
	}
	sigma := math.Sqrt(rss / float64(n-p))
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return nil, nil, fmt.Errorf("OLS fits the response exactly (residual sd %s), so its standard errors, the priors' sds, would be 0", num.Plain(sigma))
	}
	rtri := mat.NewTriDense(p, mat.Upper, nil)
	rtri.Copy(r.Slice(0, p, 0, p))
	var rinv mat.TriDense
	if err := rinv.InverseTri(rtri); err != nil {
		return nil, nil, fmt.Errorf("OLS: %w", err)
	}
	est, se = make([]float64, p), make([]float64, p)
	for k := range p {
		est[k] = b.AtVec(k)
		ss := 0.0
		for j := k; j < p; j++ {
			ss += rinv.At(k, j) * rinv.At(k, j)
		}
		se[k] = sigma * math.Sqrt(ss)
	}
	return est, se, nil
}

// norm2 is the Euclidean norm of x.
func norm2(x []float64) float64 {
	return mat.Norm(mat.NewVecDense(len(x), slices.Clone(x)), 2)
}

// collinear describes column k, a linear combination of the columns indep: it regresses
// x[k] on them and names those that take part.
func collinear(x [][]float64, names []string, norms []float64, indep []int, k int) string {
	if norms[k] == 0 {
		return fmt.Sprintf("column %s is all zeros", show(names[k]))
	}
	if len(indep) == 0 {
		return fmt.Sprintf("column %s is numerically zero", show(names[k]))
	}
	n := len(x[k])
	a := mat.NewDense(n, len(indep), nil)
	for j, c := range indep {
		a.SetCol(j, x[c])
	}
	var qr mat.QR
	qr.Factorize(a)
	var c mat.VecDense
	if err := qr.SolveVecTo(&c, false, mat.NewVecDense(n, slices.Clone(x[k]))); err != nil {
		return fmt.Sprintf("column %s is a linear combination of earlier columns", show(names[k]))
	}
	var terms []string
	var set []string
	for j, col := range indep {
		cj := c.AtVec(j)
		if math.Abs(cj)*norms[col] > 1e-6*norms[k] {
			terms = append(terms, fmt.Sprintf("%s·%s", num.Short(cj), show(names[col])))
			set = append(set, names[col])
		}
	}
	if len(terms) == 0 {
		return fmt.Sprintf("column %s is a linear combination of earlier columns", show(names[k]))
	}
	set = append(set, names[k])
	return fmt.Sprintf("%s = %s (collinear: %s)", show(names[k]), strings.Join(terms, " + "), showList(set))
}

// TruncNormalMS returns the location mu and scale sigma of the normal truncated at 0 (the
// family of a group scale's prior) whose mean is m and sd s, by moment matching. With
// t = mu/sigma and λ = φ(t)/Φ(t), the truncated normal has mean sigma·(t+λ) and variance
// sigma²·(1 − λ(t+λ)); its coefficient of variation falls from 1 (t → −∞) to 0, so t is
// found by bisection on s/m. It returns false when m ≤ 0, s ≤ 0 or s/m is beyond what the
// family reaches here (0.9976, at t = −20).
func TruncNormalMS(m, s float64) (mu, sigma float64, ok bool) {
	if !(m > 0) || !(s > 0) || math.IsInf(m, 0) || math.IsInf(s, 0) {
		return 0, 0, false
	}
	target := s / m
	lo, hi := -20.0, 1e9
	if target >= truncCV(lo) {
		return 0, 0, false
	}
	for range 200 {
		mid := lo + (hi-lo)/2
		if truncCV(mid) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	t := lo + (hi-lo)/2
	sigma = m / (t + millsInv(t))
	return t * sigma, sigma, true
}

// millsInv is φ(t)/Φ(t) for the standard normal.
func millsInv(t float64) float64 {
	phi := math.Exp(-t*t/2) / math.Sqrt(2*math.Pi)
	return phi / (0.5 * math.Erfc(-t/math.Sqrt2))
}

// truncCV is the coefficient of variation of a normal(t, 1) truncated at 0.
func truncCV(t float64) float64 {
	l := millsInv(t)
	return math.Sqrt(1-l*(t+l)) / (t + l)
}

// TruncNormalMoments returns the mean and sd of a normal(mu, sigma) truncated at 0.
func TruncNormalMoments(mu, sigma float64) (mean, sd float64) {
	t := mu / sigma
	l := millsInv(t)
	return sigma * (t + l), sigma * math.Sqrt(1-l*(t+l))
}

// olsPriors sets each population coefficient's prior to normal(OLS estimate, OLS standard
// error × priors.ols_inflate), on Spec.X and y less the offset.
func (b *builder) olsPriors(s *Spec) error {
	y := slices.Clone(s.Y)
	for i := range y {
		if s.Offset != nil {
			y[i] -= s.Offset[i]
		}
	}
	names := make([]string, len(s.Terms))
	for k, t := range s.Terms {
		names[k] = t.Name
	}
	est, se, err := OLS(s.X, y, names)
	if err != nil {
		return b.configErr("priors.from_ols", "`priors.from_ols`: %v", err)
	}
	for k := range s.Terms {
		s.Priors[k] = Prior{Mean: est[k], SD: se[k] * b.cfg.Priors.OLSInflate, Origin: OriginOLS}
	}
	return nil
}

// previousMoments returns the previous run's posterior mean and sd of name, the sd times
// priors.inflate. A parameter the previous run lacks returns false; one whose sd is not a
// positive number (a MAP fit) is warned about too.
func (b *builder) previousMoments(name string) (Moments, bool) {
	prev := b.cfg.previous
	if prev == nil {
		return Moments{}, false
	}
	m, ok := prev.Posterior[name]
	if !ok {
		return Moments{}, false
	}
	sd := m.SD * b.cfg.Priors.Inflate
	if !isFinite(m.Mean) || !(sd > 0) || math.IsInf(sd, 1) {
		b.warnf("priors.from_run: the previous run's posterior of %s has mean %s and sd %s, which make no prior; %s keeps its default prior", show(name), num.Plain(m.Mean), num.Plain(m.SD), show(name))
		return Moments{}, false
	}
	return Moments{Mean: m.Mean, SD: sd}, true
}

// runTransformPrior returns the prior priors.from_run gives the transform parameter name of
// kind: the previous posterior's mean and sd (× priors.inflate) by moment matching, a beta
// for a decay and a lognormal for a half-saturation or a shape.
func (b *builder) runTransformPrior(kind, name string) (TransformPrior, bool) {
	m, ok := b.previousMoments(name)
	if !ok {
		return TransformPrior{}, false
	}
	family := transformFamilies[kind][0]
	switch {
	case !(m.Mean > 0) || (family == PriorBeta && !(m.Mean < 1)):
		b.warnf("priors.from_run: the previous run's posterior mean of %s is %s, outside its range; it keeps its default prior", show(name), num.Plain(m.Mean))
		return TransformPrior{}, false
	case family == PriorBeta && m.SD*m.SD >= m.Mean*(1-m.Mean):
		b.warnf("priors.from_run: no beta has the previous run's posterior mean %s and sd %s (× priors.inflate) of %s; it keeps its default prior (lower priors.inflate)", num.Plain(m.Mean), num.Plain(m.SD), show(name))
		return TransformPrior{}, false
	}
	p := momentPrior(family, m.Mean, m.SD)
	p.Origin = b.runOrigin()
	return p, true
}

// runPriors gives the population coefficients (normal), noise_sd (lognormal_ms) and the
// group scales (normal truncated at 0, by moments) the previous run's posterior as prior,
// wherever that run has the parameter. The transform parameters took theirs with the
// transforms (see setTransformPriors).
func (b *builder) runPriors(s *Spec) {
	origin := b.runOrigin()
	for k, t := range s.Terms {
		if m, ok := b.previousMoments(t.Name); ok {
			s.Priors[k] = Prior{Mean: m.Mean, SD: m.SD, Origin: origin}
		}
	}
	if m, ok := b.previousMoments(NoiseSDName); ok {
		if m.Mean > 0 {
			s.NoiseSD = NoisePrior{Family: NoiseLognormalMS, Mean: m.Mean, SD: m.SD, Origin: origin}
		} else {
			b.warnf("priors.from_run: the previous run's posterior mean of noise_sd is %s; noise_sd keeps its default prior", num.Plain(m.Mean))
		}
	}
	for gi := range s.Groups {
		g := &s.Groups[gi]
		for j, k := range g.Terms {
			name := GroupScaleName(g.Index, s.Terms[k].Name)
			m, ok := b.previousMoments(name)
			if !ok {
				continue
			}
			mu, sigma, ok := TruncNormalMS(m.Mean, m.SD)
			if !ok {
				b.warnf("priors.from_run: no normal truncated at 0 has the previous run's posterior mean %s and sd %s (× priors.inflate) of %s; it keeps its default prior", num.Plain(m.Mean), num.Plain(m.SD), show(name))
				continue
			}
			g.SDPriors[j] = Prior{Mean: mu, SD: sigma, Origin: origin}
		}
	}
}

// runOrigin is the origin of a prior taken from priors.from_run.
func (b *builder) runOrigin() string { return OriginRun + b.cfg.fromRunText() }

// fromRunText is priors.from_run as written, or as set in code.
func (c *Config) fromRunText() string {
	if c.fromRun != "" {
		return c.fromRun
	}
	return c.Priors.FromRun
}

// staleParams warns about the parameters the previous run had a prior on that this model
// lacks: their posterior is not used.
func (b *builder) staleParams(s *Spec) {
	prev := b.cfg.previous
	if prev == nil {
		return
	}
	have := map[string]bool{NoiseSDName: true}
	for _, t := range s.Terms {
		have[t.Name] = true
	}
	for _, g := range s.Groups {
		for _, k := range g.Terms {
			have[GroupScaleName(g.Index, s.Terms[k].Name)] = true
		}
	}
	for _, t := range s.Transforms {
		for _, p := range []struct {
			kind  string
			prior *TransformPrior
		}{{DecayParam, t.DecayPrior}, {HalfSaturationParam, t.HalfSaturationPrior}, {ShapeParam, t.ShapePrior}} {
			if p.prior != nil {
				have[TransformParamName(p.kind, t.Column)] = true
			}
		}
	}
	var gone []string
	for _, name := range prev.Params {
		if !have[name] {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		b.warnf("priors.from_run: the previous run (%s) has parameters this model lacks, whose posterior is not used: %s", b.cfg.fromRunText(), showList(gone))
	}
}

// warnf records a warning about the priors, added to the spec's warnings by priors.
func (b *builder) warnf(format string, args ...any) {
	b.priorWarnings = append(b.priorWarnings, fmt.Sprintf(format, args...))
}
