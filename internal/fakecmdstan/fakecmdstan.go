// Package fakecmdstan builds a CmdStan stand-in out of shell scripts, so tests can drive the
// whole pipeline and the CLI without a toolchain. It is test support, like net/http/httptest.
package fakecmdstan

import (
	_ "embed"
	"os"
	"path/filepath"
	"testing"
)

//go:embed fake_model.sh
var fakeModel string

// Columns is the environment variable that gives the fake sampler the parameter columns of
// a program other than the single-market one (comma-separated, as CmdStan names them).
const Columns = "FAKE_COLUMNS"

// Tie is the environment variable that ties two parameter columns of the fake sampler:
// "j,k" (1-based positions among the parameter columns) draws column k's noise as the
// negative of column j's, so their draws correlate at −1, as the coefficients of two
// collinear predictors do.
const Tie = "FAKE_TIE"

// Modes of the fake sampler.
const (
	OK    = "ok"    // writes a valid CSV for the single-market (BLM) program
	Crash = "crash" // prints a CmdStan exception on stderr and exits 70
	Hang  = "hang"  // prints progress, then sleeps until signalled
	// CrashMid makes chain 2 write a quarter of its draws and progress, then die by
	// SIGKILL; the other chains behave as in OK.
	CrashMid = "crash-mid"
)

// New makes a fake CmdStan install and returns its folder: CmdStan's makefile version
// line, a bin/stanc that prints a version and the empty files by which cmdstan.Find knows
// a complete install, plus a `make` and a `g++` first on PATH. The fake make "compiles" by
// writing the fake model executable to its target; that script plays the sampler as mode
// says. New also points DSAMSTAN_CACHE at a fresh folder.
func New(tb testing.TB, mode string) string {
	tb.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		tb.Skip("no /bin/sh: the fake CmdStan is made of shell scripts")
	}
	dir := tb.TempDir()
	home := filepath.Join(dir, "cmdstan-2.33.1")
	bin := filepath.Join(dir, "path")
	model := filepath.Join(dir, "fake_model.sh")
	for _, d := range []string{filepath.Join(home, "bin"), bin,
		filepath.Join(home, "src", "cmdstan"), filepath.Join(home, "stan", "src", "stan", "model"),
		filepath.Join(home, "stan", "lib", "stan_math", "make")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	files := map[string]string{
		model:                               fakeModel,
		filepath.Join(home, "makefile"):     "CMDSTAN_VERSION := 2.33.1\n",
		filepath.Join(home, "bin", "stanc"): "#!/bin/sh\necho 'stanc3 v2.33.1 (Unix)'\n",
		filepath.Join(home, "src", "cmdstan", "main.o"):                           "",
		filepath.Join(home, "stan", "src", "stan", "model", "model_header.hpp"):   "",
		filepath.Join(home, "stan", "lib", "stan_math", "make", "compiler_flags"): "",
		filepath.Join(bin, "make"): "#!/bin/sh\n# fake make: the last argument is the target executable\n" +
			"echo \"$@\" >> '" + filepath.Join(dir, "make.log") + "'\n" +
			"for a in \"$@\"; do target=$a; done\ncp '" + model + "' \"$target\" && chmod +x \"$target\"\n",
		filepath.Join(bin, "g++"): "#!/bin/sh\nexit 0\n",
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	tb.Setenv("FAKE_MODE", mode)
	tb.Setenv("DSAMSTAN_CACHE", filepath.Join(dir, "cache"))
	return home
}

// MakeCalls reports how many times the fake make of the install at home has run: one
// call per model actually compiled.
func MakeCalls(home string) int {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(home), "make.log"))
	if err != nil {
		return 0
	}
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
