package diagnostics

// Convergence holds the Rhat and ESS thresholds of a policy mode: Rhat warns above
// RhatWarn and fails above RhatFail; bulk and tail ESS warn below ESSWarn and fail below
// ESSFail.
type Convergence struct {
	RhatWarn, RhatFail float64
	ESSWarn, ESSFail   float64
}

// ConvergenceThresholds returns the Rhat and ESS thresholds of mode (ModeExplore,
// ModePublish or ModeStrict) and whether mode is one of them.
func ConvergenceThresholds(mode string) (Convergence, bool) {
	p, ok := policies[mode]
	if !ok {
		return Convergence{}, false
	}
	return Convergence{RhatWarn: p.rhatWarn, RhatFail: p.rhatFail, ESSWarn: p.essWarn, ESSFail: p.essFail}, true
}
