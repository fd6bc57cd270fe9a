package runfolder

import (
	"bytes"
	"math"
	"testing"
)

func TestWritePriors(t *testing.T) {
	var b bytes.Buffer
	err := WritePriors(&b, []PriorRow{
		{Parameter: "(Intercept)", Kind: "intercept", Family: "normal", Mean: 3, SD: 7.5, Lower: math.Inf(-1), Upper: math.Inf(1), PriorSource: "default: normal(mean(y), 5·sd(y))", BoundSource: "default: unbounded"},
		{Parameter: "sd_1[m_tv]", Kind: "group_scale", Family: "half_normal", Mean: 0, SD: 0.25, Lower: 0, Upper: math.Inf(1), PriorSource: "priors.overrides[1]", BoundSource: "a scale: ≥ 0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "parameter,kind,family,mean,sd,lower,upper,prior_source,bound_source\n" +
		"(Intercept),intercept,normal,3,7.5,-Inf,Inf,\"default: normal(mean(y), 5·sd(y))\",default: unbounded\n" +
		"sd_1[m_tv],group_scale,half_normal,0,0.25,0,Inf,priors.overrides[1],a scale: ≥ 0\n"
	if b.String() != want {
		t.Errorf("priors.csv =\n%s\nwant\n%s", b.String(), want)
	}
}
