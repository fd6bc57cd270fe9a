package codegen

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// formsInText is the sampled panel program of formsSpec as dsamstan rendered it while each
// term's parameterisation was part of the program's text (an intercept centred through
// theta_1, x partial and u non-centred as rows of z_1), with its data: the program that
// TestPanelMatchesBaseline and TestIntegratedMatchesSampled checked against the textbook
// and the integrated programs.
const formsInText = "testdata/hier_forms_in_text"

// formsSpec is a panel of 30 groups whose three group-varying terms (90 effects, so the
// sampled program) choose the three forms: the intercept centred, x partial, u (constant
// within each group) non-centred.
func formsSpec() *ingest.Spec { return ratioSpec(30, 40, 0.1) }

// TestFormsAsDataMatchFormsInText compiles today's sampled program of formsSpec, where the
// forms travel as data (centred_1), and the program that held them in its text, and checks
// with CmdStan's log_prob at random points that both give the same log density up to one
// constant and the same gradient: the centred intercept is row 1 of z_1, sampled in units
// of theta_scale_1 (theta_1 there), the partial and non-centred terms rows 2 and 3 (rows 1
// and 2 of z_1 there; non-centred is partial with theta_var infinite).
func TestFormsAsDataMatchFormsInText(t *testing.T) {
	r := cmdstanRunner(t)
	p := render(t, formsSpec())
	want := []string{Centered, Partial, Noncentered}
	for j, ch := range p.RandomEffects {
		if ch.Parameterization != want[j] {
			t.Fatalf("%s is %s; the frozen program has it %s", ch.Term, ch.Parameterization, want[j])
		}
	}
	oldData, err := os.ReadFile(formsInText + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		ThetaScale [][]float64 `json:"theta_scale_1"`
	}
	if err := json.Unmarshal(oldData, &old); err != nil {
		t.Fatal(err)
	}
	dir := compileBoth(t, r, p.Code, formsInText+".stan")
	writeJSON(t, filepath.Join(dir, "ours.json"), p.Data)
	if err := os.WriteFile(filepath.Join(dir, "naive.json"), oldData, 0o644); err != nil {
		t.Fatal(err)
	}
	var centre float64 // log_noise_sd_centre
	for _, v := range p.Data {
		if v.Name == "log_noise_sd_centre" {
			centre = v.Value.(float64)
		}
	}
	const groups, k = 30, 3
	rng := rand.New(rand.NewPCG(5, 6))
	var lp0Ours, lp0Old float64
	for i := range 6 {
		betaRaw, sd := make([]float64, k), make([]float64, k)
		for j := range k {
			betaRaw[j] = rng.NormFloat64()
			sd[j] = math.Exp(0.7 * rng.NormFloat64())
		}
		if i == 5 {
			sd[1] = 1e-6 // a partial term's scale near 0
		}
		z := make([][]float64, k) // [row][group]
		for row := range z {
			z[row] = make([]float64, groups)
			for g := range z[row] {
				z[row][g] = rng.NormFloat64()
			}
		}
		// Row 1 holds the centred intercept's coefficients, in units of theta_scale_1.
		for g := range groups {
			z[0][g] *= old.ThetaScale[0][g]
		}
		theta := z[:1]
		logNoise := centre + 0.3*rng.NormFloat64()
		oursPoint := filepath.Join(dir, "ours-point"+strconv.Itoa(i)+".json")
		oldPoint := filepath.Join(dir, "naive-point"+strconv.Itoa(i)+".json")
		writeJSON(t, oursPoint, []stanio.Var{{Name: "beta_raw", Value: betaRaw}, {Name: "sd_1", Value: sd},
			{Name: "z_1", Value: z}, {Name: "log_noise_sd", Value: logNoise}})
		writeJSON(t, oldPoint, []stanio.Var{{Name: "beta_raw", Value: betaRaw}, {Name: "sd_1", Value: sd},
			{Name: "theta_1", Value: theta}, {Name: "z_1", Value: z[1:]}, {Name: "log_noise_sd", Value: logNoise}})
		a := logProbData(t, dir, "ours", oursPoint, "ours.json", true)
		b := logProbData(t, dir, "naive", oldPoint, "naive.json", true)
		if len(a) != len(b) || len(a) != 1+2*k+k*groups+1 {
			t.Fatalf("log_prob gives %d values (forms as data) and %d (forms in text); want %d", len(a), len(b), 1+2*k+k*groups+1)
		}
		if i == 0 {
			lp0Ours, lp0Old = a[0], b[0]
		}
		if da, db := a[0]-lp0Ours, b[0]-lp0Old; math.Abs(da-db) > 1e-8*math.Max(1, math.Abs(db)) {
			t.Errorf("point %d: lp - lp(point 0) = %.12g (forms as data), %.12g (forms in text)", i, da, db)
		}
		// Unconstrained order: beta_raw, sd_1, then ours z_1 column-major (row, group);
		// the old theta_1 (one row), z_1 (two rows, column-major); log_noise_sd last.
		oldIndex := func(row, g int) int {
			if row == 0 {
				return 1 + 2*k + g
			}
			return 1 + 2*k + groups + g*2 + row - 1
		}
		for j := 1; j < len(a); j++ {
			o := j
			if u := j - 1 - 2*k; u >= 0 && u < k*groups {
				o = oldIndex(u%k, u/k)
			}
			if math.Abs(a[j]-b[o]) > 1e-7*math.Max(1, math.Abs(b[o])) {
				t.Errorf("point %d, gradient %d: %.12g (forms as data), %.12g (forms in text)", i, j, a[j], b[o])
			}
		}
	}
}
