// Package posterior holds a fitted model's coefficient draws in original units and derives,
// row by row, what they imply: fitted values on the model and KPI scales, each term's
// contribution (the decomposition), per-draw fit metrics and the pointwise log-likelihood.
//
// Stan samples only the parameters; everything here is computed in Go from the draws and
// the design (docs/architecture.md, decision 1), so a change to an output never needs a recompile and the
// CSVs CmdStan writes stay small. Nothing holds every draw of every row at once: rows are
// processed in blocks on several goroutines, each keeping one vector of draws per term, so
// a 50-market × 260-week panel with 4000 draws (about 360 million contributions) stays
// within a few hundred megabytes. The blocks have a fixed size and their per-draw sums are
// added in block order, so every digit of the result is the same whatever the number of
// goroutines.
//
// Definitions (row i, draw s, design column x_k, the row's groups g):
//
//	coefficient  θ_k,i,s = β_k,s + Σ_f u_f,g_f(i),k,s   (population + each factor's deviation)
//	contribution c_k,i,s = x_k,i,s · θ_k,i,s              (the intercept's column is 1)
//	fitted       μ_i,s   = offset_i + Σ_k c_k,i,s         (model scale: log units for log(y))
//	KPI scale    exp(μ + σ²/2) per draw for log(y) models (conditional mean; log_response:
//	             median gives exp(μ)); identical to the model scale otherwise
//	log-lik      log N(y_i | μ_i,s, σ_s)                  (y on the model scale)
//
// The design column x_k,i,s is Spec.X[k][i] in every draw, except for a term whose media
// transform the model estimates (Draws.Transforms): there it is draw s's transformed raw
// column, h_s(adstock_s(raw))_i with that draw's decay, half_saturation and shape (fixed
// parameters from Spec.Transforms), computed row by row from the row's series and its
// max_lag earlier rows, so no rows × draws matrix is held.
//
// For log-response models the decomposition is multiplicative: on the log scale the
// contributions add up to μ exactly, and each term's multiplier exp(c_k) multiplies the
// others to give exp(μ), the KPI-scale median fit. decomposition.csv carries both.
//
// Per-draw metrics (posterior_draws.csv), on the model scale: r2 = 1 − SSE/SST,
// rmse = √(SSE/n), smape = mean(2|y − μ|/(|y| + |μ|)). Fit metrics (fit_metrics.csv) use
// the posterior mean fit on the KPI scale: R², RMSE, MAE, mean error (fit − observed),
// sMAPE, the share of observations inside the 95% predictive interval (fitted quantiles
// widened by the noise: μ ± 1.96·σ per draw), lag-1 autocorrelation of the residuals in row
// order within each group, and n.
package posterior
