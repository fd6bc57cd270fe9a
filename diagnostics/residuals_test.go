package diagnostics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// chiSq4Survival is the chi-square upper tail with 4 degrees of freedom in closed form:
// P(X > q) = e^{−q/2}(1 + q/2).
func chiSq4Survival(q float64) float64 { return math.Exp(-q/2) * (1 + q/2) }

// TestLjungBox checks Q and p on series worked out by hand.
func TestLjungBox(t *testing.T) {
	// x = 1, −1, 1, −1, 1, −1, 1, −1: mean 0, Σx² = 8, and the lag-k sums are −7, 6, −5, 4
	// (n − k pairs of ±1), so r = −7/8, 6/8, −5/8, 4/8 and
	//   Q = 8·10·Σ r_k²/(8 − k) = 80·(49/7 + 36/6 + 25/5 + 16/4)/64 = 80·22/64 = 27.5,
	//   p = e^{−13.75}·14.75.
	// Shifting the series (3, 1, 3, 1, …) changes nothing: the mean is removed.
	for _, x := range [][]float64{alternating(8, 0, 1), alternating(8, 2, 1)} {
		q, p, r := LjungBox([][]float64{x}, 4)
		if !closeTo(q, 27.5, 1e-12) || !closeTo(p, chiSq4Survival(27.5), 1e-9) {
			t.Errorf("LjungBox(%v) = %v, %v; want 27.5, %v", x, q, p, chiSq4Survival(27.5))
		}
		for k, want := range []float64{-7.0 / 8, 6.0 / 8, -5.0 / 8, 4.0 / 8} {
			if !closeTo(r[k], want, 1e-12) {
				t.Errorf("LjungBox(%v) r_%d = %v; want %v", x, k+1, r[k], want)
			}
		}
	}
	// Two series 1, −1, 1, −1 pooled: N = 8, Σe² = 8; lags never cross the boundary, so the
	// lag-k sums are −6, 4, −2 over n_k = 6, 4, 2 pairs: r = −6/8, 4/8, −2/8 and
	//   Q = 80·(36/6 + 16/4 + 4/2)/64 = 80·12/64 = 15,
	// whose chi-square(3) upper tail is erfc(√(15/2)) + √(2·15/π)·e^{−15/2}.
	seg := alternating(4, 0, 1)
	q, p, _ := LjungBox([][]float64{seg, seg}, 3)
	wantP := math.Erfc(math.Sqrt(7.5)) + math.Sqrt(30/math.Pi)*math.Exp(-7.5)
	if !closeTo(q, 15, 1e-12) || !closeTo(p, wantP, 1e-9) {
		t.Errorf("LjungBox(pooled) = %v, %v; want 15, %v", q, p, wantP)
	}
	// Lag 4 has no pairs within series of 4.
	if q, p, _ := LjungBox([][]float64{seg, seg}, 4); !math.IsNaN(q) || !math.IsNaN(p) {
		t.Errorf("LjungBox with a lag longer than every series = %v, %v; want NaN", q, p)
	}
	if q, _, _ := LjungBox([][]float64{{2, 2, 2, 2, 2, 2}}, 2); !math.IsNaN(q) {
		t.Errorf("LjungBox(constant) = %v; want NaN", q)
	}
}

// TestJarqueBera checks the moments and the statistic on a two-point sample worked out by
// hand.
func TestJarqueBera(t *testing.T) {
	// Nine 0s and one 4: the two-point law with p = 0.1 has skewness (1−2p)/√(p(1−p)) = 8/3
	// and excess kurtosis (1 − 6p(1−p))/(p(1−p)) = 46/9; the sample moments (divisor n)
	// are exactly those. JB = 10/6·((8/3)² + (46/9)²/4) = 22100/972, p = e^{−JB/2}.
	x := []float64{0, 0, 0, 0, 4, 0, 0, 0, 0, 0}
	skew, kurt, jb, p := JarqueBera(x)
	wantJB := 22100.0 / 972
	if !closeTo(skew, 8.0/3, 1e-12) || !closeTo(kurt, 46.0/9, 1e-12) || !closeTo(jb, wantJB, 1e-12) || !closeTo(p, math.Exp(-wantJB/2), 1e-9) {
		t.Errorf("JarqueBera(%v) = %v, %v, %v, %v; want %v, %v, %v, %v", x, skew, kurt, jb, p, 8.0/3, 46.0/9, wantJB, math.Exp(-wantJB/2))
	}
	// A symmetric two-point sample: skewness 0, excess kurtosis 1 − 3 = −2, JB = n/6·1.
	skew, kurt, jb, _ = JarqueBera(alternating(12, 5, 1))
	if !closeTo(skew, 0, 1e-12) || !closeTo(kurt, -2, 1e-12) || !closeTo(jb, 2, 1e-12) {
		t.Errorf("JarqueBera(±1) = %v, %v, %v; want 0, −2, 2", skew, kurt, jb)
	}
	if _, _, _, p := JarqueBera([]float64{1, 1, 1}); !math.IsNaN(p) {
		t.Errorf("JarqueBera(constant) p = %v; want NaN", p)
	}
}

// residualPanel is two markets of 12 weeks each, stored newest first in market north:
// in date order north's residuals alternate (+1, −1, …), south's are a near-normal
// spread with no pattern.
func residualPanel() (*ingest.Spec, []float64) {
	south := []float64{0.3, -1.1, 0.8, 0.1, -0.4, 1.6, -0.9, 0.2, -0.2, 1.0, -1.3, 0.5}
	spec := &ingest.Spec{Groups: []ingest.Grouping{{Factor: "market", Levels: []string{"north", "south"}}}}
	var fitted []float64
	for w := range 12 { // north, newest first
		week := 11 - w
		spec.Dates = append(spec.Dates, "2024-03-"+twoDigits(week+1))
		e := 1.0
		if week%2 == 1 {
			e = -1
		}
		spec.Y = append(spec.Y, 10+2*e) // noise_sd 2
		fitted = append(fitted, 10)
		spec.Groups[0].Of = append(spec.Groups[0].Of, 0)
	}
	for w, e := range south {
		spec.Dates = append(spec.Dates, "2024-03-"+twoDigits(w+1))
		spec.Y = append(spec.Y, 5+2*e)
		fitted = append(fitted, 5)
		spec.Groups[0].Of = append(spec.Groups[0].Of, 1)
	}
	spec.N = len(spec.Y)
	return spec, fitted
}

func twoDigits(d int) string { return string([]byte{byte('0' + d/10), byte('0' + d%10)}) }

func TestResiduals(t *testing.T) {
	spec, fitted := residualPanel()
	rows := Residuals(spec, fitted, 2, ModePublish)
	var ids []string
	byID := map[string]Check{}
	for _, r := range rows {
		ids = append(ids, r.ID)
		byID[r.ID] = r
	}
	want := "residual_ljung_box,residual_ljung_box[market=north],residual_ljung_box[market=south],residual_normality,residual_normality[market=north],residual_normality[market=south]"
	if strings.Join(ids, ",") != want {
		t.Fatalf("ids = %v; want %s", ids, want)
	}
	// North, in date order, is ±1 over 12 rows: r_1..4 = −11/12, 10/12, −9/12, 8/12,
	// Q = 12·14·(121/11 + 100/10 + 81/9 + 64/8)/144 = 168·38/144 = 44.33: fails.
	north := byID["residual_ljung_box[market=north]"]
	if north.Status != StatusWarn || !closeTo(north.Value, chiSq4Survival(168.0*38/144), 1e-9) ||
		!strings.Contains(north.Message, "-0.92, 0.83, -0.75, 0.67") || !strings.Contains(north.Message, "adstock") {
		t.Errorf("north Ljung–Box = %+v", north)
	}
	if s := byID["residual_ljung_box[market=south]"]; s.Status != StatusPass {
		t.Errorf("south Ljung–Box = %+v; want pass", s)
	}
	if all := byID["residual_ljung_box"]; all.Status == StatusPass || !strings.Contains(all.Message, "pooled within 2 series") {
		t.Errorf("overall Ljung–Box = %+v; want north's pattern to show, pooled", all)
	}
	// North's ±1 has excess kurtosis −2 and JB = 12/6·1 = 2, p = e^{−1} = 0.37: passes.
	if n := byID["residual_normality[market=north]"]; n.Status != StatusPass || !closeTo(n.Value, math.Exp(-1), 1e-9) {
		t.Errorf("north normality = %+v; want pass at p = e^-1", n)
	}
	thr := byID["residual_normality"].Threshold
	if thr != "warn p < 0.05; fail p < 0.001; and |skewness| >= 0.5 or |excess kurtosis| >= 1" {
		t.Errorf("publish threshold = %q", thr)
	}
	if thr := north.Threshold; thr != "warn p × 2 groups < 0.05 (Bonferroni; a group's row never fails); and some |autocorrelation| >= 0.1" {
		t.Errorf("publish threshold of a group = %q", thr)
	}
	if got := Residuals(spec, fitted, 2, ModeExplore)[1]; got.Status != StatusWarn || got.Threshold != "warn p × 2 groups < 0.01 (Bonferroni; a group's row never fails); and some |autocorrelation| >= 0.1" {
		t.Errorf("explore north Ljung–Box = %+v; want warn (explore never fails)", got)
	}

	// Rows stored sorted by residual, not by date: in date order they show no pattern, in
	// file order (without dates) a smooth climb.
	south := []float64{0.3, -1.1, 0.8, 0.1, -0.4, 1.6, -0.9, 0.2, -0.2, 1.0, -1.3, 0.5}
	order := []int{10, 1, 6, 4, 8, 3, 7, 0, 11, 2, 9, 5} // dates of south, sorted by value
	one := &ingest.Spec{N: 12}
	for _, w := range order {
		one.Dates = append(one.Dates, "2024-03-"+twoDigits(w+1))
		one.Y = append(one.Y, south[w])
	}
	if got := Residuals(one, make([]float64, 12), 1, ModePublish)[0]; got.Status != StatusPass {
		t.Errorf("Ljung–Box in date order = %+v; want pass", got)
	}
	one.Dates = nil
	if got := Residuals(one, make([]float64, 12), 1, ModePublish)[0]; got.Status == StatusPass {
		t.Errorf("Ljung–Box in file order (sorted by value) = %+v; want warn or fail", got)
	}

	// An outlier fails normality and the message names its line.
	spec, fitted = residualPanel()
	spec.Lines = make([]int, spec.N)
	for i := range spec.Lines {
		spec.Lines[i] = i + 2
	}
	spec.Y[15] += 2 * 12 // 12 noise sds
	outlier := Residuals(spec, fitted, 2, ModePublish)
	got := outlier[5]
	if got.ID != "residual_normality[market=south]" || got.Status != StatusWarn || !strings.Contains(got.Message, "at line 17") {
		t.Errorf("south normality with an outlier = %+v; want a warning naming line 17", got)
	}
	if all := outlier[3]; all.ID != "residual_normality" || all.Status != StatusFail || !strings.Contains(all.Message, "at line 17") {
		t.Errorf("all-rows normality with an outlier = %+v; want a fail naming line 17", all)
	}
}

func TestResidualsSkipped(t *testing.T) {
	spec := &ingest.Spec{N: 5, Y: []float64{1, 2, 3, 4, 5}}
	for _, r := range Residuals(spec, []float64{1, 2, 3, 4, 4}, 1, "") {
		if r.Status != StatusSkipped || !strings.Contains(r.Message, "5 rows") {
			t.Errorf("%s on 5 rows = %+v; want skipped", r.ID, r)
		}
	}
}

// TestResidualsEffectSizeFloor checks that at a panel's pooled n (40 000 rows) the residual
// checks flag material departures only: an AR(1) with ρ = 0.03 and a skewness of about 0.2
// are significant far beyond p < 0.001 there and pass, while ρ = 0.2 and exponential noise
// (skewness 2) fail.
func TestResidualsEffectSizeFloor(t *testing.T) {
	const n = 40000
	rng := rand.New(rand.NewPCG(1, 2))
	z := make([]float64, n)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	check := func(e []float64) (ljungBox, normality Check) {
		spec := &ingest.Spec{N: n, Y: e}
		rows := Residuals(spec, make([]float64, n), 1, ModePublish)
		return rows[0], rows[1]
	}
	ar := func(rho float64) []float64 {
		e := make([]float64, n)
		for i := range e {
			e[i] = z[i]
			if i > 0 {
				e[i] += rho * e[i-1]
			}
		}
		return e
	}
	small, _ := check(ar(0.03))
	if small.Status != StatusPass || !(small.Value < 1e-3) || !strings.Contains(small.Message, "too small to matter") {
		t.Errorf("Ljung–Box, ρ = 0.03 at n = %d: %+v; want a pass with p < 0.001 and the floor named", n, small)
	}
	if large, _ := check(ar(0.2)); large.Status != StatusFail || strings.Contains(large.Message, "too small") {
		t.Errorf("Ljung–Box, ρ = 0.2 at n = %d: %+v; want fail", n, large)
	}
	skewed := make([]float64, n)
	for i, v := range z {
		skewed[i] = v + 0.035*(v*v-1) // skewness ≈ 6·0.035 = 0.21
	}
	_, slight := check(skewed)
	if slight.Status != StatusPass || !(slight.Value < 1e-3) || !strings.Contains(slight.Message, "too small to matter") {
		t.Errorf("Jarque–Bera, skewness 0.2 at n = %d: %+v; want a pass with p < 0.001 and the floor named", n, slight)
	}
	exp := make([]float64, n)
	for i := range exp {
		exp[i] = rng.ExpFloat64()
	}
	if _, strong := check(exp); strong.Status != StatusFail {
		t.Errorf("Jarque–Bera, exponential noise: %+v; want fail", strong)
	}
}

// TestGradedBonferroni checks that a group's p-value is graded after multiplying by its
// factor's group count, warning at most, and the all-rows p-value as it is.
func TestGradedBonferroni(t *testing.T) {
	pol := policies[ModePublish]
	for _, c := range []struct {
		p            float64
		family       int
		status, text string
	}{
		{0.0005, 1, StatusFail, ""},
		{0.0005, 50, StatusWarn, ", 0.025 after Bonferroni over 50 groups"},
		{0.01, 50, StatusPass, ", 0.5 after Bonferroni over 50 groups"},
		{0.03, 50, StatusPass, ", 1 after Bonferroni over 50 groups"},
		{1e-6, 50, StatusWarn, ", 5e-05 after Bonferroni over 50 groups"}, // a group's row warns at most
		{1e-6, 1, StatusFail, ""},
	} {
		if status, text := graded(c.p, c.family, pol); status != c.status || text != c.text {
			t.Errorf("graded(%v, %d) = %q, %q; want %q, %q", c.p, c.family, status, text, c.status, c.text)
		}
	}
}
