package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
)

// inProcess is an Executor that runs each task as `dsamstan run CONFIG --run-dir DIR FLAGS...`
// would, in this process; fail names tasks to report as failed without running them. The
// tests compare tables, so neither side draws the report (under -race, drawing it is most
// of a run's time).
type inProcess struct {
	home string
	fail map[int]bool
	got  []Fanout
}

func (e *inProcess) Run(ctx context.Context, f Fanout) ([]error, error) {
	e.got = append(e.got, f)
	errs := make([]error, len(f.Tasks))
	for i, task := range f.Tasks {
		if e.fail[i] {
			errs[i] = errors.New("Slurm task FAILED (NonZeroExitCode, exit 1:0)")
			continue
		}
		opts := Options{ConfigPath: task.Config, RunDir: task.RunDir, CmdStanDir: e.home, Chains: 2, Version: "test", Now: fixedNow, noReport: true}
		switch {
		case len(task.Flags) == 1 && task.Flags[0] == ScenarioTaskFlag:
			opts.ScenarioTask = true
		case len(task.Flags) == 2 && task.Flags[0] == TSCVFoldFlag:
			opts.TSCVFold, _ = strconv.Atoi(task.Flags[1])
		default:
			return nil, fmt.Errorf("task %d: flags %q", i, task.Flags)
		}
		_, errs[i] = Run(ctx, opts)
	}
	return errs, nil
}

// runFiles reads every file of a run folder, keyed by its path inside it, with what
// legitimately differs between two runs of the same config masked: wall-clock timings, the
// run folder's own path, the config file's path, and whether the compile cache already held
// the program.
var originalConfig = regexp.MustCompile(`(?s)(Show config.original.yaml</summary><pre>).*?</pre>`)

func runFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	masks := []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`(?s)(timings_seconds(&#34;|"): \{).*?\}`), "${1}T}"},
		{regexp.MustCompile(`((^|\W)config(&#34;|"): (&#34;|"))[^"&]*`), "${1}CONFIG"},
		{regexp.MustCompile(`(?m)^# from .*$`), "# from CONFIG"},
		{regexp.MustCompile(`((run\.log|config\.original\.yaml)</a> <span class="meta">)[^<]*`), "${1}SIZE"},
		{regexp.MustCompile(`(compile_cache_hit(&#34;|"): )(true|false)`), "${1}HIT"},
		{regexp.MustCompile(`(?m)(^|<pre>)(cmdstan: (compiling|model) .*|compiled .* in .*|compile cache hit .*)$`), "${1}COMPILE"},
	}
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		s := strings.ReplaceAll(string(b), dir, "RUN")
		for _, m := range masks {
			s = m.re.ReplaceAllString(s, m.with)
		}
		if strings.HasPrefix(rel, ScenariosDir+"/") {
			// A scenario's config.original.yaml (and the report's copy) is the user's config
			// in-process and the scenario's own YAML through the executor.
			s = originalConfig.ReplaceAllString(s, "${1}ORIGINAL")
		}
		out[rel] = s
		return nil
	})
	return out
}

// TestSensitivityExecutor fits the decay scenarios of m_tv through a ScenarioExecutor (each
// scenario a run of its own YAML config, as a Slurm task runs it) and checks that the run
// folder is the one the in-process path writes, file by file.
func TestSensitivityExecutor(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := withSensitivity(t, "0.1, 0.5, 0.8")
	local := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: local, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, noReport: true}); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(t.TempDir(), "run")
	ex := &inProcess{home: home}
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: remote, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, noReport: true, Executor: ex}); err != nil {
		t.Fatal(err)
	}
	if len(ex.got) != 1 || len(ex.got[0].Tasks) != 3 || ex.got[0].Step != "sensitivity" || ex.got[0].Dir != filepath.Join(remote, ScenariosDir) {
		t.Fatalf("executor got %+v", ex.got)
	}
	if task := ex.got[0].Tasks[1]; task.RunDir != filepath.Join(remote, ScenariosDir, "02") || task.Config != filepath.Join(remote, ScenariosDir, "02.yaml") {
		t.Fatalf("scenario 02's task is %+v", task)
	}
	want, got := runFiles(t, local), runFiles(t, remote)
	for name, w := range want {
		if strings.HasPrefix(name, ScenariosDir+"/") && strings.HasSuffix(name, runfolder.ConfigOriginal) {
			continue // see runFiles
		}
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: missing through the executor", name)
		case g != w:
			wl, gl := strings.Split(w, "\n"), strings.Split(g, "\n")
			i := 0
			for i < min(len(wl), len(gl)) && wl[i] == gl[i] {
				i++
			}
			t.Errorf("%s differs through the executor from line %d:\n--- local\n%.300s\n--- executor\n%.300s", name, i+1,
				strings.Join(wl[i:], "\n"), strings.Join(gl[i:], "\n"))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && !strings.HasSuffix(name, runfolder.ScenarioConfigExt) {
			t.Errorf("%s: only through the executor", name)
		}
	}
}

// TestSensitivityExecutorFailed: a scenario the executor reports failed is a failed row of
// the summary, with the executor's word on it, and the others are ranked as in-process.
func TestSensitivityExecutorFailed(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := withSensitivity(t, "0.1, 0.8")
	runDir := filepath.Join(t.TempDir(), "run")
	var log strings.Builder
	ex := &inProcess{home: home, fail: map[int]bool{0: true}}
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, noReport: true, Executor: ex, Log: &log}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(runDir, "10_pre_run", runfolder.TransformSensitivityFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "failed: Slurm task FAILED (NonZeroExitCode, exit 1:0)") || !strings.Contains(string(raw), ",true,ok") {
		t.Errorf("the summary does not show scenario 01 failed and 02 chosen:\n%s", raw)
	}
	if !strings.Contains(log.String(), "scenario 01 (") || !strings.Contains(log.String(), "failed: Slurm task FAILED") {
		t.Errorf("the log does not report the failed scenario:\n%s", log.String())
	}
}

// TestExecutorWithoutFanout: an executor for a config with neither transforms.sensitivity
// nor time-series CV is refused before anything is written.
func TestExecutorWithoutFanout(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), Options{ConfigPath: writeExample(t), RunDir: runDir, Executor: &inProcess{}})
	if !errors.Is(err, ErrNothingToFanOut) || !strings.Contains(err.Error(), "dsamstan batch") {
		t.Fatalf("err = %v; want ErrNothingToFanOut naming dsamstan batch", err)
	}
	if _, err := os.Stat(runDir); err == nil {
		t.Errorf("the refused run wrote %s", runDir)
	}
}

// TestTSCVExecutor cross-validates the example (3 rolling folds) through an Executor, each
// fold a `dsamstan run config.resolved.yaml --run-dir tscv/fold_NN --tscv-fold N` as a Slurm task
// runs it, and checks that the scores and every file of every fold are those the in-process
// path writes.
func TestTSCVExecutor(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	enableTSCV(t, cfg, "    enabled: true\n    folds: 3\n    horizon: 13\n    min_train: 52\n    window: rolling\n")
	local := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: local, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, noReport: true}); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(t.TempDir(), "run")
	ex := &inProcess{home: home}
	var log syncBuffer
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: remote, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, noReport: true, Executor: ex, Log: &log}); err != nil {
		t.Fatal(err)
	}
	tscv := filepath.Join(remote, "50_model_selection", TSCVDir)
	if len(ex.got) != 1 || ex.got[0].Step != "tscv" || ex.got[0].Dir != tscv || len(ex.got[0].Tasks) != 3 {
		t.Fatalf("executor got %+v", ex.got)
	}
	if task := ex.got[0].Tasks[2]; task.Config != filepath.Join(remote, runfolder.StageMetadata, runfolder.ConfigResolved) || task.RunDir != filepath.Join(tscv, "fold_03") ||
		strings.Join(task.Flags, " ") != "--tscv-fold 3" {
		t.Errorf("fold 3's task is %+v", task)
	}
	want, got := runFiles(t, local), runFiles(t, remote)
	compared := 0
	for name, w := range want {
		if !strings.HasPrefix(name, "50_model_selection/tscv") {
			continue
		}
		compared++
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s differs through the executor (present: %v):\n--- local\n%.400s\n--- executor\n%.400s", name, ok, w, g)
		}
	}
	if compared != 3+3*8 { // three tables; each fold's program, data, and two chains with their logs
		t.Errorf("compared %d files of the CV; want 27", compared)
	}
	for f := 1; f <= 3; f++ {
		info, err := runfolder.ReadRunInfo(runfolder.Detect(filepath.Join(tscv, fmt.Sprintf("fold_%02d", f))))
		if err != nil || info.Status != runfolder.StatusCompleted || len(info.Chains) != 2 {
			t.Errorf("fold %d's run.json: %+v (%v)", f, info, err)
		}
	}
	if l := string(log.Bytes()); !strings.Contains(l, "3 folds (rolling window, horizon 13) through the executor") || !strings.Contains(l, "tscv: fold 03 (holdout from") {
		t.Errorf("log:\n%s", l)
	}
}

// TestTSCVExecutorFailed: a fold that did not complete fails the run, naming the fold, the
// executor's word on it and where its folder is; the main fit's tables are kept.
func TestTSCVExecutorFailed(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	enableTSCV(t, cfg, "    enabled: true\n    folds: 2\n    horizon: 13\n    min_train: 52\n")
	runDir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, noReport: true, Executor: &inProcess{home: home, fail: map[int]bool{1: true}}})
	if err == nil || !strings.Contains(err.Error(), "1 of 2 folds did not complete") || !strings.Contains(err.Error(), "fold 2: Slurm task FAILED") {
		t.Fatalf("err = %v", err)
	}
	if info := readRunInfo(t, runDir); info.Status != runfolder.StatusFailed || !strings.Contains(info.Error, "fold 2") {
		t.Errorf("run.json: %s, %q", info.Status, info.Error)
	}
	if _, err := os.Stat(filepath.Join(runDir, "30_post_run", "posterior_summary.csv")); err != nil {
		t.Errorf("the main fit's summary is gone: %v", err)
	}
}

// TestFoldTaskRefusals: a fold task of a config without time-series CV, or beyond its folds,
// says so in its run.json (or before writing anything when it has no folder).
func TestFoldTaskRefusals(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := writeExample(t)
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, TSCVFold: 1}); err == nil || !strings.Contains(err.Error(), "needs --run-dir") {
		t.Errorf("no --run-dir: err = %v", err)
	}
	dir := filepath.Join(t.TempDir(), "fold")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: dir, CmdStanDir: home, TSCVFold: 1}); err == nil || !strings.Contains(err.Error(), "does not enable diagnostics.time_series_selection") {
		t.Errorf("no CV: err = %v", err)
	}
	enableTSCV(t, cfg, "    enabled: true\n    folds: 2\n    horizon: 13\n    min_train: 52\n")
	_, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: dir, CmdStanDir: home, TSCVFold: 3, Now: fixedNow})
	if err == nil || !strings.Contains(err.Error(), "--tscv-fold 3: the config cuts 2 folds") {
		t.Errorf("fold 3 of 2: err = %v", err)
	}
	info, rerr := runfolder.ReadRunInfo(runfolder.Detect(dir))
	if rerr != nil || info.Status != runfolder.StatusFailed || !strings.Contains(info.Error, "cuts 2 folds") {
		t.Errorf("fold 3 of 2: run.json %+v (%v)", info, rerr)
	}
}

// TestSensitivityAndTSCVExecutor: a sensitivity run that cross-validates hands both fan-outs
// to the executor, the scenarios and then the chosen run's folds (fitted from its own
// resolved config), and scores the folds as the in-process path does.
func TestSensitivityAndTSCVExecutor(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := withSensitivity(t, "0.1, 0.8")
	enableTSCV(t, cfg, "    enabled: true\n    folds: 2\n    horizon: 13\n    min_train: 52\n")
	local := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: local, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, noReport: true}); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(t.TempDir(), "run")
	ex := &inProcess{home: home}
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: remote, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, noReport: true, Executor: ex}); err != nil {
		t.Fatal(err)
	}
	if len(ex.got) != 2 || ex.got[0].Step != "sensitivity" || len(ex.got[0].Tasks) != 2 || ex.got[1].Step != "tscv" || len(ex.got[1].Tasks) != 2 {
		t.Fatalf("executor got %+v", ex.got)
	}
	resolved, _ := os.ReadFile(filepath.Join(remote, runfolder.StageMetadata, runfolder.ConfigResolved))
	if !strings.Contains(string(resolved), "decay: 0.") {
		t.Errorf("the folds' config is not the chosen scenario's:\n%.600s", resolved)
	}
	for _, name := range []string{TSCVSummaryFile, TSCVPredictionsFile} {
		want, _ := os.ReadFile(filepath.Join(local, "50_model_selection", name))
		got, err := os.ReadFile(filepath.Join(remote, "50_model_selection", name))
		if err != nil || len(want) == 0 || string(got) != string(want) {
			t.Errorf("%s differs through the executor (%v):\n--- local\n%s\n--- executor\n%s", name, err, want, got)
		}
	}
}
