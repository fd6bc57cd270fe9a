package cmdstan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/stanio"
)

// CmdStan is faked with the helper-process idiom of os/exec's own tests: the Runner's
// commandContext runs this test binary, which TestHelperProcess turns into make,
// stanc or a model executable according to the program name it is given.
//
// Fixtures, all copies of real CmdStan 2.33.1 outputs from ../shared/fixtures/cmdstan-2.33/:
//   - ../stanio/testdata/csv/bernoulli-sample-1.csv and bernoulli-optimize.csv (the Stan
//     CSV reader's fixtures, read in place): what the fake sampler and optimizer write;
//   - testdata/bernoulli-sample-1.stdout.txt: the sampler's stdout with its Iteration lines;
//   - testdata/bernoulli-bad-data.stderr.txt: what a chain prints when the data are wrong;
//   - testdata/bad.stan, testdata/bad.stanc-stderr.txt: a program stanc rejects, and stanc's
//     message;
//   - testdata/bernoulli.stan: the integration test's model.

const (
	helperEnv = "DSAMSTAN_WANT_HELPER_PROCESS"
	// fakeLogEnv names a file the fakes append one line per invocation to.
	fakeLogEnv = "DSAMSTAN_FAKE_LOG"
)

// fakeCommandContext returns a commandContext that runs this test binary as a fake
// CmdStan, with env added to its environment.
func fakeCommandContext(env []string) func(ctx context.Context, name string, args ...string) *exec.Cmd {
	return func(ctx context.Context, name string, args ...string) *exec.Cmd {
		cs := append([]string{"-test.run=^TestHelperProcess$", "--", name}, args...)
		cmd := exec.CommandContext(ctx, os.Args[0], cs...)
		// The race detector sleeps 1 s at exit by default; the fakes have no races to report late.
		cmd.Env = append(os.Environ(), helperEnv+"=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
		cmd.Env = append(cmd.Env, env...)
		return cmd
	}
}

// fake is a Runner wired to the fake CmdStan, with its install, cache and logs.
type fake struct {
	*Runner
	install *Install
	calls   string      // the file the fakes log their invocations to
	log     *syncBuffer // the Runner's log
	env     []string    // extra environment for the fakes
	cache   *Cache
}

// newFake returns a fake Runner with a fresh install and cache. env is passed to
// the fake processes (DSAMSTAN_FAKE_* switches).
func newFake(t *testing.T, env ...string) *fake {
	t.Helper()
	dir := t.TempDir()
	inst := fakeInstall(t, filepath.Join(dir, "cmdstan-2.33.1"), "2.33.1")
	cache, err := OpenCache(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return newFakeWith(inst, cache, filepath.Join(dir, "calls.log"), env...)
}

// newFakeWith wires a Runner to the fake CmdStan; it needs no *testing.T so that a
// helper process can build one too.
func newFakeWith(inst *Install, cache *Cache, calls string, env ...string) *fake {
	log := &syncBuffer{}
	env = append([]string{fakeLogEnv + "=" + calls}, env...)
	r := NewRunner(inst, cache, log)
	r.commandContext = fakeCommandContext(env)
	r.lookPath = func(file string) (string, error) { return file, nil }
	r.waitDelay = 2 * time.Second
	return &fake{Runner: r, install: inst, calls: calls, log: log, env: env, cache: cache}
}

// fakeInstall makes a directory that Find accepts as a complete CmdStan of version:
// its makefile and, empty, a file for each of the parts a built install has. skip
// names parts (by part.name) to leave out.
func fakeInstall(t *testing.T, dir, version string, skip ...string) *Install {
	t.Helper()
	mk := fmt.Sprintf("# CmdStan makefile\nCMDSTAN_VERSION := %s\nSTAN ?= stan/\n", version)
	files := map[string]string{"makefile": mk}
	for _, p := range parts {
		if !slices.Contains(skip, p.name) {
			files[strings.Replace(p.path, "*", "", 1)] = ""
		}
	}
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &Install{Dir: dir, Version: version}
}

// callLines returns the invocations the fakes logged, one per line.
func (f *fake) callLines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(f.calls)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// countCalls returns how many logged invocations start with prefix.
func (f *fake) countCalls(t *testing.T, prefix string) int {
	n := 0
	for _, l := range f.callLines(t) {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a Runner's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHelperProcess is not a real test: it is the fake CmdStan that the Runner's
// commands run (make, stanc, a model executable, or a whole dsamstan compiling).
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "fake cmdstan: no command")
		os.Exit(2)
	}
	os.Exit(fakeMain(args[1], args[2:]))
}

func fakeMain(name string, args []string) int {
	logCall(filepath.Base(name) + " " + strings.Join(args, " "))
	switch filepath.Base(name) {
	case "make":
		return fakeMake(args)
	case "stanc":
		if slices.Equal(args, []string{"--version"}) {
			fmt.Println("stanc3 v2.33.1 (Unix)") // testdata: shared/fixtures stanc-version.txt
			return 0
		}
		fmt.Fprintln(os.Stderr, "fake stanc: only --version")
		return 1
	case "dsamstan-compile":
		return fakeCompileProcess(args)
	case "cc1plus": // a long C++ compile, started by a hanging fake make
		logCall(fmt.Sprintf("cc1plus pid %d", os.Getpid()))
		time.Sleep(time.Minute)
		return 0
	}
	if len(args) > 0 && args[0] == "sample" {
		return fakeSampler(args)
	}
	if len(args) > 0 && args[0] == "optimize" {
		return fakeOptimizer(args)
	}
	if len(args) > 0 && (args[0] == "laplace" || args[0] == "pathfinder") {
		return fakeApprox(args)
	}
	fmt.Fprintf(os.Stderr, "fake cmdstan: unknown command %s %v\n", name, args)
	return 2
}

func logCall(line string) {
	path := os.Getenv(fakeLogEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	f.WriteString(line + "\n") // one short O_APPEND write: processes do not interleave
}

// fakeMake plays `make -C <cmdstan> [-jN] [VAR=value...] <target>`: it fails the
// way CmdStan does when the program is testdata/bad.stan, and otherwise writes a
// fake executable at target. DSAMSTAN_FAKE_MAKE_DELAY (a duration) slows it down;
// DSAMSTAN_FAKE_MAKE_HANG makes it hang in a child "compiler" until that is
// interrupted;
// DSAMSTAN_FAKE_MAKE_CXX_ERROR makes the C++ compiler fail; DSAMSTAN_FAKE_MAKE_KILLED
// makes make die by SIGKILL after writing half an executable.
func fakeMake(args []string) int {
	if len(args) < 3 || args[0] != "-C" {
		fmt.Fprintf(os.Stderr, "fake make: want -C DIR ... TARGET, got %v\n", args)
		return 2
	}
	target := args[len(args)-1]
	program, err := os.ReadFile(target + ".stan")
	if err != nil {
		fmt.Fprintf(os.Stderr, "make: *** No rule to make target '%s'.  Stop.\n", target)
		return 2
	}
	fmt.Printf("make: Entering directory '%s'\n\n--- Translating Stan model to C++ code ---\n", args[1])
	fmt.Printf("bin/stanc  --o=%s.hpp %s.stan\n", target, target)
	if bad, _ := os.ReadFile("testdata/bad.stan"); bytes.Equal(program, bad) {
		msg, err := os.ReadFile("testdata/bad.stanc-stderr.txt")
		if err != nil {
			panic(err)
		}
		os.Stderr.Write(bytes.ReplaceAll(msg, []byte("'bad.stan'"), []byte("'"+target+".stan'")))
		fmt.Fprintf(os.Stderr, "make: *** [make/program:50: %s.hpp] Error 1\n", target)
		fmt.Printf("make: Leaving directory '%s'\n", args[1])
		return 2
	}
	if err := os.WriteFile(target+".hpp", []byte("// fake C++\n"), 0o644); err != nil {
		panic(err)
	}
	if flags := os.Getenv("CXXFLAGS_PROGRAM"); flags != "" {
		// Log the flags and what an -include'd header's precompiled twin links to.
		logCall("make env CXXFLAGS_PROGRAM=" + flags)
		if _, h, ok := strings.Cut(flags, "-include "); ok {
			h = strings.Fields(h)[0]
			link, _ := os.Readlink(h + ".gch")
			text, _ := os.ReadFile(h)
			logCall(fmt.Sprintf("make include %s (%q) -> %s", filepath.Base(h), text, link))
		}
	}
	if os.Getenv("DSAMSTAN_FAKE_MAKE_HANG") != "" {
		// Like GNU make, take SIGINT but wait for the compiler, which only a
		// signal to the whole process group stops.
		signal.Notify(make(chan os.Signal, 1), os.Interrupt)
		fmt.Println("--- Compiling C++ code ---")
		cc := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--", "cc1plus")
		cc.Run()
		return 2
	}
	if os.Getenv("DSAMSTAN_FAKE_MAKE_KILLED") != "" {
		// Killed half-way through linking (the OOM killer, kill -9): half an executable
		// is left at the target.
		os.WriteFile(target, []byte("#!/bin/sh\n# half a mod"), 0o755)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	if os.Getenv("DSAMSTAN_FAKE_MAKE_CXX_ERROR") != "" {
		fmt.Fprintf(os.Stderr, "%s.hpp:12:3: error: 'foo' was not declared in this scope\ncompilation terminated.\n", target)
		fmt.Fprintf(os.Stderr, "make: *** [make/program:58: %s.o] Error 1\n", target)
		return 2
	}
	if d, err := time.ParseDuration(os.Getenv("DSAMSTAN_FAKE_MAKE_DELAY")); err == nil {
		time.Sleep(d)
	}
	exe := fmt.Sprintf("#!/bin/sh\n# fake model built from %d bytes of Stan\n", len(program))
	if err := os.WriteFile(target, []byte(exe), 0o755); err != nil {
		panic(err)
	}
	return 0
}

// fakeCompileProcess is a whole dsamstan process compiling a program, so tests can
// race two of them on one cache: args are the install dir, the cache dir, the
// calls log and the program file. It prints "hit" or "miss".
func fakeCompileProcess(args []string) int {
	cache, err := OpenCache(args[1])
	if err != nil {
		panic(err)
	}
	inst := &Install{Dir: args[0], Version: "2.33.1"}
	f := newFakeWith(inst, cache, args[2], "DSAMSTAN_FAKE_MAKE_DELAY=500ms")
	program, err := os.ReadFile(args[3])
	if err != nil {
		panic(err)
	}
	c, err := f.Compile(context.Background(), program, CompileOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if c.CacheHit {
		fmt.Println("hit")
	} else {
		fmt.Println("miss")
	}
	return 0
}

// cmdstanArgs reads CmdStan's `section key=value` command line into a map keyed
// "key" or "section.key" for the keys that repeat (data.file, output.file).
func cmdstanArgs(args []string) map[string]string {
	m := map[string]string{}
	section := ""
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			section = a
			continue
		}
		if k == "file" {
			k = section + ".file"
		}
		m[k] = v
	}
	return m
}

// fakeSampler plays a model executable's `sample`: it prints CmdStan's Iteration
// lines and copies a real CSV to the output file. DSAMSTAN_FAKE_CRASH=<id> makes
// that chain fail as CmdStan does on bad data; DSAMSTAN_FAKE_CRASH_MID=<id> makes that
// chain die by SIGKILL half-way, leaving a partial CSV; DSAMSTAN_FAKE_HANG makes chains
// (all, or all but the crashing one) write a partial CSV and hang until SIGINT;
// DSAMSTAN_FAKE_IGNORE_SIGINT makes a hung chain ignore SIGINT.
func fakeSampler(args []string) int {
	a := cmdstanArgs(args)
	id := a["id"]
	warmup, _ := strconv.Atoi(a["num_warmup"])
	samples, _ := strconv.Atoi(a["num_samples"])
	refresh, _ := strconv.Atoi(a["refresh"])
	total := warmup + samples
	fmt.Printf("method = sample (Default)\n  sample\n    num_samples = %d\n", samples)
	fmt.Printf("id = %s\noutput\n  file = %s\n\n", id, a["output.file"])
	iteration := func(i int) {
		stage := "Sampling"
		if i <= warmup {
			stage = "Warmup"
		}
		fmt.Printf("Iteration: %*d / %d [%3d%%]  (%s)\n", len(strconv.Itoa(total)), i, total, 100*i/total, stage)
	}

	if id == os.Getenv("DSAMSTAN_FAKE_CRASH") {
		msg, err := os.ReadFile("testdata/bernoulli-bad-data.stderr.txt")
		if err != nil {
			panic(err)
		}
		os.Stderr.Write(msg)
		return 1
	}
	if id == os.Getenv("DSAMSTAN_FAKE_CRASH_MID") {
		// Half-way through sampling: progress so far, the CSV header and some draws, then
		// death by SIGKILL (the OOM killer). A Go program cannot die of a SIGSEGV sent to
		// itself: its runtime catches it and exits 2.
		csv, err := os.ReadFile("../stanio/testdata/csv/bernoulli-sample-1.csv")
		if err != nil {
			panic(err)
		}
		cut := bytes.Index(csv, []byte("\n-7.")) // somewhere among the draws
		if err := os.WriteFile(a["output.file"], csv[:cut+1], 0o644); err != nil {
			panic(err)
		}
		for i := 1; i <= total/2; i += max(1, refresh) {
			iteration(i)
		}
		fmt.Fprintln(os.Stderr, "Informational Message: The current Metropolis proposal is about to be rejected")
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal ends the process
	}
	if os.Getenv("DSAMSTAN_FAKE_HANG") != "" {
		sig := make(chan os.Signal, 1)
		if os.Getenv("DSAMSTAN_FAKE_IGNORE_SIGINT") != "" {
			signal.Ignore(os.Interrupt)
		} else {
			signal.Notify(sig, os.Interrupt)
		}
		header := "# model = bernoulli_model\nlp__,accept_stat__,theta\n"
		if err := os.WriteFile(a["output.file"], []byte(header), 0o644); err != nil {
			panic(err)
		}
		iteration(1)
		select {
		case <-sig:
			fmt.Fprintln(os.Stderr, "fake sampler: got SIGINT, stopping")
			return 130
		case <-time.After(time.Minute):
			return 3
		}
	}
	csv, err := os.ReadFile("../stanio/testdata/csv/bernoulli-sample-1.csv")
	if err != nil {
		panic(err)
	}
	// DSAMSTAN_FAKE_REJECT makes every chain reject a proposal at initialisation, as
	// CmdStan often does; the chain whose id is DSAMSTAN_FAKE_REJECT_SAMPLING also
	// rejects three while sampling.
	reject := func() {
		os.Stderr.WriteString(rejectionHeader + " because of the following issue:\n" +
			"Exception: normal_lpdf: Location parameter[1] is -nan, but must be finite! (in '/tmp/dsamstan-build-1/model_1.stan', line 118, column 2 to column 43)\n" +
			"If this warning occurs sporadically, such as for highly constrained variable types like covariance matrices, then the sampler is fine,\n" +
			"but if this warning occurs often then your model may be either severely ill-conditioned or misspecified.\n\n")
	}
	if os.Getenv("DSAMSTAN_FAKE_REJECT") != "" {
		reject()
		// stdout and stderr reach the Runner through separate pipes: let this reach it
		// before the iteration lines do, as a real sampler's long warmup does.
		time.Sleep(200 * time.Millisecond)
	}
	for i := 1; i <= total; i++ {
		if i == 1 || i%refresh == 0 || i == warmup+1 || i == total {
			iteration(i)
		}
		if i == warmup+1 && id == os.Getenv("DSAMSTAN_FAKE_REJECT_SAMPLING") {
			// Likewise, let the (Sampling) line arrive first.
			time.Sleep(200 * time.Millisecond)
			for range 3 {
				reject()
			}
		}
	}
	if err := os.WriteFile(a["output.file"], csv, 0o644); err != nil {
		panic(err)
	}
	fmt.Println("\n Elapsed Time: 0 seconds (Warm-up)")
	return 0
}

// fakeOptimizer plays `optimize`: it writes the real optimizer CSV with lp__ set
// to the id-th value of DSAMSTAN_FAKE_LP (comma-separated), or fails when id is
// DSAMSTAN_FAKE_CRASH.
func fakeOptimizer(args []string) int {
	a := cmdstanArgs(args)
	id, _ := strconv.Atoi(a["id"])
	if a["id"] == os.Getenv("DSAMSTAN_FAKE_CRASH") {
		fmt.Fprintln(os.Stderr, "Line search failed to achieve a sufficient decrease, no more progress can be made")
		return 70
	}
	lps := strings.Split(os.Getenv("DSAMSTAN_FAKE_LP"), ",")
	csv, err := os.ReadFile("../stanio/testdata/csv/bernoulli-optimize.csv")
	if err != nil {
		panic(err)
	}
	csv = bytes.Replace(csv, []byte("\n-5.00402,"), []byte("\n"+lps[id-1]+","), 1)
	if err := os.WriteFile(a["output.file"], csv, 0o644); err != nil {
		panic(err)
	}
	fmt.Println("Optimization terminated normally: ")
	return 0
}

// recorder is a Progress that remembers every call.
type recorder struct {
	mu            sync.Mutex
	started       map[int]int // chain -> total
	updates       map[int][]string
	done          map[int]error
	running, most int
	firstUpdate   chan int // receives each chain's id on its first update
	waited        bool
}

func newRecorder() *recorder {
	return &recorder{started: map[int]int{}, updates: map[int][]string{}, done: map[int]error{},
		firstUpdate: make(chan int, 64)}
}

func (r *recorder) Start(chain, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started[chain] = total
	r.running++
	r.most = max(r.most, r.running)
}

func (r *recorder) Update(chain, iter, total int, warmup bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.updates[chain]) == 0 {
		r.firstUpdate <- chain
	}
	r.updates[chain] = append(r.updates[chain], fmt.Sprintf("%d/%d %s", iter, total, phase(warmup)))
}

func (r *recorder) Done(chain int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[chain] = err
	r.running--
}

func (r *recorder) Wait() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waited = true
}

// waitUpdates waits until n chains have reported progress.
func (r *recorder) waitUpdates(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-r.firstUpdate:
		case <-time.After(20 * time.Second):
			t.Fatal("chains did not report progress")
		}
	}
}

func TestSampleArgs(t *testing.T) {
	o, err := SampleOptions{Seed: 42, Warmup: 500, Samples: 300, Thin: 2, SaveWarmup: true,
		AdaptDelta: 0.95, MaxTreedepth: 12, Metric: "dense_e", Refresh: 50}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got := sampleArgs("/c/model", "/d/data.json", "/o/chain_3.csv", 3, o)
	want := []string{"/c/model", "sample", "num_samples=300", "num_warmup=500", "thin=2", "save_warmup=1",
		"adapt", "delta=0.95", "algorithm=hmc", "engine=nuts", "max_depth=12", "metric=dense_e",
		"data", "file=/d/data.json", "init=2", "output", "file=/o/chain_3.csv", "refresh=50",
		"random", "seed=42", "id=3"}
	if !slices.Equal(got, want) {
		t.Errorf("sampleArgs =\n%q\nwant\n%q", got, want)
	}
	// No data file: no data section.
	got = sampleArgs("m", "", "c.csv", 1, o)
	if slices.Contains(got, "data") {
		t.Errorf("sampleArgs without data = %q; want no data section", got)
	}
}

func TestSampleOptionsDefaultsAndErrors(t *testing.T) {
	o, err := SampleOptions{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Chains != 4 || o.Warmup != 1000 || o.Samples != 1000 || o.Thin != 1 || o.AdaptDelta != 0.8 ||
		o.MaxTreedepth != 10 || o.Metric != "diag_e" || o.Refresh != 20 || o.InitRadius != 2 || o.Cores < 1 || o.Cores > 4 {
		t.Errorf("defaults = %+v", o)
	}
	_, err = SampleOptions{Chains: -1, Seed: -3, AdaptDelta: 1.5, Metric: "diag", Timeout: -time.Second}.withDefaults()
	for _, want := range []string{
		"cmdstan: sample: chains is -1; must be at least 1",
		"cmdstan: sample: seed is -3; must be between 0 and 4294967295",
		"cmdstan: sample: adapt_delta is 1.5; must be between 0 and 1 (exclusive)",
		`cmdstan: sample: metric is "diag"; must be diag_e, dense_e or unit_e`,
		"cmdstan: sample: timeout is -1s; must not be negative",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\ndoes not report %q", err, want)
		}
	}
}

// TestIterationLine reads the progress lines of a real sampler's stdout.
func TestIterationLine(t *testing.T) {
	data, err := os.ReadFile("testdata/bernoulli-sample-1.stdout.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(string(data), "\n") {
		if m := iterationLine.FindStringSubmatch(line); m != nil {
			got = append(got, m[1]+"/"+m[2]+" "+m[3])
		}
	}
	want := []string{"1/400 Warmup", "100/400 Warmup", "200/400 Warmup", "201/400 Sampling", "300/400 Sampling", "400/400 Sampling"}
	if !slices.Equal(got, want) {
		t.Errorf("iteration lines = %q; want %q", got, want)
	}
}

func TestSampleFourChains(t *testing.T) {
	f := newFake(t)
	out := filepath.Join(t.TempDir(), "fit")
	rec := newRecorder()
	paths, err := f.Sample(context.Background(), "/fake/bernoulli", "/fake/bern.json", out,
		SampleOptions{Chains: 4, Cores: 2, Seed: 11, Warmup: 200, Samples: 200, Refresh: 100}, rec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{}
	for k := 1; k <= 4; k++ {
		want = append(want, filepath.Join(out, fmt.Sprintf("chain_%d.csv", k)))
	}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths = %q; want %q", paths, want)
	}
	fixture, _ := os.ReadFile("../stanio/testdata/csv/bernoulli-sample-1.csv")
	chains, err := stanio.ReadCSVFiles(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	for k, p := range paths {
		if got, _ := os.ReadFile(p); !bytes.Equal(got, fixture) {
			t.Errorf("%s is not the sampler's CSV", p)
		}
		if chains[k].NumDraws() != 200 {
			t.Errorf("%s: %d draws; want 200", p, chains[k].NumDraws())
		}
		stdout, _ := os.ReadFile(strings.TrimSuffix(p, ".csv") + ".stdout.txt")
		if !bytes.Contains(stdout, []byte("Iteration: 201 / 400 [ 50%]  (Sampling)")) {
			t.Errorf("chain %d stdout file lacks the Iteration lines:\n%s", k+1, stdout)
		}
		if _, err := os.Stat(strings.TrimSuffix(p, ".csv") + ".stderr.txt"); err != nil {
			t.Error(err)
		}
	}
	// Each chain got its own id and the run's one seed.
	var ids []string
	for _, l := range f.callLines(t) {
		a := cmdstanArgs(strings.Fields(l))
		ids = append(ids, a["id"])
		if a["seed"] != "11" {
			t.Errorf("chain %s ran with seed %s; want the run's seed 11", a["id"], a["seed"])
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"1", "2", "3", "4"}) {
		t.Errorf("chain ids %v; want 1..4", ids)
	}

	wantUpdates := []string{"1/400 warmup", "100/400 warmup", "200/400 warmup", "201/400 sampling", "300/400 sampling", "400/400 sampling"}
	for k := 1; k <= 4; k++ {
		if rec.started[k] != 400 {
			t.Errorf("chain %d started with total %d; want 400", k, rec.started[k])
		}
		if !slices.Equal(rec.updates[k], wantUpdates) {
			t.Errorf("chain %d updates = %q; want %q", k, rec.updates[k], wantUpdates)
		}
		if err, ok := rec.done[k]; !ok || err != nil {
			t.Errorf("chain %d done = %v, %v; want nil, true", k, err, ok)
		}
	}
	if rec.most > 2 {
		t.Errorf("%d chains ran at once; want at most Cores = 2", rec.most)
	}
}

func TestSampleChainCrash(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_CRASH=2", "DSAMSTAN_FAKE_HANG=1")
	out := t.TempDir()
	rec := newRecorder()
	start := time.Now()
	_, err := f.Sample(context.Background(), "/fake/bernoulli", "/fake/bad.json", out,
		SampleOptions{Chains: 4, Cores: 4, Seed: 1}, rec)
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T); want a *RunError", err, err)
	}
	if re.Chain != 2 || re.ExitCode != 1 || re.Args[0] != "/fake/bernoulli" || !strings.Contains(re.Stderr, "dims declared=(3)") {
		t.Errorf("RunError = %+v", re)
	}
	wantMsg := "cmdstan: chain 2: bernoulli failed with exit code 1:\n" +
		"Exception: mismatch in dimension declared and found in context; processing stage=data initialization; variable name=y; position=0; dims declared=(3); dims found=(2) (in 'bernoulli.stan', line 3, column 2 to column 34)"
	if err.Error() != wantMsg {
		t.Errorf("message =\n%s\nwant\n%s", err, wantMsg)
	}
	if errors.Is(err, ErrInterrupted) {
		t.Error("a crashed chain is reported as interrupted")
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("the hung chains were not stopped when chain 2 failed (took %v)", time.Since(start))
	}
	if !strings.Contains(f.log.String(), "chain 2 | Exception: mismatch in dimension") {
		t.Errorf("log lacks chain 2's stderr:\n%s", f.log)
	}
	if rec.done[2] == nil {
		t.Error("progress did not hear that chain 2 failed")
	}
}

// The sampler's messages about rejected proposals stay in the chains' stderr files;
// the log hears of them only when they come after warmup, in one line per chain.
func TestSampleRejectionMessages(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_REJECT=1", "DSAMSTAN_FAKE_REJECT_SAMPLING=2")
	out := t.TempDir()
	_, err := f.Sample(context.Background(), "/fake/bernoulli", "", out,
		SampleOptions{Chains: 3, Cores: 3, Warmup: 100, Samples: 100, Refresh: 50}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := f.log.String()
	for _, hidden := range []string{"Informational Message", "Exception:", "If this warning occurs", "but if this warning", "/tmp/dsamstan-build-1"} {
		if strings.Contains(log, hidden) {
			t.Errorf("log shows %q:\n%s", hidden, log)
		}
	}
	for k := 1; k <= 3; k++ {
		stderr, _ := os.ReadFile(filepath.Join(out, fmt.Sprintf("chain_%d.stderr.txt", k)))
		n := 1
		if k == 2 {
			n = 4
		}
		if got := strings.Count(string(stderr), rejectionHeader); got != n {
			t.Errorf("chain %d stderr file keeps %d rejection messages; want %d", k, got, n)
		}
	}
	want := "chain 2 | 3 proposals were rejected after warmup because the model could not be evaluated " +
		"(first: normal_lpdf: Location parameter[1] is -nan, but must be finite!); " +
		"a few are harmless, but many mean the model is ill-conditioned or misspecified: " +
		"check the data's scales and the priors, and the divergences in the diagnostics; the messages are in " +
		filepath.Join(out, "chain_2.stderr.txt") + "\n"
	if log != want {
		t.Errorf("log =\n%s\nwant\n%s", log, want)
	}
}

func TestChainMessages(t *testing.T) {
	var m chainMessages
	lines := []struct {
		line string
		show bool
	}{
		{rejectionHeader + " because of the following issue:", false},
		{"Exception: boom (in '/tmp/x/model.stan', line 3, column 2 to column 9)", false},
		{"If this warning occurs sporadically, such as ...", false},
		{"but if this warning occurs often then ...", false},
		{"", false},
		{"Exception: a real error", true},
		{rejectionHeader, false},
		{"Exception: cut short", false},
		{"Chain 1: something else entirely", true}, // ends the block
		{"", true},
	}
	for _, l := range lines {
		if got := m.stderr(l.line); got != l.show {
			t.Errorf("stderr(%q) = %v; want %v", l.line, got, l.show)
		}
	}
	if s := m.summary("x"); s != "" {
		t.Errorf("summary after warmup-only rejections = %q; want none", s)
	}
	m.stdout("Iteration: 1001 / 2000 [ 50%]  (Sampling)")
	m.stderr(rejectionHeader)
	m.stderr("Exception: boom (in '/tmp/x/model.stan', line 3, column 2 to column 9)")
	if s := m.summary("x"); !strings.HasPrefix(s, "1 proposal was rejected after warmup because the model could not be evaluated (first: boom); ") {
		t.Errorf("summary = %q", s)
	}
}

func TestSampleTimeout(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_HANG=1")
	out := t.TempDir()
	paths, err := f.Sample(context.Background(), "/fake/bernoulli", "", out,
		SampleOptions{Chains: 2, Cores: 2, Timeout: 500 * time.Millisecond}, nil)
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T); want a *TimeoutError", err, err)
	}
	if !slices.Equal(te.Chains, []int{1, 2}) || te.Timeout != 500*time.Millisecond || te.OutDir != out {
		t.Errorf("TimeoutError = %+v", te)
	}
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrInterrupted) {
		t.Errorf("errors.Is(DeadlineExceeded, ErrInterrupted) = %v, %v; want true, false",
			errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrInterrupted))
	}
	if len(paths) != 2 {
		t.Errorf("partial CSVs = %q; want both", paths)
	}
}

func TestSampleInterrupted(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_HANG=1")
	out := t.TempDir()
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		rec.waitUpdates(t, 3)
		cancel() // Ctrl-C
	}()
	paths, err := f.Sample(ctx, "/fake/bernoulli", "", out, SampleOptions{Chains: 3, Cores: 3}, rec)
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want ErrInterrupted and context.Canceled", err)
	}
	if want := "cmdstan: interrupted: sampling stopped; partial output kept in " + out + " (context canceled)"; err.Error() != want {
		t.Errorf("message = %q; want %q", err, want)
	}
	if len(paths) != 3 {
		t.Fatalf("kept CSVs = %q; want 3", paths)
	}
	for k, p := range paths {
		if data, _ := os.ReadFile(p); !strings.HasPrefix(string(data), "# model = bernoulli_model") {
			t.Errorf("%s: partial output lost: %q", p, data)
		}
		// The chains were asked politely (SIGINT) and could end on their own.
		stderr, _ := os.ReadFile(filepath.Join(out, fmt.Sprintf("chain_%d.stderr.txt", k+1)))
		if !strings.Contains(string(stderr), "got SIGINT") {
			t.Errorf("chain %d did not get SIGINT; stderr %q", k+1, stderr)
		}
	}
}

// TestSampleKilledAfterWaitDelay checks a chain that ignores SIGINT is killed.
func TestSampleKilledAfterWaitDelay(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_HANG=1", "DSAMSTAN_FAKE_IGNORE_SIGINT=1")
	f.waitDelay = 200 * time.Millisecond
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		rec.waitUpdates(t, 1)
		cancel()
	}()
	start := time.Now()
	_, err := f.Sample(ctx, "/fake/bernoulli", "", t.TempDir(), SampleOptions{Chains: 1}, rec)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v; want ErrInterrupted", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("a chain ignoring SIGINT held Sample for %v", d)
	}
}

func TestRunErrorMessage(t *testing.T) {
	long := ""
	for i := 1; i <= 30; i++ {
		long += fmt.Sprintf("line %d\n", i)
	}
	for _, tc := range []struct {
		name string
		err  *RunError
		want string
	}{
		{"tail of stderr", &RunError{Args: []string{"/x/model", "sample"}, ExitCode: 70, Stderr: long, Chain: 3},
			"cmdstan: chain 3: model failed with exit code 70:\n" + strings.TrimSpace(strings.Join(strings.SplitAfter(long, "\n")[10:], ""))},
		{"stdout when stderr is empty", &RunError{Args: []string{"/x/model"}, ExitCode: 65, Stdout: "bad argument\n"},
			"cmdstan: model failed with exit code 65 (nothing on stderr); last lines of stdout:\nbad argument"},
		{"killed", &RunError{Args: []string{"/x/model"}, ExitCode: -1, Err: errors.New("signal: killed"), Chain: 1},
			"cmdstan: chain 1: model failed: signal: killed and printed nothing"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}

// TestIntegration compiles and samples the Bernoulli example with a real CmdStan.
func TestIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping CmdStan integration test")
	}
	inst, err := Find("")
	if err != nil {
		t.Skipf("no usable CmdStan, skipping integration test: %v", err)
	}
	t.Setenv("DSAMSTAN_CACHE", t.TempDir())
	cache, err := OpenCache("")
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	r := NewRunner(inst, cache, &log)
	ctx := context.Background()

	v, err := r.StancVersion(ctx)
	if err != nil || !strings.HasPrefix(v, "stanc3 v") {
		t.Errorf("StancVersion = %q, %v", v, err)
	}
	program, err := os.ReadFile("testdata/bernoulli.stan")
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Compile(ctx, program, CompileOptions{ToolDigest: "integration-test"})
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheHit {
		t.Error("first compile in a fresh cache was a hit")
	}
	t.Logf("compiled in %v", c.Duration)

	dir := t.TempDir()
	data := filepath.Join(dir, "bern.json")
	if err := stanio.WriteDataFile(data, []stanio.Var{{Name: "N", Value: 10}, {Name: "y", Value: []int{0, 1, 0, 0, 0, 0, 0, 0, 0, 1}}}); err != nil {
		t.Fatal(err)
	}
	paths, err := r.Sample(ctx, c.Exe, data, filepath.Join(dir, "fit"), SampleOptions{Chains: 2, Seed: 7, Warmup: 300, Samples: 300}, nil)
	if err != nil {
		t.Fatal(err)
	}
	chains, err := stanio.ReadCSVFiles(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chains {
		if ch.NumDraws() != 300 || ch.Column("theta") < 0 || ch.Config.Seed != 7 {
			t.Errorf("%s: %d draws, columns %v, seed %d; want 300 draws of theta, seed 7", ch.Path, ch.NumDraws(), ch.Columns, ch.Config.Seed)
		}
	}
	if chains[0].Config.ID != 1 || chains[1].Config.ID != 2 {
		t.Errorf("chain ids %d, %d; want 1, 2", chains[0].Config.ID, chains[1].Config.ID)
	}

	best, all, err := r.Optimize(ctx, c.Exe, data, filepath.Join(dir, "opt"), OptimizeOptions{Runs: 3, Seed: 7})
	if err != nil || len(all) != 3 {
		t.Fatalf("Optimize = %q, %q, %v", best, all, err)
	}
	if lp, err := readLP(best); err != nil || lp < -5.01 || lp > -5.0 { // the Bernoulli fixture's optimum: lp__ = -5.00402
		t.Errorf("best lp__ = %v, %v; want about -5.004", lp, err)
	}

	again, err := r.Compile(ctx, program, CompileOptions{ToolDigest: "integration-test"})
	if err != nil || !again.CacheHit || again.Exe != c.Exe {
		t.Errorf("second compile = %+v, %v; want a cache hit on %s", again, err, c.Exe)
	}

	bad, err := os.ReadFile("testdata/bad.stan")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Compile(ctx, bad, CompileOptions{})
	var ce *CompileError
	if !errors.As(err, &ce) || ce.Line != 3 || ce.Column != 0 || !strings.Contains(ce.Message, `";" expected after variable declaration.`) {
		t.Errorf("bad program: %v; want a CompileError at line 3, column 0", err)
	}
	t.Logf("stanc's error as dsamstan shows it:\n%v", err)
}
