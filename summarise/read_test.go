package summarise

import (
	"math"
	"strings"
	"testing"
)

func TestReadCSVRoundTrip(t *testing.T) {
	nan := math.NaN()
	rows := []Row{
		{Parameter: "m_tv", Mean: 0.1, SD: 0.02, Q5: 0.07, Q50: 0.1, Q95: 0.13, Rhat: 1.001, ESSBulk: 1234.5, ESSTail: 987, MCSEMean: 1e-4},
		{Parameter: "m_tv[market=north]", Mean: 2, SD: nan, Q5: nan, Q50: 2, Q95: nan, Rhat: nan, ESSBulk: math.Inf(1), ESSTail: nan, MCSEMean: nan},
	}
	var b strings.Builder
	if err := WriteCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0] != rows[0] || back[1].Parameter != rows[1].Parameter || !math.IsNaN(back[1].SD) || !math.IsInf(back[1].ESSBulk, 1) {
		t.Errorf("ReadCSV(WriteCSV(rows)) = %+v; want %+v", back, rows)
	}
	for _, bad := range []string{"", "parameter,mean\n", strings.Replace(b.String(), "0.02", "x", 1)} {
		if _, err := ReadCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadCSV(%q): no error", bad)
		}
	}
}
