package codegen

import (
	"math"

	"github.com/dsamstan/dsamstan/ingest"
)

// Twelve weeks of a made-up brand: KPI, two media columns, price and a baseline used as
// offset. Small on purpose, so want.json stays readable.
var (
	weekKPI    = []float64{1520, 1610, 1585, 1702, 1660, 1755, 1690, 1810, 1775, 1840, 1795, 1900}
	weekTV     = []float64{120, 150, 90, 200, 170, 220, 130, 260, 210, 240, 180, 280}
	weekSearch = []float64{30, 35, 32, 41, 38, 45, 36, 50, 47, 49, 44, 55}
	weekPrice  = []float64{9.9, 9.9, 10.2, 9.5, 9.9, 9.4, 10.1, 9.3, 9.6, 9.5, 9.8, 9.2}
	weekBase   = []float64{800, 810, 805, 820, 815, 830, 825, 840, 835, 845, 850, 860}
)

// specOptions describes a test model over the weekly data.
type specOptions struct {
	intercept bool
	terms     []string // predictor columns, from weekColumns
	scale     bool
	offset    bool
	logY      bool
	priors    map[string]ingest.Prior // overrides; default normal(0, 5)
	bounds    map[string]ingest.Bound // overrides; default unbounded
	noise     ingest.NoisePrior       // zero value: normal(0, 5)
}

var weekColumns = map[string][]float64{"m_tv": weekTV, "m_search": weekSearch, "price": weekPrice}

// weekSpec builds the Spec ingest would build for o. Scaling centres and scales the
// response (after the offset) by its mean and sample sd, and scales each predictor by its
// sample sd; without an intercept the response is not centred.
func weekSpec(o specOptions) *ingest.Spec {
	n := len(weekKPI)
	s := &ingest.Spec{Name: "weekly", Response: "kpi", LogResponse: o.logY, N: n, Scale: o.scale}
	s.Y = make([]float64, n)
	for i, v := range weekKPI {
		s.Y[i] = v
		if o.logY {
			s.Y[i] = math.Log(v)
		}
	}
	if o.offset {
		s.OffsetName = "base"
		s.Offset = make([]float64, n)
		for i, v := range weekBase {
			s.Offset[i] = v
			if o.logY {
				s.Offset[i] = math.Log(v)
			}
		}
	}
	var names []string
	if o.intercept {
		names = append(names, ingest.InterceptName)
	}
	names = append(names, o.terms...)
	for _, name := range names {
		t := ingest.Term{Name: name, Intercept: name == ingest.InterceptName}
		col := weekColumns[name]
		if t.Intercept {
			col = make([]float64, n)
			for i := range col {
				col[i] = 1
			}
		}
		s.Terms = append(s.Terms, t)
		s.X = append(s.X, col)
		p, ok := o.priors[name]
		if !ok {
			p = ingest.Prior{Mean: 0, SD: 5, Default: true}
		}
		s.Priors = append(s.Priors, p)
		b, ok := o.bounds[name]
		if !ok {
			b = ingest.Unbounded
		}
		s.Bounds = append(s.Bounds, b)
	}
	s.NoiseSD = o.noise
	if s.NoiseSD.Family == "" {
		s.NoiseSD = ingest.NoisePrior{Family: ingest.NoiseNormal, Mean: 0, SD: 5, Default: true}
	}
	s.Lines = make([]int, n)
	for i := range s.Lines {
		s.Lines[i] = i + 2 // after the CSV header
	}
	s.Scaling = identityScaling(len(names))
	if o.scale {
		resp := make([]float64, n)
		for i := range resp {
			resp[i] = s.Y[i]
			if s.Offset != nil {
				resp[i] -= s.Offset[i]
			}
		}
		s.Scaling.YScale = sampleSD(resp)
		if o.intercept {
			s.Scaling.YCentre = mean(resp)
		}
		for k, t := range s.Terms {
			if !t.Intercept {
				s.Scaling.XScale[k] = sampleSD(s.X[k])
			}
		}
	}
	return s
}

func identityScaling(k int) ingest.Scaling {
	sc := ingest.Scaling{YCentre: 0, YScale: 1, XScale: make([]float64, k)}
	for i := range sc.XScale {
		sc.XScale[i] = 1
	}
	return sc
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func sampleSD(x []float64) float64 {
	m, s := mean(x), 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(x)-1))
}
