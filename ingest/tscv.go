package ingest

import (
	"fmt"
	"slices"
	"time"
)

// Defaults of diagnostics.time_series_selection.
const (
	DefaultTSCVFolds    = 5
	DefaultTSCVHorizon  = 13
	DefaultTSCVMinTrain = 52
	DefaultTSCVWindow   = "expanding"
)

// tscvWindows are the values of diagnostics.time_series_selection.window.
var tscvWindows = []string{"expanding", "rolling"}

// TimeSeriesSelectionConfig is diagnostics.time_series_selection: blocked time-series
// cross-validation after the main fit. Folds cut-offs are Horizon weeks apart, the last
// fold's holdout ending at the data's last date; each fold fits on the weeks before its
// cut-off (all of them when Window is expanding, the last MinTrain when rolling) and scores
// the next Horizon weeks. Every group is cut at the same date.
type TimeSeriesSelectionConfig struct {
	// Enabled runs the folds; default false (DSAMbayes configs carry the section switched off).
	Enabled bool `yaml:"enabled"`
	// Folds is at least 1; default 5.
	Folds int `yaml:"folds"`
	// Horizon is the number of held-out dates per fold, at least 1; default 13.
	Horizon int `yaml:"horizon"`
	// MinTrain is the number of training dates of the first fold (and of every fold when
	// rolling), at least 2; default 52.
	MinTrain int `yaml:"min_train"`
	// Window is expanding or rolling; default expanding.
	Window string `yaml:"window"`
}

// CrossValidates reports whether the run cross-validates by time after its fit
// (diagnostics.time_series_selection.enabled).
func (c *Config) CrossValidates() bool {
	ts := c.Diagnostics.TimeSeriesSelection
	return ts != nil && ts.Enabled
}

// tscvDefaults fills the keys of a diagnostics.time_series_selection section that the file
// did not set; an absent section stays absent.
func (c *Config) tscvDefaults() {
	ts := c.Diagnostics.TimeSeriesSelection
	if ts == nil {
		return
	}
	given := c.pos.Given
	const p = "diagnostics.time_series_selection."
	if !given(p + "folds") {
		ts.Folds = DefaultTSCVFolds
	}
	if !given(p + "horizon") {
		ts.Horizon = DefaultTSCVHorizon
	}
	if !given(p + "min_train") {
		ts.MinTrain = DefaultTSCVMinTrain
	}
	if !given(p + "window") {
		ts.Window = DefaultTSCVWindow
	}
}

func (c *Config) validateTSCV(v *validator) {
	ts := c.Diagnostics.TimeSeriesSelection
	if ts == nil {
		return
	}
	const p = "diagnostics.time_series_selection."
	if ts.Folds < 1 {
		v.add(p+"folds", "`%sfolds` is %d; must be at least 1 (default %d)", p, ts.Folds, DefaultTSCVFolds)
	}
	if ts.Horizon < 1 {
		v.add(p+"horizon", "`%shorizon` is %d; must be at least 1 (default %d)", p, ts.Horizon, DefaultTSCVHorizon)
	}
	if ts.MinTrain < 2 {
		v.add(p+"min_train", "`%smin_train` is %d; must be at least 2 (default %d)", p, ts.MinTrain, DefaultTSCVMinTrain)
	}
	v.enum(p+"window", ts.Window, tscvWindows)
	if ts.Enabled && c.Data.DateVar == "" {
		v.add(p+"enabled", "`%senabled` is true but `data.date_var` is not set; the folds are cut by date, so name the date column", p)
	}
	if ts.Enabled && c.Fit.MAP() {
		v.add(p+"enabled", "`%senabled` is true but `fit.method` is optimise; holdout ELPD and intervals need posterior draws, so use fit.method mcmc", p)
	}
}

// RowTimes parses s.Dates (data.date_var of each kept row) with data.date_format when set,
// otherwise in the first recognised format every value follows.
func (c *Config) RowTimes(s *Spec) ([]time.Time, error) {
	if s.Dates == nil {
		return nil, fmt.Errorf("ingest: the data have no dates (`data.date_var` is not set)")
	}
	var layout string
	if c.Data.DateFormat != "" {
		l, err := DateLayout(c.Data.DateFormat)
		if err != nil {
			return nil, err
		}
		layout = l
	} else if l, ok := dateLayout(s.Dates); ok {
		layout = l
	} else {
		return nil, fmt.Errorf("ingest: `data.date_var` (%q) does not hold dates in a recognised format (%s)", c.Data.DateVar, layoutNames())
	}
	out := make([]time.Time, len(s.Dates))
	for i, d := range s.Dates {
		t, err := time.Parse(layout, d)
		if err != nil {
			return nil, fmt.Errorf("ingest: row at line %d: %q is not a date: %w", s.Lines[i], d, err)
		}
		out[i] = t
	}
	return out, nil
}

// Subset returns the spec of the given kept rows (indexes into s's rows, in the order
// given): every row-wise field is cut to them, Series keeps each series' rows that remain (in
// date order, renumbered) and drops emptied series. The model is s's: terms, priors, bounds,
// scaling, group levels and transform settings are shared, and transformed columns keep the
// values computed on the full series, so adstock carries over from rows left out.
func (s *Spec) Subset(rows []int) *Spec {
	out := *s
	out.N = len(rows)
	pick := func(x []float64) []float64 {
		if x == nil {
			return nil
		}
		y := make([]float64, len(rows))
		for j, i := range rows {
			y[j] = x[i]
		}
		return y
	}
	out.Y, out.Offset = pick(s.Y), pick(s.Offset)
	out.X = make([][]float64, len(s.X))
	for k := range s.X {
		out.X[k] = pick(s.X[k])
	}
	out.Transforms = slices.Clone(s.Transforms)
	for k := range out.Transforms {
		out.Transforms[k].Raw = pick(s.Transforms[k].Raw)
	}
	if s.Dates != nil {
		out.Dates = make([]string, len(rows))
		for j, i := range rows {
			out.Dates[j] = s.Dates[i]
		}
	}
	out.Lines = make([]int, len(rows))
	for j, i := range rows {
		out.Lines[j] = s.Lines[i]
	}
	out.Groups = slices.Clone(s.Groups)
	for g := range out.Groups {
		of := make([]int, len(rows))
		for j, i := range rows {
			of[j] = s.Groups[g].Of[i]
		}
		out.Groups[g].Of = of
	}
	if s.Series != nil {
		at := make(map[int]int, len(rows))
		for j, i := range rows {
			at[i] = j
		}
		out.Series = nil
		for _, ser := range s.Series {
			var kept []int
			for _, i := range ser {
				if j, ok := at[i]; ok {
					kept = append(kept, j)
				}
			}
			if len(kept) > 0 {
				out.Series = append(out.Series, kept)
			}
		}
	}
	out.Warnings = nil
	return &out
}
