package cmdstan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CompileOptions configures Runner.Compile.
type CompileOptions struct {
	// ToolDigest identifies the dsamstan build (its template version); it is part of
	// the cache key, so a new dsamstan never reuses an old build by accident.
	ToolDigest string
	// MakeVars are make variable assignments passed on make's command line, such as
	// "STANCFLAGS=--O1". They are part of the cache key.
	MakeVars []string
	// Force rebuilds even when the cache has the program (model.force_recompile),
	// replacing the cached entry.
	Force bool
	// Jobs is make's -j (default: the number of CPUs). It only speeds up the first
	// build after a bare install, when CmdStan's own libraries are still to be built.
	Jobs int
}

// Compiled is a model executable ready to run.
type Compiled struct {
	// Exe is the executable's path inside the cache.
	Exe string
	// Key is the cache key: the SHA-256 of everything that went into the build.
	Key string
	// CacheHit reports that the executable came from the cache without a build.
	CacheHit bool
	// Duration is how long Compile took, waiting for a lock included.
	Duration time.Duration
}

// makeVar is what a MakeVars entry must look like; anything else could name a target.
var makeVar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\s*\+?=`)

// Compile returns an executable for program, from the cache when it holds one for
// the same program, CmdStan version, make variables, make/local and ToolDigest, and
// otherwise by running CmdStan's make and storing the result. Two processes
// compiling the same program build it once: the second waits for the first and
// then finds it in the cache.
//
// A program stanc rejects gives a *CompileError with stanc's message and the
// offending line; a cancelled ctx gives an error wrapping ErrInterrupted and leaves
// no cache entry behind.
func (r *Runner) Compile(ctx context.Context, program []byte, opts CompileOptions) (*Compiled, error) {
	start := time.Now()
	if r.cache == nil {
		return nil, errors.New("cmdstan: compile: the Runner has no cache (pass one to NewRunner)")
	}
	for _, v := range opts.MakeVars {
		if !makeVar.MatchString(v) {
			return nil, fmt.Errorf("cmdstan: compile: make variable %q must look like NAME=value", v)
		}
	}
	makeLocal, err := os.ReadFile(filepath.Join(r.inst.Dir, "make", "local"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cmdstan: compile: %w", err)
	}
	key := cacheKey(opts.ToolDigest, r.inst.Version, opts.MakeVars, makeLocal, program)
	short := key[:12]

	unlock, err := r.cache.lock(ctx, key, func() {
		r.logf("cmdstan: waiting for another build of model %s to finish", short)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: stopped waiting for another build of model %s (%w)", ErrInterrupted, short, context.Cause(ctx))
		}
		return nil, err
	}
	defer unlock()
	if r.cache.noFlock.Load() {
		r.logf("cmdstan: the compile cache's filesystem cannot lock files; another process may build model %s at the same time (harmless, only slower)", short)
	}

	if !opts.Force {
		exe, evicted, err := r.cache.get(key)
		if err != nil {
			return nil, err
		}
		if evicted != "" {
			r.logf("cmdstan: cache entry %s was corrupt (%s); rebuilding", short, evicted)
		}
		if exe != "" {
			r.logf("cmdstan: model %s found in the cache", short)
			return &Compiled{Exe: exe, Key: key, CacheHit: true, Duration: time.Since(start)}, nil
		}
	}

	exe, err := r.build(ctx, key, program, opts, platform(opts.MakeVars, makeLocal))
	if err != nil {
		return nil, err
	}
	return &Compiled{Exe: exe, Key: key, Duration: time.Since(start)}, nil
}

// build runs CmdStan's make on program in a temp folder, which it removes, and
// stores the executable in the cache under key, its manifest naming the platform it was
// built for. Call it with the key's lock held.
func (r *Runner) build(ctx context.Context, key string, program []byte, opts CompileOptions, platform string) (string, error) {
	makePath, err := r.checkToolchain()
	if err != nil {
		return "", err
	}
	short := key[:12]
	r.logf("cmdstan: compiling model %s with CmdStan %s (about a minute)", short, r.inst.Version)
	start := time.Now()
	dir, err := os.MkdirTemp("", "dsamstan-build-")
	if err != nil {
		return "", fmt.Errorf("cmdstan: compile: %w", err)
	}
	defer os.RemoveAll(dir)
	// CmdStan builds the executable next to the .stan file, named without ".stan".
	target := filepath.Join(dir, "model_"+short)
	if err := os.WriteFile(target+".stan", program, 0o644); err != nil {
		return "", fmt.Errorf("cmdstan: compile: %w", err)
	}
	args := []string{makePath, "-C", r.inst.Dir}
	if jobs := cmp0(opts.Jobs, runtime.NumCPU()); jobs > 1 {
		args = append(args, "-j"+strconv.Itoa(jobs))
	}
	args = append(args, opts.MakeVars...)
	args = append(args, target)
	cmd := r.command(ctx, args)
	// On SIGINT make waits for its children, expecting the terminal to have sent
	// them SIGINT too. So make gets a process group of its own, and cancelling
	// interrupts the whole group: stanc and the C++ compiler stop at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	if pch := r.precompiledHeader(dir, opts.MakeVars); pch != "" {
		env := cmd.Env
		if env == nil {
			env = os.Environ()
		}
		cmd.Env = append(env, pch)
		r.logf("cmdstan: g++ uses CmdStan's precompiled model header")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out // one buffer: keep make's and stanc's lines in order
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil || killedBySIGINT(err) {
			return "", fmt.Errorf("%w: compile of model %s stopped; nothing was cached (%w)", ErrInterrupted, short, err)
		}
		return "", parseCompileError(program, out.String(), err)
	}
	if _, err := os.Stat(target); err != nil {
		return "", fmt.Errorf("cmdstan: make succeeded but left no executable at %s; its output:\n%s", target, tail(out.String(), tailLines))
	}
	return r.cache.put(key, target, program, manifest{
		CmdStanVersion: r.inst.Version,
		ToolDigest:     opts.ToolDigest,
		Platform:       platform,
		CompileSeconds: time.Since(start).Seconds(),
		Created:        time.Now().UTC(),
	}, opts.Force)
}

// noMake is the error when make is not on PATH; Find and Compile both check.
const noMake = "cmdstan: make not found on PATH: CmdStan needs GNU make and a C++ compiler to build models (Debian/Ubuntu: apt-get install build-essential; macOS: xcode-select --install)"

// checkToolchain finds make and a C++ compiler, which CmdStan needs to build a
// model, and returns make's path.
func (r *Runner) checkToolchain() (string, error) {
	makePath, err := r.lookPath("make")
	if err != nil {
		return "", errors.New(noMake)
	}
	compilers := []string{"g++", "clang++", "c++"}
	if cxx := os.Getenv("CXX"); cxx != "" {
		compilers = []string{cxx}
	}
	for _, c := range compilers {
		if _, err := r.lookPath(c); err == nil {
			return makePath, nil
		}
	}
	return "", fmt.Errorf("cmdstan: no C++ compiler found on PATH (looked for %s): CmdStan needs one to build models (Debian/Ubuntu: apt-get install build-essential; macOS: xcode-select --install)",
		strings.Join(compilers, ", "))
}

// stancHeadline is the first line of stanc's report of a rejected program:
// "Syntax error in '/tmp/…/model_x.stan', line 3, column 0 to column 1, parsing error:".
var stancHeadline = regexp.MustCompile(`(?m)^(?:Syntax|Semantic) error in '([^']*)', line (\d+), column (\d+)[^\n]*$`)

// parseCompileError turns make's output into a *CompileError, picking out stanc's
// report when there is one. stanc's own code excerpt is dropped: Error shows the
// program's lines itself, and the path it names is a deleted temp file.
func parseCompileError(program []byte, output string, err error) *CompileError {
	ce := &CompileError{Program: program, Output: output, Err: err}
	m := stancHeadline.FindStringSubmatchIndex(output)
	if m == nil {
		ce.Message = tail(output, tailLines)
		return ce
	}
	path := output[m[2]:m[3]]
	ce.Line, _ = strconv.Atoi(output[m[4]:m[5]])
	ce.Column, _ = strconv.Atoi(output[m[6]:m[7]])
	headline := strings.Replace(output[m[0]:m[1]], "'"+path+"'", "'"+filepath.Base(path)+"'", 1)

	rest := strings.Split(output[m[1]:], "\n")
	i := 0
	for i < len(rest) && strings.TrimSpace(rest[i]) == "" {
		i++
	}
	if i < len(rest) && isDashes(rest[i]) { // skip the excerpt between two dash lines
		i++
		for i < len(rest) && !isDashes(rest[i]) {
			i++
		}
		i++
	}
	var expl []string
	for ; i < len(rest); i++ {
		if strings.HasPrefix(rest[i], "make") { // make's own "make: *** [...] Error 1"
			break
		}
		expl = append(expl, rest[i])
	}
	ce.Message = headline
	if s := strings.TrimSpace(strings.Join(expl, "\n")); s != "" {
		ce.Message += "\n" + s
	}
	return ce
}

func isDashes(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 3 && strings.Trim(s, "-") == ""
}
