package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// writeBigCSV writes rows × cols of seeded pseudo-random data: a date column, then
// numbers written as a spreadsheet would (6 significant digits), with about 1 cell in 1000
// NA. It returns the file's size.
func writeBigCSV(tb testing.TB, path string, rows, cols int) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("date")
	for j := 1; j < cols; j++ {
		fmt.Fprintf(w, ",x%d", j)
	}
	w.WriteByte('\n')
	rng := rand.New(rand.NewPCG(1, 1))
	day := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf []byte
	for i := range rows {
		buf = day.AddDate(0, 0, i%36500).AppendFormat(buf[:0], "2006-01-02")
		for j := 1; j < cols; j++ {
			buf = append(buf, ',')
			if rng.IntN(1000) == 0 {
				buf = append(buf, "NA"...)
				continue
			}
			buf = strconv.AppendFloat(buf, rng.NormFloat64()*1000, 'g', 6, 64)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

// heapPeak samples the bytes in live and not-yet-swept heap objects every millisecond
// (runtime/metrics reads do not stop the world) until stop is called, which returns the
// highest value seen.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		read()
		return peak.Load()
	}
}

// vmHWM returns the process's peak resident set size in bytes from /proc/self/status, and
// false where there is no such file. resetHWM starts a new peak (Linux 4.0+).
func vmHWM() (uint64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	i := bytes.Index(data, []byte("VmHWM:"))
	if i < 0 {
		return 0, false
	}
	var kb uint64
	if _, err := fmt.Sscanf(string(data[i+len("VmHWM:"):]), "%d kB", &kb); err != nil {
		return 0, false
	}
	return kb << 10, true
}

func resetHWM() bool { return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil }

// BenchmarkLoadCSV loads a rows × 30 CSV and reports rows per second, the file size, the
// peak heap while loading (sampled), the heap the Table keeps, and the process's peak RSS
// over the load (VmHWM, where /proc allows resetting it). Run the big case alone, so earlier
// benchmarks do not raise the RSS baseline:
//
//	go test -run '^$' -bench 'LoadCSV/1M' -benchtime 3x ./ingest
func BenchmarkLoadCSV(b *testing.B) {
	for _, rows := range []int{10_000, 1_000_000} {
		name := strconv.Itoa(rows)
		if rows == 1_000_000 {
			name = "1M"
		}
		b.Run(name, func(b *testing.B) {
			const cols = 30
			path := filepath.Join(b.TempDir(), "big.csv")
			size := writeBigCSV(b, path, rows, cols)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			hwm := resetHWM()
			stop := heapPeak()
			b.SetBytes(size)
			b.ResetTimer()
			var tab *Table
			for b.Loop() {
				tab = nil // drop the previous table before loading the next
				var err error
				if tab, err = LoadCSV(path); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			peak := stop()
			if tab.Rows() != rows || len(tab.Header) != cols {
				b.Fatalf("loaded %d rows × %d columns; want %d × %d", tab.Rows(), len(tab.Header), rows, cols)
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(tab)
			const mb = 1 << 20
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(size)/mb, "file_MB")
			b.ReportMetric(float64(peak)/mb, "peak_heap_MB")
			b.ReportMetric(float64(after.HeapInuse-min(after.HeapInuse, base.HeapInuse))/mb, "table_MB")
			if v, ok := vmHWM(); ok && hwm {
				b.ReportMetric(float64(v)/mb, "peak_rss_MB")
			}
		})
	}
}
