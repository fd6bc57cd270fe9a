package simulate

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

func TestHierarchicalIsDeterministicAndComplete(t *testing.T) {
	a, err := Hierarchical(PanelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Hierarchical(PanelOptions{})
	if !bytes.Equal(a.CSV, b.CSV) {
		t.Fatal("same seed gave different data")
	}
	if n := strings.Count(string(a.CSV), "\n"); n != 8*156+1 {
		t.Errorf("%d lines; want %d", n, 8*156+1)
	}
	if len(a.Truth.GroupCoefficients) != 8*4 || len(a.Truth.GroupSD) != 4 || a.Truth.Markets != 8 {
		t.Errorf("truth: %d group coefficients, %d group scales, %d markets", len(a.Truth.GroupCoefficients), len(a.Truth.GroupSD), a.Truth.Markets)
	}
	if _, ok := a.Truth.GroupCoefficients["m_tv[market=valley]"]; !ok {
		t.Error("truth lacks m_tv[market=valley]")
	}
	big, err := Hierarchical(PanelOptions{Markets: 50, Weeks: 260})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := big.Truth.GroupCoefficients["m_tv[market=m50]"]; !ok {
		t.Error("50-market truth lacks m_tv[market=m50]")
	}
	if _, err := Hierarchical(PanelOptions{Markets: 1}); err == nil {
		t.Error("no error for a one-market panel")
	}
}

// TestPanelConfigsLoad checks that every config the examples write loads and builds, and
// that the CRE variant's configs differ only in the CRE section.
func TestPanelConfigsLoad(t *testing.T) {
	for _, opts := range []PanelOptions{{}, {CRE: true}} {
		ex, err := Hierarchical(opts)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := ex.Write(dir); err != nil {
			t.Fatal(err)
		}
		names := []string{"config.yaml"}
		for n := range ex.Extra {
			names = append(names, n)
		}
		for _, n := range names {
			_, spec, err := ingest.Load(filepath.Join(dir, n))
			if err != nil {
				t.Fatalf("cre=%v %s: %v", opts.CRE, n, err)
			}
			if len(spec.Groups) != 1 || len(spec.Groups[0].Levels) != 8 {
				t.Errorf("cre=%v %s: groups %+v", opts.CRE, n, spec.Groups)
			}
			hasCRE := spec.Terms[len(spec.Terms)-1].Name == "cre_mean_m_tv"
			if hasCRE != (opts.CRE && n == "config.yaml") {
				t.Errorf("cre=%v %s: CRE term present = %v", opts.CRE, n, hasCRE)
			}
		}
	}
}
