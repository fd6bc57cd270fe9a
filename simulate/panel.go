package simulate

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// PanelOptions sets the size and seed of the hierarchical example.
type PanelOptions struct {
	Markets int    // number of markets (default 8)
	Weeks   int    // weekly rows per market (default 156)
	Seed    uint64 // RNG seed (default 42)
	// CRE writes the variant CRE exists for: each market's baseline rises with its mean TV
	// spend, and TV is always on at a market-specific level (±1% week to week), so TV
	// varies far more between markets than within them. TV's effect is the same in every
	// market, and the formula varies only the intercept, search and social by market.
	CRE bool
	// Transforms simulates media that act through adstock (within each market) and Hill
	// saturation with known parameters, and writes a config that estimates them.
	Transforms bool
}

// panelMedia are the group-varying media terms of the example, in formula order.
var panelMedia = []string{"m_tv", "m_search", "m_social"}

// Population effects of the panel example and the between-market standard deviations of
// the group-varying ones (the true sd_1[...] values).
var (
	panelPopulation = map[string]float64{
		"(Intercept)": 5000, "trend": 300, "seasonality": 400, "brand_metric": 20,
		"m_tv": 6, "m_search": 15, "m_social": 9,
	}
	panelGroupSD = map[string]float64{
		"(Intercept)": 800, "m_tv": 1.5, "m_search": 3, "m_social": 2,
	}
)

const (
	panelNoiseSD = 150
	// creBaselinePerTV is how many KPI units a market's baseline rises per unit of its
	// mean TV spend in the CRE variant: the confounding a plain random-effects model
	// mistakes for a TV effect.
	creBaselinePerTV = 25
)

var marketNames = []string{"north", "south", "east", "west", "central", "coast", "mountain", "valley"}

// marketName names market g: the first eight have place names, the rest m09, m10, ….
func marketName(g int) string {
	if g < len(marketNames) {
		return marketNames[g]
	}
	return fmt.Sprintf("m%02d", g+1)
}

// Hierarchical simulates a weekly panel of markets: every market shares the trend,
// seasonality and brand effects; the intercept and the three media slopes vary by market
// around population values with known group standard deviations. The truth records the
// population coefficients, the group scales sd_1[term] and every market's actual intercept
// and slopes (the draws of this dataset, not their expectation).
func Hierarchical(opts PanelOptions) (*Example, error) {
	if opts.Markets == 0 {
		opts.Markets = 8
	}
	if opts.Weeks == 0 {
		opts.Weeks = 156
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	if opts.Markets < 2 {
		return nil, fmt.Errorf("simulate: --markets is %d; a panel needs at least 2 markets", opts.Markets)
	}
	if opts.Weeks < 20 {
		return nil, fmt.Errorf("simulate: --weeks is %d; need at least 20 weeks per market", opts.Weeks)
	}
	if opts.Transforms {
		if opts.CRE {
			return nil, fmt.Errorf("simulate: --cre and --transforms cannot be combined; choose one")
		}
		return transformsExample(opts.Markets, opts.Weeks, opts.Seed), nil
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x51ed27a1c0ffee))
	start := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)

	coef := map[string]float64{}
	for k, v := range panelPopulation {
		coef[k] = v
	}
	groupSD := map[string]float64{}
	for k, v := range panelGroupSD {
		groupSD["sd_1["+k+"]"] = v
	}
	perGroup := map[string]float64{}

	// Market-level draws first, so that the CRE variant can tie baselines to TV levels.
	type market struct {
		name    string
		scale   float64            // media spend level of the market
		tvLevel float64            // CRE variant: the market's always-on TV level
		coef    map[string]float64 // intercept and media slopes of this market
	}
	ms := make([]market, opts.Markets)
	var tvMean float64
	for g := range ms {
		m := market{name: marketName(g), scale: 0.6 + 0.8*rng.Float64(), coef: map[string]float64{}}
		m.tvLevel = 20 + 130*rng.Float64()
		tvMean += m.tvLevel / float64(opts.Markets)
		for _, t := range append([]string{"(Intercept)"}, panelMedia...) {
			m.coef[t] = panelPopulation[t] + panelGroupSD[t]*rng.NormFloat64()
		}
		ms[g] = m
	}
	if opts.CRE {
		// Baselines follow mean TV spend, whose effect is the same in every market; the
		// random part of the intercept is small.
		for g := range ms {
			ms[g].coef["(Intercept)"] = panelPopulation["(Intercept)"] +
				creBaselinePerTV*(ms[g].tvLevel-tvMean) + 50*rng.NormFloat64()
			ms[g].coef["m_tv"] = panelPopulation["m_tv"]
		}
		coef["cre_mean_m_tv"] = creBaselinePerTV
		groupSD["sd_1[(Intercept)]"] = 50
		delete(groupSD, "sd_1[m_tv]")
	}

	var buf bytes.Buffer
	buf.WriteString("date,market,kpi_value,trend,seasonality,brand_metric," + strings.Join(panelMedia, ",") + "\n")
	varying := []string{"(Intercept)", "m_tv", "m_search", "m_social"}
	if opts.CRE {
		varying = []string{"(Intercept)", "m_search", "m_social"}
	}
	for _, m := range ms {
		for _, t := range varying {
			perGroup[t+"[market="+m.name+"]"] = m.coef[t]
		}
		brand := 50.0
		tvOn := false
		for w := 0; w < opts.Weeks; w++ {
			x := map[string]float64{}
			x["trend"] = float64(w) / 52
			x["seasonality"] = math.Sin(2 * math.Pi * float64(w) / 52)
			brand = 50 + 0.7*(brand-50) + rng.NormFloat64()*2
			x["brand_metric"] = brand
			if opts.CRE {
				x["m_tv"] = m.tvLevel * (1 + 0.01*rng.NormFloat64())
			} else {
				if w%6 == 0 {
					tvOn = rng.Float64() < 0.55
				}
				if tvOn {
					x["m_tv"] = m.scale * (80 + 40*rng.Float64())
				} else {
					x["m_tv"] = m.scale * 5 * rng.Float64()
				}
			}
			x["m_search"] = m.scale * math.Max(0, 30+10*x["seasonality"]+rng.NormFloat64()*6)
			x["m_social"] = m.scale * math.Max(0, 20+rng.NormFloat64()*5)

			y := m.coef["(Intercept)"] + rng.NormFloat64()*panelNoiseSD
			for _, t := range []string{"trend", "seasonality", "brand_metric"} {
				y += panelPopulation[t] * x[t]
			}
			for _, t := range panelMedia {
				y += m.coef[t] * x[t]
			}
			buf.WriteString(start.AddDate(0, 0, 7*w).Format("2006-01-02") + "," + m.name)
			buf.WriteString("," + strconv.FormatFloat(y, 'f', 4, 64))
			for _, t := range []string{"trend", "seasonality", "brand_metric", "m_tv", "m_search", "m_social"} {
				buf.WriteString("," + strconv.FormatFloat(x[t], 'f', 4, 64))
			}
			buf.WriteByte('\n')
		}
	}
	cfg := panelConfig(false)
	if opts.CRE {
		cfg = panelConfig(true)
	}
	return &Example{
		CSV: buf.Bytes(),
		Truth: Truth{
			Coefficients: coef, NoiseSD: panelNoiseSD, Weeks: opts.Weeks, Seed: opts.Seed,
			Markets: opts.Markets, GroupSD: groupSD, GroupCoefficients: perGroup,
		},
		Config: []byte(cfg),
		Extra:  extraConfigs(opts.CRE),
	}, nil
}

const (
	panelFormula = "kpi_value ~ trend + seasonality + brand_metric + m_tv + m_search + m_social\n" +
		"    + (1 + m_tv + m_search + m_social | market)"
	// In the CRE variant TV has one effect everywhere; its market means carry the
	// confounded baselines.
	creFormula = "kpi_value ~ trend + seasonality + brand_metric + m_tv + m_search + m_social\n" +
		"    + (1 + m_search + m_social | market)"
)

func panelConfig(cre bool) string {
	name, creBlock, formula := "example_hierarchical", "", panelFormula
	if cre {
		name, formula = "example_cre", creFormula
		creBlock = `cre:                      # Mundlak: market means of TV spend as a population term
  enabled: true
  vars: [m_tv]
  group: market
`
	}
	return `# dsamstan run config for the simulated panel example.
# Fit it with:  dsamstan run config.yaml
schema_version: 1
data:
  path: data.csv
  date_var: date
model:
  name: ` + name + `
  formula: >-
    ` + formula + `
  scale: true
` + creBlock + `boundaries:
  overrides:                # media cannot reduce the KPI (population coefficients)
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
allocation:                 # budget optimisation on the population-level coefficients
  channels:
    - { term: m_tv, name: tv, spend_col: m_tv, bounds: { min: 30, max: 90 } }
    - { term: m_search, name: search, spend_col: m_search, bounds: { min: 15, max: 45 } }
    - { term: m_social, name: social, spend_col: m_social, bounds: { min: 10, max: 30 } }
  budget_total: 110         # per week and market, in the data's units
outputs:
  root_dir: results
`
}

// extraConfigs are further configs written beside config.yaml: the CRE variant also gets
// the plain random-effects config, so the two fits can be compared on the same data.
func extraConfigs(cre bool) map[string][]byte {
	if !cre {
		return nil
	}
	re := strings.Replace(panelConfig(false), "name: example_hierarchical", "name: example_cre_as_re", 1)
	re = strings.Replace(re, panelFormula, creFormula, 1)
	return map[string][]byte{"config_re.yaml": []byte(re)}
}
