package runfolder

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/dsamstan/dsamstan/internal/csvtab"
	"github.com/dsamstan/dsamstan/internal/num"
)

// PriorsFile is 00_run_metadata/priors.csv: every parameter's effective prior and bounds in
// original units, the same in the units the sampler sees (sampler_*), and where each came
// from.
const PriorsFile = "priors.csv"

// PriorsHeader is the header of priors.csv.
var PriorsHeader = []string{"parameter", "kind", "family", "mean", "sd", "lower", "upper", "prior_source", "bound_source",
	"sampler_mean", "sampler_sd", "sampler_lower", "sampler_upper"}

// PriorRow is one row of priors.csv (see PriorsHeader).
type PriorRow struct {
	Parameter, Kind, Family  string
	Mean, SD, Lower, Upper   float64
	PriorSource, BoundSource string
	// SamplerMean … SamplerUpper are Mean … Upper in the units the sampler sees (the
	// standardised space when model.scale is true), the prior's family unchanged.
	SamplerMean, SamplerSD, SamplerLower, SamplerUpper float64
}

// WritePriors writes priors.csv: one row per parameter, numbers in their shortest exact form
// and infinities as Inf and -Inf.
func WritePriors(w io.Writer, rows []PriorRow) error {
	cw := csv.NewWriter(w)
	cw.Write(PriorsHeader)
	for _, r := range rows {
		cw.Write([]string{r.Parameter, r.Kind, r.Family, num.Format(r.Mean), num.Format(r.SD), num.Format(r.Lower), num.Format(r.Upper), r.PriorSource, r.BoundSource,
			num.Format(r.SamplerMean), num.Format(r.SamplerSD), num.Format(r.SamplerLower), num.Format(r.SamplerUpper)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("runfolder: writing %s: %w", PriorsFile, err)
	}
	return nil
}

// ReadPriors reads priors.csv.
func ReadPriors(r io.Reader) ([]PriorRow, error) {
	recs, err := csvtab.Read(r, PriorsHeader)
	if err != nil {
		return nil, fmt.Errorf("runfolder: %s: %w", PriorsFile, err)
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
	}
	return rows, nil
}
