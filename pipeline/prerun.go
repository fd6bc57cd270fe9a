package pipeline

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/runfolder"
)

// WritePreRun writes what the report needs from the data and the model spec into the
// folder's 10_pre_run/: model_spec.json (terms, priors, bounds, groups, allocation
// channels), vif.csv, media_spend.csv and transform_assumptions.txt. The report then draws
// from the run folder alone, even when the data file has moved or changed since. t is the
// data file as loaded, spec the model built from it and cfg.
func WritePreRun(f runfolder.Folder, cfg *ingest.Config, t *ingest.Table, spec *ingest.Spec) error {
	ms := modelSpec(cfg, spec)
	spend := mediaSpend(cfg, t, spec, ms)
	if err := ms.Save(f); err != nil {
		return err
	}
	var vifCSV bytes.Buffer
	if err := diagnostics.WriteVIF(&vifCSV, diagnostics.VIFTable(spec)); err != nil {
		return err
	}
	if err := f.Write(runfolder.StagePreRun, runfolder.VIFFile, vifCSV.Bytes()); err != nil {
		return err
	}
	var spendCSV bytes.Buffer
	if err := runfolder.WriteMediaSpend(&spendCSV, spend); err != nil {
		return err
	}
	if err := f.Write(runfolder.StagePreRun, runfolder.MediaSpendFile, spendCSV.Bytes()); err != nil {
		return err
	}
	if !cfg.Outputs.TransformAssumptions() {
		return nil
	}
	var tr bytes.Buffer
	if err := runfolder.WriteTransformAssumptions(&tr, transformColumns(spec)); err != nil {
		return err
	}
	return f.Write(runfolder.StagePreRun, runfolder.TransformAssumptionsFile, tr.Bytes())
}

// transformColumns describes spec's media transforms for transform_assumptions.txt.
func transformColumns(spec *ingest.Spec) []runfolder.TransformColumn {
	var cols []runfolder.TransformColumn
	for _, t := range spec.Transforms {
		cols = append(cols, runfolder.TransformColumn{Column: t.Column, Description: t.Describe(), Estimated: t.Estimated()})
	}
	return cols
}

// modelSpec describes spec and the config's allocation channels for model_spec.json.
func modelSpec(cfg *ingest.Config, spec *ingest.Spec) *runfolder.ModelSpec {
	ms := &runfolder.ModelSpec{
		DataFile: filepath.Base(cfg.Data.Path),
		Rows:     spec.N,
		DateVar:  cfg.Data.DateVar,
	}
	ms.Transforms = runfolder.SpecTransforms(spec.Transforms)
	for k, t := range spec.Terms {
		ms.Terms = append(ms.Terms, runfolder.SpecTerm{
			Name: t.Name, Intercept: t.Intercept,
			PriorMean: runfolder.Num(spec.Priors[k].Mean), PriorSD: runfolder.Num(spec.Priors[k].SD),
			Lower: runfolder.Num(spec.Bounds[k].Lower), Upper: runfolder.Num(spec.Bounds[k].Upper),
		})
	}
	for _, g := range spec.Groups {
		sg := runfolder.SpecGroup{Factor: g.Factor, Levels: g.Levels}
		for _, k := range g.Terms {
			sg.Terms = append(sg.Terms, spec.Terms[k].Name)
		}
		ms.Groups = append(ms.Groups, sg)
	}
	if cfg.Allocation != nil {
		for _, ch := range cfg.Allocation.Channels {
			ch = ch.WithDefaults()
			ms.Channels = append(ms.Channels, runfolder.SpecChannel{Term: ch.Term, Name: ch.Name, SpendCol: ch.SpendCol})
		}
	}
	return ms
}

// mediaSpend picks the data columns holding media spend: the allocation channels'
// spend_col when the data has them, else the model's m_* columns (DSAMbayes's naming
// convention for media). It records in ms which it chose. Columns that are not numeric are
// left out.
func mediaSpend(cfg *ingest.Config, t *ingest.Table, spec *ingest.Spec, ms *runfolder.ModelSpec) *runfolder.MediaSpend {
	has := func(c string) bool { return slices.Contains(t.Header, c) }
	var cols, labels []string
	for _, ch := range ms.Channels {
		if has(ch.SpendCol) && !slices.Contains(cols, ch.SpendCol) {
			cols, labels = append(cols, ch.SpendCol), append(labels, ch.Name)
		}
	}
	ms.MediaSpendFromChannels = len(cols) > 0
	if !ms.MediaSpendFromChannels {
		for _, term := range spec.Terms {
			if strings.HasPrefix(term.Name, "m_") && has(term.Name) {
				cols, labels = append(cols, term.Name), append(labels, term.Name)
			}
		}
	}
	m := &runfolder.MediaSpend{Dates: make([]string, t.Rows())}
	if dv := cfg.Data.DateVar; dv != "" && t.Col(dv) >= 0 {
		copy(m.Dates, t.Cells[t.Col(dv)])
	}
	for c, col := range cols {
		v, _, err := t.Numeric(col)
		if err != nil {
			continue
		}
		m.Labels, m.Spend = append(m.Labels, labels[c]), append(m.Spend, v)
	}
	return m
}
