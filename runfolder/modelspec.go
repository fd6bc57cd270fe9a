package runfolder

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/dsamstan/dsamstan/ingest"
)

// ModelSpec is 10_pre_run/model_spec.json: what the report needs to know about the model
// and its data, written by the pipeline once the data are loaded, so that the report draws
// from the run folder alone and never reads the data file again (which may have moved or
// changed since the run).
type ModelSpec struct {
	// DataFile is the base name of the data file the run read.
	DataFile string `json:"data_file"`
	// Rows is the number of rows the model was fitted to.
	Rows int `json:"rows"`
	// DateVar is data.date_var ("" without one).
	DateVar string `json:"date_var,omitempty"`
	// Terms are the population terms in design order, with their priors and bounds in
	// original units.
	Terms []SpecTerm `json:"terms"`
	// Groups are the grouping factors of a panel model.
	Groups []SpecGroup `json:"groups,omitempty"`
	// Channels are the allocation channels with their defaults applied (name = term,
	// spend_col = name); nil without an allocation section.
	Channels []SpecChannel `json:"channels,omitempty"`
	// MediaSpendFromChannels is true when media_spend.csv holds the channels' spend
	// columns, false when it holds the model's m_* columns.
	MediaSpendFromChannels bool `json:"media_spend_from_channels"`
	// Transforms are the media transforms of the terms, in term order; nil without any.
	Transforms []SpecTransform `json:"transforms,omitempty"`
}

// SpecTransform is one term's media transform (see ingest.Transform): geometric adstock or
// none, then Hill saturation or none. A fixed parameter has its value; an estimated one has
// its prior instead (the value is then left out).
type SpecTransform struct {
	Column string `json:"column"`
	// Adstock is geometric or none; Decay and MaxLag are set for geometric.
	Adstock    string     `json:"adstock"`
	Decay      *Num       `json:"decay,omitempty"`
	DecayPrior *SpecPrior `json:"decay_prior,omitempty"`
	MaxLag     *int       `json:"max_lag,omitempty"`
	// Saturation is hill or none; HalfSaturation (in the column's units) and Shape are set
	// for hill.
	Saturation          string     `json:"saturation"`
	HalfSaturation      *Num       `json:"half_saturation,omitempty"`
	HalfSaturationPrior *SpecPrior `json:"half_saturation_prior,omitempty"`
	Shape               *Num       `json:"shape,omitempty"`
	ShapePrior          *SpecPrior `json:"shape_prior,omitempty"`
}

// SpecPrior is the prior of an estimated transform parameter (see ingest.TransformPrior):
// beta(a, b), lognormal(meanlog a, sdlog b) or gamma(shape a, rate b), in original units.
type SpecPrior struct {
	Family string `json:"family"`
	A      Num    `json:"a"`
	B      Num    `json:"b"`
	// Default is true for the default prior, false for one from priors.overrides.
	Default bool `json:"default"`
}

// SpecTransforms describes a spec's transforms (ingest.Spec.Transforms) for
// model_spec.json.
func SpecTransforms(ts []ingest.Transform) []SpecTransform {
	var out []SpecTransform
	value := func(v float64, p *ingest.TransformPrior) (*Num, *SpecPrior) {
		if p != nil {
			return nil, &SpecPrior{Family: p.Family, A: Num(p.A), B: Num(p.B), Default: p.Default}
		}
		n := Num(v)
		return &n, nil
	}
	for _, t := range ts {
		st := SpecTransform{Column: t.Column, Adstock: ingest.TransformNone, Saturation: ingest.TransformNone}
		if t.Adstock {
			lag := t.MaxLag
			st.Adstock, st.MaxLag = ingest.AdstockGeometric, &lag
			st.Decay, st.DecayPrior = value(t.Decay, t.DecayPrior)
		}
		if t.Hill {
			st.Saturation = ingest.SaturationHill
			st.HalfSaturation, st.HalfSaturationPrior = value(t.HalfSaturation, t.HalfSaturationPrior)
			st.Shape, st.ShapePrior = value(t.Shape, t.ShapePrior)
		}
		out = append(out, st)
	}
	return out
}

// SpecTerm is one population term: its normal prior and its bounds (±Inf for an open side).
type SpecTerm struct {
	Name      string `json:"name"`
	Intercept bool   `json:"intercept,omitempty"`
	PriorMean Num    `json:"prior_mean"`
	PriorSD   Num    `json:"prior_sd"`
	Lower     Num    `json:"lower"`
	Upper     Num    `json:"upper"`
}

// SpecGroup is one grouping factor: its levels and the names of its group-varying terms.
type SpecGroup struct {
	Factor string   `json:"factor"`
	Levels []string `json:"levels"`
	Terms  []string `json:"terms"`
}

// SpecChannel is one allocation channel.
type SpecChannel struct {
	Term     string `json:"term"`
	Name     string `json:"name"`
	SpendCol string `json:"spend_col"`
}

// Term returns the term named name and whether there is one.
func (s *ModelSpec) Term(name string) (SpecTerm, bool) {
	for _, t := range s.Terms {
		if t.Name == name {
			return t, true
		}
	}
	return SpecTerm{}, false
}

// Num is a number that JSON carries as R writes it: infinities as "Inf" and "-Inf", NaN as
// "NA"; finite values as JSON numbers.
type Num float64

// MarshalJSON implements json.Marshaler.
func (v Num) MarshalJSON() ([]byte, error) {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return []byte(`"NA"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Num) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "NA", "NaN":
			*v = Num(math.NaN())
		case "Inf", "+Inf":
			*v = Num(math.Inf(1))
		case "-Inf":
			*v = Num(math.Inf(-1))
		default:
			return fmt.Errorf("runfolder: %q is not a number", s)
		}
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("runfolder: %s is not a number", b)
	}
	*v = Num(f)
	return nil
}

// Save writes model_spec.json into the folder's pre-run stage.
func (s *ModelSpec) Save(f Folder) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("runfolder: %s: %w", ModelSpecFile, err)
	}
	return f.Write(StagePreRun, ModelSpecFile, append(b, '\n'))
}

// ReadModelSpec reads the folder's model_spec.json; the error wraps fs.ErrNotExist when
// the run has none (runs written before dsamstan wrote it).
func ReadModelSpec(f Folder) (*ModelSpec, error) {
	p, ok := f.Find(StagePreRun, ModelSpecFile)
	if !ok {
		return nil, fmt.Errorf("runfolder: no %s: %w", f.Rel(StagePreRun, ModelSpecFile), os.ErrNotExist)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("runfolder: %w", err)
	}
	var s ModelSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("runfolder: %s: %w", f.Rel(StagePreRun, ModelSpecFile), err)
	}
	return &s, nil
}
