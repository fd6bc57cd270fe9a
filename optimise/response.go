package optimise

import (
	"fmt"
	"math"
)

// Response types: how a channel's spend becomes the variable its coefficient multiplies.
const (
	ResponseIdentity = "identity" // x = s
	ResponseHill     = "hill"     // x = s^slope / (s^slope + ec50^slope)
	ResponseLog1p    = "log1p"    // x = log(1 + s/scale)
	ResponsePower    = "power"    // x = s^exponent
)

// Response is a channel's response transform: it maps spend s ≥ 0 to the model variable
// x = f(s), so that the optimiser and the model agree on what a unit of spend buys.
// The zero value (Type "") is the identity. See the package documentation for the formulas.
type Response struct {
	// Type is identity, hill, log1p or power.
	Type string `yaml:"type" json:"type"`
	// EC50 is the Hill half-saturation spend (hill only, > 0).
	EC50 float64 `yaml:"ec50,omitempty" json:"ec50,omitempty"`
	// Slope is the Hill exponent (hill only, > 0, default 1). Slopes above 1 give an
	// S-shaped, non-concave curve.
	Slope float64 `yaml:"slope,omitempty" json:"slope,omitempty"`
	// Scale is the spend that doubles the argument of the logarithm (log1p only, > 0).
	Scale float64 `yaml:"scale,omitempty" json:"scale,omitempty"`
	// Exponent is the power (power only, > 0; at most 1 for a concave curve).
	Exponent float64 `yaml:"exponent,omitempty" json:"exponent,omitempty"`
	// PerDraw marks a channel's model curve whose parameters vary by draw (a saturation the
	// model estimates; Inputs.ModelResponseDraws): the parameters above are then the
	// posterior medians, for display, and every computation takes each draw's own curve.
	PerDraw bool `yaml:"-" json:"-"`
}

// check reports a response whose type or parameters a scenario could not have given.
func (r Response) check() error {
	var p problems
	p.response("response", r)
	if len(p) > 0 {
		return fmt.Errorf("%s (%s)", p[0].Msg, r)
	}
	return nil
}

// Value returns f(s), the model variable at spend s; s below 0 counts as 0.
func (r Response) Value(s float64) float64 {
	if s <= 0 {
		return 0
	}
	switch r.Type {
	case ResponseHill:
		if math.IsInf(s, 1) {
			return 1
		}
		// 1/(1 + (ec50/s)^k) is s^k/(s^k + ec50^k) without overflow for large s.
		return 1 / (1 + math.Pow(r.EC50/s, r.Slope))
	case ResponseLog1p:
		return math.Log1p(s / r.Scale)
	case ResponsePower:
		return math.Pow(s, r.Exponent)
	default:
		return s
	}
}

// Deriv returns f'(s), the change in the model variable per unit of spend at s ≥ 0. It is
// +Inf at s = 0 for a Hill slope or power exponent below 1.
func (r Response) Deriv(s float64) float64 {
	if s < 0 {
		s = 0
	}
	switch r.Type {
	case ResponseHill:
		k, e := r.Slope, r.EC50
		if s == 0 {
			return powAtZero(k, 1/e)
		}
		if math.IsInf(s, 1) {
			return 0
		}
		ratio := math.Pow(e/s, k) // (ec50/s)^k
		if ratio > 1e100 {
			// f'(s) = k/s · ratio/(1+ratio)² ≈ k/(s·ratio) = k·s^(k-1)/ec50^k, in logs.
			return k * math.Exp((k-1)*math.Log(s)-k*math.Log(e))
		}
		return k / s * ratio / ((1 + ratio) * (1 + ratio))
	case ResponseLog1p:
		return 1 / (r.Scale + s)
	case ResponsePower:
		p := r.Exponent
		if s == 0 {
			return powAtZero(p, 1)
		}
		return p * math.Pow(s, p-1)
	default:
		return 1
	}
}

// powAtZero is the derivative at 0 of a curve that starts like s^k: +Inf for k < 1, atOne
// for k = 1 and 0 for k > 1.
func powAtZero(k, atOne float64) float64 {
	switch {
	case k < 1:
		return math.Inf(1)
	case k == 1:
		return atOne
	default:
		return 0
	}
}

// linear reports whether f is a straight line through the origin (identity, or a power of 1).
func (r Response) linear() bool {
	return r.Type == "" || r.Type == ResponseIdentity || (r.Type == ResponsePower && r.Exponent == 1)
}

// concave reports whether f is concave on s ≥ 0, so that equalising marginal returns finds
// the optimum of a mean objective.
func (r Response) concave() bool {
	switch r.Type {
	case ResponseHill:
		return r.Slope <= 1
	case ResponsePower:
		return r.Exponent <= 1
	default:
		return true
	}
}

// solveDeriv returns the spend s in (lo, hi) at which f'(s) = t, given that f is concave and
// not linear and that f'(lo) > t > f'(hi). Closed forms where they exist, bisection
// otherwise (f' decreases, so the root is unique).
func (r Response) solveDeriv(t, lo, hi float64) float64 {
	var s float64
	switch {
	case r.Type == ResponseLog1p: // 1/(scale+s) = t
		s = 1/t - r.Scale
	case r.Type == ResponsePower: // p·s^(p-1) = t
		s = math.Pow(t/r.Exponent, 1/(r.Exponent-1))
	case r.Type == ResponseHill && r.Slope == 1: // ec50/(s+ec50)² = t
		s = math.Sqrt(r.EC50/t) - r.EC50
	default:
		a, b := lo, hi
		for range 2000 {
			mid := a + (b-a)/2
			if mid <= a || mid >= b {
				break
			}
			if r.Deriv(mid) > t {
				a = mid
			} else {
				b = mid
			}
		}
		s = a + (b-a)/2
	}
	return math.Min(math.Max(s, lo), hi)
}

// String formats the transform as in a scenario, e.g. "hill(ec50=100, slope=1)", or for a
// curve that varies by draw "per draw: hill(ec50=100, slope=1) at the posterior medians".
func (r Response) String() string {
	if r.PerDraw {
		m := r
		m.PerDraw = false
		return "per draw: " + m.String() + " at the posterior medians"
	}
	switch r.Type {
	case ResponseHill:
		return fmt.Sprintf("hill(ec50=%g, slope=%g)", r.EC50, r.Slope)
	case ResponseLog1p:
		return fmt.Sprintf("log1p(scale=%g)", r.Scale)
	case ResponsePower:
		return fmt.Sprintf("power(exponent=%g)", r.Exponent)
	default:
		return ResponseIdentity
	}
}
