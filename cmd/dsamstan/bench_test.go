package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/internal/stancsvgen"
)

// summaryBenchFiles writes 4 chains × 1000 draws × 1000 parameters (plus the 7 sampler
// columns, about 37 MB), with autocorrelated draws as MCMC output has.
func summaryBenchFiles(b *testing.B) []string {
	b.Helper()
	dir := b.TempDir()
	var paths []string
	for c := 1; c <= 4; c++ {
		p := filepath.Join(dir, fmt.Sprintf("output_%d.csv", c))
		if _, err := stancsvgen.Write(p, c, 1000, 0.5); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// BenchmarkSummary times `dsamstan summary` (read the 4 CSVs, then mean, sd, quantiles,
// rank-normalised Rhat, bulk/tail ESS and MCSE for 1000 parameters). Run it beside
// BenchmarkStansummary (`go test -bench Summary ./cmd/dsamstan`) to compare with CmdStan's
// own tool on the same files.
func BenchmarkSummary(b *testing.B) {
	paths := summaryBenchFiles(b)
	args := append([]string{"summary", "--csv"}, paths...)
	b.ResetTimer()
	for b.Loop() {
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("dsamstan summary exited %d", code)
		}
	}
}

// BenchmarkStansummary times CmdStan's bin/stansummary on the same files as
// BenchmarkSummary; it skips when no CmdStan is installed.
func BenchmarkStansummary(b *testing.B) {
	inst, err := cmdstan.Find("")
	if err != nil {
		b.Skipf("CmdStan not found, skipping the bin/stansummary comparison: %v", err)
	}
	tool := filepath.Join(inst.Dir, "bin", "stansummary")
	if _, err := os.Stat(tool); err != nil {
		b.Skipf("%s not built: %v", tool, err)
	}
	paths := summaryBenchFiles(b)
	b.ResetTimer()
	for b.Loop() {
		var stderr strings.Builder
		cmd := exec.Command(tool, paths...)
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("stansummary: %v\n%s", err, stderr.String())
		}
	}
}
