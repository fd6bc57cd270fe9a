package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeCmdStan builds a CmdStan stand-in out of shell scripts, so the whole pipeline can be
// driven without a toolchain: a folder with CmdStan's makefile version line and a bin/stanc
// that prints a version, and a `make` (plus a `g++`) first on PATH. The fake make "compiles"
// by copying testdata/fake_model.sh to the target; that script plays the sampler according
// to $FAKE_MODE: ok (writes a valid CSV for the BLM program), crash (stderr + exit 70) or
// hang (prints progress, then sleeps until signalled).
func fakeCmdStan(t *testing.T, mode string) string {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh: the fake CmdStan is made of shell scripts")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "cmdstan-2.33.1")
	bin := filepath.Join(dir, "path")
	for _, d := range []string{filepath.Join(home, "bin"), bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	model, err := filepath.Abs("testdata/fake_model.sh")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(home, "makefile"):     "CMDSTAN_VERSION := 2.33.1\n",
		filepath.Join(home, "bin", "stanc"): "#!/bin/sh\necho 'stanc3 v2.33.1 (Unix)'\n",
		filepath.Join(bin, "make"): "#!/bin/sh\n# fake make: the last argument is the target executable\n" +
			"for a in \"$@\"; do target=$a; done\ncp '" + model + "' \"$target\" && chmod +x \"$target\"\n",
		filepath.Join(bin, "g++"): "#!/bin/sh\nexit 0\n",
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_MODE", mode)
	t.Setenv("DSAMSTAN_CACHE", filepath.Join(dir, "cache"))
	return home
}
