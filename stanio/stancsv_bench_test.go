package stanio

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dsamstan/dsamstan/internal/stancsvgen"
)

func benchFiles(b *testing.B, chains, params int) ([]string, int64) {
	b.Helper()
	dir := b.TempDir()
	var paths []string
	var total int64
	for c := 1; c <= chains; c++ {
		path := filepath.Join(dir, fmt.Sprintf("bench-%d.csv", c))
		n, err := stancsvgen.Write(path, c, params, 0)
		if err != nil {
			b.Fatal(err)
		}
		paths = append(paths, path)
		total += n
	}
	return paths, total
}

func reportMBps(b *testing.B, bytes int64) {
	b.ReportMetric(float64(bytes)*float64(b.N)/1e6/b.Elapsed().Seconds(), "MB/s")
}

// BenchmarkReadCSVFiles reads 4 chains of 1000 draws × 1007 columns (about 37 MB) in parallel.
func BenchmarkReadCSVFiles(b *testing.B) {
	paths, total := benchFiles(b, 4, 1000)
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ReadCSVFiles(context.Background(), paths); err != nil {
			b.Fatal(err)
		}
	}
	reportMBps(b, total)
}

// BenchmarkReadCSVFile reads one chain of 1000 draws with Small (1), Medium (100) and Large
// (1000) parameters: the per-core speed.
func BenchmarkReadCSVFile(b *testing.B) {
	for _, size := range []struct {
		name   string
		params int
	}{{"Small", 1}, {"Medium", 100}, {"Large", 1000}} {
		b.Run(size.name, func(b *testing.B) {
			paths, total := benchFiles(b, 1, size.params)
			b.SetBytes(total)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := ReadCSVFile(paths[0]); err != nil {
					b.Fatal(err)
				}
			}
			reportMBps(b, total)
		})
	}
}

// BenchmarkEncodingCSVBaseline reads the Large file the obvious way, with encoding/csv and
// strconv.ParseFloat, as a yardstick for BenchmarkReadCSVFile/Large on the same machine.
func BenchmarkEncodingCSVBaseline(b *testing.B) {
	paths, total := benchFiles(b, 1, 1000)
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(paths[0])
		if err != nil {
			b.Fatal(err)
		}
		r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
		r.Comment = '#'
		r.ReuseRecord = true
		var cols [][]float64
		for i := 0; ; i++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				cols = make([][]float64, len(rec))
				continue
			}
			for j, cell := range rec {
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					b.Fatal(err)
				}
				cols[j] = append(cols[j], v)
			}
		}
		f.Close()
	}
	reportMBps(b, total)
}
