// Reference for logprob_test.go: the integrated panel model written the direct way, each
// group's rows y_g ~ multi_normal(X_g b, noise_sd^2 I + Z_g S S' Z_g') with a dense
// n_g x n_g covariance, with the same parameters (and constrained-space transforms) as
// integrated_hierarchical.stan, plus the rows themselves. Its log density must equal the
// template's up to a constant, and its gradient must equal the template's.
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
  vector<lower=lb, upper=ub>[K] beta;
  vector<lower=0>[J] sd_1;
  cholesky_factor_corr[correlated ? J : 1] L_1;  // 1 x 1 (no free parameter) when independent
  real<offset=log_noise_sd_centre, multiplier=log_noise_sd_scale> log_noise_sd;
}
model {
  real noise_sd = exp(log_noise_sd);
  vector[K] b = beta_scale .* beta;
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
  for (g in 1:G) {
    array[end[g] - start[g] + 1] int rows = order[start[g]:end[g]];
    matrix[size(rows), J] ZS = X[rows, varying] * S;
    target += multi_normal_lpdf(y[rows] | X[rows] * b, add_diag(tcrossprod(ZS), square(noise_sd)));
  }
}
