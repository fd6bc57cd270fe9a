package pipeline

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/report"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/simulate"
	"github.com/dsamstan/dsamstan/stanio"
)

// Fresh run folders of every kind render with no failed plot: the report reads what the
// pipeline writes, and the pipeline writes what the report needs (10_pre_run/ included).

// writePanel writes a small panel example and returns its config.
func writePanel(t *testing.T) string {
	t.Helper()
	ex, err := simulate.Hierarchical(simulate.PanelOptions{Markets: 3, Weeks: 52})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "config.yaml")
}

// editConfig replaces old by new in the config at path.
func editConfig(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

var missingColumn = regexp.MustCompile(`has no column "([^"]+)"`)

// programColumns returns the CmdStan parameter columns the program of config reads back,
// by asking its Decode for one missing column at a time; the fake sampler then writes them.
func programColumns(t *testing.T, config string) string {
	t.Helper()
	_, spec, err := ingest.Load(config)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := codegen.Render(context.Background(), nil, spec)
	if err != nil {
		t.Fatal(err)
	}
	ch := &stanio.Chain{}
	for range 10000 {
		_, _, err := prog.Decode(ch)
		if err == nil {
			return strings.Join(ch.Columns, ",")
		}
		m := missingColumn.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("decoding the %s program's columns: %v", prog.Template, err)
		}
		ch.Columns = append(ch.Columns, m[1])
		ch.Draws = append(ch.Draws, []float64{1})
	}
	t.Fatal("the program reads more than 10000 columns")
	return ""
}

// checkReport builds the report of runDir again and fails on any failed plot, and on any
// of mustWrite not written.
func checkReport(t *testing.T, runDir string, mustWrite ...string) *report.Manifest {
	t.Helper()
	m, err := report.Build(context.Background(), runDir, report.Options{DPI: 30})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Plots {
		if p.Status == report.PlotFailed {
			t.Errorf("%s failed: %s", p.Path, p.Reason)
		}
		if slices.Contains(mustWrite, p.Name) && p.Status != report.PlotWritten {
			t.Errorf("%s: %s (%s); want written", p.Path, p.Status, p.Reason)
		}
	}
	for _, f := range []string{runfolder.ModelSpecFile, runfolder.VIFFile, runfolder.MediaSpendFile} {
		if _, err := os.Stat(filepath.Join(runDir, runfolder.StagePreRun, f)); err != nil {
			t.Errorf("no %s/%s: %v", runfolder.StagePreRun, f, err)
		}
	}
	return m
}

// checkLOOPIT checks runDir's loo_pit.csv against loo_pointwise.csv: a row for each
// observation, in order, with the grouping factors, a date, a PIT value in [0, 1] and the
// same Pareto k.
func checkLOOPIT(t *testing.T, runDir string, factors []string) {
	t.Helper()
	f := runfolder.Folder{Dir: runDir}
	read := func(name string) *os.File {
		r, err := os.Open(f.Path(runfolder.StageModelSelection, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	pit, err := loo.ReadPITCSV(read(runfolder.LOOPIT))
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := loo.ReadPointwiseCSV(read(runfolder.LOOPointwise), runfolder.LOOPointwise)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pit.Factors, factors) {
		t.Errorf("loo_pit.csv factors %q; want %q", pit.Factors, factors)
	}
	if len(pit.Rows) != len(res.Pointwise) {
		t.Fatalf("loo_pit.csv has %d rows, loo_pointwise.csv %d", len(pit.Rows), len(res.Pointwise))
	}
	for i, r := range pit.Rows {
		if r.Row != i+1 || r.Date == "" || len(r.Groups) != len(factors) || !(r.PIT >= 0 && r.PIT <= 1) {
			t.Errorf("loo_pit.csv row %d: %+v; want row %d, a date, %d groups, pit in [0, 1]", i+1, r, i+1, len(factors))
		}
		if k := res.Pointwise[i].ParetoK; r.ParetoK != k && !(math.IsNaN(k) && math.IsNaN(r.ParetoK)) {
			t.Errorf("loo_pit.csv row %d: pareto_k %v; loo_pointwise.csv has %v", i+1, r.ParetoK, k)
		}
	}
}

// everyPlot lists the plots a complete MCMC run of the examples gets (the examples model
// kpi_value, so residuals_latent_acf.png is skipped).
var everyPlot = []string{
	"media_spend_timeseries.png", "vif_bar.png", "fit_timeseries.png", "fit_scatter.png",
	"posterior_forest.png", "prior_posterior.png", "decomp_predictor_impact.png", "decomp_timeseries.png",
	"ppc.png", "residuals_timeseries.png", "residuals_vs_fitted.png", "residuals_hist.png",
	"residuals_acf.png", "boundary_hits.png", "rhat_ess.png", "pareto_k.png", "loo_pit.png", "elpd_influence.png",
	"budget_response_curves.png", "budget_roi_cpa.png", "budget_impact.png",
	"budget_efficient_frontier.png", "budget_sensitivity.png",
}

func TestFreshRunFoldersRenderWithoutFailedPlots(t *testing.T) {
	t.Run("blm", func(t *testing.T) {
		home := fakecmdstan.New(t, fakecmdstan.OK)
		runDir := filepath.Join(t.TempDir(), "run")
		if _, err := Run(context.Background(), Options{ConfigPath: writeExample(t), RunDir: runDir, CmdStanDir: home, Chains: 2}); err != nil {
			t.Fatal(err)
		}
		checkReport(t, runDir, everyPlot...)
		checkLOOPIT(t, runDir, nil)
		info := readRunInfo(t, runDir)
		for _, step := range []string{"ingest", "pre_run", "render", "compile", "fit", "summarise", "derive", "loo", "optimise", "report", "total"} {
			if _, ok := info.Timings[step]; !ok {
				t.Errorf("run.json has no timing for %s: %v", step, info.Timings)
			}
		}
	})
	t.Run("panel", func(t *testing.T) {
		home := fakecmdstan.New(t, fakecmdstan.OK)
		config := writePanel(t)
		t.Setenv(fakecmdstan.Columns, programColumns(t, config))
		runDir := filepath.Join(t.TempDir(), "run")
		if _, err := Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, CmdStanDir: home, Chains: 2}); err != nil {
			t.Fatal(err)
		}
		checkReport(t, runDir, everyPlot...)
		checkLOOPIT(t, runDir, []string{"market"})
	})
	t.Run("map", func(t *testing.T) {
		home := fakecmdstan.New(t, fakecmdstan.OK)
		config := writeExample(t)
		editConfig(t, config, "method: mcmc", "method: optimise")
		runDir := filepath.Join(t.TempDir(), "run")
		if _, err := Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, CmdStanDir: home}); err != nil {
			t.Fatal(err)
		}
		checkReport(t, runDir, mapPlots...)
	})
	t.Run("failed", func(t *testing.T) {
		home := fakecmdstan.New(t, fakecmdstan.Crash)
		runDir := filepath.Join(t.TempDir(), "run")
		_, err := Run(context.Background(), Options{ConfigPath: writeExample(t), RunDir: runDir, CmdStanDir: home, Chains: 2})
		var re *cmdstan.RunError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v; want the crashing sampler's *cmdstan.RunError", err)
		}
		m := checkReport(t, runDir, "media_spend_timeseries.png", "vif_bar.png")
		if m.Status != runfolder.StatusFailed {
			t.Errorf("report status %q; want failed", m.Status)
		}
	})
}

// TestIntegrationFreshRunFoldersRender is the same check with the real CmdStan: a BLM, a
// small panel, a MAP, a Laplace and a Pathfinder fit each render with no failed plot.
func TestIntegrationFreshRunFoldersRender(t *testing.T) {
	needCmdStan(t)
	for name, setup := range map[string]func(t *testing.T) (config string, plots []string){
		"blm":   func(t *testing.T) (string, []string) { return writeExample(t), everyPlot },
		"panel": func(t *testing.T) (string, []string) { return writePanel(t), everyPlot },
		"map": func(t *testing.T) (string, []string) {
			config := writeExample(t)
			editConfig(t, config, "method: mcmc", "method: optimise")
			return config, mapPlots
		},
		"laplace":    approxSetup("laplace"),
		"pathfinder": approxSetup("pathfinder"),
	} {
		t.Run(name, func(t *testing.T) {
			config, plots := setup(t)
			runDir := filepath.Join(t.TempDir(), "run")
			if _, err := Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, Cores: 2}); err != nil {
				t.Fatal(err)
			}
			checkReport(t, runDir, plots...)
		})
	}
}

// approxSetup sets up the BLM example fitted by method (laplace or pathfinder).
func approxSetup(method string) func(t *testing.T) (string, []string) {
	return func(t *testing.T) (string, []string) {
		config := writeExample(t)
		editConfig(t, config, "method: mcmc", "method: "+method)
		return config, approxPlots()
	}
}

// approxPlots lists the plots a Laplace or Pathfinder fit of the examples gets: every plot
// but rhat_ess.png (Rhat and ESS do not apply to approximate draws).
func approxPlots() []string {
	var plots []string
	for _, p := range everyPlot {
		if p != "rhat_ess.png" {
			plots = append(plots, p)
		}
	}
	return plots
}
