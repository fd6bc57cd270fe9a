package loo

import (
	"bytes"
	"encoding/csv"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/num"
)

func TestWriteSummaryCSV(t *testing.T) {
	r := psisOf(t, withOutliers(t), 0)
	var b bytes.Buffer
	if err := WriteSummaryCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("loo_summary.csv has %d records; want header and one row", len(recs))
	}
	got := map[string]string{}
	for j, h := range recs[0] {
		got[h] = recs[1][j]
	}
	for h, want := range map[string]string{
		"elpd_loo": num.Format(r.ELPD), "se_looic": num.Format(r.LOOICSE),
		"mcse_elpd_loo": "NA", "n_obs": "156", "n_draws": "1000",
		"pareto_k_max":  num.Format(r.Pointwise[77].ParetoK),
		"pareto_k_good": "154", "pareto_k_ok": "0", "pareto_k_bad": "1", "pareto_k_very_bad": "1",
		"pareto_k_threshold": "0.6666666666666667",
	} {
		if got[h] != want {
			t.Errorf("loo_summary.csv %s = %q; want %q", h, got[h], want)
		}
	}
	if v, err := strconv.ParseFloat(got["elpd_loo"], 64); err != nil || v != r.ELPD {
		t.Errorf("elpd_loo %q does not read back as %v", got["elpd_loo"], r.ELPD)
	}
}

// TestPointwiseRoundTrip: what WritePointwiseCSV writes, ReadPointwiseCSV reads back
// exactly, totals and warnings included.
func TestPointwiseRoundTrip(t *testing.T) {
	r := psisOf(t, withOutliers(t), 0)
	labels := make([]string, r.N)
	for i := range labels {
		labels[i] = "week " + strconv.Itoa(i+1) + ", \"quoted\""
	}
	var b bytes.Buffer
	if err := WritePointwiseCSV(&b, r, labels); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if want := "obs,label,elpd_loo,mcse_elpd_loo,p_loo,looic,lpd,pareto_k,pareto_k_band,influential,n_eff,r_eff"; lines[0] != want {
		t.Errorf("header = %q; want %q", lines[0], want)
	}
	if !strings.HasSuffix(strings.SplitN(lines[78], ",", 4)[0], "78") || !strings.Contains(lines[78], ",very_bad,true,") {
		t.Errorf("row of observation 78 = %q; want it flagged very_bad and influential", lines[78])
	}
	got, gotLabels, err := ReadPointwiseCSV(&b, "loo_pointwise.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotLabels, labels) {
		t.Errorf("labels read back = %q…; want %q…", gotLabels[:2], labels[:2])
	}
	want := *r
	want.S, want.KThreshold = 0, math.NaN()
	if !reflect.DeepEqual(sanitise(got).Pointwise, want.Pointwise) || got.ELPD != want.ELPD || got.LOOICSE != want.LOOICSE ||
		got.KCounts != want.KCounts || !reflect.DeepEqual(got.Warnings, want.Warnings) || got.S != 0 || !math.IsNaN(got.KThreshold) {
		t.Errorf("read back %+v\nwant %+v", got, want)
	}
}

func TestPointwiseCSVErrors(t *testing.T) {
	r := psisOf(t, loadBLM(t), 0)
	if err := WritePointwiseCSV(&bytes.Buffer{}, r, []string{"a"}); err == nil ||
		err.Error() != "loo: loo_pointwise.csv: 1 labels for 156 observations" {
		t.Errorf("WritePointwiseCSV with 1 label: error %v", err)
	}
	for _, c := range []struct{ in, want string }{
		{"", "loo: f.csv is empty; want a header and one row per observation"},
		{"obs,elpd_loo\n1,2\n", `loo: f.csv: no column "mcse_elpd_loo"; is it a loo_pointwise.csv?`},
		{"elpd_loo,mcse_elpd_loo,p_loo,looic,pareto_k\n", "loo: f.csv has no rows; want one per observation"},
		{"elpd_loo,mcse_elpd_loo,p_loo,looic,pareto_k\n1,2,3,4,0.1\n1,2,x,4,0.1\n", `loo: f.csv:3: column "p_loo": "x" is not a number`},
	} {
		if _, _, err := ReadPointwiseCSV(strings.NewReader(c.in), "f.csv"); err == nil || err.Error() != c.want {
			t.Errorf("ReadPointwiseCSV(%q) error = %v; want %q", c.in, err, c.want)
		}
	}
}

func TestCompareErrors(t *testing.T) {
	a := psisOf(t, loadBLM(t), 0)
	short := newResult(a.Pointwise[:10], a.S)
	for _, c := range []struct {
		names []string
		rs    []*Result
		want  string
	}{
		{[]string{"a"}, []*Result{a}, "loo: compare needs at least two models"},
		{[]string{"a"}, []*Result{a, a}, "loo: compare: 1 names for 2 results"},
		{[]string{"a", "b"}, []*Result{a, nil}, `loo: compare: model "b" has no result`},
		{[]string{"a", "b"}, []*Result{a, short}, `loo: compare: model "b" has 10 observations, "a" has 156; models must be fitted to the same data rows`},
	} {
		if _, err := Compare(c.names, c.rs); err == nil || err.Error() != c.want {
			t.Errorf("Compare(%q) error = %v; want %q", c.names, err, c.want)
		}
	}
}

// TestCompareTies: equal ELPDs keep the order given, as R's order() does; every
// difference is then 0.
func TestCompareTies(t *testing.T) {
	a := psisOf(t, loadBLM(t), 0)
	cmp, err := Compare([]string{"x", "y", "z"}, []*Result{a, a, a})
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range cmp {
		if c.Name != []string{"x", "y", "z"}[j] || c.ELPDDiff != 0 || c.SEDiff != 0 {
			t.Errorf("row %d = %+v; want %s with zero differences", j, c, []string{"x", "y", "z"}[j])
		}
	}
}

// TestCompareNoObservations: with fewer than two pointwise differences se_diff is NaN (NA
// in the CSV), as sqrt(N·var(diff)) is in R, whose var of fewer than two values is NA.
func TestCompareNoObservations(t *testing.T) {
	for _, n := range []int{0, 1} {
		r := &Result{N: n, Pointwise: make([]Point, n)}
		cmp, err := Compare([]string{"x", "y"}, []*Result{r, r})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmp {
			if !math.IsNaN(c.SEDiff) {
				t.Errorf("N=%d: %s se_diff = %v; want NaN", n, c.Name, c.SEDiff)
			}
		}
	}
}
