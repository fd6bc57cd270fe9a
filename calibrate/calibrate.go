package calibrate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/internal/sbc"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

// Options are the settings of one calibration.
type Options struct {
	// ConfigPath is the run config whose design, priors and sampler settings are calibrated.
	ConfigPath string
	// Out is the output folder; empty: <outputs.root_dir>/YYYYMMDD_HHMMSS_<model.name>_calibrate.
	Out string
	// Sims is the number of simulations (at least 1).
	Sims int
	// Jobs is how many simulations run at once (0: one per CPU); each runs its chains
	// max(1, CPUs / Jobs) at a time. A study is many independent fits, so it keeps the
	// CPUs busy with simulations rather than chains: a simulation's chains are of unequal
	// length and leave CPUs idle while the slowest finishes.
	Jobs int
	// Seed seeds simulation i's prior draw and its sampler with Seed + i; nil:
	// fit.mcmc.seed.
	Seed *int64
	// Warmup and Samples override fit.mcmc's warmup and iter − warmup when > 0.
	Warmup, Samples int
	// Alpha is the family-wise level of the uniformity tests (default 0.01): a parameter
	// fails when its p-value is below Alpha divided by the number of parameters.
	Alpha float64
	// CmdStanDir is --cmdstan.
	CmdStanDir string
	// Log receives progress, one line per simulation.
	Log io.Writer
	// Now is the clock (tests fix it).
	Now func() time.Time

	// priorShift moves the population coefficients' prior means by this many prior sds in
	// the simulation only (not in the fitted program): a deliberately wrong setup that
	// calibration must flag. Tests set it.
	priorShift float64
}

// Result is what a calibration found.
type Result struct {
	// Dir is the output folder.
	Dir string
	// Sims is the number of simulations completed.
	Sims int
	// Params summarises each parameter, in Decode's order.
	Params []ParamSummary
	// Calibrated is the verdict; Verdict says it in words ("calibrated" or "not
	// calibrated: …").
	Calibrated bool
	Verdict    string
	// Divergent counts the simulations with a divergent transition; Programs the distinct
	// compiled programs the simulations used (1 unless the data change a panel's
	// parameterisation choices).
	Divergent, Programs int
	// Missing counts the simulations of a Slurm study without a result (failed, or
	// still to run) when its results were gathered; 0 for a local calibration.
	Missing int
}

// ParamSummary is one row of calibration.csv.
type ParamSummary struct {
	Parameter string
	Sims      int
	Bins      int
	// ChiSquare and P are the uniformity test of the ranks; Flagged is P below the
	// Bonferroni level.
	ChiSquare, P float64
	Flagged      bool
	// Coverage90 is the share of simulations whose central 90% posterior interval holds
	// the truth (0.9 when calibrated).
	Coverage90 float64
	// MeanZ is the mean of (posterior mean − truth)/posterior sd (0 when calibrated).
	MeanZ float64
	// Contraction is 1 − mean posterior variance / variance of the truths across
	// simulations: 0 when the data teach nothing, near 1 when they pin the parameter.
	Contraction float64
}

// simResult is what one simulation recorded.
type simResult struct {
	sim         int
	seed        int64
	divergences int
	thin, draws int
	minESS      float64
	maxRhat     float64
	seconds     float64
	// program is the sha256 of the program's code: simulations whose data change a
	// panel's parameterisation use another program.
	program [32]byte
	// per parameter, in names order
	rank    []int
	covered []bool
	z       []float64
	postVar []float64
	truth   []float64
}

// workDir holds each running simulation's data and chains; a simulation removes its own
// folder when it ends.
const workDir = "work"

// ErrNoSims is returned when no simulation finished (nothing to summarise).
var ErrNoSims = errors.New("calibrate: no simulation finished")

// Run loads the config, then for each of opts.Sims simulations draws every parameter
// from the prior, simulates a response on the config's design, fits it with the run's
// sampler settings and records each parameter's rank among its thinned posterior draws.
// It writes the output folder as it goes (see the package doc); when ctx is cancelled,
// the simulations that finished are summarised and the error wraps
// cmdstan.ErrInterrupted.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	cfg, spec, err := load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	s, err := newStudy(ctx, cfg, spec, opts)
	if err != nil {
		return nil, err
	}
	if err := s.openOutputs(); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Log, "calibrate: %d simulations of %s, %d at a time, %d chains × (%d warmup + %d draws) each, %d cores per simulation; writing %s\n",
		opts.Sims, cfg.Path, s.jobs, s.sample.Chains, s.sample.Warmup, s.sample.Samples, s.sample.Cores, s.dir)
	return s.run(ctx)
}

// load loads and checks the config a calibration studies.
func load(path string) (*ingest.Config, *ingest.Spec, error) {
	cfg, spec, err := ingest.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Fit.Method != "mcmc" {
		return nil, nil, fmt.Errorf("calibrate: %s: `fit.method` is %q; calibration needs posterior draws: use mcmc", cfg.Path, cfg.Fit.Method)
	}
	if err := Check(spec); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	return cfg, spec, nil
}

// checkOptions fills the defaults of opts and checks the settings every executor shares.
func checkOptions(opts *Options) error {
	if opts.Sims < 1 {
		return fmt.Errorf("calibrate: --sims is %d; it must be at least 1", opts.Sims)
	}
	if opts.Alpha == 0 {
		opts.Alpha = 0.01
	}
	if !(opts.Alpha > 0 && opts.Alpha < 1) {
		return fmt.Errorf("calibrate: --alpha is %g; it must be in (0, 1)", opts.Alpha)
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return nil
}

// study is one calibration in progress.
type study struct {
	opts  Options
	spec  *ingest.Spec
	prior prior
	dir   string
	names []string // the parameters, in Decode's order (set by the first simulation)

	runner *cmdstan.Runner
	home   string // the CmdStan install the runner uses
	sample cmdstan.SampleOptions
	jobs   int
	seed   int64

	mu       sync.Mutex
	exes     map[[32]byte]string // compiled programs by code hash
	ranks    *os.File            // calibration_ranks.csv, appended per simulation
	sims     *os.File            // calibration_sims.csv
	results  []*simResult
	compiles sync.Mutex
}

func newStudy(ctx context.Context, cfg *ingest.Config, spec *ingest.Spec, opts Options) (*study, error) {
	m := cfg.Fit.MCMC
	st := &study{opts: opts, spec: spec, prior: prior{spec: spec, shift: opts.priorShift}, exes: map[[32]byte]string{}}
	st.seed = m.Seed
	if opts.Seed != nil {
		st.seed = *opts.Seed
	}
	if st.seed < 0 || st.seed+int64(opts.Sims) > math.MaxUint32 {
		return nil, fmt.Errorf("calibrate: seed %d: the seeds %d…%d must lie in [0, %d]", st.seed, st.seed, st.seed+int64(opts.Sims)-1, uint32(math.MaxUint32))
	}
	warmup, samples := m.Warmup, m.Iter-m.Warmup
	if opts.Warmup > 0 {
		warmup = opts.Warmup
	}
	if opts.Samples > 0 {
		samples = opts.Samples
	}
	st.jobs = opts.Jobs
	if st.jobs <= 0 {
		st.jobs = runtime.NumCPU()
	}
	st.jobs = max(1, min(st.jobs, opts.Sims))
	cores := max(1, min(m.Chains, runtime.NumCPU()/st.jobs))
	st.sample = cmdstan.SampleOptions{Chains: m.Chains, Cores: cores, Warmup: warmup, Samples: samples,
		Thin: m.Thin, AdaptDelta: m.AdaptDelta, MaxTreedepth: m.MaxTreedepth, Refresh: warmup + samples}

	inst, err := cmdstan.Find(opts.CmdStanDir)
	if err != nil {
		return nil, err
	}
	cache, err := cmdstan.OpenCache("")
	if err != nil {
		return nil, err
	}
	st.runner, st.home = cmdstan.NewRunner(inst, cache, opts.Log), inst.Dir

	st.dir = opts.Out
	if st.dir == "" {
		if st.dir, err = runfolder.NewRunDir(cfg.Outputs.RootDir, cfg.Model.Name+"_calibrate", opts.Now()); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(st.dir, 0o755); err != nil {
		return nil, fmt.Errorf("calibrate: output folder: %w", err)
	}
	return st, nil
}

// CSV headers of the ranks and the simulations.
const (
	ranksHeader = "sim,parameter,rank,n_draws\n"
	simsHeader  = "sim,seed,divergences,thin,n_draws,min_ess_bulk,max_rhat,seconds\n"
)

// openOutputs creates the CSVs a local study appends to as its simulations end.
func (st *study) openOutputs() error {
	var err error
	if st.ranks, err = createCSV(filepath.Join(st.dir, runfolder.CalibrationRanks), ranksHeader); err != nil {
		return err
	}
	if st.sims, err = createCSV(filepath.Join(st.dir, runfolder.CalibrationSims), simsHeader); err != nil {
		st.ranks.Close()
		return err
	}
	return nil
}

func createCSV(path, header string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if _, err := io.WriteString(f, header); err != nil {
		f.Close()
		return nil, fmt.Errorf("calibrate: %s: %w", path, err)
	}
	return f, nil
}

// run runs the simulations, jobs at a time, and summarises those that finished.
func (st *study) run(ctx context.Context) (*Result, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(st.jobs)
	for i := range st.opts.Sims {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			r, names, err := st.simulate(gctx, i)
			if err != nil {
				return err
			}
			return st.record(r, names)
		})
	}
	err := g.Wait()
	os.Remove(filepath.Join(st.dir, workDir)) // empty once every simulation cleaned up
	if cerr := errors.Join(st.ranks.Close(), st.sims.Close()); err == nil && cerr != nil {
		err = fmt.Errorf("calibrate: %w", cerr)
	}
	if ctx.Err() != nil && !errors.Is(err, cmdstan.ErrInterrupted) {
		err = fmt.Errorf("%w: %w", cmdstan.ErrInterrupted, context.Cause(ctx))
	}
	res, serr := st.summarise()
	if err != nil {
		if res != nil {
			return res, fmt.Errorf("%w (the %d simulations that finished are summarised in %s)", err, res.Sims, st.dir)
		}
		return &Result{Dir: st.dir}, err
	}
	return res, serr
}

// program draws simulation i's parameters from the prior, simulates its response and
// renders its program.
func (st *study) program(ctx context.Context, i int) (*codegen.Program, map[string]float64, error) {
	seed := st.seed + int64(i)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5bc))
	y, truth, err := st.prior.draw(rng)
	if err != nil {
		return nil, nil, err
	}
	p, err := codegen.Render(ctx, nil, withResponse(st.spec, y))
	if err != nil {
		return nil, nil, fmt.Errorf("calibrate: simulation %d: %w", i+1, err)
	}
	return p, truth, nil
}

// simulate runs simulation i (0-based): draw, simulate, fit, rank. Every executor runs a
// simulation through it, so that a seed gives the same ranks wherever it runs.
func (st *study) simulate(ctx context.Context, i int) (*simResult, []string, error) {
	start := time.Now()
	seed := st.seed + int64(i)
	p, truth, err := st.program(ctx, i)
	if err != nil {
		return nil, nil, err
	}
	exe, err := st.compile(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	work := filepath.Join(st.dir, workDir, fmt.Sprintf("sim_%04d", i+1))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, nil, fmt.Errorf("calibrate: %w", err)
	}
	defer os.RemoveAll(work)
	dataFile := filepath.Join(work, runfolder.DataJSON)
	if err := stanio.WriteDataFile(dataFile, p.Data); err != nil {
		return nil, nil, err
	}
	so := st.sample
	so.Seed = seed
	so.Metric = p.Metric
	so.AdaptDelta = max(so.AdaptDelta, p.AdaptDelta) // as a run: the program may ask for more
	csvs, err := st.runner.Sample(ctx, exe, dataFile, work, so, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("calibrate: simulation %d: %w", i+1, err)
	}
	chains, err := stanio.ReadCSVFiles(ctx, csvs)
	if err != nil {
		return nil, nil, err
	}
	r, names, err := rankChains(p, chains, truth)
	if err != nil {
		return nil, nil, fmt.Errorf("calibrate: simulation %d: %w", i+1, err)
	}
	r.sim, r.seed, r.seconds = i+1, seed, time.Since(start).Seconds()
	r.program = sha256.Sum256(p.Code)
	return r, names, nil
}

// compile returns the executable of p's program, compiling it (through the cache) the
// first time its code is seen. Every simulation of a design normally shares one program:
// only the data change.
func (st *study) compile(ctx context.Context, p *codegen.Program) (string, error) {
	st.compiles.Lock()
	defer st.compiles.Unlock()
	key := sha256.Sum256(p.Code)
	if exe, ok := st.exes[key]; ok {
		return exe, nil
	}
	c, err := st.runner.Compile(ctx, p.Code, cmdstan.CompileOptions{ToolDigest: codegen.TemplateVersion})
	if err != nil {
		return "", err
	}
	if len(st.exes) > 0 {
		fmt.Fprintf(st.opts.Log, "calibrate: a simulated response changed the program's parameterisation; %s (%d programs so far)\n", p.Template, len(st.exes)+1)
	}
	st.exes[key] = c.Exe
	return c.Exe, nil
}

// rankChains decodes the chains of one fit and computes, per parameter, the rank of the
// truth among the draws thinned by the smallest bulk ESS (sbc.Thin), whether the central
// 90% interval covers it, the z-score and the posterior variance.
func rankChains(p *codegen.Program, chains []*stanio.Chain, truth map[string]float64) (*simResult, []string, error) {
	r := &simResult{minESS: math.Inf(1)}
	var names []string
	var cols [][][]float64 // [param][chain]
	for c, ch := range chains {
		if j := ch.Column("divergent__"); j >= 0 {
			for _, v := range ch.Draws[j] {
				if v != 0 {
					r.divergences++
				}
			}
		}
		nm, draws, err := p.Decode(ch)
		if err != nil {
			return nil, nil, err
		}
		if c == 0 {
			names, cols = nm, make([][][]float64, len(nm))
		}
		for j := range draws {
			cols[j] = append(cols[j], draws[j])
		}
	}
	total := 0
	for _, c := range cols[0] {
		total += len(c)
	}
	for j, name := range names {
		if _, ok := truth[name]; !ok {
			return nil, nil, fmt.Errorf("no true value of %s", name)
		}
		r.minESS = math.Min(r.minESS, summarise.ESSBulk(cols[j]))
		r.maxRhat = math.Max(r.maxRhat, summarise.RhatRank(cols[j]))
	}
	r.thin = sbc.Thin(total, len(chains), r.minESS)
	for j, name := range names {
		t := truth[name]
		rank, n := sbc.Rank(cols[j], t, r.thin)
		r.draws = n
		all := slices.Concat(cols[j]...)
		mean, sd := meanSD(all)
		r.rank = append(r.rank, rank)
		r.truth = append(r.truth, t)
		r.z = append(r.z, (mean-t)/sd)
		r.postVar = append(r.postVar, sd*sd)
		r.covered = append(r.covered, sbc.Covered(all, t, 0.9))
	}
	return r, names, nil
}

// meanSD returns the mean and sample sd (n − 1) of x.
func meanSD(x []float64) (mean, sd float64) {
	return num.Mean(x), math.Sqrt(num.Variance(x))
}

// record appends a simulation's rows to the CSVs (flushed to the file at once, so that an
// interrupted calibration keeps them) and keeps it for the summary.
func (st *study) record(r *simResult, names []string) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.names == nil {
		st.names = names
	} else if !slices.Equal(st.names, names) {
		return fmt.Errorf("calibrate: simulation %d reports other parameters than the first", r.sim)
	}
	if _, err := st.ranks.Write(rankRows(nil, r, names)); err != nil {
		return fmt.Errorf("calibrate: %s: %w", runfolder.CalibrationRanks, err)
	}
	if _, err := st.sims.Write(simRow(nil, r)); err != nil {
		return fmt.Errorf("calibrate: %s: %w", runfolder.CalibrationSims, err)
	}
	st.results = append(st.results, r)
	fmt.Fprintf(st.opts.Log, "calibrate: simulation %d/%d done in %.1fs: %d divergences, %d draws kept (thin %d, min ESS %.0f)\n",
		len(st.results), st.opts.Sims, r.seconds, r.divergences, r.draws, r.thin, r.minESS)
	return nil
}

// rankRows appends a simulation's rows of calibration_ranks.csv to b.
func rankRows(b []byte, r *simResult, names []string) []byte {
	for j, name := range names {
		b = fmt.Appendf(b, "%d,%s,%d,%d\n", r.sim, csvField(name), r.rank[j], r.draws)
	}
	return b
}

// simRow appends a simulation's row of calibration_sims.csv to b.
func simRow(b []byte, r *simResult) []byte {
	return fmt.Appendf(b, "%d,%d,%d,%d,%d,%.4g,%.4g,%.1f\n", r.sim, r.seed, r.divergences, r.thin, r.draws, r.minESS, r.maxRhat, r.seconds)
}

// csvField quotes a field as encoding/csv would (cor_1[a,b] holds a comma).
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
