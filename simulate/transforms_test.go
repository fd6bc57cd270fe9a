package simulate

import (
	"bytes"
	"encoding/csv"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// transformsData is a --transforms example's CSV by column, with each row's market ("" for
// the single-market example).
type transformsData struct {
	cols   map[string][]float64
	market []string
}

func readTransformsCSV(t *testing.T, ex *Example) transformsData {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(ex.CSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	d := transformsData{cols: map[string][]float64{}}
	for _, r := range recs[1:] {
		for j, h := range recs[0] {
			switch h {
			case "date":
			case "market":
				d.market = append(d.market, r[j])
			default:
				v, err := strconv.ParseFloat(r[j], 64)
				if err != nil {
					t.Fatalf("%s: %v", h, err)
				}
				d.cols[h] = append(d.cols[h], v)
			}
		}
	}
	return d
}

// naiveTransform is the model's transform of column x, rows in date order within each
// market, written out from its definition for this test: a_t = Σ_{l=0..L} w_l x_{t−l} with
// w_l = decay^l / Σ_{j=0..L} decay^j (nothing before a market's first row), then
// h(a) = a^shape / (a^shape + half^shape).
func naiveTransform(x []float64, market []string, adstock bool, decay float64, maxLag int, hill bool, half, shape float64) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		a := x[i]
		if adstock {
			num, den := 0.0, 0.0
			for l := 0; l <= maxLag; l++ {
				w := math.Pow(decay, float64(l))
				den += w
				if i-l >= 0 && (market == nil || market[i-l] == market[i]) {
					num += w * x[i-l]
				}
			}
			a = num / den
		}
		if hill {
			a = math.Pow(a, shape) / (math.Pow(a, shape) + math.Pow(half, shape))
		}
		out[i] = a
	}
	return out
}

// trueValue returns a transform parameter's true value from the truth, estimated or fixed.
func trueValue(t *testing.T, tr Truth, kind, column string) float64 {
	t.Helper()
	name := ingest.TransformParamName(kind, column)
	if v, ok := tr.Transforms[name]; ok {
		return v
	}
	if v, ok := tr.FixedTransforms[name]; ok {
		return v
	}
	t.Fatalf("truth.json has no %s", name)
	return 0
}

// residuals returns y − Xβ at the truth: the media columns transformed with the true
// parameters (from truth.json, through naiveTransform) and each market's own coefficients.
func residuals(t *testing.T, ex *Example, d transformsData) []float64 {
	t.Helper()
	tr := ex.Truth
	coef := func(term string, i int) float64 {
		if d.market != nil {
			if v, ok := tr.GroupCoefficients[term+"[market="+d.market[i]+"]"]; ok {
				return v
			}
		}
		return tr.Coefficients[term]
	}
	media := map[string][]float64{}
	for _, c := range panelMedia {
		_, hasDecay := tr.Transforms[ingest.TransformParamName(ingest.DecayParam, c)]
		mt := exampleTransforms[slices.IndexFunc(exampleTransforms, func(m mediaTransform) bool { return m.column == c })]
		decay := 0.0
		if hasDecay {
			decay = trueValue(t, tr, ingest.DecayParam, c)
		}
		media[c] = naiveTransform(d.cols[c], d.market, hasDecay, decay, mt.maxLag, true,
			trueValue(t, tr, ingest.HalfSaturationParam, c), trueValue(t, tr, ingest.ShapeParam, c))
	}
	y := d.cols["kpi_value"]
	res := make([]float64, len(y))
	for i := range y {
		fit := coef("(Intercept)", i)
		for _, c := range transformControls {
			fit += tr.Coefficients[c] * d.cols[c][i]
		}
		for _, c := range panelMedia {
			fit += coef(c, i) * media[c][i]
		}
		res[i] = y[i] - fit
	}
	return res
}

// TestTransformsExampleMatchesTruth recomputes the transformed media columns from the raw
// spend and truth.json alone and checks that the KPI minus the true linear predictor is
// noise: mean within 4 standard errors of zero and sd within 10% of noise_sd. Written
// CSVs round to 4 decimals, far below the noise.
func TestTransformsExampleMatchesTruth(t *testing.T) {
	for _, c := range []struct {
		name string
		ex   func() (*Example, error)
		rows int
	}{
		{"blm", func() (*Example, error) { return BLM(BLMOptions{Transforms: true}) }, 156},
		{"hierarchical", func() (*Example, error) { return Hierarchical(PanelOptions{Transforms: true}) }, 8 * 156},
	} {
		t.Run(c.name, func(t *testing.T) {
			ex, err := c.ex()
			if err != nil {
				t.Fatal(err)
			}
			d := readTransformsCSV(t, ex)
			if n := len(d.cols["kpi_value"]); n != c.rows {
				t.Fatalf("%d rows; want %d", n, c.rows)
			}
			res := residuals(t, ex, d)
			var mean, ss float64
			for _, r := range res {
				mean += r / float64(len(res))
			}
			for _, r := range res {
				ss += (r - mean) * (r - mean)
			}
			sd := math.Sqrt(ss / float64(len(res)-1))
			if math.Abs(sd-ex.Truth.NoiseSD)/ex.Truth.NoiseSD > 0.1 {
				t.Errorf("sd of y − Xβ at the truth = %.1f; want noise_sd %g (tol 10%%)", sd, ex.Truth.NoiseSD)
			}
			if se := ex.Truth.NoiseSD / math.Sqrt(float64(len(res))); math.Abs(mean) > 4*se {
				t.Errorf("mean of y − Xβ at the truth = %.1f; want 0 (tol %.1f)", mean, 4*se)
			}
		})
	}
}

// TestTransformsTruthIsComplete checks that truth.json names every transform parameter as
// the outputs do, that the config estimates exactly the estimated ones, and that each true
// half_saturation lies within one sdlog of its default prior's centre (the median positive
// value of the column).
func TestTransformsTruthIsComplete(t *testing.T) {
	ex, err := Hierarchical(PanelOptions{Transforms: true})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range panelMedia {
		for _, kind := range []string{ingest.DecayParam, ingest.HalfSaturationParam, ingest.ShapeParam} {
			want = append(want, ingest.TransformParamName(kind, c))
		}
	}
	slices.Sort(want)
	var got []string
	for k := range ex.Truth.Transforms {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("estimated transform parameters in truth.json = %v; want %v", got, want)
	}
	if n := strings.Count(string(ex.Config), ": estimate"); n != len(want) {
		t.Errorf("config has %d estimate values; want %d:\n%s", n, len(want), ex.Config)
	}
	if len(ex.Truth.GroupSD) != 4 || len(ex.Truth.GroupCoefficients) != 4*8 || ex.Truth.Markets != 8 {
		t.Errorf("truth: %d group scales, %d group coefficients, %d markets", len(ex.Truth.GroupSD), len(ex.Truth.GroupCoefficients), ex.Truth.Markets)
	}
	d := readTransformsCSV(t, ex)
	for _, c := range panelMedia {
		var pos []float64
		for _, v := range d.cols[c] {
			if v > 0 {
				pos = append(pos, v)
			}
		}
		slices.Sort(pos)
		med := pos[len(pos)/2]
		if len(pos)%2 == 0 {
			med = (pos[len(pos)/2-1] + med) / 2
		}
		half := trueValue(t, ex.Truth, ingest.HalfSaturationParam, c)
		if z := math.Abs(math.Log(half / med)); z > 1 {
			t.Errorf("half_saturation[%s] = %g is %.2f sdlog from its default prior centre %g", c, half, z, med)
		}
	}
	if _, err := Hierarchical(PanelOptions{Transforms: true, CRE: true}); err == nil {
		t.Error("no error for --cre with --transforms")
	}
	a, _ := BLM(BLMOptions{Transforms: true})
	b, _ := BLM(BLMOptions{Transforms: true})
	if !bytes.Equal(a.CSV, b.CSV) || !bytes.Equal(a.Config, b.Config) {
		t.Error("same seed gave different files")
	}
}

// TestTransformsExampleLoadsAtTruth loads the example's config with every estimate replaced
// by its true value, so that ingest applies the transforms: its transformed design columns
// must equal the test's own computation, and the config (data, formula, dates, transforms,
// allocation) must be valid.
func TestTransformsExampleLoadsAtTruth(t *testing.T) {
	for _, panel := range []bool{false, true} {
		var ex *Example
		var err error
		if panel {
			ex, err = Hierarchical(PanelOptions{Transforms: true})
		} else {
			ex, err = BLM(BLMOptions{Transforms: true})
		}
		if err != nil {
			t.Fatal(err)
		}
		cfg := atTruth(ex.Config)
		if strings.Contains(cfg, ": estimate") {
			t.Fatalf("estimate left in:\n%s", cfg)
		}
		dir := t.TempDir()
		ex.Config = []byte(cfg)
		if err := ex.Write(dir); err != nil {
			t.Fatal(err)
		}
		_, spec, err := ingest.Load(filepath.Join(dir, "config.yaml"))
		if err != nil {
			t.Fatalf("panel=%v: %v", panel, err)
		}
		if len(spec.Transforms) != 3 {
			t.Fatalf("panel=%v: %d transforms; want 3", panel, len(spec.Transforms))
		}
		d := readTransformsCSV(t, ex)
		for k, term := range spec.Terms {
			i := slices.IndexFunc(exampleTransforms, func(m mediaTransform) bool { return m.column == term.Name })
			if i < 0 {
				continue
			}
			mt := exampleTransforms[i]
			want := naiveTransform(d.cols[mt.column], d.market, mt.adstock, mt.decay, mt.maxLag, mt.hill, mt.half, mt.shape)
			for r, v := range spec.X[k] {
				if math.Abs(v-want[r]) > 1e-12 {
					t.Fatalf("panel=%v: ingest's %s[%d] = %v; the test computes %v", panel, term.Name, r, v, want[r])
				}
			}
		}
	}
}

// atTruth replaces every estimate in a --transforms config by the parameter's true value.
func atTruth(config []byte) string {
	lines := strings.Split(string(config), "\n")
	var mt mediaTransform
	for i, l := range lines {
		if c, ok := strings.CutSuffix(strings.TrimPrefix(l, "  "), ":"); ok && strings.HasPrefix(c, "m_") {
			mt = exampleTransforms[slices.IndexFunc(exampleTransforms, func(m mediaTransform) bool { return m.column == c })]
		}
		for _, kv := range []struct {
			key string
			v   float64
		}{{"decay", mt.decay}, {"half_saturation", mt.half}, {"shape", mt.shape}} {
			l = strings.Replace(l, " "+kv.key+": estimate", " "+kv.key+": "+strconv.FormatFloat(kv.v, 'g', -1, 64), 1)
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
