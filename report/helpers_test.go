package report

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestACF: an alternating series has lag-1 autocorrelation −(n−1)/n and lag-2 (n−2)/n;
// pooling two series adds numerators and denominators, pairs never crossing series.
func TestACF(t *testing.T) {
	alt := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(1 - 2*(i%2))
		}
		return s
	}
	r, n := acf([][]float64{alt(10)}, 2)
	if n != 10 || math.Abs(r[0]+0.9) > 1e-12 || math.Abs(r[1]-0.8) > 1e-12 {
		t.Errorf("acf(alternating 10) = %v (n %d); want [-0.9 0.8] (n 10)", r, n)
	}
	r, _ = acf([][]float64{alt(4), alt(6)}, 1)
	if want := -8.0 / 10; math.Abs(r[0]-want) > 1e-12 {
		t.Errorf("pooled lag-1 = %v; want %v", r[0], want)
	}
}

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

func TestLabels(t *testing.T) {
	for _, c := range []struct {
		v, step float64
		want    string
	}{
		{12000, 2000, "12k"}, {2.5e6, 5e5, "2.5M"}, {0.25, 0.05, "0.25"}, {-1500, 500, "−1500"},
		{0, 0.1, "0"}, {1.02, 0.02, "1.02"}, {3e9, 1e9, "3B"}, {7.5, 2.5, "7.5"},
	} {
		if got := compact(c.v, c.step); got != c.want {
			t.Errorf("compact(%v, %v) = %q; want %q", c.v, c.step, got, c.want)
		}
	}
	for _, c := range []struct {
		v    float64
		n    int
		want string
	}{
		{0.98219, 3, "0.982"}, {149.345, 3, "149"}, {1234567.8, 3, "1,230,000"}, {-0.0156, 3, "−0.0156"},
		{12345, 5, "12,345"}, {2.5e-5, 2, "2.5e−05"}, {0, 3, "0"},
	} {
		if got := sig(c.v, c.n); got != c.want {
			t.Errorf("sig(%v, %d) = %q; want %q", c.v, c.n, got, c.want)
		}
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
