package ingest

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/dsamstan/dsamstan/internal/num"
)

// Thresholds of the panel pitfall checks, from the DSAMbayes tutorial "Your First
// Hierarchical Model".
const (
	// minGroups is the fewest groups for which group scales are estimated from the data
	// rather than from their priors.
	minGroups = 4
	// rowsPerTerm is the fewest rows a group should have per group-varying term.
	rowsPerTerm = 5
	// minGroupScale floors the default group-scale prior (on the standardised scale), so a
	// panel whose group means coincide still gets a proper prior.
	minGroupScale = 0.01
	// maxListed is how many groups a warning names before "and N more".
	maxListed = 5
)

// GroupScaleName returns the name of the group scale of term in grouping factor index
// (1-based), as DSAMbayes writes it: sd_1[m_tv], sd_1[(Intercept)].
func GroupScaleName(index int, term string) string {
	return fmt.Sprintf("sd_%d[%s]", index, term)
}

// rowsByLevel lists, for each level of g, the rows (0-based) that belong to it.
func rowsByLevel(g *Grouping) [][]int {
	rows := make([][]int, len(g.Levels))
	for i, l := range g.Of {
		rows[l] = append(rows[l], i)
	}
	return rows
}

// checkGroups refuses groups with a single row: such a group's deviations cannot be told
// from its one residual, and DSAMbayes's between-group defaults assume real groups.
func (b *builder) checkGroups(s *Spec) error {
	var errs []error
	n := 0
	for gi := range s.Groups {
		g := &s.Groups[gi]
		rows := rowsByLevel(g)
		for l, r := range rows {
			if len(r) != 1 {
				continue
			}
			n++
			if n > maxReported {
				continue
			}
			hint := ""
			for m, other := range g.Levels { // a label that differs only in case is a likely typo
				if m != l && len(rows[m]) > 1 && strings.EqualFold(other, g.Levels[l]) {
					hint = fmt.Sprintf(" (a typo for %q?)", other)
					break
				}
			}
			errs = append(errs, fmt.Errorf("ingest: %s:%d: %s %q has only one row%s; every group needs at least 2 rows: correct the label, add the group's other rows, or remove the row",
				b.t.name(), s.Lines[r[0]], g.Factor, g.Levels[l], hint))
		}
	}
	if n > maxReported {
		errs = append(errs, fmt.Errorf("ingest: %s: and %d more groups with only one row", b.t.name(), n-maxReported))
	}
	return errors.Join(errs...)
}

// groupWarnings runs the pitfall checks of the DSAMbayes tutorial on every grouping factor:
// too few groups to estimate group scales, groups with few rows for their group-varying
// terms, and group-varying slopes whose variable is constant within a group.
func groupWarnings(s *Spec) []string {
	var warnings []string
	for gi := range s.Groups {
		g := &s.Groups[gi]
		rows := rowsByLevel(g)
		if n := len(g.Levels); n < minGroups {
			names := make([]string, len(g.Terms))
			for j, k := range g.Terms {
				names[j] = show(GroupScaleName(g.Index, s.Terms[k].Name))
			}
			what, follow := "group scales "+strings.Join(names, ", ")+" are", "their posteriors follow the priors, so set those"
			if len(names) == 1 {
				what, follow = "group scale "+names[0]+" is", "its posterior follows the prior, so set it"
			}
			warnings = append(warnings, fmt.Sprintf("weak pooling: %s poorly estimated with %s of %s (%d or more are advised); %s deliberately in `priors.overrides` or drop the group term",
				what, plural(n, "group"), show(g.Factor), minGroups, follow))
		}

		need := rowsPerTerm * len(g.Terms)
		var few []string
		for l, r := range rows {
			if len(r) < need {
				few = append(few, fmt.Sprintf("%q (%s)", g.Levels[l], plural(len(r), "row")))
			}
		}
		if len(few) > 0 {
			warnings = append(warnings, fmt.Sprintf("few rows: %s %s %s fewer than %d rows for %s (%d per term); their group effects are poorly estimated and pulled towards the population values; vary fewer terms by group or merge small groups",
				show(g.Factor), listed(few), haveHas(len(few)), need, plural(len(g.Terms), "group-varying term"), rowsPerTerm))
		}

		for _, k := range g.Terms {
			if s.Terms[k].Intercept {
				continue
			}
			var flat []string
			for l, r := range rows {
				x := make([]float64, len(r))
				for i, row := range r {
					x[i] = s.X[k][row]
				}
				if constant(x) {
					flat = append(flat, fmt.Sprintf("%q", g.Levels[l]))
				}
			}
			if len(flat) > 0 {
				name := show(s.Terms[k].Name)
				warnings = append(warnings, fmt.Sprintf("no variation: %s does not vary within %s %s, so the data there cannot estimate its group-varying slope (it follows the population slope and %s); check the data, or drop %s from ( … | %s )",
					name, show(g.Factor), listed(flat), show(GroupScaleName(g.Index, s.Terms[k].Name)), name, show(g.Factor)))
			}
		}
	}
	return warnings
}

// groupScalePriors returns g's default group-scale priors, DSAMbayes's rule applied on the
// standardised scale and written out in original units (see BuildSpec): s is the sd (n−1)
// of the group means of y* = (y − meanY)/sdY, rounded to 2 decimals and floored at
// minGroupScale (also when there is a single group and s is undefined); the intercept's
// scale gets normal(0, s·sdY) and a slope on x normal(0, s·sdY/sd(x)), truncated at 0.
func groupScalePriors(s *Spec, g *Grouping, meanY, sdY float64) []Prior {
	sum := make([]float64, len(g.Levels))
	cnt := make([]float64, len(g.Levels))
	for i, l := range g.Of {
		sum[l] += s.Y[i]
		cnt[l]++
	}
	means := make([]float64, len(g.Levels))
	for l := range means {
		means[l] = (sum[l]/cnt[l] - meanY) / sdY
	}
	between := math.Round(stat.StdDev(means, nil)*100) / 100
	if !(between >= minGroupScale) { // also NaN, for a single group
		between = minGroupScale
	}
	priors := make([]Prior, len(g.Terms))
	for j, k := range g.Terms {
		sd := between * sdY
		if !s.Terms[k].Intercept {
			_, sdX := meanSD(s.X[k])
			sd /= sdX
		}
		priors[j] = Prior{Mean: 0, SD: sd, Default: true}
	}
	return priors
}

// addCRE appends the Mundlak terms: for each cre.vars entry, its mean within the CRE group,
// repeated on every row of the group.
func (b *builder) addCRE(s *Spec) error {
	cre := b.cfg.CRE
	if !cre.Enabled {
		return nil
	}
	var g *Grouping
	for k := range s.Groups {
		if cre.Group == "" || s.Groups[k].Factor == cre.Group {
			g = &s.Groups[k]
			break
		}
	}
	if g == nil { // Validate checks cre.enabled and cre.group against the formula
		return b.configErr("cre.group", "`cre.group` %q is not a grouping key of the formula", cre.Group)
	}
	if len(g.Levels) < 2 {
		return b.configErr("cre.enabled", "CRE needs at least 2 groups, but %s has only %s (%s), so there is no between-group variation for the %s terms to capture; fit without CRE (`cre.enabled: false`, `model.type: re`) or add groups",
			show(g.Factor), plural(len(g.Levels), "group"), showList(g.Levels), cre.Prefix)
	}
	if len(cre.Vars) > len(g.Levels) {
		s.Warnings = append(s.Warnings, fmt.Sprintf("cre.vars lists %d variables but %s has only %s: the %s terms cannot all be told apart from each other and the intercept, so their estimates rest on their priors; list fewer variables in `cre.vars`",
			len(cre.Vars), show(g.Factor), plural(len(g.Levels), "group"), cre.Prefix))
	}
	var errs []error
	for j, v := range cre.Vars {
		x := b.termColumn(v)
		sum := make([]float64, len(g.Levels))
		cnt := make([]float64, len(g.Levels))
		for i, l := range g.Of {
			sum[l] += x[i]
			cnt[l]++
		}
		means := make([]float64, len(g.Levels))
		for l := range means {
			means[l] = sum[l] / cnt[l]
		}
		name := cre.Prefix + v
		if constant(means) {
			if b.cfg.Model.Scale {
				errs = append(errs, b.configErr(fmt.Sprintf("cre.vars[%d]", j), "`cre.vars[%d]` (%s) has the same mean (%s) in every %s, so %s would be constant and cannot be standardised (model.scale: true); remove %s from `cre.vars`, fit without CRE (`model.type: re`, `cre.enabled: false`), or set `model.scale: false`",
					j, show(v), num.Plain(means[0]), show(g.Factor), show(name), show(v)))
				continue
			}
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s is constant (%s has the same mean, %s, in every %s): it duplicates the intercept and only its prior identifies it; remove %s from `cre.vars`",
				show(name), show(v), num.Plain(means[0]), show(g.Factor), show(v)))
		}
		col := make([]float64, len(x))
		for i, l := range g.Of {
			col[i] = means[l]
		}
		s.Terms = append(s.Terms, Term{Name: name})
		s.X = append(s.X, col)
	}
	return errors.Join(errs...)
}

// plural formats a count with its noun: "1 group", "3 groups".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// haveHas agrees a verb with a count.
func haveHas(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

// listed joins items with ", ", naming at most maxListed and counting the rest.
func listed(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxListed], ", "), len(items)-maxListed)
}
