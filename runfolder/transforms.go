package runfolder

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// TransformColumn is one transformed column of transform_assumptions.txt: the column and
// what was done to it, in words, and whether the model estimates any of its parameters.
type TransformColumn struct {
	Column, Description string
	Estimated           bool
}

// WriteTransformAssumptions writes 10_pre_run/transform_assumptions.txt: the media transforms
// the run assumed, one line per column, or a line saying there were none.
func WriteTransformAssumptions(w io.Writer, columns []TransformColumn) error {
	var b strings.Builder
	switch {
	case len(columns) == 0:
		b.WriteString("No media transforms: every term enters the model linearly in its own column.\n")
	case slices.ContainsFunc(columns, func(c TransformColumn) bool { return c.Estimated }):
		b.WriteString("Media transforms (adstock, then saturation), each parameter fixed before fitting or estimated with the model under the prior stated; each column's coefficient multiplies its transformed values.\n")
	default:
		b.WriteString("Media transforms, fixed before fitting (adstock, then saturation); each column's coefficient multiplies its transformed values.\n")
	}
	if len(columns) > 0 {
		for _, c := range columns {
			fmt.Fprintf(&b, "%s: %s\n", c.Column, c.Description)
		}
		b.WriteString("Every other term enters the model linearly in its own column.\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("runfolder: writing %s: %w", TransformAssumptionsFile, err)
	}
	return nil
}
