package cmdstan

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchHeader is a CmdStan 2.33 config header (from testdata/csv/bernoulli-sample-1.csv)
// with 1000 warmup and 1000 sampling iterations.
const benchHeader = `# stan_version_major = 2
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

// writeBenchCSV writes a sample output of 1000 draws with the 7 sampler columns and params
// parameters, values written with 6 significant digits as CmdStan does by default.
func writeBenchCSV(path string, chain, params int) (int64, error) {
	rng := rand.New(rand.NewPCG(uint64(chain), uint64(params)))
	b := fmt.Appendf(nil, benchHeader, chain, chain)
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
			g(scale[k] * rng.NormFloat64())
		}
		b = append(b, '\n')
	}
	b = append(b, "# \n#  Elapsed Time: 12.3 seconds (Warm-up)\n#                10.1 seconds (Sampling)\n#                22.4 seconds (Total)\n# \n"...)
	return int64(len(b)), os.WriteFile(path, b, 0o644)
}

func benchFiles(b *testing.B, chains, params int) ([]string, int64) {
	b.Helper()
	dir := b.TempDir()
	var paths []string
	var total int64
	for c := 1; c <= chains; c++ {
		path := filepath.Join(dir, fmt.Sprintf("bench-%d.csv", c))
		n, err := writeBenchCSV(path, c, params)
		if err != nil {
			b.Fatal(err)
		}
		paths = append(paths, path)
		total += n
	}
	return paths, total
}

func reportMBps(b *testing.B, bytes int64) {
	b.ReportMetric(float64(bytes)*float64(b.N)/1e6/b.Elapsed().Seconds(), "MB/s")
}

// BenchmarkReadCSVFiles reads 4 chains of 1000 draws × 1007 columns (about 37 MB) in parallel.
func BenchmarkReadCSVFiles(b *testing.B) {
	paths, total := benchFiles(b, 4, 1000)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ReadCSVFiles(context.Background(), paths); err != nil {
			b.Fatal(err)
		}
	}
	reportMBps(b, total)
}

// BenchmarkReadCSVFile reads one chain of 1000 draws with Small (1), Medium (100) and Large
// (1000) parameters: the per-core speed.
func BenchmarkReadCSVFile(b *testing.B) {
	for _, size := range []struct {
		name   string
		params int
	}{{"Small", 1}, {"Medium", 100}, {"Large", 1000}} {
		b.Run(size.name, func(b *testing.B) {
			paths, total := benchFiles(b, 1, size.params)
			b.SetBytes(total)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := ReadCSVFile(paths[0]); err != nil {
					b.Fatal(err)
				}
			}
			reportMBps(b, total)
		})
	}
}

// BenchmarkEncodingCSVBaseline reads the Large file the obvious way, with encoding/csv and
// strconv.ParseFloat, as a yardstick for BenchmarkReadCSVFile/Large on the same machine.
func BenchmarkEncodingCSVBaseline(b *testing.B) {
	paths, total := benchFiles(b, 1, 1000)
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(paths[0])
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
		r.Comment = '#'
		r.ReuseRecord = true
		var cols [][]float64
		for i := 0; ; i++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				cols = make([][]float64, len(rec))
				continue
			}
			for j, cell := range rec {
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					b.Fatal(err)
				}
				cols[j] = append(cols[j], v)
			}
		}
		f.Close()
	}
	reportMBps(b, total)
}
