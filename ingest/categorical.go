package ingest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Categorical formula terms. A formula term whose column holds text (no value of it is a
// number) is a factor, as a character column is in R's lm(): it expands into treatment
// contrasts, one 0/1 column per level but the reference level, named column + level as R's
// model.matrix names them (channel with levels Radio, TV: channelTV). The levels are sorted
// as R's sort() orders text in an English locale (see levelLess) and the first is the
// reference, unless data.reference_levels names another (as R's relevel does); without an
// intercept the first categorical term keeps every level, as in R.

// maxLevels is the most levels a categorical term may have.
const maxLevels = 50

// factorTerm is a categorical formula term resolved against the kept rows.
type factorTerm struct {
	column string
	levels []string // sorted; levels[0] is the reference unless full
	full   bool     // one column per level (the first factor of a model without intercept)
}

// dummies returns the factor's design-column names and levels, in design order.
func (ft factorTerm) dummies() (names, levels []string) {
	lv := ft.levels
	if !ft.full {
		lv = lv[1:]
	}
	for _, l := range lv {
		names = append(names, ft.column+l)
		levels = append(levels, l)
	}
	return names, levels
}

// levelLess orders factor levels as R's sort() orders letters in an English locale: compared
// regardless of case first, then lower case before upper case (a, A, b, B); other characters
// in byte order (digits before _ before letters). R under LC_COLLATE=C sorts upper case
// first instead (A, B, a, b).
func levelLess(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if la != lb {
		return la < lb
	}
	return a > b // on a case tie the lower-case letter (the larger byte) comes first
}

// textColumn reports whether a term's column is categorical: it has a value that is not
// missing, none of its values is a number, and none looks like a formatted number (1,234 or
// $12), which is a number column to fix rather than a factor.
func textColumn(missing []bool, bad []badCell) bool {
	present := 0
	for _, m := range missing {
		if !m {
			present++
		}
	}
	if present == 0 || len(bad) != present {
		return false
	}
	for _, c := range bad {
		if numberHint(c.value) != "" {
			return false
		}
	}
	return true
}

// mixedHint explains a term column that holds both numbers and text, where at least half
// of its values are text (fewer look like typos in a numeric column).
func (b *builder) mixedHint(bad []badCell) error {
	count := map[string]int{}
	for _, c := range bad {
		if numberHint(c.value) == "" {
			count[c.column]++
		}
	}
	seen := map[string]bool{}
	var errs []error
	for _, c := range bad {
		if seen[c.column] || !slices.Contains(b.f.Terms, c.column) || numberHint(c.value) != "" {
			continue
		}
		seen[c.column] = true
		present := 0
		for _, s := range b.t.Cells[c.col] {
			if !isMissing(s) {
				present++
			}
		}
		if 2*count[c.column] < present {
			continue
		}
		errs = append(errs, fmt.Errorf("ingest: %s: column %q holds numbers and text; if it is categorical, make every value text (e.g. \"level_1\" for 1) so that it expands into one 0/1 column per level", b.t.name(), c.column))
	}
	return errors.Join(errs...)
}

// resolveFactors finds the levels of each categorical term on the kept rows and refuses the
// uses a factor cannot have: one level, more than maxLevels, inside a group term, as a CRE
// variable, with a media transform, or a dummy name that clashes with another column.
func (b *builder) resolveFactors() error {
	b.factorTerms = map[string]factorTerm{}
	var errs []error
	full := !b.f.Intercept
	for _, name := range b.f.Terms {
		if !b.factors[name] {
			continue
		}
		at := func(msg string, args ...any) {
			errs = append(errs, &FormulaError{Src: b.f.Source, Pos: b.termPos(name), Where: b.cfg.where("model.formula"), Msg: fmt.Sprintf(msg, args...)})
		}
		cells := b.text(name)
		var levels []string
		seen := map[string]bool{}
		for _, s := range cells {
			if !seen[s] {
				seen[s] = true
				levels = append(levels, s)
			}
		}
		slices.SortFunc(levels, func(x, y string) int {
			switch {
			case levelLess(x, y):
				return -1
			case levelLess(y, x):
				return 1
			}
			return 0
		})
		if ref, ok := b.cfg.Data.ReferenceLevels[name]; ok {
			if k := slices.Index(levels, ref); k < 0 {
				errs = append(errs, b.configErr("data.reference_levels."+name, "`data.reference_levels.%s` is %q, which is not a level of %q in the rows used (its levels: %s)", name, ref, name, showList(levels)))
			} else {
				levels = append(append([]string{ref}, levels[:k]...), levels[k+1:]...)
			}
		}
		switch {
		case len(levels) == 1:
			at("column %q of %s is text, a categorical term, but has one value, %q, in the rows used; a factor needs at least two levels: remove it from the formula", name, b.t.name(), levels[0])
			continue
		case len(levels) > maxLevels:
			at("column %q of %s is text, a categorical term, with %d distinct values (%s, …); at most %d levels are allowed: if it identifies markets or products, model it as a group term such as (1 | %s); if it should be numbers, fix the values",
				name, b.t.name(), len(levels), showList(levels[:3]), maxLevels, show(name))
			continue
		}
		for _, bar := range b.f.Bars {
			if slices.Contains(bar.Terms, name) {
				at("column %q of %s is text, a categorical term; it cannot vary by group in ( … | %s ): keep it as a population term only, or give it a 0/1 column per level", name, b.t.name(), showFactor(bar.Factors))
			}
		}
		ft := factorTerm{column: name, levels: levels, full: full}
		full = false
		b.factorTerms[name] = ft
		dummies, _ := ft.dummies()
		for _, d := range dummies {
			if b.t.Col(d) >= 0 || slices.Contains(b.f.Terms, d) {
				at("the categorical term %q has the level %q, whose column name %q is also a column of %s; rename the level or the column", name, strings.TrimPrefix(d, name), d, b.t.name())
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.cfg.Data.ReferenceLevels)) {
		if !b.factors[name] {
			errs = append(errs, b.configErr("data.reference_levels."+name, "`data.reference_levels.%s`: %q is not a text (categorical) term of the formula; reference levels apply to those only", name, name))
		}
	}
	for i, v := range b.cfg.CRE.Vars {
		if b.cfg.CRE.Enabled && b.factors[v] {
			errs = append(errs, b.configErr(fmt.Sprintf("cre.vars[%d]", i), "`cre.vars[%d]` is %q, a text (categorical) column; CRE takes group means of numeric terms only", i, v))
		}
	}
	for _, name := range sortedNames(b.cfg.Transforms.Columns) {
		if b.factors[name] {
			errs = append(errs, b.configErr("transforms."+name, "`transforms.%s`: %q is a text (categorical) column; media transforms apply to numeric columns only", name, name))
		}
	}
	return errors.Join(errs...)
}

// termPos is the formula position of a population term.
func (b *builder) termPos(name string) int {
	for _, r := range b.f.Refs {
		if r.Name == name && r.Role == "term" {
			return r.Pos
		}
	}
	for _, r := range b.f.Refs {
		if r.Name == name {
			return r.Pos
		}
	}
	return 0
}

// factorColumns returns the design columns of a categorical term on the kept rows.
func (b *builder) factorColumns(ft factorTerm) ([]Term, [][]float64) {
	cells := b.text(ft.column)
	names, levels := ft.dummies()
	terms := make([]Term, len(names))
	cols := make([][]float64, len(names))
	for j, l := range levels {
		terms[j] = Term{Name: names[j], Factor: ft.column, Level: l}
		x := make([]float64, len(cells))
		for i, s := range cells {
			if s == l {
				x[i] = 1
			}
		}
		cols[j] = x
	}
	return terms, cols
}

// derivedName reports whether a prior or bound may name a coefficient that only the data
// can confirm: a level's dummy of a formula term (channelTV for the term channel), or a
// managed holiday column (holiday_christmas). BuildSpec checks such names against the
// design.
func (c *Config) derivedName(f *Formula, name string) bool {
	if c.holidaysOn() && c.TimeComponents.Holidays.AddToFormula != nil && *c.TimeComponents.Holidays.AddToFormula &&
		strings.HasPrefix(name, c.TimeComponents.Holidays.Prefix) {
		return true
	}
	for _, t := range f.Terms {
		if len(name) > len(t) && strings.HasPrefix(name, t) {
			return true
		}
	}
	return false
}

// unknownParameter explains a prior or bound name that is not a coefficient of s.
func unknownParameter(s *Spec, name string) string {
	var levels, names []string
	for _, t := range s.Terms {
		names = append(names, t.Name)
		if t.Factor == name {
			levels = append(levels, t.Name)
		}
	}
	if len(levels) > 0 {
		return fmt.Sprintf("; %q is a text (categorical) column, whose coefficients are %s", name, quoteList(levels, " and "))
	}
	if s := closest(name, names, 1); len(s) > 0 {
		return fmt.Sprintf("; did you mean %q?", s[0])
	}
	return fmt.Sprintf(" (its coefficients: %s)", showList(names))
}
