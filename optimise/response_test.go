package optimise

import (
	"math"
	"testing"
)

var testResponses = []Response{
	{Type: ResponseIdentity},
	{Type: ResponseHill, EC50: 100, Slope: 1},
	{Type: ResponseHill, EC50: 100, Slope: 0.6},
	{Type: ResponseHill, EC50: 40, Slope: 2.5},
	{Type: ResponseLog1p, Scale: 30},
	{Type: ResponsePower, Exponent: 0.5},
	{Type: ResponsePower, Exponent: 1.3},
}

// The transforms against their defining formulas (package documentation).
func TestResponseValue(t *testing.T) {
	for _, r := range testResponses {
		for _, s := range []float64{0, 0.5, 7, 100, 250, 1e4} {
			var want float64
			switch r.Type {
			case ResponseIdentity:
				want = s
			case ResponseHill:
				want = math.Pow(s, r.Slope) / (math.Pow(s, r.Slope) + math.Pow(r.EC50, r.Slope))
			case ResponseLog1p:
				want = math.Log(1 + s/r.Scale)
			case ResponsePower:
				want = math.Pow(s, r.Exponent)
			}
			if got := r.Value(s); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("%v.Value(%g) = %v; want %v", r, s, got, want)
			}
		}
	}
	if got := (Response{Type: ResponseHill, EC50: 10, Slope: 3}).Value(math.Inf(1)); got != 1 {
		t.Errorf("hill at +Inf = %v; want 1", got)
	}
}

// Deriv against a central difference of Value.
func TestResponseDeriv(t *testing.T) {
	for _, r := range testResponses {
		for _, s := range []float64{0.5, 7, 100, 250, 1e4} {
			h := 1e-5 * s
			want := (r.Value(s+h) - r.Value(s-h)) / (2 * h)
			if got := r.Deriv(s); math.Abs(got-want) > 1e-6*math.Max(math.Abs(want), 1e-12) {
				t.Errorf("%v.Deriv(%g) = %v; want %v (central difference)", r, s, got, want)
			}
		}
	}
	// At zero: infinite below slope 1, 1/ec50 at slope 1, 0 above.
	zero := []struct {
		r    Response
		want float64
	}{
		{Response{Type: ResponseHill, EC50: 100, Slope: 0.5}, math.Inf(1)},
		{Response{Type: ResponseHill, EC50: 100, Slope: 1}, 0.01},
		{Response{Type: ResponseHill, EC50: 100, Slope: 2}, 0},
		{Response{Type: ResponsePower, Exponent: 0.5}, math.Inf(1)},
		{Response{Type: ResponseLog1p, Scale: 4}, 0.25},
	}
	for _, z := range zero {
		if got := z.r.Deriv(0); got != z.want {
			t.Errorf("%v.Deriv(0) = %v; want %v", z.r, got, z.want)
		}
	}
	// Tiny spend with a small slope: the log-space branch stays finite and positive.
	if got := (Response{Type: ResponseHill, EC50: 100, Slope: 0.5}).Deriv(1e-290); !(got > 0) || math.IsInf(got, 0) {
		t.Errorf("hill slope 0.5 Deriv(1e-290) = %v; want finite > 0", got)
	}
}

// solveDeriv inverts Deriv for the concave transforms.
func TestSolveDeriv(t *testing.T) {
	for _, r := range testResponses {
		if r.linear() || !r.concave() {
			continue
		}
		for _, s := range []float64{3, 80, 900} {
			target := r.Deriv(s)
			got := r.solveDeriv(target, 1e-3, 1e5)
			if math.Abs(got-s) > 1e-7*s {
				t.Errorf("%v.solveDeriv(f'(%g)) = %v; want %g", r, s, got, s)
			}
		}
	}
}
