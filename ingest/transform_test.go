package ingest

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// transformYAML is a run config with a transforms section appended.
func transformYAML(formula, transforms string) string {
	return "data:\n  path: data.csv\n  date_var: date\nmodel:\n  formula: " + formula + "\ntransforms:\n" + transforms
}

func TestAdstockWeightsByHand(t *testing.T) {
	// decay 0.5, L = 2: 1, 0.5, 0.25 over 1.75.
	w := AdstockWeights(0.5, 2)
	want := []float64{1 / 1.75, 0.5 / 1.75, 0.25 / 1.75}
	for l := range want {
		if !near(w[l], want[l]) {
			t.Errorf("w[%d] = %v; want %v", l, w[l], want[l])
		}
	}
	if w := AdstockWeights(0, 8); w[0] != 1 || w[1] != 0 || len(w) != 9 {
		t.Errorf("decay 0: %v; want 1 then zeros", w)
	}
	if w := AdstockWeights(0.9, 0); len(w) != 1 || w[0] != 1 {
		t.Errorf("max_lag 0: %v; want [1]", w)
	}
	// A max_lag far beyond the data costs nothing: the weights stop at the longest series.
	got := Transform{Adstock: true, Decay: 0.5, MaxLag: 1 << 40}.Apply([]float64{2, 2}, [][]int{{0, 1}})
	if !near(got[0], 1) || !near(got[1], 1.5) {
		t.Errorf("huge max_lag: %v; want [1 1.5] (weights 1/2, 1/4, …)", got)
	}
}

func TestHillByHand(t *testing.T) {
	for _, c := range []struct{ a, half, shape, want float64 }{
		{12.5, 12.5, 1, 0.5}, {40, 40, 1.5, 0.5}, {0, 10, 2, 0}, {30, 10, 1, 0.75}, {20, 10, 2, 0.8},
	} {
		if got := HillValue(c.a, c.half, c.shape); !near(got, c.want) {
			t.Errorf("h(%v; %v, %v) = %v; want %v", c.a, c.half, c.shape, got, c.want)
		}
	}
}

func TestApplyGroupBoundariesAndTruncation(t *testing.T) {
	// Two series interleaved in the rows, the second out of date order in the rows.
	// Series A rows 0, 2, 4 (x = 4, 0, 8); series B rows 5, 3, 1 in date order (x = 2, 6, 10).
	x := []float64{4, 10, 0, 6, 8, 2}
	series := [][]int{{0, 2, 4}, {5, 3, 1}}
	tr := Transform{Adstock: true, Decay: 0.5, MaxLag: 1}
	got := tr.Apply(x, series)
	// L = 1: w = (2/3, 1/3); the first row of each series sees zero before it.
	want := []float64{4 * 2.0 / 3, (10*2 + 6) / 3.0, (0*2 + 4) / 3.0, (6*2 + 2) / 3.0, (8*2 + 0) / 3.0, 2 * 2.0 / 3}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Errorf("row %d: %v; want %v", i, got[i], want[i])
		}
	}
	// Lag truncation: L = 2 on a series of 4, x = 1, 2, 3, 4; w = (4, 2, 1)/7.
	got = Transform{Adstock: true, Decay: 0.5, MaxLag: 2}.Apply([]float64{1, 2, 3, 4}, [][]int{{0, 1, 2, 3}})
	want = []float64{4.0 / 7, (8 + 2) / 7.0, (12 + 4 + 1) / 7.0, (16 + 6 + 2) / 7.0}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Errorf("L=2 row %d: %v; want %v", i, got[i], want[i])
		}
	}
	// Constant spend reaches itself once the lags are full; decay 0 is the identity.
	got = Transform{Adstock: true, Decay: 0.7, MaxLag: 3}.Apply([]float64{5, 5, 5, 5, 5}, [][]int{{0, 1, 2, 3, 4}})
	if !near(got[3], 5) || !near(got[4], 5) || got[0] >= 5 {
		t.Errorf("constant spend: %v; want < 5 at first, then 5", got)
	}
	got = Transform{Adstock: true, Decay: 0, MaxLag: 8}.Apply([]float64{3, 1, 4}, [][]int{{0, 1, 2}})
	if got[0] != 3 || got[1] != 1 || got[2] != 4 {
		t.Errorf("decay 0: %v; want the column unchanged", got)
	}
	// Adstock then Hill.
	got = Transform{Adstock: true, Decay: 0.5, MaxLag: 1, Hill: true, HalfSaturation: 2, Shape: 1}.Apply([]float64{3, 3}, [][]int{{0, 1}})
	if !near(got[0], 2.0/4) || !near(got[1], 3.0/5) {
		t.Errorf("adstock then hill: %v; want [0.5 0.6]", got)
	}
}

func TestBuildSpecTransformsPanel(t *testing.T) {
	// Two markets, rows out of date order within south; m_tv adstocked within each market.
	csv := `date,kpi,m_tv,m_social,market
2024-01-01,1,4,40,north
2024-01-15,3,6,0,south
2024-01-08,2,0,80,north
2024-01-01,2,2,10,south
2024-01-15,4,8,40,north
2024-01-08,5,10,20,south
`
	tr := "  m_tv:\n    adstock: { type: geometric, decay: 0.5, max_lag: 1 }\n" +
		"  m_social:\n    saturation: { type: hill, half_saturation: 40, shape: 1 }\n"
	_, spec, err := runIn(t, transformYAML("kpi ~ m_tv + m_social + (1 | market)", tr), csv)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Transforms) != 2 || spec.Transforms[0].Column != "m_tv" || spec.Transforms[0].MaxLag != 1 || !spec.Transforms[1].Hill {
		t.Fatalf("Transforms = %+v", spec.Transforms)
	}
	// north dates 01,08,15: x = 4, 0, 8; south dates 01,08,15: x = 2, 10, 6. w = (2/3, 1/3).
	wantTV := []float64{8.0 / 3, (12 + 10) / 3.0, 4.0 / 3, 4.0 / 3, 16.0 / 3, (20 + 2) / 3.0}
	wantSocial := []float64{0.5, 0, 80.0 / 120, 10.0 / 50, 0.5, 20.0 / 60}
	for i := range wantTV {
		if !near(spec.X[1][i], wantTV[i]) {
			t.Errorf("m_tv row %d: %v; want %v", i, spec.X[1][i], wantTV[i])
		}
		if !near(spec.X[2][i], wantSocial[i]) {
			t.Errorf("m_social row %d: %v; want %v", i, spec.X[2][i], wantSocial[i])
		}
	}
	// CRE takes the group mean of the transformed column.
	_, cre, err := runIn(t, transformYAML("kpi ~ m_tv + m_social + (1 | market)", tr)+"cre:\n  enabled: true\n  vars: [m_social]\n", csv)
	if err != nil {
		t.Fatal(err)
	}
	north, south := (0.5+80.0/120+0.5)/3, (10.0/50+0+20.0/60)/3
	if k := len(cre.Terms) - 1; cre.Terms[k].Name != "cre_mean_m_social" || !near(cre.X[k][0], north) || !near(cre.X[k][1], south) {
		t.Errorf("%s = %v; want the market means of hill(m_social): north %v, south %v", cre.Terms[len(cre.Terms)-1].Name, cre.X[len(cre.X)-1], north, south)
	}
	// The default prior is set on the transformed column.
	if sd := sampleSD(wantSocial); !near(spec.Priors[2].SD, defaultPriorSD*sampleSD(spec.Y)/sd) {
		t.Errorf("m_social prior sd %v; want on the transformed column's sd", spec.Priors[2].SD)
	}
}

func TestBuildSpecTransformsDataErrors(t *testing.T) {
	tr := "  m_tv:\n    adstock: { type: geometric, decay: 0.5 }\n"
	for _, c := range []struct{ name, formula, csv, want string }{
		{"duplicate date", "kpi ~ m_tv + (1 | market)",
			"date,kpi,m_tv,market\n2024-01-01,1,1,a\n2024-01-08,2,2,a\n2024-01-01,3,3,a\n2024-01-01,3,3,b\n",
			`ingest: data.csv:2 and 4: market "a" has the date 2024-01-01 twice`},
		{"gap", "kpi ~ m_tv + (1 | market)",
			"date,kpi,m_tv,market\n2024-01-01,1,1,a\n2024-01-08,2,2,a\n2024-01-29,3,3,a\n2024-01-01,3,3,b\n2024-01-08,3,3,b\n",
			`ingest: data.csv:3 and 4: market "a" jumps from 2024-01-08 to 2024-01-29, a gap in its dates (every other step is 1 week)`},
		{"stacked panel without group term", "kpi ~ m_tv",
			"date,kpi,m_tv,market\n2024-01-01,1,1,a\n2024-01-01,2,2,b\n",
			"add a group term such as (1 | market)"},
		{"labels not dates", "kpi ~ m_tv",
			"date,kpi,m_tv\n2024-W01,1,1\n2024-W02,2,2\n",
			"`data.date_var` (\"date\") does not hold dates in a recognised format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runIn(t, transformYAML(c.formula, tr), c.csv)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to contain %s", err, c.want)
			}
		})
	}
	// Monthly data: calendar months are consecutive whatever their length.
	monthly := "date,kpi,m_tv\n2024-01-01,1,1\n2024-02-01,2,2\n2024-03-01,3,4\n2024-04-01,2,2\n"
	if _, _, err := runIn(t, transformYAML("kpi ~ m_tv", tr), monthly); err != nil {
		t.Errorf("monthly data: %v", err)
	}
	// A saturated column must not be negative.
	_, _, err := runIn(t, transformYAML("kpi ~ m_tv", "  m_tv:\n    saturation: { type: hill, half_saturation: 1, shape: 1 }\n"),
		"date,kpi,m_tv\n2024-01-01,1,1\n2024-01-08,2,-2\n")
	if err == nil || !strings.Contains(err.Error(), `data.csv:3: column "m_tv" is -2; Hill saturation (transforms.m_tv) needs values ≥ 0`) {
		t.Errorf("negative spend: %v", err)
	}
}

func TestTransformConfigErrors(t *testing.T) {
	csv := "date,kpi,m_tv,price\n2024-01-01,1,1,3\n2024-01-08,2,2,4\n"
	for _, c := range []struct{ name, formula, transforms, want string }{
		{"decay 1", "kpi ~ m_tv", "  m_tv:\n    adstock: { type: geometric, decay: 1 }\n",
			"run.yaml:8:33: `transforms.m_tv.adstock.decay` is 1; must be in [0, 1)"},
		{"negative decay", "kpi ~ m_tv", "  m_tv:\n    adstock:\n      type: geometric\n      decay: -0.1\n",
			"run.yaml:10:7: `transforms.m_tv.adstock.decay` is -0.1; must be in [0, 1)"},
		{"max_lag negative", "kpi ~ m_tv", "  m_tv:\n    adstock:\n      type: geometric\n      decay: 0.5\n      max_lag: -1\n",
			"run.yaml:11:7: `transforms.m_tv.adstock.max_lag` is -1; must be a whole number ≥ 0"},
		{"max_lag fractional", "kpi ~ m_tv", "  m_tv:\n    adstock:\n      type: geometric\n      decay: 0.5\n      max_lag: 2.5\n",
			"run.yaml:11:16: `transforms.m_tv.adstock.max_lag` is 2.5; must be a whole number"},
		{"half_saturation 0", "kpi ~ m_tv", "  m_tv:\n    saturation:\n      type: hill\n      half_saturation: 0\n      shape: 1\n",
			"run.yaml:10:7: `transforms.m_tv.saturation.half_saturation` is 0; must be a finite number > 0"},
		{"shape negative", "kpi ~ m_tv", "  m_tv:\n    saturation:\n      type: hill\n      half_saturation: 3\n      shape: -2\n",
			"run.yaml:11:7: `transforms.m_tv.saturation.shape` is -2; must be a finite number > 0"},
		{"unknown type", "kpi ~ m_tv", "  m_tv:\n    saturation:\n      type: logistic\n",
			"run.yaml:9:7: `transforms.m_tv.saturation.type` is \"logistic\"; must be hill or none"},
		{"estimate misspelt", "kpi ~ m_tv", "  m_tv:\n    adstock:\n      type: geometric\n      decay: estimat\n",
			"run.yaml:10:14: `transforms.m_tv.adstock.decay` is \"estimat\"; must be a number, or estimate to sample it"},
		{"half_saturation negative", "kpi ~ m_tv", "  m_tv:\n    saturation:\n      type: hill\n      half_saturation: -5\n      shape: estimate\n",
			"run.yaml:10:7: `transforms.m_tv.saturation.half_saturation` is -5; must be a finite number > 0"},
		{"two columns, every problem", "kpi ~ m_tv + price", "  m_tv:\n    adstock: { type: geometric, decay: estimate }\n  price:\n    saturation: { type: hill, half_saturation: 0, shape: 1 }\n",
			"run.yaml:10:31: `transforms.price.saturation.half_saturation` is 0; must be a finite number > 0"},
		{"sensitivity without the transform", "kpi ~ m_tv", "  sensitivity:\n    m_tv.decay: [0.1, 0.3]\n",
			"run.yaml:8:5: `transforms.sensitivity.m_tv.decay`: m_tv has no transforms; the transforms section sets none"},
		{"not a term", "kpi ~ m_tv", "  price:\n    saturation: { type: hill, half_saturation: 1, shape: 1 }\n",
			"run.yaml:7:3: `transforms.price`: price is not a term of the formula (terms: m_tv)"},
		{"unknown key", "kpi ~ m_tv", "  m_tv:\n    carryover: { type: geometric }\n",
			"run.yaml:8:5: unknown key `transforms.m_tv.carryover`"},
		{"adstock without date_var", "kpi ~ m_tv", "",
			"run.yaml:8:5: `transforms.m_tv.adstock`: adstock needs the rows in date order; set `data.date_var` to the date column"},
	} {
		t.Run(c.name, func(t *testing.T) {
			yaml := transformYAML(c.formula, c.transforms)
			if c.name == "adstock without date_var" {
				yaml = "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tv\n\ntransforms:\n  m_tv:\n    adstock: { type: geometric, decay: 0.5 }\n"
			}
			_, _, err := runIn(t, yaml, csv)
			if err == nil || !strings.Contains(err.Error(), "ingest: "+c.want) {
				t.Fatalf("error = %v\nwant it to contain ingest: %s", err, c.want)
			}
		})
	}
}

func TestTransformsNone(t *testing.T) {
	csv := "date,kpi,m_tv\n2024-01-01,1,1\n2024-01-08,2,2\n2024-01-15,4,3\n"
	cfg, spec, err := runIn(t, transformYAML("kpi ~ m_tv", "  m_tv:\n    adstock: { type: none }\n    saturation: { type: none }\n"), csv)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Transforms) != 0 || spec.X[1][2] != 3 {
		t.Errorf("type none: Transforms %v, X %v; want none, the column unchanged", spec.Transforms, spec.X[1])
	}
	// The resolved config parses back to the same transforms.
	out, err := cfg.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(out, "run.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if back.Transforms.Columns["m_tv"].Adstock.Type != "none" || back.Transforms.Columns["m_tv"].Saturation.Type != "none" {
		t.Errorf("round trip: %+v", back.Transforms)
	}
}

func TestResolvedYAMLKeepsFixedValues(t *testing.T) {
	csv := "date,kpi,m_tv\n2024-01-01,1,1\n2024-01-08,2,2\n2024-01-15,4,3\n"
	tr := "  m_tv:\n    adstock: { type: geometric, decay: 0.25, max_lag: 3 }\n    saturation: { type: hill, half_saturation: 12.5, shape: 1.5 }\n"
	cfg, spec, err := runIn(t, transformYAML("kpi ~ m_tv", tr), csv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(out, "run.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got, _ := back.Transforms.Columns["m_tv"].transform("m_tv")
	want := spec.Transforms[0]
	want.Raw = nil
	if !reflect.DeepEqual(got, want) || got.Decay != 0.25 || got.MaxLag != 3 || got.HalfSaturation != 12.5 || got.Shape != 1.5 {
		t.Errorf("round trip %+v; want %+v", got, spec.Transforms[0])
	}
	if d := spec.Transforms[0].Describe(); !strings.Contains(d, "decay 0.25, max_lag 3") || !strings.Contains(d, "half_saturation 12.5 (in m_tv's units), shape 1.5") {
		t.Errorf("Describe = %q", d)
	}
	if math.IsNaN(spec.X[1][0]) {
		t.Error("NaN in the transformed column")
	}
}

func TestAdstockReadsDateFormat(t *testing.T) {
	// Monthly, month first (January 10, February 12, March 12, April 11), rows shuffled.
	// Read day first, as the first recognised format would, the same cells are 1 October,
	// 2 December, 3 December and 4 November: another order, with gaps.
	csv := "date,kpi,m_tv\n03/12/2024,3,4\n01/10/2024,1,2\n04/11/2024,2,8\n02/12/2024,2,6\n"
	tr := "  m_tv:\n    adstock: { type: geometric, decay: 0.5, max_lag: 1 }\n"
	cfg := strings.Replace(transformYAML("kpi ~ m_tv", tr), "date_var: date\n", "date_var: date\n  date_format: \"%m/%d/%Y\"\n", 1)
	_, spec, err := runIn(t, cfg, csv)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int{{1, 3, 0, 2}}; !reflect.DeepEqual(spec.Series, want) {
		t.Errorf("Series = %v; want %v (January, February, March, April)", spec.Series, want)
	}
	// In date order x = 2, 6, 4, 8; w = (2/3, 1/3).
	want := []float64{(8 + 6) / 3.0, 4.0 / 3, (16 + 4) / 3.0, (12 + 2) / 3.0}
	for i, w := range want {
		if !near(spec.X[1][i], w) {
			t.Errorf("m_tv row %d: %v; want %v", i, spec.X[1][i], w)
		}
	}
}
