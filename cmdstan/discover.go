package cmdstan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// MinVersion is the oldest CmdStan dsamstan accepts: the generated programs use the
// array[N] syntax that older releases reject.
const MinVersion = "2.33"

// installHint says how to get a CmdStan; every not-found error ends with it.
const installHint = "run scripts/install_cmdstan.sh (or pass --cmdstan DIR / set CMDSTAN)"

// Install is a CmdStan installation.
type Install struct {
	// Dir is the install's top directory, the one holding its makefile.
	Dir string
	// Version is CMDSTAN_VERSION from the makefile, e.g. "2.33.1".
	Version string
	// StancVersion is what bin/stanc --version printed ("stanc3 v2.33.1 (Unix)").
	// Find leaves it empty; Runner.StancVersion fills it on first use.
	StancVersion string
}

// Find locates CmdStan: flagDir (the --cmdstan flag) when not empty, else $CMDSTAN
// when set, else the newest complete ~/.cmdstan/cmdstan-* by version number. An
// explicit directory that is not a usable install is an error, not a reason to look
// elsewhere. When nothing is found the error wraps ErrNotFound and lists where Find
// looked.
//
// An install must be complete, which Find checks with a few file look-ups and no
// process: built (an executable bin/stanc and CmdStan's compiled main object, which
// `make build` makes), with its Stan and Stan Math sources, and with make on PATH.
// An incomplete install is an error wrapping ErrIncomplete that names what is
// missing and how to fix it; in ~/.cmdstan an incomplete newest install is skipped
// for the newest complete one.
func Find(flagDir string) (*Install, error) {
	inst, err := find(flagDir)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("make"); err != nil {
		return nil, errors.New(noMake)
	}
	return inst, nil
}

func find(flagDir string) (*Install, error) {
	if flagDir != "" {
		return openInstall(flagDir, "--cmdstan")
	}
	if env := os.Getenv("CMDSTAN"); env != "" {
		return openInstall(env, "$CMDSTAN")
	}
	looked := []string{"--cmdstan (not given)", "$CMDSTAN (not set)"}
	home, err := os.UserHomeDir()
	if err != nil {
		looked = append(looked, fmt.Sprintf("~/.cmdstan (%v)", err))
		return nil, notFound(looked)
	}
	pattern := filepath.Join(home, ".cmdstan", "cmdstan-*")
	dirs, _ := filepath.Glob(pattern) // the pattern is well formed
	type candidate struct {
		dir string
		ver []int
	}
	var cands []candidate
	for _, d := range dirs {
		ver, ok := parseVersion(strings.TrimPrefix(filepath.Base(d), "cmdstan-"))
		if !ok {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "makefile")); err != nil {
			looked = append(looked, d+" (no makefile)")
			continue
		}
		cands = append(cands, candidate{d, ver})
	}
	if len(cands) == 0 {
		looked = append(looked, pattern+" (no install)")
		return nil, notFound(looked)
	}
	// Newest first; an incomplete install gives way to the next older one.
	slices.SortFunc(cands, func(a, b candidate) int { return compareVersions(b.ver, a.ver) })
	var skipped []string
	for _, c := range cands {
		inst, err := openInstall(c.dir, "~/.cmdstan")
		var ie *incompleteError
		if !errors.As(err, &ie) {
			if err != nil && len(skipped) > 0 {
				return nil, fmt.Errorf("%w (newer installs skipped as incomplete: %s)", err, strings.Join(skipped, "; "))
			}
			return inst, err
		}
		if len(cands) == 1 {
			return nil, err // its own message says how to fix it
		}
		skipped = append(skipped, ie.dir+" has "+ie.missingList())
	}
	return nil, fmt.Errorf("%w: none in %s is complete: %s; finish one with `make build` inside it, run scripts/install_cmdstan.sh, or pass --cmdstan DIR / set CMDSTAN to a complete install",
		ErrIncomplete, filepath.Join(home, ".cmdstan"), strings.Join(skipped, "; "))
}

func notFound(looked []string) error {
	return fmt.Errorf("%w: looked in %s; %s", ErrNotFound, strings.Join(looked, ", "), installHint)
}

var makefileVersion = regexp.MustCompile(`(?m)^\s*CMDSTAN_VERSION\s*:?=\s*(\S+)`)

// openInstall checks that dir is a CmdStan install of a supported version. from
// names where dir came from, for the error message.
func openInstall(dir, from string) (*Install, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cmdstan: %s %s: %w", from, dir, err)
	}
	mk, err := os.ReadFile(filepath.Join(abs, "makefile"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s %s has no makefile, so it is not a CmdStan directory; %s", ErrNotFound, from, abs, installHint)
	}
	if err != nil {
		return nil, fmt.Errorf("cmdstan: %s %s: %w", from, abs, err)
	}
	m := makefileVersion.FindSubmatch(mk)
	if m == nil {
		return nil, fmt.Errorf("cmdstan: %s %s: no CMDSTAN_VERSION in its makefile, so its version is unknown; %s", from, abs, installHint)
	}
	version := string(m[1])
	ver, ok := parseVersion(version)
	oldest, _ := parseVersion(MinVersion)
	if !ok {
		return nil, fmt.Errorf("cmdstan: %s %s: cannot read CMDSTAN_VERSION %q in its makefile", from, abs, version)
	}
	if compareVersions(ver, oldest) < 0 {
		return nil, fmt.Errorf("cmdstan: CmdStan %s at %s (from %s) is too old: dsamstan needs %s or newer for the array[N] syntax; %s",
			version, abs, from, MinVersion, installHint)
	}
	if missing, sources := checkComplete(abs); len(missing) > 0 {
		return nil, &incompleteError{dir: abs, from: from, version: version, missing: missing, sources: sources}
	}
	return &Install{Dir: abs, Version: version}, nil
}

// part is a file that compiling a model with CmdStan's make needs.
type part struct {
	name    string // what the error names: a path relative to the install
	path    string // the file looked for; its last element may be a pattern
	what    string // what it is, for the error
	exec    bool   // it must be an executable file
	sources bool   // it comes with the sources: make build cannot make it
}

// parts are the files a complete CmdStan 2.33 install has. The release tarball ships
// the sources (stan/src, stan/lib/stan_math); `make build` makes bin/stanc and
// src/cmdstan/main.o (main_threads.o and the like when make/local sets STAN_THREADS
// and friends). Without the sources make cannot build at all; without the built files
// it retries stanc's download for a minute before failing, or spends one building
// them.
var parts = []part{
	{name: "stan/src", path: "stan/src/stan/model/model_header.hpp", what: "the Stan library", sources: true},
	{name: "stan/lib/stan_math", path: "stan/lib/stan_math/make/compiler_flags", what: "the Stan Math library", sources: true},
	{name: "bin/stanc", path: "bin/stanc", what: "the Stan compiler", exec: true},
	{name: "src/cmdstan/main*.o", path: "src/cmdstan/main*.o", what: "CmdStan's compiled main program"},
}

// checkComplete returns the parts dir lacks, and whether one of them is a source that
// only a new install brings back.
func checkComplete(dir string) (missing []part, sources bool) {
	for _, p := range parts {
		if !hasFile(filepath.Join(dir, filepath.FromSlash(p.path)), p.exec) {
			missing = append(missing, p)
			sources = sources || p.sources
		}
	}
	return missing, sources
}

// hasFile reports whether a regular file matches path, whose last element may be a
// pattern, and, when exec is set, whether it is executable.
func hasFile(path string, exec bool) bool {
	ok := func(fi fs.FileInfo) bool {
		return fi.Mode().IsRegular() && (!exec || fi.Mode().Perm()&0o111 != 0)
	}
	dir, pattern := filepath.Split(path)
	if !strings.ContainsAny(pattern, "*?[") {
		fi, err := os.Stat(path)
		return err == nil && ok(fi)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if m, _ := filepath.Match(pattern, e.Name()); !m {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && ok(fi) {
			return true
		}
	}
	return false
}

// incompleteError reports a CmdStan install that lacks files compiling a model needs.
type incompleteError struct {
	dir, from, version string
	missing            []part
	sources            bool // a source is missing: make build cannot help
}

func (e *incompleteError) Error() string {
	fix := "finish it with `make build` inside " + e.dir + " (or rerun scripts/install_cmdstan.sh)"
	if e.sources {
		fix = "its sources are incomplete, so make cannot build models with it: reinstall it with scripts/install_cmdstan.sh"
	}
	return fmt.Sprintf("cmdstan: CmdStan %s at %s (from %s) is incomplete: it has %s; %s, or pass --cmdstan DIR / set CMDSTAN to a complete install",
		e.version, e.dir, e.from, e.missingList(), fix)
}

// missingList says what is missing: "no bin/stanc (the Stan compiler), no ...".
func (e *incompleteError) missingList() string {
	var b strings.Builder
	for i, p := range e.missing {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("no ")
		if p.exec {
			b.WriteString("executable ")
		}
		fmt.Fprintf(&b, "%s (%s)", p.name, p.what)
	}
	return b.String()
}

func (e *incompleteError) Unwrap() error { return ErrIncomplete }

// parseVersion reads the leading dotted numbers of a version ("2.33.1", "2.34.0-rc1").
func parseVersion(s string) ([]int, bool) {
	if i := strings.IndexAny(s, "-+ "); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	ver := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, false
		}
		ver[i] = n
	}
	return ver, true
}

// compareVersions compares numerically, a missing part counting as 0.
func compareVersions(a, b []int) int {
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
