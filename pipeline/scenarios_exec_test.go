package pipeline

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
)

// inProcess is a ScenarioExecutor that runs each scenario as `dsamstan run NN.yaml
// --run-dir NN --scenario-task` would, in this process; fail names scenarios to report as
// failed without running them.
type inProcess struct {
	home string
	fail map[int]bool
	got  []ScenarioJob
}

func (e *inProcess) FitScenarios(ctx context.Context, dir string, jobs []ScenarioJob) ([]error, error) {
	e.got = jobs
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		if e.fail[i] {
			errs[i] = errors.New("Slurm task FAILED (NonZeroExitCode, exit 1:0)")
			continue
		}
		_, errs[i] = Run(ctx, Options{ConfigPath: j.Config, RunDir: j.RunDir, CmdStanDir: e.home, Chains: 2, Version: "test", Now: fixedNow, ScenarioTask: true})
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
	cfg := withTransforms(t)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(b, "  sensitivity:\n    m_tv.decay: [0.1, 0.5, 0.8]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: local, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(t.TempDir(), "run")
	ex := &inProcess{home: home}
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: remote, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, Scenarios: ex}); err != nil {
		t.Fatal(err)
	}
	if len(ex.got) != 3 || ex.got[1].RunDir != filepath.Join(remote, ScenariosDir, "02") || ex.got[1].Config != filepath.Join(remote, ScenariosDir, "02.yaml") {
		t.Fatalf("executor got %+v", ex.got)
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
	cfg := withTransforms(t)
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, append(b, "  sensitivity:\n    m_tv.decay: [0.1, 0.8]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	var log strings.Builder
	ex := &inProcess{home: home, fail: map[int]bool{0: true}}
	if _, err := Run(context.Background(), Options{ConfigPath: cfg, RunDir: runDir, CmdStanDir: home, Chains: 2, Version: "test", Now: fixedNow, Scenarios: ex, Log: &log}); err != nil {
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

// TestExecutorWithoutSensitivity: an executor for a config without transforms.sensitivity is
// refused before anything is written.
func TestExecutorWithoutSensitivity(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	_, err := Run(context.Background(), Options{ConfigPath: writeExample(t), RunDir: runDir, Scenarios: &inProcess{}})
	if !errors.Is(err, ErrNoScenarios) || !strings.Contains(err.Error(), "dsamstan batch") {
		t.Fatalf("err = %v; want ErrNoScenarios naming dsamstan batch", err)
	}
	if _, err := os.Stat(runDir); err == nil {
		t.Errorf("the refused run wrote %s", runDir)
	}
}
