package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/summarise"
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
			Lower: r.Lower, Upper: r.Upper, PriorSource: r.PriorSource, BoundSource: r.BoundSource, Source: r.Source,
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

// readPreviousRun reads, when cfg sets priors.from_run, the previous run's posterior
// (posterior_summary.csv) and the parameters it had priors on (priors.csv, when it has one),
// in either layout, and hands them to cfg for BuildSpec.
func readPreviousRun(cfg *ingest.Config) error {
	dir := cfg.Priors.FromRun
	if dir == "" {
		return nil
	}
	at := "priors.from_run"
	if w := cfg.Where(at); w != "" {
		at = w + ": " + at
	}
	f := runfolder.Detect(dir)
	p, ok := f.Find(runfolder.StagePostRun, runfolder.PosteriorSummary)
	if !ok {
		return fmt.Errorf("pipeline: %s: the previous run %s has no %s; point it at a finished MCMC run folder", at, cfg.FromRunWritten(), f.Rel(runfolder.StagePostRun, runfolder.PosteriorSummary))
	}
	rows, err := readFile(p, summarise.ReadCSV)
	if err != nil {
		return fmt.Errorf("pipeline: %s: %w", at, err)
	}
	prev := &ingest.PreviousRun{Posterior: map[string]ingest.Moments{}}
	sds := 0
	for _, r := range rows {
		prev.Posterior[r.Parameter] = ingest.Moments{Mean: r.Mean, SD: r.SD}
		if r.SD > 0 {
			sds++
		}
	}
	if sds == 0 {
		return fmt.Errorf("pipeline: %s: the previous run %s has no posterior sd (an optimise/MAP fit?); priors from a run need an MCMC run", at, cfg.FromRunWritten())
	}
	if pp, ok := f.Find(runfolder.StageMetadata, runfolder.PriorsFile); ok {
		priors, err := readFile(pp, runfolder.ReadPriors)
		if err != nil {
			return fmt.Errorf("pipeline: %s: %w", at, err)
		}
		for _, r := range priors {
			prev.Params = append(prev.Params, r.Parameter)
		}
	}
	cfg.SetPreviousRun(prev)
	return nil
}

// readFile opens path and reads it with read.
func readFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	fh, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer fh.Close()
	v, err := read(fh)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// LoadSpec loads the config at path, the previous run priors.from_run names, the data, and
// builds the model spec: ingest.Load, with priors.from_run read.
func LoadSpec(path string) (*ingest.Config, *ingest.Spec, error) {
	cfg, err := ingest.LoadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	if err := readPreviousRun(cfg); err != nil {
		return cfg, nil, err
	}
	t, err := ingest.LoadData(cfg)
	if err != nil {
		return cfg, nil, err
	}
	spec, err := ingest.BuildSpec(cfg, t)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, spec, nil
}
