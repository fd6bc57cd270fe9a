package ingest

import "github.com/dsamstan/dsamstan/internal/num"

// Defaults of diagnostics.identifiability.
const (
	DefaultMaxAbsCorrelation = 0.9
	DefaultMinContraction    = 0.1
)

// IdentifiabilityConfig is diagnostics.identifiability, the limits of the identifiability
// gate on the media parameters after sampling: a parameter whose posterior contraction
// (1 − posterior variance / prior variance) is below MinContraction, or a pair whose
// absolute posterior correlation is above MaxAbsCorrelation, is reported.
type IdentifiabilityConfig struct {
	// Enabled false reports the gate's rows as skipped; default true.
	Enabled bool `yaml:"enabled"`
	// MaxAbsCorrelation is in (0, 1]; default 0.9.
	MaxAbsCorrelation float64 `yaml:"max_abs_correlation"`
	// MinContraction is in [0, 1); default 0.1.
	MinContraction float64 `yaml:"min_contraction"`
}

// IdentifiabilityLimits returns diagnostics.identifiability's settings, the defaults when
// the config has no such section.
func (d DiagnosticsConfig) IdentifiabilityLimits() IdentifiabilityConfig {
	if d.Identifiability == nil {
		return IdentifiabilityConfig{Enabled: true, MaxAbsCorrelation: DefaultMaxAbsCorrelation, MinContraction: DefaultMinContraction}
	}
	return *d.Identifiability
}

// identifiabilityDefaults fills the keys of a diagnostics.identifiability section that the
// file did not set; an absent section stays absent (IdentifiabilityLimits gives its
// defaults).
func (c *Config) identifiabilityDefaults() {
	id := c.Diagnostics.Identifiability
	if id == nil {
		return
	}
	given := c.pos.Given
	if !given("diagnostics.identifiability.enabled") {
		id.Enabled = true
	}
	if !given("diagnostics.identifiability.max_abs_correlation") {
		id.MaxAbsCorrelation = DefaultMaxAbsCorrelation
	}
	if !given("diagnostics.identifiability.min_contraction") {
		id.MinContraction = DefaultMinContraction
	}
}

func (c *Config) validateIdentifiability(v *validator) {
	id := c.Diagnostics.Identifiability
	if id == nil {
		return
	}
	if r := id.MaxAbsCorrelation; !(r > 0 && r <= 1) {
		v.add("diagnostics.identifiability.max_abs_correlation",
			"`diagnostics.identifiability.max_abs_correlation` is %s; must be above 0 and at most 1 (default %s; 1 never warns)", num.Plain(r), num.Plain(DefaultMaxAbsCorrelation))
	}
	if m := id.MinContraction; !(m >= 0 && m < 1) {
		v.add("diagnostics.identifiability.min_contraction",
			"`diagnostics.identifiability.min_contraction` is %s; must be at least 0 and below 1 (default %s; 0 warns only when a posterior is wider than its prior)", num.Plain(m), num.Plain(DefaultMinContraction))
	}
}
