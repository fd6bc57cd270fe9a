package diagnostics

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
)

// LjungBoxLags is the number of lags of the Ljung–Box test on the residuals: 1 … 4, a
// month of weekly data.
const LjungBoxLags = 4

// minResidualRows is the fewest rows a scope needs for the residual checks.
const minResidualRows = 10

// Effect-size floors of the residual checks. With tens of thousands of pooled rows (a
// panel of hundreds of markets) the tests reject departures far too small to matter, so a
// small p-value only warns or fails when the departure is also material:
//
//   - minAutocorrelation: some |r_k| at lags 1–4 reaches 0.1. An AR(1) with ρ = 0.1
//     understates the sd of a mean by about 10% (sqrt((1+ρ)/(1−ρ)) = 1.106).
//   - minSkewness, minExcessKurtosis: |skewness| reaches 0.5 or |excess kurtosis| 1,
//     the usual bounds of "approximately symmetric" and "near-normal tails".
//
// A single-market series never meets the Ljung–Box floor's exemption below 240 rows: there
// p < 0.05 needs Σ r_k² > 9.49/N, so some r_k² > 2.37/N ≥ 0.01.
const (
	minAutocorrelation = 0.1
	minSkewness        = 0.5
	minExcessKurtosis  = 1.0
)

// LjungBox returns the Ljung–Box statistic over lags 1 … lags of residuals split into
// segments (series, each in time order; lags never cross a segment boundary) and its
// p-value, the upper tail of a chi-square with lags degrees of freedom (no parameters
// fitted to the residuals, as R's Box.test(x, lag, type = "Ljung-Box") with fitdf = 0):
//
//	Q = N(N+2) Σ_{k=1..lags} r_k² / n_k,   r_k = Σ_t (e_t − ē)(e_{t+k} − ē) / Σ_t (e_t − ē)²,
//
// where N is the number of residuals, ē their mean, the lag-k sum runs over the pairs
// within a segment and n_k counts them. For one segment n_k = N − k and Q is R's. It also
// returns r_1 … r_lags. Q and p are NaN when a lag has no pairs or the residuals are
// constant.
func LjungBox(segments [][]float64, lags int) (q, p float64, r []float64) {
	var n int
	var mean float64
	for _, s := range segments {
		for _, v := range s {
			mean += v
		}
		n += len(s)
	}
	if n == 0 {
		return math.NaN(), math.NaN(), nil
	}
	mean /= float64(n)
	var ss float64
	for _, s := range segments {
		for _, v := range s {
			ss += (v - mean) * (v - mean)
		}
	}
	r = make([]float64, lags)
	if !(ss > 0) {
		for k := range r {
			r[k] = math.NaN()
		}
		return math.NaN(), math.NaN(), r
	}
	nf := float64(n)
	for k := 1; k <= lags; k++ {
		var sum float64
		pairs := 0
		for _, s := range segments {
			for t := 0; t+k < len(s); t++ {
				sum += (s[t] - mean) * (s[t+k] - mean)
				pairs++
			}
		}
		if pairs == 0 {
			r[k-1] = math.NaN()
			q = math.NaN()
			continue
		}
		r[k-1] = sum / ss
		q += nf * (nf + 2) * r[k-1] * r[k-1] / float64(pairs)
	}
	if math.IsNaN(q) {
		return math.NaN(), math.NaN(), r
	}
	return q, distuv.ChiSquared{K: float64(lags)}.Survival(q), r
}

// JarqueBera returns the skewness and excess kurtosis of x (moment estimates: m3/m2^1.5 and
// m4/m2² − 3, with divisor n) and the Jarque–Bera test of normality built on them,
//
//	JB = n/6 · (S² + K²/4),
//
// with its p-value, the upper tail of a chi-square with 2 degrees of freedom, as R's
// tseries::jarque.bera.test. All are NaN for fewer than three values or constant ones.
func JarqueBera(x []float64) (skew, exKurt, jb, p float64) {
	n := float64(len(x))
	if len(x) < 3 {
		return math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	var mean float64
	for _, v := range x {
		mean += v
	}
	mean /= n
	var m2, m3, m4 float64
	for _, v := range x {
		d := v - mean
		m2 += d * d
		m3 += d * d * d
		m4 += d * d * d * d
	}
	m2, m3, m4 = m2/n, m3/n, m4/n
	if !(m2 > 0) {
		return math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	skew = m3 / math.Pow(m2, 1.5)
	exKurt = m4/(m2*m2) - 3
	jb = n / 6 * (skew*skew + exKurt*exKurt/4)
	return skew, exKurt, jb, distuv.ChiSquared{K: 2}.Survival(jb)
}

// residualScope is the rows of one scope of the residual checks, split into series in
// date order.
type residualScope struct {
	label  string // "" for all rows, else "market=north"
	series [][]int
	// family is the number of groups of the scope's factor (1 for all rows): a group's
	// p-value is graded after a Bonferroni correction over them, so that among 50 markets
	// one p of 0.001 by chance (a one-in-twenty event) neither warns nor fails.
	family int
}

// residualSeries splits the rows of spec into series in date order: spec.Series when the
// spec has it, else the rows sharing every grouping factor's level, each sorted by
// spec.Dates when all of them are ISO dates (YYYY-MM-DD) and in file order otherwise.
func residualSeries(spec *ingest.Spec) [][]int {
	if spec.Series != nil {
		return spec.Series
	}
	index := map[string]int{}
	var series [][]int
	for i := range spec.N {
		var key strings.Builder
		for _, g := range spec.Groups {
			fmt.Fprintf(&key, "%d|", g.Of[i])
		}
		j, ok := index[key.String()]
		if !ok {
			j = len(series)
			index[key.String()] = j
			series = append(series, nil)
		}
		series[j] = append(series[j], i)
	}
	if len(spec.Dates) != spec.N {
		return series
	}
	when := make([]time.Time, spec.N)
	for i, s := range spec.Dates {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
		if err != nil {
			return series
		}
		when[i] = t
	}
	for _, s := range series {
		slices.SortStableFunc(s, func(a, b int) int { return when[a].Compare(when[b]) })
	}
	return series
}

// residualScopes returns all rows, then each group of each grouping factor.
func residualScopes(spec *ingest.Spec) []residualScope {
	series := residualSeries(spec)
	out := []residualScope{{series: series, family: 1}}
	for _, g := range spec.Groups {
		for l, level := range g.Levels {
			sc := residualScope{label: g.Factor + "=" + level, family: len(g.Levels)}
			for _, s := range series {
				var rows []int
				for _, i := range s {
					if g.Of[i] == l {
						rows = append(rows, i)
					}
				}
				if len(rows) > 0 {
					sc.series = append(sc.series, rows)
				}
			}
			out = append(out, sc)
		}
	}
	return out
}

// Residuals runs the residual checks on the standardised residuals
// (spec.Y − fitted)/noiseSD, where fitted holds the posterior mean of each row's linear
// predictor on the model scale and noiseSD the posterior mean of noise_sd, under the policy
// mode ("" means publish; any other value must be one of Modes, else Residuals panics;
// fitted must have spec.N values). Each check has a row over all rows (pooled over the
// series of a panel), then one per group of each grouping factor, named
// check_id[factor=level]; within each, rows are in date order (residualSeries):
//
//   - residual_ljung_box: the Ljung–Box p-value over lags 1 … 4 (LjungBox);
//   - residual_normality: the Jarque–Bera p-value from the skewness and excess kurtosis
//     (JarqueBera).
//
// A group's row is graded on its p-value times the number of groups of its factor
// (Bonferroni), and warns at most; the value column keeps the p-value itself. A p-value below the policy's
// thresholds warns or fails only when the departure is also material (minAutocorrelation,
// minSkewness, minExcessKurtosis). A scope with fewer than 10 rows is skipped.
func Residuals(spec *ingest.Spec, fitted []float64, noiseSD float64, mode string) []Check {
	pol := policies[mustMode(mode)]
	if len(fitted) != spec.N || len(spec.Y) != spec.N {
		panic("diagnostics: slice length mismatch")
	}
	e := make([]float64, spec.N)
	for i := range e {
		e[i] = (spec.Y[i] - fitted[i]) / noiseSD
	}
	thresholds := func(family int) (lbThr, jbThr string) {
		thr := fmt.Sprintf("warn p < %s", num.Short(pol.residWarn))
		switch {
		case family > 1:
			thr = fmt.Sprintf("warn p × %d groups < %s (Bonferroni; a group's row never fails)", family, num.Short(pol.residWarn))
		case pol.residFail > 0:
			thr += fmt.Sprintf("; fail p < %s", num.Short(pol.residFail))
		}
		return fmt.Sprintf("%s; and some |autocorrelation| >= %s", thr, num.Short(minAutocorrelation)),
			fmt.Sprintf("%s; and |skewness| >= %s or |excess kurtosis| >= %s", thr, num.Short(minSkewness), num.Short(minExcessKurtosis))
	}
	scopes := residualScopes(spec)
	var lb, jb []Check
	for _, sc := range scopes {
		lbThr, jbThr := thresholds(sc.family)
		lbID, jbID := "residual_ljung_box", "residual_normality"
		where := "all rows"
		if sc.label != "" {
			lbID += "[" + sc.label + "]"
			jbID += "[" + sc.label + "]"
			where = sc.label
		}
		segs := make([][]float64, len(sc.series))
		var flat []float64
		var rows []int
		for j, s := range sc.series {
			for _, i := range s {
				segs[j] = append(segs[j], e[i])
			}
			flat = append(flat, segs[j]...)
			rows = append(rows, s...)
		}
		if !(noiseSD > 0) || !finite(noiseSD) {
			msg := "the posterior mean of noise_sd is not a positive number"
			lb = append(lb, p1(lbID, "ljung_box_p", math.NaN(), lbThr, StatusSkipped, msg))
			jb = append(jb, p1(jbID, "jarque_bera_p", math.NaN(), jbThr, StatusSkipped, msg))
			continue
		}
		if len(flat) < minResidualRows {
			msg := fmt.Sprintf("%s: %d rows; the residual checks need %d or more", where, len(flat), minResidualRows)
			lb = append(lb, p1(lbID, "ljung_box_p", math.NaN(), lbThr, StatusSkipped, msg))
			jb = append(jb, p1(jbID, "jarque_bera_p", math.NaN(), jbThr, StatusSkipped, msg))
			continue
		}
		lb = append(lb, ljungBoxCheck(lbID, lbThr, where, segs, len(flat), sc.family, pol))
		jb = append(jb, normalityCheck(jbID, jbThr, where, spec, flat, rows, sc.family, pol))
	}
	return append(lb, jb...)
}

// graded is the status of a residual check's p-value, Bonferroni-corrected over a family
// of that many scopes, and the words saying so ("" for a family of one). A group's row
// (family > 1) warns at most: with 100–300 rows a market's tests are noisy (one outlier
// of 4 sds makes Jarque–Bera's p 1e-5 there, and its chi-square tail is least accurate
// where Bonferroni looks), and the all-rows row, which any gross departure reaches, is
// the one that fails.
func graded(p float64, family int, pol policy) (status, words string) {
	if family <= 1 {
		return below(p, pol.residWarn, pol.residFail), ""
	}
	adj := math.Min(1, p*float64(family))
	return below(adj, pol.residWarn, 0), fmt.Sprintf(", %s after Bonferroni over %d groups", num.Short(adj), family)
}

func ljungBoxCheck(id, thr, where string, segs [][]float64, n, family int, pol policy) Check {
	q, p, r := LjungBox(segs, LjungBoxLags)
	if math.IsNaN(p) {
		return p1(id, "ljung_box_p", math.NaN(), thr, StatusSkipped, where+": the standardised residuals are constant or a series is too short for lag "+fmt.Sprint(LjungBoxLags))
	}
	acs := make([]string, len(r))
	largest := 0.0
	for k, v := range r {
		acs[k] = fmt.Sprintf("%.2f", v)
		largest = max(largest, math.Abs(v))
	}
	pooled := ""
	if len(segs) > 1 {
		pooled = fmt.Sprintf(", pooled within %d series", len(segs))
	}
	status, adjusted := graded(p, family, pol)
	msg := fmt.Sprintf("%s: Ljung–Box Q %.3g over lags 1–%d (p %s%s; n %d%s); residual autocorrelation at lags 1–%d: %s",
		where, q, LjungBoxLags, num.Short(p), adjusted, n, pooled, LjungBoxLags, strings.Join(acs, ", "))
	if status != StatusPass && largest < minAutocorrelation {
		status = StatusPass
		msg += fmt.Sprintf(": significant at this n, but every autocorrelation is below %s in size, too small to matter for the intervals", num.Short(minAutocorrelation))
	}
	if status != StatusPass {
		msg += ": the residuals are correlated in time, so the model misses some dynamics and its intervals are too narrow; " +
			"add carry-over to the media (transforms: adstock), trend, seasonality or holiday terms to the formula, or a lagged KPI control"
	}
	return p1(id, "ljung_box_p", p, thr, status, msg)
}

func normalityCheck(id, thr, where string, spec *ingest.Spec, e []float64, rows []int, family int, pol policy) Check {
	skew, kurt, jb, p := JarqueBera(e)
	if math.IsNaN(p) {
		return p1(id, "jarque_bera_p", math.NaN(), thr, StatusSkipped, where+": the standardised residuals are constant")
	}
	status, adjusted := graded(p, family, pol)
	msg := fmt.Sprintf("%s: skewness %.2f, excess kurtosis %.2f of the standardised residuals (Jarque–Bera %.3g, p %s%s; n %d)",
		where, skew, kurt, jb, num.Short(p), adjusted, len(e))
	if status != StatusPass && math.Abs(skew) < minSkewness && math.Abs(kurt) < minExcessKurtosis {
		status = StatusPass
		msg += fmt.Sprintf(": significant at this n, but |skewness| is below %s and |excess kurtosis| below %s, too small to matter",
			num.Short(minSkewness), num.Short(minExcessKurtosis))
	}
	if status != StatusPass {
		worst := 0
		for j, v := range e {
			if math.Abs(v) > math.Abs(e[worst]) {
				worst = j
			}
		}
		msg += fmt.Sprintf("; largest |residual| %.2f noise sds at line %s: the residuals are not normal (outliers or skew), so the normal likelihood misstates the noise; "+
			"look at the rows with the largest residuals (events to model with a dummy column, data errors), and for a skewed positive KPI consider log(kpi) in model.formula",
			math.Abs(e[worst]), lineList(spec, rows[worst:worst+1]))
	}
	return p1(id, "jarque_bera_p", p, thr, status, msg)
}
