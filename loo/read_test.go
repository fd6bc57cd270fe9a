package loo

import (
	"math"
	"strings"
	"testing"
)

func TestReadSummaryCSVRoundTrip(t *testing.T) {
	r := &Result{ELPD: -120.5, ELPDSE: 8.25, PLOO: 7.5, PLOOSE: 1.25, LOOIC: 241, LOOICSE: 16.5, MCSE: math.NaN(),
		N: 156, S: 4000, KThreshold: 0.7, KCounts: [4]int{150, 4, 1, 1}, Pointwise: []Point{{ParetoK: 0.2}, {ParetoK: math.Inf(1)}}}
	var b strings.Builder
	if err := WriteSummaryCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSummaryCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got.ELPD != r.ELPD || got.ELPDSE != r.ELPDSE || got.LOOICSE != r.LOOICSE || !math.IsNaN(got.MCSE) ||
		got.N != 156 || got.S != 4000 || got.KCounts != r.KCounts || got.KThreshold != 0.7 {
		t.Errorf("ReadSummaryCSV(WriteSummaryCSV(r)) = %+v; want %+v", got, r)
	}
	if _, err := ReadSummaryCSV(strings.NewReader("elpd_loo\n1\n")); err == nil {
		t.Error("a foreign table: no error")
	}
}
