package diagnostics

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
)

// constTol is the relative tolerance for "constant" and "duplicate": a column is constant
// when its range is at most constTol times its largest absolute value, and two columns are
// duplicates when they differ nowhere by more than constTol times the larger of their
// largest absolute values. It only forgives rounding; near-constant and near-duplicate
// columns show up in the condition number instead.
const constTol = 1e-12

// rankTol is the relative tolerance of the rank: a singular value of the column-scaled
// design counts when it exceeds rankTol times the largest. It is the tolerance of R's qr()
// (1e-7), so a design is rank-deficient exactly when kappa_X exceeds 1e7.
const rankTol = 1e-7

// P0 runs the pre-sampling checks on the model spec under the policy mode ("" means
// publish; any other value must be one of Modes, else P0 panics — check user input with
// ValidateMode). The rows come in a fixed order: pre_response_finite, pre_design_finite,
// pre_design_constants_duplicates, pre_design_rank_deficit, pre_design_condition_number,
// then one pre_within_group_variation[term|factor] row per group-varying term (a single
// skipped pre_within_group_variation row when there is none).
func P0(spec *ingest.Spec, mode string) []Check {
	pol := policies[mustMode(mode)]
	out := []Check{responseFinite(spec), designFinite(spec), constantsDuplicates(spec)}
	out = append(out, designConditioning(spec, pol)...)
	return append(out, withinGroupVariation(spec, pol)...)
}

func p0(id, metric string, value float64, threshold, status, msg string) Check {
	return Check{ID: id, Phase: PhaseP0, Severity: SeverityCritical, Status: status, Metric: metric,
		Value: value, Threshold: threshold, Message: msg}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// lineList names up to five CSV lines of the rows (1-based row numbers when spec.Lines is
// not filled in).
func lineList(spec *ingest.Spec, rows []int) string {
	var s []string
	for _, i := range rows[:min(len(rows), 5)] {
		if i < len(spec.Lines) {
			s = append(s, fmt.Sprint(spec.Lines[i]))
		} else {
			s = append(s, fmt.Sprint("row ", i+1))
		}
	}
	if len(rows) > 5 {
		s = append(s, "…")
	}
	return strings.Join(s, ", ")
}

func responseFinite(spec *ingest.Spec) Check {
	var bad []int
	for i, y := range spec.Y {
		if !finite(y) {
			bad = append(bad, i)
		}
	}
	const id, metric, thr = "pre_response_finite", "non_finite_response_count", "fail > 0"
	if len(bad) == 0 {
		return p0(id, metric, 0, thr, StatusPass, fmt.Sprintf("all %d values of %s are finite", len(spec.Y), spec.Response))
	}
	return p0(id, metric, float64(len(bad)), thr, StatusFail, fmt.Sprintf(
		"%d values of %s are NA, NaN or Inf (CSV lines %s): clean the data — fix, impute or remove those rows",
		len(bad), spec.Response, lineList(spec, bad)))
}

// designFinite is an addition to DSAMbayes's table: non-finite predictor values reach the
// spec (ingest leaves them to this check) and would make every other design check meaningless.
func designFinite(spec *ingest.Spec) Check {
	var n int
	var parts []string
	for k, col := range spec.X {
		var bad []int
		for i, x := range col {
			if !finite(x) {
				bad = append(bad, i)
			}
		}
		if len(bad) > 0 {
			n += len(bad)
			parts = append(parts, fmt.Sprintf("%s (%d, CSV lines %s)", termName(spec, k), len(bad), lineList(spec, bad)))
		}
	}
	const id, metric, thr = "pre_design_finite", "non_finite_design_count", "fail > 0"
	if n == 0 {
		return p0(id, metric, 0, thr, StatusPass, fmt.Sprintf("all %d design columns are finite", len(spec.X)))
	}
	return p0(id, metric, float64(n), thr, StatusFail, fmt.Sprintf(
		"%d design values are NA, NaN or Inf in %s: clean the data — fix, impute or remove those rows",
		n, strings.Join(parts, "; ")))
}

func termName(spec *ingest.Spec, k int) string {
	if k < len(spec.Terms) {
		return spec.Terms[k].Name
	}
	return fmt.Sprintf("column %d", k+1)
}

func isIntercept(spec *ingest.Spec, k int) bool {
	return k < len(spec.Terms) && spec.Terms[k].Intercept
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// isConstant reports whether x takes one value, to constTol.
func isConstant(x []float64) bool {
	if len(x) == 0 {
		return true
	}
	lo, hi := slices.Min(x), slices.Max(x)
	return hi-lo <= constTol*maxAbs(x)
}

// same reports whether a and b are equal element by element, to constTol.
func same(a, b []float64) bool {
	tol := constTol * math.Max(maxAbs(a), maxAbs(b))
	for i := range a {
		if !(math.Abs(a[i]-b[i]) <= tol) {
			return false
		}
	}
	return true
}

func constantsDuplicates(spec *ingest.Spec) Check {
	var consts, dups []string
	constant := make([]bool, len(spec.X))
	for k, col := range spec.X {
		if !isIntercept(spec, k) && isConstant(col) {
			constant[k] = true
			consts = append(consts, termName(spec, k))
		}
	}
	for j := range spec.X {
		if constant[j] || isIntercept(spec, j) {
			continue
		}
		for i := range j {
			if !constant[i] && !isIntercept(spec, i) && same(spec.X[i], spec.X[j]) {
				dups = append(dups, fmt.Sprintf("%s (same as %s)", termName(spec, j), termName(spec, i)))
				break
			}
		}
	}
	const id, metric, thr = "pre_design_constants_duplicates", "constant_plus_duplicate_columns", "fail > 0"
	n := len(consts) + len(dups)
	if n == 0 {
		return p0(id, metric, 0, thr, StatusPass, "no constant or duplicate design columns (the intercept aside)")
	}
	var what []string
	if len(consts) > 0 {
		what = append(what, "constant: "+strings.Join(consts, ", "))
	}
	if len(dups) > 0 {
		what = append(what, "duplicate: "+strings.Join(dups, ", "))
	}
	return p0(id, metric, float64(n), thr, StatusFail, fmt.Sprintf(
		"%s: remove these terms from the formula (a constant column is the intercept's job; a duplicate has no coefficient of its own)",
		strings.Join(what, "; ")))
}

// designConditioning returns the rank-deficit and condition-number rows. Both come from the
// singular values of the column-scaled design: each column divided by its Euclidean norm
// (Belsley, Kuh and Welsch 1980, "Regression Diagnostics", §3.3), so neither depends on the
// units of the predictors. kappa_X = σ_max/σ_min of that matrix, which equals R's
// kappa(sweep(X, 2, sqrt(colSums(X^2)), "/"), exact = TRUE).
func designConditioning(spec *ingest.Spec, pol policy) []Check {
	const rid, rmetric = "pre_design_rank_deficit", "rank_deficit"
	const kid, kmetric = "pre_design_condition_number", "kappa_X"
	rthr := "warn > 0"
	if pol.rankDeficit == StatusFail {
		rthr = "fail > 0"
	}
	kthr := fmt.Sprintf("warn > %s; fail > %s", num.Short(pol.kappaWarn), num.Short(pol.kappaFail))
	switch {
	case math.IsInf(pol.kappaFail, 1):
		kthr = fmt.Sprintf("warn > %s; never fails (explore)", num.Short(pol.kappaWarn))
	case pol.kappaDowngrade:
		kthr = fmt.Sprintf("warn > %s; fail > %s downgraded to warn (publish)", num.Short(pol.kappaWarn), num.Short(pol.kappaFail))
	}
	k := len(spec.X)
	n := 0
	if k > 0 {
		n = len(spec.X[0])
	}
	for _, col := range spec.X {
		for _, x := range col {
			if !finite(x) {
				msg := "not computed: the design has non-finite values (see pre_design_finite)"
				return []Check{
					p0(rid, rmetric, math.NaN(), rthr, StatusSkipped, msg),
					p0(kid, kmetric, math.NaN(), kthr, StatusSkipped, msg),
				}
			}
		}
	}
	if k == 0 || n == 0 {
		msg := "not computed: the design has no columns or no rows"
		return []Check{
			p0(rid, rmetric, math.NaN(), rthr, StatusSkipped, msg),
			p0(kid, kmetric, math.NaN(), kthr, StatusSkipped, msg),
		}
	}

	sv, v := scaledSVD(spec.X)
	tol := rankTol * sv[0]
	rank := 0
	for _, s := range sv {
		if s > tol {
			rank++
		}
	}
	kappa := math.Inf(1)
	if n >= k && sv[k-1] > 0 {
		kappa = sv[0] / sv[k-1]
	}

	var out []Check
	if deficit := k - rank; deficit == 0 {
		out = append(out, p0(rid, rmetric, 0, rthr, StatusPass, fmt.Sprintf("the design has full column rank %d", k)))
	} else {
		// Columns that load on the null directions (singular values at or below tol).
		var dirs []int
		for j := rank; j < len(sv); j++ {
			dirs = append(dirs, j)
		}
		msg := fmt.Sprintf("the design has rank %d with %d columns", rank, k)
		if n < k {
			msg += fmt.Sprintf(" and only %d rows: there are more coefficients than observations; use fewer terms", n)
		}
		if names := involved(spec, v, dirs); names != "" {
			msg += fmt.Sprintf(": %s are linearly dependent; remove or merge redundant terms (see pre_design_constants_duplicates)", names)
		} else if n >= k {
			msg += ": remove or merge redundant terms"
		}
		out = append(out, p0(rid, rmetric, float64(deficit), rthr, pol.rankDeficit, msg))
	}

	status := above(kappa, pol.kappaWarn, pol.kappaFail)
	msg := fmt.Sprintf("kappa_X %s (columns scaled to unit length)", num.Short(kappa))
	if status != StatusPass {
		msg = fmt.Sprintf("kappa_X %s > %s: the predictors are strongly collinear", num.Short(kappa), num.Short(pol.kappaWarn))
		if names := involved(spec, v, []int{min(n, k) - 1}); names != "" {
			msg += fmt.Sprintf(", mostly %s", names)
		}
		msg += "; drop or merge correlated predictors, or simplify the formula"
		if status == StatusFail && pol.kappaDowngrade {
			status = StatusWarn
			msg += fmt.Sprintf(" (above %s, which fails under policy strict)", num.Short(pol.kappaFail))
		}
	}
	return append(out, p0(kid, kmetric, kappa, kthr, status, msg))
}

// scaledSVD returns the singular values (descending) and the right singular vectors of the
// design with every column scaled to unit Euclidean norm (all-zero columns stay zero).
func scaledSVD(x [][]float64) ([]float64, *mat.Dense) {
	k, n := len(x), len(x[0])
	a := mat.NewDense(n, k, nil)
	for j, col := range x {
		norm := 0.0
		for _, v := range col {
			norm = math.Hypot(norm, v)
		}
		if norm == 0 {
			norm = 1
		}
		for i, v := range col {
			a.Set(i, j, v/norm)
		}
	}
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThinV) {
		// The LAPACK routine did not converge: report the design as singular rather than
		// guess; this does not happen with finite data in practice.
		sv := make([]float64, min(n, k))
		sv[0] = 1
		return sv, nil
	}
	var v mat.Dense
	svd.VTo(&v)
	return svd.Values(nil), &v
}

// involved names the columns with large loadings (≥ 0.1 in absolute value, at most five,
// largest first) on the right singular vectors dirs: the columns that make up a (near)
// linear dependency.
func involved(spec *ingest.Spec, v *mat.Dense, dirs []int) string {
	if v == nil {
		return ""
	}
	_, c := v.Dims()
	load := make([]float64, len(spec.X))
	for _, d := range dirs {
		if d < 0 || d >= c {
			continue
		}
		for k := range load {
			load[k] = math.Max(load[k], math.Abs(v.At(k, d)))
		}
	}
	idx := make([]int, 0, len(load))
	for k, l := range load {
		if l >= 0.1 {
			idx = append(idx, k)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case load[a] > load[b]:
			return -1
		case load[a] < load[b]:
			return 1
		}
		return 0
	})
	var names []string
	for _, k := range idx[:min(len(idx), 5)] {
		names = append(names, termName(spec, k))
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// withinGroupVariation checks, for every group-varying term but the intercept and every
// grouping factor, in how many groups the term is constant. There its group coefficient is
// fixed by the prior alone; when it is constant within every group the group effects cannot
// be told apart from the group intercepts at all.
func withinGroupVariation(spec *ingest.Spec, pol policy) []Check {
	const id, metric = "pre_within_group_variation", "constant_groups"
	var out []Check
	for _, g := range spec.Groups {
		L := len(g.Levels)
		for _, t := range g.Terms {
			if isIntercept(spec, t) || t >= len(spec.X) {
				continue
			}
			col := spec.X[t]
			tol := constTol * maxAbs(col)
			lo := make([]float64, L)
			hi := make([]float64, L)
			seen := make([]bool, L)
			for i, l := range g.Of {
				if l < 0 || l >= L || i >= len(col) {
					continue
				}
				if !seen[l] {
					lo[l], hi[l], seen[l] = col[i], col[i], true
					continue
				}
				lo[l], hi[l] = math.Min(lo[l], col[i]), math.Max(hi[l], col[i])
			}
			var constant []string
			for l := range L {
				if seen[l] && hi[l]-lo[l] <= tol {
					constant = append(constant, g.Levels[l])
				}
			}
			name := termName(spec, t)
			cid := fmt.Sprintf("%s[%s|%s]", id, name, g.Factor)
			thr := withinThreshold(pol, L)
			c := len(constant)
			switch {
			case c == 0:
				out = append(out, p0(cid, metric, 0, thr, StatusPass,
					fmt.Sprintf("%s varies within every one of the %d %s groups", name, L, g.Factor)))
			case c == L:
				out = append(out, p0(cid, metric, float64(c), thr, pol.withinAll, fmt.Sprintf(
					"%s does not vary within any %s group, only between them, so its %s-level coefficients are not identified: move %s out of the (… | %s) term and keep it as a population term",
					name, g.Factor, g.Factor, name, g.Factor)))
			default:
				shown := constant[:min(c, 5)]
				more := ""
				if c > len(shown) {
					more = ", …"
				}
				out = append(out, p0(cid, metric, float64(c), thr, pol.withinSome, fmt.Sprintf(
					"%s is constant within %d of %d %s groups (%s%s): there its %s-level coefficient comes from the prior alone; check the data, or drop %s from the (… | %s) term",
					name, c, L, g.Factor, strings.Join(shown, ", "), more, g.Factor, name, g.Factor)))
			}
		}
	}
	if len(out) == 0 {
		out = append(out, p0(id, metric, math.NaN(), withinThreshold(pol, 0), StatusSkipped,
			"no group-varying terms besides intercepts"))
	}
	return out
}

func withinThreshold(pol policy, groups int) string {
	switch {
	case pol.withinSome == StatusFail:
		return "fail > 0"
	case pol.withinAll == StatusFail && groups > 0:
		return fmt.Sprintf("warn > 0; fail = %d (every group)", groups)
	case pol.withinAll == StatusFail:
		return "warn > 0; fail = every group"
	}
	return "warn > 0"
}
