// Reference for TestPooledLogProbMatchesDirectModel: the pooled single-market model
// written the direct way, y ~ normal(X beta, noise_sd) row by row, each level effect
// normal(0, sd_dim) (the same distribution as sd_dim * z with z ~ normal(0, 1)), each
// pooled coefficient a normal truncated to [lb, ub] with its normaliser written with Phi,
// with the same data as pooled.stan (plus X and y) and its parameters in their natural
// coordinates. Its log density must equal the template's without Jacobians.
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
  int<lower=1> P;
  array[P] int<lower=1, upper=K> pooled_idx;
  int<lower=0> K0;
  array[K0] int<lower=1, upper=K> other_idx;
  int<lower=1> D;
  int<lower=1> L;
  array[L] int<lower=1, upper=D> level_dim;
  array[P, D] int<lower=1, upper=L> level;
  vector<lower=0>[P] pooled_scale;
  real pooled_mean_prior_mean;
  real<lower=0> pooled_mean_prior_sd;
  vector<lower=0>[D] sd_dim_prior_mean;
  vector<lower=0>[D] sd_dim_prior_sd;
  real<lower=0> sd_term_prior_mean;
  real<lower=0> sd_term_prior_sd;
}
transformed data {
  array[K] int pooled_at = rep_array(0, K);
  for (p in 1:P) {
    pooled_at[pooled_idx[p]] = p;
  }
}
parameters {
  vector<lower=lb, upper=ub>[K] beta;
  real<lower=0> noise_sd;
  real pooled_mean;
  vector<lower=0>[D] sd_dim;
  vector[L] pooled_effect;
  real<lower=0> sd_term;
}
model {
  for (k in 1:K) {
    int p = pooled_at[k];
    if (p == 0) {
      target += normal_lpdf(beta[k] | prior_mean[k], prior_sd[k]);
    } else {
      // In original pooling units: beta[k] / pooled_scale[p] ~ normal(m, sd_term) on [lb, ub] / pooled_scale[p].
      real m = pooled_mean;
      for (d in 1:D) {
        m += pooled_effect[level[p, d]];
      }
      real b = beta[k] / pooled_scale[p];
      real lo = lb[k] / pooled_scale[p];
      real hi = ub[k] / pooled_scale[p];
      // Phi(+-inf) is exact, but its gradient is not: leave an infinite side out.
      real p_hi = is_inf(hi) ? 1 : Phi((hi - m) / sd_term);
      real p_lo = is_inf(lo) ? 0 : Phi((lo - m) / sd_term);
      target += normal_lpdf(b | m, sd_term) - log(pooled_scale[p]) - log(p_hi - p_lo);
    }
  }
  if (prior_family_noise_sd == 0) {
    target += normal_lpdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  } else {
    target += lognormal_lpdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  }
  target += normal_lpdf(pooled_mean | pooled_mean_prior_mean, pooled_mean_prior_sd);
  for (d in 1:D) {
    target += normal_lpdf(sd_dim[d] | sd_dim_prior_mean[d], sd_dim_prior_sd[d]);
  }
  target += normal_lpdf(sd_term | sd_term_prior_mean, sd_term_prior_sd);
  for (l in 1:L) {
    target += normal_lpdf(pooled_effect[l] | 0, sd_dim[level_dim[l]]);
  }
  for (i in 1:N) {
    target += normal_lpdf(y[i] | X[i] * beta, noise_sd);
  }
}
