package ingest

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// estimateCSV has seven weekly rows; the last misses kpi, so na_action omit drops it (and
// its m_tv of 100 must not count in the half-saturation default). The positive kept values
// of m_tv are 4, 10, 2, 6: median 5.
const estimateCSV = `date,kpi,m_tv,m_search,price
2024-01-01,1,0,1,3
2024-01-08,2,4,0,4
2024-01-15,4,10,3,3
2024-01-22,3,2,2,5
2024-01-29,5,6,1,4
2024-02-05,6,0,2,3
2024-02-12,NA,100,2,3
`

func TestEstimatedTransformDefaults(t *testing.T) {
	tr := "  m_tv:\n    adstock: { type: geometric, decay: estimate, max_lag: 1 }\n" +
		"    saturation: { type: hill, half_saturation: estimate, shape: ESTIMATE }\n" +
		"  m_search:\n    adstock: { type: geometric, decay: 0.25, max_lag: 2 }\n"
	_, spec, err := runIn(t, transformYAML("kpi ~ m_tv + m_search + price", tr), estimateCSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Transforms) != 2 {
		t.Fatalf("Transforms = %+v; want m_tv and m_search", spec.Transforms)
	}
	tv, search := spec.Transforms[0], spec.Transforms[1]
	// The documented defaults: decay beta(2, 2), shape lognormal(0, 0.5), half_saturation
	// lognormal(log(median positive value), 1) with the median of 4, 10, 2, 6 = 5.
	wantPriors := []struct {
		name string
		got  *TransformPrior
		want TransformPrior
	}{
		{"decay", tv.DecayPrior, TransformPrior{Family: PriorBeta, A: 2, B: 2, Default: true}},
		{"half_saturation", tv.HalfSaturationPrior, TransformPrior{Family: PriorLognormal, A: math.Log(5), B: 1, Default: true}},
		{"shape", tv.ShapePrior, TransformPrior{Family: PriorLognormal, A: 0, B: 0.5, Default: true}},
	}
	for _, w := range wantPriors {
		if w.got == nil || *w.got != w.want {
			t.Errorf("m_tv %s prior = %+v; want %+v", w.name, w.got, w.want)
		}
	}
	// Values at the priors' centres: beta(2, 2) → 0.5, lognormal(log 5, 1) → 5, lognormal(0, ·) → 1.
	if !near(tv.Decay, 0.5) || !near(tv.HalfSaturation, 5) || !near(tv.Shape, 1) || tv.MaxLag != 1 || !tv.Estimated() {
		t.Errorf("m_tv = decay %v, half %v, shape %v, max_lag %d; want 0.5, 5, 1, 1", tv.Decay, tv.HalfSaturation, tv.Shape, tv.MaxLag)
	}
	if search.Estimated() || search.Decay != 0.25 || search.DecayPrior != nil {
		t.Errorf("m_search = %+v; want fixed decay 0.25", search)
	}
	if want := []float64{0, 4, 10, 2, 6, 0}; !reflect.DeepEqual(tv.Raw, want) {
		t.Errorf("m_tv Raw = %v; want %v", tv.Raw, want)
	}
	// X holds m_tv transformed at the centres. Adstock with decay 0.5, L = 1: w = (2/3, 1/3),
	// a = 0, 8/3, 8, 14/3, 14/3, 2; then a/(a + 5).
	want := []float64{0, 8.0 / 23, 8.0 / 13, 14.0 / 29, 14.0 / 29, 2.0 / 7}
	for i := range want {
		if !near(spec.X[1][i], want[i]) {
			t.Errorf("X[m_tv][%d] = %v; want %v", i, spec.X[1][i], want[i])
		}
	}
	d := tv.Describe()
	for _, w := range []string{"decay estimated, prior beta(2, 2), max_lag 1", "half_saturation estimated, prior lognormal(1.609, 1) (in m_tv's units)", "shape estimated, prior lognormal(0, 0.5)"} {
		if !strings.Contains(d, w) {
			t.Errorf("Describe = %q; want it to contain %q", d, w)
		}
	}

	// A column with no positive value has no default half-saturation prior.
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSpace(estimateCSV), "\n") {
		f := strings.Split(line, ",")
		if i > 0 {
			f[2] = "0"
		}
		b.WriteString(strings.Join(f, ",") + "\n")
	}
	_, _, err = runIn(t, transformYAML("kpi ~ m_tv", "  m_tv:\n    saturation: { type: hill, half_saturation: estimate, shape: 1 }\n"), b.String())
	wantErr := "ingest: run.yaml:8:31: `transforms.m_tv.saturation.half_saturation` is estimate, but column \"m_tv\" has no value > 0 in the rows used"
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("all-zero column: %v\nwant %s", err, wantErr)
	}
}

func TestTransformOverridesMomentMatching(t *testing.T) {
	tr := "  m_tv:\n    adstock: { type: geometric, decay: estimate }\n" +
		"    saturation: { type: hill, half_saturation: estimate, shape: estimate }\n" +
		"  m_search:\n    saturation: { type: hill, half_saturation: 3, shape: estimate }\n"
	pri := "priors:\n  overrides:\n" +
		"    - { parameter: \"adstock_decay[m_tv]\", family: beta, mean: 0.3, sd: 0.1 }\n" +
		"    - { parameter: \"half_saturation[m_tv]\", mean: 10, sd: 5 }\n" +
		"    - parameter: hill_shape[m_tv]\n      family: gamma\n      mean: 2\n      sd: 0.5\n" +
		"    - { parameter: m_search, family: normal, mean: 0, sd: 1 }\n"
	cfg, spec, err := runIn(t, transformYAML("kpi ~ m_tv + m_search", tr)+pri, estimateCSV)
	if err != nil {
		t.Fatal(err)
	}
	tv := spec.Transforms[0]
	// Hand-computed:
	//   beta, m 0.3, s 0.1: k = 0.21/0.01 − 1 = 20, a = 0.3·20 = 6, b = 0.7·20 = 14.
	//   lognormal (the default family), m 10, s 5: v = ln(1 + 25/100) = ln 1.25,
	//     meanlog = ln 10 − v/2 = 2.191013317336941, sdlog = √v = 0.47238072707743883.
	//   gamma, m 2, s 0.5: shape 4/0.25 = 16, rate 2/0.25 = 8.
	for _, c := range []struct {
		name                string
		got                 *TransformPrior
		family              string
		a, b, centre, m, sd float64
	}{
		{"decay", tv.DecayPrior, PriorBeta, 6, 14, 0.3, 0.3, 0.1},
		{"half_saturation", tv.HalfSaturationPrior, PriorLognormal, 2.191013317336941, 0.47238072707743883, math.Exp(2.191013317336941), 10, 5},
		{"shape", tv.ShapePrior, PriorGamma, 16, 8, 2, 2, 0.5},
	} {
		p := c.got
		if p == nil || p.Family != c.family || p.Default || math.Abs(p.A-c.a) > 1e-12 || math.Abs(p.B-c.b) > 1e-12 {
			t.Errorf("%s prior = %+v; want %s(%v, %v) from the override", c.name, p, c.family, c.a, c.b)
			continue
		}
		if math.Abs(p.Centre()-c.centre) > 1e-12 {
			t.Errorf("%s centre = %v; want %v", c.name, p.Centre(), c.centre)
		}
		// Moments inverts the matching: the override's mean and sd come back.
		if m, sd := p.Moments(); math.Abs(m-c.m) > 1e-12 || math.Abs(sd-c.sd) > 1e-12 {
			t.Errorf("%s moments = %v, %v; want %v, %v", c.name, m, sd, c.m, c.sd)
		}
	}
	if !near(tv.Decay, 0.3) || !near(tv.Shape, 2) {
		t.Errorf("m_tv decay %v, shape %v; want the prior centres 0.3, 2", tv.Decay, tv.Shape)
	}
	// The coefficient override with family normal is an ordinary normal prior.
	if p := spec.Priors[2]; p.Mean != 0 || p.SD != 1 || p.Default {
		t.Errorf("m_search prior = %+v; want normal(0, 1) from the override", p)
	}
	// The resolved config names the family it filled in and parses back the same.
	out, err := cfg.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "parameter: half_saturation[m_tv]\n      family: lognormal\n") {
		t.Errorf("resolved YAML does not name the default family:\n%s", out)
	}
	back, err := ParseConfig(out, "run.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Transforms, cfg.Transforms) || !reflect.DeepEqual(back.Priors, cfg.Priors) {
		t.Errorf("round trip:\n%+v %+v\nwant\n%+v %+v", back.Transforms, back.Priors, cfg.Transforms, cfg.Priors)
	}

	// The prior table lists each estimated transform parameter after the other rows.
	rows := cfg.PriorTable(spec)
	var got []PriorRow
	for _, r := range rows {
		if r.Kind == KindTransform {
			got = append(got, r)
		}
	}
	inf := math.Inf(1)
	wantRows := []PriorRow{
		{"adstock_decay[m_tv]", KindTransform, "beta_ms", 0.3, 0.1, 0, 1, "priors.overrides[0], as beta(6, 14)", "a decay: in [0, 1)", OriginOverride},
		{"half_saturation[m_tv]", KindTransform, "lognormal_ms", 10, 5, 0, inf, "priors.overrides[1], as lognormal(2.191, 0.4724)", "a half-saturation: > 0", OriginOverride},
		{"hill_shape[m_tv]", KindTransform, "gamma_ms", 2, 0.5, 0, inf, "priors.overrides[2], as gamma(16, 8)", "a shape: > 0", OriginOverride},
		// lognormal(0, 0.5): mean exp(0.125), sd mean·√(exp(0.25) − 1).
		{"hill_shape[m_search]", KindTransform, "lognormal_ms", math.Exp(0.125), math.Exp(0.125) * math.Sqrt(math.Expm1(0.25)), 0, inf, "default: lognormal(0, 0.5)", "a shape: > 0", OriginDefault},
	}
	if !reflect.DeepEqual(got, wantRows) {
		t.Errorf("transform rows:\n%+v\nwant\n%+v", got, wantRows)
	}
	if n := len(rows) - len(got); rows[n-1].Parameter != NoiseSDName {
		t.Errorf("the transform rows do not follow noise_sd: %+v", rows)
	}
}

func TestPriorTableDefaultTransformRows(t *testing.T) {
	tr := "  m_tv:\n    adstock: { type: geometric, decay: estimate, max_lag: 1 }\n" +
		"    saturation: { type: hill, half_saturation: estimate, shape: 1 }\n"
	cfg, spec, err := runIn(t, transformYAML("kpi ~ m_tv", tr), estimateCSV)
	if err != nil {
		t.Fatal(err)
	}
	rows := cfg.PriorTable(spec)
	rows = rows[len(rows)-2:]
	// beta(2, 2): mean 1/2, sd √(4/(16·5)). lognormal(log 5, 1): mean 5·e^½, sd mean·√(e − 1).
	want := []PriorRow{
		{"adstock_decay[m_tv]", KindTransform, "beta_ms", 0.5, math.Sqrt(4.0 / 80), 0, 1, "default: beta(2, 2)", "a decay: in [0, 1)", OriginDefault},
		{"half_saturation[m_tv]", KindTransform, "lognormal_ms", 5 * math.Exp(0.5), 5 * math.Exp(0.5) * math.Sqrt(math.E-1), 0, math.Inf(1),
			"default: lognormal(log(median of the positive values of m_tv), 1) = lognormal(1.609, 1)", "a half-saturation: > 0", OriginDefault},
	}
	for i := range want {
		g, w := rows[i], want[i]
		if g.Parameter != w.Parameter || g.Family != w.Family || g.PriorSource != w.PriorSource || g.BoundSource != w.BoundSource ||
			math.Abs(g.Mean-w.Mean) > 1e-12 || math.Abs(g.SD-w.SD) > 1e-12 || g.Lower != w.Lower || g.Upper != w.Upper {
			t.Errorf("row %d = %+v; want %+v", i, g, w)
		}
	}
}

func TestEstimatedTransformConfigErrors(t *testing.T) {
	estDecay := "  m_tv:\n    adstock: { type: geometric, decay: estimate }\n"
	estHill := "  m_tv:\n    saturation: { type: hill, half_saturation: estimate, shape: estimate }\n"
	// override is a priors section with one override on lines 9-14 (item key on 11:7,
	// family 12:7, mean 13:7, sd 14:7).
	override := func(param, family string, mean, sd float64) string {
		return fmt.Sprintf("priors:\n  overrides:\n    - parameter: %s\n      family: %s\n      mean: %v\n      sd: %v\n", param, family, mean, sd)
	}
	for _, c := range []struct{ name, formula, transforms, priors, want string }{
		{"gamma on a decay", "kpi ~ m_tv", estDecay, override("adstock_decay[m_tv]", "gamma", 0.5, 0.1),
			"run.yaml:12:7: `priors.overrides[0].family` is \"gamma\", which makes no sense for adstock_decay[m_tv]: a decay lies in [0, 1), so its prior is a beta; use beta"},
		{"normal on a decay", "kpi ~ m_tv", estDecay, override("adstock_decay[m_tv]", "normal", 0.5, 0.1),
			"run.yaml:12:7: `priors.overrides[0].family` is \"normal\", which makes no sense for adstock_decay[m_tv]"},
		{"beta on a shape", "kpi ~ m_tv", estHill, override("hill_shape[m_tv]", "beta", 0.5, 0.1),
			"run.yaml:12:7: `priors.overrides[0].family` is \"beta\", which makes no sense for hill_shape[m_tv]: it is > 0, so its prior is a lognormal or a gamma; use lognormal or gamma"},
		{"unknown family", "kpi ~ m_tv", estHill, override("half_saturation[m_tv]", "weibull", 5, 1),
			"run.yaml:12:7: `priors.overrides[0].family` is \"weibull\"; must be lognormal or gamma for half_saturation[m_tv] (it is > 0, so its prior is a lognormal or a gamma)"},
		{"beta sd too large", "kpi ~ m_tv", estDecay, override("adstock_decay[m_tv]", "beta", 0.5, 0.5),
			"run.yaml:14:7: `priors.overrides[0].sd` is 0.5; a beta prior with mean 0.5 needs an sd below √(m(1−m)) = 0.5"},
		{"beta mean outside (0, 1)", "kpi ~ m_tv", estDecay, override("adstock_decay[m_tv]", "beta", 1.2, 0.1),
			"run.yaml:13:7: `priors.overrides[0].mean` is 1.2; the mean of a decay's beta prior must be in (0, 1)"},
		{"non-positive mean", "kpi ~ m_tv", estHill, override("half_saturation[m_tv]", "gamma", -1, 1),
			"run.yaml:13:7: `priors.overrides[0].mean` is -1; must be a finite number > 0 (the prior mean of half_saturation[m_tv], in natural units)"},
		{"zero sd", "kpi ~ m_tv", estHill, override("hill_shape[m_tv]", "lognormal", 1, 0),
			"run.yaml:14:7: `priors.overrides[0].sd` is 0; must be > 0 and finite"},
		{"override of a fixed parameter", "kpi ~ m_tv", "  m_tv:\n    adstock: { type: geometric, decay: 0.5 }\n", override("adstock_decay[m_tv]", "beta", 0.5, 0.1),
			"run.yaml:11:7: `priors.overrides[0].parameter` is \"adstock_decay[m_tv]\", but `transforms.m_tv.adstock.decay` fixes it at 0.5; a prior applies only to an estimated parameter (set it to estimate)"},
		{"override of a missing transform", "kpi ~ m_tv", estDecay, override("half_saturation[m_tv]", "lognormal", 5, 1),
			"run.yaml:11:7: `priors.overrides[0].parameter` is \"half_saturation[m_tv]\", but `transforms.m_tv` has no Hill saturation"},
		{"override of an untransformed column", "kpi ~ m_tv + price", estDecay, override("hill_shape[price]", "lognormal", 1, 0.5),
			"run.yaml:11:7: `priors.overrides[0].parameter` is \"hill_shape[price]\", but the transforms section has no entry for price"},
		{"family on a coefficient", "kpi ~ m_tv + price", estDecay, override("price", "lognormal", 1, 0.5),
			"run.yaml:12:7: `priors.overrides[0].family` is \"lognormal\"; a prior on price is a normal (truncated at 0 for a scale), so family may only be normal"},
		{"lognormal_ms on noise_sd", "kpi ~ m_tv", estDecay, override("noise_sd", "lognormal_ms", 1, 0.5),
			"for a lognormal_ms prior on noise_sd use `priors.noise_sd`"},
		{"use_defaults false", "kpi ~ m_tv", estDecay, "priors:\n  use_defaults: false\n",
			"missing: (Intercept), m_tv, noise_sd, adstock_decay[m_tv]"},
		{"transform on a column that is not a term", "kpi ~ m_tv", "  price:\n    adstock: { type: geometric, decay: estimate }\n", "",
			"run.yaml:7:3: `transforms.price`: price is not a term of the formula (terms: m_tv)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runIn(t, transformYAML(c.formula, c.transforms)+c.priors, estimateCSV)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to contain %s", err, c.want)
			}
		})
	}
	// A problem in the transforms section drops it; the overrides of its parameters are
	// then not reported as naming nothing.
	_, _, err := runIn(t, transformYAML("kpi ~ m_tv", "  m_tv:\n    adstock: { type: geometric, decay: sometimes }\n")+override("adstock_decay[m_tv]", "beta", 0.5, 0.1), estimateCSV)
	if err == nil || strings.Contains(err.Error(), "priors.overrides") || !strings.Contains(err.Error(), "must be a number, or estimate") {
		t.Errorf("error = %v; want only the decay's problem", err)
	}
}

// sensitivityTransforms fixes m_search's transforms and estimates m_tv's decay.
const sensitivityTransforms = "  m_search:\n    adstock: { type: geometric, decay: 0.3 }\n" +
	"    saturation: { type: hill, half_saturation: 12.5, shape: 1 }\n" +
	"  m_tv:\n    adstock: { type: geometric, decay: estimate }\n" +
	"    saturation: { type: hill, half_saturation: 5, shape: 1 }\n"

func TestSensitivityScenarios(t *testing.T) {
	sens := "  sensitivity:\n    m_search.decay: [0.1, 0.3, 0.5]\n    m_tv.shape: [1, 2.5]\n"
	cfg, _, err := runIn(t, transformYAML("kpi ~ m_tv + m_search", sensitivityTransforms+sens), estimateCSV)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.SensitivityScenarios()
	// Every combination, the first key varying slowest.
	want := []SensitivityScenario{
		{"m_search.decay=0.1,m_tv.shape=1", map[string]float64{"m_search.decay": 0.1, "m_tv.shape": 1}},
		{"m_search.decay=0.1,m_tv.shape=2.5", map[string]float64{"m_search.decay": 0.1, "m_tv.shape": 2.5}},
		{"m_search.decay=0.3,m_tv.shape=1", map[string]float64{"m_search.decay": 0.3, "m_tv.shape": 1}},
		{"m_search.decay=0.3,m_tv.shape=2.5", map[string]float64{"m_search.decay": 0.3, "m_tv.shape": 2.5}},
		{"m_search.decay=0.5,m_tv.shape=1", map[string]float64{"m_search.decay": 0.5, "m_tv.shape": 1}},
		{"m_search.decay=0.5,m_tv.shape=2.5", map[string]float64{"m_search.decay": 0.5, "m_tv.shape": 2.5}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scenarios:\n%+v\nwant\n%+v", got, want)
	}

	before, _ := cfg.ResolvedYAML()
	sc, err := cfg.WithScenario(got[3])
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := cfg.ResolvedYAML(); string(after) != string(before) {
		t.Errorf("WithScenario changed the config it copied")
	}
	if sc.Transforms.Sensitivity != nil || sc.SensitivityScenarios() != nil {
		t.Errorf("the scenario's config keeps sensitivity: %+v", sc.Transforms.Sensitivity)
	}
	ct := sc.Transforms.Columns
	if *ct["m_search"].Adstock.Decay != (ParamValue{Value: 0.3}) || *ct["m_tv"].Saturation.Shape != (ParamValue{Value: 2.5}) ||
		!ct["m_tv"].Adstock.Decay.Estimate || ct["m_search"].Saturation.HalfSaturation.Value != 12.5 {
		t.Errorf("scenario transforms = %+v", ct)
	}
	// It fits as an ordinary run: it validates, builds, and its resolved YAML round-trips
	// without sensitivity.
	table, err := LoadCSV(sc.Data.Path)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := BuildSpec(sc, table)
	if err != nil {
		t.Fatal(err)
	}
	if tv := spec.Transforms[0]; tv.Column != "m_tv" || tv.Shape != 2.5 || tv.DecayPrior == nil || tv.ShapePrior != nil {
		t.Errorf("scenario m_tv = %+v; want shape fixed at 2.5, decay estimated", tv)
	}
	out, err := sc.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "sensitivity") {
		t.Errorf("scenario YAML keeps sensitivity:\n%s", out)
	}
	// The original's resolved YAML keeps sensitivity, in file order, and parses back.
	back, err := ParseConfig(before, "run.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, before)
	}
	if !reflect.DeepEqual(back.Transforms, cfg.Transforms) {
		t.Errorf("round trip: %+v; want %+v", back.Transforms, cfg.Transforms)
	}

	// WithScenario refuses what sensitivity would.
	for _, c := range []struct {
		values map[string]float64
		want   string
	}{
		{map[string]float64{"m_tv.decay": 0.2}, "`transforms.m_tv.adstock.decay` is estimate"},
		{map[string]float64{"m_search.decay": 1}, "m_search.decay is 1; must be in [0, 1)"},
		{map[string]float64{"price.shape": 1}, "price has no transforms"},
		{map[string]float64{"m_search.lag": 1}, `"m_search.lag" is not`},
	} {
		if _, err := cfg.WithScenario(SensitivityScenario{Name: "x", Values: c.values}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WithScenario(%v) = %v; want %s", c.values, err, c.want)
		}
	}
	if cfg0, _, err := runIn(t, transformYAML("kpi ~ m_tv + m_search", sensitivityTransforms), estimateCSV); err != nil || cfg0.SensitivityScenarios() != nil {
		t.Errorf("no sensitivity: %v, %v", cfg0.SensitivityScenarios(), err)
	}
}

func TestSensitivityErrors(t *testing.T) {
	// The sensitivity section starts on line 13; its first key is on 14:5.
	for _, c := range []struct{ name, sens, want string }{
		{"unknown column", "    m_radio.decay: [0.1]\n",
			"run.yaml:14:5: `transforms.sensitivity.m_radio.decay`: m_radio has no transforms (transformed columns: m_search, m_tv)"},
		{"column without that transform", "    m_tv.decay: [0.1]\n    price.shape: [1]\n",
			"run.yaml:14:5: `transforms.sensitivity.m_tv.decay`: `transforms.m_tv.adstock.decay` is estimate; sensitivity scenarios vary a fixed value"},
		{"estimated", "    m_tv.decay: [0.1, 0.2]\n",
			"run.yaml:14:5: `transforms.sensitivity.m_tv.decay`: `transforms.m_tv.adstock.decay` is estimate"},
		{"no adstock", "    m_search.shape: [1]\n    m_other.decay: [0.5]\n",
			"run.yaml:15:5: `transforms.sensitivity.m_other.decay`: m_other has no transforms"},
		{"decay out of range", "    m_search.decay: [0.1, 1]\n",
			"run.yaml:14:27: `transforms.sensitivity.m_search.decay[1]` is 1; must be in [0, 1) (0 is no carry-over)"},
		{"negative half_saturation", "    m_search.half_saturation:\n      - 10\n      - -3\n",
			"run.yaml:16:9: `transforms.sensitivity.m_search.half_saturation[1]` is -3; must be a finite number > 0"},
		{"repeated value", "    m_search.shape: [1, 2, 1]\n",
			"run.yaml:14:28: `transforms.sensitivity.m_search.shape[2]` repeats 1; give each value once"},
		{"empty list", "    m_search.shape: []\n",
			"run.yaml:14:5: `transforms.sensitivity.m_search.shape` is an empty list; give at least one value to try"},
		{"too many scenarios", "    m_search.decay: [0, 0.1, 0.2, 0.3, 0.4]\n    m_search.shape: [1, 2, 3, 4]\n    m_search.half_saturation: [1, 2, 3, 4]\n",
			"run.yaml:13:3: `transforms.sensitivity` makes 80 scenarios (every combination of 5 × 4 × 4 values); at most 64 are allowed"},
		{"bad key", "    m_search.lag: [1]\n",
			"run.yaml:14:5: `transforms.sensitivity.m_search.lag`: a sensitivity key is `<column>.<parameter>` with the parameter decay, half_saturation or shape"},
		{"not a list", "    m_search.shape: 2\n",
			"run.yaml:14:21: `transforms.sensitivity.m_search.shape` must be a list"},
		{"MAP fit", "    m_search.shape: [1, 2]\nfit:\n  method: optimise\n",
			"run.yaml:13:3: `transforms.sensitivity` ranks its scenarios by PSIS-LOO, which needs posterior draws; set `fit.method: mcmc`"},
		{"empty section", "    {}\n",
			"run.yaml:13:3: `transforms.sensitivity` is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			y := transformYAML("kpi ~ m_tv + m_search + price", sensitivityTransforms+"  sensitivity:\n"+c.sens)
			_, _, err := runIn(t, y, estimateCSV)
			if err == nil || !strings.Contains(err.Error(), "ingest: "+c.want) {
				t.Fatalf("error = %v\nwant it to contain ingest: %s", err, c.want)
			}
		})
	}
}

// shared lists the pointers, maps and slices that a and b share, by path, skipping empty
// ones.
func shared(a, b reflect.Value, path string, out *[]string) {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			*out = append(*out, path)
			return
		}
		shared(a.Elem(), b.Elem(), path, out)
	case reflect.Interface:
		if !a.IsNil() && !b.IsNil() {
			shared(a.Elem(), b.Elem(), path, out)
		}
	case reflect.Map:
		if a.Len() == 0 || b.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			*out = append(*out, path)
			return
		}
		for _, k := range a.MapKeys() {
			if v := b.MapIndex(k); v.IsValid() {
				shared(a.MapIndex(k), v, fmt.Sprintf("%s[%v]", path, k), out)
			}
		}
	case reflect.Slice:
		if a.Len() == 0 || b.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			*out = append(*out, path)
			return
		}
		for i := range min(a.Len(), b.Len()) {
			shared(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name, out)
		}
	}
}

func TestWithScenarioDeepCopy(t *testing.T) {
	raw := strings.Replace(fullYAMLForCopy(t), "outputs:", "transforms:\n"+
		"  m_search:\n    adstock: { type: geometric, decay: 0.3 }\n"+
		"  sensitivity:\n    m_search.decay: [0.1, 0.2]\n"+
		"time_components:\n  enabled: false\n  holidays: { enabled: false, add_to_formula: true }\n"+
		"pooling: { enabled: false }\nforecast: { enabled: false }\nsecurity: { allow_unsafe_formula: false }\n"+
		"outputs:\n  save_session_info_txt: true\n  save_transform_assumptions_txt: false\n", 1)
	raw = strings.Replace(raw, "policy_mode: strict\n", "policy_mode: strict\n  identifiability: { enabled: false }\n  model_selection: { enabled: false }\n  time_series_selection: { enabled: false }\n", 1)
	cfg, err := ParseConfig([]byte(raw), "testdata/full.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	sc, err := cfg.WithScenario(cfg.SensitivityScenarios()[0])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	shared(reflect.ValueOf(cfg), reflect.ValueOf(sc), "Config", &got)
	// The allocation section's record of key positions is the only thing shared (read only).
	if want := []string{"Config.Allocation.pos"}; !reflect.DeepEqual(got, want) {
		t.Errorf("WithScenario shares %v with the original; want only %v", got, want)
	}
	// Everything else is equal.
	cp := *sc
	cp.Transforms = cfg.Transforms
	cp.Allocation = cfg.Allocation
	if !reflect.DeepEqual(&cp, cfg) {
		t.Errorf("the copy differs from the original beyond the scenario")
	}
}

// fullYAMLForCopy is testdata/full.yaml, which sets nearly every key.
func fullYAMLForCopy(t *testing.T) string {
	t.Helper()
	cfg, err := LoadConfig("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(cfg.Raw)
}
