package diagnostics

import "testing"

// TestConvergenceThresholds checks the exported thresholds against the table in doc.go.
func TestConvergenceThresholds(t *testing.T) {
	for mode, want := range map[string]Convergence{
		ModeExplore: {RhatWarn: 1.05, RhatFail: 1.10, ESSWarn: 100, ESSFail: 50},
		ModePublish: {RhatWarn: 1.01, RhatFail: 1.05, ESSWarn: 400, ESSFail: 100},
		ModeStrict:  {RhatWarn: 1.005, RhatFail: 1.01, ESSWarn: 1000, ESSFail: 400},
	} {
		if got, ok := ConvergenceThresholds(mode); !ok || got != want {
			t.Errorf("ConvergenceThresholds(%s) = %+v, %v; want %+v, true", mode, got, ok, want)
		}
	}
	if _, ok := ConvergenceThresholds("lenient"); ok {
		t.Error("ConvergenceThresholds(lenient) is known")
	}
}
