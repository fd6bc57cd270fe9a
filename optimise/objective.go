package optimise

import (
	"math"

	"github.com/dsamstan/dsamstan/internal/num"
)

// model is a scenario bound to the coefficient draws: what the solvers see.
type model struct {
	resp []Response
	// draws[c][d] is channel c's curve in draw d when it varies by draw (nil otherwise);
	// perDraw is true when any channel's does, and the objectives then go draw by draw.
	draws   [][]Response
	perDraw bool
	beta    [][]float64 // beta[c][d]: coefficient of channel c in draw d
	rows    []float64   // the same, draw by draw: rows[d*C+c], for one pass per total
	mean    []float64   // posterior mean of each channel's coefficient
	cov     []float64   // C×C sample covariance (n−1) of the coefficients, row-major
	obj     Objective
	nd      int // number of draws
}

// newModel prepares the per-channel draws, their means and covariance.
func newModel(resp []Response, beta [][]float64, obj Objective) *model {
	c := len(beta)
	m := &model{resp: resp, draws: make([][]Response, c), beta: beta, obj: obj, mean: make([]float64, c), cov: make([]float64, c*c)}
	if c > 0 {
		m.nd = len(beta[0])
	}
	m.rows = make([]float64, m.nd*c)
	for i, b := range beta {
		m.mean[i] = meanOf(b)
		for d, v := range b {
			m.rows[d*c+i] = v
		}
	}
	if m.nd > 1 {
		for i := range c {
			for j := i; j < c; j++ {
				s := 0.0
				for d := range m.nd {
					s += (beta[i][d] - m.mean[i]) * (beta[j][d] - m.mean[j])
				}
				s /= float64(m.nd - 1)
				m.cov[i*c+j], m.cov[j*c+i] = s, s
			}
		}
	}
	return m
}

// setDraws gives the channels their curves per draw (draws[c] nil for one curve).
func (m *model) setDraws(draws [][]Response) {
	m.draws = make([][]Response, m.channels())
	copy(m.draws, draws)
	for _, d := range m.draws {
		m.perDraw = m.perDraw || d != nil
	}
}

// meanDeriv is the slope of channel c's expected contribution at spend s: β̄·f'(s), or
// (1/S) Σ_d β_d f_d'(s) for curves that vary by draw.
func (m *model) meanDeriv(c int, s float64) float64 {
	if m.draws[c] == nil {
		return m.mean[c] * m.resp[c].Deriv(s)
	}
	t := 0.0
	for d, r := range m.draws[c] {
		if b := m.beta[c][d]; b != 0 {
			t += b * r.Deriv(s)
		}
	}
	return t / float64(m.nd)
}

// channels is the number of channels.
func (m *model) channels() int { return len(m.resp) }

// smooth reports whether the objective has a gradient in spend (mean, mean_minus_sd).
func (m *model) smooth() bool {
	return m.obj.Type == ObjectiveMean || m.obj.Type == ObjectiveMeanMinusSD
}

// evaluator computes objectives with its own scratch space; one per goroutine.
type evaluator struct {
	m      *model
	x      []float64 // model variables f_c(s_c)
	totals []float64 // per-draw totals T_d
	cx     []float64 // cov·x
	dx     []float64 // per-draw slopes β_{d,c} f_{d,c}'(s_c), dx[c*S+d] (curves per draw only)
}

func (m *model) evaluator() *evaluator {
	c := m.channels()
	e := &evaluator{m: m, x: make([]float64, c), totals: make([]float64, m.nd), cx: make([]float64, c)}
	if m.perDraw {
		e.dx = make([]float64, c*m.nd)
	}
	return e
}

// vars fills e.x with the model variables at spend s.
func (e *evaluator) vars(s []float64) {
	for c, r := range e.m.resp {
		e.x[c] = r.Value(s[c])
	}
}

// drawTotals writes T_d = Σ_c β_{d,c} f_c(s_c) for every draw into out (f_{d,c} for
// curves that vary by draw).
func (m *model) drawTotals(s, out []float64) {
	c := m.channels()
	if m.perDraw {
		clear(out)
		for i, r := range m.resp {
			b := m.beta[i]
			if m.draws[i] == nil {
				x := r.Value(s[i])
				for d := range out {
					out[d] += b[d] * x
				}
				continue
			}
			for d, rd := range m.draws[i] {
				out[d] += b[d] * rd.Value(s[i])
			}
		}
		return
	}
	var xs [8]float64
	x := xs[:0]
	if c > len(xs) {
		x = make([]float64, 0, c)
	}
	for i, r := range m.resp {
		x = append(x, r.Value(s[i]))
	}
	for d := range out {
		row := m.rows[d*c : d*c+c]
		t := 0.0
		for i, b := range row {
			t += b * x[i]
		}
		out[d] = t
	}
}

// objective is the value the solver maximises at spend s.
func (e *evaluator) objective(s []float64) float64 {
	m := e.m
	switch {
	case m.perDraw:
		m.drawTotals(s, e.totals)
		return riskValue(m.obj, e.totals)
	case m.obj.Type == ObjectiveMean, m.obj.Type == ObjectiveMeanMinusSD:
		e.vars(s)
		mean, sd := e.meanSD()
		return mean - m.obj.Lambda*sd
	default:
		m.drawTotals(s, e.totals)
		return riskValue(m.obj, e.totals)
	}
}

// meanSD returns E[T] and sd(T) from the coefficient means and covariance at e.x, and
// leaves cov·x in e.cx.
func (e *evaluator) meanSD() (mean, sd float64) {
	m, c := e.m, e.m.channels()
	v := 0.0
	for i := range c {
		mean += m.mean[i] * e.x[i]
		if m.obj.Type != ObjectiveMeanMinusSD {
			continue
		}
		s := 0.0
		for j := range c {
			s += m.cov[i*c+j] * e.x[j]
		}
		e.cx[i] = s
		v += e.x[i] * s
	}
	return mean, math.Sqrt(math.Max(v, 0))
}

// objectiveGrad returns the objective at s and writes its gradient in spend to g; only
// for smooth objectives. Infinite slopes (at zero spend, slope or exponent < 1) are capped
// so the solvers see a large finite number.
func (e *evaluator) objectiveGrad(s, g []float64) float64 {
	m := e.m
	if m.perDraw {
		return e.objectiveGradDraws(s, g)
	}
	e.vars(s)
	mean, sd := e.meanSD()
	for c, r := range m.resp {
		d := math.Min(r.Deriv(s[c]), maxSlope)
		w := m.mean[c]
		if m.obj.Type == ObjectiveMeanMinusSD && sd > 0 {
			w -= m.obj.Lambda * e.cx[c] / sd
		}
		g[c] = w * d
	}
	return mean - m.obj.Lambda*sd
}

// objectiveGradDraws is objectiveGrad draw by draw, for curves that vary by draw: with
// T_d the totals and T̄ their mean, ∂mean/∂s_c = (1/S) Σ_d β_{d,c} f_{d,c}'(s_c) and
// ∂sd/∂s_c = Σ_d (T_d − T̄) β_{d,c} f_{d,c}'(s_c) / ((S−1)·sd).
func (e *evaluator) objectiveGradDraws(s, g []float64) float64 {
	m, nd := e.m, e.m.nd
	clear(e.totals)
	for c, r := range m.resp {
		b, dx := m.beta[c], e.dx[c*nd:(c+1)*nd]
		if m.draws[c] == nil {
			x, d := r.Value(s[c]), math.Min(r.Deriv(s[c]), maxSlope)
			for k := range dx {
				e.totals[k] += b[k] * x
				dx[k] = b[k] * d
			}
			continue
		}
		for k, rd := range m.draws[c] {
			e.totals[k] += b[k] * rd.Value(s[c])
			dx[k] = 0
			if b[k] != 0 {
				dx[k] = b[k] * math.Min(rd.Deriv(s[c]), maxSlope)
			}
		}
	}
	mean, sd := meanSD(e.totals)
	risk := m.obj.Type == ObjectiveMeanMinusSD && sd > 0
	for c := range g {
		dx := e.dx[c*nd : (c+1)*nd]
		gm, gs := 0.0, 0.0
		for k, v := range dx {
			gm += v
			if risk {
				gs += (e.totals[k] - mean) * v
			}
		}
		g[c] = gm / float64(nd)
		if risk {
			g[c] -= m.obj.Lambda * gs / (float64(nd-1) * sd)
		}
	}
	if m.obj.Type == ObjectiveMeanMinusSD {
		return mean - m.obj.Lambda*sd
	}
	return mean
}

// maxSlope caps f'(s) where it is infinite.
const maxSlope = 1e150

// riskValue evaluates an objective on per-draw totals; totals is reordered.
func riskValue(o Objective, totals []float64) float64 {
	switch o.Type {
	case ObjectiveQuantile:
		return quantileSelect(totals, o.Q)
	case ObjectiveCVaR:
		return cvarSelect(totals, o.Alpha)
	case ObjectiveMeanMinusSD:
		mean, sd := meanSD(totals)
		return mean - o.Lambda*sd
	default:
		return meanOf(totals)
	}
}

// quantileSelect is R's quantile type 7 (the arithmetic of summarise.Quantile) by
// selection instead of sorting; a is reordered.
func quantileSelect(a []float64, p float64) float64 {
	n := len(a)
	if n == 0 {
		return math.NaN()
	}
	index := 1 + float64(n-1)*p // 1-based, as in R, so the rounding matches
	lo := math.Floor(index)
	j := int(lo) - 1
	num.SelectKth(a, 0, n-1, j)
	q := a[j]
	if index > lo && j+1 < n {
		hi := a[j+1]
		for _, v := range a[j+2:] {
			if v < hi {
				hi = v
			}
		}
		if hi != q {
			h := index - lo
			q = (1-h)*q + h*hi
		}
	}
	return q
}

// cvarSelect is the mean of the worst alpha fraction of a: with m = alpha·n draws, the
// floor(m) smallest count fully and the next one by the fraction left over; a is reordered.
func cvarSelect(a []float64, alpha float64) float64 {
	n := len(a)
	if n == 0 {
		return math.NaN()
	}
	m := alpha * float64(n)
	k := int(math.Floor(m))
	if k >= n {
		return meanOf(a)
	}
	num.SelectKth(a, 0, len(a)-1, k)
	s := 0.0
	for _, v := range a[:k] {
		s += v
	}
	s += (m - float64(k)) * a[k]
	return s / m
}

func meanOf(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// meanSD returns the mean and the sample standard deviation (n−1; 0 for one value).
func meanSD(x []float64) (mean, sd float64) {
	mean = meanOf(x)
	if len(x) < 2 {
		return mean, 0
	}
	v := 0.0
	for _, t := range x {
		v += (t - mean) * (t - mean)
	}
	return mean, math.Sqrt(v / float64(len(x)-1))
}
