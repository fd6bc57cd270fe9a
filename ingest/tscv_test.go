package ingest

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTimeSeriesSelectionConfig(t *testing.T) {
	const head = "data:\n  path: data.csv\n  date_var: date\nmodel:\n  formula: kpi ~ m_tv\n"
	defaults := TimeSeriesSelectionConfig{Enabled: true, Folds: 5, Horizon: 13, MinTrain: 52, Window: "expanding"}
	for _, c := range []struct {
		name, yaml string
		want       *TimeSeriesSelectionConfig
	}{
		{"absent", head, nil},
		{"switched on, defaults", head + "diagnostics:\n  time_series_selection: {enabled: true}\n", &defaults},
		{"switched off (a ported config)", head + "diagnostics:\n  time_series_selection:\n    enabled: false\n",
			&TimeSeriesSelectionConfig{Folds: 5, Horizon: 13, MinTrain: 52, Window: "expanding"}},
		{"every key", head + "diagnostics:\n  time_series_selection: {enabled: true, folds: 2, horizon: 4, min_train: 20, window: rolling}\n",
			&TimeSeriesSelectionConfig{Enabled: true, Folds: 2, Horizon: 4, MinTrain: 20, Window: "rolling"}},
	} {
		cfg, err := ParseConfig([]byte(c.yaml), filepath.Join("testdata", "tscv.yaml"))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := cfg.Diagnostics.TimeSeriesSelection; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: time_series_selection = %+v; want %+v", c.name, got, c.want)
		}
		out, err := cfg.ResolvedYAML()
		if err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(out, []byte("time_series_selection:")); has != (c.want != nil) {
			t.Errorf("%s: resolved config holds time_series_selection: %v:\n%s", c.name, has, out)
		}
		again, err := ParseConfig(out, filepath.Join(t.TempDir(), "config.resolved.yaml"))
		if err != nil {
			t.Fatalf("%s: resolved config: %v", c.name, err)
		}
		if got := again.Diagnostics.TimeSeriesSelection; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: resolved time_series_selection = %+v; want %+v", c.name, got, c.want)
		}
	}
}

func TestTimeSeriesSelectionErrors(t *testing.T) {
	const model = "model:\n  formula: kpi ~ m_tv\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"values out of range",
			"data:\n  path: data.csv\n  date_var: date\n" + model + "diagnostics:\n  time_series_selection:\n    enabled: true\n    folds: 0\n    horizon: -1\n    min_train: 1\n    window: sliding\n",
			"ingest: testdata/tscv.yaml:9:5: `diagnostics.time_series_selection.folds` is 0; must be at least 1 (default 5)\n" +
				"ingest: testdata/tscv.yaml:10:5: `diagnostics.time_series_selection.horizon` is -1; must be at least 1 (default 13)\n" +
				"ingest: testdata/tscv.yaml:11:5: `diagnostics.time_series_selection.min_train` is 1; must be at least 2 (default 52)\n" +
				"ingest: testdata/tscv.yaml:12:5: `diagnostics.time_series_selection.window` is \"sliding\"; must be one of expanding, rolling"},
		{"no date_var",
			"data:\n  path: data.csv\n" + model + "diagnostics:\n  time_series_selection: {enabled: true}\n",
			"ingest: testdata/tscv.yaml:6:27: `diagnostics.time_series_selection.enabled` is true but `data.date_var` is not set; the folds are cut by date, so name the date column"},
		{"MAP fit",
			"data:\n  path: data.csv\n  date_var: date\n" + model + "fit:\n  method: optimise\ndiagnostics:\n  time_series_selection:\n    enabled: true\n",
			"ingest: testdata/tscv.yaml:10:5: `diagnostics.time_series_selection.enabled` is true but `fit.method` is optimise; holdout ELPD and intervals need posterior draws, so use fit.method mcmc"},
		{"misspelt key",
			"data:\n  path: data.csv\n  date_var: date\n" + model + "diagnostics:\n  time_series_selection:\n    horizn: 4\n",
			"ingest: testdata/tscv.yaml:8:5: unknown key `diagnostics.time_series_selection.horizn`"},
	} {
		_, err := ParseConfig([]byte(c.yaml), filepath.Join("testdata", "tscv.yaml"))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %s\nwant %s", c.name, err, c.want)
		}
	}
}

func TestSpecSubset(t *testing.T) {
	s := &Spec{
		N: 6, Y: []float64{1, 2, 3, 4, 5, 6}, Offset: []float64{0, 0, 0, 1, 1, 1},
		Terms: []Term{{Name: "m_tv"}}, X: [][]float64{{10, 20, 30, 40, 50, 60}},
		Transforms: []Transform{{Column: "m_tv", Adstock: true, Decay: 0.5, MaxLag: 2, Raw: []float64{1, 2, 3, 4, 5, 6}}},
		// Two series, rows interleaved: a = 0, 2, 4; b = 1, 3, 5.
		Series: [][]int{{0, 2, 4}, {1, 3, 5}},
		Dates:  []string{"d1", "d1", "d2", "d2", "d3", "d3"},
		Lines:  []int{2, 3, 4, 5, 6, 7},
		Groups: []Grouping{{Factor: "market", Levels: []string{"a", "b"}, Of: []int{0, 1, 0, 1, 0, 1}}},
	}
	sub := s.Subset([]int{4, 5})
	if sub.N != 2 || !reflect.DeepEqual(sub.Y, []float64{5, 6}) || !reflect.DeepEqual(sub.Offset, []float64{1, 1}) ||
		!reflect.DeepEqual(sub.X[0], []float64{50, 60}) || !reflect.DeepEqual(sub.Transforms[0].Raw, []float64{5, 6}) ||
		!reflect.DeepEqual(sub.Dates, []string{"d3", "d3"}) || !reflect.DeepEqual(sub.Lines, []int{6, 7}) ||
		!reflect.DeepEqual(sub.Groups[0].Of, []int{0, 1}) || !reflect.DeepEqual(sub.Groups[0].Levels, []string{"a", "b"}) ||
		!reflect.DeepEqual(sub.Series, [][]int{{0}, {1}}) {
		t.Errorf("Subset = %+v", sub)
	}
	// The original is untouched.
	if s.N != 6 || len(s.Groups[0].Of) != 6 || len(s.Transforms[0].Raw) != 6 || len(s.Series[0]) != 3 {
		t.Errorf("Subset changed the spec: %+v", s)
	}
	if sub := s.Subset([]int{0, 1, 2, 3}); !reflect.DeepEqual(sub.Series, [][]int{{0, 2}, {1, 3}}) {
		t.Errorf("Series of the first four rows = %v", sub.Series)
	}
}
