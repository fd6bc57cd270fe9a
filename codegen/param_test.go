package codegen

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// ratioSpec simulates groups of n rows, y = a_g + b_g·x + c·u + e with e ~ N(0, 1),
// x ~ N(0, 1) within each group, a_g ~ N(0, 3²) and b_g ~ N(1, tau²): the slope's
// per-group sampling variance is about 1/n, so its information ratio is about tau²·n.
// u is constant within each group, like a CRE mean. Scaling is the identity.
func ratioSpec(groups, n int, tau float64) *ingest.Spec {
	rng := rand.New(rand.NewPCG(7, uint64(groups)))
	s := &ingest.Spec{Name: "ratio", Response: "y", Scale: false}
	var of []int
	var one, x, u, y []float64
	for g := range groups {
		a, b, ug := 3*rng.NormFloat64(), 1+tau*rng.NormFloat64(), rng.NormFloat64()
		for range n {
			xi := rng.NormFloat64()
			of, one, x, u = append(of, g), append(one, 1), append(x, xi), append(u, ug)
			y = append(y, a+b*xi+0.5*ug+rng.NormFloat64())
		}
	}
	s.N, s.Y = len(y), y
	for _, t := range []struct {
		name string
		col  []float64
	}{{ingest.InterceptName, one}, {"x", x}, {"u", u}} {
		s.Terms = append(s.Terms, ingest.Term{Name: t.name, Intercept: t.name == ingest.InterceptName})
		s.X = append(s.X, t.col)
		s.Priors = append(s.Priors, ingest.Prior{Mean: 0, SD: 10})
		s.Bounds = append(s.Bounds, ingest.Unbounded)
	}
	levels := make([]string, groups)
	for g := range levels {
		levels[g] = string(rune('a'+g%26)) + strings.Repeat("x", g/26)
	}
	s.Groups = []ingest.Grouping{{Factor: "g", Index: 1, Levels: levels, Of: of, Terms: []int{0, 1, 2}, Independent: true,
		SDPriors: []ingest.Prior{{SD: 3}, {SD: 1}, {SD: 1}}}}
	s.Scaling = identityScaling(3)
	s.NoiseSD = ingest.NoisePrior{Family: ingest.NoiseNormal, SD: 2}
	return s
}

// TestGroupInfo checks the method-of-moments figures against the simulation's truth:
// with 400 groups of 40 rows, the slope's sampling variance is about 1/40 and the
// between-group variance tau²; the CRE-like column cannot be estimated within a group.
func TestGroupInfo(t *testing.T) {
	for _, tau := range []float64{0.1, 0.3, 1} {
		s := ratioSpec(400, 40, tau)
		x, y := standardise(s)
		info := groupInfo(&s.Groups[0], x, y)
		slope := info[1]
		// E[1/Σx²] for 40 N(0,1) values is 1/38 (inverse chi-square); sigma² = 1.
		if relErr(slope.v, 1.0/38) > 0.1 {
			t.Errorf("tau %g: mean sampling variance %.4g; want about 1/38 (tol 10%%)", tau, slope.v)
		}
		// var(d_g) - v estimates tau² with sd about sqrt(2/399)·(tau² + v).
		tol := 4 * math.Sqrt(2.0/399) * (tau*tau + 1.0/38)
		if got := slope.ratio() * slope.v; math.Abs(got-tau*tau) > tol {
			t.Errorf("tau %g: between-group variance %.4g; want %.4g ± %.2g", tau, got, tau*tau, tol)
		}
		if lo := slope.lowerRatio(); !(lo < slope.ratio()) && slope.ratio() > 0 {
			t.Errorf("tau %g: lower bound %g not below the estimate %g", tau, lo, slope.ratio())
		}
		if info[2].groups != 0 {
			t.Errorf("a column constant within groups was estimated in %d groups", info[2].groups)
		}
		if info[0].groups != 400 || info[1].groups != 400 {
			t.Errorf("intercept and slope estimated in %d and %d of 400 groups", info[0].groups, info[1].groups)
		}
	}
}

func TestChooseParameterization(t *testing.T) {
	for _, tc := range []struct {
		name      string
		groups, n int
		tau       float64
		param     string
		want      []string // intercept, x, u
	}{
		// Slope ratio about 0.3² · 40 = 3.6: clearly not pinned down with 8 groups.
		{"weak slope", 8, 40, 0.3, "", []string{Centered, Partial, Noncentered}},
		// About 40 and 400.
		{"strong slope", 8, 40, 1, "", []string{Centered, Centered, Noncentered}},
		{"many groups", 50, 40, 1, "", []string{Centered, Centered, Noncentered}},
		{"tiny slope spread", 50, 40, 0.01, "", []string{Centered, Partial, Noncentered}},
		{"forced centred", 8, 40, 0.3, Centered, []string{Centered, Centered, Centered}},
		{"forced non-centred", 8, 40, 1, Noncentered, []string{Noncentered, Noncentered, Noncentered}},
	} {
		s := ratioSpec(tc.groups, tc.n, tc.tau)
		s.Parameterization = tc.param
		x, y := standardise(s)
		kinds, _, choices := chooseParameterization(s, &s.Groups[0], x, y)
		for j := range kinds {
			if kinds[j] != tc.want[j] || choices[j].Parameterization != tc.want[j] {
				t.Errorf("%s: %s is %s; want %s (%s)", tc.name, choices[j].Term, kinds[j], tc.want[j], choices[j].Reason)
			}
		}
		if tc.param == "" && !strings.Contains(choices[2].Reason, "groups can estimate u from their own rows") {
			t.Errorf("%s: reason for u = %q", tc.name, choices[2].Reason)
		}
	}
	// Correlated factors choose the same way.
	s := ratioSpec(8, 40, 0.3)
	s.Groups[0].Independent = false
	x, y := standardise(s)
	if kinds, _, _ := chooseParameterization(s, &s.Groups[0], x, y); kinds[1] != Partial {
		t.Errorf("correlated weak slope is %s; want %s", kinds[1], Partial)
	}
}

// TestProgramIndependentOfData: automatically, datasets of one structure whose groups'
// own fits choose different forms (the slope centred or partial; u, which no group can
// estimate, non-centred) render the same program text, so the second compiles nothing;
// so do correlated effects, and a forced form.
func TestProgramIndependentOfData(t *testing.T) {
	for _, c := range []struct {
		name       string
		correlated bool
		param      string
	}{{"independent", false, ""}, {"correlated", true, ""}, {"forced centred", false, Centered}} {
		var first []byte
		kinds := map[string]bool{}
		for _, tau := range []float64{0.01, 0.1, 1, 3} {
			s := ratioSpec(30, 40, tau)
			s.Groups[0].Independent = !c.correlated
			s.Parameterization = c.param
			p, err := Render(context.Background(), nil, s)
			if err != nil {
				t.Fatal(err)
			}
			if p.Template != HierTemplate {
				t.Fatalf("%s, slope scale %g: template %s; want the sampled program %s", c.name, tau, p.Template, HierTemplate)
			}
			var forms []string
			for _, ch := range p.RandomEffects {
				forms = append(forms, ch.Parameterization)
			}
			kinds[strings.Join(forms, ",")] = true
			if first == nil {
				first = p.Code
			} else if !bytes.Equal(p.Code, first) {
				t.Errorf("%s: slope scale %g (forms %v) renders another program than slope scale 0.01", c.name, tau, forms)
			}
		}
		if c.name == "independent" && len(kinds) < 2 {
			t.Errorf("the slope scales chose the same forms %v; the test needs datasets that choose differently", kinds)
		}
	}
}

// TestChoiceReasonInCoefficientUnits checks that a choice's reason reports the group
// scale the groups' own fits imply in the coefficient's units, whatever the sampler's
// scaling: the simulated slope scale is 1 (400 groups of 40 rows), the sampler sees y/10
// and x/2.
func TestChoiceReasonInCoefficientUnits(t *testing.T) {
	for _, sc := range []ingest.Scaling{identityScaling(3), {YScale: 10, XScale: []float64{1, 2, 1}}} {
		s := ratioSpec(400, 40, 1)
		s.Scaling = sc
		x, y := standardise(s)
		_, _, choices := chooseParameterization(s, &s.Groups[0], x, y)
		reason := choices[1].Reason
		var tau float64
		i := strings.Index(reason, "puts the group scale at ")
		if i < 0 {
			t.Fatalf("scaling %+v: reason %q gives no group scale", sc, reason)
		}
		if _, err := fmt.Sscanf(reason[i+len("puts the group scale at "):], "%g", &tau); err != nil {
			t.Fatalf("reason %q: %v", reason, err)
		}
		// The estimate's sd is about sqrt(2/399)·(tau² + v)/(2 tau) ≈ 0.036.
		if math.Abs(tau-1) > 0.15 {
			t.Errorf("scaling %+v: reason puts the slope's group scale at %g; the truth is 1 (%s)", sc, tau, reason)
		}
		if !strings.HasPrefix(reason, "auto: centred: the 400 groups' own least-squares estimates of x") {
			t.Errorf("reason %q", reason)
		}
	}
	s := ratioSpec(8, 40, 0.01)
	x, y := standardise(s)
	_, _, choices := chooseParameterization(s, &s.Groups[0], x, y)
	if r := choices[1].Reason; !strings.Contains(r, "sd_1[x]") || !strings.Contains(r, "forces a form") {
		t.Errorf("partial reason %q does not name the scale and how to force a form", r)
	}
}
