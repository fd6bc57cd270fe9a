package pipeline

import (
	"bytes"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/runfolder"
)

// PriorRows converts cfg's prior table for spec (see ingest.Config.PriorTable) into the rows
// of priors.csv, with each prior and bounds also in the sampler's units as the programs map
// them (codegen.SamplerScales).
func PriorRows(cfg *ingest.Config, spec *ingest.Spec) []runfolder.PriorRow {
	scales := codegen.SamplerScales(spec)
	var rows []runfolder.PriorRow
	for _, r := range cfg.PriorTable(spec) {
		p, ok := scales[r.Parameter]
		if !ok {
			p = codegen.Param{Scale: 1} // every parameter has one; the identity otherwise
		}
		rows = append(rows, runfolder.PriorRow{Parameter: r.Parameter, Kind: r.Kind, Family: r.Family, Mean: r.Mean, SD: r.SD,
			Lower: r.Lower, Upper: r.Upper, PriorSource: r.PriorSource, BoundSource: r.BoundSource,
			SamplerMean: p.Scaled(r.Mean), SamplerSD: r.SD / p.Scale, SamplerLower: p.Scaled(r.Lower), SamplerUpper: p.Scaled(r.Upper)})
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

// writeDictionary writes 00_run_metadata/data_dictionary.csv when the config has a data
// dictionary.
func writeDictionary(f runfolder.Folder, spec *ingest.Spec) error {
	if len(spec.Dictionary) == 0 {
		return nil
	}
	rows := make([]runfolder.DictionaryRow, len(spec.Dictionary))
	for i, e := range spec.Dictionary {
		rows[i] = runfolder.DictionaryRow{Term: e.Term, Unit: e.Unit, Cadence: e.Cadence, Source: e.Source, Transform: e.Transform, Rationale: e.Rationale}
	}
	var buf bytes.Buffer
	if err := runfolder.WriteDictionary(&buf, rows); err != nil {
		return err
	}
	return f.Write(runfolder.StageMetadata, runfolder.DictionaryFile, buf.Bytes())
}
