#!/bin/sh
# A stand-in for a compiled BLM model executable, used by the pipeline tests. It reads the
# CmdStan arguments it needs and behaves as $FAKE_MODE says: ok, crash, hang or crash-mid.
# $FAKE_COLUMNS, when set, replaces the BLM parameter columns (beta.1..7,noise_sd) by its
# comma-separated list, each drawn around 0.1·(its position), for other programs.
# $FAKE_TIE, "j,k" (1-based positions among the parameter columns), draws column k's noise
# as the negative of column j's, so the two correlate at -1, as collinear predictors do.
out=""; id=1; samples=1000; k=7; cut=""
for a in "$@"; do
  case "$a" in
    file=*.csv) out=${a#file=} ;;
    id=*) id=${a#id=} ;;
    num_samples=*) samples=${a#num_samples=} ;;
  esac
done
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
  echo "# method = sample (Default)"
  echo "#   sample"
  echo "#     num_samples = $samples"
  echo "#     num_warmup = 1000"
  echo "#     save_warmup = 0"
  echo "#     thin = 1"
  echo "# id = $id"
  printf 'lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__'
  if [ -n "$FAKE_COLUMNS" ]; then
    echo ",$FAKE_COLUMNS"
    k=$(echo "$FAKE_COLUMNS" | awk -F, '{print NF - 1}')
  else
    i=1; while [ $i -le $k ]; do printf ',beta.%d' $i; i=$((i+1)); done
    echo ",noise_sd"
  fi
  echo "# Adaptation terminated"
  echo "# Step size = 0.5"
  echo "# Diagonal elements of inverse mass matrix:"
  echo "# 1, 1, 1, 1, 1, 1, 1, 1"
  # Deterministic pseudo-draws: beta.j around j/10, noise_sd around 0.3.
  awk -v n="$samples" -v id="$id" -v k="$k" -v cut="$cut" -v tie="$FAKE_TIE" 'BEGIN {
    srand(id); split(tie, tp, ",");
    for (s = 1; s <= n; s++) {
      if (cut != "" && s > cut + 0) exit;
      line = sprintf("%.6g,0.9,0.5,3,7,0,%.6g", -10 - rand(), 10 + rand());
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
echo "Iteration: 2000 / 2000 [100%]  (Sampling)"
