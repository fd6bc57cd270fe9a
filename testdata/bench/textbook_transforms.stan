// Benchmark baseline: the panel model with estimated media transforms written as a
// textbook row-wise Stan program, for
//   y ~ controls + m_1 + ... + m_M + (1 + m_1 + ... + m_M | g)
// (independent group effects, as dsamstan fits (… | g) unless
// model.random_effects.correlated is set), where every media column enters through
//   normalised geometric adstock within each group (rows before a group's first count as
//   zero): a_t = sum_{l=0..L} w_l x_{t-l}, w_l = decay^l / sum_{j=0..L} decay^j
//   Hill saturation: h(a) = a^shape / (a^shape + half_saturation^shape)
// and its coefficient multiplies h(adstock(x)). The transforms are computed from the raw
// spend with loops in the model block, in every gradient evaluation; the group effects are
// non-centred (r = sd_1 .* z_1); the likelihood is row by row. Everything is in original
// units, with dsamstan's priors in original units: the coefficients' normal priors and
// bounds, sd_1 ~ normal truncated at 0, noise_sd's prior, and the transform parameters'
// defaults adstock_decay ~ beta(2, 2), hill_shape ~ lognormal(0, 0.5),
// half_saturation ~ lognormal(log(median positive spend), 1). So it has the same posterior
// as dsamstan's program for the same config; only the parameterisation and the cost of
// the likelihood differ. simulate.TextbookTransformsData builds its data from a model
// spec. It is not part of dsamstan.
data {
  int<lower=1> N;                              // rows, grouped by series, in date order within each
  int<lower=1> K;                              // population coefficients in design order
  matrix[N, K] X;                              // design, original units; the media columns are unused
  vector[N] Y;                                 // response
  int<lower=1> M;                              // media channels (adstock and Hill on each)
  array[M] int<lower=1, upper=K> media;        // their population terms
  matrix<lower=0>[N, M] spend;                 // raw media spend
  array[M] int<lower=0> max_lag;               // adstock lags L
  int<lower=1> G;                              // groups; each is one series of consecutive dates
  array[G] int<lower=1, upper=N> start;        // first row of each group
  array[G] int<lower=1, upper=N> len;          // number of rows of each group
  int<lower=1> J;                              // group-varying terms
  array[J] int<lower=1, upper=K> varying;      // their population terms
  vector[K] prior_mean;                        // b ~ normal(prior_mean, prior_sd)
  vector<lower=0>[K] prior_sd;
  vector[K] lb;                                // bounds of b; +-infinity leaves a side open
  vector[K] ub;
  vector[J] sd_1_prior_mean;                   // sd_1 ~ normal(mean, sd), truncated at 0
  vector<lower=0>[J] sd_1_prior_sd;
  int<lower=0, upper=1> prior_family_noise_sd; // 0 normal (half-normal), 1 lognormal
  real noise_sd_prior_a;                       // normal mean, or lognormal log-space mu
  real<lower=0> noise_sd_prior_b;              // normal sd, or lognormal log-space sigma
  vector<lower=0>[M] decay_prior_a;            // adstock_decay ~ beta(a, b)
  vector<lower=0>[M] decay_prior_b;
  vector[M] half_prior_meanlog;                // half_saturation ~ lognormal(meanlog, sdlog)
  vector<lower=0>[M] half_prior_sdlog;
  vector[M] shape_prior_meanlog;               // hill_shape ~ lognormal(meanlog, sdlog)
  vector<lower=0>[M] shape_prior_sdlog;
}
transformed data {
  array[N] int group;                          // group of each row
  array[N] int pos;                            // position of each row in its group, from 1
  for (g in 1:G) {
    for (t in 1:len[g]) {
      group[start[g] + t - 1] = g;
      pos[start[g] + t - 1] = t;
    }
  }
}
parameters {
  vector<lower=lb, upper=ub>[K] b;             // population coefficients
  vector<lower=0, upper=1>[M] adstock_decay;
  vector<lower=0>[M] half_saturation;
  vector<lower=0>[M] hill_shape;
  real<lower=0> noise_sd;
  vector<lower=0>[J] sd_1;                     // group scales
  matrix[J, G] z_1;                            // standardised group effects
}
model {
  // The media columns, transformed at this draw's parameters.
  matrix[N, M] h;
  for (m in 1:M) {
    vector[max_lag[m] + 1] w;
    for (l in 0:max_lag[m]) {
      w[l + 1] = adstock_decay[m] ^ l;
    }
    w /= sum(w);
    for (n in 1:N) {
      real a = 0;
      for (l in 0:min(max_lag[m], pos[n] - 1)) {
        a += w[l + 1] * spend[n - l, m];
      }
      if (a > 0) {
        // a^shape / (a^shape + half^shape), without overflow
        h[n, m] = inv_logit(hill_shape[m] * (log(a) - log(half_saturation[m])));
      } else {
        h[n, m] = 0;
      }
    }
  }
  matrix[G, J] r_1 = (diag_pre_multiply(sd_1, z_1))';  // group effects
  vector[N] mu;
  for (n in 1:N) {
    row_vector[K] x = X[n];
    for (m in 1:M) {
      x[media[m]] = h[n, m];
    }
    mu[n] = x * b;
    for (j in 1:J) {
      mu[n] += r_1[group[n], j] * x[varying[j]];
    }
  }
  target += normal_lupdf(Y | mu, noise_sd);
  target += normal_lupdf(b | prior_mean, prior_sd);
  target += normal_lupdf(sd_1 | sd_1_prior_mean, sd_1_prior_sd);
  if (prior_family_noise_sd == 0) {
    target += normal_lupdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  } else {
    target += lognormal_lupdf(noise_sd | noise_sd_prior_a, noise_sd_prior_b);
  }
  target += beta_lupdf(adstock_decay | decay_prior_a, decay_prior_b);
  target += lognormal_lupdf(half_saturation | half_prior_meanlog, half_prior_sdlog);
  target += lognormal_lupdf(hill_shape | shape_prior_meanlog, shape_prior_sdlog);
  target += std_normal_lupdf(to_vector(z_1));
}
