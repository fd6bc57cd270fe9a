package codegen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// TestDecodeRoundTrip picks, for every panel golden case, the values users would see
// (population coefficients, group scales, correlations, every group's coefficients and
// noise_sd), works out by hand the Stan parameters that produce them (inverting each
// parameterisation: centred, partial, non-centred, the intercept's shear, the Cholesky
// blocks of correlated effects) and checks that Decode gives the values back in
// original units, under the names users see.
func TestDecodeRoundTrip(t *testing.T) {
	for _, c := range goldenCases() {
		if len(c.spec.Groups) == 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			p := render(t, c.spec)
			rng := rand.New(rand.NewPCG(5, 5))
			const draws = 3
			want := map[string][]float64{}
			cols := map[string][]float64{}
			set := func(col string, i int, v float64) {
				if cols[col] == nil {
					cols[col] = make([]float64, draws)
				}
				cols[col][i] = v
			}
			lay := p.hier
			k := len(lay.terms)
			for i := range draws {
				// Population coefficients b and noise, on the sampler's scale.
				b := make([]float64, k)
				for j := range b {
					b[j] = rng.NormFloat64()
					if c.spec.Bounds[j].Lower == 0 {
						b[j] = math.Abs(b[j])
					}
					want[lay.terms[j]] = append(want[lay.terms[j]], lay.shift[j]+lay.scale[j]*b[j])
				}
				beta := slices.Clone(b)
				if lay.xMean != nil { // b_I = beta_I - x_mean·beta
					for j, m := range lay.xMean {
						beta[lay.intercept] += m * b[j]
					}
				}
				for j, v := range beta { // sampled in units of betaScale
					set(fmt.Sprintf("beta.%d", j+1), i, v/lay.betaScale[j])
				}
				noise := 0.1 + rng.Float64()
				set("log_noise_sd", i, math.Log(noise))
				want["noise_sd"] = append(want["noise_sd"], c.spec.Scaling.YScale*noise)
				for _, fl := range lay.factors {
					invertFactor(t, rng, c.spec, &fl, b, i, set, want)
				}
				if lay.integrated != nil && lay.integrated.tr != nil {
					for _, prm := range lay.integrated.tr.params {
						v := 0.1 + 0.8*rng.Float64()
						set(prm.Column, i, v)
						want[prm.Name] = append(want[prm.Name], prm.Scale*v)
					}
				}
			}
			ch := &stanio.Chain{Path: "fake.csv"}
			for name, v := range cols {
				ch.Columns = append(ch.Columns, name)
				ch.Draws = append(ch.Draws, v)
			}
			names, got, err := p.Decode(ch)
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != len(want) {
				t.Errorf("Decode gives %d parameters; want %d", len(names), len(want))
			}
			for j, name := range names {
				w, ok := want[name]
				if !ok {
					t.Errorf("Decode gives %q, which is not a parameter of the model", name)
					continue
				}
				for i := range w {
					if math.IsNaN(w[i]) {
						continue
					}
					if math.Abs(got[j][i]-w[i]) > 1e-9*math.Max(1, math.Abs(w[i])) {
						t.Errorf("%s, draw %d: Decode gives %v; want %v", name, i, got[j][i], w[i])
					}
				}
			}
			// Order: population, scales, correlations, group coefficients, noise_sd, transform
			// parameters.
			last := len(names) - 1
			if lay.integrated != nil && lay.integrated.tr != nil {
				last -= len(lay.integrated.tr.params)
			}
			if names[0] != lay.terms[0] || names[last] != "noise_sd" || !strings.HasPrefix(names[k], "sd_1[") {
				t.Errorf("Decode order = %v", names)
			}

			// A chain without one of the program's columns is an error that names it.
			ch.Columns[0] = "other"
			if _, _, err := p.Decode(ch); err == nil || !strings.Contains(err.Error(), "fake.csv has no column") {
				t.Errorf("Decode of a foreign chain: %v", err)
			}
		})
	}
}

// invertFactor draws factor fl's scales, correlation and group coefficients for draw i,
// records what users see in want and sets the Stan columns that give them.
func invertFactor(t *testing.T, rng *rand.Rand, spec *ingest.Spec, fl *factorLayout, b []float64, i int,
	set func(string, int, float64), want map[string][]float64) {
	jn, f := len(fl.terms), fl.index
	sd := make([]float64, jn)
	for j, term := range fl.terms {
		sd[j] = 0.05 + rng.Float64()
		set(fmt.Sprintf("sd_%d.%d", f, j+1), i, sd[j])
		name := ingest.GroupScaleName(f, spec.Terms[term].Name)
		want[name] = append(want[name], scaleOf(spec, term)*sd[j])
	}
	// A random correlation matrix's Cholesky factor, in L's order (fl.perm).
	l := randomCorrCholesky(rng, jn)
	if fl.correlated {
		for a := range l {
			for c := 0; c <= a; c++ {
				set(fmt.Sprintf("L_%d.%d.%d", f, a+1, c+1), i, l[a][c])
			}
		}
	}
	if fl.correlated {
		pos := make([]int, jn)
		for p, j := range fl.perm {
			pos[j] = p
		}
		for a := range jn {
			for c := a + 1; c < jn; c++ {
				r := 0.0
				for m := range jn {
					r += l[pos[a]][m] * l[pos[c]][m]
				}
				name := fmt.Sprintf("cor_%d[%s,%s]", f, spec.Terms[fl.terms[a]].Name, spec.Terms[fl.terms[c]].Name)
				want[name] = append(want[name], r)
			}
		}
	}
	for g, level := range fl.levels {
		// The group's coefficients: b, with the varying terms moved.
		if fl.kind[0] == Integrated { // drawn by Decode: TestDecodeIntegrated checks them
			for _, term := range fl.terms {
				name := GroupCoefficientName(spec.Terms[term].Name, fl.factor, level)
				want[name] = append(want[name], math.NaN())
			}
			continue
		}
		coef := slices.Clone(b)
		for _, term := range fl.terms {
			coef[term] = b[term] + 0.3*rng.NormFloat64()
			name := GroupCoefficientName(spec.Terms[term].Name, fl.factor, level)
			shift, scale := coefScale(spec, term)
			want[name] = append(want[name], shift+scale*coef[term])
		}
		z := func(j int, v float64) { set(fmt.Sprintf("z_%d.%d.%d", f, fl.row[j]+1, g+1), i, v) }
		theta := func(j int, v float64) { set(fmt.Sprintf("theta_%d.%d.%d", f, fl.row[j]+1, g+1), i, v) }
		if fl.unified { // a centred term's coefficients are its row of z
			theta = z
		}
		// alpha is the intercept at the group's predictor means; mu its prior mean there.
		alphaMu := func(at []float64) (alpha, mu float64) {
			t0 := fl.terms[fl.shear]
			alpha, mu = coef[t0], b[t0]
			for c, m := range fl.xMean[g] {
				if c != t0 {
					alpha += m * at[c]
					mu += m * at[c]
				}
			}
			return alpha, mu
		}
		if !fl.correlated {
			for j, term := range fl.terms {
				switch {
				case j == fl.shear:
					alpha, mu := alphaMu(coef)
					if fl.kind[j] == Centered {
						theta(j, alpha)
						continue
					}
					p := fl.partial[j]
					v := fl.se2[g][p]
					w := v / (v + sd[j]*sd[j])
					z(j, (alpha-w*mu-(1-w)*fl.est[g][p])/(sd[j]*math.Sqrt(w)))
				case fl.kind[j] == Centered:
					theta(j, coef[term])
				case fl.kind[j] == Noncentered:
					z(j, (coef[term]-b[term])/sd[j])
				default:
					p := fl.partial[j]
					v := fl.se2[g][p]
					w := v / (v + sd[j]*sd[j])
					z(j, (coef[term]-w*b[term]-(1-w)*fl.est[g][p])/(sd[j]*math.Sqrt(w)))
				}
			}
			continue
		}
		// Correlated: deviations d = S (zc, zn) with S = diag(sd) L in L's order.
		s := make([][]float64, jn)
		d := make([]float64, jn)
		for a := range jn {
			s[a] = make([]float64, jn)
			for c := 0; c <= a; c++ {
				s[a][c] = sd[fl.perm[a]] * l[a][c]
			}
			term := fl.terms[fl.perm[a]]
			d[a] = coef[term] - b[term]
		}
		zs := make([]float64, jn) // standardised effects, d = S·zs
		for a := range jn {       // forward substitution
			v := d[a]
			for c := range a {
				v -= s[a][c] * zs[c]
			}
			zs[a] = v / s[a][a]
		}
		for a, j := range fl.perm {
			switch {
			case j == fl.shear && fl.kind[j] == Centered:
				// The program shears before adding the non-centred deviations.
				at := slices.Clone(coef)
				for jj, term := range fl.terms {
					if fl.kind[jj] != Centered {
						at[term] = b[term]
					}
				}
				alpha, _ := alphaMu(at)
				theta(j, alpha)
			case fl.kind[j] == Centered:
				theta(j, coef[fl.terms[j]])
			case fl.kind[j] == Partial:
				// d_a = w·m + (1−w)·(θ̂ − b) + S_aa·√w·z, m = Σ_{c<a} S[a][c]·zs[c].
				m := d[a] - s[a][a]*zs[a]
				p := fl.partial[j]
				v := fl.se2[g][p]
				w := v / (v + s[a][a]*s[a][a])
				z(j, (d[a]-w*m-(1-w)*(fl.est[g][p]-b[fl.terms[j]]))/(s[a][a]*math.Sqrt(w)))
			default:
				z(j, zs[a])
			}
		}
	}
}

// scaleOf is the back-map factor of term k's coefficients and group scales.
func scaleOf(spec *ingest.Spec, k int) float64 {
	_, s := coefScale(spec, k)
	return s
}

// TestDecodeIntegrated checks the group coefficients Decode draws for the integrated
// program against the textbook conditional of a group's effects given the population
// coefficients, the group scales and correlation and noise_sd, computed from the group's
// rows on the sampler's scale: precision Σ⁻¹ + ZᵀZ/σ², mean its inverse times
// Zᵀ(y − X b)/σ². A MAP fit (method=optimize) gets the mean exactly; a sample gets draws
// with that mean and variance, the same draws when decoded twice, other draws in
// another chain.
func TestDecodeIntegrated(t *testing.T) {
	for _, c := range goldenCases() {
		if len(c.spec.Groups) != 1 || !useIntegrated(c.spec) {
			continue // several factors: TestDecodeJoint
		}
		t.Run(c.name, func(t *testing.T) {
			p := render(t, c.spec)
			lay := p.hier
			fl := &lay.factors[0]
			if p.Template != IntegratedTemplate || lay.integrated == nil {
				t.Fatalf("Template %s; want %s", p.Template, IntegratedTemplate)
			}
			rng := rand.New(rand.NewPCG(6, 6))
			k, jn := len(lay.terms), len(fl.terms)
			// One point (b, sd, L, σ), repeated over many draws.
			b := make([]float64, k)
			for j := range b {
				b[j] = rng.NormFloat64()
				if c.spec.Bounds[j].Lower == 0 {
					b[j] = math.Abs(b[j])
				}
			}
			beta := slices.Clone(b)
			if lay.xMean != nil {
				for j, m := range lay.xMean {
					beta[lay.intercept] += m * b[j]
				}
			}
			sd := make([]float64, jn)
			for j := range sd {
				sd[j] = 0.1 + 0.5*rng.Float64()
			}
			s := make([]float64, jn*jn) // S = diag(sd) L
			l := make([][]float64, jn)
			for a := range jn {
				l[a] = make([]float64, jn)
				l[a][a] = 1
				if fl.correlated {
					norm := 0.0
					for cc := 0; cc <= a; cc++ {
						l[a][cc] = rng.NormFloat64()
						if cc == a {
							l[a][cc] = math.Abs(l[a][cc]) + 0.5
						}
						norm += l[a][cc] * l[a][cc]
					}
					for cc := 0; cc <= a; cc++ {
						l[a][cc] /= math.Sqrt(norm)
					}
				}
				for cc := 0; cc <= a; cc++ {
					s[a*jn+cc] = sd[a] * l[a][cc]
				}
			}
			sigma := 0.3 + 0.2*rng.Float64()

			ch, put := constantChain(3000)
			for j, v := range beta {
				put(fmt.Sprintf("beta.%d", j+1), v/lay.betaScale[j])
			}
			for j, v := range sd {
				put(fmt.Sprintf("sd_1.%d", j+1), v)
			}
			if fl.correlated {
				for a := range jn {
					for cc := 0; cc <= a; cc++ {
						put(fmt.Sprintf("L_1.%d.%d", a+1, cc+1), l[a][cc])
					}
				}
			}
			put("log_noise_sd", math.Log(sigma))

			// The textbook conditional of each group's effects, from its rows.
			x, y := standardise(c.spec)
			if hasEstimatedTransforms(c.spec) {
				// Estimated transforms at one value each, their columns computed from the raw
				// values at it.
				values := map[string]float64{}
				for _, tr := range c.spec.Transforms {
					decay, half, shape := 0.6, 1.5*rawScale(tr.Raw), 0.8
					values[ingest.TransformParamName(ingest.DecayParam, tr.Column)] = decay
					values[ingest.TransformParamName(ingest.HalfSaturationParam, tr.Column)] = half
					values[ingest.TransformParamName(ingest.ShapeParam, tr.Column)] = shape
					if tr.DecayPrior == nil {
						decay = tr.Decay
					}
					if tr.HalfSaturationPrior == nil {
						half = tr.HalfSaturation
					}
					if tr.ShapePrior == nil {
						shape = tr.Shape
					}
					k := slices.IndexFunc(c.spec.Terms, func(term ingest.Term) bool { return term.Name == tr.Column })
					for i, v := range tr.With(decay, half, shape).Apply(tr.Raw, c.spec.Series) {
						x[k][i] = v / c.spec.Scaling.XScale[k]
					}
				}
				for _, prm := range lay.integrated.tr.params {
					put(prm.Column, values[prm.Name]/prm.Scale)
				}
			}
			sm := mat.NewDense(jn, jn, s)
			var cov, sigmaInv mat.Dense
			cov.Mul(sm, sm.T())
			if err := sigmaInv.Inverse(&cov); err != nil {
				t.Fatal(err)
			}
			wantMean := make([][]float64, len(fl.levels)) // [group][term]
			wantVar := make([][]float64, len(fl.levels))
			for g, rows := range rowsByLevel(&c.spec.Groups[0]) {
				prec := mat.NewDense(jn, jn, nil)
				rhs := mat.NewVecDense(jn, nil)
				for a, ta := range fl.terms {
					for cc, tc := range fl.terms {
						v := 0.0
						for _, i := range rows {
							v += x[ta][i] * x[tc][i]
						}
						prec.Set(a, cc, sigmaInv.At(a, cc)+v/(sigma*sigma))
					}
					v := 0.0
					for _, i := range rows {
						res := y[i]
						for col := range x {
							res -= x[col][i] * b[col]
						}
						v += x[ta][i] * res
					}
					rhs.SetVec(a, v/(sigma*sigma))
				}
				var pc mat.Dense
				if err := pc.Inverse(prec); err != nil {
					t.Fatal(err)
				}
				var m mat.VecDense
				m.MulVec(&pc, rhs)
				for a := range jn {
					wantMean[g] = append(wantMean[g], m.AtVec(a))
					wantVar[g] = append(wantVar[g], pc.At(a, a))
				}
			}
			dec := decodeFourWays(t, p, ch)
			for g, level := range fl.levels {
				for a, term := range fl.terms {
					shift, scale := coefScale(c.spec, term)
					dec.check(t, GroupCoefficientName(lay.terms[term], fl.factor, level),
						shift+scale*(b[term]+wantMean[g][a]), scale*math.Sqrt(wantVar[g][a]))
				}
			}
		})
	}
}

// decodedFourWays is one chain of a panel program with integrated group effects, decoded
// as a MAP fit, as a sample, as the same sample again and as chain 2.
type decodedFourWays struct {
	names                           []string
	mapDraws, sampled, again, other [][]float64
}

// decodeFourWays decodes ch (whose Config.Method must be "optimize" and ID 1) four ways;
// it leaves ch a sample of chain 2.
func decodeFourWays(t *testing.T, p *Program, ch *stanio.Chain) *decodedFourWays {
	t.Helper()
	var d decodedFourWays
	var err error
	if d.names, d.mapDraws, err = p.Decode(ch); err != nil {
		t.Fatal(err)
	}
	ch.Config.Method = "sample"
	names, sampled, err := p.Decode(ch)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.names, names) {
		t.Fatalf("names differ between a MAP fit and a sample: %v, %v", d.names, names)
	}
	d.sampled = sampled
	_, d.again, _ = p.Decode(ch)
	ch.Config.ID = 2
	_, d.other, _ = p.Decode(ch)
	return &d
}

// check compares output name with its conditional mean and sd: the MAP value equals the
// mean, the sample's mean is within 5 standard errors of it and its sd within 10%; the
// same chain decodes to the same draws, another chain to different ones.
func (d *decodedFourWays) check(t *testing.T, name string, mean, sd float64) {
	t.Helper()
	j := slices.Index(d.names, name)
	if j < 0 {
		t.Fatalf("Decode gives no %s", name)
	}
	if got := d.mapDraws[j][0]; math.Abs(got-mean) > 1e-8*math.Max(1, math.Abs(mean)) {
		t.Errorf("%s (MAP): %.10g; conditional mean %.10g", name, got, mean)
	}
	n := len(d.sampled[j])
	m, v := meanSD(d.sampled[j])
	if se := sd / math.Sqrt(float64(n)); math.Abs(m-mean) > 5*se {
		t.Errorf("%s: mean of %d draws %.6g; conditional mean %.6g ± %.2g", name, n, m, mean, se)
	}
	if math.Abs(v-sd) > 0.1*sd {
		t.Errorf("%s: sd of %d draws %.6g; conditional sd %.6g", name, n, v, sd)
	}
	if !slices.Equal(d.sampled[j], d.again[j]) {
		t.Errorf("%s: two decodes of the same chain draw differently", name)
	}
	if slices.Equal(d.sampled[j], d.other[j]) {
		t.Errorf("%s: chains 1 and 2 draw the same", name)
	}
}

// constantChain returns a MAP fit's chain (seed 7, id 1) of n draws and a function that
// adds a column holding one value in every draw, for Decode's tests.
func constantChain(n int) (*stanio.Chain, func(name string, v float64)) {
	ch := &stanio.Chain{Path: "fake.csv", Config: stanio.Config{Method: "optimize", Seed: 7, ID: 1}}
	return ch, func(name string, v float64) {
		col := make([]float64, n)
		for i := range col {
			col[i] = v
		}
		ch.Columns, ch.Draws = append(ch.Columns, name), append(ch.Draws, col)
	}
}
