package diagnostics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// TestVIFTwoPredictors checks VIF against its closed form for two predictors:
// both have VIF 1/(1 − r²), r their sample correlation.
func TestVIFTwoPredictors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x1, x2 := make([]float64, 200), make([]float64, 200)
	for i := range x1 {
		x1[i] = rng.NormFloat64()
		x2[i] = 0.8*x1[i] + 0.6*rng.NormFloat64()
	}
	r := stat.Correlation(x1, x2, nil)
	want := 1 / (1 - r*r)
	for j, got := range VIF([][]float64{x1, x2}) {
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("VIF[%d] = %v; want %v (tol 1e-9 relative)", j, got, want)
		}
	}
}

// TestVIFCollinear: a column that is an exact combination of two others makes all three
// infinite; an unrelated fourth column stays near 1.
func TestVIFCollinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	n := 100
	cols := make([][]float64, 4)
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	for i := range n {
		cols[0][i] = rng.NormFloat64()
		cols[1][i] = rng.NormFloat64()
		cols[2][i] = cols[0][i] + 2*cols[1][i]
		cols[3][i] = rng.NormFloat64()
	}
	v := VIF(cols)
	for j := range 3 {
		if !math.IsInf(v[j], 1) {
			t.Errorf("VIF[%d] = %v; want +Inf (exact collinearity)", j, v[j])
		}
	}
	if v[3] < 1 || v[3] > 1.2 {
		t.Errorf("VIF[3] = %v; want about 1 for an unrelated column", v[3])
	}
}

func TestVIFTableRoundTrip(t *testing.T) {
	rows := []VIFRow{{Term: "trend", VIF: 1.25}, {Term: "m_tv", VIF: math.Inf(1)}, {Term: "flat", VIF: math.NaN(), Constant: true}}
	var b strings.Builder
	if err := WriteVIF(&b, rows); err != nil {
		t.Fatal(err)
	}
	if want := "term,vif,constant\ntrend,1.25,false\nm_tv,Inf,false\nflat,NA,true\n"; b.String() != want {
		t.Errorf("vif.csv =\n%s\nwant\n%s", b.String(), want)
	}
	back, err := ReadVIF(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 3 || back[0] != rows[0] || !math.IsInf(back[1].VIF, 1) || !back[2].Constant || !math.IsNaN(back[2].VIF) {
		t.Errorf("read back %+v", back)
	}
	if _, err := ReadVIF(strings.NewReader("term,vif\n")); err == nil {
		t.Error("a table without the constant column: no error")
	}
}
