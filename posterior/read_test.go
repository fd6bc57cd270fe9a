package posterior

import (
	"math"
	"strings"
	"testing"
)

func TestReadDrawsRoundTrip(t *testing.T) {
	var b strings.Builder
	cols := [][]float64{{1, 2, 3, 4}, {0.5, math.NaN(), 0.25, 0.125}}
	metrics := []DrawMetric{{R2: 0.9, RMSE: 1, SMAPE: 2}, {}, {}, {R2: 0.8}}
	if err := WriteDraws(&b, []string{"m_tv", "noise_sd"}, cols, 2, 2, metrics); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDraws(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if want := "chain,draw,m_tv,noise_sd,r2,rmse,smape"; strings.Join(d.Names, ",") != want {
		t.Errorf("names = %v; want %s", d.Names, want)
	}
	tv, ok := d.Column("m_tv")
	sd, _ := d.Column("noise_sd")
	chain, _ := d.Column("chain")
	r2, _ := d.Column("r2")
	if !ok || tv[3] != 4 || !math.IsNaN(sd[1]) || chain[2] != 2 || r2[3] != 0.8 {
		t.Errorf("read back m_tv %v noise_sd %v chain %v r2 %v", tv, sd, chain, r2)
	}
	if _, ok := d.Column("nope"); ok {
		t.Error("Column found a column that is not there")
	}
	if _, err := ReadDraws(strings.NewReader("chain,m_tv\n1,x\n")); err == nil || !strings.Contains(err.Error(), `posterior_draws.csv:2: column "m_tv"`) {
		t.Errorf("bad cell: err = %v", err)
	}
}
