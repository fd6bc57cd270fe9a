package codegen

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/simulate"
)

// weakMediaSpec is the single-market example made weak where MMM data usually are: the
// search coefficient 1 instead of 15 and social 0 instead of 9, with their lower bounds
// at 0 (the example config's), and twice the noise (sd 150 plus 300 more, independent).
// Both posteriors pile up against the bound.
func weakMediaSpec(t *testing.T) *ingest.Spec {
	t.Helper()
	ex, err := simulate.BLM(simulate.BLMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(ex.CSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	kpi, search, social := col("kpi_value"), col("m_search"), col("m_social")
	rng := rand.New(rand.NewPCG(5, 5))
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, r := range recs[1:] {
		y := num(r[kpi]) - (ex.Truth.Coefficients["m_search"]-1)*num(r[search]) -
			ex.Truth.Coefficients["m_social"]*num(r[social]) + 300*rng.NormFloat64()
		r[kpi] = strconv.FormatFloat(y, 'f', 4, 64)
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	ex.CSV = buf.Bytes()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	_, spec, err := ingest.Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestFitWeakMediaAtBound fits weakMediaSpec with the program's defaults (CmdStan's
// adapt_delta 0.8, the program's metric) and three seeds: no divergent transition (Stan's
// own log transform of a bounded coefficient gave 18-40 per 4000 draws here), and the
// weak coefficients' 98% intervals hold their true values, 1 and 0 (the bound, which the
// interval must reach).
func TestFitWeakMediaAtBound(t *testing.T) {
	r := cmdstanRunner(t)
	spec := weakMediaSpec(t)
	p := render(t, spec)
	for seed := int64(1); seed <= 3; seed++ {
		res := fitProgram(t, r, p.Code, p.Data, fitOptions{metric: p.Metric, seed: seed, decode: p.Decode})
		if res.divergences != 0 {
			t.Errorf("seed %d: %d divergent transitions; want 0", seed, res.divergences)
		}
		for name, truth := range map[string]float64{"m_search": 1, "m_social": 0} {
			j := slices.Index(res.names, name)
			if j < 0 {
				t.Fatalf("no %s in %v", name, res.names)
			}
			var draws []float64
			for _, c := range res.cols[j] {
				draws = append(draws, c...)
			}
			slices.Sort(draws)
			lo, hi := draws[len(draws)/100], draws[len(draws)*99/100]
			// A true value at the bound is the interval's limit, not inside it: there the
			// interval must reach down to within 5% of its width of the bound.
			inside := lo <= truth && truth <= hi
			if truth == 0 {
				inside = lo < 0.05*hi
			}
			if !inside {
				t.Errorf("seed %d: %s's 98%% interval [%.3g, %.3g] misses its true value %g", seed, name, lo, hi, truth)
			}
			t.Logf("seed %d: %s 98%% interval [%.3g, %.3g]", seed, name, lo, hi)
		}
	}
}
