// Package codegen turns a resolved model (ingest.Spec) into a Stan program and its CmdStan
// data: the program is rendered from a text/template in package templates, the data are
// the sufficient statistics of the standardised design plus priors and bounds mapped into
// the space the sampler works in. Render is pure: it writes nothing.
//
// # One binary per structure
//
// The program text depends on no data and no config (DESIGN 2, 8): N, K, priors and bounds
// travel as data, so every single-market model shares one compiled binary, and nothing a
// user typed (column names, labels, formula text) is ever pasted into Stan code.
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
// The Gaussian likelihood is computed from sufficient statistics (DESIGN 3), in QR form:
// with [X* y*] = Q [R Qty; 0 r], ||y* - X* b||^2 = ||Qty - R b||^2 + r^2. It costs O(K^2)
// per gradient like the Gram form yty - 2 b'Xty + b'XtX b, but it is a sum of squares
// (never negative) and avoids that form's cancellation, which for an unscaled response
// far from zero or a tight fit loses most significant digits of the residual sum of squares.
package codegen
