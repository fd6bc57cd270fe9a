package diagnostics

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

// Param is one quantity's posterior draws, named as users see it (m_tv, sd_1[m_tv],
// m_tv[market=north]) and in original units.
type Param struct {
	Name string
	// Draws holds one slice per chain, in the order of the chains given to P1. All of
	// them must have the same length (P1 panics otherwise, as package summarise does);
	// ParamsFromChains guarantees it for CmdStan files.
	Draws [][]float64
}

// IsGroupScale reports whether name is a group scale: it starts with "sd_", as sd_1[m_tv]
// in users' terms and sd_1.2 in CmdStan's.
func IsGroupScale(name string) bool { return strings.HasPrefix(name, "sd_") }

// defaultMaxDepth is CmdStan's max_depth when a chain's header does not state it.
const defaultMaxDepth = 10

// P1 runs the sampler checks on chains (for the sampler columns divergent__, treedepth__ and
// energy__, and max_depth from each chain's Config) and on params (for Rhat and ESS, in
// users' terms) under the policy mode ("" means publish; any other value must be one of
// Modes, else P1 panics). Rhat and ESS are computed over all params and again over the group
// scales alone (IsGroupScale), as the _sd rows, which are skipped when there are none.
// Divergences, tree depth and E-BFMI are properties of whole transitions, not of a
// parameter, so they have no _sd rows; instead the divergence message names the group scale
// whose small values the divergent draws crowd into (a funnel), when there is one.
//
// The rows come in a fixed order: sampler_rhat_max, sampler_rhat_max_sd,
// sampler_ess_bulk_min, sampler_ess_bulk_min_sd, sampler_ess_tail_min,
// sampler_ess_tail_min_sd, sampler_divergences, sampler_treedepth_saturation,
// sampler_ebfmi_min.
func P1(chains []*stanio.Chain, params []Param, mode string) []Check {
	pol := policies[mustMode(mode)]
	stats := paramStats(params)
	var sds []paramStat
	for _, s := range stats {
		if IsGroupScale(s.name) {
			sds = append(sds, s)
		}
	}
	var out []Check
	for _, m := range []metricSpec{rhatSpec, essBulkSpec, essTailSpec} {
		out = append(out, m.check(m.id, stats, pol, false))
		out = append(out, m.check(m.id+"_sd", sds, pol, true))
	}
	out = append(out, divergences(chains, params, pol), treedepth(chains, pol), ebfmi(chains, pol))
	return out
}

func p1(id, metric string, value float64, threshold, status, msg string) Check {
	return Check{ID: id, Phase: PhaseP1, Severity: SeverityImportant, Status: status, Metric: metric,
		Value: value, Threshold: threshold, Message: msg}
}

// paramStat holds one parameter's convergence diagnostics; constant is true when all its
// draws are one finite value (diagnostics undefined, and nothing to worry about).
type paramStat struct {
	name                   string
	rhat, essBulk, essTail float64
	constant               bool
}

// paramStats computes Rhat and ESS of every parameter with summarise.Summarise, which
// shares one sort and one set of ranks per parameter between RhatRank, ESSBulk and ESSTail
// and runs on GOMAXPROCS goroutines.
func paramStats(params []Param) []paramStat {
	names := make([]string, len(params))
	for j, p := range params {
		names[j] = p.Name
	}
	rows := summarise.Summarise(names, func(j int) [][]float64 { return params[j].Draws }, 0)
	out := make([]paramStat, len(params))
	for j, r := range rows {
		out[j] = paramStat{name: r.Parameter, rhat: r.Rhat, essBulk: r.ESSBulk, essTail: r.ESSTail,
			constant: constantDraws(params[j].Draws)}
	}
	return out
}

func constantDraws(chains [][]float64) bool {
	first, seen := 0.0, false
	for _, ch := range chains {
		for _, v := range ch {
			if !finite(v) {
				return false
			}
			if !seen {
				first, seen = v, true
			} else if v != first {
				return false
			}
		}
	}
	return seen
}

// metricSpec describes one per-parameter check: which statistic, whether large or small
// values are bad, and its words.
type metricSpec struct {
	id, metric, label string
	get               func(paramStat) float64
	worstIsMax        bool
	thresholds        func(policy) (warn, fail float64)
	advice            string
}

var rhatSpec = metricSpec{
	id: "sampler_rhat_max", metric: "max_rhat", label: "Rhat",
	get: func(s paramStat) float64 { return s.rhat }, worstIsMax: true,
	thresholds: func(p policy) (float64, float64) { return p.rhatWarn, p.rhatFail },
	advice:     "the chains disagree: raise fit.mcmc.iter and fit.mcmc.warmup (e.g. double both), or simplify the model",
}

var essBulkSpec = metricSpec{
	id: "sampler_ess_bulk_min", metric: "min_ess_bulk", label: "bulk ESS",
	get:        func(s paramStat) float64 { return s.essBulk },
	thresholds: func(p policy) (float64, float64) { return p.essWarn, p.essFail },
	advice:     "too few effective draws for the posterior mean: raise fit.mcmc.iter (ESS grows with the draws); if it stays low, look for multimodality",
}

var essTailSpec = metricSpec{
	id: "sampler_ess_tail_min", metric: "min_ess_tail", label: "tail ESS",
	get:        func(s paramStat) float64 { return s.essTail },
	thresholds: func(p policy) (float64, float64) { return p.essWarn, p.essFail },
	advice:     "too few effective draws in the tails, so the 5% and 95% quantiles are unreliable: raise fit.mcmc.iter; if it stays low, look for multimodality",
}

// sdAdvice is added to the advice of the _sd rows.
const sdAdvice = "; for group scales also try the other model.random_effects.parameterization (centered or noncentered)"

func (m metricSpec) check(id string, stats []paramStat, pol policy, sd bool) Check {
	warnT, failT := m.thresholds(pol)
	op := "<"
	grade := below
	if m.worstIsMax {
		op, grade = ">", above
	}
	thr := fmt.Sprintf("warn %s %s; fail %s %s", op, num.Short(warnT), op, num.Short(failT))
	what := "parameters"
	if sd {
		what = "group scales (sd_*)"
	}
	if len(stats) == 0 {
		return p1(id, m.metric, math.NaN(), thr, StatusSkipped, "no "+what+" to check")
	}
	// worse orders parameters worst first.
	worse := func(a, b paramStat) int {
		va, vb := m.get(a), m.get(b)
		if !m.worstIsMax {
			va, vb = -va, -vb
		}
		switch {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	}
	var undefined []string
	var defined, beyondStats []paramStat
	for _, s := range stats {
		v := m.get(s)
		if math.IsNaN(v) {
			if !s.constant {
				undefined = append(undefined, s.name)
			}
			continue
		}
		defined = append(defined, s)
		if grade(v, warnT, failT) != StatusPass {
			beyondStats = append(beyondStats, s)
		}
	}
	slices.SortStableFunc(beyondStats, worse)
	var beyond []string
	for _, s := range beyondStats {
		beyond = append(beyond, s.name)
	}
	if len(undefined) > 0 {
		return p1(id, m.metric, math.NaN(), thr, StatusFail, fmt.Sprintf(
			"%s is undefined for %s (non-finite draws): the model produced NaN or Inf; check the priors, bounds and data",
			m.label, nameList(undefined)))
	}
	if len(defined) == 0 {
		return p1(id, m.metric, math.NaN(), thr, StatusSkipped, "every one of the "+what+" has constant draws")
	}
	worst := slices.MinFunc(defined, worse)
	v := m.get(worst)
	status := grade(v, warnT, failT)
	minmax := "min"
	if m.worstIsMax {
		minmax = "max"
	}
	msg := fmt.Sprintf("%s %s %s at %s", minmax, m.label, num.Short(v), worst.name)
	if status != StatusPass {
		dir := "below"
		if m.worstIsMax {
			dir = "above"
		}
		msg += fmt.Sprintf(" (%d of %d %s %s %s: %s): %s", len(beyond), len(defined), what, dir, num.Short(warnT), nameList(beyond), m.advice)
		if sd {
			msg += sdAdvice
		}
	}
	return p1(id, m.metric, v, thr, status, msg)
}

// nameList joins up to five names.
func nameList(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// chainLabel names a chain in messages: by its CmdStan id and file when known.
func chainLabel(ch *stanio.Chain, i int) string {
	id := i + 1
	if ch.Config.ID > 0 {
		id = ch.Config.ID
	}
	if ch.Path != "" {
		return fmt.Sprintf("chain %d (%s)", id, filepath.Base(ch.Path))
	}
	return fmt.Sprintf("chain %d", id)
}

func divergences(chains []*stanio.Chain, params []Param, pol policy) Check {
	const id, metric = "sampler_divergences", "divergent_transitions"
	thr := "warn > 0; fail > " + num.PercentSig(pol.divFail) + " of draws"
	if pol.divFail == 0 {
		thr = "fail > 0"
	}
	total, count, found := 0, 0, false
	adaptDelta := 0.0
	for _, ch := range chains {
		j := ch.Column("divergent__")
		if j < 0 {
			continue
		}
		found = true
		total += ch.NumDraws()
		for _, d := range ch.Draws[j] {
			if d != 0 {
				count++
			}
		}
		adaptDelta = math.Max(adaptDelta, ch.Config.AdaptDelta)
	}
	if !found || total == 0 {
		return p1(id, metric, math.NaN(), thr, StatusSkipped, "no divergent__ column: not an HMC sampling run")
	}
	frac := float64(count) / float64(total)
	status := StatusPass
	switch {
	case count > 0 && frac > pol.divFail:
		status = StatusFail
	case count > 0:
		status = StatusWarn
	}
	if count == 0 {
		return p1(id, metric, 0, thr, status, fmt.Sprintf("no divergent transitions in %d draws", total))
	}
	target := 0.95
	switch {
	case adaptDelta >= 0.99:
		target = 0.995
	case adaptDelta >= 0.95:
		target = 0.99
	}
	msg := fmt.Sprintf("%d of %d draws (%s) ended with a divergence, so the sampler missed part of the posterior: raise fit.mcmc.adapt_delta (e.g. to %g",
		count, total, num.PercentSig(frac), target)
	if adaptDelta > 0 {
		msg += fmt.Sprintf("; it was %g", adaptDelta)
	}
	name, p, isFunnel := funnel(chains, params)
	if hasGroupScales(params) {
		msg += "); if divergences remain, reparameterise via model.random_effects.parameterization or tighten the priors"
	} else {
		msg += "); if divergences remain, tighten the priors"
	}
	if isFunnel {
		fix := "set model.random_effects.parameterization: noncentered for that term"
		if !isGroupScale(name) { // a pooled model's scales: nothing to reparameterise
			fix = "a more informative prior on it (priors.overrides) keeps the sampler out of the narrow neck"
		}
		msg += fmt.Sprintf("; the divergent draws sit at small values of %s (median percentile %.0f%%), a funnel: %s", name, 100*p, fix)
	}
	return p1(id, metric, float64(count), thr, status, msg)
}

// isGroupScale reports whether name is a grouping factor's scale, sd_<factor index>[term],
// whose terms model.random_effects.parameterization can reparameterise.
func isGroupScale(name string) bool {
	rest, ok := strings.CutPrefix(name, "sd_")
	if !ok {
		return false
	}
	digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	return digits > 0 && strings.HasPrefix(rest[digits:], "[")
}

// hasGroupScales reports whether any parameter is a grouping factor's scale.
func hasGroupScales(params []Param) bool {
	for _, p := range params {
		if isGroupScale(p.Name) {
			return true
		}
	}
	return false
}

// funnel looks for the group scale whose small values the divergent draws crowd into: for
// each sd_* parameter, the median over divergent draws of their percentile among all draws.
// It reports the smallest such median when it is below 25%.
func funnel(chains []*stanio.Chain, params []Param) (string, float64, bool) {
	var div []bool
	for _, ch := range chains {
		j := ch.Column("divergent__")
		if j < 0 {
			return "", 0, false
		}
		for _, d := range ch.Draws[j] {
			div = append(div, d != 0)
		}
	}
	best, bestName := 1.0, ""
	for _, p := range params {
		if !IsGroupScale(p.Name) || len(p.Draws) != len(chains) {
			continue
		}
		var all []float64
		for c, d := range p.Draws {
			if len(d) != chains[c].NumDraws() {
				return "", 0, false
			}
			all = append(all, d...)
		}
		sorted := slices.Clone(all)
		sort.Float64s(sorted)
		var pcts []float64
		for i, v := range all {
			if div[i] {
				pcts = append(pcts, float64(sort.SearchFloat64s(sorted, v))/float64(len(sorted)))
			}
		}
		if len(pcts) == 0 {
			return "", 0, false
		}
		sort.Float64s(pcts)
		med := summarise.Quantile(pcts, 0.5)
		if med < best {
			best, bestName = med, p.Name
		}
	}
	return bestName, best, bestName != "" && best < 0.25
}

func treedepth(chains []*stanio.Chain, pol policy) Check {
	const id, metric = "sampler_treedepth_saturation", "treedepth_saturation_fraction"
	thr := fmt.Sprintf("warn > %s; fail > %s of draws at max_treedepth", num.PercentSig(pol.treeWarn), num.PercentSig(pol.treeFail))
	total, count, found := 0, 0, false
	depth, worst, worstN := 0, "", -1
	for i, ch := range chains {
		j := ch.Column("treedepth__")
		if j < 0 {
			continue
		}
		found = true
		md := ch.Config.MaxDepth
		if md <= 0 {
			md = defaultMaxDepth
		}
		depth = max(depth, md)
		n := 0
		for _, d := range ch.Draws[j] {
			if d >= float64(md) {
				n++
			}
		}
		total += ch.NumDraws()
		count += n
		if n > worstN {
			worst, worstN = chainLabel(ch, i), n
		}
	}
	if !found || total == 0 {
		return p1(id, metric, math.NaN(), thr, StatusSkipped, "no treedepth__ column: not a NUTS sampling run")
	}
	frac := float64(count) / float64(total)
	status := above(frac, pol.treeWarn, pol.treeFail)
	msg := fmt.Sprintf("%d of %d draws (%s) hit max_treedepth %d", count, total, num.PercentSig(frac), depth)
	if status != StatusPass {
		msg += fmt.Sprintf(", most in %s: the sampler stops its trajectories early and explores slowly; raise fit.mcmc.max_treedepth (e.g. to %d); if saturation persists the posterior is strongly correlated: keep model.scale: true, drop collinear predictors or reparameterise via model.random_effects.parameterization",
			worst, max(12, depth+2))
	}
	return p1(id, metric, frac, thr, status, msg)
}

// EBFMI returns the energy Bayesian fraction of missing information of one chain's energy__
// draws: Σ(E_n − E_{n−1})² / Σ(E_n − Ē)² (Betancourt 2016, "Diagnosing suboptimal
// cotangent disintegrations in Hamiltonian Monte Carlo"), as CmdStan's bin/diagnose computes
// it. It is NaN for fewer than two draws or constant energy.
func EBFMI(energy []float64) float64 {
	if len(energy) < 2 {
		return math.NaN()
	}
	mean := 0.0
	for _, e := range energy {
		mean += e
	}
	mean /= float64(len(energy))
	var jumps, spread float64
	for i, e := range energy {
		if i > 0 {
			d := e - energy[i-1]
			jumps += d * d
		}
		spread += (e - mean) * (e - mean)
	}
	if spread == 0 {
		return math.NaN()
	}
	return jumps / spread
}

func ebfmi(chains []*stanio.Chain, pol policy) Check {
	const id, metric = "sampler_ebfmi_min", "min_ebfmi"
	thr := fmt.Sprintf("warn < %s; fail < %s (per chain)", num.Short(pol.ebfmiWarn), num.Short(pol.ebfmiFail))
	minV, worst := math.NaN(), ""
	var per []string
	for i, ch := range chains {
		j := ch.Column("energy__")
		if j < 0 {
			continue
		}
		v := EBFMI(ch.Draws[j])
		if math.IsNaN(v) {
			continue
		}
		per = append(per, fmt.Sprintf("%.3g", v))
		if math.IsNaN(minV) || v < minV {
			minV, worst = v, chainLabel(ch, i)
		}
	}
	if math.IsNaN(minV) {
		return p1(id, metric, math.NaN(), thr, StatusSkipped, "no energy__ column with two or more draws: not an HMC sampling run")
	}
	status := below(minV, pol.ebfmiWarn, pol.ebfmiFail)
	msg := fmt.Sprintf("min E-BFMI %.3g in %s", minV, worst)
	if len(per) > 1 {
		msg += "; all chains: " + strings.Join(per, ", ")
	}
	if status != StatusPass {
		msg += fmt.Sprintf(": below %s, the sampler explores the energy distribution poorly (heavy tails or a funnel); reparameterise via model.random_effects.parameterization, tighten weak priors (on sd_* and noise_sd), or raise fit.mcmc.warmup",
			num.Short(pol.ebfmiWarn))
	}
	return p1(id, metric, minV, thr, status, msg)
}

// ParamsFromChains returns every non-sampler column of the chains (names not ending in "__")
// as a Param with CmdStan's names. The chains must have the same columns and the same number
// of draws, as chains of one run do; otherwise it returns an error naming the files.
func ParamsFromChains(chains []*stanio.Chain) ([]Param, error) {
	if len(chains) == 0 {
		return nil, fmt.Errorf("diagnostics: no chains")
	}
	first := chains[0]
	for _, ch := range chains[1:] {
		if !slices.Equal(ch.Columns, first.Columns) {
			return nil, fmt.Errorf("diagnostics: %s and %s have different columns: are they chains of the same model?", first.Path, ch.Path)
		}
		if ch.NumDraws() != first.NumDraws() {
			return nil, fmt.Errorf("diagnostics: %s has %d draws and %s %d: give chains of one run (same num_samples and thin)",
				first.Path, first.NumDraws(), ch.Path, ch.NumDraws())
		}
	}
	var params []Param
	for j, name := range first.Columns {
		if strings.HasSuffix(name, "__") {
			continue
		}
		p := Param{Name: name, Draws: make([][]float64, len(chains))}
		for c, ch := range chains {
			p.Draws[c] = ch.Draws[j]
		}
		params = append(params, p)
	}
	return params, nil
}
