// Reference for logprob_test.go: the integrated panel model written the direct way, each
// group's rows y_g ~ multi_normal(X_g b, noise_sd^2 I + Z_g S S' Z_g') with a dense
// n_g x n_g covariance, with the same parameters and transforms as
// integrated_hierarchical.stan (beta's units included), plus the rows themselves. Its log
// density must equal the template's up to a constant, and its gradient the template's.
functions {
  vector beta_units(vector beta_scale, vector sd, vector v, vector tau2, array[] int varying) {
    vector[rows(beta_scale)] u = beta_scale;
    u[varying] = beta_scale[varying] .* sqrt((v + square(sd)) ./ (v + tau2));
    return u;
  }
}
data {
  int<lower=1> N;
  int<lower=1> K;
  int<lower=1> G;
  int<lower=1> J;
  matrix[N, K] X;                              // standardised design
  vector[N] y;                                 // standardised response
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
  vector[K] beta_centre;
  vector<lower=0>[J] beta_v;
  vector<lower=0>[J] beta_tau2;
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
}
parameters {
  vector<lower=0>[J] sd_1;
  cholesky_factor_corr[correlated ? J : 1] L_1;  // 1 x 1 (no free parameter) when independent
  vector<lower=(lb - beta_centre) ./ beta_units(beta_scale, sd_1, beta_v, beta_tau2, varying),
         upper=(ub - beta_centre) ./ beta_units(beta_scale, sd_1, beta_v, beta_tau2, varying)>[K] beta;
  real<offset=log_noise_sd_centre, multiplier=log_noise_sd_scale> log_noise_sd;
}
model {
  real noise_sd = exp(log_noise_sd);
  vector[K] units = beta_units(beta_scale, sd_1, beta_v, beta_tau2, varying);
  vector[K] b = beta_centre + units .* beta;
  if (intercept > 0) {
    b[intercept] -= dot_product(x_mean_naive, b);
  }
  matrix[J, J] S = correlated ? diag_pre_multiply(sd_1, L_1) : diag_matrix(sd_1);
  target += log_noise_sd + sum(log(units));
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
  for (g in 1:G) {
    array[end[g] - start[g] + 1] int rows = order[start[g]:end[g]];
    matrix[size(rows), J] ZS = X[rows, varying] * S;
    target += multi_normal_lpdf(y[rows] | X[rows] * b, add_diag(tcrossprod(ZS), square(noise_sd)));
  }
}
