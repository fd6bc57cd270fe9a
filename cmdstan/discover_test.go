package cmdstan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHome makes a HOME with the given complete ~/.cmdstan/cmdstan-<version> installs,
// and a PATH holding only a make.
func fakeHome(t *testing.T, versions ...string) string {
	t.Helper()
	home := t.TempDir()
	for _, v := range versions {
		fakeInstall(t, filepath.Join(home, ".cmdstan", "cmdstan-"+v), v)
	}
	t.Setenv("HOME", home)
	t.Setenv("CMDSTAN", "")
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "make"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	return home
}

func TestFindOrder(t *testing.T) {
	// 2.9.0 sorts after 2.33.10 as a string; numerically it is older (and too old).
	home := fakeHome(t, "2.33.1", "2.33.10", "2.9.0", "2.33.2")
	os.MkdirAll(filepath.Join(home, ".cmdstan", "cmdstan-2.40.0"), 0o755) // half-installed: no makefile
	os.MkdirAll(filepath.Join(home, ".cmdstan", "cmdstan-latest"), 0o755) // not a version

	inst, err := Find("")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".cmdstan", "cmdstan-2.33.10"); inst.Dir != want || inst.Version != "2.33.10" {
		t.Errorf("newest in ~/.cmdstan = %+v; want %s, 2.33.10", inst, want)
	}

	env := fakeInstall(t, filepath.Join(t.TempDir(), "mine"), "2.34.1")
	t.Setenv("CMDSTAN", env.Dir)
	if inst, err := Find(""); err != nil || inst.Dir != env.Dir || inst.Version != "2.34.1" {
		t.Errorf("with $CMDSTAN: %+v, %v; want %s", inst, err, env.Dir)
	}

	flag := fakeInstall(t, filepath.Join(t.TempDir(), "flag"), "2.33.0")
	if inst, err := Find(flag.Dir); err != nil || inst.Dir != flag.Dir || inst.Version != "2.33.0" {
		t.Errorf("with --cmdstan: %+v, %v; want %s", inst, err, flag.Dir)
	}
}

func TestFindNotFound(t *testing.T) {
	home := fakeHome(t)
	_, err := Find("")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v; want ErrNotFound", err)
	}
	want := "cmdstan: CmdStan not found: looked in --cmdstan (not given), $CMDSTAN (not set), " +
		filepath.Join(home, ".cmdstan", "cmdstan-*") + " (no install); " +
		"run scripts/install_cmdstan.sh (or pass --cmdstan DIR / set CMDSTAN)"
	if err.Error() != want {
		t.Errorf("message =\n%s\nwant\n%s", err, want)
	}
}

func TestFindRejects(t *testing.T) {
	fakeHome(t, "2.33.1") // a good install that an explicit choice must not fall back to
	old := fakeInstall(t, filepath.Join(t.TempDir(), "old"), "2.32.2")
	empty := t.TempDir()
	for _, tc := range []struct {
		name, flag, env string
		want            string
		notFound        bool
	}{
		{"too old by flag", old.Dir, "", "cmdstan: CmdStan 2.32.2 at " + old.Dir + " (from --cmdstan) is too old: dsamstan needs 2.33 or newer for the array[N] syntax; run scripts/install_cmdstan.sh", false},
		{"too old by env", "", old.Dir, "(from $CMDSTAN) is too old", false},
		{"not cmdstan", empty, "", "--cmdstan " + empty + " has no makefile, so it is not a CmdStan directory; run scripts/install_cmdstan.sh", true},
		{"env not cmdstan", "", empty, "$CMDSTAN " + empty + " has no makefile", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CMDSTAN", tc.env)
			_, err := Find(tc.flag)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want it to contain %q", err, tc.want)
			}
			if errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v; want %v", !tc.notFound, tc.notFound)
			}
		})
	}
}

func TestFindNewestTooOld(t *testing.T) {
	fakeHome(t, "2.30.0", "2.32.2")
	if _, err := Find(""); err == nil || !strings.Contains(err.Error(), "CmdStan 2.32.2 at ") || !strings.Contains(err.Error(), "too old") {
		t.Errorf("err = %v; want the newest (2.32.2) reported too old", err)
	}
}

// fixHint ends the error for an install that make build can finish.
func fixHint(dir string) string {
	return "; finish it with `make build` inside " + dir + " (or rerun scripts/install_cmdstan.sh), or pass --cmdstan DIR / set CMDSTAN to a complete install"
}

// TestFindIncomplete gives --cmdstan installs that lack one part or another: each is
// refused at once, naming what is missing and the fix.
func TestFindIncomplete(t *testing.T) {
	fakeHome(t, "2.33.1") // a complete install that an explicit choice must not fall back to
	const stanc = "no executable bin/stanc (the Stan compiler)"
	const sources = "; its sources are incomplete, so make cannot build models with it: reinstall it with scripts/install_cmdstan.sh, or pass --cmdstan DIR / set CMDSTAN to a complete install"
	// put makes an empty file, or a folder when the name ends in "/".
	put := func(name string) func(string) error {
		return func(install string) error {
			path := filepath.Join(install, filepath.FromSlash(name))
			if strings.HasSuffix(name, "/") {
				return os.MkdirAll(path, 0o755)
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			return os.WriteFile(path, nil, 0o644)
		}
	}
	for _, tc := range []struct {
		name    string
		skip    []string
		setup   func(dir string) error
		want    string // after "is incomplete: it has "; "" for a complete install
		sources bool   // the sources are incomplete: the fix is a new install
	}{
		{name: "complete"},
		{name: "no stanc", skip: []string{"bin/stanc"}, want: stanc},
		{name: "stanc not executable", setup: func(dir string) error { return os.Chmod(filepath.Join(dir, "bin", "stanc"), 0o644) }, want: stanc},
		{name: "stanc a folder", skip: []string{"bin/stanc"}, setup: put("bin/stanc/"), want: stanc},
		{name: "never built", skip: []string{"bin/stanc", "src/cmdstan/main*.o"},
			want: stanc + ", no src/cmdstan/main*.o (CmdStan's compiled main program)"},
		{name: "threaded main object", skip: []string{"src/cmdstan/main*.o"},
			setup: put("src/cmdstan/main_threads.o")},
		{name: "main source only", skip: []string{"src/cmdstan/main*.o"},
			setup: put("src/cmdstan/main.cpp"),
			want:  "no src/cmdstan/main*.o (CmdStan's compiled main program)"},
		{name: "empty stan math", skip: []string{"stan/lib/stan_math"},
			setup: put("stan/lib/stan_math/"), want: "no stan/lib/stan_math (the Stan Math library)", sources: true},
		{name: "no stan", skip: []string{"stan/src", "stan/lib/stan_math", "bin/stanc"},
			want: "no stan/src (the Stan library), no stan/lib/stan_math (the Stan Math library), " + stanc, sources: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := fakeInstall(t, filepath.Join(t.TempDir(), "cmdstan"), "2.33.1", tc.skip...).Dir
			if tc.setup != nil {
				if err := tc.setup(dir); err != nil {
					t.Fatal(err)
				}
			}
			inst, err := Find(dir)
			if tc.want == "" {
				if err != nil || inst.Dir != dir {
					t.Fatalf("Find(%s) = %+v, %v; want it accepted", dir, inst, err)
				}
				return
			}
			hint := fixHint(dir)
			if tc.sources {
				hint = sources
			}
			want := "cmdstan: CmdStan 2.33.1 at " + dir + " (from --cmdstan) is incomplete: it has " + tc.want + hint
			if err == nil || err.Error() != want {
				t.Errorf("err =\n%v\nwant\n%s", err, want)
			}
			if !errors.Is(err, ErrIncomplete) {
				t.Errorf("errors.Is(err, ErrIncomplete) = false")
			}
		})
	}
}

// TestFindSkipsIncompleteNewest: in ~/.cmdstan a newest install that was never built
// gives way to an older complete one.
func TestFindSkipsIncompleteNewest(t *testing.T) {
	home := fakeHome(t, "2.33.1")
	fakeInstall(t, filepath.Join(home, ".cmdstan", "cmdstan-2.36.0"), "2.36.0", "bin/stanc", "src/cmdstan/main*.o")
	inst, err := Find("")
	if want := filepath.Join(home, ".cmdstan", "cmdstan-2.33.1"); err != nil || inst.Dir != want {
		t.Errorf("Find = %+v, %v; want %s", inst, err, want)
	}
}

// TestFindNoneComplete: when no install in ~/.cmdstan is complete, the error says what
// each lacks, newest first.
func TestFindNoneComplete(t *testing.T) {
	home := fakeHome(t)
	root := filepath.Join(home, ".cmdstan")
	fakeInstall(t, filepath.Join(root, "cmdstan-2.33.1"), "2.33.1", "stan/lib/stan_math")
	fakeInstall(t, filepath.Join(root, "cmdstan-2.34.0"), "2.34.0", "src/cmdstan/main*.o")
	_, err := Find("")
	want := "cmdstan: CmdStan install is incomplete: none in " + root + " is complete: " +
		filepath.Join(root, "cmdstan-2.34.0") + " has no src/cmdstan/main*.o (CmdStan's compiled main program); " +
		filepath.Join(root, "cmdstan-2.33.1") + " has no stan/lib/stan_math (the Stan Math library); " +
		"finish one with `make build` inside it, run scripts/install_cmdstan.sh, or pass --cmdstan DIR / set CMDSTAN to a complete install"
	if err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
	if !errors.Is(err, ErrIncomplete) {
		t.Errorf("errors.Is(err, ErrIncomplete) = false")
	}
}

// TestFindSkippedThenTooOld: the complete install left after skipping is too old; the
// error says so and names the newer ones skipped.
func TestFindSkippedThenTooOld(t *testing.T) {
	home := fakeHome(t, "2.32.2")
	newer := fakeInstall(t, filepath.Join(home, ".cmdstan", "cmdstan-2.36.0"), "2.36.0", "bin/stanc").Dir
	_, err := Find("")
	if err == nil || !strings.Contains(err.Error(), "CmdStan 2.32.2 at ") || !strings.Contains(err.Error(), "is too old") ||
		!strings.HasSuffix(err.Error(), "(newer installs skipped as incomplete: "+newer+" has no executable bin/stanc (the Stan compiler))") {
		t.Errorf("err = %v; want 2.32.2 too old, and 2.36.0 named as skipped", err)
	}
}

// TestFindOnlyIncomplete: the only install in ~/.cmdstan is incomplete; the error is
// the one --cmdstan would give, with its fix.
func TestFindOnlyIncomplete(t *testing.T) {
	home := fakeHome(t)
	dir := fakeInstall(t, filepath.Join(home, ".cmdstan", "cmdstan-2.33.1"), "2.33.1", "src/cmdstan/main*.o").Dir
	_, err := Find("")
	want := "cmdstan: CmdStan 2.33.1 at " + dir + " (from ~/.cmdstan) is incomplete: it has no src/cmdstan/main*.o (CmdStan's compiled main program)" + fixHint(dir)
	if err == nil || err.Error() != want || !errors.Is(err, ErrIncomplete) {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
}

// TestFindNoMake: a complete install is no use without make.
func TestFindNoMake(t *testing.T) {
	fakeHome(t, "2.33.1")
	t.Setenv("PATH", t.TempDir())
	_, err := Find("")
	if err == nil || !strings.HasPrefix(err.Error(), "cmdstan: make not found on PATH: CmdStan needs GNU make and a C++ compiler") {
		t.Errorf("err = %v; want make not found", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"2.33.1", "2.33", 1},
		{"2.33.0", "2.33", 0},
		{"2.9.0", "2.33.0", -1},
		{"2.33.10", "2.33.9", 1},
		{"3.0", "2.99.99", 1},
		{"2.34.0-rc1", "2.34", 0},
	} {
		a, okA := parseVersion(tc.a)
		b, okB := parseVersion(tc.b)
		if !okA || !okB {
			t.Fatalf("cannot parse %q or %q", tc.a, tc.b)
		}
		if got := compareVersions(a, b); got != tc.want {
			t.Errorf("compareVersions(%s, %s) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"", "latest", "2.x", "2..1"} {
		if _, ok := parseVersion(bad); ok {
			t.Errorf("parseVersion(%q) accepted", bad)
		}
	}
}
