// Package stancsvgen writes synthetic CmdStan 2.33 sample CSVs of any width, for
// benchmarks of the Stan CSV reader and the summary (and to time bin/stansummary on the
// same files). It is test support: no command uses it.
package stancsvgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
)

// header is a CmdStan 2.33 config header (from testdata/csv/bernoulli-sample-1.csv)
// with 1000 warmup and 1000 sampling iterations.
const header = `# stan_version_major = 2
# stan_version_minor = 33
# stan_version_patch = 0
# model = bench_model
# start_datetime = 2026-11-27 18:20:36 UTC
# method = sample (Default)
#   sample
#     num_samples = 1000 (Default)
#     num_warmup = 1000 (Default)
#     save_warmup = 0 (Default)
#     thin = 1 (Default)
#     adapt
#       engaged = 1 (Default)
#       gamma = 0.050000000000000003 (Default)
#       delta = 0.80000000000000004 (Default)
#       kappa = 0.75 (Default)
#       t0 = 10 (Default)
#       init_buffer = 75 (Default)
#       term_buffer = 50 (Default)
#       window = 25 (Default)
#     algorithm = hmc (Default)
#       hmc
#         engine = nuts (Default)
#           nuts
#             max_depth = 10 (Default)
#         metric = diag_e (Default)
#         metric_file =  (Default)
#         stepsize = 1 (Default)
#         stepsize_jitter = 0 (Default)
#     num_chains = 1 (Default)
# id = %d
# data
#   file = bench.json
# init = 2 (Default)
# random
#   seed = 42
# output
#   file = bench-%d.csv
#   diagnostic_file =  (Default)
#   refresh = 100 (Default)
#   sig_figs = -1 (Default)
#   profile_file = profile.csv (Default)
# num_threads = 1 (Default)
# stanc_version = stanc3 v2.33.1
# stancflags = 
`

// Write writes a sample output of 1000 draws with the 7 sampler columns and params
// parameters, values written with 6 significant digits as CmdStan does by default. Each
// parameter is an AR(1) series with autocorrelation rho (0 for independent draws), as
// MCMC output is. It returns the file's size.
func Write(path string, chain, params int, rho float64) (int64, error) {
	rng := rand.New(rand.NewPCG(uint64(chain), uint64(params)))
	b := fmt.Appendf(nil, header, chain, chain)
	b = append(b, "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__"...)
	for k := 1; k <= params; k++ {
		b = fmt.Appendf(b, ",beta.%d", k)
	}
	b = append(b, "\n# Adaptation terminated\n# Step size = 0.0392993\n# Diagonal elements of inverse mass matrix:\n# "...)
	scale := make([]float64, params)
	for k := range scale {
		scale[k] = math.Pow(10, rng.Float64()*6-3) // parameters from 1e-3 to 1e3
		if k > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendFloat(b, scale[k]*scale[k], 'g', 6, 64)
	}
	b = append(b, '\n')
	g := func(v float64) { b = strconv.AppendFloat(b, v, 'g', 6, 64) }
	state := make([]float64, params)
	innov := math.Sqrt(1 - rho*rho) // keeps each series' variance at 1
	for range 1000 {
		depth := 1 + rng.IntN(8)
		g(-1000 + 30*rng.NormFloat64())
		b = append(b, ',')
		g(rng.Float64())
		b = append(b, ",0.0392993,"...)
		b = strconv.AppendInt(b, int64(depth), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(1<<depth-1), 10)
		b = append(b, ",0,"...)
		g(1030 + 30*rng.NormFloat64())
		for k := range params {
			b = append(b, ',')
			state[k] = rho*state[k] + innov*rng.NormFloat64()
			g(scale[k] * state[k])
		}
		b = append(b, '\n')
	}
	b = append(b, "# \n#  Elapsed Time: 12.3 seconds (Warm-up)\n#                10.1 seconds (Sampling)\n#                22.4 seconds (Total)\n# \n"...)
	return int64(len(b)), os.WriteFile(path, b, 0o644)
}
