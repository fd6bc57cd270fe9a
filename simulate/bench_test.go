package simulate

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// TestTextbookTransformsData builds the textbook program's data for the hierarchical
// --transforms example (loaded with its transforms fixed at the truth, so that today's
// ingest loads it) and evaluates the program's linear predictor at the truth the way the
// program does, row by row from the data alone: the residual sd must be noise_sd (10%).
func TestTextbookTransformsData(t *testing.T) {
	ex, err := Hierarchical(PanelOptions{Transforms: true})
	if err != nil {
		t.Fatal(err)
	}
	ex.Config = []byte(atTruth(ex.Config))
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	_, spec, err := ingest.Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	vars, err := TextbookTransformsData(spec)
	if err != nil {
		t.Fatal(err)
	}
	d := map[string]any{}
	for _, v := range vars {
		d[v.Name] = v.Value
	}
	n, m, g := d["N"].(int), d["M"].(int), d["G"].(int)
	if n != 8*156 || m != 3 || g != 8 || d["K"].(int) != 7 || d["J"].(int) != 4 {
		t.Fatalf("N %d, M %d, G %d, K %v, J %v", n, m, g, d["K"], d["J"])
	}
	X, Y, spend := d["X"].([][]float64), d["Y"].([]float64), d["spend"].([][]float64)
	media, varying, maxLag := d["media"].([]int), d["varying"].([]int), d["max_lag"].([]int)
	start, length := d["start"].([]int), d["len"].([]int)
	tr := ex.Truth
	b := make([]float64, len(spec.Terms))
	for k, term := range spec.Terms {
		b[k] = tr.Coefficients[term.Name]
	}
	grp := spec.Groups[0]
	var ss float64
	for s := range g {
		level := grp.Levels[grp.Of[spec.Series[s][0]]]
		for pos := range length[s] {
			row := start[s] - 1 + pos
			x := append([]float64(nil), X[row]...)
			for c := range m {
				col := spec.Terms[media[c]-1].Name
				decay := tr.Transforms[ingest.TransformParamName(ingest.DecayParam, col)]
				half := tr.Transforms[ingest.TransformParamName(ingest.HalfSaturationParam, col)]
				shape := tr.Transforms[ingest.TransformParamName(ingest.ShapeParam, col)]
				var num, den float64
				for l := 0; l <= maxLag[c]; l++ {
					w := math.Pow(decay, float64(l))
					den += w
					if l <= pos {
						num += w * spend[row-l][c]
					}
				}
				a := num / den
				x[media[c]-1] = math.Pow(a, shape) / (math.Pow(a, shape) + math.Pow(half, shape))
			}
			mu := 0.0
			for k := range b {
				mu += x[k] * b[k]
			}
			for _, k := range varying {
				name := spec.Terms[k-1].Name
				mu += (tr.GroupCoefficients[name+"[market="+level+"]"] - b[k-1]) * x[k-1]
			}
			ss += (Y[row] - mu) * (Y[row] - mu)
		}
	}
	if sd := math.Sqrt(ss / float64(n)); math.Abs(sd-tr.NoiseSD)/tr.NoiseSD > 0.1 {
		t.Errorf("residual sd of the textbook predictor at the truth = %.1f; want noise_sd %g (tol 10%%)", sd, tr.NoiseSD)
	}
	if a := d["decay_prior_a"].([]float64); a[0] != 2 {
		t.Errorf("decay_prior_a = %v; want the default beta(2, 2)", a)
	}
}
