package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/simulate"
)

// writeExample writes the built-in BLM example into a temp folder and returns its config.
func writeExample(t *testing.T) string {
	t.Helper()
	ex, err := simulate.BLM(simulate.BLMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "config.yaml")
}

func readRunInfo(t *testing.T, dir string) runfolder.RunInfo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, runfolder.StageMetadata, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info runfolder.RunInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("run.json: %v", err)
	}
	return info
}

var fixedNow = func() time.Time { return time.Date(2026, 11, 27, 9, 30, 5, 0, time.UTC) }

func TestRunWritesTheRunFolder(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	res, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"00_run_metadata/config.original.yaml", "00_run_metadata/config.resolved.yaml",
		"00_run_metadata/run.json", "00_run_metadata/session_info.txt", "00_run_metadata/priors.csv",
		"20_model_fit/model.stan", "20_model_fit/data.json", "20_model_fit/chain_1.csv", "20_model_fit/chain_2.csv",
		"30_post_run/posterior_summary.csv",
	} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	info := readRunInfo(t, runDir)
	if info.Status != runfolder.StatusCompleted || info.CompileCacheHit == nil || *info.CompileCacheHit {
		t.Errorf("run.json status %q cache hit %v; want completed, miss", info.Status, info.CompileCacheHit)
	}
	sum, _ := os.ReadFile(filepath.Join(runDir, "30_post_run/posterior_summary.csv"))
	lines := strings.Split(strings.TrimSpace(string(sum)), "\n")
	if lines[0] != "parameter,mean,sd,q5,q50,q95,rhat,ess_bulk,ess_tail,mcse_mean" {
		t.Errorf("header = %q", lines[0])
	}
	var names []string
	for _, r := range res.Summary {
		names = append(names, r.Parameter)
	}
	want := "(Intercept),trend,seasonality,brand_metric,m_tv,m_search,m_social,noise_sd"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("parameters = %s; want %s", got, want)
	}
	orig, _ := os.ReadFile(cfg)
	copied, _ := os.ReadFile(filepath.Join(runDir, "00_run_metadata/config.original.yaml"))
	if string(orig) != string(copied) {
		t.Error("config.original.yaml is not the config as given")
	}

	// The same model again: the compile cache answers.
	res2, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: filepath.Join(t.TempDir(), "run2"), CmdStanDir: home, Chains: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !res2.CacheHit {
		t.Error("second run of the same model compiled again; want a compile cache hit")
	}
}

func TestRunCrashingSamplerShowsItsStderr(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.Crash)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2})
	var re *cmdstan.RunError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v; want a *cmdstan.RunError", err)
	}
	if !strings.Contains(err.Error(), "Scale parameter is 0") {
		t.Errorf("error does not carry the sampler's stderr:\n%v", err)
	}
	info := readRunInfo(t, runDir)
	if info.Status != runfolder.StatusFailed || !strings.Contains(info.Error, "Scale parameter is 0") {
		t.Errorf("run.json: status %q error %q; want failed with the sampler's message", info.Status, info.Error)
	}
	if page, err := os.ReadFile(filepath.Join(runDir, "index.html")); err != nil || !strings.Contains(string(page), "Scale parameter is 0") {
		t.Errorf("index.html does not show why the run failed (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(runDir, "30_post_run/posterior_summary.csv")); err == nil {
		t.Error("a failed run wrote posterior_summary.csv")
	}
}

func TestRunInterruptedIsRecorded(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.Hang)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // Ctrl-C once the chains are running
		for i := 0; i < 500; i++ {
			if _, err := os.Stat(filepath.Join(runDir, "20_model_fit", "chain_1.csv")); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := Run(ctx, Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v; want ErrInterrupted", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("interrupt took %v; the chains were not stopped", d)
	}
	info := readRunInfo(t, runDir)
	if info.Status != runfolder.StatusInterrupted {
		t.Errorf("run.json status = %q; want interrupted", info.Status)
	}
	if page, err := os.ReadFile(filepath.Join(runDir, "index.html")); err != nil || !strings.Contains(strings.ToLower(string(page)), "interrupted") {
		t.Errorf("index.html does not say the run was interrupted (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(runDir, "30_post_run/posterior_summary.csv")); err == nil {
		t.Error("an interrupted run wrote posterior_summary.csv")
	}
	matches, _ := filepath.Glob(filepath.Join(runDir, "*", ".*.tmp*"))
	if len(matches) > 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestRunWithoutCmdStanSaysHowToInstall(t *testing.T) {
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: filepath.Join(t.TempDir(), "nowhere")})
	if err == nil || !strings.Contains(err.Error(), "install_cmdstan.sh") {
		t.Fatalf("err = %v; want a message naming scripts/install_cmdstan.sh", err)
	}
	if info := readRunInfo(t, runDir); info.Status != runfolder.StatusFailed {
		t.Errorf("run.json status = %q; want failed", info.Status)
	}
}

func TestRunBadConfigWritesNoFolder(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.yaml")
	os.WriteFile(cfg, []byte("schema_version: 1\ndata:\n  path: missing.csv\nmodel:\n  formula: y ~ x\n  n_chain: 3\n"), 0o644)
	_, err := Run(context.Background(), Options{ConfigPath: cfg, Now: fixedNow})
	if err == nil {
		t.Fatal("no error for a bad config")
	}
	for _, want := range []string{"missing.csv", "n_chain"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "results")); err == nil {
		t.Error("a config that does not load created a results folder")
	}
}

func TestRunFolderPrecedence(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	dir := filepath.Dir(cfg)
	// No --run-dir, no outputs.run_dir: <root_dir>/YYYYMMDD_HHMMSS_<name>/.
	res, err := Run(context.Background(), Options{ConfigPath: cfg, CmdStanDir: home, Chains: 1, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "results", "20261127_093005_example_blm"); res.RunDir != want {
		t.Errorf("run dir = %s; want %s", res.RunDir, want)
	}
	// Same second again: a new folder, not the same one.
	res2, err := Run(context.Background(), Options{ConfigPath: cfg, CmdStanDir: home, Chains: 1, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if res2.RunDir == res.RunDir {
		t.Error("two runs in the same second shared a folder")
	}
	// outputs.run_dir and a flat layout.
	raw, _ := os.ReadFile(cfg)
	flat := strings.Replace(string(raw), "  root_dir: results\n", "  root_dir: results\n  run_dir: fixed\n  layout: flat\n", 1)
	os.WriteFile(cfg, []byte(flat), 0o644)
	res3, err := Run(context.Background(), Options{ConfigPath: cfg, CmdStanDir: home, Chains: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "fixed"); res3.RunDir != want {
		t.Errorf("run dir = %s; want outputs.run_dir %s", res3.RunDir, want)
	}
	if _, err := os.Stat(filepath.Join(res3.RunDir, "posterior_summary.csv")); err != nil {
		t.Errorf("flat layout: %v", err)
	}
	// --run-dir beats outputs.run_dir.
	over := filepath.Join(t.TempDir(), "cli")
	res4, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: over, CmdStanDir: home, Chains: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res4.RunDir != over {
		t.Errorf("run dir = %s; want --run-dir %s", res4.RunDir, over)
	}
}

func TestSlugKeepsRunFoldersInsideTheRoot(t *testing.T) {
	for name, want := range map[string]string{
		"example_blm":                   "example_blm",
		"../../etc/passwd":              "etc_passwd",
		"x; } model { target += 1e9; }": "x_model_target_1e9",
		"":                              "model",
		"..":                            "model",
		"tv/radio\nsplit":               "tv_radio_split",
		"Märkte 2026":                   "M_rkte_2026",
		strings.Repeat("a", 4096):       strings.Repeat("a", 64),
	} {
		got := runfolder.Slug(name)
		if got != want {
			t.Errorf("runfolder.Slug(%.20q) = %q; want %q", name, got, want)
		}
		if filepath.Base(got) != got || strings.HasPrefix(got, ".") {
			t.Errorf("runfolder.Slug(%.20q) = %q escapes its folder", name, got)
		}
	}
}

// TestPreflightFailureStopsBeforeCompiling: a constant column or an infinite response is a
// P0 failure: the run stops before anything is compiled, with the report written.
func TestPreflightFailureStopsBeforeCompiling(t *testing.T) {
	for name, mutate := range map[string]func(header []string, cells []string){
		"constant column": func(h, c []string) { c[slices.Index(h, "m_social")] = "5" },
		"infinite response": func(h, c []string) {
			if c[0] == "2022-03-07" {
				c[slices.Index(h, "kpi_value")] = "Inf"
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			home := fakecmdstan.New(t, fakecmdstan.OK)
			cfg := writeExample(t)
			data := filepath.Join(filepath.Dir(cfg), "data.csv")
			raw, _ := os.ReadFile(data)
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			header := strings.Split(lines[0], ",")
			for i := 1; i < len(lines); i++ {
				cells := strings.Split(lines[i], ",")
				mutate(header, cells)
				lines[i] = strings.Join(cells, ",")
			}
			os.WriteFile(data, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
			runDir := filepath.Join(t.TempDir(), "run")
			_, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 1})
			var pe *PreflightError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v; want a *PreflightError", err)
			}
			rep, rerr := os.ReadFile(filepath.Join(runDir, "40_diagnostics", "diagnostics_report.csv"))
			if rerr != nil || !strings.HasPrefix(strings.SplitN(string(rep), "\n", 3)[1], "overall,all,,fail") {
				t.Errorf("diagnostics report: %v\n%s", rerr, rep)
			}
			if _, err := os.Stat(filepath.Join(runDir, "20_model_fit", "model.stan")); err == nil {
				t.Error("model.stan was written: the run went on past the failed pre-flight checks")
			}
			if entries, _ := os.ReadDir(os.Getenv("DSAMSTAN_CACHE")); len(entries) > 0 {
				t.Error("something was compiled after a failed pre-flight check")
			}
			if info := readRunInfo(t, runDir); info.Status != runfolder.StatusFailed || info.Diagnostics != "fail" {
				t.Errorf("run.json: status %q diagnostics %q; want failed, fail", info.Status, info.Diagnostics)
			}
		})
	}
}

// cancelOnDone is a Progress writer that cancels the run once n chains have reported
// done: Ctrl-C after sampling, while the run summarises.
type cancelOnDone struct {
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
}

func (c *cancelOnDone) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n -= strings.Count(string(p), "| done\n")
	if c.n <= 0 {
		c.cancel()
	}
	return len(p), nil
}

func TestRunInterruptedAfterSampling(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	runDir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	prog := &cancelOnDone{n: 2, cancel: func() { cancel(errors.New("interrupt signal received")) }}
	_, err := Run(ctx, Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Progress: prog})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v; want ErrInterrupted", err)
	}
	want := "cmdstan: interrupted: stopped during the summarise step; what the run wrote so far is kept in " +
		runDir + " (interrupt signal received)"
	if err.Error() != want {
		t.Errorf("message =\n%s\nwant\n%s", err, want)
	}
	info := readRunInfo(t, runDir)
	if info.Status != runfolder.StatusInterrupted || info.Error != want {
		t.Errorf("run.json: status %q error %q; want interrupted with %q", info.Status, info.Error, want)
	}
}
