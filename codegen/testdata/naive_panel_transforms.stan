// Reference for transforms_logprob_test.go: the integrated panel model with estimated media
// transforms written the direct way. Each transformed column is computed by loops from the
// raw column in original units, series by series (normalised geometric adstock, then Hill),
// and each group's rows are y_g ~ multi_normal(X_g b, noise_sd^2 I + Z_g S S' Z_g') with a
// dense n_g x n_g covariance. Same parameters (and constrained-space transforms) as the
// rendered program; the data are the rendered program's plus the rows in their original
// order (X_naive, y_naive, at the transforms' prior centres) and the *_naive variables. Its
// log density must equal the rendered program's up to a constant, and its gradient must be
// the same.
functions {
  real prior_naive_lpdf(real x, int family, real a, real b) {
    if (family == 0) {
      return beta_lpdf(x | a, b);
    } else if (family == 1) {
      return lognormal_lpdf(x | a, b);
    }
    return gamma_lpdf(x | a, b);
  }
}
data {
  int<lower=1> N;
  int<lower=1> K;
  int<lower=1> G;
  int<lower=1> J;
  matrix[N, K] X_naive;                        // standardised design, rows in their order
  vector[N] y_naive;                           // standardised response
  array[N] int<lower=1, upper=N> order;        // rows, group by group
  array[G] int<lower=1> start;                 // group g's rows: order[start[g]:end[g]]
  array[G] int<lower=1> end;
  array[J] int<lower=1, upper=K> varying;      // columns of the group-varying terms
  int<lower=0, upper=1> correlated;
  int<lower=0, upper=K> intercept;             // 0: no shear of beta
  vector[K] x_mean_naive;                      // predictor means for the shear
  vector[K] prior_mean;
  vector<lower=0>[K] prior_sd;
  vector<lower=0>[K] beta_scale;
  vector[K] lb;
  vector[K] ub;
  vector[J] sd_1_prior_mean;
  vector<lower=0>[J] sd_1_prior_sd;
  real<lower=0> lkj_eta_naive;
  int<lower=0, upper=1> prior_family_noise_sd;
  real noise_sd_prior_a;
  real<lower=0> noise_sd_prior_b;
  real log_noise_sd_centre;
  real<lower=0> log_noise_sd_scale;
  int<lower=1> T;
  array[T] int<lower=1, upper=K> t_col;
  array[T] int<lower=0, upper=1> t_hill;
  int<lower=0> n_decay;
  array[T] int<lower=0, upper=n_decay> decay_index;
  array[n_decay] int decay_prior_family;
  vector[n_decay] decay_prior_a;
  vector[n_decay] decay_prior_b;
  int<lower=0> n_half;
  array[T] int<lower=0, upper=n_half> half_index;
  array[n_half] int half_prior_family;
  vector[n_half] half_prior_a;
  vector[n_half] half_prior_b;
  int<lower=0> n_shape;
  array[T] int<lower=0, upper=n_shape> shape_index;
  array[n_shape] int shape_prior_family;
  vector[n_shape] shape_prior_a;
  vector[n_shape] shape_prior_b;
  // The naive computation's own data, all in original units.
  array[T] vector[N] raw_naive;                // the raw columns
  vector<lower=0>[T] raw_scale_naive;          // half_saturation = raw_scale * the sampled value
  vector<lower=0>[T] x_scale_naive;            // predictor scales (ingest.Scaling.XScale)
  array[T] int<lower=0, upper=1> adstock_naive;
  vector[T] decay_naive;                       // fixed decays
  array[T] int<lower=0> max_lag_naive;
  vector[T] half_naive;                        // fixed half saturations
  vector[T] shape_naive;                       // fixed shapes
  int<lower=1> S_naive;                        // series
  array[N] int<lower=1, upper=N> series_order; // rows, series by series, in date order
  array[S_naive] int<lower=1> series_start;
  array[S_naive] int<lower=1> series_end;
}
parameters {
  vector<lower=lb, upper=ub>[K] beta;
  vector<lower=0>[J] sd_1;
  cholesky_factor_corr[correlated ? J : 1] L_1;  // 1 x 1 (no free parameter) when independent
  real<offset=log_noise_sd_centre, multiplier=log_noise_sd_scale> log_noise_sd;
  vector<lower=0, upper=1>[n_decay] adstock_decay;
  vector<lower=0>[n_half] half_saturation;
  vector<lower=0>[n_shape] hill_shape;
}
model {
  real noise_sd = exp(log_noise_sd);
  vector[K] b = beta_scale .* beta;
  matrix[N, K] Xt = X_naive;
  if (intercept > 0) {
    b[intercept] -= dot_product(x_mean_naive, b);
  }
  matrix[J, J] S = correlated ? diag_pre_multiply(sd_1, L_1) : diag_matrix(sd_1);
  target += log_noise_sd;
  target += normal_lpdf(b | prior_mean, prior_sd);
  if (prior_family_noise_sd == 0) {
    target += normal_lpdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  } else {
    target += lognormal_lpdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  }
  target += normal_lpdf(sd_1 | sd_1_prior_mean, sd_1_prior_sd);
  if (correlated) {
    target += lkj_corr_cholesky_lpdf(L_1 | lkj_eta_naive);
  }
  for (i in 1:n_decay) {
    adstock_decay[i] ~ prior_naive(decay_prior_family[i], decay_prior_a[i], decay_prior_b[i]);
  }
  for (i in 1:n_half) {
    half_saturation[i] ~ prior_naive(half_prior_family[i], half_prior_a[i], half_prior_b[i]);
  }
  for (i in 1:n_shape) {
    hill_shape[i] ~ prior_naive(shape_prior_family[i], shape_prior_a[i], shape_prior_b[i]);
  }
  for (t in 1:T) {
    real decay = decay_naive[t];
    real half = half_naive[t];
    real shape = shape_naive[t];
    vector[N] a = raw_naive[t];
    if (decay_index[t] > 0) {
      decay = adstock_decay[decay_index[t]];
    }
    if (half_index[t] > 0) {
      half = half_saturation[half_index[t]] * raw_scale_naive[t];
    }
    if (shape_index[t] > 0) {
      shape = hill_shape[shape_index[t]];
    }
    if (adstock_naive[t] == 1) {
      real total = 0;
      for (j in 0:max_lag_naive[t]) {
        total += decay ^ j;
      }
      for (s in 1:S_naive) {
        for (p in series_start[s]:series_end[s]) {
          real acc = 0;
          for (l in 0:max_lag_naive[t]) {
            if (p - l >= series_start[s]) {
              acc += decay ^ l / total * raw_naive[t][series_order[p - l]];
            }
          }
          a[series_order[p]] = acc;
        }
      }
    }
    if (t_hill[t] == 1) {
      for (i in 1:N) {
        a[i] = a[i] ^ shape / (a[i] ^ shape + half ^ shape);
      }
    }
    Xt[:, t_col[t]] = a / x_scale_naive[t];
  }
  for (g in 1:G) {
    array[end[g] - start[g] + 1] int rows = order[start[g]:end[g]];
    matrix[size(rows), J] ZS = Xt[rows, varying] * S;
    target += multi_normal_lpdf(y_naive[rows] | Xt[rows] * b, add_diag(tcrossprod(ZS), square(noise_sd)));
  }
}
