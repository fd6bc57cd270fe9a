package cmdstan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHome makes a HOME with the given ~/.cmdstan/cmdstan-<version> installs.
func fakeHome(t *testing.T, versions ...string) string {
	t.Helper()
	home := t.TempDir()
	for _, v := range versions {
		fakeInstall(t, filepath.Join(home, ".cmdstan", "cmdstan-"+v), v)
	}
	t.Setenv("HOME", home)
	t.Setenv("CMDSTAN", "")
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
