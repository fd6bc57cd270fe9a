package summarise

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/num"
)

// TestSummarise checks each row against the single-parameter functions, the order of
// the rows, and that the number of workers does not change a single bit.
func TestSummarise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 8))
	const p = 37
	names := make([]string, p)
	cols := make([][][]float64, p)
	for j := range cols {
		names[j] = fmt.Sprintf("beta[%d]", j+1)
		cols[j] = ar1Chains(rng, 4, 201, float64(j%9)/10) // odd length on purpose
	}
	cols[5][2][17] = math.NaN()
	cols[6] = [][]float64{{3, 3, 3, 3, 3, 3, 3, 3}, {3, 3, 3, 3, 3, 3, 3, 3}}
	column := func(j int) [][]float64 { return cols[j] }

	rows := Summarise(names, column, 1)
	if len(rows) != p {
		t.Fatalf("Summarise returned %d rows; want %d", len(rows), p)
	}
	for j, r := range rows {
		c := cols[j]
		all := slices.Concat(c...)
		slices.Sort(all)
		want := Row{
			Parameter: names[j],
			Mean:      num.Mean(slices.Concat(c...)),
			SD:        math.Sqrt(num.Variance(slices.Concat(c...))),
			Q5:        Quantile(all, 0.05),
			Q50:       Quantile(all, 0.5),
			Q95:       Quantile(all, 0.95),
			Rhat:      RhatRank(c),
			ESSBulk:   ESSBulk(c),
			ESSTail:   ESSTail(c),
			MCSEMean:  MCSEMean(c),
		}
		if j == 5 { // R's quantile2 gives NA when a draw is NA
			want.Q5, want.Q50, want.Q95 = math.NaN(), math.NaN(), math.NaN()
		}
		if !sameRow(r, want) {
			t.Errorf("Summarise row %d = %+v; want %+v", j, r, want)
		}
	}
	for _, workers := range []int{0, 3, 100} {
		if got := Summarise(names, column, workers); !slices.EqualFunc(got, rows, sameRow) {
			t.Errorf("Summarise(workers=%d) differs from Summarise(workers=1)", workers)
		}
	}
	if got := Summarise(nil, column, 4); len(got) != 0 {
		t.Errorf("Summarise(no names) = %v; want no rows", got)
	}
}

// sameRow compares rows bit for bit, NaN equal to NaN.
func sameRow(a, b Row) bool {
	av := []float64{a.Mean, a.SD, a.Q5, a.Q50, a.Q95, a.Rhat, a.ESSBulk, a.ESSTail, a.MCSEMean}
	bv := []float64{b.Mean, b.SD, b.Q5, b.Q50, b.Q95, b.Rhat, b.ESSBulk, b.ESSTail, b.MCSEMean}
	return a.Parameter == b.Parameter && slices.EqualFunc(av, bv, func(x, y float64) bool {
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	})
}

func TestSummarisePanicReachesCaller(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("Summarise(unequal chains) did not panic")
		}
	}()
	Summarise([]string{"a", "b"}, func(j int) [][]float64 { return [][]float64{{1, 2, 3}, {1, 2}} }, 2)
}

func TestWriteCSV(t *testing.T) {
	rows := []Row{
		{Parameter: "sd_1[market,tv]", Mean: 0.1, SD: 1.0000000000000002, Q5: -3, Q50: 1e-300, Q95: 12345678.9, Rhat: 1.0003, ESSBulk: 1234.5, ESSTail: 987, MCSEMean: 2.5e-05},
		{Parameter: "b", Mean: math.NaN(), SD: math.Inf(1), Q5: math.Inf(-1), Q50: 0, Q95: 1, Rhat: math.NaN(), ESSBulk: math.NaN(), ESSTail: math.NaN(), MCSEMean: math.NaN()},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"parameter,mean,sd,q5,q50,q95,rhat,ess_bulk,ess_tail,mcse_mean",
		`"sd_1[market,tv]",0.1,1.0000000000000002,-3,1e-300,1.23456789e+07,1.0003,1234.5,987,2.5e-05`,
		"b,NA,Inf,-Inf,0,1,NA,NA,NA,NA",
		"",
	}, "\n")
	if got := buf.String(); got != want {
		t.Errorf("WriteCSV wrote\n%s\nwant\n%s", got, want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestWriteCSVError(t *testing.T) {
	err := WriteCSV(failingWriter{}, []Row{{Parameter: "a"}})
	if err == nil || !strings.HasPrefix(err.Error(), "summarise: ") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("WriteCSV(failing writer) error = %v; want a summarise: error wrapping disk full", err)
	}
}

// benchColumns returns p parameters of m seeded AR(1) chains of n draws, with
// autocorrelation from 0 to 0.9 across parameters.
func benchColumns(p, m, n int) [][][]float64 {
	rng := rand.New(rand.NewPCG(1, 1))
	cols := make([][][]float64, p)
	for j := range cols {
		cols[j] = ar1Chains(rng, m, n, 0.9*float64(j%10)/9)
	}
	return cols
}

// BenchmarkSummarise: 1000 parameters × 4 chains × 1000 draws, the size of a
// moderate hierarchical MMM fit.
func BenchmarkSummarise(b *testing.B) {
	const p, m, n = 1000, 4, 1000
	cols := benchColumns(p, m, n)
	names := make([]string, p)
	for j := range names {
		names[j] = fmt.Sprintf("theta[%d]", j+1)
	}
	column := func(j int) [][]float64 { return cols[j] }
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Summarise(names, column, 0)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/summary")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/p/1e3, "µs/param")
}
