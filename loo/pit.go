package loo

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dsamstan/dsamstan/internal/num"
)

// PITTable is loo_pit.csv: one row per observation, in order, with the LOO probability
// integral transform of its observed value (see PSISExpect).
type PITTable struct {
	// Factors name the grouping factors of a panel; each row has one label per factor.
	Factors []string
	Rows    []PITRow
}

// PITRow is one observation of loo_pit.csv.
type PITRow struct {
	// Row is the 1-based row of the data; Date its date ("" without a date variable);
	// Groups its label under each of PITTable.Factors.
	Row    int
	Date   string
	Groups []string
	// Y is the observed value on the model scale (log units for a log-response model), PIT
	// its LOO-PIT P(ỹ ≤ y | y_−i) in [0, 1], ParetoK the k̂ of its importance weights.
	Y, PIT, ParetoK float64
}

// PIT returns the table's LOO-PIT values in row order.
func (t *PITTable) PIT() []float64 {
	out := make([]float64, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = r.PIT
	}
	return out
}

// pitFixed are loo_pit.csv's columns after the row key.
var pitFixed = []string{"y", "pit", "pareto_k"}

// WritePITCSV writes t as 50_model_selection/loo_pit.csv. Numbers as in WriteSummaryCSV.
// Columns:
//
//	row        1-based row of the data
//	date       the row's date (empty without data.date_var)
//	<factor>   the row's group under each grouping factor of a panel
//	y          observed value on the model scale (log units for log(y) models)
//	pit        LOO-PIT: Σ_s w_s·Φ((y − μ_s)/σ_s) with the PSIS-LOO weights w_s; for a
//	           calibrated model the values look uniform on [0, 1], piled at 0 and 1 when
//	           the predictive intervals are too narrow, in the middle when too wide
//	pareto_k   k̂ of the row's importance weights (as in loo_pointwise.csv); its pit is
//	           unreliable when k̂ > 0.7
func WritePITCSV(w io.Writer, t *PITTable) error {
	header := append([]string{"row", "date"}, t.Factors...)
	header = append(header, pitFixed...)
	rows := make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		if len(r.Groups) != len(t.Factors) {
			return fmt.Errorf("loo: loo_pit.csv: row %d has %d group labels for %d factors", r.Row, len(r.Groups), len(t.Factors))
		}
		rec := append([]string{strconv.Itoa(r.Row), r.Date}, r.Groups...)
		rows[i] = append(rec, num.Format(r.Y), num.Format(r.PIT), num.Format(r.ParetoK))
	}
	return writeCSV(w, "loo_pit.csv", header, rows)
}

// ReadPITCSV reads a loo_pit.csv written by WritePITCSV.
func ReadPITCSV(rd io.Reader) (*PITTable, error) {
	cr := csv.NewReader(rd)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("loo: loo_pit.csv is empty; want a header and one row per observation")
	}
	if err != nil {
		return nil, fmt.Errorf("loo: loo_pit.csv: %w", err)
	}
	nf := len(header) - 2 - len(pitFixed)
	if nf < 0 || header[0] != "row" || header[1] != "date" || !slices.Equal(header[2+nf:], pitFixed) {
		return nil, fmt.Errorf("loo: loo_pit.csv: header %q; want row,date, the grouping factors, then y,pit,pareto_k", header)
	}
	t := &PITTable{Factors: slices.Clone(header[2 : 2+nf])}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("loo: loo_pit.csv: %w", err)
		}
		r := PITRow{Date: rec[1], Groups: slices.Clone(rec[2 : 2+nf])}
		if r.Row, err = strconv.Atoi(rec[0]); err != nil {
			return nil, fmt.Errorf("loo: loo_pit.csv:%d: column \"row\": %q is not a row number", line, rec[0])
		}
		for j, dst := range []*float64{&r.Y, &r.PIT, &r.ParetoK} {
			cell := rec[2+nf+j]
			if *dst, err = num.Parse(cell); err != nil {
				return nil, fmt.Errorf("loo: loo_pit.csv:%d: column %q: %q is not a number", line, pitFixed[j], cell)
			}
		}
		t.Rows = append(t.Rows, r)
	}
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("loo: loo_pit.csv has no rows; want one per observation")
	}
	return t, nil
}

// UniformBand is a simultaneous confidence band for the empirical CDF of N values from
// the standard uniform distribution, evaluated at Z = 0, 1/K, …, 1 (Säilynoja, Bürkner and
// Vehtari 2022, "Graphical test for discrete uniformity and its applications in
// goodness-of-fit evaluation and multiple sample comparison", Statistics and Computing 32:32;
// bayesplot's ppc_loo_pit_ecdf draws it). At each z, N·ECDF(z) of a uniform sample is
// Binomial(N, z), and the band is that binomial's central 1 − Gamma interval; Gamma, the
// pointwise level, is adjusted so that the ECDF of a uniform sample stays inside the band
// at every z with probability 1 − Alpha, which a pointwise level of Alpha would not give.
type UniformBand struct {
	N     int
	Alpha float64
	// Gamma is the adjusted pointwise level: the Alpha-quantile, over simulated uniform
	// samples, of the smallest pointwise level at which the sample's ECDF would leave the
	// band (the paper's simulation method, as bayesplot's adjust_gamma_simulate).
	Gamma float64
	// Z are the K+1 evaluation points; Lower and Upper the band's ECDF values at them, the
	// Gamma/2 and 1 − Gamma/2 quantiles of Binomial(N, z) divided by N.
	Z, Lower, Upper []float64
	lo, hi          []int // the same bounds as counts
}

// NewUniformBand returns the 1 − alpha simultaneous band for the ECDF of n uniform values
// at k+1 points 0, 1/k, …, 1, with Gamma from sims simulated samples drawn with seed (so the
// band is the same every time). k ≤ n is usual (bayesplot takes k = min(n, 1000)); sims of
// 1000 give Gamma's simultaneous coverage to about ±0.7%.
func NewUniformBand(n, k int, alpha float64, sims int, seed uint64) (*UniformBand, error) {
	if n < 1 || k < 1 || sims < 1 || !(alpha > 0 && alpha < 1) {
		return nil, fmt.Errorf("loo: uniform ECDF band: n = %d, k = %d, sims = %d, alpha = %v; need n, k, sims ≥ 1 and 0 < alpha < 1", n, k, sims, alpha)
	}
	b := &UniformBand{N: n, Alpha: alpha, Z: make([]float64, k+1)}
	for j := range b.Z {
		b.Z[j] = float64(j) / float64(k)
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	u := make([]float64, n)
	counts := make([]int, k+1)
	gammas := make([]float64, sims)
	for m := range gammas {
		for i := range u {
			u[i] = rng.Float64()
		}
		b.counts(u, counts)
		gammas[m] = minLevel(n, b.Z, counts)
	}
	b.Gamma = alphaQuantile(gammas, alpha)
	b.lo, b.hi = make([]int, k+1), make([]int, k+1)
	b.Lower, b.Upper = make([]float64, k+1), make([]float64, k+1)
	for j, z := range b.Z {
		b.lo[j], b.hi[j] = binomQuantile(b.Gamma/2, n, z), binomQuantile(1-b.Gamma/2, n, z)
		b.Lower[j], b.Upper[j] = float64(b.lo[j])/float64(n), float64(b.hi[j])/float64(n)
	}
	return b, nil
}

// counts sets c[j] to the number of u at or below Z[j].
func (b *UniformBand) counts(u []float64, c []int) {
	k := len(b.Z) - 1
	clear(c)
	for _, v := range u {
		// v ≤ j/k for every j ≥ ceil(v·k); count v at that first j, then accumulate.
		j := int(math.Ceil(v * float64(k)))
		c[min(max(j, 0), k)]++
	}
	for j := 1; j <= k; j++ {
		c[j] += c[j-1]
	}
}

// ECDF returns the empirical CDF of u at the band's points Z. u must have N values.
func (b *UniformBand) ECDF(u []float64) []float64 {
	c := make([]int, len(b.Z))
	b.counts(u, c)
	out := make([]float64, len(c))
	for j, x := range c {
		out[j] = float64(x) / float64(len(u))
	}
	return out
}

// Contains reports whether the ECDF of u (N values in [0, 1]) stays inside the band at
// every point of Z. It panics unless len(u) is N.
func (b *UniformBand) Contains(u []float64) bool {
	if len(u) != b.N {
		panic(fmt.Sprintf("loo: UniformBand.Contains: %d values for a band of N = %d", len(u), b.N))
	}
	c := make([]int, len(b.Z))
	b.counts(u, c)
	for j, x := range c {
		if x < b.lo[j] || x > b.hi[j] {
			return false
		}
	}
	return true
}

// minLevel returns the smallest pointwise level at which the counts leave the central
// binomial intervals: 2·min over the inner points z of min(P(X ≤ x), P(X ≥ x)) for
// X ~ Binomial(n, z) (the endpoints z = 0 and 1 are certain).
func minLevel(n int, z []float64, counts []int) float64 {
	g := 1.0
	for j := 1; j < len(z)-1; j++ {
		x := float64(counts[j])
		below := distuv.Binomial{N: float64(n), P: z[j]}.CDF(x)
		above := distuv.Binomial{N: float64(n), P: 1 - z[j]}.CDF(float64(n) - x) // P(X ≥ x), without cancellation
		g = math.Min(g, math.Min(below, above))
	}
	return math.Min(1, 2*g)
}

// binomQuantile returns the smallest x with P(X ≤ x) ≥ p for X ~ Binomial(n, z), as R's
// qbinom.
func binomQuantile(p float64, n int, z float64) int {
	switch {
	case z <= 0:
		return 0
	case z >= 1:
		return n
	}
	d := distuv.Binomial{N: float64(n), P: z}
	lo, hi := 0, n // P(X ≤ n) = 1 ≥ p
	for lo < hi {
		mid := (lo + hi) / 2
		if d.CDF(float64(mid)) >= p*(1-64*epsilon) { // qbinom's fuzz against rounding
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// alphaQuantile is bayesplot's alpha_quantile: the alpha-quantile of gamma (R's default,
// type 7); when it equals the (alpha + 0.001)-quantile (tied values, as the discrete levels
// give), the largest value below it, so that the band's coverage is not below 1 − alpha.
func alphaQuantile(gamma []float64, alpha float64) float64 {
	s := slices.Clone(gamma)
	slices.Sort(s)
	q := func(p float64) float64 {
		h := p * float64(len(s)-1)
		lo := int(math.Floor(h))
		if lo+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
	}
	a := q(alpha)
	if a == q(alpha+0.001) && s[0] < a {
		i, _ := slices.BinarySearch(s, a) // s[i-1] < a ≤ s[i]
		a = s[i-1]
	}
	return a
}
