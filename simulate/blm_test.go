package simulate

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestBLMIsDeterministic(t *testing.T) {
	a, err := BLM(BLMOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BLM(BLMOptions{Seed: 7})
	c, _ := BLM(BLMOptions{Seed: 8})
	if !bytes.Equal(a.CSV, b.CSV) {
		t.Fatal("same seed gave different data")
	}
	if bytes.Equal(a.CSV, c.CSV) {
		t.Fatal("different seeds gave the same data")
	}
}

func TestBLMRejectsTooFewWeeks(t *testing.T) {
	if _, err := BLM(BLMOptions{Weeks: 5}); err == nil {
		t.Fatal("no error for 5 weeks")
	}
}

// TestBLMTruthIsRecoverable checks the simulator against its own truth: ordinary least
// squares on the written CSV must land within 4 standard errors of every true coefficient.
// If it did not, no Bayesian fit could be expected to cover the truth either.
func TestBLMTruthIsRecoverable(t *testing.T) {
	ex, err := BLM(BLMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(ex.CSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header, rows := recs[0], recs[1:]
	if len(rows) != 156 {
		t.Fatalf("rows = %d; want 156", len(rows))
	}
	names := append([]string{"(Intercept)"}, blmTerms...)
	n, k := len(rows), len(names)
	X := mat.NewDense(n, k, nil)
	y := mat.NewVecDense(n, nil)
	col := map[string]int{}
	for j, h := range header {
		col[h] = j
	}
	for i, r := range rows {
		X.Set(i, 0, 1)
		for j, name := range blmTerms {
			v, _ := strconv.ParseFloat(r[col[name]], 64)
			X.Set(i, j+1, v)
		}
		v, _ := strconv.ParseFloat(r[col["kpi_value"]], 64)
		y.SetVec(i, v)
	}
	var qr mat.QR
	qr.Factorize(X)
	var beta mat.VecDense
	if err := qr.SolveVecTo(&beta, false, y); err != nil {
		t.Fatal(err)
	}
	var fit, res mat.VecDense
	fit.MulVec(X, &beta)
	res.SubVec(y, &fit)
	s2 := mat.Dot(&res, &res) / float64(n-k)
	var xtx, inv mat.Dense
	xtx.Mul(X.T(), X)
	if err := inv.Inverse(&xtx); err != nil {
		t.Fatal(err)
	}
	for j, name := range names {
		se := math.Sqrt(s2 * inv.At(j, j))
		truth := ex.Truth.Coefficients[name]
		if z := math.Abs(beta.AtVec(j)-truth) / se; z > 4 {
			t.Errorf("OLS %s = %.3f (se %.3f); truth %.3f is %.1f se away", name, beta.AtVec(j), se, truth, z)
		}
	}
	if s := math.Sqrt(s2); math.Abs(s-blmNoiseSD)/blmNoiseSD > 0.2 {
		t.Errorf("residual sd = %.1f; want about %d", s, blmNoiseSD)
	}
}
