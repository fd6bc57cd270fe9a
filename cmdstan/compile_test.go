package cmdstan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const bernoulliProgram = `data {
  int N;
  array[N] int<lower=0,upper=1> y;
}
parameters {
  real<lower=0,upper=1> theta;
}
model {
  y ~ bernoulli(theta);
}
`

func TestCompileMissThenHit(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	opts := CompileOptions{ToolDigest: "test-v1", MakeVars: []string{"STANCFLAGS=--O1"}, Jobs: 3}
	c, err := f.Compile(ctx, []byte(bernoulliProgram), opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheHit || len(c.Key) != 64 {
		t.Errorf("first compile = %+v; want a miss with a SHA-256 key", c)
	}
	entry := filepath.Join(f.cache.Dir, c.Key[:2], c.Key)
	if c.Exe != filepath.Join(entry, "model") {
		t.Errorf("Exe = %s; want it in the cache entry %s", c.Exe, entry)
	}
	calls := f.callLines(t)
	if len(calls) != 1 {
		t.Fatalf("calls = %q; want one make", calls)
	}
	// make -C <cmdstan> -j3 STANCFLAGS=--O1 <tmp>/model_<key12>
	args := strings.Fields(calls[0])
	if args[0] != "make" || args[1] != "-C" || args[2] != f.install.Dir || args[3] != "-j3" || args[4] != "STANCFLAGS=--O1" ||
		filepath.Base(args[5]) != "model_"+c.Key[:12] || !filepath.IsAbs(args[5]) {
		t.Errorf("make command = %q", calls[0])
	}
	if _, err := os.Stat(filepath.Dir(args[5])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("build dir %s left behind (%v)", filepath.Dir(args[5]), err)
	}
	// The entry holds the executable, the program and a manifest that matches them.
	var m manifest
	data, err := os.ReadFile(filepath.Join(entry, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.ReadFile(c.Exe)
	if m.Key != c.Key || m.ExeSize != int64(len(exe)) || m.ProgramSize != len(bernoulliProgram) ||
		m.CmdStanVersion != "2.33.1" || m.ToolDigest != "test-v1" || m.Created.IsZero() || len(m.ExeSHA256) != 64 {
		t.Errorf("manifest = %+v", m)
	}
	if prog, _ := os.ReadFile(filepath.Join(entry, "model.stan")); string(prog) != bernoulliProgram {
		t.Errorf("model.stan = %q", prog)
	}

	again, err := f.Compile(ctx, []byte(bernoulliProgram), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.CacheHit || again.Exe != c.Exe || again.Key != c.Key {
		t.Errorf("second compile = %+v; want a hit on %s", again, c.Exe)
	}
	if n := f.countCalls(t, "make"); n != 1 {
		t.Errorf("make ran %d times; want once", n)
	}

	// Force rebuilds and replaces the entry.
	forced, err := f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{ToolDigest: "test-v1", MakeVars: opts.MakeVars, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if forced.CacheHit || forced.Key != c.Key || f.countCalls(t, "make") != 2 {
		t.Errorf("forced compile = %+v after %d makes; want a rebuild of the same key", forced, f.countCalls(t, "make"))
	}
	if _, _, err := f.cache.get(c.Key); err != nil {
		t.Error(err)
	}
}

// TestCompileReadsMakeLocal checks that editing the install's make/local (compiler,
// flags) is a different key.
func TestCompileReadsMakeLocal(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	a, err := f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(f.install.Dir, "make"), 0o755)
	if err := os.WriteFile(filepath.Join(f.install.Dir, "make", "local"), []byte("CXXFLAGS += -march=native\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Key == b.Key || b.CacheHit {
		t.Errorf("after editing make/local: key %s (was %s), hit %v; want a new key and a build", b.Key, a.Key, b.CacheHit)
	}
}

func TestCompileStancError(t *testing.T) {
	f := newFake(t)
	program, err := os.ReadFile("testdata/bad.stan")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Compile(context.Background(), program, CompileOptions{})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T); want a *CompileError", err, err)
	}
	key := cacheKey("", "2.33.1", nil, nil, program)
	want := `cmdstan: stanc rejected the program: Syntax error in 'model_` + key[:12] + `.stan', line 3, column 0 to column 1, parsing error:
";" expected after variable declaration.

  1 | parameters {
  2 |   real mu
  3 | }
    | ^
  4 | model {
  5 |   mu ~ normal(0, 1);`
	if err.Error() != want {
		t.Errorf("message =\n%s\nwant\n%s", err, want)
	}
	if ce.Line != 3 || ce.Column != 0 || string(ce.Program) != string(program) || !strings.Contains(ce.Output, "make: *** [make/program:50:") {
		t.Errorf("CompileError = line %d column %d, output %q", ce.Line, ce.Column, ce.Output)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("Unwrap does not reach make's exit status: %v", ce.Err)
	}
	if entries := cacheEntries(t, f.cache); len(entries) != 0 {
		t.Errorf("a failed compile left cache entries %q", entries)
	}
}

func TestCompileCxxError(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_MAKE_CXX_ERROR=1")
	_, err := f.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{})
	var ce *CompileError
	if !errors.As(err, &ce) || ce.Line != 0 {
		t.Fatalf("err = %v; want a *CompileError without a stanc line", err)
	}
	for _, want := range []string{"cmdstan: compile failed (exit status 2); last lines of make's output:", "error: 'foo' was not declared in this scope"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message\n%s\nlacks %q", err, want)
		}
	}
}

// TestParseCompileError reads stanc reports produced by CmdStan 2.33.1's make (a
// semantic error) and bin/stanc (a lexing error) on this project's machine.
func TestParseCompileError(t *testing.T) {
	program := "parameters {\n  real mu;\n}\nmodel {\n  mu ~ normal(0, sigma);\n}\n"
	semantic := `
--- Translating Stan model to C++ code ---
bin/stanc  --o=/tmp/semtest/m.hpp /tmp/semtest/m.stan
Semantic error in '/tmp/semtest/m.stan', line 5, column 17 to column 22:
   -------------------------------------------------
     3:  }
     4:  model {
     5:    mu ~ normal(0, sigma);
                          ^
     6:  }
   -------------------------------------------------

Identifier 'sigma' not in scope.
make: *** [make/program:50: /tmp/semtest/m.hpp] Error 1
`
	ce := parseCompileError([]byte(program), semantic, errors.New("exit status 2"))
	wantMsg := "Semantic error in 'm.stan', line 5, column 17 to column 22:\nIdentifier 'sigma' not in scope."
	if ce.Line != 5 || ce.Column != 17 || ce.Message != wantMsg {
		t.Errorf("semantic: line %d column %d message %q; want 5, 17, %q", ce.Line, ce.Column, ce.Message, wantMsg)
	}
	if ex := excerpt([]byte(program), 5, 17, 2); !strings.Contains(ex, "  5 |   mu ~ normal(0, sigma);\n    |                  ^") {
		t.Errorf("caret misplaced:\n%s", ex)
	}

	lexing := `Syntax error in '/tmp/semtest/m2.stan', line 6, column 1, lexing error:
   -------------------------------------------------
     4:  model {
     5:    mu ~ normal(0, 1)
     6:    @
           ^
     7:  }
   -------------------------------------------------

Invalid character found.`
	ce = parseCompileError(nil, lexing, nil)
	if ce.Line != 6 || ce.Column != 1 || ce.Message != "Syntax error in 'm2.stan', line 6, column 1, lexing error:\nInvalid character found." {
		t.Errorf("lexing: line %d column %d message %q", ce.Line, ce.Column, ce.Message)
	}
}

func TestCompileInterruptedLeavesNothing(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_MAKE_HANG=1")
	f.waitDelay = 20 * time.Second // so only a SIGINT to make's children can end it in time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for f.countCalls(t, "cc1plus pid") == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v; want ErrInterrupted", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled compile took %v: make's compiler child was not interrupted", d)
	}
	for _, l := range f.callLines(t) {
		var pid int
		if _, err := fmt.Sscanf(l, "cc1plus pid %d", &pid); err == nil {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("compiler process %d still running after cancel (%v)", pid, err)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	if entries := cacheEntries(t, f.cache); len(entries) != 0 {
		t.Errorf("an interrupted compile left cache entries %q", entries)
	}
	target := strings.Fields(f.callLines(t)[0])
	if _, err := os.Stat(filepath.Dir(target[len(target)-1])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("build dir left behind (%v)", err)
	}

	// The next compile, with a make that finishes, builds again.
	g := newFakeWith(f.install, f.cache, f.calls)
	c, err := g.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheHit || f.countCalls(t, "make") != 2 {
		t.Errorf("compile after an interrupted one: hit %v, %d makes; want a build", c.CacheHit, f.countCalls(t, "make"))
	}
}

func TestCompileSameKeyTwoGoroutines(t *testing.T) {
	f := newFake(t, "DSAMSTAN_FAKE_MAKE_DELAY=300ms")
	var wg sync.WaitGroup
	results := make([]*Compiled, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			results[i], errs[i] = f.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.countCalls(t, "make"); n != 1 {
		t.Errorf("make ran %d times; want once", n)
	}
	if results[0].CacheHit == results[1].CacheHit || results[0].Exe != results[1].Exe {
		t.Errorf("results %+v, %+v; want one build and one hit of the same executable", results[0], results[1])
	}
	if !strings.Contains(f.log.String(), "waiting for another build of model") {
		t.Errorf("log does not say one compile waited:\n%s", f.log)
	}
}

// TestCompileSameKeyTwoProcesses races two processes (this test binary playing
// dsamstan) on one cache.
func TestCompileSameKeyTwoProcesses(t *testing.T) {
	f := newFake(t)
	program := filepath.Join(t.TempDir(), "model.stan")
	if err := os.WriteFile(program, []byte(bernoulliProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	cmds := make([]*exec.Cmd, 2)
	outs := make([]strings.Builder, 2)
	for i := range cmds {
		cmds[i] = fakeCommandContext(nil)(context.Background(), "dsamstan-compile", f.install.Dir, f.cache.Dir, f.calls, program)
		cmds[i].Stdout = &outs[i]
		cmds[i].Stderr = &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i].String())
		}
	}
	got := []string{strings.TrimSpace(outs[0].String()), strings.TrimSpace(outs[1].String())}
	slices.Sort(got)
	if !slices.Equal(got, []string{"hit", "miss"}) {
		t.Errorf("processes printed %q; want one miss and one hit", got)
	}
	if n := f.countCalls(t, "make"); n != 1 {
		t.Errorf("make ran %d times; want once", n)
	}
}

func TestCompileCorruptEntry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(entry string) error
		reason  string
	}{
		{"executable changed", func(e string) error {
			return os.WriteFile(filepath.Join(e, "model"), []byte("#!/bin/sh\n# truncated or tampered with\n"), 0o755)
		}, "executable is"},
		{"executable same size, other bytes", func(e string) error {
			p := filepath.Join(e, "model")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)-2] ^= 1
			return os.WriteFile(p, b, 0o755)
		}, "does not match the manifest"},
		{"manifest missing", func(e string) error { return os.Remove(filepath.Join(e, "manifest.json")) }, "no manifest"},
		{"manifest garbage", func(e string) error {
			return os.WriteFile(filepath.Join(e, "manifest.json"), []byte("{\"key\": "), 0o644)
		}, "unreadable manifest"},
		{"executable missing", func(e string) error { return os.Remove(filepath.Join(e, "model")) }, "no such file"},
		{"not executable", func(e string) error { return os.Chmod(filepath.Join(e, "model"), 0o644) }, "not a regular executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			ctx := context.Background()
			c, err := f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.corrupt(filepath.Dir(c.Exe)); err != nil {
				t.Fatal(err)
			}
			again, err := f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if again.CacheHit || f.countCalls(t, "make") != 2 {
				t.Errorf("after corruption: hit %v, %d makes; want a rebuild", again.CacheHit, f.countCalls(t, "make"))
			}
			if log := f.log.String(); !strings.Contains(log, "was corrupt") || !strings.Contains(log, tc.reason) {
				t.Errorf("log does not report the corruption (%q):\n%s", tc.reason, log)
			}
			third, err := f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{})
			if err != nil || !third.CacheHit {
				t.Errorf("after the rebuild: %+v, %v; want a hit", third, err)
			}
		})
	}
}

func TestCompileLockWaitCancelled(t *testing.T) {
	f := newFake(t)
	key := cacheKey("", "2.33.1", nil, nil, []byte(bernoulliProgram))
	unlock, err := f.cache.lock(context.Background(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = f.Compile(ctx, []byte(bernoulliProgram), CompileOptions{})
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v; want ErrInterrupted wrapping the deadline", err)
	}
	if f.countCalls(t, "make") != 0 {
		t.Error("make ran without the lock")
	}
}

func TestCompileToolchain(t *testing.T) {
	f := newFake(t)
	f.lookPath = func(file string) (string, error) { return "", exec.ErrNotFound }
	_, err := f.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "cmdstan: make not found on PATH: CmdStan needs GNU make and a C++ compiler") {
		t.Errorf("err = %v; want make not found", err)
	}
	f.lookPath = func(file string) (string, error) {
		if file == "make" {
			return "/usr/bin/make", nil
		}
		return "", exec.ErrNotFound
	}
	t.Setenv("CXX", "")
	_, err = f.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "cmdstan: no C++ compiler found on PATH (looked for g++, clang++, c++)") {
		t.Errorf("err = %v; want no C++ compiler", err)
	}
	t.Setenv("CXX", "icpx")
	_, err = f.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{})
	if err == nil || !strings.Contains(err.Error(), "(looked for icpx)") {
		t.Errorf("err = %v; want $CXX looked for", err)
	}
}

func TestCompileBadMakeVar(t *testing.T) {
	f := newFake(t)
	_, err := f.Compile(context.Background(), []byte(bernoulliProgram), CompileOptions{MakeVars: []string{"clean"}})
	if err == nil || err.Error() != `cmdstan: compile: make variable "clean" must look like NAME=value` {
		t.Errorf("err = %v", err)
	}
}

func TestStancVersion(t *testing.T) {
	f := newFake(t)
	for range 2 {
		v, err := f.StancVersion(context.Background())
		if err != nil || v != "stanc3 v2.33.1 (Unix)" {
			t.Fatalf("StancVersion = %q, %v", v, err)
		}
	}
	if f.install.StancVersion != "stanc3 v2.33.1 (Unix)" || f.countCalls(t, "stanc --version") != 1 {
		t.Errorf("Install.StancVersion = %q after %d runs; want it recorded after one", f.install.StancVersion, f.countCalls(t, "stanc"))
	}
}

// TestCompileUsesPrecompiledHeader checks that a build hands g++ CmdStan's precompiled
// model header when the install has one: through CXXFLAGS_PROGRAM in make's
// environment, as an -include of a model_header wrapper whose .gch links to the
// newest of the install's; and that it does not when there is none, or when the make
// variables set the compiler's flags themselves.
func TestCompileUsesPrecompiledHeader(t *testing.T) {
	f := newFake(t)
	model := filepath.Join(f.install.Dir, "stan", "src", "stan", "model")
	if err := os.MkdirAll(model, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Compile(context.Background(), []byte("// no gch\n"), CompileOptions{}); err != nil {
		t.Fatal(err)
	}
	old, gch := filepath.Join(model, "model_header_11_4.hpp.gch"), filepath.Join(model, "model_header_12_12.hpp.gch")
	for i, p := range []string{old, gch} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(time.Duration(i-1) * time.Hour)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Compile(context.Background(), []byte("// with gch\n"), CompileOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Compile(context.Background(), []byte("// user flags\n"), CompileOptions{MakeVars: []string{"CXXFLAGS_PROGRAM=-O1"}}); err != nil {
		t.Fatal(err)
	}
	var env, include []string
	for _, l := range f.callLines(t) {
		switch {
		case strings.HasPrefix(l, "make env "):
			env = append(env, l)
		case strings.HasPrefix(l, "make include "):
			include = append(include, l)
		}
	}
	if len(env) != 1 || !strings.Contains(env[0], "CXXFLAGS_PROGRAM=-include ") {
		t.Fatalf("make saw CXXFLAGS_PROGRAM %q; want one build (the one with a .gch and no user flags) with an -include", env)
	}
	want := fmt.Sprintf("make include dsamstan_model_header.hpp (%q) -> %s", "#include <stan/model/model_header.hpp>\n", gch)
	if len(include) != 1 || include[0] != want {
		t.Errorf("included %q; want %q", include, want)
	}
	if !strings.Contains(f.log.String(), "precompiled model header") {
		t.Errorf("the log does not say the header was used:\n%s", f.log.String())
	}
}
