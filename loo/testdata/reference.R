# Reference values for package loo's tests, from the R loo package (Debian r-cran-loo 2.5.1).
#
# How the inputs were made (from the repository root, CmdStan 2.33.1):
#
#   go build -o /tmp/dsamstan ./cmd/dsamstan
#   /tmp/dsamstan example blm --out /tmp/blm
#   /tmp/dsamstan run /tmp/blm/config.yaml --run-dir /tmp/blm/run
#   sed 's/ + m_social//; /parameter: m_social/d; s/name: example_blm/name: example_blm_drop_social/' \
#       /tmp/blm/config.yaml > /tmp/blm/config_drop_social.yaml
#   /tmp/dsamstan run /tmp/blm/config_drop_social.yaml --run-dir /tmp/blm/run_drop_social
#   go run ./loo/testdata/genloglik -config /tmp/blm/config.yaml -run /tmp/blm/run -draws 250 \
#       -out loo/testdata/blm_loglik.csv.gz -outliers 78:10,40:4.5 -outlier-out loo/testdata/blm_outliers.csv.gz
#   go run ./loo/testdata/genloglik -config /tmp/blm/config_drop_social.yaml -run /tmp/blm/run_drop_social \
#       -draws 250 -out loo/testdata/blm_drop_social_loglik.csv.gz
#
# Then this script (writes reff_small.csv and reference.csv):
#
#   cd loo/testdata && Rscript reference.R
#
# Cases in reference.csv (columns case, quantity, obs, value; obs is 1-based, NA for
# whole-model values):
#   blm          the BLM example, 4 chains x 250 draws x 156 observations
#   outliers     blm with observation 78 moved 10 noise sds (k > 1) and
#                40 moved 4.5 (0.7 < k < 1), without refitting
#   drop_social  the same data fitted without m_social
#   compare      loo_compare(blm, drop_social): elpd_diff and se_diff per model (obs 1 = blm,
#                2 = drop_social)
#   reff_small   relative_eff on reff_small.csv: AR(1) draws with phi 0, 0.5, 0.9, -0.3,
#                4 chains x 101 draws (and the same values as 1 chain x 404 draws as
#                reff_small_1chain), sizes where loo's FFT length differs from the draw count
suppressPackageStartupMessages(library(loo))
stopifnot(packageVersion("loo") == "2.5.1")

rows <- list()
add <- function(case, quantity, value, obs = NA) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, quantity = quantity, obs = obs,
                                          value = sprintf("%.17g", value))
}

read_ll <- function(path) {
  d <- read.csv(gzfile(path), check.names = FALSE)
  list(chain = d$chain, ll = as.matrix(d[, -(1:2)]))
}

run_loo <- function(case, ll, chain) {
  r_eff <- relative_eff(exp(ll), chain_id = chain)
  fit <- suppressWarnings(loo(ll, r_eff = r_eff))
  est <- fit$estimates
  for (q in rownames(est)) {
    add(case, q, est[q, "Estimate"])
    add(case, paste0("se_", q), est[q, "SE"])
  }
  add(case, "mcse_elpd_loo", mcse_loo(fit))  # NA when some k > 0.7, as loo prints it
  pw <- fit$pointwise
  n <- nrow(pw)
  for (q in c("elpd_loo", "mcse_elpd_loo", "p_loo", "looic")) {
    add(case, paste0("pointwise_", q), pw[, q], seq_len(n))
  }
  add(case, "pareto_k", fit$diagnostics$pareto_k, seq_len(n))
  add(case, "n_eff", fit$diagnostics$n_eff, seq_len(n))
  add(case, "r_eff", r_eff, seq_len(n))
  counts <- pareto_k_table(fit)[, "Count"]
  add(case, "k_counts", counts, seq_along(counts))
  fit
}

blm <- read_ll("blm_loglik.csv.gz")
fit_blm <- run_loo("blm", blm$ll, blm$chain)

out <- read.csv(gzfile("blm_outliers.csv.gz"), check.names = FALSE)
ll_out <- blm$ll
for (col in names(out)[-(1:2)]) ll_out[, col] <- out[[col]]
invisible(run_loo("outliers", ll_out, blm$chain))

drop <- read_ll("blm_drop_social_loglik.csv.gz")
stopifnot(identical(drop$chain, blm$chain))
fit_drop <- run_loo("drop_social", drop$ll, drop$chain)

cmp <- loo_compare(list(blm = fit_blm, drop_social = fit_drop))
for (m in c("blm", "drop_social")) {
  obs <- if (m == "blm") 1 else 2
  add("compare", "elpd_diff", cmp[m, "elpd_diff"], obs)
  add("compare", "se_diff", cmp[m, "se_diff"], obs)
}

# Relative efficiency on autocorrelated draws of awkward length.
set.seed(20240501)
phis <- c(0, 0.5, 0.9, -0.3)
n_iter <- 101
n_chain <- 4
sims <- array(NA_real_, dim = c(n_iter, n_chain, length(phis)))
for (j in seq_along(phis)) {
  for (c in seq_len(n_chain)) {
    x <- numeric(n_iter)
    x[1] <- rnorm(1) + 0.2 * c  # a little between-chain spread
    for (t in 2:n_iter) x[t] <- phis[j] * x[t - 1] + rnorm(1)
    sims[, c, j] <- x
  }
}
flat <- data.frame(chain = rep(seq_len(n_chain), each = n_iter), draw = rep(seq_len(n_iter), n_chain))
for (j in seq_along(phis)) flat[[paste0("x.", j)]] <- sprintf("%.17g", as.vector(sims[, , j]))
write.csv(flat, "reff_small.csv", row.names = FALSE, quote = FALSE)
add("reff_small", "r_eff", relative_eff(sims), seq_along(phis))
one <- array(sims, dim = c(n_iter * n_chain, 1, length(phis)))
add("reff_small_1chain", "r_eff", relative_eff(one), seq_along(phis))

con <- file("reference.csv", "w")
writeLines(sprintf("# loo %s on %s; produced by reference.R (see its header for the commands)",
                   packageVersion("loo"), R.version.string), con)
write.csv(do.call(rbind, rows), con, row.names = FALSE, quote = FALSE)
close(con)
