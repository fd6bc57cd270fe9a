package runfolder

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

func TestSpecTransforms(t *testing.T) {
	ts := []ingest.Transform{
		{Column: "m_tv", Adstock: true, Decay: 0.5, MaxLag: 8, Hill: true, HalfSaturation: 5, Shape: 1.5,
			DecayPrior:          &ingest.TransformPrior{Family: ingest.PriorBeta, A: 2, B: 2, Default: true},
			HalfSaturationPrior: &ingest.TransformPrior{Family: ingest.PriorGamma, A: 16, B: 8}},
		{Column: "m_search", Adstock: true, Decay: 0, MaxLag: 2},
	}
	b, err := json.Marshal(SpecTransforms(ts))
	if err != nil {
		t.Fatal(err)
	}
	// An estimated parameter has its prior and no value; a fixed decay of 0 is kept.
	want := `[{"column":"m_tv","adstock":"geometric","decay_prior":{"family":"beta","a":2,"b":2,"default":true},"max_lag":8,` +
		`"saturation":"hill","half_saturation_prior":{"family":"gamma","a":16,"b":8,"default":false},"shape":1.5},` +
		`{"column":"m_search","adstock":"geometric","decay":0,"max_lag":2,"saturation":"none"}]`
	if string(b) != want {
		t.Errorf("SpecTransforms =\n%s\nwant\n%s", b, want)
	}
	// Without transforms model_spec.json is as before: no transforms key.
	b, _ = json.Marshal(&ModelSpec{DataFile: "d.csv", Transforms: SpecTransforms(nil)})
	if strings.Contains(string(b), "transforms") {
		t.Errorf("model_spec.json without transforms: %s", b)
	}
}

func TestWriteTransformAssumptions(t *testing.T) {
	var fixed, est strings.Builder
	cols := []TransformColumn{{Column: "m_search", Description: "geometric adstock, decay 0.3"}}
	if err := WriteTransformAssumptions(&fixed, cols); err != nil {
		t.Fatal(err)
	}
	want := "Media transforms, fixed before fitting (adstock, then saturation); each column's coefficient multiplies its transformed values.\n" +
		"m_search: geometric adstock, decay 0.3\nEvery other term enters the model linearly in its own column.\n"
	if fixed.String() != want {
		t.Errorf("fixed:\n%s\nwant\n%s", fixed.String(), want)
	}
	cols = append(cols, TransformColumn{Column: "m_tv", Description: "geometric adstock, decay estimated, prior beta(2, 2)", Estimated: true})
	if err := WriteTransformAssumptions(&est, cols); err != nil {
		t.Fatal(err)
	}
	if s := est.String(); !strings.HasPrefix(s, "Media transforms (adstock, then saturation), each parameter fixed before fitting or estimated with the model under the prior stated;") ||
		!strings.Contains(s, "\nm_tv: geometric adstock, decay estimated, prior beta(2, 2)\n") {
		t.Errorf("estimated:\n%s", s)
	}
}
