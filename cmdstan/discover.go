package cmdstan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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
// when set, else the newest ~/.cmdstan/cmdstan-* by version number. An explicit
// directory that is not a usable install is an error, not a reason to look
// elsewhere. When nothing is found the error wraps ErrNotFound and lists where Find
// looked.
func Find(flagDir string) (*Install, error) {
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
	newest := slices.MaxFunc(cands, func(a, b candidate) int { return compareVersions(a.ver, b.ver) })
	return openInstall(newest.dir, "~/.cmdstan")
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
	return &Install{Dir: abs, Version: version}, nil
}

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
