// Package calibrate runs simulation-based calibration (SBC; Talts et al. 2018) of a run
// config's model: for each simulation it draws every parameter from the prior the fitted
// program uses, simulates a response on the config's own design (its predictors, groups,
// offset and media transforms), fits it with the run's sampler settings and records
// the rank of each true value among the posterior draws. When the program and the sampler
// are right, every parameter's ranks are uniform; calibration.csv tests that per
// parameter and the verdict applies a Bonferroni correction over the parameters.
//
// # The prior drawn
//
// The Spec ingest builds holds every prior in original units, fixed once from the real
// data (default priors included). A simulation keeps them, replaces the response and
// rescales it as ingest would (the centre and scale of the simulated y): codegen maps the
// priors into the sampler's units exactly, so the program's prior in original units is
// the one drawn from, whatever the scaling. Population coefficients are drawn from
// normal(mean, sd) truncated to their bounds, group scales from normal(mean, sd)
// truncated at 0, a correlated factor's correlation from LKJ(codegen.LKJEta) and
// noise_sd from the family the program uses (a normal truncated at 0, or lognormal_ms's
// lognormal). An estimated media transform's parameters (adstock_decay, half_saturation,
// hill_shape) are drawn from their priors (beta, lognormal or gamma, in original units),
// and the simulated response uses the term's raw column transformed at those values; the
// program transforms the raw column itself at every draw, so its design is the real one.
//
// # Ranks
//
// The draws of each fit are thinned, chain by chain, by ceil(draws / smallest bulk ESS
// over the parameters) (internal/sbc.Thin), so that the kept draws are close to
// independent; the rank of the truth is the number of kept draws below it. The
// uniformity test is Pearson's chi-square over min(20, max(2, sims/5)) equal bins of the
// normalised rank, whose expected counts account for the number of kept draws of every
// simulation.
//
// # Output folder
//
//	calibration_ranks.csv      sim,parameter,rank,n_draws (appended as each simulation ends)
//	calibration_sims.csv       sim,seed,divergences,thin,n_draws,min_ess_bulk,max_rhat,seconds
//	calibration.csv            parameter,n_sims,bins,chi_square,p_value,flagged,coverage_90,mean_z,contraction
//	rank_histograms_<k>.png    16 parameters a figure, with the 99% band of uniform ranks
//	verdict.txt                "calibrated" or "not calibrated: <parameters> (…)"
//
// Every simulation renders its program with codegen.Render from the Spec with the
// simulated response; the program's code depends on the design only, so all of them share
// one compiled executable (from the compile cache) and only the data file changes. A panel
// whose parameterisation the data choose (model.random_effects.parameterization auto) may
// need a second program when a simulated response changes a choice; it is compiled once
// through the cache too.
//
// # On a Slurm cluster
//
// Submit runs the same simulations as one Slurm job array (the batch package's sbatch,
// squeue/scontrol watching and scancel). The study folder then also holds
// calibration_study.json (the config with its sha256 and the study settings: seed,
// warmup, samples, alpha, sims, sims per task; each array task's simulations and Slurm
// job), calibration.sbatch, logs/task_<i>_<jobid>.log and sims/sim_NNNN.json. The program
// is compiled once before submission, through the compile cache the tasks share. Array
// task i runs RunTask (dsamstan calibrate --sim-task DIR --index i): its run of
// consecutive simulations, ceil(sims / MaxTasks) by default, each through the same code
// as a local study and with the same seed, each written atomically to its own result
// file. Gather (at the end of the watch, or by Status) writes the CSVs, the verdict and
// the histograms from the result files, rows in simulation order, so a study's rank rows
// are those a local study of the same seed writes; Resume resubmits the tasks with
// simulations missing.
package calibrate
