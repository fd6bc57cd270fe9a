package ingest

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// panelCSV builds a panel with n[g] rows in market g (labelled m1, m2, …): kpi = 10 + 3g +
// i%3 + i/2, m_tv = i%4 + g (varying within and between markets, except in the markets
// listed in flat, where it is 5 throughout), m_search = (i+g)%2 (mean 1/2 in every market
// with an even number of rows) and promo = (i+g)%3.
func panelCSV(n []int, flat ...int) string {
	var b strings.Builder
	b.WriteString("market,kpi,m_tv,m_search,promo\n")
	for g, rows := range n {
		for i := range rows {
			tv := float64(i%4 + g)
			if slices.Contains(flat, g) {
				tv = 5
			}
			fmt.Fprintf(&b, "m%d,%g,%g,%d,%d\n", g+1, 10+3*float64(g)+float64(i%3)+float64(i)/2, tv, (i+g)%2, (i+g)%3)
		}
	}
	return b.String()
}

// readTestdata returns a file of testdata/ as text.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestGroupScalePriorsByHand(t *testing.T) {
	// testdata/panel.csv, with kpi as given (no log):
	//   market a, b, c, d: kpi 1, 3 | 5, 7 | 9, 11 | 13, 15; m_tv 0, 2 in every market.
	//   mean(kpi) = 8; deviations ±1, ±3, ±5, ±7 give sd(kpi) = √(168/7) = √24.
	//   market means 2, 6, 10, 14, standardised (−6, −2, 2, 6)/√24; their sd (n−1) is
	//   √((36+4+4+36)/3/24) = √(10/9) = 1.0541, rounded 1.05.
	//   region:brand groups n:x (kpi 1, 5), n:y (3, 7), s:x (9, 13), s:y (11, 15) have means
	//   3, 5, 11, 13, standardised (−5, −3, 3, 5)/√24; sd √(68/3/24) = 0.9718, rounded 0.97.
	//   sd(m_tv) = √(8·1/7) (deviations ±1).
	// Priors in original units: sd_1[(Intercept)] normal(0, 1.05·√24),
	// sd_1[m_tv] normal(0, 1.05·√24/√(8/7)), sd_2[(Intercept)] normal(0, 0.97·√24).
	want := [][]Prior{
		{{SD: 1.05 * math.Sqrt(24), Default: true}, {SD: 1.05 * math.Sqrt(24) / math.Sqrt(8.0/7), Default: true}},
		{{SD: 0.97 * math.Sqrt(24), Default: true}},
	}
	csv := readTestdata(t, "panel.csv") // before runIn changes the working folder
	for _, scale := range []bool{true, false} {
		yaml := fmt.Sprintf("data: {path: data.csv}\nmodel:\n  formula: kpi ~ m_tv + (1 + m_tv | market) + (1 | region:brand)\n  scale: %v\n", scale)
		_, spec, err := runIn(t, yaml, csv)
		if err != nil {
			t.Fatal(err)
		}
		for g := range want {
			got := spec.Groups[g].SDPriors
			if len(got) != len(want[g]) {
				t.Fatalf("scale %v: group %d SDPriors %+v; want %+v", scale, g+1, got, want[g])
			}
			for j := range got {
				if got[j].Mean != 0 || !near(got[j].SD, want[g][j].SD) || !got[j].Default {
					t.Errorf("scale %v: SDPriors of group %d term %d = %+v; want %+v", scale, g+1, j, got[j], want[g][j])
				}
			}
		}
	}
}

func TestGroupScalePriorFloor(t *testing.T) {
	// Markets a (kpi 1, 3) and b (3, 1) have equal means, so the between-group sd is 0 and
	// the prior is floored at 0.01 (standardised): 0.01·sd(kpi) = 0.01·√(4/3). A single
	// market has no between-group sd at all and gets the same floor.
	const yaml = "data: {path: data.csv}\nmodel: {formula: kpi ~ (1 | market)}\n"
	for name, csv := range map[string]string{
		"equal means": "market,kpi\na,1\na,3\nb,3\nb,1\n",
		"one group":   "market,kpi\na,1\na,3\na,3\na,1\n",
	} {
		_, spec, err := runIn(t, yaml, csv)
		if err != nil {
			t.Fatal(err)
		}
		want := Prior{SD: 0.01 * math.Sqrt(4.0/3), Default: true}
		if got := spec.Groups[0].SDPriors; len(got) != 1 || got[0].Mean != 0 || !near(got[0].SD, want.SD) || !got[0].Default {
			t.Errorf("%s: SDPriors = %+v; want [%+v]", name, got, want)
		}
	}
}

func TestGroupScaleOverrides(t *testing.T) {
	yaml := `data: {path: data.csv}
model:
  formula: kpi ~ m_tv + (1 + m_tv | market) + (1 | region:brand)
priors:
  overrides:
    - {parameter: "sd_1[m_tv]", mean: 0, sd: 0.5}
    - {parameter: "sd_2[(Intercept)]", mean: 0.1, sd: 2}
`
	_, spec, err := runIn(t, yaml, readTestdata(t, "panel.csv"))
	if err != nil {
		t.Fatal(err)
	}
	g1, g2 := spec.Groups[0].SDPriors, spec.Groups[1].SDPriors
	// sd_1[(Intercept)] keeps its default, 1.05·√24 (see TestGroupScalePriorsByHand).
	if !near(g1[0].SD, 1.05*math.Sqrt(24)) || !g1[0].Default || g1[1] != (Prior{Mean: 0, SD: 0.5, Origin: OriginOverride}) || g2[0] != (Prior{Mean: 0.1, SD: 2, Origin: OriginOverride}) {
		t.Errorf("SDPriors = %+v, %+v; want the default for sd_1[(Intercept)], normal(0, 0.5) and normal(0.1, 2)", g1, g2)
	}
}

func TestParameterization(t *testing.T) {
	const head = "data: {path: data.csv}\nmodel:\n  formula: kpi ~ m_tv + (1 | market)\n"
	csv := readTestdata(t, "panel.csv") // before runIn changes the working folder
	panelYAML, err := filepath.Abs("testdata/panel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for given, want := range map[string]string{
		"":             "auto",
		"auto":         "auto",
		"centered":     "centered",
		"centred":      "centered",
		"noncentered":  "noncentered",
		"noncentred":   "noncentered",
		"non-centered": "noncentered",
		"non-centred":  "noncentered",
	} {
		yaml := head
		if given != "" {
			yaml += "  random_effects: {parameterization: " + given + "}\n"
		}
		_, spec, err := runIn(t, yaml, csv)
		if err != nil {
			t.Fatal(err)
		}
		if spec.Parameterization != want {
			t.Errorf("parameterization %q: Spec.Parameterization = %q; want %q", given, spec.Parameterization, want)
		}
	}

	// A config changed in code after parsing is normalised by BuildSpec too.
	cfg, err := LoadConfig(panelYAML)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Model.RandomEffects.Parameterization = "centred"
	tab, err := LoadCSV(cfg.Data.Path)
	if err != nil {
		t.Fatal(err)
	}
	if spec, err := BuildSpec(cfg, tab); err != nil || spec.Parameterization != "centered" {
		t.Errorf("BuildSpec with centred: %v, %v; want centered", spec.Parameterization, err)
	}

	_, _, err = runIn(t, head+"  random_effects: {parameterization: partial}\n", csv)
	want := "ingest: run.yaml:4:20: `model.random_effects.parameterization` is \"partial\"; must be one of auto, integrated, centered, noncentered"
	if err == nil || err.Error() != want {
		t.Errorf("bad parameterization: error =\n%v\nwant\n%s", err, want)
	}
}

func TestPanelWarnings(t *testing.T) {
	const formula = "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 + m_tv | market)}\n"
	tests := []struct {
		name, yaml, csv string
		want            []string
	}{
		{
			name: "clean panel",
			yaml: formula,
			csv:  panelCSV([]int{10, 10, 10, 10}),
		},
		{
			name: "fewer than 4 groups",
			yaml: formula,
			csv:  panelCSV([]int{10, 10, 10}),
			want: []string{"weak pooling: group scales sd_1[(Intercept)], sd_1[m_tv] are poorly estimated with 3 groups of market (4 or more are advised); their posteriors follow the priors, so set those deliberately in `priors.overrides` or drop the group term"},
		},
		{
			name: "few rows, at most 5 named",
			yaml: formula,
			csv:  panelCSV([]int{10, 3, 4, 9, 2, 9, 8}),
			want: []string{`few rows: market "m2" (3 rows), "m3" (4 rows), "m4" (9 rows), "m5" (2 rows), "m6" (9 rows) and 1 more have fewer than 10 rows for 2 group-varying terms (5 per term); their group effects are poorly estimated and pulled towards the population values; vary fewer terms by group or merge small groups`},
		},
		{
			name: "one group with few rows",
			yaml: "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 | market)}\n",
			csv:  panelCSV([]int{10, 10, 4, 10}),
			want: []string{`few rows: market "m3" (4 rows) has fewer than 5 rows for 1 group-varying term (5 per term); their group effects are poorly estimated and pulled towards the population values; vary fewer terms by group or merge small groups`},
		},
		{
			name: "slope variable constant within groups",
			yaml: formula,
			csv:  panelCSV([]int{10, 10, 10, 10}, 0, 2),
			want: []string{`no variation: m_tv does not vary within market "m1", "m3", so the data there cannot estimate its group-varying slope (it follows the population slope and sd_1[m_tv]); check the data, or drop m_tv from ( … | market )`},
		},
		{
			name: "more CRE variables than groups",
			yaml: "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + promo + m_search + (1 | market)}\ncre: {enabled: true, vars: [m_tv, promo, m_search]}\n",
			csv:  panelCSV([]int{11, 10}),
			want: []string{
				"weak pooling: group scale sd_1[(Intercept)] is poorly estimated with 2 groups of market (4 or more are advised); its posterior follows the prior, so set it deliberately in `priors.overrides` or drop the group term",
				"cre.vars lists 3 variables but market has only 2 groups: the cre_mean_ terms cannot all be told apart from each other and the intercept, so their estimates rest on their priors; list fewer variables in `cre.vars`",
			},
		},
		{
			name: "constant CRE mean without scaling",
			yaml: "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + m_search + (1 | market), scale: false}\ncre: {enabled: true, vars: [m_search]}\n",
			csv:  panelCSV([]int{10, 10, 10, 10}),
			want: []string{"cre_mean_m_search is constant (m_search has the same mean, 0.5, in every market): it duplicates the intercept and only its prior identifies it; remove m_search from `cre.vars`"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, spec, err := runIn(t, tt.yaml, tt.csv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.Warnings, tt.want) {
				t.Errorf("Warnings =\n%q\nwant\n%q", spec.Warnings, tt.want)
			}
		})
	}
}

func TestPanelErrors(t *testing.T) {
	panel := panelCSV([]int{10, 10, 10, 10})
	tests := []struct {
		name, yaml, csv, wantErr string
	}{
		{
			name: "grouping column missing",
			yaml: "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 | markt)}\n",
			csv:  panel,
			wantErr: "ingest: run.yaml:2:9: formula: column 19: no grouping column \"markt\" in data.csv; did you mean \"market\"?\n" +
				"  kpi ~ m_tv + (1 | markt)\n" +
				"                    ^",
		},
		{
			name: "group term not a column",
			yaml: "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 + m_tvv | market)}\n",
			csv:  panel,
			wantErr: "ingest: run.yaml:2:9: formula: column 19: no column \"m_tvv\" in data.csv for the group term ( … | market ); did you mean \"m_tv\"?\n" +
				"  kpi ~ m_tv + (1 + m_tvv | market)\n" +
				"                    ^",
		},
		{
			name:    "group with one row",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 | market)}\n",
			csv:     panelCSV([]int{10, 10, 1, 10}),
			wantErr: "ingest: data.csv:22: market \"m3\" has only one row; every group needs at least 2 rows: correct the label, add the group's other rows, or remove the row",
		},
		{
			name:    "group with one row that looks like a typo",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 | market)}\n",
			csv:     strings.Replace(panel, "\nm2,", "\nM2,", 1),
			wantErr: "ingest: data.csv:12: market \"M2\" has only one row (a typo for \"m2\"?); every group needs at least 2 rows: correct the label, add the group's other rows, or remove the row",
		},
		{
			name:    "CRE without groups",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\ncre: {enabled: true, vars: [m_tv]}\n",
			csv:     panel,
			wantErr: "ingest: run.yaml:3:7: `cre.enabled` is true but the formula has no group terms; CRE needs a panel model: add a group term such as (1 | market), or set `cre.enabled: false`",
		},
		{
			name:    "CRE with one group",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 | market)}\ncre: {enabled: true, vars: [m_tv]}\n",
			csv:     panelCSV([]int{10}),
			wantErr: "ingest: run.yaml:3:7: CRE needs at least 2 groups, but market has only 1 group (m1), so there is no between-group variation for the cre_mean_ terms to capture; fit without CRE (`cre.enabled: false`, `model.type: re`) or add groups",
		},
		{
			name:    "CRE mean constant across groups, scaled",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + m_search + (1 | market)}\ncre: {enabled: true, vars: [m_tv, m_search]}\n",
			csv:     panel,
			wantErr: "ingest: run.yaml:3:35: `cre.vars[1]` (m_search) has the same mean (0.5) in every market, so cre_mean_m_search would be constant and cannot be standardised (model.scale: true); remove m_search from `cre.vars`, fit without CRE (`model.type: re`, `cre.enabled: false`), or set `model.scale: false`",
		},
		{
			name: "unknown group scale",
			yaml: "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 + m_tv | market)}\npriors:\n  overrides:\n    - {parameter: \"sd_1[m_tvv]\", mean: 0, sd: 1}\n",
			csv:  panel,
			wantErr: "ingest: run.yaml:5:8: `priors.overrides[0].parameter` is \"sd_1[m_tvv]\"; did you mean \"sd_1[m_tv]\"? " +
				"must be one of: (Intercept), m_tv, sd_1[(Intercept)], sd_1[m_tv], noise_sd",
		},
		{
			name: "group-scale prior with a negative mean",
			yaml: "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 + m_tv | market)}\npriors:\n  overrides:\n    - {parameter: \"sd_1[m_tv]\", mean: -1, sd: 1}\n    - {parameter: \"sd_1[(Intercept)]\", mean: 0, sd: 0}\n",
			csv:  panel,
			wantErr: "ingest: run.yaml:5:33: `priors.overrides[0].mean` is -1; the prior on the group scale sd_1[m_tv] is a normal truncated at 0, so its mean must be ≥ 0\n" +
				"ingest: run.yaml:6:49: `priors.overrides[1].sd` is 0; must be > 0 and finite",
		},
		{
			name:    "bound on a group scale",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv + (1 + m_tv | market)}\nboundaries:\n  overrides:\n    - {parameter: \"sd_1[m_tv]\", lower: 0}\n",
			csv:     panel,
			wantErr: "ingest: run.yaml:5:8: `boundaries.overrides[0].parameter` is \"sd_1[m_tv]\"; bounds apply to population coefficients, not group scales (which are ≥ 0 already): bound m_tv instead, or narrow sd_1[m_tv] with a prior in `priors.overrides`",
		},
		{
			name:    "use_defaults false needs group-scale priors",
			yaml:    "data: {path: data.csv}\nmodel: {formula: kpi ~ 0 + m_tv + (0 + m_tv | market)}\npriors:\n  use_defaults: false\n  overrides:\n    - {parameter: m_tv, mean: 0, sd: 1}\n    - {parameter: noise_sd, mean: 0, sd: 1}\n",
			csv:     panel,
			wantErr: "ingest: run.yaml:4:3: `priors.use_defaults` is false, so every parameter needs a prior in `priors.overrides` (or `priors.noise_sd`); missing: sd_1[m_tv]",
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

func TestParametersListGroupScales(t *testing.T) {
	cfg := &Config{CRE: CREConfig{Enabled: true, Vars: []string{"m_tv"}, Prefix: "cre_mean_"}}
	f, err := ParseFormula("kpi ~ m_tv + (1 + m_tv | market) + (0 + m_search || market:brand)")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{InterceptName, "m_tv", "m_search", "cre_mean_m_tv", "sd_1[(Intercept)]", "sd_1[m_tv]", "sd_2[m_search]"}
	if got := cfg.Parameters(f); !reflect.DeepEqual(got, want) {
		t.Errorf("Parameters = %q; want %q", got, want)
	}
	if got := cfg.Coefficients(f); !reflect.DeepEqual(got, want[:4]) {
		t.Errorf("Coefficients = %q; want %q", got, want[:4])
	}
}
