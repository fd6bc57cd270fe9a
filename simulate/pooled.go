package simulate

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// PooledOptions sets the size and seed of the pooled example.
type PooledOptions struct {
	Weeks int    // number of weekly rows (default 156)
	Seed  uint64 // RNG seed (default 42)
}

// pooledTerms are the pooled example's media terms with their levels in the map's two
// dimensions, channel and campaign, in map order.
var pooledTerms = []struct{ term, channel, campaign string }{
	{"m_tv_brand", "tv", "brand"},
	{"m_tv_product", "tv", "product"},
	{"m_search_brand", "search", "brand"},
	{"m_search_product", "search", "product"},
}

// The pooled example's truth: each media coefficient (KPI units per thousand spent) is
// pooledMean plus its channel's and its campaign's effect plus its own deviation.
var (
	pooledMean    = 8.0
	pooledEffects = map[string]float64{
		"pooled_effect[channel=tv]": 2, "pooled_effect[channel=search]": -2,
		"pooled_effect[campaign=brand]": 1, "pooled_effect[campaign=product]": -1,
	}
	pooledDeviation = map[string]float64{
		"m_tv_brand": 0.5, "m_tv_product": -0.3, "m_search_brand": -0.4, "m_search_product": 0.2,
	}
	pooledBase = map[string]float64{"(Intercept)": 5000, "trend": 300, "seasonality": 400}
)

const pooledNoiseSD = 150

// Pooled simulates one market's weekly KPI driven by trend, seasonality and four media
// spends (TV and search, each with a brand and a product campaign) whose coefficients share
// structure: each is pooled_mean + channel effect + campaign effect + its own deviation.
// Each campaign runs in its own flights, so every coefficient is identified from 156 weeks.
// The truth records the coefficients, pooled_mean and the level effects (Truth.Pooled).
func Pooled(opts PooledOptions) (*Example, error) {
	if opts.Weeks == 0 {
		opts.Weeks = 156
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	if opts.Weeks < 20 {
		return nil, fmt.Errorf("simulate: --weeks is %d; need at least 20 weeks for 7 coefficients", opts.Weeks)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	start := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC) // a Monday
	coef := maps.Clone(pooledBase)
	for _, t := range pooledTerms {
		coef[t.term] = pooledMean + pooledEffects["pooled_effect[channel="+t.channel+"]"] +
			pooledEffects["pooled_effect[campaign="+t.campaign+"]"] + pooledDeviation[t.term]
	}
	var buf bytes.Buffer
	buf.WriteString("date,kpi_value,trend,seasonality")
	for _, t := range pooledTerms {
		buf.WriteString("," + t.term)
	}
	buf.WriteByte('\n')
	on := make([]bool, len(pooledTerms))
	for w := 0; w < opts.Weeks; w++ {
		trend := float64(w) / 52
		season := math.Sin(2 * math.Pi * float64(w) / 52)
		y := coef["(Intercept)"] + coef["trend"]*trend + coef["seasonality"]*season + rng.NormFloat64()*pooledNoiseSD
		spend := make([]float64, len(pooledTerms))
		for j, t := range pooledTerms {
			if (w+j)%4 == 0 { // each campaign plans four-week flights, staggered
				on[j] = rng.Float64() < 0.6
			}
			if on[j] {
				spend[j] = 40 + 40*rng.Float64()
			} else {
				spend[j] = 5 * rng.Float64()
			}
			y += coef[t.term] * spend[j]
		}
		buf.WriteString(start.AddDate(0, 0, 7*w).Format("2006-01-02"))
		for _, v := range append([]float64{y, trend, season}, spend...) {
			buf.WriteString("," + strconv.FormatFloat(v, 'f', 4, 64))
		}
		buf.WriteByte('\n')
	}
	pooled := maps.Clone(pooledEffects)
	pooled["pooled_mean"] = pooledMean
	var m bytes.Buffer
	m.WriteString("term,channel,campaign\n")
	for _, t := range pooledTerms {
		fmt.Fprintf(&m, "%s,%s,%s\n", t.term, t.channel, t.campaign)
	}
	return &Example{
		CSV:    buf.Bytes(),
		Truth:  Truth{Coefficients: coef, NoiseSD: pooledNoiseSD, Weeks: opts.Weeks, Seed: opts.Seed, Pooled: pooled},
		Config: []byte(pooledConfig),
		Extra:  map[string][]byte{"pooling_map.csv": m.Bytes()},
	}, nil
}

const pooledConfig = `# dsamstan run config for the simulated pooled example: four media coefficients
# partially pooled across channel (tv, search) and campaign (brand, product).
# Fit it with:  dsamstan run config.yaml
schema_version: 1
data:
  path: data.csv          # relative to this file
  date_var: date
  na_action: omit
model:
  name: example_pooled
  type: pooled            # auto resolves to pooled when pooling.enabled is true
  formula: kpi_value ~ trend + seasonality + m_tv_brand + m_tv_product + m_search_brand + m_search_product
  scale: true
  kpi_type: revenue
pooling:
  enabled: true
  map_path: pooling_map.csv   # columns term, channel, campaign; relative to this file
  grouping_vars: [channel, campaign]
priors:
  use_defaults: true      # the other terms: normal(0, 5) on the standardised scale
  # Four coefficients say little about the pooling scales, so their priors matter: the
  # defaults (pooled_mean normal(0, 5 u), sd_* half_normal(0, u), u = the largest
  # sd(y)/sd(x) of the pooled terms, about 21 here) let sd_term grow until, with the lower
  # bounds at 0, pooled_mean wanders far below 0 (a truncated normal with a low mean is an
  # exponential-like prior near the bound). In KPI units per thousand spent:
  overrides:
    - { parameter: pooled_mean, mean: 0, sd: 20 }
    - { parameter: sd_channel, mean: 0, sd: 5 }
    - { parameter: sd_campaign, mean: 0, sd: 5 }
    - { parameter: sd_term, mean: 0, sd: 2 }
boundaries:
  overrides:              # media cannot reduce the KPI; each pooled coefficient is bounded
    - { parameter: m_tv_brand, lower: 0 }
    - { parameter: m_tv_product, lower: 0 }
    - { parameter: m_search_brand, lower: 0 }
    - { parameter: m_search_product, lower: 0 }
fit:
  method: mcmc
  mcmc:
    chains: 4
    iter: 2000            # includes warmup, as in rstan
    warmup: 1000
    seed: 123
allocation:               # budget optimisation on the fitted per-term coefficients
  channels:
    - { term: m_tv_brand, name: tv_brand, spend_col: m_tv_brand, bounds: { min: 10, max: 80 } }
    - { term: m_tv_product, name: tv_product, spend_col: m_tv_product, bounds: { min: 10, max: 80 } }
    - { term: m_search_brand, name: search_brand, spend_col: m_search_brand, bounds: { min: 10, max: 80 } }
    - { term: m_search_product, name: search_product, spend_col: m_search_product, bounds: { min: 10, max: 80 } }
  budget_total: 160       # per week, in the data's units (thousands)
outputs:
  root_dir: results
`
