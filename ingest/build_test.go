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
		// Resolved for every model; codegen uses it only when there are group terms.
		Parameterization: "auto",
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
	// testdata/panel.yaml on testdata/panel.csv: 4 markets × 2 weeks, kpi = 1, 3, …, 15,
	// m_tv = 0, 2 in every market, m_search = 1, 0, 0, 1, 1, 0, 0, 1.
	_, spec, err := Load("testdata/panel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	logY := make([]float64, 8)
	var meanY float64
	for i := range logY {
		logY[i] = math.Log(float64(2*i + 1))
		meanY += logY[i] / 8
	}
	sdY := sampleSD(logY)
	sdTV, sdSearch := math.Sqrt(8.0/7), math.Sqrt(2.0/7) // deviations ±1 and ±0.5, n−1 = 7
	market, rb := []int{0, 0, 1, 1, 2, 2, 3, 3}, []int{0, 1, 0, 1, 2, 3, 2, 3}
	s1, s2 := betweenSD(logY, market, 4), betweenSD(logY, rb, 4)
	want := &Spec{
		Name: "panel", Response: "kpi", LogResponse: true, N: 8, Y: logY,
		Terms: []Term{{Name: InterceptName, Intercept: true}, {Name: "m_tv"}, {Name: "m_search"}},
		X:     [][]float64{{1, 1, 1, 1, 1, 1, 1, 1}, {0, 2, 0, 2, 0, 2, 0, 2}, {1, 0, 0, 1, 1, 0, 0, 1}},
		Priors: []Prior{
			{Mean: meanY, SD: 5 * sdY, Default: true},
			{Mean: 0, SD: 5 * sdY / sdTV, Default: true},
			{Mean: 0, SD: 5 * sdY / sdSearch, Default: true},
		},
		Bounds:  []Bound{Unbounded, Unbounded, Unbounded},
		NoiseSD: NoisePrior{Family: NoiseNormal, SD: sdY, Default: true},
		Scale:   true,
		Scaling: Scaling{YCentre: meanY, YScale: sdY, XScale: []float64{1, sdTV, sdSearch}},
		Lines:   []int{2, 3, 4, 5, 6, 7, 8, 9},
		Groups: []Grouping{
			{Factor: "market", Index: 1, Levels: []string{"a", "b", "c", "d"}, Of: market, Terms: []int{0, 1}, Independent: true,
				SDPriors: []Prior{{SD: s1 * sdY, Default: true}, {SD: s1 * sdY / sdTV, Default: true}}},
			{Factor: "region:brand", Index: 2, Levels: []string{"n:x", "n:y", "s:x", "s:y"}, Of: rb, Terms: []int{2}, Independent: true,
				SDPriors: []Prior{{SD: s2 * sdY / sdSearch, Default: true}}},
		},
		Parameterization: "noncentered",
		Warnings: []string{
			"m_search appears only inside a group term; it was added as a population term too",
			`few rows: market "a" (2 rows), "b" (2 rows), "c" (2 rows), "d" (2 rows) have fewer than 10 rows for 2 group-varying terms (5 per term); their group effects are poorly estimated and pulled towards the population values; vary fewer terms by group or merge small groups`,
			`few rows: region:brand "n:x" (2 rows), "n:y" (2 rows), "s:x" (2 rows), "s:y" (2 rows) have fewer than 5 rows for 1 group-varying term (5 per term); their group effects are poorly estimated and pulled towards the population values; vary fewer terms by group or merge small groups`,
		},
	}
	compareSpec(t, spec, want)
}

// betweenSD is DSAMbayes's default group scale written out independently of the code under
// test: the sd (n−1) of the group means of the standardised response, rounded to 2 decimals.
func betweenSD(y []float64, of []int, levels int) float64 {
	var m float64
	for _, v := range y {
		m += v / float64(len(y))
	}
	sd := sampleSD(y)
	sum, cnt := make([]float64, levels), make([]float64, levels)
	for i, l := range of {
		sum[l] += (y[i] - m) / sd
		cnt[l]++
	}
	for l := range sum {
		sum[l] /= cnt[l]
	}
	return math.Round(100*sampleSD(sum)) / 100
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
	if spec.Priors[2] != (Prior{Mean: 0, SD: 1, Origin: OriginOverride}) || !spec.Groups[0].Independent {
		t.Errorf("CRE prior %+v, independent %v; want the override and independent effects (correlated: false)", spec.Priors[2], spec.Groups[0].Independent)
	}

	_, _, err = runIn(t, strings.Replace(yaml, "vars: [m_tv]", "vars: [m_tv, base]", 1), strings.Replace(sampleCSV, "date,", "date,", 1))
	want := "ingest: run.yaml:5:35: `cre.vars[1]` is \"base\", which is not a term of the formula (terms: m_tv)"
	if err == nil || err.Error() != want {
		t.Errorf("cre var not a term: error =\n%v\nwant\n%s", err, want)
	}
}

func TestBuildSpecNA(t *testing.T) {
	// Line 7 keeps two north rows, as every group needs.
	csv := strings.NewReplacer("2024-01-08,2,4", "2024-01-08,2,NA", "2024-01-29,5,10,1,12,0.5,north", "2024-01-29,5,10,1,12,0.5,").Replace(sampleCSV) +
		"2024-02-05,6,12,0,12,0.5,north,bolt\n"
	const yaml = "data: {path: data.csv, na_action: %s}\nmodel: {formula: kpi ~ m_tv + (1 | market)}\n"

	_, spec, err := runIn(t, strings.Replace(yaml, "%s", "omit", 1), csv)
	if err != nil {
		t.Fatal(err)
	}
	if spec.N != 4 || spec.Dropped != 2 || !reflect.DeepEqual(spec.Lines, []int{2, 4, 5, 7}) || !reflect.DeepEqual(spec.Y, []float64{1, 3, 4, 6}) {
		t.Errorf("omit: N %d, dropped %d, lines %v, y %v; want 4, 2, [2 4 5 7], [1 3 4 6]", spec.N, spec.Dropped, spec.Lines, spec.Y)
	}
	want := []string{
		"dropped 2 of 6 rows with missing values (data.na_action: omit): lines 3, 6",
		"weak pooling: group scale sd_1[(Intercept)] is poorly estimated with 2 groups of market (4 or more are advised); its posterior follows the prior, so set it deliberately in `priors.overrides` or drop the group term",
		`few rows: market "north" (2 rows), "south" (2 rows) have fewer than 5 rows for 1 group-varying term (5 per term); their group effects are poorly estimated and pulled towards the population values; vary fewer terms by group or merge small groups`,
	}
	if !reflect.DeepEqual(spec.Warnings, want) {
		t.Errorf("omit warnings =\n%q\nwant\n%q", spec.Warnings, want)
	}

	_, _, err = runIn(t, strings.Replace(yaml, "%s", "error", 1), csv)
	wantErr := `ingest: data.csv:3: column "m_tv" is missing ("NA")
ingest: data.csv:6: column "market" is missing ("")
ingest: run.yaml:1:24: ` + "`data.na_action` is error, so missing values in the model's columns are not allowed; fill them in, or set na_action: omit to drop those rows"
	if err == nil || err.Error() != wantErr {
		t.Errorf("na_action error: error =\n%v\nwant\n%s", err, wantErr)
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
				"ingest: run.yaml:4:3: formula: column 28: no grouping column \"Market\" in data.csv; did you mean \"market\"?\n" +
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
			wantErr: "ingest: run.yaml:3:29: `cre.vars[0]` (base) has the same mean (0.5) in every market, so cre_mean_base would be constant and cannot be standardised (model.scale: true); remove base from `cre.vars`, fit without CRE (`model.type: re`, `cre.enabled: false`), or set `model.scale: false`",
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
	if want := (NoisePrior{Family: NoiseLognormalMS, Mean: 1, SD: 0.5, Origin: OriginConfig}); spec.NoiseSD != want {
		t.Errorf("NoiseSD = %+v; want %+v", spec.NoiseSD, want)
	}
	yaml = "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  use_defaults: false\n  overrides:\n" +
		"    - {parameter: (Intercept), mean: 1, sd: 2}\n    - {parameter: m_tv, mean: 0, sd: 1}\n    - {parameter: noise_sd, mean: 0, sd: 3}\n"
	_, spec, err = runIn(t, yaml, sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	if want := (NoisePrior{Family: NoiseNormal, Mean: 0, SD: 3, Origin: OriginOverride}); spec.NoiseSD != want || spec.Priors[0] != (Prior{Mean: 1, SD: 2, Origin: OriginOverride}) {
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
	if spec.Scale || spec.NoiseSD != (NoisePrior{Family: NoiseLognormalMS, Mean: 0.3, SD: 0.2, Origin: OriginConfig}) ||
		spec.Bounds[2] != (Bound{Lower: 0, Upper: math.Inf(1)}) || spec.Groups[0].Independent {
		t.Errorf("scale %v, noise %+v, m_search bound %+v, independent %v", spec.Scale, spec.NoiseSD, spec.Bounds[2], spec.Groups[0].Independent)
	}
}
