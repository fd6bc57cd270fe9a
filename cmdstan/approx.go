package cmdstan

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
)

// LaplaceOptions configures Runner.Laplace. A zero field takes the default named on it.
type LaplaceOptions struct {
	// Draws is how many draws to take from the normal approximation (default 1000).
	Draws int
	// Seed seeds the draws.
	Seed int64
}

// Laplace runs CmdStan's laplace method: draws from the normal approximation to the
// posterior in the unconstrained space, centred on mode (the CSV of an optimize run with
// jacobian=1, see OptimizeOptions.Jacobian) with the Hessian there as precision. It writes
// <outDir>/laplace.csv, whose log_p__ and log_q__ columns are each draw's log density
// under the model and under the approximation, and the run's stdout and stderr beside it,
// and returns the CSV's path. A failed run is a *RunError; a cancelled ctx gives an error
// wrapping ErrInterrupted.
func (r *Runner) Laplace(ctx context.Context, exe, dataFile, mode, outDir string, opts LaplaceOptions) (string, error) {
	opts.Draws = cmp0(opts.Draws, 1000)
	switch {
	case opts.Draws < 1:
		return "", fmt.Errorf("cmdstan: laplace: draws is %d; must be at least 1", opts.Draws)
	case opts.Seed < 0 || opts.Seed > math.MaxUint32:
		return "", fmt.Errorf("cmdstan: laplace: seed is %d; must be between 0 and %d", opts.Seed, uint32(math.MaxUint32))
	case mode == "":
		return "", fmt.Errorf("cmdstan: laplace: no mode: run Optimize with Jacobian first and pass its CSV")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("cmdstan: laplace: %w", err)
	}
	base := filepath.Join(outDir, "laplace")
	err := r.runProcess(ctx, process{
		args:   laplaceArgs(exe, dataFile, mode, base+".csv", opts),
		id:     1,
		label:  "laplace",
		stdout: base + ".stdout.txt",
		stderr: base + ".stderr.txt",
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%w: laplace stopped; partial output kept in %s (%w)", ErrInterrupted, outDir, context.Cause(ctx))
		}
		return "", err
	}
	return base + ".csv", nil
}

// laplaceArgs is the command line of a laplace run.
func laplaceArgs(exe, dataFile, mode, csv string, o LaplaceOptions) []string {
	args := []string{exe, "laplace", "mode=" + mode, "jacobian=1", "draws=" + strconv.Itoa(o.Draws)}
	if dataFile != "" {
		args = append(args, "data", "file="+dataFile)
	}
	return append(args,
		"output", "file="+csv,
		"random", "seed="+strconv.FormatInt(o.Seed, 10))
}

// PathfinderOptions configures Runner.Pathfinder. A zero field takes the default named on
// it.
type PathfinderOptions struct {
	// NumPaths is how many single-path Pathfinders run from different random inits
	// (default 4); their draws are pooled by importance resampling.
	NumPaths int
	// Draws is how many draws each path takes and how many the importance resampling
	// keeps (default 1000).
	Draws int
	// Seed seeds the inits and the draws.
	Seed int64
}

// PathfinderResult is what a Pathfinder run wrote.
type PathfinderResult struct {
	// CSV is the path of the draws; its lp_approx__ and lp__ columns are each draw's log
	// density under the approximation and under the model.
	CSV string
	// ParetoK is the Pareto k̂ of the importance resampling that CmdStan reports when it
	// exceeds 0.7; NaN when CmdStan reported none (k̂ ≤ 0.7, or a single path, which is
	// not resampled).
	ParetoK float64
}

// paretoKLine is how CmdStan 2.33's pathfinder reports a poor importance resampling.
var paretoKLine = regexp.MustCompile(`Pareto k value \(([-+0-9.eE]+|inf|nan)\) is greater than`)

// Pathfinder runs CmdStan's pathfinder method (multi-path Pathfinder, importance-resampled),
// writing <outDir>/pathfinder.csv and the run's stdout and stderr beside it. A failed run is
// a *RunError; a cancelled ctx gives an error wrapping ErrInterrupted.
func (r *Runner) Pathfinder(ctx context.Context, exe, dataFile, outDir string, opts PathfinderOptions) (*PathfinderResult, error) {
	opts.NumPaths = cmp0(opts.NumPaths, 4)
	opts.Draws = cmp0(opts.Draws, 1000)
	switch {
	case opts.NumPaths < 1:
		return nil, fmt.Errorf("cmdstan: pathfinder: num_paths is %d; must be at least 1", opts.NumPaths)
	case opts.Draws < 1:
		return nil, fmt.Errorf("cmdstan: pathfinder: draws is %d; must be at least 1", opts.Draws)
	case opts.Seed < 0 || opts.Seed > math.MaxUint32:
		return nil, fmt.Errorf("cmdstan: pathfinder: seed is %d; must be between 0 and %d", opts.Seed, uint32(math.MaxUint32))
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("cmdstan: pathfinder: %w", err)
	}
	base := filepath.Join(outDir, "pathfinder")
	res := &PathfinderResult{CSV: base + ".csv", ParetoK: math.NaN()}
	var mu sync.Mutex
	err := r.runProcess(ctx, process{
		args:   pathfinderArgs(exe, dataFile, res.CSV, opts),
		id:     1,
		label:  "pathfinder",
		stdout: base + ".stdout.txt",
		stderr: base + ".stderr.txt",
		onLine: func(line string) {
			if m := paretoKLine.FindStringSubmatch(line); m != nil {
				if k, err := strconv.ParseFloat(m[1], 64); err == nil {
					mu.Lock()
					res.ParetoK = k
					mu.Unlock()
				}
			}
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: pathfinder stopped; partial output kept in %s (%w)", ErrInterrupted, outDir, context.Cause(ctx))
		}
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return res, nil
}

// pathfinderArgs is the command line of a pathfinder run.
func pathfinderArgs(exe, dataFile, csv string, o PathfinderOptions) []string {
	args := []string{exe, "pathfinder",
		"num_paths=" + strconv.Itoa(o.NumPaths),
		"num_draws=" + strconv.Itoa(o.Draws),
		"num_psis_draws=" + strconv.Itoa(o.Draws),
	}
	if dataFile != "" {
		args = append(args, "data", "file="+dataFile)
	}
	return append(args,
		"init=2",
		"output", "file="+csv,
		"random", "seed="+strconv.FormatInt(o.Seed, 10))
}
