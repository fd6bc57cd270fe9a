package report

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestKDEMass: the density estimate integrates to 1, and reflection at a bound keeps the
// mass of draws piled against it inside the bound.
func TestKDEMass(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	draws := make([]float64, 2000)
	for i := range draws {
		draws[i] = math.Abs(rng.NormFloat64()) // half-normal: piled against 0
	}
	integrate := func(b bound, lo, hi float64) float64 {
		x := make([]float64, 2001)
		for i := range x {
			x[i] = lo + (hi-lo)*float64(i)/2000
		}
		d := kde(draws, x, b)
		var s float64
		for i := 1; i < len(x); i++ {
			s += (d[i] + d[i-1]) / 2 * (x[i] - x[i-1])
		}
		return s
	}
	if m := integrate(unbounded, -3, 6); math.Abs(m-1) > 0.01 {
		t.Errorf("unbounded KDE integrates to %v; want 1 (tol 0.01)", m)
	}
	bounded := bound{Lower: 0, Upper: math.Inf(1)}
	if m := integrate(bounded, 0, 6); math.Abs(m-1) > 0.01 {
		t.Errorf("KDE reflected at 0 integrates to %v over [0, 6]; want 1 (tol 0.01)", m)
	}
	if d := kde(draws, []float64{-0.1}, bounded); d[0] != 0 {
		t.Errorf("KDE below the lower bound = %v; want 0", d[0])
	}
}

func TestDateTicks(t *testing.T) {
	lo := float64(time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC).Unix())
	hi := float64(time.Date(2024, 12, 23, 0, 0, 0, 0, time.UTC).Unix())
	var got []string
	for _, tk := range (dateTicks{max: 8}).Ticks(lo, hi) {
		got = append(got, tk.Label)
	}
	want := "Jul 2022,Jan 2023,Jul 2023,Jan 2024,Jul 2024"
	if strings.Join(got, ",") != want {
		t.Errorf("ticks = %v; want %s", got, want)
	}
}

func TestNaturalCompare(t *testing.T) {
	if naturalCompare("chain_2.csv", "chain_10.csv") >= 0 || naturalCompare("chain_10.csv", "chain_2.csv") <= 0 ||
		naturalCompare("a", "a") != 0 || naturalCompare("chain_1.csv", "chain_1.stderr.txt") >= 0 {
		t.Error("naturalCompare orders chain files wrongly")
	}
}

func TestFormatCell(t *testing.T) {
	for in, want := range map[string]cell{
		"5057.559701188102":  {Text: "5058", Full: "5057.559701188102", Class: "num"},
		"156":                {Text: "156", Class: "num"},
		"NA":                 {Text: "NA"},
		"m_tv[market=north]": {Text: "m_tv[market=north]"},
		"1e-05":              {Text: "1.000e−05", Full: "1e-05", Class: "num"},
	} {
		if got := formatCell(in); got != want {
			t.Errorf("formatCell(%q) = %+v; want %+v", in, got, want)
		}
	}
}

// TestBoundaryShare checks the figures the package documentation quotes: a half-normal
// posterior piled against its bound has 2Φ(0.25·√(1−2/π)) − 1 ≈ 11.98% of its draws
// within a quarter sd of it; a normal(2, 1) truncated at the bound under 2%.
func TestBoundaryShare(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	n := 200000
	half, trunc := make([]float64, n), make([]float64, 0, n)
	for i := range half {
		half[i] = math.Abs(rng.NormFloat64())
	}
	for len(trunc) < n {
		if x := 2 + rng.NormFloat64(); x >= 0 {
			trunc = append(trunc, x)
		}
	}
	want := 2*normCDF(0.25*math.Sqrt(1-2/math.Pi)) - 1
	if got := boundaryShare(half, 0); math.Abs(got-want) > 0.005 {
		t.Errorf("half-normal share = %v; want %v (tol 0.005)", got, want)
	}
	if got := boundaryShare(trunc, 0); got < 0.01 || got > 0.02 {
		t.Errorf("truncated normal(2, 1) share = %v; want between 1%% and 2%%", got)
	}
}
