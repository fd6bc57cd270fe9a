package ingest

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pooledData has four media columns that vary independently enough for every sd to be
// positive.
const pooledData = "date,kpi,trend,m_tv_b,m_tv_p,m_se_b,m_se_p,market\n" +
	"2024-01-01,10,1,1,0,3,2,north\n2024-01-08,12,2,0,2,1,0,north\n2024-01-15,15,3,4,1,0,5,north\n" +
	"2024-01-22,11,4,2,3,2,1,north\n2024-01-29,18,5,3,0,4,3,north\n2024-02-05,14,6,1,4,2,2,north\n"

const pooledMap = "term,channel,campaign\nm_tv_b,tv,brand\nm_tv_p,tv,product\nm_se_b,search,brand\nm_se_p,search,product\n"

func pooledYAML(extra string) string {
	return "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ trend + m_tv_b + m_tv_p + m_se_b + m_se_p\n" +
		"pooling:\n  enabled: true\n  map_path: map.csv\n  grouping_vars: [channel, campaign]\n" + extra
}

// writeAll writes files into a fresh working folder.
func writeAll(t *testing.T, files map[string]string) {
	t.Helper()
	t.Chdir(t.TempDir())
	for name, text := range files {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPoolingMap(t *testing.T) {
	spec, err := loadFiles(t, map[string]string{"data.csv": pooledData, "map.csv": pooledMap,
		"run.yaml": pooledYAML("boundaries:\n  overrides:\n    - { parameter: m_tv_b, lower: 0 }\n")})
	if err != nil {
		t.Fatal(err)
	}
	p := spec.Pooling
	if p == nil {
		t.Fatal("Spec.Pooling is nil")
	}
	// (Intercept), trend, then the pooled terms in map order.
	if !slices.Equal(p.Terms, []int{2, 3, 4, 5}) {
		t.Errorf("Terms = %v; want [2 3 4 5]", p.Terms)
	}
	if len(p.Dims) != 2 || p.Dims[0].Name != "channel" || !slices.Equal(p.Dims[0].Levels, []string{"tv", "search"}) ||
		p.Dims[1].Name != "campaign" || !slices.Equal(p.Dims[1].Levels, []string{"brand", "product"}) {
		t.Errorf("Dims = %+v", p.Dims)
	}
	for i, want := range [][]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
		if !slices.Equal(p.Level[i], want) {
			t.Errorf("Level[%d] = %v; want %v", i, p.Level[i], want)
		}
	}
	// Defaults: u = the largest sd(y)/sd(x) of the pooled terms.
	sdY := sampleSD(spec.Y)
	u := 0.0
	for _, k := range p.Terms {
		u = math.Max(u, sdY/sampleSD(spec.X[k]))
	}
	if !near(p.MeanPrior.SD, 5*u) || p.MeanPrior.Mean != 0 || !p.MeanPrior.Default {
		t.Errorf("MeanPrior = %+v; want normal(0, %v) default", p.MeanPrior, 5*u)
	}
	if !near(p.TermSD.SD, u) || !near(p.DimSD[1].SD, u) {
		t.Errorf("TermSD = %+v, DimSD = %+v; want half_normal(0, %v)", p.TermSD, p.DimSD, u)
	}
	// The pooled terms' places carry pooled_mean's prior; bounds apply term by term.
	if spec.Priors[3] != p.MeanPrior {
		t.Errorf("Priors[m_tv_p] = %+v; want pooled_mean's %+v", spec.Priors[3], p.MeanPrior)
	}
	if spec.Bounds[2].Lower != 0 || spec.Bounds[3].Lower != math.Inf(-1) {
		t.Errorf("Bounds = %+v; want m_tv_b ≥ 0, the others open", spec.Bounds)
	}
}

func TestPoolingAutoResolvesToPooled(t *testing.T) {
	writeAll(t, map[string]string{"data.csv": pooledData, "map.csv": pooledMap, "run.yaml": pooledYAML("")})
	cfg, err := LoadConfig("run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model.Type != "pooled" {
		t.Errorf("model.type auto resolved to %q; want pooled", cfg.Model.Type)
	}
}

func TestPoolingPriors(t *testing.T) {
	for _, tc := range []struct {
		name, overrides string
		mean, termSD    Prior
		dimSD           Prior // sd_campaign
		err             string
	}{
		{name: "pooled_mean and the scales",
			overrides: "    - { parameter: pooled_mean, mean: 1, sd: 2 }\n    - { parameter: sd_term, mean: 0, sd: 0.5 }\n    - { parameter: sd_campaign, mean: 0.1, sd: 0.3 }\n",
			mean:      Prior{Mean: 1, SD: 2, Origin: OriginOverride}, termSD: Prior{Mean: 0, SD: 0.5, Origin: OriginOverride},
			dimSD: Prior{Mean: 0.1, SD: 0.3, Origin: OriginOverride}},
		{name: "a pooled term's prior resets to pooled_mean's",
			overrides: "    - { parameter: m_tv_b, mean: 3, sd: 4 }\n    - { parameter: m_se_p, mean: 3, sd: 4 }\n",
			mean:      Prior{Mean: 3, SD: 4, Origin: OriginOverride}},
		{name: "pooled terms disagree",
			overrides: "    - { parameter: m_tv_b, mean: 3, sd: 4 }\n    - { parameter: m_se_p, mean: 2, sd: 4 }\n",
			err:       "the pooled terms carry different priors (priors.overrides[0] (m_tv_b: normal(3, 4)), priors.overrides[1] (m_se_p: normal(2, 4)))"},
		{name: "pooled_mean and a pooled term",
			overrides: "    - { parameter: m_tv_b, mean: 3, sd: 4 }\n    - { parameter: pooled_mean, mean: 2, sd: 4 }\n",
			err:       "both `pooled_mean` and the pooled terms (priors.overrides[0] (m_tv_b: normal(3, 4))) carry a prior"},
		{name: "a scale with a negative mean",
			overrides: "    - { parameter: sd_channel, mean: -1, sd: 4 }\n",
			err:       "run.yaml:11:32: `priors.overrides[0].mean` is -1; the prior on the pooling scale sd_channel is a normal truncated at 0, so its mean must be ≥ 0"},
		{name: "use_defaults false lists what is missing",
			overrides: "    - { parameter: pooled_mean, mean: 1, sd: 2 }\n    - { parameter: noise_sd, mean: 0, sd: 2 }\n  use_defaults: false\n",
			err:       "`priors.use_defaults` is false, so every parameter needs a prior in `priors.overrides`; missing: (Intercept), trend, sd_channel, sd_campaign, sd_term"},
		{name: "an unknown pooled name",
			overrides: "    - { parameter: sd_chanel, mean: 0, sd: 4 }\n",
			err:       `run.yaml:11:9: ` + "`priors.overrides[0].parameter`" + ` is "sd_chanel"; did you mean "sd_channel"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := loadFiles(t, map[string]string{"data.csv": pooledData, "map.csv": pooledMap,
				"run.yaml": pooledYAML("priors:\n  overrides:\n" + tc.overrides)})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Load error = %v; want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := spec.Pooling
			if p.MeanPrior != tc.mean {
				t.Errorf("MeanPrior = %+v; want %+v", p.MeanPrior, tc.mean)
			}
			if tc.termSD.SD != 0 && p.TermSD != tc.termSD {
				t.Errorf("TermSD = %+v; want %+v", p.TermSD, tc.termSD)
			}
			if tc.dimSD.SD != 0 && p.DimSD[1] != tc.dimSD {
				t.Errorf("DimSD[campaign] = %+v; want %+v", p.DimSD[1], tc.dimSD)
			}
			if spec.Priors[2] != p.MeanPrior {
				t.Errorf("Priors[m_tv_b] = %+v; want pooled_mean's", spec.Priors[2])
			}
		})
	}
}

func TestPoolingRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, mapCSV, err string
	}{
		{"term not in the formula", pooledYAML(""), pooledMap + "m_radio,tv,brand\n",
			`ingest: map.csv:6: term "m_radio" is not a term of the formula`},
		{"missing level", pooledYAML(""), "term,channel,campaign\nm_tv_b,tv,brand\nm_tv_p,,product\nm_se_b,search,brand\n",
			`ingest: map.csv:3: term "m_tv_p" has no level in column "channel"; give every pooled term a level in each of channel, campaign`},
		{"one level", pooledYAML(""), "term,channel,campaign\nm_tv_b,tv,brand\nm_tv_p,tv,product\n",
			`ingest: map.csv: dimension "channel" has one level ("tv") across the map`},
		{"repeated term", pooledYAML(""), pooledMap + "m_tv_b,search,brand\n",
			`ingest: map.csv:6: term "m_tv_b" is listed again (first at line 2)`},
		{"grouping column missing", strings.Replace(pooledYAML(""), "[channel, campaign]", "[channel, campain]", 1), pooledMap,
			`ingest: map.csv:1: the pooling map has no column "campain" (a dimension named in ` + "`pooling.grouping_vars`" + `); its columns: term, channel, campaign; did you mean "campaign"?`},
		{"intercept", pooledYAML(""), pooledMap + "(Intercept),tv,brand\n",
			`ingest: map.csv:6: the intercept cannot be pooled`},
		{"group terms", strings.Replace(pooledYAML(""), "m_se_p\n", "m_se_p + (1 | market)\n", 1), pooledMap,
			"run.yaml:4:3: a pooled model (pooling.enabled: true) has one market, but the formula has group terms ( … | market ); remove them"},
		{"pooled type without pooling", "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tv_b\n  type: pooled\n", pooledMap,
			"run.yaml:5:3: `model.type` is pooled but `pooling.enabled` is not true"},
		{"blm type with pooling", strings.Replace(pooledYAML(""), "pooling:\n", "  type: blm\npooling:\n", 1), pooledMap,
			"`pooling.enabled` is true but `model.type` is blm; use pooled or auto"},
		{"map file missing", strings.Replace(pooledYAML(""), "map.csv", "nomap.csv", 1), pooledMap,
			`run.yaml:7:3: pooling map "nomap.csv" not found`},
		{"estimated transforms", pooledYAML("transforms:\n  m_tv_b:\n    saturation: { type: hill, half_saturation: estimate, shape: 1 }\n"), pooledMap,
			"a pooled model cannot estimate media transforms yet (the transforms section estimates half_saturation[m_tv_b])"},
		{"MAP", pooledYAML("fit: { method: optimise }\n"), pooledMap,
			"run.yaml:9:8: `fit.method` is optimise, but a pooled model has no MAP"},
		{"grouping var named term", strings.Replace(pooledYAML(""), "[channel, campaign]", "[term, channel]", 1), pooledMap,
			"`pooling.grouping_vars[0]` is \"term\", the map's column of term names"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadFiles(t, map[string]string{"data.csv": pooledData, "map.csv": tc.mapCSV, "run.yaml": tc.yaml})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Load error = %v\nwant it to contain %q", err, tc.err)
			}
		})
	}
}

func TestPoolingPriorTable(t *testing.T) {
	writeAll(t, map[string]string{"data.csv": pooledData, "map.csv": pooledMap, "run.yaml": pooledYAML("")})
	cfg, spec, err := Load("run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range cfg.PriorTable(spec) {
		got = append(got, r.Parameter+":"+r.Kind+":"+r.Family)
	}
	want := []string{"(Intercept):intercept:normal", "trend:coefficient:normal", "m_tv_b:coefficient:pooled", "m_tv_p:coefficient:pooled",
		"m_se_b:coefficient:pooled", "m_se_p:coefficient:pooled", "noise_sd:noise:half_normal",
		"pooled_mean:pooled:normal", "sd_channel:pooled:half_normal", "sd_campaign:pooled:half_normal", "sd_term:pooled:half_normal"}
	if !slices.Equal(got, want) {
		t.Errorf("PriorTable = %v\nwant %v", got, want)
	}
}

// TestPoolingResolvedYAML: the resolved config keeps the pooling section, map_path made
// absolute, and parses again to the same section.
func TestPoolingResolvedYAML(t *testing.T) {
	writeAll(t, map[string]string{"data.csv": pooledData, "map.csv": pooledMap, "run.yaml": pooledYAML("")})
	cfg, err := LoadConfig("run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseConfig(out, "resolved.yaml")
	if err != nil {
		t.Fatalf("the resolved config does not parse: %v\n%s", err, out)
	}
	if !filepath.IsAbs(again.Pooling.MapPath) || again.Pooling.MapPath != cfg.Pooling.MapPath ||
		!slices.Equal(again.Pooling.GroupingVars, []string{"channel", "campaign"}) || again.Model.Type != "pooled" {
		t.Errorf("resolved pooling = %+v, type %s; want %+v, pooled", *again.Pooling, again.Model.Type, *cfg.Pooling)
	}
}
