// Package codegen turns a resolved model (ingest.Spec) into a Stan program and its CmdStan
// data: the program is rendered from a text/template in package templates, the data are
// the sufficient statistics of the standardised design plus priors and bounds mapped into
// the space the sampler works in. Render is pure: it writes nothing.
//
// Five programs: bayes_lm_updater_revised.stan for one market; pooled.stan for one market
// whose media coefficients are partially pooled across labelled dimensions (see pooled.go
// and docs/pooled.md: the single-market program with a pooled prior on those coefficients);
// integrated_hierarchical.stan for a panel with one grouping factor (plain or composite
// key, with or without CRE terms), the default; integrated_joint.stan for a panel with
// several factors (joint.go), the default too; general_hierarchical.stan for a panel with
// more group effects than maxIntegratedEffects, or one whose config sets
// model.random_effects.parameterization to centered or noncentered. Program.Decode maps
// a chain's draws back to the parameters users see, in original units, for all five
// (docs/architecture.md, decisions 1 and 7: Stan samples, Go derives).
//
// # The integrated panel program
//
// With one grouping factor the groups' effects d_g ~ N(0, S Sᵀ) are integrated out of
// the likelihood: each group's rows are multivariate normal with covariance
// σ²I + Z_g S Sᵀ Z_gᵀ, whose log density follows from the group's QR statistics in
// O(K·J² + J³) by Woodbury's identity (see integrate.go for the algebra). The sampler
// sees only the population coefficients, the group scales, the correlation's Cholesky
// factor and noise_sd: there is no funnel and no parameterisation to choose, and the
// program depends only on K, the group count, the varying terms and the correlation
// flag. Decode draws each group's effects afterwards, draw by draw, from their exact
// conditional N(S M⁻¹v, S M⁻¹Sᵀ) with a generator seeded from the chain's seed and id
// (so decoding a CSV twice gives the same draws), or takes its mean for a MAP fit;
// every output downstream sees them as it would see sampled ones. Program.RandomEffects
// records "integrated" for every term.
//
// # Estimated media transforms
//
// A term whose ingest.Transform has priors (adstock decay, Hill half saturation or shape
// marked estimate) has its column computed in the program from the raw column at every
// gradient (see transforms.go for the data and the scales). The single-market program's
// likelihood is then row-wise; a panel always gets the integrated program (one grouping
// factor; several factors, or parameterization centered or noncentered, are refused),
// which computes each group's Z'Z, Z'e and e'e from the rows in the model block, and
// Decode draws the group coefficients per draw from their conditional given that draw's
// transformed columns. The Stan parameters are the vectors adstock_decay, half_saturation (in units
// of the column's median positive raw value) and hill_shape over the estimated ones in term
// order; Program.Params and Decode name them adstock_decay[m_tv], half_saturation[m_tv]
// and hill_shape[m_tv] (ingest.TransformParamName), in original units, after noise_sd.
// Sizes, indexes and priors are data, so the program text is the same for every config
// of the same structure; without estimated transforms it is unchanged.
//
// # One binary per structure
//
// The single-market program text depends on no data and no config (docs/architecture.md, decisions 2 and 8): N, K,
// priors and bounds travel as data, so every single-market model shares one compiled
// binary. Its coefficients are sampled as beta_raw, in units of their approximate
// posterior sds around their approximate posterior means (beta_scale, beta_centre), with
// a softplus map at a bound (templates/stan/bounded.stan.tmpl; docs/architecture.md,
// decision 5); the data flag jacobian is 0 for a MAP fit (Program.MAPData). The panel
// programs map their beta the same way, with unit scale around the Laplace approximation's
// mean (beta is already in units of beta_scale), and take the same flag. The panel program is specialised to the model's structure: K, each factor's
// group count, which terms vary by which factor, how each term is parameterised and
// whether a factor's effects are correlated are literal in it; values never are. Nothing
// a user typed (column names, labels, formula text) is ever pasted into Stan code.
//
// # The sampled panel program
//
// A cell is a combination of all grouping factors' levels (with one factor, a group).
// All rows of a cell share one coefficient vector, b plus each factor's group deviation,
// so the likelihood is computed from per-cell QR statistics (R_c, Qty_c, and the total
// rss) at O(C·K²) per gradient instead of O(N·K) (docs/architecture.md, decision 3).
//
// Each group-varying term is parameterised from the data (docs/hierarchical.md; see
// chooseParameterization, recorded in Program.RandomEffects): Centered when every group's
// own data pin the term down far better than the spread between groups does, Partial
// (group g's coefficient sampled as w·b + (1−w)·θ̂_g + sd·√w·z with w = v_g/(v_g + sd²),
// its own estimate θ̂_g with sampling variance v_g) when they do so only partly, and
// Noncentered when the groups cannot estimate it on their own;
// model.random_effects.parameterization forces Centered or Noncentered. Correlated
// factors (an LKJ prior on the Cholesky factor of their effects' correlation) use Partial
// where an independent factor would centre: each term's deviation has a normal prior
// given the ones before it in the Cholesky factor's order, and is partial around it.
//
// Coordinates are chosen so that the sampler starts well: the intercept is sampled where
// the predictors are at their means (the population intercept at the overall means, a
// centred group intercept, or a partial one in an independent factor, at its group's
// means), which removes its correlation with the slopes; the intercept itself follows by a shear with unit
// Jacobian. beta and the centred coefficients are sampled in units of their approximate
// posterior sd (a Gaussian approximation of the model at estimated group scales, see
// laplace), and noise_sd on the log scale around its estimate, so that CmdStan's first
// warmup phase, which runs with a unit metric, is short.
//
// # Scaling
//
// With ingest.Scaling (YCentre, YScale, XScale; the identity when model.scale is false)
// the sampler sees, for row i and term k,
//
//	y*_i  = (y_i - o_i - YCentre) / YScale     (o = offset in original units, 0 when none)
//	x*_ik = x_ik / XScale[k]                   (XScale = 1 for the intercept)
//
// The offset is subtracted in original units before centring, so it carries a fixed
// coefficient of 1 in both spaces. Coefficients map term by term:
//
//	intercept  a* = (a - YCentre) / YScale      a = YCentre + YScale * a*
//	slope      b* = b * f,  f = XScale[k]/YScale    b = b* / f
//	noise_sd   s* = s / YScale                   s = YScale * s*
//
// Centring y is only exact with an intercept to absorb it, so a model without an
// intercept must have YCentre = 0. Because every map is affine and increasing, priors and
// bounds given in original units map exactly:
//
//	intercept  normal(m, s) -> normal((m - YCentre)/YScale, s/YScale); bound l -> (l - YCentre)/YScale
//	slope      normal(m, s) -> normal(m f, s f);                       bound l -> l f  (0 and +-Inf stay)
//	noise_sd   normal(m, s) -> normal(m/YScale, s/YScale)  (half-normal: noise_sd > 0)
//	noise_sd   lognormal_ms(m, s): mu = ln(m^2/sqrt(m^2+s^2)), sigma = sqrt(ln(1+s^2/m^2)),
//	           then mu* = mu - ln(YScale), sigma* = sigma
//
// Program.Params records the inverse map of every Stan output column (value = Shift +
// Scale * draw), so no later stage needs to know about the scaled space.
//
// # Likelihood
//
// The Gaussian likelihood is computed from sufficient statistics (docs/architecture.md, decision 3), in QR form:
// with [X* y*] = Q [R Qty; 0 r], ||y* - X* b||^2 = ||Qty - R b||^2 + r^2. It costs O(K^2)
// per gradient like the Gram form yty - 2 b'Xty + b'XtX b, but it is a sum of squares
// (never negative) and avoids that form's cancellation, which for an unscaled response
// far from zero or a tight fit loses most significant digits of the residual sum of squares.
package codegen
