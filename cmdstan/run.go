package cmdstan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/internal/num"
)

// waitDelay is how long a process gets to exit after SIGINT before it is killed.
const waitDelay = 5 * time.Second

// Runner runs CmdStan: make to compile, the model executables to sample and
// optimize. It owns every exec call the package makes. A Runner is safe for
// concurrent use.
type Runner struct {
	inst  *Install
	cache *Cache

	logMu sync.Mutex
	log   io.Writer

	stancMu sync.Mutex // guards inst.StancVersion

	// commandContext builds every command; tests replace it to fake CmdStan.
	commandContext func(ctx context.Context, name string, args ...string) *exec.Cmd
	// lookPath resolves make and the C++ compiler; tests replace it.
	lookPath func(file string) (string, error)
	// waitDelay is how long a cancelled process gets before it is killed.
	waitDelay time.Duration
}

// NewRunner returns a Runner for the install, compiling through cache (which may be
// nil for a Runner that only samples). Notes on what it is doing (cache hits and
// misses, each chain's stderr prefixed "chain k | ") go to log; nil discards them.
// The sampler's "Metropolis proposal is about to be rejected" messages are kept out
// of the log (they stay in the chain's stderr file); when a chain still prints them
// after warmup, the log gets one line for the chain saying how many there were.
func NewRunner(inst *Install, cache *Cache, log io.Writer) *Runner {
	if log == nil {
		log = io.Discard
	}
	return &Runner{
		inst:           inst,
		cache:          cache,
		log:            log,
		commandContext: exec.CommandContext,
		lookPath:       exec.LookPath,
		waitDelay:      waitDelay,
	}
}

// logf writes one line to the log.
func (r *Runner) logf(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.log, format+"\n", args...)
}

// StancVersion returns what the install's bin/stanc --version prints, running it on
// first use and recording it in the Install.
func (r *Runner) StancVersion(ctx context.Context) (string, error) {
	r.stancMu.Lock()
	defer r.stancMu.Unlock()
	if r.inst.StancVersion != "" {
		return r.inst.StancVersion, nil
	}
	args := []string{filepath.Join(r.inst.Dir, "bin", "stanc"), "--version"}
	cmd := r.command(ctx, args)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", newRunError(args, 0, err, stderr.String(), stdout.String())
	}
	r.inst.StancVersion = string(bytes.TrimSpace(stdout.Bytes()))
	return r.inst.StancVersion, nil
}

// command builds args[0] with the rest as arguments. Cancelling ctx sends SIGINT,
// so CmdStan and make can end cleanly, and kills the process waitDelay later.
func (r *Runner) command(ctx context.Context, args []string) *exec.Cmd {
	cmd := r.commandContext(ctx, args[0], args[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = r.waitDelay
	return cmd
}

// SampleOptions configures Runner.Sample. A zero field takes the default named on it.
type SampleOptions struct {
	// Chains is the number of chains (default 4); Cores how many run at once
	// (default min(Chains, number of CPUs)).
	Chains, Cores int
	// Seed seeds the whole run; CmdStan derives each chain's stream from it and the
	// chain id. It must be in [0, 2^32-1].
	Seed int64
	// Warmup and Samples are iterations per chain (default 1000 each); Thin keeps
	// every Thin-th draw (default 1).
	Warmup, Samples, Thin int
	// SaveWarmup writes the warmup draws to the CSV too.
	SaveWarmup bool
	// AdaptDelta is the target acceptance rate, in (0, 1) (default 0.8).
	AdaptDelta float64
	// MaxTreedepth is NUTS's maximum tree depth (default 10).
	MaxTreedepth int
	// Metric is diag_e (default), dense_e or unit_e.
	Metric string
	// Refresh is how often, in iterations, the sampler reports progress (default
	// about every 1% of the run).
	Refresh int
	// Timeout ends the run if it has not finished in time; 0 means no limit.
	Timeout time.Duration
	// InitRadius draws initial values uniformly from (-InitRadius, InitRadius) on the
	// unconstrained scale (default 2, CmdStan's).
	InitRadius float64
}

// withDefaults fills zero fields and checks the rest.
func (o SampleOptions) withDefaults() (SampleOptions, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("cmdstan: sample: "+format, args...)) }
	o.Chains = cmp0(o.Chains, 4)
	o.Cores = cmp0(o.Cores, min(o.Chains, runtime.NumCPU()))
	o.Warmup = cmp0(o.Warmup, 1000)
	o.Samples = cmp0(o.Samples, 1000)
	o.Thin = cmp0(o.Thin, 1)
	o.MaxTreedepth = cmp0(o.MaxTreedepth, 10)
	o.Refresh = cmp0(o.Refresh, max(1, (o.Warmup+o.Samples)/100))
	if o.AdaptDelta == 0 {
		o.AdaptDelta = 0.8
	}
	if o.InitRadius == 0 {
		o.InitRadius = 2
	}
	if o.Metric == "" {
		o.Metric = "diag_e"
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"chains", o.Chains}, {"cores", o.Cores}, {"warmup", o.Warmup}, {"samples", o.Samples},
		{"thin", o.Thin}, {"max_treedepth", o.MaxTreedepth}, {"refresh", o.Refresh}} {
		if f.v < 1 {
			bad("%s is %d; must be at least 1", f.name, f.v)
		}
	}
	if o.Seed < 0 || o.Seed > math.MaxUint32 {
		bad("seed is %d; must be between 0 and %d", o.Seed, uint32(math.MaxUint32))
	}
	if !(o.AdaptDelta > 0 && o.AdaptDelta < 1) {
		bad("adapt_delta is %v; must be between 0 and 1 (exclusive)", o.AdaptDelta)
	}
	if !(o.InitRadius > 0) || math.IsInf(o.InitRadius, 0) {
		bad("init radius is %v; must be a positive number", o.InitRadius)
	}
	if o.Timeout < 0 {
		bad("timeout is %v; must not be negative", o.Timeout)
	}
	switch o.Metric {
	case "diag_e", "dense_e", "unit_e":
	default:
		bad("metric is %q; must be diag_e, dense_e or unit_e", o.Metric)
	}
	return o, errors.Join(errs...)
}

// cmp0 returns v, or def when v is zero.
func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// sampleArgs is the command line for chain id, as CmdStan's argument tree wants it.
func sampleArgs(exe, dataFile, csv string, id int, o SampleOptions) []string {
	args := []string{exe, "sample",
		"num_samples=" + strconv.Itoa(o.Samples),
		"num_warmup=" + strconv.Itoa(o.Warmup),
		"thin=" + strconv.Itoa(o.Thin),
		"save_warmup=" + boolArg(o.SaveWarmup),
		"adapt", "delta=" + num.Plain(o.AdaptDelta),
		"algorithm=hmc", "engine=nuts",
		"max_depth=" + strconv.Itoa(o.MaxTreedepth),
		"metric=" + o.Metric,
	}
	if dataFile != "" {
		args = append(args, "data", "file="+dataFile)
	}
	return append(args,
		"init="+num.Plain(o.InitRadius),
		"output", "file="+csv, "refresh="+strconv.Itoa(o.Refresh),
		"random", "seed="+strconv.FormatInt(o.Seed, 10),
		"id="+strconv.Itoa(id))
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// iterationLine matches the sampler's progress lines:
// "Iteration:  100 / 2000 [  5%]  (Warmup)".
var iterationLine = regexp.MustCompile(`^Iteration:\s*(\d+)\s*/\s*(\d+)\s*\[\s*\d+%\]\s*\((Warmup|Sampling)\)`)

// Sample runs opts.Chains chains of the model executable exe on dataFile ("" for a
// model without data), at most opts.Cores at a time, and returns the paths of their
// CSVs, <outDir>/chain_<k>.csv for k = 1..Chains. Each chain's stdout and stderr are
// kept in chain_<k>.stdout.txt and chain_<k>.stderr.txt. Progress (which may be nil)
// hears of every chain's start, progress and end; the caller calls its Wait after
// Sample returns.
//
// The first chain to fail stops the others and is returned as a *RunError. When ctx
// is cancelled (Ctrl-C) the chains get SIGINT, then SIGKILL 5 s later, and the error
// wraps ErrInterrupted; when opts.Timeout runs out it is a *TimeoutError. On any
// error the returned paths name the CSVs that were written, so partial output can
// still be read.
func (r *Runner) Sample(ctx context.Context, exe, dataFile, outDir string, opts SampleOptions, prog Progress) ([]string, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if prog == nil {
		prog = nopProgress{}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("cmdstan: sample: %w", err)
	}
	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, opts.Timeout, errTimedOut)
		defer cancel()
	}
	total := opts.Warmup + opts.Samples
	paths := make([]string, opts.Chains)
	// Each written by its own chain's goroutine only, read after g.Wait.
	started := make([]bool, opts.Chains)
	finished := make([]bool, opts.Chains)
	var sawSIGINT atomic.Bool

	g, gctx := errgroup.WithContext(runCtx)
	g.SetLimit(opts.Cores)
	for i := range opts.Chains {
		id := i + 1
		base := filepath.Join(outDir, fmt.Sprintf("chain_%d", id))
		paths[i] = base + ".csv"
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // stopped before this chain's turn came
			}
			started[i] = true
			prog.Start(id, total)
			var msgs chainMessages
			err := r.runProcess(gctx, process{
				args:   sampleArgs(exe, dataFile, paths[i], id, opts),
				id:     id,
				label:  fmt.Sprintf("chain %d", id),
				stdout: base + ".stdout.txt",
				stderr: base + ".stderr.txt",
				onLine: func(line string) {
					msgs.stdout(line)
					if m := iterationLine.FindStringSubmatch(line); m != nil {
						iter, _ := strconv.Atoi(m[1])
						n, _ := strconv.Atoi(m[2])
						prog.Update(id, iter, n, m[3] == "Warmup")
					}
				},
				logErrLine: msgs.stderr,
			})
			if s := msgs.summary(base + ".stderr.txt"); s != "" {
				r.logf("chain %d | %s", id, s)
			}
			if killedBySIGINT(err) && gctx.Err() == nil {
				sawSIGINT.Store(true) // a SIGINT we did not send: Ctrl-C in the terminal
			}
			finished[i] = err == nil
			prog.Done(id, err)
			return err
		})
	}
	err = g.Wait()
	if err == nil {
		return paths, nil
	}
	written := existing(paths)
	switch {
	case ctx.Err() != nil:
		return written, fmt.Errorf("%w: sampling stopped; partial output kept in %s (%w)", ErrInterrupted, outDir, context.Cause(ctx))
	case sawSIGINT.Load():
		// Ctrl-C in a terminal reaches the chains before ctx is cancelled.
		return written, fmt.Errorf("%w: sampling stopped by SIGINT; partial output kept in %s", ErrInterrupted, outDir)
	case errors.Is(context.Cause(runCtx), errTimedOut):
		te := &TimeoutError{Timeout: opts.Timeout, OutDir: outDir}
		for i := range finished {
			switch {
			case !started[i]:
				te.NotStarted = append(te.NotStarted, i+1)
			case !finished[i]:
				te.Chains = append(te.Chains, i+1)
			}
		}
		return written, te
	}
	return written, err
}

// errTimedOut is the cause of a run context whose SampleOptions.Timeout ran out.
var errTimedOut = errors.New("cmdstan: run timed out")

// existing returns the paths that name existing files.
func existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// killedBySIGINT reports whether err is a process's death by SIGINT.
func killedBySIGINT(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGINT
}

// process is one CmdStan run: the command, where its output goes, a callback for
// each stdout line and a filter for the stderr lines that go to the log.
type process struct {
	args           []string
	id             int    // chain or run id
	label          string // "chain 2", "optimize run 3": prefixes log lines and errors
	stdout, stderr string
	onLine         func(string)
	// logErrLine reports whether a stderr line goes to the log (it is kept in the
	// stderr file either way); nil logs them all.
	logErrLine func(string) bool
}

// maxKept bounds how much of a process's output an error carries.
const maxKept = 64 << 10

// runProcess runs p, saving its stdout and stderr to files and copying stderr lines
// (those p.logErrLine passes) to the log. A failure is a *RunError.
func (r *Runner) runProcess(ctx context.Context, p process) error {
	outFile, err := os.Create(p.stdout)
	if err != nil {
		return fmt.Errorf("cmdstan: %w", err)
	}
	defer outFile.Close()
	errFile, err := os.Create(p.stderr)
	if err != nil {
		return fmt.Errorf("cmdstan: %w", err)
	}
	defer errFile.Close()

	var outTail, errTail tailBuffer
	outLines := &lineWriter{fn: func(line string) {
		if p.onLine != nil {
			p.onLine(line)
		}
	}}
	errLines := &lineWriter{fn: func(line string) {
		if p.logErrLine == nil || p.logErrLine(line) {
			r.logf("%s | %s", p.label, line)
		}
	}}
	cmd := r.command(ctx, p.args)
	cmd.Stdout = io.MultiWriter(outFile, &outTail, outLines)
	cmd.Stderr = io.MultiWriter(errFile, &errTail, errLines)
	runErr := cmd.Run()
	outLines.flush()
	errLines.flush()
	if runErr != nil {
		re := newRunError(p.args, p.id, runErr, errTail.String(), tail(outTail.String(), tailLines))
		re.label = p.label
		return re
	}
	if err := outFile.Close(); err != nil {
		return fmt.Errorf("cmdstan: %w", err)
	}
	if err := errFile.Close(); err != nil {
		return fmt.Errorf("cmdstan: %w", err)
	}
	return nil
}

func newRunError(args []string, id int, err error, stderr, stdout string) *RunError {
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	return &RunError{Args: args, ExitCode: code, Stderr: stderr, Stdout: stdout, Chain: id, Err: err}
}

// tailBuffer keeps the last maxKept bytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2*maxKept {
		t.b = append(t.b[:0], t.b[len(t.b)-maxKept:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if len(t.b) > maxKept {
		return string(t.b[len(t.b)-maxKept:])
	}
	return string(t.b)
}

// lineWriter calls fn with each complete line written to it (without the line
// ending). os/exec writes to it from one goroutine; call flush after the process
// has exited to pass on a last unterminated line.
type lineWriter struct {
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(string(bytes.TrimSuffix(w.buf[:i], []byte("\r"))))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxKept { // a runaway line: pass it on in pieces
		w.flush()
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.fn(string(w.buf))
		w.buf = w.buf[:0]
	}
}
