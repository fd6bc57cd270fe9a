package report

import (
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/runfolder"
)

// priorTableName names the prior table on the page.
const priorTableName = "Priors and bounds"

// priors returns 00_run_metadata/priors.csv.
func (in *inputs) priors() ([]runfolder.PriorRow, error) {
	return load(in, runfolder.StageMetadata, runfolder.PriorsFile, " (runs written before dsamstan wrote the prior table have none)", runfolder.ReadPriors)
}

// addPriorTable puts the prior table (priors.csv) on the page, readably: each parameter's
// prior and bounds in original units and in the sampler's, where each came from, and the
// posterior mean and sd beside them when the run has a posterior summary. It goes first in
// the post-run section, or in the metadata section of a run without one.
func (pg *page) addPriorTable(in *inputs) {
	rows, err := in.priors()
	if err != nil && isSkip(err) {
		return
	}
	it := item{Kind: "table", Name: priorTableName, Path: href(in.f.Rel(runfolder.StageMetadata, runfolder.PriorsFile)),
		Read: "Each parameter's prior and bounds as the run used them: in original units, in the units the sampler sees " +
			"(standardised when model.scale is true), where each came from, and the posterior beside them. " +
			"A posterior sd close to the prior's means the data said little about that parameter."}
	if err != nil {
		it.Err = err.Error()
	} else {
		it.Table = priorTable(rows, in)
	}
	at := -1
	for i, sec := range pg.Sections {
		if sec.Folder == runfolder.StagePostRun || at < 0 && sec.Folder == runfolder.StageMetadata {
			at = i
		}
	}
	if at < 0 {
		return
	}
	sec := &pg.Sections[at]
	sec.Items = append([]item{it}, sec.Items...)
}

// priorTable lays out the prior rows.
func priorTable(rows []runfolder.PriorRow, in *inputs) *htmlTable {
	post := map[string][2]float64{}
	summary, _ := in.summary()
	for _, r := range summary {
		post[r.Parameter] = [2]float64{r.Mean, r.SD}
	}
	tb := &htmlTable{Total: len(rows), Shown: len(rows)}
	for _, h := range []string{"parameter", "prior", "bounds", "prior in the sampler", "bounds in the sampler", "prior from", "bounds from", "posterior mean", "posterior sd"} {
		c := cell{Text: h}
		if h == "posterior mean" || h == "posterior sd" {
			c.Class = "num"
		}
		tb.Header = append(tb.Header, c)
	}
	for _, r := range rows {
		prior := func(m, s float64) string { return r.Family + "(" + num.Short(m) + ", " + num.Short(s) + ")" }
		bounds := func(lo, hi float64) string { return "[" + num.Short(lo) + ", " + num.Short(hi) + "]" }
		row := []cell{
			{Text: r.Parameter},
			{Text: prior(r.Mean, r.SD), Class: "mono"},
			{Text: bounds(r.Lower, r.Upper), Class: "mono"},
			{Text: prior(r.SamplerMean, r.SamplerSD), Class: "mono"},
			{Text: bounds(r.SamplerLower, r.SamplerUpper), Class: "mono"},
			{Text: r.PriorSource, Class: "msg"},
			{Text: r.BoundSource},
		}
		if p, ok := post[r.Parameter]; ok {
			row = append(row, cell{Text: num.Sig(p[0], 4), Full: num.Format(p[0]), Class: "num"}, cell{Text: num.Sig(p[1], 4), Full: num.Format(p[1]), Class: "num"})
		} else {
			row = append(row, cell{Text: "", Class: "num"}, cell{Text: "", Class: "num"})
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb
}
