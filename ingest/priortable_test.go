package ingest

import (
	"math"
	"testing"
)

func TestPriorTableSources(t *testing.T) {
	yaml := `data: {path: data.csv}
model: {formula: kpi ~ m_tv + m_search + (1 | market)}
priors:
  overrides:
    - {parameter: m_tv, mean: 1, sd: 0.5}
    - {parameter: "sd_1[(Intercept)]", mean: 0, sd: 2}
  noise_sd: {family: lognormal_ms, mean: 1, sd: 0.5}
boundaries:
  overrides:
    - {parameter: m_search, lower: 0}
`
	cfg, spec, err := runIn(t, yaml, sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	rows := cfg.PriorTable(spec)
	want := []struct {
		param, kind, family, prior, bound string
		mean, sd, lower, upper            float64
	}{
		{"(Intercept)", KindIntercept, "normal", "default: normal(mean(y), 5·sd(y))", "default: unbounded", spec.Priors[0].Mean, spec.Priors[0].SD, math.Inf(-1), math.Inf(1)},
		{"m_tv", KindCoefficient, "normal", "priors.overrides[0]", "default: unbounded", 1, 0.5, math.Inf(-1), math.Inf(1)},
		{"m_search", KindCoefficient, "normal", "default: normal(0, 5·sd(y)/sd(x))", "boundaries.overrides[0]", 0, spec.Priors[2].SD, 0, math.Inf(1)},
		{"noise_sd", KindNoise, "lognormal_ms", "priors.noise_sd", "a scale: ≥ 0", 1, 0.5, 0, math.Inf(1)},
		{"sd_1[(Intercept)]", KindGroupScale, "half_normal", "priors.overrides[1]", "a scale: ≥ 0", 0, 2, 0, math.Inf(1)},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows; want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Parameter != w.param || r.Kind != w.kind || r.Family != w.family || r.PriorSource != w.prior || r.BoundSource != w.bound ||
			r.Mean != w.mean || r.SD != w.sd || r.Lower != w.lower || r.Upper != w.upper {
			t.Errorf("row %d = %+v; want %+v", i, r, w)
		}
	}
	// The defaults are the documented rules: sd(y) = sd(1..5), intercept normal(mean(y), 5·sd(y)).
	if sdY := math.Sqrt(2.5); math.Abs(rows[0].SD-5*sdY) > 1e-12 || rows[0].Mean != 3 {
		t.Errorf("intercept prior normal(%g, %g); want normal(3, %g)", rows[0].Mean, rows[0].SD, 5*sdY)
	}

	// With nothing overridden every source is a default rule, and a noise_sd override
	// in priors.overrides is named.
	cfg, spec, err = runIn(t, "data: {path: data.csv}\nmodel: {formula: kpi ~ m_tv}\npriors:\n  overrides:\n    - {parameter: noise_sd, mean: 0, sd: 3}\n", sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	rows = cfg.PriorTable(spec)
	if n := rows[len(rows)-1]; n.Parameter != NoiseSDName || n.PriorSource != "priors.overrides[0]" || n.SD != 3 || n.Family != "half_normal" {
		t.Errorf("noise_sd row = %+v", n)
	}
}
