package cmdstan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/stanio"
)

// OptimizeOptions configures Runner.Optimize. A zero field takes the default named
// on it.
type OptimizeOptions struct {
	// Runs is how many optimizer runs start from different random inits (default 4).
	Runs int
	// Seed seeds the runs; run k uses it with id=k, so each gets its own inits.
	Seed int64
	// Algorithm is lbfgs (default), bfgs or newton.
	Algorithm string
	// Iter is the maximum number of iterations per run (default 2000).
	Iter int
	// Jacobian optimizes the density with the Jacobian of the constraining
	// transforms (a MAP estimate in the unconstrained space) rather than without it.
	Jacobian bool
}

// Optimize runs CmdStan's optimizer opts.Runs times from random inits (init=2, run
// k with id=k), in parallel up to the number of CPUs, writing
// <outDir>/optimize_<k>.csv and the run's stdout and stderr beside it. It returns
// the CSV with the highest lp__ and the CSVs of every run that succeeded. A failed
// run is logged and skipped; only when every run fails is it an error, joining
// their *RunErrors. A cancelled ctx gives an error wrapping ErrInterrupted.
func (r *Runner) Optimize(ctx context.Context, exe, dataFile, outDir string, opts OptimizeOptions) (best string, all []string, err error) {
	opts.Runs = cmp0(opts.Runs, 4)
	opts.Iter = cmp0(opts.Iter, 2000)
	if opts.Algorithm == "" {
		opts.Algorithm = "lbfgs"
	}
	switch {
	case opts.Runs < 1:
		return "", nil, fmt.Errorf("cmdstan: optimize: runs is %d; must be at least 1", opts.Runs)
	case opts.Iter < 1:
		return "", nil, fmt.Errorf("cmdstan: optimize: iter is %d; must be at least 1", opts.Iter)
	case opts.Seed < 0 || opts.Seed > math.MaxUint32:
		return "", nil, fmt.Errorf("cmdstan: optimize: seed is %d; must be between 0 and %d", opts.Seed, uint32(math.MaxUint32))
	case opts.Algorithm != "lbfgs" && opts.Algorithm != "bfgs" && opts.Algorithm != "newton":
		return "", nil, fmt.Errorf("cmdstan: optimize: algorithm is %q; must be lbfgs, bfgs or newton", opts.Algorithm)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", nil, fmt.Errorf("cmdstan: optimize: %w", err)
	}

	lps := make([]float64, opts.Runs)
	errs := make([]error, opts.Runs)
	var g errgroup.Group // not WithContext: one failed run must not stop the others
	g.SetLimit(runtime.NumCPU())
	for i := range opts.Runs {
		id := i + 1
		base := filepath.Join(outDir, fmt.Sprintf("optimize_%d", id))
		g.Go(func() error {
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return nil
			}
			err := r.runProcess(ctx, process{
				args:   optimizeArgs(exe, dataFile, base+".csv", id, opts),
				id:     id,
				label:  fmt.Sprintf("optimize run %d", id),
				stdout: base + ".stdout.txt",
				stderr: base + ".stderr.txt",
			})
			if err == nil {
				lps[i], err = readLP(base + ".csv")
			}
			if err != nil && ctx.Err() == nil {
				r.logf("cmdstan: optimize run %d of %d failed; carrying on with the others: %s", id, opts.Runs, firstLine(err.Error()))
			}
			errs[i] = err
			return nil
		})
	}
	g.Wait()
	if ctx.Err() != nil {
		return "", nil, fmt.Errorf("%w: optimize stopped; partial output kept in %s (%w)", ErrInterrupted, outDir, context.Cause(ctx))
	}
	bestLP := math.Inf(-1)
	for i, err := range errs {
		if err != nil {
			continue
		}
		path := filepath.Join(outDir, fmt.Sprintf("optimize_%d.csv", i+1))
		all = append(all, path)
		if best == "" || lps[i] > bestLP {
			best, bestLP = path, lps[i]
		}
	}
	if best == "" {
		return "", nil, fmt.Errorf("cmdstan: optimize: all %d runs failed: %w", opts.Runs, errors.Join(errs...))
	}
	return best, all, nil
}

// optimizeArgs is the command line for optimizer run id.
func optimizeArgs(exe, dataFile, csv string, id int, o OptimizeOptions) []string {
	args := []string{exe, "optimize",
		"algorithm=" + o.Algorithm,
		"jacobian=" + boolArg(o.Jacobian),
		"iter=" + strconv.Itoa(o.Iter),
	}
	if dataFile != "" {
		args = append(args, "data", "file="+dataFile)
	}
	return append(args,
		"init=2",
		"output", "file="+csv,
		"random", "seed="+strconv.FormatInt(o.Seed, 10),
		"id="+strconv.Itoa(id))
}

// readLP returns lp__ of an optimizer CSV's estimate row.
func readLP(path string) (float64, error) {
	c, err := stanio.ReadCSVFile(path)
	if err != nil {
		return 0, err
	}
	j := c.Column("lp__")
	if j < 0 || len(c.Draws[j]) == 0 {
		return 0, fmt.Errorf("cmdstan: %s: no lp__ estimate in the optimiser's output", path)
	}
	lp := c.Draws[j][len(c.Draws[j])-1]
	if math.IsNaN(lp) {
		return 0, fmt.Errorf("cmdstan: %s: lp__ is NaN", path)
	}
	return lp, nil
}
