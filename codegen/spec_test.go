package codegen

import (
	"fmt"
	"math"
	"math/rand/v2"

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

// panelOptions describes a synthetic panel for the panel program's tests.
type panelOptions struct {
	groups, weeks int
	cre           bool   // add cre_mean_m_tv, the market means of m_tv
	correlated    bool   // correlated effects in every factor
	brands        bool   // a second factor, (1 | market:brand), with two brands per market
	composite     bool   // with brands: market:brand is the only factor, with market's terms
	param         string // Spec.Parameterization
	noSDPriors    bool   // leave Grouping.SDPriors empty (codegen computes the default)
}

var panelMarkets = []string{"north", "south", "east", "west", "central", "coast", "mountain", "valley"}

// panelTestSpec builds a panel Spec as ingest would: kpi ~ trend + m_tv + m_search
// [+ cre_mean_m_tv] + (1 + m_tv + m_search | market) [+ (1 | market:brand)], scaled, or
// with composite (1 + m_tv + m_search | market:brand) alone.
// Markets differ a lot in baseline and TV effect and little in search effect, so the
// three terms get different parameterisations. The data come from a seeded generator.
func panelTestSpec(o panelOptions) *ingest.Spec {
	rng := rand.New(rand.NewPCG(uint64(o.groups), uint64(o.weeks)))
	brands := []string{""}
	if o.brands {
		brands = []string{"acme", "zenith"}
	}
	s := &ingest.Spec{Name: "panel", Response: "kpi", Scale: true, Parameterization: o.param}
	var market, brand []int
	var trend, tv, search, kpi []float64
	for g := range o.groups {
		base := 1000 + 300*rng.NormFloat64()
		tvEffect := 2 + 0.8*rng.NormFloat64()
		searchEffect := 5 + 0.3*rng.NormFloat64()
		level := 50 + 40*rng.Float64()
		for b := range brands {
			brandShift := 60 * rng.NormFloat64()
			for w := range o.weeks {
				t := float64(w) / 52
				x1 := level * (0.5 + rng.Float64())
				x2 := 20 + 5*rng.NormFloat64()
				market, brand = append(market, g), append(brand, b)
				trend, tv, search = append(trend, t), append(tv, x1), append(search, x2)
				kpi = append(kpi, base+brandShift+40*t+tvEffect*x1+searchEffect*x2+50*rng.NormFloat64())
			}
		}
	}
	n := len(kpi)
	s.N, s.Y = n, kpi
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	add := func(name string, col []float64) {
		s.Terms = append(s.Terms, ingest.Term{Name: name, Intercept: name == ingest.InterceptName})
		s.X = append(s.X, col)
		s.Priors = append(s.Priors, ingest.Prior{Mean: 0, SD: 5, Default: true})
		s.Bounds = append(s.Bounds, ingest.Unbounded)
	}
	add(ingest.InterceptName, ones)
	add("trend", trend)
	add("m_tv", tv)
	add("m_search", search)
	levels := make([]string, o.groups)
	for g := range levels {
		levels[g] = panelMarkets[g%len(panelMarkets)]
		if g >= len(panelMarkets) {
			levels[g] = fmt.Sprintf("m%02d", g+1)
		}
	}
	s.Groups = []ingest.Grouping{{Factor: "market", Index: 1, Levels: levels, Of: market,
		Terms: []int{0, 2, 3}, Independent: !o.correlated}}
	if o.cre {
		sum := make([]float64, o.groups)
		cnt := make([]float64, o.groups)
		for i, g := range market {
			sum[g] += tv[i]
			cnt[g]++
		}
		col := make([]float64, n)
		for i, g := range market {
			col[i] = sum[g] / cnt[g]
		}
		add("cre_mean_m_tv", col)
	}
	if o.brands {
		of := make([]int, n)
		var bl []string
		for i := range of {
			of[i] = market[i]*len(brands) + brand[i]
		}
		for _, m := range levels {
			for _, b := range brands {
				bl = append(bl, m+":"+b)
			}
		}
		s.Groups = append(s.Groups, ingest.Grouping{Factor: "market:brand", Index: 2, Levels: bl, Of: of,
			Terms: []int{0}, Independent: !o.correlated})
		if o.composite {
			s.Groups = []ingest.Grouping{{Factor: "market:brand", Index: 1, Levels: bl, Of: of,
				Terms: []int{0, 2, 3}, Independent: !o.correlated}}
		}
	}
	s.Bounds[2] = ingest.Bound{Lower: 0, Upper: math.Inf(1)} // m_tv > 0
	s.Bounds[3] = ingest.Bound{Lower: 0, Upper: math.Inf(1)} // m_search > 0
	s.Lines = make([]int, n)
	for i := range s.Lines {
		s.Lines[i] = i + 2
	}
	sdY := sampleSD(kpi)
	s.NoiseSD = ingest.NoisePrior{Family: ingest.NoiseNormal, Mean: 0, SD: sdY, Default: true}
	s.Scaling = identityScaling(len(s.Terms))
	s.Scaling.YCentre, s.Scaling.YScale = mean(kpi), sdY
	for k, t := range s.Terms {
		if !t.Intercept {
			s.Scaling.XScale[k] = sampleSD(s.X[k])
			s.Priors[k].SD = 5 * sdY / s.Scaling.XScale[k]
		} else {
			s.Priors[k] = ingest.Prior{Mean: mean(kpi), SD: 5 * sdY, Default: true}
		}
	}
	if !o.noSDPriors {
		for gi := range s.Groups {
			g := &s.Groups[gi]
			g.SDPriors = groupScalePriors(s, &ingest.Grouping{Levels: g.Levels, Of: g.Of, Terms: g.Terms})
			g.SDPriors[0] = ingest.Prior{Mean: 0, SD: 0.5 * sdY} // as if set in priors.overrides
		}
	}
	return s
}
