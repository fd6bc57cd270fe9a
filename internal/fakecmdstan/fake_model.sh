#!/bin/sh
# A stand-in for a compiled BLM model executable, used by the pipeline tests. It reads the
# CmdStan arguments it needs and behaves as $FAKE_MODE says: ok, crash, hang or crash-mid.
# $FAKE_COLUMNS, when set, replaces the BLM parameter columns (beta.1..7,noise_sd) by its
# comma-separated list, each drawn around 0.1·(its position), for other programs.
# $FAKE_TIE, "j,k" (1-based positions among the parameter columns), draws column k's noise
# as the negative of column j's, so the two correlate at -1, as collinear predictors do.
# The method is the first argument: sample, optimize (one row: the mode), laplace (draws=
# rows with log_p__ and log_q__, their log ratio exponential with mean $FAKE_LAPLACE_TAIL,
# 0.1 by default, so Pareto k is about that) or pathfinder (num_psis_draws= rows with
# lp_approx__ and lp__; $FAKE_PARETO_K, when set, is reported as CmdStan reports k > 0.7).
method=$1; out=""; id=1; samples=1000; k=7; cut=""
for a in "$@"; do
  case "$a" in
    file=*.csv) out=${a#file=} ;;
    id=*) id=${a#id=} ;;
    num_samples=*|draws=*|num_psis_draws=*) samples=${a#*=} ;;
  esac
done
case "$method" in
  optimize) samples=1; diag='lp__' ;;
  laplace) diag='log_p__,log_q__' ;;
  pathfinder) diag='lp_approx__,lp__' ;;
  *) method=sample; diag='lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__' ;;
esac
case "$FAKE_MODE" in
  crash)
    echo "Iteration:    1 / 2000 [  0%]  (Warmup)"
    echo "Exception: normal_lpdf: Scale parameter is 0, but must be positive! (in 'model.stan', line 40, column 2)" >&2
    exit 70 ;;
  hang)
    echo "# partial" > "$out"
    echo "Iteration:    1 / 2000 [  0%]  (Warmup)"
    sleep 60 & wait $!
    exit 1 ;;
  crash-mid)
    # chain 2 writes a quarter of its draws, then dies by SIGKILL (the OOM killer)
    if [ "$id" = 2 ]; then cut=$((samples / 4)); fi ;;
esac
{
  echo "# stan_version_major = 2"
  echo "# model = fake_model"
  echo "# method = $method"
  echo "#   $method"
  if [ "$method" = sample ]; then
    echo "#     num_samples = $samples"
    echo "#     num_warmup = 1000"
    echo "#     save_warmup = 0"
    echo "#     thin = 1"
  fi
  echo "# id = $id"
  printf '%s' "$diag"
  if [ -n "$FAKE_COLUMNS" ]; then
    echo ",$FAKE_COLUMNS"
    k=$(echo "$FAKE_COLUMNS" | awk -F, '{print NF - 1}')
  else
    i=1; while [ $i -le $k ]; do printf ',beta.%d' $i; i=$((i+1)); done
    echo ",noise_sd"
  fi
  if [ "$method" = sample ]; then
    echo "# Adaptation terminated"
    echo "# Step size = 0.5"
    echo "# Diagonal elements of inverse mass matrix:"
    echo "# 1, 1, 1, 1, 1, 1, 1, 1"
  fi
  # Deterministic pseudo-draws: beta.j around j/10, noise_sd around 0.3.
  awk -v n="$samples" -v id="$id" -v k="$k" -v cut="$cut" -v tie="$FAKE_TIE" -v method="$method" \
      -v tail="${FAKE_LAPLACE_TAIL:-0.1}" 'BEGIN {
    srand(id); split(tie, tp, ",");
    for (s = 1; s <= n; s++) {
      if (cut != "" && s > cut + 0) exit;
      if (method == "optimize") line = sprintf("%.6g", -10);
      else if (method == "laplace") { q = -rand(); line = sprintf("%.6g,%.6g", q - tail * log(1 - rand()), q) }
      else if (method == "pathfinder") line = sprintf("%.6g,%.6g", -rand(), -10 - rand());
      else line = sprintf("%.6g,0.9,0.5,3,7,0,%.6g", -10 - rand(), 10 + rand());
      if (method == "optimize") { for (j = 1; j <= k; j++) line = line sprintf(",%.6g", j / 10); print line ",0.3"; continue }
      for (j = 1; j <= k; j++) {
        u[j] = (rand() - 0.5) / 50;
        if (tie != "" && j == tp[2] + 0) u[j] = -u[tp[1] + 0];
        line = line sprintf(",%.6g", j / 10 + u[j]);
      }
      print line sprintf(",%.6g", 0.3 + (rand() - 0.5) / 50);
    }
  }'
  if [ -n "$cut" ]; then
    echo "Iteration: 1250 / 2000 [ 62%]  (Sampling)" >&3
    echo "Informational Message: The current Metropolis proposal is about to be rejected" >&2
    kill -KILL $$
  fi
  echo "#  Elapsed Time: 0.01 seconds (Warm-up)"
  echo "#                0.01 seconds (Sampling)"
  echo "#                0.02 seconds (Total)"
} 3>&1 > "$out"
if [ "$method" = pathfinder ] && [ -n "$FAKE_PARETO_K" ]; then
  echo "Pareto k value ($FAKE_PARETO_K) is greater than 0.7. Importance resampling was not able to improve the approximation, which may indicate that the approximation itself is poor."
fi
echo "Iteration: 2000 / 2000 [100%]  (Sampling)"
