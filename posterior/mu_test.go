package posterior

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dsamstan/dsamstan/ingest"
)

// logLikOf is the log-likelihood half of d.Pointwise(spec): row i's draws per chain.
func logLikOf(d *Draws, spec *ingest.Spec) (func(i int) [][]float64, error) {
	pointwise, err := d.Pointwise(spec)
	if err != nil {
		return nil, err
	}
	return func(i int) [][]float64 {
		ll, _ := pointwise(i)
		return ll
	}, nil
}

// normalLogPDF is log N(y | mu, sigma), computed by gonum, independently of the package.
func normalLogPDF(y, mu, sigma float64) float64 {
	return distuv.Normal{Mu: mu, Sigma: sigma}.LogProb(y)
}

// TestPointwiseIsTheLogLikOfMu checks Pointwise against Mu row by row and draw by draw,
// with estimated transforms (per-draw columns) and on a panel (group deviations, offset):
// its linear predictor is Mu's, and its log-likelihood is log N(y_i | μ_is, σ_s) of it,
// split by chain.
func TestPointwiseIsTheLogLikOfMu(t *testing.T) {
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
		pointwise, err := tc.d.Pointwise(spec)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < spec.N; i++ {
			m := mu(i)
			ll, pm := pointwise(i)
			if len(ll) != tc.d.Chains {
				t.Fatalf("%s row %d: %d chains of log-lik; want %d", tc.name, i, len(ll), tc.d.Chains)
			}
			for s := range m {
				want := normalLogPDF(spec.Y[i], m[s], tc.d.NoiseSD[s])
				got := ll[s/tc.d.PerChain][s%tc.d.PerChain]
				if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
					t.Fatalf("%s row %d draw %d: log-lik %v; log N(y | Mu) %v", tc.name, i, s, got, want)
				}
				if pm[s] != m[s] {
					t.Fatalf("%s row %d draw %d: Pointwise's linear predictor %v; Mu's %v", tc.name, i, s, pm[s], m[s])
				}
			}
		}
	}
	// Draws that do not fit the spec are refused.
	if _, err := pd.Mu(tspec); err == nil {
		t.Error("Mu accepted the panel's draws for the transforms spec")
	}
	if _, err := pd.Pointwise(tspec); err == nil {
		t.Error("Pointwise accepted the panel's draws for the transforms spec")
	}
}
