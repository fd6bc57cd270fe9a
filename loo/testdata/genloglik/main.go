// Command genloglik writes the pointwise log-likelihood matrix of a single-market dsamstan
// fit, for the reference tests of package loo (see ../reference.R for the whole recipe).
//
//	go run ./loo/testdata/genloglik -config CONFIG -run RUN_DIR -draws 250 -out FILE.csv.gz
//
// Row s of chain c holds ll[s,i] = log N(y_i | o_i + Σ_k x_ik·β_k[s], σ[s]) for every kept
// data row i, with β and σ read from RUN_DIR/20_model_fit/chain_*.csv and mapped back to
// original units through codegen's Program.Params, and x, y, o from ingest. Only the first
// -draws post-warmup draws of each chain are written, to keep the test data small.
//
// With -outliers j:m,… (1-based observations) it also writes -outlier-out, with columns
// chain, draw, ll.j, …: the log-likelihood of each observation j alone after adding m times
// the posterior mean of σ to y_j, under the same draws (the model is not refitted: these
// are PSIS stress cases, not fits).
//
// It lives under testdata so that `go build ./...` and `go test ./...` skip it.
package main

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

func main() {
	config := flag.String("config", "", "run config (YAML) of the fit")
	runDir := flag.String("run", "", "run folder of the fit")
	draws := flag.Int("draws", 250, "draws kept per chain (the first ones)")
	out := flag.String("out", "", "output .csv.gz")
	outliers := flag.String("outliers", "", "observations (1-based) to turn into outliers, with their size in posterior-mean noise sds: 78:10,40:5")
	outlierOut := flag.String("outlier-out", "", "output .csv.gz for the outlier observations")
	flag.Parse()
	if err := run(*config, *runDir, *draws, *out, *outliers, *outlierOut); err != nil {
		fmt.Fprintln(os.Stderr, "genloglik:", err)
		os.Exit(1)
	}
}

func run(config, runDir string, draws int, out, outliers, outlierOut string) error {
	ctx := context.Background()
	_, spec, err := ingest.Load(config)
	if err != nil {
		return err
	}
	if len(spec.Groups) > 0 {
		return fmt.Errorf("%s: panel models are not supported", config)
	}
	prog, err := codegen.Render(ctx, nil, spec)
	if err != nil {
		return err
	}
	paths, err := filepath.Glob(filepath.Join(runDir, "20_model_fit", "chain_*.csv"))
	if err != nil || len(paths) == 0 {
		return fmt.Errorf("%s: no chain CSVs", runDir)
	}
	chains, err := stanio.ReadCSVFiles(ctx, paths)
	if err != nil {
		return err
	}
	// One slice of draws per parameter, in original units: Params lists the terms in
	// design order, then noise_sd.
	K := len(spec.Terms)
	if len(prog.Params) != K+1 {
		return fmt.Errorf("program has %d params; want %d terms + noise_sd", len(prog.Params), K)
	}
	theta := make([][][]float64, len(chains)) // [chain][param][draw]
	for c, ch := range chains {
		if ch.NumDraws() < draws {
			return fmt.Errorf("%s has %d draws; want at least %d", ch.Path, ch.NumDraws(), draws)
		}
		theta[c] = make([][]float64, len(prog.Params))
		for j, p := range prog.Params {
			col := ch.Column(p.Column)
			if col < 0 {
				return fmt.Errorf("%s has no column %q", ch.Path, p.Column)
			}
			theta[c][j] = make([]float64, draws)
			for s := range draws {
				theta[c][j][s] = p.Unscale(ch.Draws[col][s])
			}
		}
	}
	ll := func(c, s, i int, y float64) float64 {
		mu := 0.0
		if spec.Offset != nil {
			mu = spec.Offset[i]
		}
		for k := range K {
			mu += spec.X[k][i] * theta[c][k][s]
		}
		sigma := theta[c][K][s]
		z := (y - mu) / sigma
		return -0.5*z*z - math.Log(sigma) - 0.5*math.Log(2*math.Pi)
	}
	all := make([]int, spec.N)
	for i := range all {
		all[i] = i + 1
	}
	if err := writeGz(out, len(chains), draws, all, func(c, s, i int) float64 { return ll(c, s, i, spec.Y[i]) }); err != nil {
		return err
	}
	if outliers == "" {
		return nil
	}
	var obs []int
	var ys []float64
	meanSigma := 0.0
	for c := range chains {
		for s := range draws {
			meanSigma += theta[c][K][s]
		}
	}
	meanSigma /= float64(len(chains) * draws)
	for _, f := range strings.Split(outliers, ",") {
		js, ms, ok := strings.Cut(f, ":")
		j, err1 := strconv.Atoi(js)
		m, err2 := strconv.ParseFloat(ms, 64)
		if !ok || err1 != nil || err2 != nil || j < 1 || j > spec.N {
			return fmt.Errorf("-outliers: %q is not obs:size with obs in 1..%d", f, spec.N)
		}
		y := spec.Y[j-1] + m*meanSigma
		fmt.Fprintf(os.Stderr, "outlier: observation %d, y %g -> %g (+%g x mean noise_sd %g)\n", j, spec.Y[j-1], y, m, meanSigma)
		obs, ys = append(obs, j), append(ys, y)
	}
	return writeGz(outlierOut, len(chains), draws, obs, func(c, s, i int) float64 { return ll(c, s, obs[i]-1, ys[i]) })
}

// writeGz writes a gzipped CSV with columns chain, draw, ll.<obs> … (one row per draw,
// chains in order), values to 10 significant digits: Go and R read the same stored numbers, so the
// rounding does not enter the comparison.
func writeGz(path string, chains, draws int, obs []int, ll func(c, s, i int) float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err := writeCSV(zw, chains, draws, obs, ll); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeCSV(w io.Writer, chains, draws int, obs []int, ll func(c, s, i int) float64) error {
	buf := []byte("chain,draw")
	for _, j := range obs {
		buf = append(buf, ",ll."...)
		buf = strconv.AppendInt(buf, int64(j), 10)
	}
	buf = append(buf, '\n')
	for c := range chains {
		for s := range draws {
			buf = strconv.AppendInt(buf, int64(c+1), 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(s+1), 10)
			for i := range obs {
				buf = append(buf, ',')
				buf = strconv.AppendFloat(buf, ll(c, s, i), 'g', 10, 64)
			}
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}
