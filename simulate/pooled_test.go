package simulate

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestPooledTruth checks the pooled example against its own truth: each pooled
// coefficient is pooled_mean plus its levels' effects plus its deviation, the map lists
// the terms with their levels, the data are deterministic, and ordinary least squares on
// the written CSV lands within 4 standard errors of every true coefficient.
func TestPooledTruth(t *testing.T) {
	ex, err := Pooled(PooledOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Pooled(PooledOptions{})
	if !bytes.Equal(ex.CSV, again.CSV) {
		t.Fatal("same seed gave different data")
	}
	tr := ex.Truth
	if got := tr.Coefficients["m_tv_brand"]; got != 8+2+1+0.5 {
		t.Errorf("m_tv_brand = %v; want 11.5", got)
	}
	for _, pt := range pooledTerms {
		want := tr.Pooled["pooled_mean"] + tr.Pooled["pooled_effect[channel="+pt.channel+"]"] +
			tr.Pooled["pooled_effect[campaign="+pt.campaign+"]"] + pooledDeviation[pt.term]
		if tr.Coefficients[pt.term] != want {
			t.Errorf("%s = %v; want %v", pt.term, tr.Coefficients[pt.term], want)
		}
	}
	if m := string(ex.Extra["pooling_map.csv"]); !strings.HasPrefix(m, "term,channel,campaign\nm_tv_brand,tv,brand\n") {
		t.Errorf("pooling_map.csv =\n%s", m)
	}
	recs, err := csv.NewReader(bytes.NewReader(ex.CSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header, rows := recs[0], recs[1:]
	names := header[2:] // after date and kpi_value
	n, k := len(rows), len(names)+1
	X := mat.NewDense(n, k, nil)
	y := mat.NewVecDense(n, nil)
	for i, r := range rows {
		X.Set(i, 0, 1)
		for j := range names {
			v, _ := strconv.ParseFloat(r[j+2], 64)
			X.Set(i, j+1, v)
		}
		v, _ := strconv.ParseFloat(r[1], 64)
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
	for j, name := range append([]string{"(Intercept)"}, names...) {
		se := math.Sqrt(s2 * inv.At(j, j))
		if z := math.Abs(beta.AtVec(j)-tr.Coefficients[name]) / se; z > 4 {
			t.Errorf("OLS %s = %.3f (se %.3f); truth %.3f is %.1f se away", name, beta.AtVec(j), se, tr.Coefficients[name], z)
		}
	}
}
