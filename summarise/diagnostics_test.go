package summarise

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// referenceDir holds reference data from public projects; it lives beside the repository
// (see ../../shared/reference/README.md) and is never copied into it.
const referenceDir = "../../shared/reference/diagnostics"

func skipWithoutReference(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(referenceDir); err != nil {
		t.Skip("../shared/reference not found: skipping reference-value test")
	}
}

// close reports whether got is within tol of want, relative to |want| when that
// exceeds 1 and absolute otherwise. NaN matches only NaN.
func closeTo(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// readStanCSV is a minimal reader for the old-format CmdStan CSV files of the
// reference folder: '#' lines are comments, the first other line is the header, and
// columns ending in "__" are sampler diagnostics to skip. It returns the parameter
// names and, per parameter, its draws.
func readStanCSV(t *testing.T, path string) ([]string, map[string][]float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header []string
	draws := map[string][]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		if header == nil {
			header = fields
			continue
		}
		if len(fields) != len(header) {
			t.Fatalf("%s:%d: %d fields; want %d", path, line, len(fields), len(header))
		}
		for i, s := range fields {
			if strings.HasSuffix(header[i], "__") {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s:%d: column %q: %v", path, line, header[i], err)
			}
			draws[header[i]] = append(draws[header[i]], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range header {
		if !strings.HasSuffix(h, "__") {
			names = append(names, h)
		}
	}
	return names, draws
}

// TestReferencePosterior checks every diagnostic against the values the R package
// posterior computes for the blocker example (reference_posterior.csv, from ArviZ's
// test data; see ../../shared/reference/README.md): 48 parameters, two chains each.
func TestReferencePosterior(t *testing.T) {
	skipWithoutReference(t)
	_, chain1 := readStanCSV(t, filepath.Join(referenceDir, "blocker.1.csv"))
	_, chain2 := readStanCSV(t, filepath.Join(referenceDir, "blocker.2.csv"))

	f, err := os.Open(filepath.Join(referenceDir, "reference_posterior.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}

	type stat struct {
		name string
		f    func([][]float64) float64
	}
	quantile := func(f func([][]float64, float64) float64, p float64) func([][]float64) float64 {
		return func(c [][]float64) float64 { return f(c, p) }
	}
	stats := map[string]stat{
		"rhat_rank":       {"RhatRank", RhatRank},
		"rhat_raw":        {"RhatBasic(split=false)", func(c [][]float64) float64 { return RhatBasic(c, false) }},
		"ess_bulk":        {"ESSBulk", ESSBulk},
		"ess_tail":        {"ESSTail", ESSTail},
		"ess_mean":        {"ESSMean", ESSMean},
		"ess_sd":          {"ESSSD", ESSSD},
		"ess_median":      {"ESSMedian", ESSMedian},
		"ess_raw":         {"ESSBasic(split=false)", func(c [][]float64) float64 { return ESSBasic(c, false) }},
		"ess_quantile01":  {"ESSQuantile(0.01)", quantile(ESSQuantile, 0.01)},
		"ess_quantile10":  {"ESSQuantile(0.1)", quantile(ESSQuantile, 0.1)},
		"ess_quantile30":  {"ESSQuantile(0.3)", quantile(ESSQuantile, 0.3)},
		"mcse_mean":       {"MCSEMean", MCSEMean},
		"mcse_sd":         {"MCSESD", MCSESD},
		"mcse_median":     {"MCSEMedian", MCSEMedian},
		"mcse_quantile01": {"MCSEQuantile(0.01)", quantile(MCSEQuantile, 0.01)},
		"mcse_quantile10": {"MCSEQuantile(0.1)", quantile(MCSEQuantile, 0.1)},
		"mcse_quantile30": {"MCSEQuantile(0.3)", quantile(MCSEQuantile, 0.3)},
	}
	const tol = 1e-8
	header := records[0]
	if len(records) != 49 || len(header) != 18 {
		t.Fatalf("reference_posterior.csv: %d rows × %d columns; want 49 × 18", len(records), len(header))
	}
	for _, rec := range records[1:] {
		name := rec[0]
		a, b := chain1[name], chain2[name]
		if len(a) != 1000 || len(b) != 1000 {
			t.Fatalf("%s: %d and %d draws in blocker.1.csv and blocker.2.csv; want 1000 each", name, len(a), len(b))
		}
		chains := [][]float64{a, b}
		for i, col := range header[1:] {
			s, ok := stats[col]
			if !ok {
				t.Fatalf("reference_posterior.csv: unknown column %q", col)
			}
			want, err := strconv.ParseFloat(rec[i+1], 64)
			if err != nil {
				t.Fatalf("reference_posterior.csv: %s, %s: %v", name, col, err)
			}
			if got := s.f(chains); !closeTo(got, want, tol) {
				t.Errorf("%s(%s) = %v; want %v (tol %g)", s.name, name, got, want, tol)
			}
		}
	}
}

// TestKidiq checks bulk- and tail-ESS against posteriordb's reference posterior
// kidiq-kidscore_momhsiq (10 chains × 1000 draws; values in its info.json, computed
// with posterior). Its r_hat comes from an older implementation (about 1e-6 away), so
// Rhat is only checked loosely.
func TestKidiq(t *testing.T) {
	skipWithoutReference(t)
	zr, err := zip.OpenReader(filepath.Join(referenceDir, "kidiq-kidscore_momhsiq.json.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("kidiq zip holds %d files; want 1", len(zr.File))
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var draws []map[string][]float64 // one map per chain
	if err := json.NewDecoder(rc).Decode(&draws); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(filepath.Join(referenceDir, "kidiq-kidscore_momhsiq.info.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Diagnostics struct {
			Info struct {
				Names []string `json:"names"`
			} `json:"diagnostic_information"`
			ESSBulk []float64 `json:"effective_sample_size_bulk"`
			ESSTail []float64 `json:"effective_sample_size_tail"`
			Rhat    []float64 `json:"r_hat"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	d := info.Diagnostics
	if len(draws) != 10 || len(d.Info.Names) != 4 {
		t.Fatalf("kidiq: %d chains, %d names; want 10 and 4", len(draws), len(d.Info.Names))
	}
	for i, name := range d.Info.Names {
		chains := make([][]float64, len(draws))
		for c := range draws {
			chains[c] = draws[c][name]
			if len(chains[c]) != 1000 {
				t.Fatalf("kidiq %s chain %d: %d draws; want 1000", name, c, len(chains[c]))
			}
		}
		checkRel := func(fn string, got, want, tol float64) {
			if math.Abs(got-want) > tol*math.Abs(want) {
				t.Errorf("%s(%s) = %v; want %v (tol %g)", fn, name, got, want, tol)
			}
		}
		checkRel("ESSBulk", ESSBulk(chains), d.ESSBulk[i], 1e-6)
		checkRel("ESSTail", ESSTail(chains), d.ESSTail[i], 1e-6)
		checkRel("RhatRank", RhatRank(chains), d.Rhat[i], 1e-5)
	}
}

// normalChains returns m chains of n independent standard normal draws, shifted by
// shift[c] when shift is not nil.
func normalChains(rng *rand.Rand, m, n int, shift []float64) [][]float64 {
	chains := make([][]float64, m)
	for c := range chains {
		chains[c] = make([]float64, n)
		for i := range chains[c] {
			chains[c][i] = rng.NormFloat64()
			if shift != nil {
				chains[c][i] += shift[c]
			}
		}
	}
	return chains
}

// ar1Chains returns m stationary AR(1) chains x_t = rho x_{t-1} + e_t of length n.
func ar1Chains(rng *rand.Rand, m, n int, rho float64) [][]float64 {
	chains := make([][]float64, m)
	sd := math.Sqrt(1 - rho*rho)
	for c := range chains {
		x := make([]float64, n)
		x[0] = rng.NormFloat64()
		for i := 1; i < n; i++ {
			x[i] = rho*x[i-1] + sd*rng.NormFloat64()
		}
		chains[c] = x
	}
	return chains
}

// TestIIDNormal: independent draws from one distribution have Rhat near 1 and every
// ESS near the number of draws.
func TestIIDNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const m, n = 4, 2000
	chains := normalChains(rng, m, n, nil)
	S := float64(m * n)
	// With 8 split chains of 1000 draws the sampling sd of Rhat - 1 is about 1e-3.
	for _, c := range []struct {
		name string
		got  float64
	}{
		{"RhatRank", RhatRank(chains)},
		{"RhatBasic(split)", RhatBasic(chains, true)},
		{"RhatBasic", RhatBasic(chains, false)},
	} {
		if want, tol := 1.0, 0.01; math.Abs(c.got-want) > tol {
			t.Errorf("%s(iid) = %v; want %v (tol %g)", c.name, c.got, want, tol)
		}
	}
	// ESS estimates of iid draws scatter by roughly 10% around S.
	for _, c := range []struct {
		name string
		got  float64
	}{
		{"ESSBulk", ESSBulk(chains)},
		{"ESSTail", ESSTail(chains)},
		{"ESSMean", ESSMean(chains)},
		{"ESSSD", ESSSD(chains)},
		{"ESSMedian", ESSMedian(chains)},
		{"ESSBasic", ESSBasic(chains, false)},
	} {
		if want, tol := S, 0.2; math.Abs(c.got-want) > tol*want {
			t.Errorf("%s(iid) = %v; want %v (tol %g relative)", c.name, c.got, want, tol)
		}
	}
	// MCSE of the mean of iid N(0,1) draws is 1/sqrt(S).
	if got, want, tol := MCSEMean(chains), 1/math.Sqrt(S), 0.15; math.Abs(got-want) > tol*want {
		t.Errorf("MCSEMean(iid) = %v; want %v (tol %g relative)", got, want, tol)
	}
	// MCSE of the sd of iid N(0,1) draws is about 1/sqrt(2S).
	if got, want, tol := MCSESD(chains), 1/math.Sqrt(2*S), 0.15; math.Abs(got-want) > tol*want {
		t.Errorf("MCSESD(iid) = %v; want %v (tol %g relative)", got, want, tol)
	}
	// MCSE of the median of iid N(0,1) draws is sqrt(pi/2)/sqrt(S).
	if got, want, tol := MCSEMedian(chains), math.Sqrt(math.Pi/2/S), 0.25; math.Abs(got-want) > tol*want {
		t.Errorf("MCSEMedian(iid) = %v; want %v (tol %g relative)", got, want, tol)
	}
}

// TestShiftedChains: chains centred in different places are flagged by every Rhat.
func TestShiftedChains(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	chains := normalChains(rng, 4, 1000, []float64{0, 0, 0, 1})
	if got := RhatRank(chains); !(got > 1.1) {
		t.Errorf("RhatRank(shifted) = %v; want > 1.1", got)
	}
	if got := RhatBasic(chains, false); !(got > 1.1) {
		t.Errorf("RhatBasic(shifted, false) = %v; want > 1.1", got)
	}
	// A chain whose second half drifts away is caught only by splitting.
	drift := normalChains(rng, 4, 1000, nil)
	for c := range drift {
		for i := 500; i < 1000; i++ {
			drift[c][i] += 1
		}
	}
	if got := RhatBasic(drift, true); !(got > 1.1) {
		t.Errorf("RhatBasic(drift, true) = %v; want > 1.1", got)
	}
	if got := RhatBasic(drift, false); got > 1.01 {
		t.Errorf("RhatBasic(drift, false) = %v; want < 1.01", got)
	}
	// Chains with the same centre but different scales are caught by the folded Rhat.
	scaled := normalChains(rng, 4, 1000, nil)
	for i := range scaled[3] {
		scaled[3][i] *= 3
	}
	if got := RhatRank(scaled); !(got > 1.1) {
		t.Errorf("RhatRank(scaled) = %v; want > 1.1", got)
	}
}

// TestAR1: an AR(1) chain with coefficient rho has integrated autocorrelation time
// (1+rho)/(1-rho), so ESS ≈ S(1-rho)/(1+rho).
func TestAR1(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	for _, rho := range []float64{-0.3, 0.5, 0.9} {
		const m, n = 4, 10000
		chains := ar1Chains(rng, m, n, rho)
		want := float64(m*n) * (1 - rho) / (1 + rho)
		const tol = 0.1
		for _, c := range []struct {
			name string
			got  float64
		}{
			{"ESSMean", ESSMean(chains)},
			{"ESSBulk", ESSBulk(chains)},
			{"ESSBasic", ESSBasic(chains, false)},
		} {
			if math.Abs(c.got-want) > tol*want {
				t.Errorf("%s(AR1 rho=%g) = %v; want %v (tol %g relative)", c.name, rho, c.got, want, tol)
			}
		}
	}
}

// TestEdgeCases: posterior returns NA for constant or non-finite draws and for
// too few draws; a single chain is fine.
func TestEdgeCases(t *testing.T) {
	constant := [][]float64{{2, 2, 2, 2, 2, 2, 2, 2}, {2, 2, 2, 2, 2, 2, 2, 2}}
	rng := rand.New(rand.NewPCG(1, 4))
	withInf := normalChains(rng, 2, 100, nil)
	withInf[1][7] = math.Inf(1)
	withNaN := normalChains(rng, 2, 100, nil)
	withNaN[0][3] = math.NaN()
	short := [][]float64{{1, 2, 3, 4, 5}, {2, 3, 1, 5, 4}} // split chains of 2 draws: too short for ESS
	all := map[string]func([][]float64) float64{
		"RhatRank":           RhatRank,
		"RhatBasic":          func(c [][]float64) float64 { return RhatBasic(c, true) },
		"ESSBulk":            ESSBulk,
		"ESSTail":            ESSTail,
		"ESSMean":            ESSMean,
		"ESSSD":              ESSSD,
		"ESSMedian":          ESSMedian,
		"ESSBasic":           func(c [][]float64) float64 { return ESSBasic(c, true) },
		"MCSEMean":           MCSEMean,
		"MCSESD":             MCSESD,
		"MCSEMedian":         MCSEMedian,
		"MCSEQuantile(0.05)": func(c [][]float64) float64 { return MCSEQuantile(c, 0.05) },
	}
	for name, f := range all {
		for what, chains := range map[string][][]float64{"constant": constant, "inf": withInf, "nan": withNaN, "empty": nil} {
			if got := f(chains); !math.IsNaN(got) {
				t.Errorf("%s(%s) = %v; want NaN", name, what, got)
			}
		}
	}
	for _, name := range []string{"ESSBulk", "ESSMean", "ESSBasic", "ESSTail"} {
		if got := all[name](short); !math.IsNaN(got) {
			t.Errorf("%s(5 draws per chain) = %v; want NaN", name, got)
		}
	}
	if got := RhatBasic(short, true); math.IsNaN(got) {
		t.Errorf("RhatBasic(5 draws per chain, true) = NaN; want a number")
	}

	one := normalChains(rng, 1, 2000, nil)
	for name, f := range all {
		if got := f(one); math.IsNaN(got) || got <= 0 {
			t.Errorf("%s(one chain) = %v; want a positive number", name, got)
		}
	}
	if got := RhatBasic(one, false); !math.IsNaN(got) {
		t.Errorf("RhatBasic(one chain, false) = %v; want NaN (no between-chain variance)", got)
	}
}

func TestUnequalChainsPanic(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("RhatRank(unequal chains) did not panic")
		}
	}()
	RhatRank([][]float64{{1, 2, 3, 4}, {1, 2, 3}})
}

// TestOddLengthChains: posterior drops the middle draw of odd-length chains before
// splitting, so the split-chain diagnostics that do not look at all draws equal
// those of the chains without their middle draw.
func TestOddLengthChains(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 5))
	odd := ar1Chains(rng, 3, 1001, 0.5)
	even := make([][]float64, len(odd))
	for c, x := range odd {
		even[c] = slices.Delete(slices.Clone(x), 500, 501)
	}
	for _, c := range []struct {
		name      string
		f         func([][]float64) float64
		got, want float64
	}{
		{name: "ESSBulk", f: ESSBulk},
		{name: "ESSMean", f: ESSMean},
		{name: "RhatBasic(split)", f: func(c [][]float64) float64 { return RhatBasic(c, true) }},
	} {
		got, want := c.f(odd), c.f(even)
		if !closeTo(got, want, 1e-12) {
			t.Errorf("%s(odd) = %v; want %v (tol %g)", c.name, got, want, 1e-12)
		}
	}
	// The folded Rhat uses the median of all draws, so it differs, but not much.
	if got, want := RhatRank(odd), RhatRank(even); !closeTo(got, want, 1e-3) {
		t.Errorf("RhatRank(odd) = %v; want %v (tol %g)", got, want, 1e-3)
	}
}

// TestRanks checks the shared-sort rank normalisation against its definition: R's
// rank(ties.method = "average") on the split draws and on the draws folded around
// their median, computed here the slow way, on data with many ties and both signs.
func TestRanks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 6))
	chains := make([][]float64, 3)
	for c := range chains {
		chains[c] = make([]float64, 41)
		for i := range chains[c] {
			chains[c][i] = float64(rng.IntN(15)-7) / 4 // ties, zero, and values symmetric about the median
		}
	}
	chains[1][4] = math.Copysign(0, -1) // -0 ties with 0
	var w workspace
	w.load(chains)
	w.ranks()

	avgRank := func(x []float64) []float64 {
		r := make([]float64, len(x))
		for i, v := range x {
			less, equal := 0, 0
			for _, u := range x {
				if u < v {
					less++
				} else if u == v {
					equal++
				}
			}
			r[i] = float64(less) + float64(equal+1)/2
		}
		return r
	}
	S := float64(len(w.xs))
	all := slices.Concat(chains...)
	slices.Sort(all)
	med := all[len(all)/2] // odd count
	folded := make([]float64, len(w.xs))
	for i, v := range w.xs {
		folded[i] = math.Abs(v - med)
	}
	for _, c := range []struct {
		name string
		x    []float64
		got  []float64
	}{{"bulk", w.xs, w.zBulk}, {"folded", folded, w.zFold}} {
		for i, r := range avgRank(c.x) {
			want := mathext.NormalQuantile((r - 3.0/8) / (S + 0.25))
			if c.got[i] != want {
				t.Errorf("%s z[%d] = %v; want %v (rank %v of %v)", c.name, i, c.got[i], want, r, S)
			}
		}
	}
}

func TestArgsort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 7))
	x := make([]float64, 3000)
	for i := range x {
		switch i % 5 {
		case 0:
			x[i] = rng.NormFloat64() * 1e-300
		case 1:
			x[i] = float64(rng.IntN(5) - 2)
		default:
			x[i] = rng.NormFloat64() * 1e3
		}
	}
	x[1] = math.Inf(-1)
	x[2] = math.Inf(1)
	var s argsorter
	vals, idx := s.sort(x, make([]float64, len(x)))
	want := slices.Clone(x)
	slices.Sort(want)
	if !slices.Equal(vals, want) {
		t.Fatal("argsort values are not sorted")
	}
	for i, j := range idx {
		if x[j] != vals[i] {
			t.Fatalf("argsort index %d = %d points at %v; want %v", i, j, x[j], vals[i])
		}
	}
}

// BenchmarkDiagnostics times RhatRank, ESSBulk and ESSTail of one parameter through
// the exported functions.
func BenchmarkDiagnostics(b *testing.B) {
	for _, size := range []struct {
		name string
		m, n int
	}{{"Small", 4, 100}, {"Medium", 4, 1000}, {"Large", 4, 10000}} {
		b.Run(size.name, func(b *testing.B) {
			chains := benchColumns(1, size.m, size.n)[0]
			b.ReportAllocs()
			for b.Loop() {
				RhatRank(chains)
				ESSBulk(chains)
				ESSTail(chains)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/param")
		})
	}
}

// TestAutocovariancePaths: the lags summed directly and the lags from the FFT are the
// same numbers up to rounding, so the switch between them never shows in an ESS.
func TestAutocovariancePaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	for _, n := range []int{7, 100, 333, 1000} {
		chains := ar1Chains(rng, 3, n, 0.7)
		x := slices.Concat(chains...)
		var w workspace
		w.centre(x, 3, n)
		direct := make([]float64, n)
		for lag := range direct {
			direct[lag] = w.ac.LagSum(lag) / float64(3*n)
		}
		w.fftAutocovariance()
		for lag, want := range direct {
			if got, tol := w.acov[lag], 1e-12; math.Abs(got-want) > tol*direct[0] {
				t.Fatalf("n=%d: FFT autocovariance at lag %d = %v; direct sum %v (tol %g)", n, lag, got, want, tol)
			}
		}

		saved := directLagFactor
		directLagFactor = 0 // FFT for every lag, as posterior
		fftOnly := []float64{ESSMean(chains), ESSBulk(chains), ESSTail(chains)}
		directLagFactor = 1e6 // direct sums for every lag
		directOnly := []float64{ESSMean(chains), ESSBulk(chains), ESSTail(chains)}
		directLagFactor = saved
		for i, name := range []string{"ESSMean", "ESSBulk", "ESSTail"} {
			if !closeTo(directOnly[i], fftOnly[i], 1e-12) {
				t.Errorf("n=%d: %s with direct sums = %v; with FFT %v (tol %g)", n, name, directOnly[i], fftOnly[i], 1e-12)
			}
		}
	}
}

// BenchmarkAutocovariance compares one directly summed lag with all lags by FFT for
// 8 split chains (4 chains of 2n draws), to set directLagFactor: the FFT should cost
// about directLagFactor*log2(2n) direct lags.
func BenchmarkAutocovariance(b *testing.B) {
	for _, n := range []int{50, 500, 5000} {
		x := slices.Concat(benchColumns(1, 8, n)[0]...)
		var w workspace
		w.centre(x, 8, n)
		var lagNs float64
		b.Run(fmt.Sprintf("lag/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				w.ac.LagSum(3)
			}
			lagNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
		b.Run(fmt.Sprintf("fft/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				w.acov = w.acov[:0]
				w.fftAutocovariance()
			}
			fftNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(fftNs/lagNs/math.Log2(float64(2*n)), "lags/log2(2n)")
		})
	}
}

// TestExtremeQuantiles: p = 0 and p = 1 are allowed; posterior moves p = 1 to
// (S - 1/2)/S for the indicator, and the MCSE then spans the largest draws.
func TestExtremeQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 10))
	chains := normalChains(rng, 4, 500, nil)
	for _, p := range []float64{0, 1} {
		if got := ESSQuantile(chains, p); math.IsNaN(got) || got <= 0 {
			t.Errorf("ESSQuantile(iid, %v) = %v; want a positive number", p, got)
		}
		if got := MCSEQuantile(chains, p); math.IsNaN(got) || got < 0 {
			t.Errorf("MCSEQuantile(iid, %v) = %v; want a non-negative number", p, got)
		}
	}
}

// TestConcurrentUse runs the pooled single-parameter functions from several
// goroutines at once (meaningful under -race) and checks they agree.
func TestConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 11))
	small, large := ar1Chains(rng, 4, 100, 0.3), ar1Chains(rng, 2, 1500, 0.6)
	want := [2]float64{ESSBulk(small), ESSBulk(large)}
	errs := make(chan string, 8)
	for g := range 8 {
		go func() {
			for i := range 20 {
				c, k := small, 0
				if (g+i)%2 == 1 {
					c, k = large, 1
				}
				if got := ESSBulk(c); got != want[k] {
					errs <- fmt.Sprintf("ESSBulk(chains %d) = %v concurrently; want %v", k, got, want[k])
					return
				}
			}
			errs <- ""
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
