package pipeline

import (
	"bytes"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/runfolder"
)

// PriorRows converts cfg's prior table for spec (see ingest.Config.PriorTable) into the rows
// of priors.csv.
func PriorRows(cfg *ingest.Config, spec *ingest.Spec) []runfolder.PriorRow {
	var rows []runfolder.PriorRow
	for _, r := range cfg.PriorTable(spec) {
		rows = append(rows, runfolder.PriorRow{Parameter: r.Parameter, Kind: r.Kind, Family: r.Family, Mean: r.Mean, SD: r.SD,
			Lower: r.Lower, Upper: r.Upper, PriorSource: r.PriorSource, BoundSource: r.BoundSource})
	}
	return rows
}

// writePriors writes 00_run_metadata/priors.csv.
func writePriors(f runfolder.Folder, cfg *ingest.Config, spec *ingest.Spec) error {
	var buf bytes.Buffer
	if err := runfolder.WritePriors(&buf, PriorRows(cfg, spec)); err != nil {
		return err
	}
	return f.Write(runfolder.StageMetadata, runfolder.PriorsFile, buf.Bytes())
}
