package runfolder

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/dsamstan/dsamstan/internal/num"
)

// PriorsFile is 00_run_metadata/priors.csv: every parameter's effective prior and bounds in
// original units, and where each came from.
const PriorsFile = "priors.csv"

// PriorsHeader is the header of priors.csv.
var PriorsHeader = []string{"parameter", "kind", "family", "mean", "sd", "lower", "upper", "prior_source", "bound_source"}

// PriorRow is one row of priors.csv (see PriorsHeader).
type PriorRow struct {
	Parameter, Kind, Family  string
	Mean, SD, Lower, Upper   float64
	PriorSource, BoundSource string
}

// WritePriors writes priors.csv: one row per parameter, numbers in their shortest exact form
// and infinities as Inf and -Inf.
func WritePriors(w io.Writer, rows []PriorRow) error {
	cw := csv.NewWriter(w)
	cw.Write(PriorsHeader)
	for _, r := range rows {
		cw.Write([]string{r.Parameter, r.Kind, r.Family, num.Format(r.Mean), num.Format(r.SD), num.Format(r.Lower), num.Format(r.Upper), r.PriorSource, r.BoundSource})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("runfolder: writing %s: %w", PriorsFile, err)
	}
	return nil
}
