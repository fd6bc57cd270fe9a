package posterior

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// normalLogPDF is log N(y | mu, sigma), computed by gonum, independently of the package.
func normalLogPDF(y, mu, sigma float64) float64 {
	return distuv.Normal{Mu: mu, Sigma: sigma}.LogProb(y)
}

// TestMuIsTheLogLikMean checks Mu against LogLik row by row and draw by draw, with
// estimated transforms (per-draw columns) and on a panel (group deviations, offset):
// log N(y_i | μ_is, σ_s) is the pointwise log-likelihood, and Pointwise gives both.
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
		pointwise, err := tc.d.Pointwise(spec)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < spec.N; i++ {
			m, l := mu(i), ll(i)
			pl, pm := pointwise(i)
			for s := range m {
				want := normalLogPDF(spec.Y[i], m[s], tc.d.NoiseSD[s])
				got := l[s/tc.d.PerChain][s%tc.d.PerChain]
				if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
					t.Fatalf("%s row %d draw %d: log-lik %v; log N(y | Mu) %v", tc.name, i, s, got, want)
				}
				if pm[s] != m[s] || pl[s/tc.d.PerChain][s%tc.d.PerChain] != got {
					t.Fatalf("%s row %d draw %d: Pointwise gives (%v, %v); Mu and LogLik (%v, %v)", tc.name, i, s, pm[s], pl[s/tc.d.PerChain][s%tc.d.PerChain], m[s], got)
				}
			}
		}
	}
	// Draws that do not fit the spec are refused.
	if _, err := pd.Mu(tspec); err == nil {
		t.Error("Mu accepted the panel's draws for the transforms spec")
	}
}
