package simulate

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/ingest"
)

// mediaTransform is the true transform of one media column in the --transforms examples,
// and which of its parameters the example's config estimates (the others it fixes at their
// true values).
type mediaTransform struct {
	column string
	// adstock: normalised geometric adstock with decay and maxLag, within each market.
	adstock bool
	decay   float64
	maxLag  int
	// hill: Hill saturation with half (in the column's units) and shape.
	hill        bool
	half, shape float64
	// estimated parameters
	estDecay, estHalf, estShape bool
}

// exampleTransforms are the true media transforms of the --transforms examples, in formula
// order; the config estimates all of them (the speed benchmark's model: three channels,
// adstock and Hill estimated). TV carries over for weeks and saturates in an S shape;
// search carries over briefly; social a little longer. Each half_saturation lies within a
// factor e of the column's median positive spend, one sdlog of its default prior's centre,
// so the defaults do not fight the truth; the TV flights, search's wide range and social's
// bursts move the adstocked spend across the curved part of each Hill curve, which
// identifies its parameters (in the 8-market panel; one market's 156 weeks leave search's
// shape loose).
var exampleTransforms = []mediaTransform{
	{column: "m_tv", adstock: true, decay: 0.6, maxLag: 8, hill: true, half: 60, shape: 1.5, estDecay: true, estHalf: true, estShape: true},
	{column: "m_search", adstock: true, decay: 0.3, maxLag: 4, hill: true, half: 25, shape: 1, estDecay: true, estHalf: true, estShape: true},
	{column: "m_social", adstock: true, decay: 0.4, maxLag: 6, hill: true, half: 20, shape: 1.2, estDecay: true, estHalf: true, estShape: true},
}

// True effects of the --transforms examples. A media coefficient multiplies the transformed
// column, so it is the contribution per row at full saturation: TV at its typical flight
// spend (adstock near 90, h ≈ 0.65) adds about 780 KPI units a week.
var (
	transformCoefficients = map[string]float64{
		"(Intercept)": 5000, "trend": 300, "seasonality": 400, "brand_metric": 20,
		"m_tv": 1200, "m_search": 1500, "m_social": 1000,
	}
	// transformGroupSD are the between-market standard deviations of the panel's
	// group-varying coefficients (the true sd_1[...] values).
	transformGroupSD = map[string]float64{
		"(Intercept)": 800, "m_tv": 200, "m_search": 150, "m_social": 80,
	}
)

const transformNoiseSD = 150

// transformControls are the example's non-media terms in formula order.
var transformControls = []string{"trend", "seasonality", "brand_metric"}

// transformsExample simulates the --transforms variant of the examples: markets == 0 is the
// single-market BLM example, otherwise a panel of that many markets whose intercept and
// media coefficients vary by market. The media enter the KPI through exampleTransforms
// (adstock within each market, rows before its first counting as zero spend, then Hill).
func transformsExample(markets, weeks int, seed uint64) *Example {
	panel := markets > 0
	nm := max(markets, 1)
	rng := rand.New(rand.NewPCG(seed, seed^0x7a3d5eed))
	start := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)

	coef := map[string]float64{}
	for k, v := range transformCoefficients {
		coef[k] = v
	}
	truth := Truth{Coefficients: coef, NoiseSD: transformNoiseSD, Weeks: weeks, Seed: seed,
		Transforms: map[string]float64{}, FixedTransforms: map[string]float64{}}
	for _, mt := range exampleTransforms {
		put := func(kind string, v float64, est bool) {
			name := ingest.TransformParamName(kind, mt.column)
			if est {
				truth.Transforms[name] = v
			} else {
				truth.FixedTransforms[name] = v
			}
		}
		if mt.adstock {
			put(ingest.DecayParam, mt.decay, mt.estDecay)
		}
		if mt.hill {
			put(ingest.HalfSaturationParam, mt.half, mt.estHalf)
			put(ingest.ShapeParam, mt.shape, mt.estShape)
		}
	}
	varying := append([]string{"(Intercept)"}, panelMedia...)
	if panel {
		truth.Markets = markets
		truth.GroupSD = map[string]float64{}
		truth.GroupCoefficients = map[string]float64{}
		for _, t := range varying {
			truth.GroupSD["sd_1["+t+"]"] = transformGroupSD[t]
		}
	}

	var buf bytes.Buffer
	buf.WriteString("date,")
	if panel {
		buf.WriteString("market,")
	}
	buf.WriteString("kpi_value," + strings.Join(transformControls, ",") + "," + strings.Join(panelMedia, ",") + "\n")
	for g := range nm {
		// The market's coefficients and spend level; one market has the population values.
		mc := map[string]float64{}
		scale := 1.0
		for _, t := range varying {
			mc[t] = transformCoefficients[t]
		}
		if panel {
			scale = 0.6 + 0.8*rng.Float64()
			for _, t := range varying {
				mc[t] += transformGroupSD[t] * rng.NormFloat64()
				truth.GroupCoefficients[t+"[market="+marketName(g)+"]"] = mc[t]
			}
		}
		raw := map[string][]float64{}
		for _, t := range append(transformControls, panelMedia...) {
			raw[t] = make([]float64, weeks)
		}
		brand := 50.0
		tvOn, tvLevel, socialOn := false, 0.0, false
		for w := range weeks {
			season := math.Sin(2 * math.Pi * float64(w) / 52)
			raw["trend"][w] = float64(w) / 52
			raw["seasonality"][w] = season
			brand = 50 + 0.7*(brand-50) + rng.NormFloat64()*2
			raw["brand_metric"][w] = brand
			if w%6 == 0 { // TV flights are planned in six-week blocks
				tvOn = rng.Float64() < 0.5
				// Each flight has its own weight, from light to heavy, so that the
				// weeks span the Hill curve from its foot (h ≈ 0.05) to near its top
				// (h ≈ 0.9) and its half saturation and shape are identified.
				tvLevel = 15 + 165*rng.Float64()
			}
			if tvOn { // off the air between flights: no spend
				raw["m_tv"][w] = scale * tvLevel * (0.8 + 0.4*rng.Float64())
			}
			if w%4 == 0 { // social campaigns run in four-week bursts, dark in between
				socialOn = rng.Float64() < 0.6
			}
			// Search moves week to week, independently of the season, over a wide range
			// (median 30, 90% of weeks within a factor 6 of it); social likewise while a
			// burst is on (median 25). The dark weeks, where adstock decays towards 0, and
			// the weeks near saturation pin the Hill curves' ends, so their shapes are not
			// traded for the coefficients (a low shape with a high coefficient is nearly
			// a log response over a narrow range).
			raw["m_search"][w] = scale * 30 * math.Exp(1.1*rng.NormFloat64())
			if socialOn {
				raw["m_social"][w] = scale * 25 * math.Exp(0.9*rng.NormFloat64())
			}
		}
		y := make([]float64, weeks)
		for w := range y {
			y[w] = mc["(Intercept)"] + transformNoiseSD*rng.NormFloat64()
			for _, t := range transformControls {
				y[w] += transformCoefficients[t] * raw[t][w]
			}
		}
		for _, mt := range exampleTransforms {
			for w, h := range mt.apply(raw[mt.column]) {
				y[w] += mc[mt.column] * h
			}
		}
		for w := range weeks {
			buf.WriteString(start.AddDate(0, 0, 7*w).Format("2006-01-02"))
			if panel {
				buf.WriteString("," + marketName(g))
			}
			buf.WriteString("," + strconv.FormatFloat(y[w], 'f', 4, 64))
			for _, t := range append(transformControls, panelMedia...) {
				buf.WriteString("," + strconv.FormatFloat(raw[t][w], 'f', 4, 64))
			}
			buf.WriteByte('\n')
		}
	}
	return &Example{CSV: buf.Bytes(), Truth: truth, Config: []byte(transformsConfig(panel))}
}

// apply transforms one market's column x (in date order) as the model does: normalised
// geometric adstock, w_l = decay^l / Σ_{j=0..L} decay^j, with the weeks before the first
// counting as zero, then h(a) = a^shape / (a^shape + half^shape).
func (mt mediaTransform) apply(x []float64) []float64 {
	a := append([]float64(nil), x...)
	if mt.adstock {
		var sum float64
		for j := 0; j <= mt.maxLag; j++ {
			sum += math.Pow(mt.decay, float64(j))
		}
		for t := range x {
			a[t] = 0
			for l := 0; l <= mt.maxLag && l <= t; l++ {
				a[t] += math.Pow(mt.decay, float64(l)) / sum * x[t-l]
			}
		}
	}
	if mt.hill {
		for t, v := range a {
			if v > 0 {
				a[t] = math.Pow(v, mt.shape) / (math.Pow(v, mt.shape) + math.Pow(mt.half, mt.shape))
			}
		}
	}
	return a
}

// transformsSection is the config's transforms section for exampleTransforms: estimate for
// the estimated parameters, the true value for the fixed ones.
func transformsSection() string {
	val := func(v float64, est bool) string {
		if est {
			return "estimate"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	var b strings.Builder
	b.WriteString("transforms:               # true values in truth.json; estimate samples a parameter\n")
	for _, mt := range exampleTransforms {
		fmt.Fprintf(&b, "  %s:\n", mt.column)
		if mt.adstock {
			fmt.Fprintf(&b, "    adstock: { type: geometric, decay: %s, max_lag: %d }\n", val(mt.decay, mt.estDecay), mt.maxLag)
		}
		if mt.hill {
			fmt.Fprintf(&b, "    saturation: { type: hill, half_saturation: %s, shape: %s }\n", val(mt.half, mt.estHalf), val(mt.shape, mt.estShape))
		}
	}
	return b.String()
}

// transformsConfig is the run config of the --transforms examples.
func transformsConfig(panel bool) string {
	name, formula, what, per := "example_blm_transforms", "kpi_value ~ trend + seasonality + brand_metric + m_tv + m_search + m_social", "single-market", "per week"
	if panel {
		name, formula, what, per = "example_hierarchical_transforms", ">-\n    "+panelFormula, "panel", "per week and market"
	}
	return `# dsamstan run config for the simulated ` + what + ` example with media transforms.
# Fit it with:  dsamstan run config.yaml
schema_version: 1
data:
  path: data.csv
  date_var: date            # adstock runs along the dates
model:
  name: ` + name + `
  formula: ` + formula + `
  scale: true
  kpi_type: revenue
` + transformsSection() + `boundaries:
  overrides:                # media cannot reduce the KPI
    - { parameter: m_tv, lower: 0, upper: .Inf }
    - { parameter: m_search, lower: 0, upper: .Inf }
    - { parameter: m_social, lower: 0, upper: .Inf }
fit:
  method: mcmc
  mcmc:
    chains: 4
    iter: 2000
    warmup: 1000
    seed: 123
allocation:                 # the response curves are the model's own (steady-state Hill curves)
  channels:
    - { term: m_tv, name: tv, spend_col: m_tv, bounds: { min: 20, max: 100 } }
    - { term: m_search, name: search, spend_col: m_search, bounds: { min: 10, max: 60 } }
    - { term: m_social, name: social, spend_col: m_social, bounds: { min: 5, max: 40 } }
  budget_total: 100         # ` + per + `, in the data's units
outputs:
  root_dir: results
`
}
