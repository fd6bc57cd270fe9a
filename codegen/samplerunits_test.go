package codegen

import (
	"math"
	"slices"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// TestSamplerScalesAreTheProgramsMap: the priors and bounds mapped with SamplerScales are
// the data the rendered programs get.
func TestSamplerScalesAreTheProgramsMap(t *testing.T) {
	for _, name := range []string{"bounds"} {
		s := goldenSpec(t, name)
		p := render(t, s)
		sc := SamplerScales(s)
		mean := dataVar(t, p, "prior_mean").([]float64)
		sd := dataVar(t, p, "prior_sd").([]float64)
		lb := dataVar(t, p, "lb").([]float64)
		ub := dataVar(t, p, "ub").([]float64)
		for k, term := range s.Terms {
			m, ok := sc[term.Name]
			if !ok {
				t.Fatalf("%s: no scale for %s", name, term.Name)
			}
			if m.Scaled(s.Priors[k].Mean) != mean[k] || s.Priors[k].SD/m.Scale != sd[k] ||
				m.Scaled(s.Bounds[k].Lower) != lb[k] || m.Scaled(s.Bounds[k].Upper) != ub[k] {
				t.Errorf("%s %s: normal(%v, %v) on [%v, %v] in the sampler; the program has normal(%v, %v) on [%v, %v]", name, term.Name,
					m.Scaled(s.Priors[k].Mean), s.Priors[k].SD/m.Scale, m.Scaled(s.Bounds[k].Lower), m.Scaled(s.Bounds[k].Upper), mean[k], sd[k], lb[k], ub[k])
			}
		}
		noise := sc[ingest.NoiseSDName]
		if s.NoiseSD.Family == ingest.NoiseNormal && s.NoiseSD.SD/noise.Scale != dataVar(t, p, "noise_sd_prior_b").(float64) {
			t.Errorf("%s noise_sd: sd %v in the sampler; the program has %v", name, s.NoiseSD.SD/noise.Scale, dataVar(t, p, "noise_sd_prior_b"))
		}
	}

	// A panel's group scales: the program's sd_1 priors (in its own term order).
	s := panelTestSpec(panelOptions{groups: 8, weeks: 30, param: "centered"})
	p := render(t, s)
	sc := SamplerScales(s)
	g := s.Groups[0]
	var want []float64
	for j, k := range g.Terms {
		m, ok := sc[ingest.GroupScaleName(g.Index, s.Terms[k].Name)]
		if !ok || m.Shift != 0 {
			t.Fatalf("no scale, or a shift, for %s: %+v", ingest.GroupScaleName(g.Index, s.Terms[k].Name), m)
		}
		want = append(want, g.SDPriors[j].SD/m.Scale)
	}
	got := slices.Clone(dataVar(t, p, "sd_1_prior_sd").([]float64))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("group-scale prior sds in the sampler %v; the program has %v", want, got)
	}
}

func TestSamplerScalesOfTransforms(t *testing.T) {
	s := weekSpec(specOptions{intercept: true, terms: []string{"m_tv"}, scale: true})
	raw := make([]float64, s.N)
	for i := range raw {
		raw[i] = float64(i%2) * (2 + float64(i%4)/2) // 0 on even rows, 2.5 and 3.5 on the odd: median 3
	}
	prior := &ingest.TransformPrior{Family: "lognormal", A: 1, B: 1}
	s.Transforms = []ingest.Transform{{Column: "m_tv", Adstock: true, DecayPrior: &ingest.TransformPrior{Family: "beta", A: 2, B: 2},
		Hill: true, HalfSaturationPrior: prior, Shape: 1, Raw: raw}}
	sc := SamplerScales(s)
	if m := sc["half_saturation[m_tv]"]; m.Scale != 3 || m.Shift != 0 {
		t.Errorf("half_saturation[m_tv] maps by %+v; want the median positive raw value 3", m)
	}
	if m := sc["adstock_decay[m_tv]"]; m.Scale != 1 || m.Shift != 0 {
		t.Errorf("adstock_decay[m_tv] maps by %+v; want the identity", m)
	}
	if _, ok := sc["hill_shape[m_tv]"]; ok {
		t.Error("a fixed shape has a scale")
	}
	if m := sc["m_tv"]; m.Scale != s.Scaling.YScale/s.Scaling.XScale[1] {
		t.Errorf("m_tv maps by %+v", m)
	}
	if v := (Param{Shift: 3, Scale: 2}).Scaled(math.Inf(-1)); !math.IsInf(v, -1) {
		t.Errorf("an infinite bound became %v", v)
	}
}
