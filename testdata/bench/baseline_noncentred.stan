// Benchmark baseline: the panel model of general_hierarchical.stan written as a textbook
// row-wise, non-centred program, the way brms writes it for
//   y ~ x_2 + ... + x_K + (1 + z_2 + ... + z_J || g)
// (centred population design with a separate Intercept, group effects r_1 = sd_1 .* z_1
// kept as transformed parameters, a row-by-row linear predictor and normal_id_glm).
// Same data (the standardised design and response), same priors and bounds, so the same
// posterior as dsamstan's program; only the parameterisation and the likelihood's cost
// differ. Used by codegen's BenchmarkFit (go test -tags cmdstan -bench Fit ./codegen);
// it is not part of dsamstan.
data {
  int<lower=1> N;                            // rows
  int<lower=2> K;                            // population coefficients, the intercept first
  matrix[N, K] X;                            // standardised design; X[, 1] is all ones
  vector[N] Y;                               // standardised response
  int<lower=1> G;                            // groups
  int<lower=1> J;                            // group-varying terms
  array[N] int<lower=1, upper=G> J_1;        // group of each row
  matrix[N, J] Z_1;                          // group-varying columns of each row
  vector[K] prior_mean;                      // coefficient ~ normal(prior_mean, prior_sd)
  vector<lower=0>[K] prior_sd;
  vector[K] lb;                              // bounds; lb[1], ub[1] must be infinite
  vector[K] ub;
  vector[J] sd_1_prior_mean;                 // sd_1 ~ normal(mean, sd), truncated at 0
  vector<lower=0>[J] sd_1_prior_sd;
  int<lower=0, upper=1> prior_family_noise_sd;
  real noise_sd_prior_a;
  real<lower=0> noise_sd_prior_b;
}
transformed data {
  int Kc = K - 1;
  matrix[N, Kc] Xc;                          // centred population design, no intercept
  vector[Kc] means_X;
  for (i in 2:K) {
    means_X[i - 1] = mean(X[, i]);
    Xc[, i - 1] = X[, i] - means_X[i - 1];
  }
}
parameters {
  vector<lower=lb[2:K], upper=ub[2:K]>[Kc] b;  // population slopes
  real Intercept;                            // intercept of the centred design
  real<lower=0> noise_sd;
  vector<lower=0>[J] sd_1;                   // group scales
  matrix[J, G] z_1;                          // standardised group effects
}
transformed parameters {
  matrix[G, J] r_1 = (diag_pre_multiply(sd_1, z_1))';  // group effects
}
model {
  vector[N] mu = rep_vector(Intercept, N);
  for (n in 1:N) {
    mu[n] += r_1[J_1[n]] * Z_1[n]';
  }
  target += normal_id_glm_lupdf(Y | Xc, mu, b, noise_sd);
  // Priors on the coefficients of the original design, as in dsamstan's program.
  target += normal_lupdf(Intercept - dot_product(means_X, b) | prior_mean[1], prior_sd[1]);
  target += normal_lupdf(b | prior_mean[2:K], prior_sd[2:K]);
  target += normal_lupdf(sd_1 | sd_1_prior_mean, sd_1_prior_sd);
  if (prior_family_noise_sd == 0) {
    target += normal_lupdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  } else {
    target += lognormal_lupdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  }
  target += std_normal_lupdf(to_vector(z_1));
}
generated quantities {
  real b_Intercept = Intercept - dot_product(means_X, b);
}
