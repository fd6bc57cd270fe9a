// Reference for logprob_test.go: the joint panel model with two grouping factors written
// the direct way, all N rows y ~ multi_normal(X b, noise_sd^2 I + sum over factors of
// Z_f (I kron S_f S_f') Z_f') with a dense N x N covariance, with the same parameters
// (and constrained-space transforms) as integrated_joint.stan, plus the rows themselves.
// Its log density must equal the template's up to a constant, and its gradient must
// equal the template's.
data {
  int<lower=1> N;
  int<lower=1> K;
  matrix[N, K] X;                              // standardised design
  vector[N] y;                                 // standardised response
  int<lower=1> J1;
  int<lower=1> J2;
  array[N] int<lower=1> group1;                // each row's group in factor 1
  array[N] int<lower=1> group2;                // and in factor 2
  array[J1] int<lower=1, upper=K> varying1;    // columns of each factor's group-varying terms
  array[J2] int<lower=1, upper=K> varying2;
  int<lower=0, upper=1> correlated1;
  int<lower=0, upper=1> correlated2;
  int<lower=0, upper=K> intercept;             // 0: no shear of beta
  vector[K] x_mean_naive;                      // predictor means for the shear
  vector[K] prior_mean;
  vector<lower=0>[K] prior_sd;
  vector<lower=0>[K] beta_scale;
  vector[K] lb;
  vector[K] ub;
  vector[J1] sd_1_prior_mean;
  vector<lower=0>[J1] sd_1_prior_sd;
  vector[J2] sd_2_prior_mean;
  vector<lower=0>[J2] sd_2_prior_sd;
  real<lower=0> lkj_eta_naive;
  int<lower=0, upper=1> prior_family_noise_sd;
  real noise_sd_prior_a;
  real<lower=0> noise_sd_prior_b;
  real log_noise_sd_centre;
  real<lower=0> log_noise_sd_scale;
}
parameters {
  vector<lower=lb, upper=ub>[K] beta;
  vector<lower=0>[J1] sd_1;
  cholesky_factor_corr[correlated1 ? J1 : 1] L_1;  // 1 x 1 (no free parameter) when independent
  vector<lower=0>[J2] sd_2;
  cholesky_factor_corr[correlated2 ? J2 : 1] L_2;
  real<offset=log_noise_sd_centre, multiplier=log_noise_sd_scale> log_noise_sd;
}
model {
  real noise_sd = exp(log_noise_sd);
  vector[K] b = beta_scale .* beta;
  if (intercept > 0) {
    b[intercept] -= dot_product(x_mean_naive, b);
  }
  matrix[J1, J1] C1 = tcrossprod(correlated1 ? diag_pre_multiply(sd_1, L_1) : diag_matrix(sd_1));
  matrix[J2, J2] C2 = tcrossprod(correlated2 ? diag_pre_multiply(sd_2, L_2) : diag_matrix(sd_2));
  target += log_noise_sd;
  target += normal_lpdf(b | prior_mean, prior_sd);
  if (prior_family_noise_sd == 0) {
    target += normal_lpdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  } else {
    target += lognormal_lpdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  }
  target += normal_lpdf(sd_1 | sd_1_prior_mean, sd_1_prior_sd);
  target += normal_lpdf(sd_2 | sd_2_prior_mean, sd_2_prior_sd);
  if (correlated1) {
    target += lkj_corr_cholesky_lpdf(L_1 | lkj_eta_naive);
  }
  if (correlated2) {
    target += lkj_corr_cholesky_lpdf(L_2 | lkj_eta_naive);
  }
  matrix[N, N] cov = diag_matrix(rep_vector(square(noise_sd), N));
  for (i in 1:N) {
    for (j in 1:N) {
      if (group1[i] == group1[j]) {
        cov[i, j] += X[i, varying1] * C1 * X[j, varying1]';
      }
      if (group2[i] == group2[j]) {
        cov[i, j] += X[i, varying2] * C2 * X[j, varying2]';
      }
    }
  }
  target += multi_normal_lpdf(y | X * b, cov);
}
