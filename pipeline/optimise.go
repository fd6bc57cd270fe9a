package pipeline

import (
	"context"
	"fmt"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/optimise"
)

// PopulationDraws arranges population coefficient draws as the optimiser takes them:
// draws[s][k] for spec's terms, from columns cols[k] (chains concatenated).
func PopulationDraws(beta [][]float64) [][]float64 {
	if len(beta) == 0 {
		return nil
	}
	out := make([][]float64, len(beta[0]))
	for s := range out {
		out[s] = make([]float64, len(beta))
		for k := range beta {
			out[s][k] = beta[k][s]
		}
	}
	return out
}

// SpendColumns reads every numeric column of the data table, for the channels' spend_col
// (which need not be model terms). Columns that are not numeric are left out.
func SpendColumns(t *ingest.Table) map[string][]float64 {
	cols := map[string][]float64{}
	for _, name := range t.Header {
		if v, _, err := t.Numeric(name); err == nil {
			cols[name] = v
		}
	}
	return cols
}

// writeOptimisation runs the config's allocation scenario on the population-level
// coefficient draws (as DSAMbayes's tutorial prescribes for panels) into 60_optimisation/.
func (r *runner) writeOptimisation(ctx context.Context, spec *ingest.Spec, t *ingest.Table, d *decoded) error {
	sc := r.cfg.Allocation
	beta := make([][]float64, len(spec.Terms))
	terms := make([]string, len(spec.Terms))
	for k, term := range spec.Terms {
		j := d.index(term.Name)
		if j < 0 {
			return fmt.Errorf("pipeline: optimisation: no draws for %s", term.Name)
		}
		beta[k], terms[k] = d.cols[j], term.Name
	}
	res, err := optimise.Optimise(ctx, sc, optimise.Inputs{
		Terms: terms, Draws: PopulationDraws(beta), SpendColumns: SpendColumns(t), KPIType: r.cfg.Model.KPIType,
	}, optimise.Options{Seed: uint64(r.cfg.Fit.MCMC.Seed)})
	if err != nil {
		return err
	}
	dir, err := r.folder.Mkdir(StageOptimisation)
	if err != nil {
		return err
	}
	return res.WriteFiles(dir)
}

// CheckAllocation checks the config's allocation section against the model and data before
// anything is fitted, by solving the scenario once on the prior means: an unknown term or
// spend column then fails in seconds, not after sampling.
func CheckAllocation(ctx context.Context, cfg *ingest.Config, spec *ingest.Spec, t *ingest.Table) error {
	sc := cfg.Allocation
	if sc == nil {
		return nil
	}
	terms := make([]string, len(spec.Terms))
	means := make([]float64, len(spec.Terms))
	for k, term := range spec.Terms {
		terms[k], means[k] = term.Name, spec.Priors[k].Mean
	}
	_, err := optimise.Optimise(ctx, sc, optimise.Inputs{
		Terms: terms, Draws: [][]float64{means}, SpendColumns: SpendColumns(t), KPIType: cfg.Model.KPIType,
	}, optimise.Options{Starts: -1, FrontierSteps: 2, CurvePoints: 2})
	return err
}
