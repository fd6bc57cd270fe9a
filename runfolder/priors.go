package runfolder

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/dsamstan/dsamstan/internal/csvtab"
	"github.com/dsamstan/dsamstan/internal/num"
)

// PriorsFile is 00_run_metadata/priors.csv: every parameter's effective prior and bounds in
// original units, the same in the units the sampler sees (sampler_*), and where each came
// from (prior_source and bound_source in words, source as a class: default, config, ols,
// override or run:<previous run folder>).
const PriorsFile = "priors.csv"

// PriorsHeader is the header of priors.csv.
var PriorsHeader = []string{"parameter", "kind", "family", "mean", "sd", "lower", "upper", "prior_source", "bound_source",
	"sampler_mean", "sampler_sd", "sampler_lower", "sampler_upper", "source"}

// priorsHeaderV1 is the header of priors.csv before it had the source column.
var priorsHeaderV1 = PriorsHeader[:len(PriorsHeader)-1]

// PriorRow is one row of priors.csv (see PriorsHeader).
type PriorRow struct {
	Parameter, Kind, Family  string
	Mean, SD, Lower, Upper   float64
	PriorSource, BoundSource string
	// SamplerMean … SamplerUpper are Mean … Upper in the units the sampler sees (the
	// standardised space when model.scale is true), the prior's family unchanged.
	SamplerMean, SamplerSD, SamplerLower, SamplerUpper float64
	// Source classifies where the prior came from (see ingest.PriorRow.Source); "" in a
	// priors.csv written before the column existed.
	Source string
}

// WritePriors writes priors.csv: one row per parameter, numbers in their shortest exact form
// and infinities as Inf and -Inf.
func WritePriors(w io.Writer, rows []PriorRow) error {
	cw := csv.NewWriter(w)
	cw.Write(PriorsHeader)
	for _, r := range rows {
		cw.Write([]string{r.Parameter, r.Kind, r.Family, num.Format(r.Mean), num.Format(r.SD), num.Format(r.Lower), num.Format(r.Upper), r.PriorSource, r.BoundSource,
			num.Format(r.SamplerMean), num.Format(r.SamplerSD), num.Format(r.SamplerLower), num.Format(r.SamplerUpper), r.Source})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("runfolder: writing %s: %w", PriorsFile, err)
	}
	return nil
}

// ReadPriors reads priors.csv, also as written before it had the source column (Source
// is then "").
func ReadPriors(r io.Reader) ([]PriorRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("runfolder: %s: %w", PriorsFile, err)
	}
	recs, err := csvtab.Read(bytes.NewReader(data), PriorsHeader)
	if err != nil {
		var errV1 error
		if recs, errV1 = csvtab.Read(bytes.NewReader(data), priorsHeaderV1); errV1 != nil {
			return nil, fmt.Errorf("runfolder: %s: %w", PriorsFile, err)
		}
	}
	rows := make([]PriorRow, len(recs))
	for i, rec := range recs {
		var v [8]float64
		for j, k := range []int{3, 4, 5, 6, 9, 10, 11, 12} {
			if v[j], err = strconv.ParseFloat(rec[k], 64); err != nil {
				return nil, fmt.Errorf("runfolder: %s: row %d, %s: %q is not a number", PriorsFile, i+1, PriorsHeader[k], rec[k])
			}
		}
		rows[i] = PriorRow{Parameter: rec[0], Kind: rec[1], Family: rec[2], Mean: v[0], SD: v[1], Lower: v[2], Upper: v[3],
			PriorSource: rec[7], BoundSource: rec[8], SamplerMean: v[4], SamplerSD: v[5], SamplerLower: v[6], SamplerUpper: v[7]}
		if len(rec) > len(priorsHeaderV1) {
			rows[i].Source = rec[len(priorsHeaderV1)]
		}
	}
	return rows, nil
}
