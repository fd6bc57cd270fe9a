package posterior

import (
	"fmt"
	"math"

	"github.com/dsamstan/dsamstan/ingest"
)

// TransformDraws are the draws of one term's estimated media transform, in original units:
// the parameters the model samples, one value per draw (chains concatenated), and nil for
// the parameters Spec.Transforms fixes.
type TransformDraws struct {
	// Term is the design index of the transformed term (Spec.Terms).
	Term int
	// Decay is adstock_decay[column], HalfSaturation half_saturation[column] (in the
	// column's units) and Shape hill_shape[column].
	Decay, HalfSaturation, Shape []float64
}

// transformed computes, row by row, the design columns whose transform the model
// estimates: x_{i,s} = h_s(adstock_s(raw))_i with draw s's parameters, the value
// ingest.Transform.With(…).Apply(raw, series)[i] holds for that draw (to rounding), without
// holding a rows × draws matrix.
type transformed struct {
	// byTerm[k] is term k's estimated transform, nil for the others.
	byTerm []*drawTransform
	// series and pos locate each row in its series (Spec.Series), for the adstock.
	series, pos []int
	rows        [][]int
}

// drawTransform is one estimated term's transform, per draw.
type drawTransform struct {
	t   ingest.Transform
	raw []float64
	// weights[s*(lags+1)+l] is draw s's adstock weight w_l (adstock only).
	weights []float64
	lags    int
	// logHalf and shape are the Hill parameters per draw (Hill only), the half-saturation
	// as its logarithm: h(a) = 1/(1 + exp(shape·(log half − log a))) costs a log and an exp
	// per value, about half of what math.Pow does.
	logHalf, shape []float64
}

// transforms checks d's transform draws against spec and prepares the per-draw columns;
// nil when no term's transform is estimated.
func (d *Draws) transforms(spec *ingest.Spec) (*transformed, error) {
	specOf := map[string]ingest.Transform{}
	for _, t := range spec.Transforms {
		if t.Estimated() {
			specOf[t.Column] = t
		}
	}
	S := d.S()
	tr := &transformed{byTerm: make([]*drawTransform, len(spec.Terms))}
	seen := 0
	for _, td := range d.Transforms {
		if td.Term < 0 || td.Term >= len(spec.Terms) {
			return nil, fmt.Errorf("posterior: transform draws for term %d of %d", td.Term, len(spec.Terms))
		}
		name := spec.Terms[td.Term].Name
		t, ok := specOf[name]
		if !ok {
			return nil, fmt.Errorf("posterior: transform draws for %s, whose transform the model does not estimate", name)
		}
		if tr.byTerm[td.Term] != nil {
			return nil, fmt.Errorf("posterior: transform draws for %s twice", name)
		}
		if len(t.Raw) != spec.N {
			return nil, fmt.Errorf("posterior: %s's raw column has %d rows; want %d", name, len(t.Raw), spec.N)
		}
		dt := &drawTransform{t: t, raw: t.Raw}
		param := func(kind string, prior *ingest.TransformPrior, v []float64, fixed float64) ([]float64, error) {
			if prior == nil {
				if v != nil {
					return nil, fmt.Errorf("posterior: draws of %s, which the model fixes", ingest.TransformParamName(kind, name))
				}
				out := make([]float64, S)
				for s := range out {
					out[s] = fixed
				}
				return out, nil
			}
			if len(v) != S {
				return nil, fmt.Errorf("posterior: %s has %d draws; want %d", ingest.TransformParamName(kind, name), len(v), S)
			}
			return v, nil
		}
		if t.Adstock {
			if spec.Series == nil {
				return nil, fmt.Errorf("posterior: %s has adstock, but the spec lists no series", name)
			}
			decay, err := param(ingest.DecayParam, t.DecayPrior, td.Decay, t.Decay)
			if err != nil {
				return nil, err
			}
			// No row reaches further back than its series' start (as in Transform.Apply).
			longest := 0
			for _, rows := range spec.Series {
				longest = max(longest, len(rows))
			}
			dt.lags = min(t.MaxLag, max(longest-1, 0))
			dt.weights = make([]float64, 0, S*(dt.lags+1))
			for _, v := range decay {
				dt.weights = append(dt.weights, ingest.AdstockWeights(v, t.MaxLag)[:dt.lags+1]...)
			}
		} else if td.Decay != nil {
			return nil, fmt.Errorf("posterior: draws of %s, but %s has no adstock", ingest.TransformParamName(ingest.DecayParam, name), name)
		}
		if t.Hill {
			half, err := param(ingest.HalfSaturationParam, t.HalfSaturationPrior, td.HalfSaturation, t.HalfSaturation)
			if err != nil {
				return nil, err
			}
			dt.logHalf = make([]float64, S)
			for s, v := range half {
				dt.logHalf[s] = math.Log(v)
			}
			if dt.shape, err = param(ingest.ShapeParam, t.ShapePrior, td.Shape, t.Shape); err != nil {
				return nil, err
			}
		} else if td.HalfSaturation != nil || td.Shape != nil {
			return nil, fmt.Errorf("posterior: Hill parameter draws for %s, which has no saturation", name)
		}
		tr.byTerm[td.Term] = dt
		seen++
	}
	if seen != len(specOf) {
		for k, term := range spec.Terms {
			if _, ok := specOf[term.Name]; ok && tr.byTerm[k] == nil {
				return nil, fmt.Errorf("posterior: the model estimates %s's transform, but the draws have none of its parameters", term.Name)
			}
		}
		return nil, fmt.Errorf("posterior: the model estimates %d transforms of columns that are not terms", len(specOf)-seen)
	}
	if seen == 0 {
		return nil, nil
	}
	if spec.Series != nil {
		tr.rows = spec.Series
		tr.series, tr.pos = make([]int, spec.N), make([]int, spec.N)
		for g, rows := range spec.Series {
			for p, i := range rows {
				tr.series[i], tr.pos[i] = g, p
			}
		}
	}
	return tr, nil
}

// column writes term k's transformed value in row i for every draw into x. Term k must
// have an estimated transform.
func (tr *transformed) column(k, i int, x []float64) {
	dt := tr.byTerm[k]
	if dt.t.Adstock {
		rows, p := tr.rows[tr.series[i]], tr.pos[i]
		n := min(dt.lags, p) + 1
		stride := dt.lags + 1
		for s := range x {
			w := dt.weights[s*stride : s*stride+n]
			a := 0.0
			for l, wl := range w {
				a += wl * dt.raw[rows[p-l]]
			}
			x[s] = a
		}
	} else {
		v := dt.raw[i]
		for s := range x {
			x[s] = v
		}
	}
	if dt.t.Hill { // ingest.HillValue, in logs
		for s, a := range x {
			if a <= 0 {
				x[s] = 0
				continue
			}
			x[s] = 1 / (1 + math.Exp(dt.shape[s]*(dt.logHalf[s]-math.Log(a))))
		}
	}
}
