package ingest

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestIdentifiabilityLimits(t *testing.T) {
	const head = "data:\n  path: data.csv\nmodel:\n  formula: kpi ~ m_tv\n"
	defaults := IdentifiabilityConfig{Enabled: true, MaxAbsCorrelation: 0.9, MinContraction: 0.1}
	for _, c := range []struct {
		name, yaml string
		want       IdentifiabilityConfig
	}{
		{"absent", head, defaults},
		{"empty section", head + "diagnostics:\n  identifiability: {}\n", defaults},
		{"switched off (a ported config)", head + "diagnostics:\n  identifiability: {enabled: false}\n", IdentifiabilityConfig{MaxAbsCorrelation: 0.9, MinContraction: 0.1}},
		{"one limit", head + "diagnostics:\n  identifiability:\n    max_abs_correlation: 0.8\n", IdentifiabilityConfig{Enabled: true, MaxAbsCorrelation: 0.8, MinContraction: 0.1}},
		{"both limits at their closed ends", head + "diagnostics:\n  identifiability: {enabled: true, max_abs_correlation: 1, min_contraction: 0}\n",
			IdentifiabilityConfig{Enabled: true, MaxAbsCorrelation: 1, MinContraction: 0}},
	} {
		cfg, err := ParseConfig([]byte(c.yaml), filepath.Join("testdata", "ident.yaml"))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := cfg.Diagnostics.IdentifiabilityLimits(); got != c.want {
			t.Errorf("%s: IdentifiabilityLimits() = %+v; want %+v", c.name, got, c.want)
		}
		out, err := cfg.ResolvedYAML()
		if err != nil {
			t.Fatal(err)
		}
		// An absent section stays absent; a given one is written with every key filled, and
		// the resolved config reads back the same.
		if has := bytes.Contains(out, []byte("identifiability:")); has != (cfg.Diagnostics.Identifiability != nil) {
			t.Errorf("%s: resolved config holds identifiability: %v:\n%s", c.name, has, out)
		}
		again, err := ParseConfig(out, filepath.Join(t.TempDir(), "config.resolved.yaml"))
		if err != nil {
			t.Errorf("%s: the resolved config does not parse: %v", c.name, err)
		} else if got := again.Diagnostics.IdentifiabilityLimits(); got != c.want {
			t.Errorf("%s: resolved IdentifiabilityLimits() = %+v; want %+v", c.name, got, c.want)
		}
	}
}
