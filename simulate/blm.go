package simulate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"strconv"
	"time"
)

// BLMOptions sets the size and seed of the single-market example.
type BLMOptions struct {
	Weeks int    // number of weekly rows (default 156)
	Seed  uint64 // RNG seed (default 42)
	// Transforms simulates media that act through adstock and Hill saturation with known
	// parameters, and writes a config that estimates them.
	Transforms bool
}

// Truth is the set of true parameters a simulated dataset was drawn from, in original units.
type Truth struct {
	// Coefficients are the population coefficients, named as in the outputs.
	Coefficients map[string]float64 `json:"coefficients"`
	NoiseSD      float64            `json:"noise_sd"`
	Weeks        int                `json:"weeks"`
	Seed         uint64             `json:"seed"`
	// Panels only: the number of markets, the true group scales (sd_1[m_tv]) and every
	// market's actual coefficients (m_tv[market=north]).
	Markets           int                `json:"markets,omitempty"`
	GroupSD           map[string]float64 `json:"group_sd,omitempty"`
	GroupCoefficients map[string]float64 `json:"group_coefficients,omitempty"`
	// Examples with media transforms only: the true values of the transform parameters the
	// config estimates, named as in the outputs (adstock_decay[m_tv], half_saturation[m_tv],
	// hill_shape[m_tv]), and those it fixes at their true values. The media coefficients
	// then multiply the transformed columns.
	Transforms      map[string]float64 `json:"transforms,omitempty"`
	FixedTransforms map[string]float64 `json:"fixed_transforms,omitempty"`
	// Pooled examples only: the true pooled_mean and level effects
	// (pooled_effect[channel=tv]) from which the pooled coefficients were built, each being
	// pooled_mean plus its levels' effects plus a deviation of its own. The scales
	// sd_<dimension> and sd_term have no single true value.
	Pooled map[string]float64 `json:"pooled,omitempty"`
}

// Example is a simulated dataset together with its truth and a run config that fits it.
type Example struct {
	CSV    []byte
	Truth  Truth
	Config []byte
	// Extra are further files to write beside config.yaml, by name.
	Extra map[string][]byte
}

// blmTerms are the example's predictors in formula order.
var blmTerms = []string{"trend", "seasonality", "brand_metric", "m_tv", "m_search", "m_social"}

// blmCoefficients are the true effects: KPI units per unit of each column. The media
// columns are weekly spend in thousands, so m_tv = 6 means 6 KPI units per thousand spent.
var blmCoefficients = map[string]float64{
	"(Intercept)":  5000,
	"trend":        300,
	"seasonality":  400,
	"brand_metric": 20,
	"m_tv":         6,
	"m_search":     15,
	"m_social":     9,
}

const blmNoiseSD = 150

// BLM simulates one market's weekly KPI: a linear model in trend, seasonality, a brand
// metric and three media spends, with Gaussian noise. TV runs in flights (on/off bursts),
// search follows the season, social is steady with noise: enough independent variation for
// every coefficient to be identified from 156 weeks.
func BLM(opts BLMOptions) (*Example, error) {
	if opts.Weeks == 0 {
		opts.Weeks = 156
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	if opts.Weeks < 20 {
		return nil, fmt.Errorf("simulate: --weeks is %d; need at least 20 weeks for 7 coefficients", opts.Weeks)
	}
	if opts.Transforms {
		return transformsExample(0, opts.Weeks, opts.Seed), nil
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	start := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC) // a Monday

	var buf bytes.Buffer
	buf.WriteString("date,kpi_value")
	for _, t := range blmTerms {
		buf.WriteString("," + t)
	}
	buf.WriteByte('\n')

	brand := 50.0
	tvOn := false
	for w := 0; w < opts.Weeks; w++ {
		x := map[string]float64{}
		x["trend"] = float64(w) / 52
		x["seasonality"] = math.Sin(2 * math.Pi * float64(w) / 52)
		brand = 50 + 0.7*(brand-50) + rng.NormFloat64()*2
		x["brand_metric"] = brand
		if w%6 == 0 { // TV flights are planned in six-week blocks
			tvOn = rng.Float64() < 0.55
		}
		if tvOn {
			x["m_tv"] = 80 + 40*rng.Float64()
		} else {
			x["m_tv"] = 5 * rng.Float64()
		}
		x["m_search"] = math.Max(0, 30+10*x["seasonality"]+rng.NormFloat64()*6)
		x["m_social"] = math.Max(0, 20+rng.NormFloat64()*5)

		y := blmCoefficients["(Intercept)"] + rng.NormFloat64()*blmNoiseSD
		for _, t := range blmTerms {
			y += blmCoefficients[t] * x[t]
		}
		buf.WriteString(start.AddDate(0, 0, 7*w).Format("2006-01-02"))
		buf.WriteString("," + strconv.FormatFloat(y, 'f', 4, 64))
		for _, t := range blmTerms {
			buf.WriteString("," + strconv.FormatFloat(x[t], 'f', 4, 64))
		}
		buf.WriteByte('\n')
	}

	coef := map[string]float64{}
	for k, v := range blmCoefficients {
		coef[k] = v
	}
	return &Example{
		CSV:    buf.Bytes(),
		Truth:  Truth{Coefficients: coef, NoiseSD: blmNoiseSD, Weeks: opts.Weeks, Seed: opts.Seed},
		Config: []byte(blmConfig),
	}, nil
}

const blmConfig = `# dsamstan run config for the simulated single-market example.
# Fit it with:  dsamstan run config.yaml
schema_version: 1
data:
  path: data.csv          # relative to this file
  date_var: date
  na_action: omit
model:
  name: example_blm
  formula: kpi_value ~ trend + seasonality + brand_metric + m_tv + m_search + m_social
  scale: true
  kpi_type: revenue
priors:
  use_defaults: true      # normal(0, 5) on the standardised scale
boundaries:
  overrides:              # media cannot reduce the KPI
    - { parameter: m_tv, lower: 0, upper: .Inf }
    - { parameter: m_search, lower: 0, upper: .Inf }
    - { parameter: m_social, lower: 0, upper: .Inf }
fit:
  method: mcmc
  mcmc:
    chains: 4
    iter: 2000            # includes warmup, as in rstan
    warmup: 1000
    seed: 123
allocation:               # budget optimisation on the fitted coefficients
  # The model's media columns are the weekly spends themselves (identity responses), so
  # the problem is linear and the optimiser returns the corner solution within the bounds.
  channels:
    - { term: m_tv, name: tv, spend_col: m_tv, bounds: { min: 30, max: 90 } }
    - { term: m_search, name: search, spend_col: m_search, bounds: { min: 15, max: 45 } }
    - { term: m_social, name: social, spend_col: m_social, bounds: { min: 10, max: 30 } }
  budget_total: 110         # per week, in the data's units (thousands)
outputs:
  root_dir: results
`

// Write puts data.csv, truth.json and config.yaml into dir, creating it. Existing files of
// those names are replaced; each file is written to a temporary name and renamed, so a
// failure never leaves a half-written file behind.
func (e *Example) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	truth, err := json.MarshalIndent(e.Truth, "", "  ")
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{{"data.csv", e.CSV}, {"truth.json", append(truth, '\n')}, {"config.yaml", e.Config}}
	for _, name := range slices.Sorted(maps.Keys(e.Extra)) {
		files = append(files, struct {
			name string
			data []byte
		}{name, e.Extra[name]})
	}
	for _, f := range files {
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	return nil
}
