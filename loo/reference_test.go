package loo

import (
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The reference values in testdata/reference.csv come from the R loo package 2.5.1
// (Debian r-cran-loo) via testdata/reference.R, whose header lists the commands that made
// the log-likelihood matrices from the project's own BLM example fit
// (testdata/genloglik, CmdStan 2.33.1).

const refTol = 1e-6

// llMatrix is a log-likelihood matrix as genloglik writes it: ll[i][c][d] for observation
// i, chain c, draw d; obs are the observation numbers from the header (ll.<obs>).
type llMatrix struct {
	obs []int
	ll  [][][]float64
}

func (m *llMatrix) loglik(i int) [][]float64 { return m.ll[i] }

// llCache holds the matrices read so far, by path: several tests share them.
var llCache sync.Map

// readLL reads a CSV (gzipped when the name ends in .gz) with columns chain, draw and one
// column per observation; chains are numbered from 1 and listed in order. Callers may
// replace columns of the result, not change their values.
func readLL(t testing.TB, path string) *llMatrix {
	t.Helper()
	if m, ok := llCache.Load(path); ok {
		m := m.(*llMatrix)
		return &llMatrix{obs: m.obs, ll: slices.Clone(m.ll)}
	}
	m := parseLL(t, path)
	llCache.Store(path, m)
	return &llMatrix{obs: m.obs, ll: slices.Clone(m.ll)}
}

func parseLL(t testing.TB, path string) *llMatrix {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r *csv.Reader
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = csv.NewReader(zr)
	} else {
		r = csv.NewReader(f)
	}
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	head := recs[0]
	m := &llMatrix{}
	for _, h := range head[2:] {
		_, num, _ := strings.Cut(h, ".")
		j, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("%s: column %q: %v", path, h, err)
		}
		m.obs = append(m.obs, j)
	}
	m.ll = make([][][]float64, len(m.obs))
	for line, rec := range recs[1:] {
		c, err := strconv.Atoi(rec[0])
		if err != nil || c < 1 {
			t.Fatalf("%s:%d: chain %q", path, line+2, rec[0])
		}
		for i := range m.obs {
			v, err := strconv.ParseFloat(rec[i+2], 64)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, line+2, err)
			}
			for len(m.ll[i]) < c {
				m.ll[i] = append(m.ll[i], nil)
			}
			m.ll[i][c-1] = append(m.ll[i][c-1], v)
		}
	}
	return m
}

// reference maps "case/quantity" to values by 1-based obs (index 0 for whole-model values).
type reference map[string]map[int]float64

func readReference(t testing.TB) reference {
	t.Helper()
	f, err := os.Open("testdata/reference.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ref := reference{}
	for _, rec := range recs[1:] {
		key := rec[0] + "/" + rec[1]
		obs := 0
		if rec[2] != "NA" {
			if obs, err = strconv.Atoi(rec[2]); err != nil {
				t.Fatal(err)
			}
		}
		v := math.NaN()
		if rec[3] != "NA" {
			if v, err = strconv.ParseFloat(rec[3], 64); err != nil {
				t.Fatal(err)
			}
		}
		if ref[key] == nil {
			ref[key] = map[int]float64{}
		}
		ref[key][obs] = v
	}
	return ref
}

func (ref reference) get(t *testing.T, key string, obs int) float64 {
	t.Helper()
	v, ok := ref[key][obs]
	if !ok {
		t.Fatalf("reference.csv has no %s for obs %d", key, obs)
	}
	return v
}

// near reports whether got and want agree to tol, absolutely or relatively (NaN and
// infinities must match exactly).
func near(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return got == want || (math.IsNaN(got) && math.IsNaN(want))
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func loadBLM(t testing.TB) *llMatrix { return readLL(t, "testdata/blm_loglik.csv.gz") }

// withOutliers returns the BLM matrix with the columns of testdata/blm_outliers.csv.gz
// put in place (observation 78 moved 10 noise sds, 40 moved 4.5).
func withOutliers(t testing.TB) *llMatrix {
	m := loadBLM(t)
	out := readLL(t, "testdata/blm_outliers.csv.gz")
	for j, obs := range out.obs {
		m.ll[obs-1] = out.ll[j]
	}
	return m
}

// checkAgainstR compares r with case cs of reference.csv.
func checkAgainstR(t *testing.T, ref reference, cs string, r *Result) {
	t.Helper()
	for _, c := range []struct {
		q   string
		got float64
	}{
		{"elpd_loo", r.ELPD}, {"se_elpd_loo", r.ELPDSE},
		{"p_loo", r.PLOO}, {"se_p_loo", r.PLOOSE},
		{"looic", r.LOOIC}, {"se_looic", r.LOOICSE},
		{"mcse_elpd_loo", r.MCSE},
	} {
		if want := ref.get(t, cs+"/"+c.q, 0); !near(c.got, want, refTol) {
			t.Errorf("%s: %s = %.12g; want %.12g (tol %g)", cs, c.q, c.got, want, refTol)
		}
	}
	for b := range 4 {
		if got, want := r.KCounts[b], ref.get(t, cs+"/k_counts", b+1); float64(got) != want {
			t.Errorf("%s: KCounts[%s] = %d; want %g", cs, BandNames[b], got, want)
		}
	}
	bad := 0
	for i, p := range r.Pointwise {
		for _, c := range []struct {
			q   string
			got float64
		}{
			{"pointwise_elpd_loo", p.ELPD}, {"pointwise_mcse_elpd_loo", p.MCSE},
			{"pointwise_p_loo", p.PLOO}, {"pointwise_looic", p.LOOIC},
			{"pareto_k", p.ParetoK}, {"n_eff", p.NEff}, {"r_eff", p.REff},
		} {
			if want := ref.get(t, cs+"/"+c.q, i+1); !near(c.got, want, refTol) {
				if bad++; bad <= 20 {
					t.Errorf("%s: observation %d: %s = %.12g; want %.12g (tol %g)", cs, i+1, c.q, c.got, want, refTol)
				}
			}
		}
	}
	if bad > 20 {
		t.Errorf("%s: %d pointwise mismatches in all", cs, bad)
	}
}

func psisOf(t testing.TB, m *llMatrix, workers int) *Result {
	t.Helper()
	r, err := PSIS(len(m.ll), m.loglik, workers)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPSISMatchesR: the BLM example's PSIS-LOO (4 chains × 250 draws × 156 observations)
// agrees with loo(ll, r_eff = relative_eff(exp(ll), chain_id)) to 1e-6 in every estimate,
// standard error, pointwise value, k̂, n_eff and r_eff.
func TestPSISMatchesR(t *testing.T) {
	ref := readReference(t)
	r := psisOf(t, loadBLM(t), 0)
	if r.N != 156 || r.S != 1000 {
		t.Fatalf("N, S = %d, %d; want 156, 1000", r.N, r.S)
	}
	checkAgainstR(t, ref, "blm", r)
	if len(r.Warnings) != 0 {
		t.Errorf("Warnings = %q; want none (every k̂ ≤ 0.5)", r.Warnings)
	}
	if want := 1 - 1/math.Log10(1000); !near(r.KThreshold, want, 1e-15) {
		t.Errorf("KThreshold = %v; want %v", r.KThreshold, want)
	}
}

// TestPSISOutliers: moving observation 78 by 10 noise sds and 40 by 4.5 (same draws, no
// refit) gives k̂ > 1 and 0.7 < k̂ ≤ 1 for them, loo's values for everything, no total
// MCSE (NA in loo), and a warning naming both.
func TestPSISOutliers(t *testing.T) {
	ref := readReference(t)
	r := psisOf(t, withOutliers(t), 3)
	checkAgainstR(t, ref, "outliers", r)
	if k := r.Pointwise[77].ParetoK; !(k > 1) {
		t.Errorf("observation 78: k̂ = %v; want > 1", k)
	}
	if k := r.Pointwise[39].ParetoK; !(k > 0.7 && k <= 1) {
		t.Errorf("observation 40: k̂ = %v; want in (0.7, 1]", k)
	}
	var flagged []int
	for i, p := range r.Pointwise {
		if p.Influential() {
			flagged = append(flagged, i+1)
		}
	}
	if fmt.Sprint(flagged) != "[40 78]" {
		t.Errorf("influential observations %v; want [40 78]", flagged)
	}
	if !math.IsNaN(r.MCSE) {
		t.Errorf("MCSE = %v; want NaN with k̂ > 0.7", r.MCSE)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "(40, 78)") || !strings.Contains(r.Warnings[0], "k > 0.7") {
		t.Errorf("Warnings = %q; want one naming observations 40 and 78 with k > 0.7", r.Warnings)
	}
}

// TestCompareMatchesR: the BLM example against the same model without m_social, as
// loo_compare ranks them: elpd_diff and se_diff to 1e-6.
func TestCompareMatchesR(t *testing.T) {
	ref := readReference(t)
	full := psisOf(t, loadBLM(t), 0)
	drop := psisOf(t, readLL(t, "testdata/blm_drop_social_loglik.csv.gz"), 0)
	checkAgainstR(t, ref, "drop_social", drop)

	// Pass the worse model first: Compare must put the better one on top.
	cmp, err := Compare([]string{"drop_social", "blm"}, []*Result{drop, full})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp) != 2 || cmp[0].Name != "blm" || cmp[1].Name != "drop_social" {
		t.Fatalf("Compare order = %+v; want blm then drop_social", cmp)
	}
	for j, c := range cmp {
		obs := map[string]int{"blm": 1, "drop_social": 2}[c.Name]
		if want := ref.get(t, "compare/elpd_diff", obs); !near(c.ELPDDiff, want, refTol) {
			t.Errorf("%s: elpd_diff = %.12g; want %.12g (tol %g)", c.Name, c.ELPDDiff, want, refTol)
		}
		if want := ref.get(t, "compare/se_diff", obs); !near(c.SEDiff, want, refTol) {
			t.Errorf("%s: se_diff = %.12g; want %.12g (tol %g)", c.Name, c.SEDiff, want, refTol)
		}
		if c.Rank != j+1 {
			t.Errorf("%s: Rank = %d; want %d", c.Name, c.Rank, j+1)
		}
	}
	if cmp[0].ELPD != full.ELPD || cmp[1].LOOICSE != drop.LOOICSE {
		t.Errorf("Compare does not carry the models' estimates: %+v", cmp)
	}
}

// TestRelEffMatchesR: relative_eff on AR(1) chains (phi 0, 0.5, 0.9, -0.3) of 101 draws,
// whose FFT length 108 differs from the draw count, as 4 chains and as 1 chain of 404
// (FFT length 405); testdata/reff_small.csv and its values come from reference.R.
func TestRelEffMatchesR(t *testing.T) {
	ref := readReference(t)
	m := readLL(t, "testdata/reff_small.csv")
	var w essWork
	for j := range m.obs {
		chains := m.ll[j]
		if got, want := w.relEff(chains), ref.get(t, "reff_small/r_eff", j+1); !near(got, want, 1e-12) {
			t.Errorf("phi #%d, 4 chains: r_eff = %.15g; want %.15g (tol 1e-12)", j+1, got, want)
		}
		var one []float64
		for _, c := range chains {
			one = append(one, c...)
		}
		if got, want := w.relEff([][]float64{one}), ref.get(t, "reff_small_1chain/r_eff", j+1); !near(got, want, 1e-12) {
			t.Errorf("phi #%d, 1 chain: r_eff = %.15g; want %.15g (tol 1e-12)", j+1, got, want)
		}
	}
}
