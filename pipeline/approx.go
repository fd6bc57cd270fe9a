package pipeline

import (
	"context"
	"fmt"
	"math"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
)

// The fast fits. A MAP fit (fit.method optimise) is one point, the posterior mode: the
// row-wise tables, the decomposition, the fit metrics and the budget optimisation are
// computed at it as at a single draw, but it has no intervals, no PSIS-LOO (which weighs
// draws) and no convergence diagnostics. Laplace and Pathfinder give approximate draws,
// which every output takes as it takes MCMC draws, save the convergence diagnostics
// (Rhat and ESS are about Markov chains); how good the approximation is, is said by the
// Pareto k̂ of importance sampling from it.

// mapSkipped is what a MAP fit cannot give, for run.json, the log and the report.
var mapSkipped = []runfolder.SkippedOutput{
	{Output: runfolder.StageModelSelection + "/" + runfolder.LOOSummary + ", " + runfolder.LOOPointwise,
		Reason: "PSIS-LOO weighs posterior draws; a MAP fit has one point"},
	{Output: "intervals (sd, quantiles, predictive intervals and their coverage)",
		Reason: "a point estimate has no spread: the tables give the MAP value and NA for the intervals"},
	{Output: "convergence diagnostics (Rhat, ESS, divergences)",
		Reason: "they describe MCMC chains; an optimiser has none"},
}

// approxSkipped is what approximate draws cannot give.
var approxSkipped = []runfolder.SkippedOutput{
	{Output: "convergence diagnostics (Rhat, ESS, divergences)",
		Reason: "they describe MCMC chains; Laplace and Pathfinder draws are independent draws from an approximation, whose quality the Pareto k̂ gives instead"},
}

// skipped returns what the run's fit method leaves out.
func (r *runner) skipped() []runfolder.SkippedOutput {
	switch {
	case r.cfg.Fit.MAP():
		return mapSkipped
	case r.cfg.Fit.Approximate():
		return approxSkipped
	}
	return nil
}

// noteSkipped records in run.json and the log what the fit method leaves out.
func (r *runner) noteSkipped() {
	r.info.Skipped = r.skipped()
	for _, s := range r.info.Skipped {
		r.logf("note: fit.method %s: no %s: %s", r.cfg.Fit.Method, s.Output, s.Reason)
	}
}

// approximate fits by fit.method laplace (the best of fit.optimise.n_runs optimisations
// with the Jacobian, then draws from the normal approximation there) or pathfinder, into
// dir. It returns the draws' CSV and, for pathfinder, the Pareto k̂ CmdStan reported (NaN
// when none).
func (r *runner) approximate(ctx context.Context, runner *cmdstan.Runner, exe, dataPath, dir string) (string, float64, error) {
	fc := r.cfg.Fit
	if fc.Method == "pathfinder" {
		res, err := runner.Pathfinder(ctx, exe, dataPath, dir, cmdstan.PathfinderOptions{
			NumPaths: fc.Pathfinder.NumPaths, Draws: fc.Pathfinder.Draws, Seed: fc.MCMC.Seed,
		})
		if err != nil {
			return "", 0, err
		}
		return res.CSV, res.ParetoK, nil
	}
	mode, _, err := runner.Optimize(ctx, exe, dataPath, dir, cmdstan.OptimizeOptions{
		Runs: fc.Optimise.NRuns, Seed: fc.MCMC.Seed, Jacobian: true,
	})
	if err != nil {
		return "", 0, err
	}
	csv, err := runner.Laplace(ctx, exe, dataPath, mode, dir, cmdstan.LaplaceOptions{Draws: fc.Laplace.Draws, Seed: fc.MCMC.Seed})
	return csv, math.NaN(), err
}

// laplaceParetoK is the Pareto k̂ of importance sampling the posterior from the Laplace
// approximation: PSIS (package loo, as one observation with a single chain) on the log
// ratios log_p__ − log_q__ of the draws (CmdStan 2.33 names the approximation's density
// log_q__, later releases log_g__).
func laplaceParetoK(ch *stanio.Chain) (float64, error) {
	p, q := ch.Column("log_p__"), ch.Column("log_q__")
	if q < 0 {
		q = ch.Column("log_g__")
	}
	if p < 0 || q < 0 {
		return 0, fmt.Errorf("pipeline: %s has no log_p__ and log_q__ (or log_g__) columns: not a laplace CSV", ch.Path)
	}
	// loo.PSIS smooths the ratios −ll: ll = −(log p − log q).
	ll := make([]float64, ch.NumDraws())
	for s := range ll {
		ll[s] = ch.Draws[q][s] - ch.Draws[p][s]
	}
	res, err := loo.PSIS(1, func(int) [][]float64 { return [][]float64{ll} }, 1)
	if err != nil {
		return 0, fmt.Errorf("pipeline: the Laplace approximation's Pareto k: %w", err)
	}
	return res.Pointwise[0].ParetoK, nil
}

// approxParetoKID is the diagnostics report's check of the approximation.
const approxParetoKID = "approximation_pareto_k"

// approxChecks turns the convergence checks of approximate draws into skipped checks (not
// applicable) and adds the approximation's Pareto k̂ check, recording it in run.json.
// chains holds the one CSV of the draws; k is the k̂ pathfinder reported (NaN: none).
func (r *runner) approxChecks(p1 []diagnostics.Check, chains []*stanio.Chain, k float64) ([]diagnostics.Check, error) {
	method := r.cfg.Fit.Method
	for i := range p1 {
		p1[i].Status = diagnostics.StatusSkipped
		p1[i].Value = math.NaN()
		p1[i].Message = fmt.Sprintf("not applicable: %s draws are independent draws from an approximation, not Markov chains", method)
	}
	ap := &runfolder.Approximation{Method: method, Draws: chains[0].NumDraws()}
	c := diagnostics.Check{ID: approxParetoKID, Phase: diagnostics.PhaseP1, Severity: diagnostics.SeverityImportant,
		Metric: "pareto_k", Value: k, Threshold: "warn > 0.7", Status: diagnostics.StatusPass}
	if method == "laplace" {
		var err error
		if k, err = laplaceParetoK(chains[0]); err != nil {
			return nil, err
		}
		c.Value = k
		ap.Note = "Pareto k̂ of importance sampling the posterior from the Laplace approximation (PSIS on log_p__ − log_q__ of its draws)"
	} else {
		ap.Note = "Pareto k̂ of Pathfinder's importance resampling, as CmdStan reports it"
	}
	switch {
	case math.IsNaN(k):
		ap.Note = "CmdStan's pathfinder reports the Pareto k̂ of its importance resampling only above 0.7; it reported none, so k̂ ≤ 0.7"
		c.Message = ap.Note
	case k > loo.KBad:
		c.Status = diagnostics.StatusWarn
		c.Message = fmt.Sprintf("the %s approximation is poor (Pareto k̂ %.2f > 0.7): its draws may misrepresent the posterior; check the estimates with fit.method mcmc", method, k)
		ap.Note += "; above 0.7: the approximation is poor and its draws may misrepresent the posterior"
	default:
		c.Message = fmt.Sprintf("the %s approximation is adequate for importance sampling (Pareto k̂ %.2f ≤ 0.7)", method, k)
	}
	if !math.IsNaN(k) {
		ap.ParetoK = &k
	}
	r.info.Approximation = ap
	r.logf("%s: %s", method, c.Message)
	if c.Status == diagnostics.StatusWarn {
		r.info.Warnings = append(r.info.Warnings, c.Message)
	}
	return append(p1, c), nil
}

// pointEstimate blanks the intervals of a MAP fit's derived tables: one point has no
// spread, and quantiles of one draw would show it as certain. The mean and median keep
// the value at the mode.
func pointEstimate(res *posterior.Result) {
	nan := math.NaN()
	blank := func(b *posterior.Band) {
		for q := range b.Q {
			if posterior.FitProbs[q] != 0.5 {
				b.Q[q] = nan
			}
		}
		b.PredLo, b.PredHi = nan, nan
	}
	for i := range res.Rows {
		blank(&res.Rows[i].Model)
		blank(&res.Rows[i].KPI)
	}
	for i := range res.Decomp {
		for k := range res.Decomp[i] {
			res.Decomp[i][k].Q5, res.Decomp[i][k].Q95 = nan, nan
		}
	}
}
