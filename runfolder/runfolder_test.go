package runfolder

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/codegen"
)

// TestRunInfoJSON pins run.json's keys, their order and their formatting: readers of old
// run folders (and people's scripts) depend on them.
func TestRunInfoJSON(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 27, 9, 30, 5, 0, time.UTC)
	end := start.Add(90 * time.Second)
	hit := true
	info := &RunInfo{
		Status: StatusCompleted, Model: "m", Formula: "y ~ x", Config: "/c.yaml", RunDir: dir,
		Started: start, Finished: &end, Timings: map[string]float64{"fit": 1.5, "total": 90},
		DsamstanVersion: "v", CmdStan: "/cs", CmdStanVersion: "2.33.1", StancVersion: "stanc3 v2.33.1",
		Template: "t.stan", RandomEffects: []codegen.REChoice{{Factor: "market", Index: 1, Term: "m_tv", Parameterization: "centered", Reason: "r"}},
		CompileKey: "k", CompileCacheHit: &hit, Method: "mcmc", Chains: []string{"a.csv"},
		Warnings: []string{"w"}, Diagnostics: "pass",
	}
	if err := info.Save(Folder{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, StageMetadata, RunJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "status": "completed",
  "model": "m",
  "formula": "y ~ x",
  "config": "/c.yaml",
  "run_dir": "` + dir + `",
  "started": "2026-11-27T09:30:05Z",
  "finished": "2026-11-27T09:31:35Z",
  "timings_seconds": {
    "fit": 1.5,
    "total": 90
  },
  "dsamstan_version": "v",
  "cmdstan_dir": "/cs",
  "cmdstan_version": "2.33.1",
  "stanc_version": "stanc3 v2.33.1",
  "template": "t.stan",
  "random_effects": [
    {
      "factor": "market",
      "index": 1,
      "term": "m_tv",
      "parameterization": "centered",
      "reason": "r"
    }
  ],
  "compile_cache_key": "k",
  "compile_cache_hit": true,
  "fit_method": "mcmc",
  "chain_csv": [
    "a.csv"
  ],
  "warnings": [
    "w"
  ],
  "diagnostics": "pass"
}
`
	if string(got) != want {
		t.Errorf("run.json =\n%s\nwant\n%s", got, want)
	}
	back, err := ReadRunInfo(Folder{Dir: dir})
	if err != nil || back.Status != StatusCompleted || *back.CompileCacheHit != true || back.Timings["total"] != 90 {
		t.Errorf("ReadRunInfo = %+v, %v", back, err)
	}
	if _, err := ReadRunInfo(Folder{Dir: t.TempDir()}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadRunInfo of an empty folder: err = %v; want fs.ErrNotExist", err)
	}
}

// TestLayouts checks Detect, Path, Rel and Find under both layouts, and Find's fallback to
// the other layout.
func TestLayouts(t *testing.T) {
	staged, flat := t.TempDir(), t.TempDir()
	if err := (Folder{Dir: staged}).Write(StagePostRun, PosteriorSummary, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := (Folder{Dir: flat, Flat: true}).Write(StageMetadata, RunJSON, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if f := Detect(staged); f.Flat {
		t.Error("a folder with 30_post_run/ was taken for flat")
	}
	if f := Detect(flat); !f.Flat {
		t.Error("a folder with run.json at the top was taken for staged")
	}
	if f := Detect(t.TempDir()); f.Flat {
		t.Error("an empty folder was taken for flat; want staged")
	}
	f := Folder{Dir: staged}
	if got := f.Rel(StagePostRun, PosteriorSummary); got != "30_post_run/posterior_summary.csv" {
		t.Errorf("Rel = %s", got)
	}
	if got := (Folder{Dir: staged, Flat: true}).Rel(StagePostRun, PosteriorSummary); got != PosteriorSummary {
		t.Errorf("flat Rel = %s", got)
	}
	// A flat view of a staged folder still finds its files.
	if p, ok := (Folder{Dir: staged, Flat: true}).Find(StagePostRun, PosteriorSummary); !ok || p != filepath.Join(staged, StagePostRun, PosteriorSummary) {
		t.Errorf("Find = %s, %v", p, ok)
	}
	if _, ok := f.Find(StagePostRun, PosteriorDraws); ok {
		t.Error("Find found a file that is not there")
	}
	if _, err := Open(staged, "tree"); err == nil {
		t.Error("Open with layout tree: no error")
	}
	if got := Slug("../../etc/passwd"); got != "etc_passwd" {
		t.Errorf("Slug(../../etc/passwd) = %q; want etc_passwd", got)
	}
}

// TestModelSpecRoundTrip: infinite bounds and NaN survive JSON as "Inf", "-Inf" and "NA".
func TestModelSpecRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ms := &ModelSpec{DataFile: "data.csv", Rows: 3, DateVar: "date", Terms: []SpecTerm{
		{Name: "(Intercept)", Intercept: true, PriorMean: 1.5, PriorSD: Num(math.NaN()), Lower: Num(math.Inf(-1)), Upper: Num(math.Inf(1))},
		{Name: "m_tv", PriorMean: 0, PriorSD: 2, Lower: 0, Upper: Num(math.Inf(1))},
	}, Channels: []SpecChannel{{Term: "m_tv", Name: "tv", SpendCol: "spend_tv"}}, MediaSpendFromChannels: true}
	if err := ms.Save(Folder{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, StagePreRun, ModelSpecFile))
	for _, want := range []string{`"lower": "-Inf"`, `"upper": "Inf"`, `"prior_sd": "NA"`, `"prior_mean": 1.5`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("model_spec.json lacks %s:\n%s", want, b)
		}
	}
	back, err := ReadModelSpec(Folder{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tm, ok := back.Term("m_tv")
	if !ok || tm.Lower != 0 || !math.IsInf(float64(tm.Upper), 1) || back.Channels[0].SpendCol != "spend_tv" || !back.MediaSpendFromChannels {
		t.Errorf("read back %+v", back)
	}
	if ic, _ := back.Term("(Intercept)"); !math.IsInf(float64(ic.Lower), -1) || !math.IsNaN(float64(ic.PriorSD)) {
		t.Errorf("intercept read back as %+v", ic)
	}
	if _, err := ReadModelSpec(Folder{Dir: t.TempDir()}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadModelSpec of an old run: err = %v; want fs.ErrNotExist", err)
	}
}

func TestMediaSpendRoundTrip(t *testing.T) {
	m := &MediaSpend{Dates: []string{"2024-01-01", "2024-01-08"}, Labels: []string{"tv", "search"},
		Spend: [][]float64{{1.25, math.NaN()}, {3, 4}}}
	var buf bytes.Buffer
	if err := WriteMediaSpend(&buf, m); err != nil {
		t.Fatal(err)
	}
	if want := "row,date,tv,search\n1,2024-01-01,1.25,3\n2,2024-01-08,NA,4\n"; buf.String() != want {
		t.Errorf("media_spend.csv =\n%s\nwant\n%s", buf.String(), want)
	}
	back, err := ReadMediaSpend(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Dates[1] != "2024-01-08" || back.Spend[0][0] != 1.25 || !math.IsNaN(back.Spend[0][1]) || back.Labels[1] != "search" {
		t.Errorf("read back %+v", back)
	}
	if _, err := ReadMediaSpend(strings.NewReader("date,tv\n")); err == nil {
		t.Error("a table without row,date: no error")
	}
	if _, err := ReadMediaSpend(strings.NewReader("row,date,tv\n1,,x\n")); err == nil || !strings.Contains(err.Error(), `"tv"`) {
		t.Errorf("a bad cell: err = %v; want one naming the column", err)
	}
}

// TestWriteFuncStreamsAtomically: WriteFunc writes what fill writes, beyond its buffer's
// size, creating the stage folder; when fill fails after writing part of a table, the old
// file stays as it was and no temporary file is left.
func TestWriteFuncStreamsAtomically(t *testing.T) {
	f := Folder{Dir: t.TempDir()}
	line := strings.Repeat("0123456789,", 9) + "\n"
	fill := func(n int, fail error) func(w io.Writer) error {
		return func(w io.Writer) error {
			for range n {
				if _, err := io.WriteString(w, line); err != nil {
					return err
				}
			}
			return fail
		}
	}
	if err := f.WriteFunc(StagePostRun, PosteriorDraws, fill(20000, nil)); err != nil {
		t.Fatal(err)
	}
	p := f.Path(StagePostRun, PosteriorDraws)
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat(line, 20000); string(got) != want {
		t.Fatalf("wrote %d bytes; want %d", len(got), len(want))
	}
	broken := errors.New("disk on fire")
	if err := f.WriteFunc(StagePostRun, PosteriorDraws, fill(5000, broken)); !errors.Is(err, broken) {
		t.Fatalf("err = %v; want fill's error", err)
	}
	if again, _ := os.ReadFile(p); !bytes.Equal(again, got) {
		t.Error("a failed WriteFunc changed the file")
	}
	entries, err := os.ReadDir(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the stage folder holds %d entries after a failed write; want the one file", len(entries))
	}
}
