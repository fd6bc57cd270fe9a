package codegen

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

// Decode maps the draws of one chain of p back to the parameters users see, in original
// units (docs/architecture.md, decisions 1 and 7: Stan samples, Go derives). names lists them; draws[j] holds
// every post-warmup draw of names[j], in the chain's order (column by column, as
// stanio.Chain.Draws).
//
// For the single-market program they are the population coefficients by term name and
// noise_sd. For the panel program, in this order: the population coefficients
// ("(Intercept)", "m_tv", "cre_mean_m_tv"); the group scales of every factor
// ("sd_1[(Intercept)]", "sd_1[m_tv]"); for a correlated factor the correlation of each
// pair of its terms ("cor_1[(Intercept),m_tv]"); the coefficients of every group
// (population plus the group's deviation), factor by factor, term by term, group by
// group ("m_tv[market=north]", "(Intercept)[market:brand=north:acme]"); and noise_sd.
// With estimated media transforms, both end with their parameters: adstock_decay[m_tv],
// then half_saturation[...], then hill_shape[...], each in term order.
//
// A chain that lacks one of the program's columns gives an error naming it.
func (p *Program) Decode(ch *stanio.Chain) (names []string, draws [][]float64, err error) {
	cols := make(map[string]int, len(ch.Columns))
	for j, c := range ch.Columns {
		cols[c] = j
	}
	column := func(name string) ([]float64, error) {
		j, ok := cols[name]
		if !ok {
			return nil, fmt.Errorf("codegen: %s has no column %q: the CSV does not belong to this %s program", chainName(ch), name, p.Template)
		}
		return ch.Draws[j], nil
	}
	if p.hier == nil {
		n := ch.NumDraws()
		for _, prm := range p.Params {
			src, err := column(prm.Column)
			if err != nil {
				return nil, nil, err
			}
			dst := make([]float64, n)
			for i, v := range src {
				dst[i] = prm.Unscale(v)
			}
			names = append(names, prm.Name)
			draws = append(draws, dst)
		}
		return names, draws, nil
	}
	// The integrated program's group effects are drawn per draw from their conditional,
	// reproducibly (drawRNG); a MAP fit takes their conditional mean.
	return p.hier.decode(ch.NumDraws(), column, drawRNG(ch), ch.Config.Method == "optimize")
}

func chainName(ch *stanio.Chain) string {
	if ch.Path == "" {
		return "the chain"
	}
	return ch.Path
}

// factorColumns are the Stan columns of one grouping factor, read once per chain.
type factorColumns struct {
	sd    [][]float64   // per term
	l     [][][]float64 // [i][j] for i >= j, correlated factors only
	theta [][][]float64 // [row][group] of the centred block
	z     [][][]float64 // [row][group] of the non-centred block
}

// decode implements Program.Decode for the panel programs; n is the number of draws and
// column returns a Stan column's draws. The integrated program's group effects are drawn
// with rng, or set to their conditional mean when mean is true.
func (lay *hierLayout) decode(n int, column func(string) ([]float64, error), rng *rand.Rand, mean bool) (names []string, draws [][]float64, err error) {
	k := len(lay.terms)
	beta := make([][]float64, k)
	for j := range beta {
		if beta[j], err = column(fmt.Sprintf("beta.%d", j+1)); err != nil {
			return nil, nil, err
		}
	}
	noise, err := column("log_noise_sd")
	if err != nil {
		return nil, nil, err
	}
	fcols := make([]factorColumns, len(lay.factors))
	for fi := range lay.factors {
		if fcols[fi], err = lay.factors[fi].readColumns(column, lay.integrated == nil); err != nil {
			return nil, nil, err
		}
	}

	out := func(name string) []float64 {
		names = append(names, name)
		d := make([]float64, n)
		draws = append(draws, d)
		return d
	}
	b := lay.populationCoefficients(n, beta)
	for j, prm := range lay.pop {
		dst := out(prm.Name)
		for i, v := range b[j] {
			dst[i] = prm.Unscale(v)
		}
	}
	for fi, fl := range lay.factors {
		for j, t := range fl.terms {
			dst := out(ingest.GroupScaleName(fl.index, lay.terms[t]))
			for i, v := range fcols[fi].sd[j] {
				dst[i] = lay.scale[t] * v
			}
		}
	}
	for fi, fl := range lay.factors {
		if fl.correlated {
			lay.correlations(fl, fcols[fi].l, out)
		}
	}
	var tr *estTransforms
	var tcols [][]float64 // the transform parameters' draws, in original units
	if lay.integrated != nil && lay.integrated.tr != nil {
		tr = lay.integrated.tr
		if tcols, err = tr.readValues(column); err != nil {
			return nil, nil, err
		}
	}
	var joint [][][][]float64
	if lay.integrated != nil && lay.integrated.joint != nil {
		if joint, err = lay.jointCoefficients(n, b, fcols, noise, rng, mean); err != nil {
			return nil, nil, err
		}
	}
	for fi, fl := range lay.factors {
		var coef [][][]float64
		if joint != nil {
			coef = joint[fi]
		} else if lay.integrated != nil {
			if coef, err = lay.integratedCoefficients(n, b, fcols[fi].sd, fcols[fi].l, noise, tcols, rng, mean); err != nil {
				return nil, nil, err
			}
		} else {
			coef = fl.groupCoefficients(n, b, fcols[fi])
		}
		for j, t := range fl.terms {
			for g, level := range fl.levels {
				dst := out(GroupCoefficientName(lay.terms[t], fl.factor, level))
				for i, v := range coef[j][g] {
					dst[i] = lay.shift[t] + lay.scale[t]*v
				}
			}
		}
	}
	dst := out(lay.noise.Name)
	for i, v := range noise {
		dst[i] = lay.noise.Unscale(math.Exp(v))
	}
	if tr != nil {
		for j, p := range tr.params {
			copy(out(p.Name), tcols[j])
		}
	}
	return names, draws, nil
}

// readColumns reads grouping factor fl's Stan columns: its scales, the Cholesky factor of
// a correlated factor, and the sampled program's centred and non-centred blocks (sampled
// is false for the integrated program, which has none).
func (fl *factorLayout) readColumns(column func(string) ([]float64, error), sampled bool) (factorColumns, error) {
	var fc factorColumns
	jn, g := len(fl.terms), len(fl.levels)
	for j := range jn {
		c, err := column(fmt.Sprintf("sd_%d.%d", fl.index, j+1))
		if err != nil {
			return fc, err
		}
		fc.sd = append(fc.sd, c)
	}
	if fl.correlated {
		fc.l = make([][][]float64, jn)
		for a := range jn {
			fc.l[a] = make([][]float64, a+1)
			for b := 0; b <= a; b++ {
				var err error
				if fc.l[a][b], err = column(fmt.Sprintf("L_%d.%d.%d", fl.index, a+1, b+1)); err != nil {
					return fc, err
				}
			}
		}
	}
	if !sampled {
		return fc, nil
	}
	block := func(name string, rows int) ([][][]float64, error) {
		out := make([][][]float64, rows)
		for r := range rows {
			out[r] = make([][]float64, g)
			for l := range g {
				c, err := column(fmt.Sprintf("%s_%d.%d.%d", name, fl.index, r+1, l+1))
				if err != nil {
					return nil, err
				}
				out[r][l] = c
			}
		}
		return out, nil
	}
	var err error
	if fl.unified {
		// Every term is a row of z; a centred term's row holds its coefficients (the
		// program samples them in the units of theta_scale, as theta_<f> otherwise).
		if fc.z, err = block("z", jn); err != nil {
			return fc, err
		}
		fc.theta = make([][][]float64, jn)
		for j, kind := range fl.kind {
			if kind == Centered {
				fc.theta[j] = fc.z[j]
			}
		}
		return fc, nil
	}
	if fc.theta, err = block("theta", fl.nc); err != nil {
		return fc, err
	}
	fc.z, err = block("z", jn-fl.nc)
	return fc, err
}

// populationCoefficients returns the population coefficients b[j][i] on the sampler's
// scale, draw by draw, from the sampled beta: rescaled, and the intercept moved from the
// predictors' means back to zero when it was sampled there.
func (lay *hierLayout) populationCoefficients(n int, beta [][]float64) [][]float64 {
	k := len(beta)
	b := make([][]float64, k)
	for j := range b {
		b[j] = make([]float64, n)
		for i, v := range beta[j] {
			b[j][i] = lay.betaScale[j] * v
		}
	}
	if lay.xMean != nil {
		i0 := lay.intercept
		for i := range n {
			for j := range k {
				if j != i0 {
					b[i0][i] -= lay.xMean[j] * b[j][i]
				}
			}
		}
	}
	return b
}

// correlations writes the correlations cor_<f>[a,c] of a correlated factor's effects,
// Ω = L L' in L's order, from its Cholesky factor l; out names and allocates a column.
func (lay *hierLayout) correlations(fl factorLayout, l [][][]float64, out func(string) []float64) {
	pos := make([]int, len(fl.terms)) // pos[j] is term j's place in L's order
	for p, j := range fl.perm {
		pos[j] = p
	}
	for a := range fl.terms {
		for c := a + 1; c < len(fl.terms); c++ {
			dst := out(fmt.Sprintf("cor_%d[%s,%s]", fl.index, lay.terms[fl.terms[a]], lay.terms[fl.terms[c]]))
			pa, pc := pos[a], pos[c]
			for i := range dst {
				s := 0.0
				for m := 0; m <= min(pa, pc); m++ {
					s += l[pa][m][i] * l[pc][m][i]
				}
				dst[i] = s
			}
		}
	}
}

// groupCoefficients returns, on the sampler's scale, coef[j][g][i]: term j's coefficient
// in group g at draw i (the population coefficient b plus the group's deviation),
// computed as the program computes B_<f>.
func (fl *factorLayout) groupCoefficients(n int, b [][]float64, fc factorColumns) [][][]float64 {
	jn, g, k := len(fl.terms), len(fl.levels), len(b)
	coef := make([][][]float64, jn)
	for j := range coef {
		coef[j] = make([][]float64, g)
		for l := range coef[j] {
			coef[j][l] = make([]float64, n)
		}
	}
	row := make([]float64, k) // B_<f>[g] at one draw
	s := make([][]float64, jn)
	for a := range s {
		s[a] = make([]float64, jn)
	}
	zs := make([]float64, jn)
	for i := range n {
		if fl.correlated {
			// S = diag(sd) L in L's order (centred block first).
			for a := range jn {
				sd := fc.sd[fl.perm[a]][i]
				for c := 0; c <= a; c++ {
					s[a][c] = sd * fc.l[a][c][i]
				}
			}
		}
		for l := range g {
			for c := range k {
				row[c] = b[c][i]
			}
			for j, t := range fl.terms {
				if fl.kind[j] == Centered && j != fl.shear {
					row[t] = fc.theta[fl.row[j]][l][i]
				}
			}
			if fl.correlated {
				if fl.shear >= 0 && fl.kind[fl.shear] == Centered {
					fl.shearRow(row, b, fc, l, i) // before the non-centred deviations, as in the program
				}
				fl.correlatedDeviations(row, b, fc, s, zs, l, i)
			} else {
				fl.independentDeviations(row, b, fc, l, i)
				if fl.shear >= 0 {
					fl.shearRow(row, b, fc, l, i)
				}
			}
			for j, t := range fl.terms {
				coef[j][l][i] = row[t]
			}
		}
	}
	return coef
}

// independentDeviations adds group l's non-centred and partial deviations at draw i to
// row, in an independent factor.
func (fl *factorLayout) independentDeviations(row []float64, b [][]float64, fc factorColumns, l, i int) {
	for j, t := range fl.terms {
		if fl.kind[j] == Centered || j == fl.shear {
			continue
		}
		sd, z := fc.sd[j][i], fc.z[fl.row[j]][l][i]
		switch fl.kind[j] {
		case Noncentered:
			row[t] += sd * z
		case Partial:
			p := fl.partial[j]
			v := fl.se2[l][p]
			w := v / (v + sd*sd)
			row[t] = w*b[t][i] + (1-w)*fl.est[l][p] + sd*math.Sqrt(w)*z
		}
	}
}

// correlatedDeviations adds group l's deviations at draw i to row in a correlated factor,
// with S = diag(sd) L in L's order. zs holds the standardised effects in that order,
// B − b = S·zs: the centred block solves S_cc·zs_c = θ_c − b_c, and each later term's
// deviation has prior mean m = Σ S[a][c]·zs[c] over the terms before it.
func (fl *factorLayout) correlatedDeviations(row []float64, b [][]float64, fc factorColumns, s [][]float64, zs []float64, l, i int) {
	for a := range fl.nc {
		t := fl.terms[fl.perm[a]]
		v := row[t] - b[t][i]
		for c := range a {
			v -= s[a][c] * zs[c]
		}
		zs[a] = v / s[a][a]
	}
	for a := fl.nc; a < len(fl.terms); a++ {
		j := fl.perm[a]
		t := fl.terms[j]
		m := 0.0
		for c := range a {
			m += s[a][c] * zs[c]
		}
		z := fc.z[fl.row[j]][l][i]
		u := m + s[a][a]*z
		if fl.kind[j] == Partial {
			p := fl.partial[j]
			v := fl.se2[l][p]
			w := v / (v + s[a][a]*s[a][a])
			u = w*m + (1-w)*(fl.est[l][p]-b[t][i]) + s[a][a]*math.Sqrt(w)*z
		}
		zs[a] = (u - m) / s[a][a]
		row[t] += u
	}
}

// shearRow derives the intercept sampled at group l's predictor means, at draw i, from
// row (the group's other coefficients), as the program does.
func (fl *factorLayout) shearRow(row []float64, b [][]float64, fc factorColumns, l, i int) {
	j := fl.shear
	t := fl.terms[j]
	mu := b[t][i] // prior mean of the intercept at the group's means, given the slopes
	for c, m := range fl.xMean[l] {
		if c != t {
			mu += m * row[c]
		}
	}
	r := fl.row[j]
	if fl.kind[j] != Centered { // partial, or non-centred as partial with w = 1 (unified)
		p, sd := fl.partial[j], fc.sd[j][i]
		v := fl.se2[l][p]
		w := v / (v + sd*sd)
		alpha := w*mu + (1-w)*fl.est[l][p] + sd*math.Sqrt(w)*fc.z[r][l][i]
		row[t] = alpha - (mu - b[t][i])
		return
	}
	row[t] = fc.theta[r][l][i] - (mu - b[t][i])
}
