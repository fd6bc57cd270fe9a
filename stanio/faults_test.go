package stanio

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Faults: files cut short by a stopped run, and a full disk.

// TestReadCSVCutShort cuts a complete CSV at a line end and inside a line: neither may parse
// as a shorter chain.
func TestReadCSVCutShort(t *testing.T) {
	full, err := os.ReadFile("testdata/csv/bernoulli-sample-1.csv")
	if err != nil {
		t.Fatal(err)
	}
	// Line 46 is the column header, line 51 the first draw; line 52 starts at atLine.
	atLine := bytes.Index(full, []byte("\n-7.11134,")) + 1
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"at a line end", full[:atLine], "stanio: line 51: the file ends after 1 of its 200 draws (num_samples = 200, thin = 1): it was cut short, by a stopped run or a full disk"},
		{"inside a line", full[:atLine+20], "stanio: line 52: row has 3 values; the header has 8 columns; it is the file's last line and has no line end: the file was cut short, by a stopped run or a full disk"},
		{"after the header", full[:bytes.Index(full, []byte("\n# Adaptation"))+1], "stanio: line 46: the file ends after 0 of its 200 draws (num_samples = 200, thin = 1): it was cut short, by a stopped run or a full disk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(bytes.NewReader(tc.data))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err =\n%v\nwant\n%s", err, tc.want)
			}
		})
	}
}

// TestWriteDataFileDiskFull writes a data file in a child process whose files may not grow
// past 4 KiB (RLIMIT_FSIZE with SIGXFSZ ignored: writes fail with EFBIG, as on a full disk).
// The error names the file and the cause, the old file is untouched, and no temporary file
// is left.
func TestWriteDataFileDiskFull(t *testing.T) {
	if path := os.Getenv("DSAMSTAN_DISKFULL_PATH"); path != "" {
		signal.Ignore(syscall.SIGXFSZ)
		lim := syscall.Rlimit{Cur: 4 << 10, Max: 4 << 10}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			fmt.Println("setrlimit:", err)
			os.Exit(1)
		}
		y := make([]float64, 10_000)
		for i := range y {
			y[i] = float64(i) / 7
		}
		fmt.Print(WriteDataFile(path, []Var{{"N", len(y)}, {"y", y}}))
		os.Exit(0)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "data.json")
	old := "{\n  \"N\": 0\n}\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriteDataFileDiskFull$")
	cmd.Env = append(os.Environ(), "DSAMSTAN_DISKFULL_PATH="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if msg := string(out); !strings.HasPrefix(msg, "stanio: writing data file "+path+": ") || !strings.HasSuffix(msg, "file too large") {
		t.Errorf("error %q; want one naming %s and \"file too large\"", msg, path)
	}
	if b, _ := os.ReadFile(path); string(b) != old {
		t.Errorf("the old data file was changed: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %v; want only data.json", entries)
	}
}
