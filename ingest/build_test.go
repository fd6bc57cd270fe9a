package ingest

import (
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

// sampleCSV is testdata/data.csv: kpi = 1..5, m_tv = 2·kpi, m_search alternates 1, 0.
const sampleCSV = `date,kpi,m_tv,m_search,price,base,market,brand
2024-01-01,1,2,1,10,0.5,north,acme
2024-01-08,2,4,0,10,0.5,north,bolt
2024-01-15,3,6,1,11,0.5,south,acme
2024-01-22,4,8,0,11,0.5,south,bolt
2024-01-29,5,10,1,12,0.5,north,acme
`

// runIn writes run.yaml and data.csv into a temporary folder, makes it the working folder
// (so messages name "run.yaml" and "data.csv") and loads the run.
func runIn(t *testing.T, yaml, csv string) (*Config, *Spec, error) {
	t.Helper()
	t.Chdir(t.TempDir())
	if err := os.WriteFile("run.yaml", []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("data.csv", []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load("run.yaml")
}

// sampleSD is the sample standard deviation (n−1), written out independently of gonum.
func sampleSD(x []float64) float64 {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestBuildSpecDefaults(t *testing.T) {
	cfg, spec, err := Load("testdata/run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model.Name != "sample blm" || spec.Name != "sample_blm" {
		t.Errorf("name %q -> %q; want sample blm -> sample_blm", cfg.Model.Name, spec.Name)
	}
	inf := math.Inf(1)
	// Values by hand: sd(kpi = 1..5) = √2.5, sd(m_tv = 2·kpi) = √10, sd(m_search) = √0.3.
	sdY := math.Sqrt(2.5)
	want := &Spec{
		Name: "sample_blm", Response: "kpi", N: 5,
		Y:      []float64{1, 2, 3, 4, 5},
		Offset: []float64{0.5, 0.5, 0.5, 0.5, 0.5}, OffsetName: "base",
		Terms: []Term{{Name: InterceptName, Intercept: true}, {Name: "m_tv"}, {Name: "m_search"}},
		X:     [][]float64{{1, 1, 1, 1, 1}, {2, 4, 6, 8, 10}, {1, 0, 1, 0, 1}},
		Priors: []Prior{
			{Mean: 3, SD: 5 * sdY, Default: true}, // normal(mean(y), 5·sd(y))
			{Mean: 0, SD: 2.5, Default: true},     // normal(0, 5·sd(y)/sd(x)) = 5·√2.5/√10
			{Mean: 0.5, SD: 0.25},                 // priors.overrides
		},
		Bounds:  []Bound{Unbounded, {Lower: 0, Upper: inf}, Unbounded},
		NoiseSD: NoisePrior{Family: NoiseNormal, Mean: 0, SD: sdY, Default: true},
		Scale:   true,
		Scaling: Scaling{YCentre: 3, YScale: sdY, XScale: []float64{1, math.Sqrt(10), math.Sqrt(0.3)}},
		Dates:   []string{"2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29"},
		Lines:   []int{2, 3, 4, 5, 6},
	}
	compareSpec(t, spec, want)
}

// compareSpec compares specs, floats to 1e-12 relative.
func compareSpec(t *testing.T, got, want *Spec) {
	t.Helper()
	approx := func(a, b float64) bool { return a == b || near(a, b) }
	eqF := func(a, b []float64) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !approx(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	ok := len(got.X) == len(want.X) && len(got.Priors) == len(want.Priors)
	for k := 0; ok && k < len(want.X); k++ {
		ok = eqF(got.X[k], want.X[k]) && approx(got.Priors[k].Mean, want.Priors[k].Mean) &&
			approx(got.Priors[k].SD, want.Priors[k].SD) && got.Priors[k].Default == want.Priors[k].Default
	}
	ok = ok && eqF(got.Y, want.Y) && eqF(got.Offset, want.Offset) && eqF(got.Scaling.XScale, want.Scaling.XScale) &&
		approx(got.Scaling.YCentre, want.Scaling.YCentre) && approx(got.Scaling.YScale, want.Scaling.YScale) &&
		approx(got.NoiseSD.SD, want.NoiseSD.SD) && approx(got.NoiseSD.Mean, want.NoiseSD.Mean) &&
		got.NoiseSD.Family == want.NoiseSD.Family && got.NoiseSD.Default == want.NoiseSD.Default
	g, w := *got, *want
	g.X, g.Y, g.Offset, g.Priors, g.Scaling, g.NoiseSD = nil, nil, nil, nil, Scaling{}, NoisePrior{}
	w.X, w.Y, w.Offset, w.Priors, w.Scaling, w.NoiseSD = nil, nil, nil, nil, Scaling{}, NoisePrior{}
	if !ok || !reflect.DeepEqual(g, w) {
		t.Errorf("spec =\n%+v\nwant\n%+v", got, want)
	}
}

func TestBuildSpecUnscaledSharesPriors(t *testing.T) {
	_, scaled, err := runIn(t, "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + price}\n", sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	_, unscaled, err := runIn(t, "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + price, scale: false}\n", sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(scaled.Priors, unscaled.Priors) || !reflect.DeepEqual(scaled.Bounds, unscaled.Bounds) || scaled.NoiseSD != unscaled.NoiseSD {
		t.Errorf("priors differ: scaled %v, unscaled %v", scaled.Priors, unscaled.Priors)
	}
	want := Scaling{YCentre: 0, YScale: 1, XScale: []float64{1, 1, 1}}
	if unscaled.Scale || !reflect.DeepEqual(unscaled.Scaling, want) {
		t.Errorf("unscaled Scaling = %+v; want the identity %+v", unscaled.Scaling, want)
	}
	// price = 10, 10, 11, 11, 12.
	if got, want := scaled.Priors[2].SD, 5*sampleSD([]float64{1, 2, 3, 4, 5})/sampleSD([]float64{10, 10, 11, 11, 12}); !near(got, want) {
		t.Errorf("price prior sd = %v; want %v", got, want)
	}
}

func TestBuildSpecPanel(t *testing.T) {
	_, spec, err := Load("testdata/panel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	logY := []float64{0, math.Log(2), math.Log(3), math.Log(4), math.Log(5)}
	sdY := sampleSD(logY)
	want := &Spec{
		Name: "panel", Response: "kpi", LogResponse: true, N: 5, Y: logY,
		Terms: []Term{{Name: InterceptName, Intercept: true}, {Name: "m_tv"}, {Name: "m_search"}},
		X:     [][]float64{{1, 1, 1, 1, 1}, {2, 4, 6, 8, 10}, {1, 0, 1, 0, 1}},
		Priors: []Prior{
			{Mean: math.Log(120) / 5, SD: 5 * sdY, Default: true},
			{Mean: 0, SD: 5 * sdY / math.Sqrt(10), Default: true},
			{Mean: 0, SD: 5 * sdY / math.Sqrt(0.3), Default: true},
		},
		Bounds:  []Bound{Unbounded, Unbounded, Unbounded},
		NoiseSD: NoisePrior{Family: NoiseNormal, SD: sdY, Default: true},
		Scale:   true,
		Scaling: Scaling{YCentre: math.Log(120) / 5, YScale: sdY, XScale: []float64{1, math.Sqrt(10), math.Sqrt(0.3)}},
		Lines:   []int{2, 3, 4, 5, 6},
		Groups: []Grouping{
			{Factor: "market", Index: 1, Levels: []string{"north", "south"}, Of: []int{0, 0, 1, 1, 0}, Terms: []int{0, 1}},
			{Factor: "market:brand", Index: 2, Levels: []string{"north:acme", "north:bolt", "south:acme", "south:bolt"},
				Of: []int{0, 1, 2, 3, 0}, Terms: []int{2}, Independent: true},
		},
		Warnings: []string{"m_search appears only inside a group term; it was added as a population term too"},
	}
	compareSpec(t, spec, want)
}

func TestBuildSpecCRE(t *testing.T) {
	yaml := `data: {path: data.csv}
model:
  formula: kpi ~ m_tv + (1 + m_tv | market)
  random_effects: {correlated: false}
cre: {enabled: true, vars: [m_tv]}
priors:
  overrides:
    - {parameter: cre_mean_m_tv, mean: 0, sd: 1}
`
	cfg, spec, err := runIn(t, yaml, sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model.Type != "cre" {
		t.Errorf("model.type resolved to %q; want cre", cfg.Model.Type)
	}
	// north rows have m_tv 2, 4, 10 (mean 16/3); south rows 6, 8 (mean 7).
	n, s := 16.0/3, 7.0
	if len(spec.Terms) != 3 || spec.Terms[2].Name != "cre_mean_m_tv" || !reflect.DeepEqual(spec.X[2], []float64{n, n, s, s, n}) {
		t.Errorf("CRE term %v = %v; want cre_mean_m_tv = %v", spec.Terms, spec.X[len(spec.X)-1], []float64{n, n, s, s, n})
	}
	if spec.Priors[2] != (Prior{Mean: 0, SD: 1}) || !spec.Groups[0].Independent {
		t.Errorf("CRE prior %+v, independent %v; want the override and independent effects (correlated: false)", spec.Priors[2], spec.Groups[0].Independent)
	}

	_, _, err = runIn(t, strings.Replace(yaml, "vars: [m_tv]", "vars: [m_tv, base]", 1), strings.Replace(sampleCSV, "date,", "date,", 1))
	want := "ingest: run.yaml:5:35: `cre.vars[1]` is \"base\", which is not a term of the formula (terms: m_tv)"
	if err == nil || err.Error() != want {
		t.Errorf("cre var not a term: error =\n%v\nwant\n%s", err, want)
	}
}

func TestBuildSpecNA(t *testing.T) {
	csv := strings.NewReplacer("2024-01-08,2,4", "2024-01-08,2,NA", "2024-01-29,5,10,1,12,0.5,north", "2024-01-29,5,10,1,12,0.5,").Replace(sampleCSV)
	const yaml = "data: {path: data.csv, na_action: %s}\nmodel: {formula: kpi ~ m_tv + (1 | market)}\n"

	_, spec, err := runIn(t, strings.Replace(yaml, "%s", "omit", 1), csv)
	if err != nil {
		t.Fatal(err)
	}
	if spec.N != 3 || spec.Dropped != 2 || !reflect.DeepEqual(spec.Lines, []int{2, 4, 5}) || !reflect.DeepEqual(spec.Y, []float64{1, 3, 4}) {
		t.Errorf("omit: N %d, dropped %d, lines %v, y %v; want 3, 2, [2 4 5], [1 3 4]", spec.N, spec.Dropped, spec.Lines, spec.Y)
	}
	if want := []string{"dropped 2 of 5 rows with missing values (data.na_action: omit): lines 3, 6"}; !reflect.DeepEqual(spec.Warnings, want) {
		t.Errorf("omit warnings = %q; want %q", spec.Warnings, want)
	}

	_, _, err = runIn(t, strings.Replace(yaml, "%s", "error", 1), csv)
	want := `ingest: data.csv:3: column "m_tv" is missing ("NA")
ingest: data.csv:6: column "market" is missing ("")
ingest: run.yaml:1:24: ` + "`data.na_action` is error, so missing values in the model's columns are not allowed; fill them in, or set na_action: omit to drop those rows"
	if err == nil || err.Error() != want {
		t.Errorf("na_action error: error =\n%v\nwant\n%s", err, want)
	}
}

func TestBuildSpecErrors(t *testing.T) {
	tests := []struct {
		name, yaml, csv, wantErr string
	}{
		{
			name: "missing columns point into the formula",
			yaml: "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tvv + trend + (1 | Market)\n",
			csv:  sampleCSV,
			wantErr: "ingest: run.yaml:4:3: formula: column 7: no column \"m_tvv\" in data.csv; did you mean \"m_tv\"?\n" +
				"  kpi ~ m_tvv + trend + (1 | Market)\n" +
				"        ^\n" +
				"ingest: run.yaml:4:3: formula: column 15: no column \"trend\" in data.csv (its columns: date, kpi, m_tv, m_search, price, base, market, brand)\n" +
				"  kpi ~ m_tvv + trend + (1 | Market)\n" +
				"                ^\n" +
				"ingest: run.yaml:4:3: formula: column 28: no column \"Market\" in data.csv; did you mean \"market\"?\n" +
				"  kpi ~ m_tvv + trend + (1 | Market)\n" +
				"                             ^",
		},
		{
			name:    "missing date column",
			yaml:    "data: {path: data.csv, date_var: week}\nmodel: {formula: kpi ~ m_tv}\n",
			csv:     sampleCSV,
			wantErr: "ingest: run.yaml:1:24: `data.date_var` is \"week\", which is not a column of data.csv (its columns: date, kpi, m_tv, m_search, price, base, market, brand)",
		},
		{
			name: "cells that are not numbers, in file order",
			yaml: "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + price}\n",
			csv:  strings.NewReplacer("2024-01-22,4,8,0,11", "2024-01-22,4,8,0,\"11,5\"", "2024-01-08,2,4,", "2024-01-08,2,four,").Replace(sampleCSV),
			wantErr: `ingest: data.csv:3: column "m_tv": "four" is not a number
ingest: data.csv:5: column "price": "11,5" is not a number (use a decimal point: 11.5)`,
		},
		{
			name: "log of values that are not positive",
			yaml: "data: {path: data.csv}\nmodel: {formula: log(kpi) ~ m_tv}\n",
			csv:  strings.NewReplacer("2024-01-08,2,", "2024-01-08,0,", "2024-01-15,3,", "2024-01-15,-3,").Replace(sampleCSV),
			wantErr: `ingest: data.csv:3: column "kpi" is 0; log(kpi) needs every value > 0
ingest: data.csv:4: column "kpi" is -3; log(kpi) needs every value > 0`,
		},
		{
			name:    "dates that do not match the others",
			yaml:    "data: {path: data.csv, date_var: date}\nmodel: {formula: kpi ~ m_tv}\n",
			csv:     strings.Replace(sampleCSV, "2024-01-15", "2024-13-15", 1),
			wantErr: `ingest: data.csv:4: column "date" (data.date_var): "2024-13-15" is not a date in the format of the other rows (YYYY-MM-DD)`,
		},
		{
			name:    "no data rows",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\n",
			csv:     "kpi,m_tv\n",
			wantErr: "ingest: data.csv has a header but no data rows",
		},
		{
			name:    "CRE on a constant mean",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ base + (1 | market)}\ncre: {enabled: true, vars: [base]}\n",
			csv:     sampleCSV,
			wantErr: "ingest: run.yaml:3:29: `cre.vars[0]` (base) has the same mean (0.5) in every market, so cre_mean_base would be constant; remove it from `cre.vars`",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runIn(t, tt.yaml, tt.csv)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Load error =\n%v\nwant\n%s", err, tt.wantErr)
			}
		})
	}
}

func TestBuildSpecFormulaErrorType(t *testing.T) {
	_, _, err := runIn(t, "data: {path: data.csv}\nmodel: {formula: kpi ~ tv}\n", sampleCSV)
	var fe *FormulaError
	if !errors.As(err, &fe) || fe.Pos != 6 || fe.Where != "run.yaml:2:9" {
		t.Errorf("error %v: want a *FormulaError at 6 from run.yaml:2:9, got %+v", err, fe)
	}
}

func TestBuildSpecNoiseOverride(t *testing.T) {
	yaml := "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  noise_sd: {family: lognormal_ms, mean: 1, sd: 0.5}\n"
	_, spec, err := runIn(t, yaml, sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	if want := (NoisePrior{Family: NoiseLognormalMS, Mean: 1, SD: 0.5}); spec.NoiseSD != want {
		t.Errorf("NoiseSD = %+v; want %+v", spec.NoiseSD, want)
	}
	yaml = "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  use_defaults: false\n  overrides:\n" +
		"    - {parameter: (Intercept), mean: 1, sd: 2}\n    - {parameter: m_tv, mean: 0, sd: 1}\n    - {parameter: noise_sd, mean: 0, sd: 3}\n"
	_, spec, err = runIn(t, yaml, sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	if want := (NoisePrior{Family: NoiseNormal, Mean: 0, SD: 3}); spec.NoiseSD != want || spec.Priors[0] != (Prior{Mean: 1, SD: 2}) {
		t.Errorf("NoiseSD = %+v, intercept %+v; want %+v and normal(1, 2)", spec.NoiseSD, spec.Priors[0], want)
	}
}

func TestLoadFull(t *testing.T) {
	// testdata/full.yaml sets every key: CRE with a custom prefix, a lognormal_ms noise
	// prior, scale off, correlated group effects.
	_, spec, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, term := range spec.Terms {
		names = append(names, term.Name)
	}
	// m_search is 1, 0, 1 in north (mean 2/3) and 1, 0 in south (mean 1/2).
	n, s := 2.0/3, 0.5
	if want := []string{InterceptName, "m_tv", "m_search", "price", "mean_m_search"}; !reflect.DeepEqual(names, want) ||
		!reflect.DeepEqual(spec.X[4], []float64{n, n, s, s, n}) {
		t.Errorf("terms %v, CRE column %v; want %v and %v", names, spec.X[len(spec.X)-1], want, []float64{n, n, s, s, n})
	}
	if spec.Scale || spec.NoiseSD != (NoisePrior{Family: NoiseLognormalMS, Mean: 0.3, SD: 0.2}) ||
		spec.Bounds[2] != (Bound{Lower: 0, Upper: math.Inf(1)}) || spec.Groups[0].Independent {
		t.Errorf("scale %v, noise %+v, m_search bound %+v, independent %v", spec.Scale, spec.NoiseSD, spec.Bounds[2], spec.Groups[0].Independent)
	}
}
