package posterior

import (
	"math"
	"testing"
)

// TestMuIsTheLogLikMean checks Mu against LogLik row by row and draw by draw, with
// estimated transforms (per-draw columns) and on a panel (group deviations, offset):
// log N(y_i | μ_is, σ_s) is the pointwise log-likelihood.
func TestMuIsTheLogLikMean(t *testing.T) {
	tspec, td := transformFixture(t, 30, 2, 20)
	pspec, pd := panelFixture(t, 24, 2, 15, false)
	for _, tc := range []struct {
		name string
		d    *Draws
	}{{"transforms", td}, {"panel", pd}} {
		spec := tspec
		if tc.name == "panel" {
			spec = pspec
		}
		mu, err := tc.d.Mu(spec)
		if err != nil {
			t.Fatal(err)
		}
		ll, err := tc.d.LogLik(spec)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < spec.N; i++ {
			m, l := mu(i), ll(i)
			for s := range m {
				want := normalLogPDF(spec.Y[i], m[s], tc.d.NoiseSD[s])
				if got := l[s/tc.d.PerChain][s%tc.d.PerChain]; math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
					t.Fatalf("%s row %d draw %d: log-lik %v; log N(y | Mu) %v", tc.name, i, s, got, want)
				}
			}
		}
	}
	// Draws that do not fit the spec are refused.
	if _, err := pd.Mu(tspec); err == nil {
		t.Error("Mu accepted the panel's draws for the transforms spec")
	}
}
