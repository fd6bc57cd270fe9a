package runfolder

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestWritePriors(t *testing.T) {
	var b bytes.Buffer
	err := WritePriors(&b, []PriorRow{
		{Parameter: "(Intercept)", Kind: "intercept", Family: "normal", Mean: 3, SD: 7.5, Lower: math.Inf(-1), Upper: math.Inf(1), PriorSource: "default: normal(mean(y), 5·sd(y))", BoundSource: "default: unbounded",
			SamplerMean: 0, SamplerSD: 5, SamplerLower: math.Inf(-1), SamplerUpper: math.Inf(1), Source: "default"},
		{Parameter: "sd_1[m_tv]", Kind: "group_scale", Family: "half_normal", Mean: 0, SD: 0.25, Lower: 0, Upper: math.Inf(1), PriorSource: "priors.overrides[1]", BoundSource: "a scale: ≥ 0",
			SamplerMean: 0, SamplerSD: 0.125, SamplerLower: 0, SamplerUpper: math.Inf(1), Source: "run:results/2026-11"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "parameter,kind,family,mean,sd,lower,upper,prior_source,bound_source,sampler_mean,sampler_sd,sampler_lower,sampler_upper,source\n" +
		"(Intercept),intercept,normal,3,7.5,-Inf,Inf,\"default: normal(mean(y), 5·sd(y))\",default: unbounded,0,5,-Inf,Inf,default\n" +
		"sd_1[m_tv],group_scale,half_normal,0,0.25,0,Inf,priors.overrides[1],a scale: ≥ 0,0,0.125,0,Inf,run:results/2026-11\n"
	if b.String() != want {
		t.Errorf("priors.csv =\n%s\nwant\n%s", b.String(), want)
	}
	rows, err := ReadPriors(strings.NewReader(want))
	if err != nil || len(rows) != 2 || rows[1].SamplerSD != 0.125 || !math.IsInf(rows[0].SamplerLower, -1) || rows[0].PriorSource != "default: normal(mean(y), 5·sd(y))" ||
		rows[1].Source != "run:results/2026-11" {
		t.Errorf("read back %+v, %v", rows, err)
	}
	if _, err := ReadPriors(strings.NewReader("parameter,kind,family,mean,sd,lower,upper,prior_source,bound_source\n")); err == nil {
		t.Error("an old header was read")
	}
	// A priors.csv written before the source column existed still reads, with no source.
	v1 := "parameter,kind,family,mean,sd,lower,upper,prior_source,bound_source,sampler_mean,sampler_sd,sampler_lower,sampler_upper\n" +
		"sd_1[m_tv],group_scale,half_normal,0,0.25,0,Inf,priors.overrides[1],a scale: ≥ 0,0,0.125,0,Inf\n"
	if rows, err := ReadPriors(strings.NewReader(v1)); err != nil || len(rows) != 1 || rows[0].SD != 0.25 || rows[0].Source != "" {
		t.Errorf("priors.csv without source: read %+v, %v; want one row, no source", rows, err)
	}
	// A row with a missing source field is refused (csvtab wants every field).
	if _, err := ReadPriors(strings.NewReader(strings.Replace(want, ",default\n", "\n", 1))); err == nil {
		t.Error("a row without its source field was read")
	}
}
