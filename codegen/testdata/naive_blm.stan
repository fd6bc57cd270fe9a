// Reference for logprob_cmdstan_test.go: the single-market model written the direct way,
// y ~ normal(X beta, noise_sd) over all N rows, with the same data and parameters as
// bayes_lm_updater_revised.stan (plus X and y). Its log density must equal the template's.
data {
  int<lower=1> N;
  int<lower=1> K;
  matrix[N, K] X;
  vector[N] y;
  matrix[K, K] R;
  vector[K] Qty;
  real<lower=0> rss_ls;
  vector[K] prior_mean;
  vector<lower=0>[K] prior_sd;
  vector[K] lb;
  vector[K] ub;
  int<lower=0, upper=1> prior_family_noise_sd;
  real noise_sd_prior_a;
  real<lower=0> noise_sd_prior_b;
}
parameters {
  vector<lower=lb, upper=ub>[K] beta;
  real<lower=0> noise_sd;
}
model {
  beta ~ normal(prior_mean, prior_sd);
  if (prior_family_noise_sd == 0) {
    noise_sd ~ normal(noise_sd_prior_a, noise_sd_prior_b);
  } else {
    noise_sd ~ lognormal(noise_sd_prior_a, noise_sd_prior_b);
  }
  y ~ normal(X * beta, noise_sd);
}
