package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

// decoded holds every parameter users see, per draw, for all chains: cols[j] is names[j]'s
// draws with the chains concatenated, chains·perChain long.
type decoded struct {
	names            []string
	cols             [][]float64
	chains, perChain int
}

// perChain returns parameter j's draws split by chain, without copying.
func (d *decoded) perChainView(j int) [][]float64 {
	out := make([][]float64, d.chains)
	for c := range out {
		out[c] = d.cols[j][c*d.perChain : (c+1)*d.perChain : (c+1)*d.perChain]
	}
	return out
}

func (d *decoded) index(name string) int { return slices.Index(d.names, name) }

// decode reads the chains' parameters in users' terms (codegen.Program.Decode).
func decode(prog *codegen.Program, chains []*stanio.Chain) (*decoded, error) {
	d := &decoded{chains: len(chains)}
	for c, ch := range chains {
		names, draws, err := prog.Decode(ch)
		if err != nil {
			return nil, err
		}
		if c == 0 {
			d.names, d.perChain = names, ch.NumDraws()
			d.cols = make([][]float64, len(names))
			for j := range d.cols {
				d.cols[j] = make([]float64, 0, len(chains)*d.perChain)
			}
		} else if ch.NumDraws() != d.perChain || len(names) != len(d.names) {
			return nil, fmt.Errorf("pipeline: %s has %d draws of %d parameters; chain 1 has %d of %d",
				ch.Path, ch.NumDraws(), len(names), d.perChain, len(d.names))
		}
		for j := range draws {
			d.cols[j] = append(d.cols[j], draws[j]...)
		}
	}
	return d, nil
}

// posteriorDraws arranges the decoded draws for the row-wise derivations: population
// coefficients by term, each group's deviation from them, and the parameters of the
// transforms the model estimates.
func posteriorDraws(spec *ingest.Spec, d *decoded) (*posterior.Draws, error) {
	pd := &posterior.Draws{Chains: d.chains, PerChain: d.perChain}
	col := func(name string) ([]float64, error) {
		j := d.index(name)
		if j < 0 {
			return nil, fmt.Errorf("pipeline: the fit reports no parameter %q", name)
		}
		return d.cols[j], nil
	}
	for _, t := range spec.Terms {
		b, err := col(t.Name)
		if err != nil {
			return nil, err
		}
		pd.Terms = append(pd.Terms, t.Name)
		pd.Beta = append(pd.Beta, b)
	}
	noise, err := col(ingest.NoiseSDName)
	if err != nil {
		return nil, err
	}
	pd.NoiseSD = noise
	for _, g := range spec.Groups {
		f := posterior.Factor{Name: g.Factor, Levels: g.Levels, Terms: g.Terms}
		for _, level := range g.Levels {
			dev := make([][]float64, len(g.Terms))
			for j, k := range g.Terms {
				coef, err := col(codegen.GroupCoefficientName(spec.Terms[k].Name, g.Factor, level))
				if err != nil {
					return nil, err
				}
				dev[j] = make([]float64, len(coef))
				for s, v := range coef {
					dev[j][s] = v - pd.Beta[k][s]
				}
			}
			f.Dev = append(f.Dev, dev)
		}
		pd.Factors = append(pd.Factors, f)
	}
	if pd.Transforms, err = transformDraws(spec, col); err != nil {
		return nil, err
	}
	return pd, nil
}

// transformDraws reads the draws of the transform parameters the model estimates by their
// names (adstock_decay[m_tv], half_saturation[m_tv], hill_shape[m_tv]); nil when every
// transform is fixed.
func transformDraws(spec *ingest.Spec, col func(name string) ([]float64, error)) ([]posterior.TransformDraws, error) {
	var out []posterior.TransformDraws
	for _, t := range spec.Transforms {
		if !t.Estimated() {
			continue
		}
		k := slices.IndexFunc(spec.Terms, func(term ingest.Term) bool { return term.Name == t.Column })
		if k < 0 {
			return nil, fmt.Errorf("pipeline: the transformed column %q is not a term", t.Column)
		}
		td := posterior.TransformDraws{Term: k}
		for _, p := range []struct {
			kind  string
			prior *ingest.TransformPrior
			dst   *[]float64
		}{
			{ingest.DecayParam, t.DecayPrior, &td.Decay},
			{ingest.HalfSaturationParam, t.HalfSaturationPrior, &td.HalfSaturation},
			{ingest.ShapeParam, t.ShapePrior, &td.Shape},
		} {
			if p.prior == nil {
				continue
			}
			v, err := col(ingest.TransformParamName(p.kind, t.Column))
			if err != nil {
				return nil, err
			}
			*p.dst = v
		}
		out = append(out, td)
	}
	return out, nil
}

// groupAverages adds, for a panel, each group-varying term's average over the groups of
// its factor, per draw: the "population-level estimate averaged across groups" of the
// DSAMbayes tutorial, named m_tv[average over market], beside the population coefficient.
func groupAverages(spec *ingest.Spec, d *decoded) {
	for _, g := range spec.Groups {
		for _, k := range g.Terms {
			term := spec.Terms[k].Name
			avg := make([]float64, d.chains*d.perChain)
			for _, level := range g.Levels {
				j := d.index(codegen.GroupCoefficientName(term, g.Factor, level))
				if j < 0 {
					return
				}
				for s, v := range d.cols[j] {
					avg[s] += v / float64(len(g.Levels))
				}
			}
			d.names = append(d.names, fmt.Sprintf("%s[average over %s]", term, g.Factor))
			d.cols = append(d.cols, avg)
		}
	}
}

// summaryRows computes posterior_summary.csv's rows; a MAP fit has one "draw", reported as
// mean and median with the rest NA.
func summaryRows(d *decoded, mapFit bool) []summarise.Row {
	if mapFit {
		rows := make([]summarise.Row, len(d.names))
		nan := math.NaN()
		for j, name := range d.names {
			v := d.cols[j][0]
			rows[j] = summarise.Row{Parameter: name, Mean: v, SD: nan, Q5: nan, Q50: v, Q95: nan,
				Rhat: nan, ESSBulk: nan, ESSTail: nan, MCSEMean: nan}
		}
		return rows
	}
	return summarise.Summarise(d.names, d.perChainView, 0)
}

// writeDerived computes fitted values, fit metrics and the decomposition from the draws pd
// (d arranged by posteriorDraws) and writes them with posterior_draws.csv into
// 30_post_run/.
func (r *runner) writeDerived(ctx context.Context, spec *ingest.Spec, d *decoded, pd *posterior.Draws) error {
	res, err := posterior.Derive(ctx, spec, pd, posterior.Options{
		Seed: uint64(r.cfg.Fit.MCMC.Seed), LogMedian: r.cfg.Model.LogResponse == "median"})
	if err != nil {
		return err
	}
	if r.cfg.Fit.MAP() {
		pointEstimate(res)
	}
	if err := r.residualChecks(spec, pd, res); err != nil {
		return err
	}
	files := []struct {
		name  string
		write func(w io.Writer) error
	}{
		{runfolder.PosteriorDraws, func(w io.Writer) error {
			return posterior.WriteDraws(w, d.names, d.cols, d.chains, d.perChain, res.Draws)
		}},
		{runfolder.FittedValues, func(w io.Writer) error { return posterior.WriteFitted(w, spec, res) }},
		{runfolder.FitMetrics, func(w io.Writer) error {
			m := posterior.Metrics(spec, res)
			if r.cfg.Fit.MAP() {
				for i := range m {
					m[i].Coverage95 = math.NaN() // no predictive interval at a point estimate
				}
			}
			return posterior.WriteMetrics(w, m)
		}},
		{runfolder.Decomposition, func(w io.Writer) error { return posterior.WriteDecomposition(w, spec, res) }},
		{runfolder.DecompositionTotals, func(w io.Writer) error { return posterior.WriteTotals(w, spec, res) }},
	}
	for _, f := range files {
		if err := r.folder.WriteFunc(runfolder.StagePostRun, f.name, f.write); err != nil {
			return fmt.Errorf("pipeline: %s: %w", f.name, err)
		}
	}
	return nil
}

// residualChecks adds the residual checks of the posterior mean fit to the diagnostics
// report and writes it again.
func (r *runner) residualChecks(spec *ingest.Spec, pd *posterior.Draws, res *posterior.Result) error {
	fitted := make([]float64, len(res.Rows))
	for i, row := range res.Rows {
		fitted[i] = row.Model.Mean
	}
	var sigma float64
	for _, v := range pd.NoiseSD {
		sigma += v / float64(len(pd.NoiseSD))
	}
	r.report.Checks = append(r.report.Checks, diagnostics.Residuals(spec, fitted, sigma, r.cfg.Diagnostics.PolicyMode)...)
	return r.writeReport()
}

// writeLOO computes PSIS-LOO from the pointwise log-likelihood, row by row (nothing holds
// the whole draws × rows matrix), into 50_model_selection/, and returns its warnings for
// the log. It runs beside writeDerived, so it touches nothing else of the runner.
func (r *runner) writeLOO(spec *ingest.Spec, pd *posterior.Draws) ([]string, error) {
	pointwise, err := pd.Pointwise(spec)
	if err != nil {
		return nil, err
	}
	res, pit, err := loo.PSISExpect(spec.N, func(i int) (ll, cdf [][]float64) {
		ll, mu := pointwise(i)
		return ll, predictiveCDF(spec, pd, i, mu)
	}, 0)
	if err != nil {
		return nil, fmt.Errorf("pipeline: PSIS-LOO: %w", err)
	}
	labels := make([]string, spec.N)
	for i := range labels {
		var parts []string
		if spec.Dates != nil {
			parts = append(parts, spec.Dates[i])
		}
		for _, g := range spec.Groups {
			parts = append(parts, g.Factor+"="+g.Levels[g.Of[i]])
		}
		labels[i] = strings.Join(parts, " ")
	}
	var sum, point, pits bytes.Buffer
	if err := loo.WriteSummaryCSV(&sum, res); err != nil {
		return nil, err
	}
	if err := loo.WritePointwiseCSV(&point, res, labels); err != nil {
		return nil, err
	}
	if err := loo.WritePITCSV(&pits, pitTable(spec, res, pit)); err != nil {
		return nil, err
	}
	if err := r.folder.Write(runfolder.StageModelSelection, runfolder.LOOSummary, sum.Bytes()); err != nil {
		return nil, err
	}
	if err := r.folder.Write(runfolder.StageModelSelection, runfolder.LOOPointwise, point.Bytes()); err != nil {
		return nil, err
	}
	return res.Warnings, r.folder.Write(runfolder.StageModelSelection, runfolder.LOOPIT, pits.Bytes())
}

// predictiveCDF returns row i's normal predictive CDF of each draw at the observed value,
// Φ((y_i − μ_i,s)/σ_s) on the model scale, per chain as the log-likelihood is given, from
// the row's linear predictor mu: the per-draw quantity whose PSIS-LOO average is the row's
// LOO-PIT.
func predictiveCDF(spec *ingest.Spec, pd *posterior.Draws, i int, mu []float64) [][]float64 {
	return pd.ByChain(func(s int) float64 {
		return 0.5 * math.Erfc(-(spec.Y[i]-mu[s])/(pd.NoiseSD[s]*math.Sqrt2))
	})
}

// pitTable arranges the LOO-PIT values for loo_pit.csv, each clamped to [0, 1] against
// rounding in the weighted sum.
func pitTable(spec *ingest.Spec, res *loo.Result, pit []float64) *loo.PITTable {
	t := &loo.PITTable{Rows: make([]loo.PITRow, spec.N)}
	for _, g := range spec.Groups {
		t.Factors = append(t.Factors, g.Factor)
	}
	for i := range t.Rows {
		row := loo.PITRow{Row: i + 1, Y: spec.Y[i], PIT: min(max(pit[i], 0), 1), ParetoK: res.Pointwise[i].ParetoK}
		if spec.Dates != nil {
			row.Date = spec.Dates[i]
		}
		for _, g := range spec.Groups {
			row.Groups = append(row.Groups, g.Levels[g.Of[i]])
		}
		t.Rows[i] = row
	}
	return t
}
