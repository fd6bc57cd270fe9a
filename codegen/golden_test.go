package codegen

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/stanio"
)

var update = flag.Bool("update", false, "update golden files")

// goldenCase is one directory under testdata/: want.stan and want.json, or want.err for a
// spec Render must refuse.
type goldenCase struct {
	name string
	spec *ingest.Spec
}

func goldenCases() []goldenCase {
	all := []string{"m_tv", "m_search", "price"}
	return []goldenCase{
		{"scaled-default-priors", weekSpec(specOptions{intercept: true, terms: all, scale: true})},
		{"unscaled", weekSpec(specOptions{intercept: true, terms: all, scale: false})},
		{"bounds", weekSpec(specOptions{intercept: true, terms: all, scale: true,
			priors: map[string]ingest.Prior{
				ingest.InterceptName: {Mean: 1500, SD: 200},
				"m_tv":               {Mean: 0.8, SD: 0.5},
			},
			bounds: map[string]ingest.Bound{
				ingest.InterceptName: {Lower: 1000, Upper: 2500},
				"m_tv":               {Lower: 0, Upper: ingest.Unbounded.Upper},
				"m_search":           {Lower: 0, Upper: 10},
				"price":              {Lower: ingest.Unbounded.Lower, Upper: 0},
			}})},
		{"lognormal-noise", weekSpec(specOptions{intercept: true, terms: all, scale: true,
			noise: ingest.NoisePrior{Family: ingest.NoiseLognormalMS, Mean: 40, SD: 20}})},
		{"offset", weekSpec(specOptions{intercept: true, terms: all, scale: true, offset: true})},
		{"log-response", weekSpec(specOptions{intercept: true, terms: all, scale: true, logY: true,
			noise: ingest.NoisePrior{Family: ingest.NoiseNormal, Mean: 0, SD: 0.5}})},
		{"no-intercept", weekSpec(specOptions{intercept: false, terms: []string{"m_tv", "m_search"}, scale: true})},
		{"blm-transforms", defaultBLMTransformSpec()},
		{"panel-2", panelTestSpec(panelOptions{groups: 2, weeks: 26})},
		{"panel-2-correlated", panelTestSpec(panelOptions{groups: 2, weeks: 26, correlated: true})},
		{"panel-8", panelTestSpec(panelOptions{groups: 8, weeks: 26})},
		{"panel-8-cre", panelTestSpec(panelOptions{groups: 8, weeks: 26, cre: true})},
		{"panel-8-correlated", panelTestSpec(panelOptions{groups: 8, weeks: 26, correlated: true})},
		{"panel-8-cre-correlated", panelTestSpec(panelOptions{groups: 8, weeks: 26, cre: true, correlated: true})},
		{"panel-8-centered", panelTestSpec(panelOptions{groups: 8, weeks: 26, param: Centered})},
		{"panel-8-noncentered", panelTestSpec(panelOptions{groups: 8, weeks: 26, param: Noncentered})},
		{"panel-8-default-sd-priors", panelTestSpec(panelOptions{groups: 8, weeks: 26, noSDPriors: true})},
		{"panel-50", panelTestSpec(panelOptions{groups: 50, weeks: 12})},
		{"panel-50-cre-correlated", panelTestSpec(panelOptions{groups: 50, weeks: 12, cre: true, correlated: true})},
		{"panel-brands", panelTestSpec(panelOptions{groups: 8, weeks: 26, brands: true})},
		{"panel-brands-correlated", panelTestSpec(panelOptions{groups: 8, weeks: 26, brands: true, correlated: true})},
		{"panel-brands-30", panelTestSpec(panelOptions{groups: 30, weeks: 8, brands: true})}, // sampled: 150 effects
		{"panel-2-transforms", panelTransformSpec(panelOptions{groups: 2, weeks: 26})},
		{"panel-2-correlated-transforms", panelTransformSpec(panelOptions{groups: 2, weeks: 26, correlated: true})},
		{"pooled", pooledGoldenSpec()},
	}
}

// TestGolden renders every case and compares it with testdata/<case>/want.*; -update
// rewrites them.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", c.name)
			p, err := Render(context.Background(), nil, c.spec)
			if err != nil {
				errFile := filepath.Join(dir, "want.err")
				if _, statErr := os.Stat(errFile); statErr != nil && !*update {
					t.Fatalf("Render: %v (and no %s expects an error)", err, errFile)
				}
				checkGolden(t, errFile, []byte(err.Error()+"\n"), nil)
				return
			}
			if _, err := os.Stat(filepath.Join(dir, "want.err")); err == nil && !*update {
				t.Fatalf("Render succeeded; %s expects an error", filepath.Join(dir, "want.err"))
			}
			checkGolden(t, filepath.Join(dir, "want.stan"), p.Code, nil)
			var data bytes.Buffer
			if err := stanio.WriteData(&data, p.Data); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(dir, "want.json"), data.Bytes(), func(got, want []byte) bool {
				ok, err := equalJSON(got, want, 1e-12)
				return err == nil && ok
			})
		})
	}
}

// checkGolden compares got with the file want (or rewrites it under -update). equal, when
// not nil, decides equality for contents that differ byte-wise.
func checkGolden(t *testing.T, want string, got []byte, equal func(got, want []byte) bool) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(want, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v (run go test ./codegen -update to create it)", err)
	}
	if bytes.Equal(got, w) || (equal != nil && equal(got, w)) {
		return
	}
	// Keep what was rendered in a file, so both sides can be opened or diffed.
	gotFile := filepath.Join(os.TempDir(), "dsamstan-golden", filepath.Base(filepath.Dir(want)), "got"+filepath.Ext(want))
	if err := os.MkdirAll(filepath.Dir(gotFile), 0o755); err == nil {
		if err := os.WriteFile(gotFile, got, 0o644); err != nil {
			gotFile = "(not written: " + err.Error() + ")"
		}
	}
	t.Errorf("%s differs from %s (run go test ./codegen -update if the change is intended):\n%s",
		gotFile, want, lineDiff(string(w), string(got)))
}

// lineDiff lists the lines that differ between want and got, by line number.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 20; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  - want %s\n  + got  %s\n", i+1, w, g)
			shown++
		}
	}
	return b.String()
}

// TestGoldenStable renders every case twice and checks the bytes do not change.
func TestGoldenStable(t *testing.T) {
	for _, c := range goldenCases() {
		p1, err1 := Render(context.Background(), nil, c.spec)
		p2, err2 := Render(context.Background(), nil, c.spec)
		if err1 != nil || err2 != nil {
			if fmt.Sprint(err1) != fmt.Sprint(err2) {
				t.Errorf("%s: errors differ between renders: %v / %v", c.name, err1, err2)
			}
			continue
		}
		var d1, d2 bytes.Buffer
		if err := stanio.WriteData(&d1, p1.Data); err != nil {
			t.Fatal(err)
		}
		if err := stanio.WriteData(&d2, p2.Data); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p1.Code, p2.Code) || !bytes.Equal(d1.Bytes(), d2.Bytes()) {
			t.Errorf("%s: two renders of the same spec differ", c.name)
		}
	}
}

// TestStancCompilesGoldens compiles every golden program with stanc, when a CmdStan is
// installed ($CMDSTAN, else the newest ~/.cmdstan/cmdstan-*).
func TestStancCompilesGoldens(t *testing.T) {
	stanc, err := findStanc()
	if err != nil {
		t.Skipf("stanc not found: %v", err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*", "want.stan"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden programs in testdata/*/want.stan (%v)", err)
	}
	for _, f := range files {
		out := filepath.Join(t.TempDir(), "x.hpp")
		cmd := exec.Command(stanc, "--o", out, f)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s --o %s %s: %v\n%s", stanc, out, f, err, msg)
		}
	}
}

// findStanc returns $CMDSTAN/bin/stanc, else that of the newest ~/.cmdstan/cmdstan-*.
func findStanc() (string, error) {
	var roots []string
	if env := os.Getenv("CMDSTAN"); env != "" {
		roots = []string{env}
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		roots, _ = filepath.Glob(filepath.Join(home, ".cmdstan", "cmdstan-*"))
		sort.Slice(roots, func(i, j int) bool { return versionLess(roots[j], roots[i]) })
	}
	for _, root := range roots {
		stanc := filepath.Join(root, "bin", "stanc")
		if fi, err := os.Stat(stanc); err == nil && !fi.IsDir() {
			return stanc, nil
		}
	}
	return "", fmt.Errorf("no bin/stanc under $CMDSTAN or ~/.cmdstan/cmdstan-* (searched %d installs)", len(roots))
}

// versionLess compares the x.y.z suffixes of two cmdstan-x.y.z paths numerically.
func versionLess(a, b string) bool {
	va, vb := versionOf(a), versionOf(b)
	for i := range 3 {
		if va[i] != vb[i] {
			return va[i] < vb[i]
		}
	}
	return a < b
}

func versionOf(path string) [3]int {
	var v [3]int
	s := strings.TrimPrefix(filepath.Base(path), "cmdstan-")
	for i, part := range strings.SplitN(s, ".", 3) {
		n, _ := strconv.Atoi(strings.TrimFunc(part, func(r rune) bool { return r < '0' || r > '9' }))
		v[i] = n
	}
	return v
}
