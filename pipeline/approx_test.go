package pipeline

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/report"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

// mapPlots are the plots a MAP fit of the BLM example gets: every plot of one point (the
// fit, the decomposition, the residuals, the budget), none that shows a spread of draws.
var mapPlots = []string{
	"media_spend_timeseries.png", "vif_bar.png", "fit_timeseries.png", "fit_scatter.png",
	"posterior_forest.png", "decomp_predictor_impact.png", "decomp_timeseries.png",
	"residuals_timeseries.png", "residuals_vs_fitted.png", "residuals_hist.png", "residuals_acf.png",
	"budget_response_curves.png", "budget_roi_cpa.png", "budget_impact.png",
	"budget_efficient_frontier.png", "budget_sensitivity.png",
}

// runMethod fits the BLM example with the fake CmdStan and fit.method method.
func runMethod(t *testing.T, method string, env ...string) (string, *strings.Builder) {
	t.Helper()
	home := fakecmdstan.New(t, fakecmdstan.OK)
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	config := writeExample(t)
	editConfig(t, config, "method: mcmc", "method: "+method)
	runDir := filepath.Join(t.TempDir(), "run")
	var log strings.Builder
	if _, err := Run(context.Background(), Options{ConfigPath: config, RunDir: runDir, CmdStanDir: home, Log: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return runDir, &log
}

// A MAP fit writes everything a point estimate supports, and says what it leaves out.
func TestMAPRunWritesPointOutputs(t *testing.T) {
	runDir, log := runMethod(t, "optimise")
	f := runfolder.Folder{Dir: runDir}
	for _, p := range [][2]string{
		{runfolder.StagePostRun, runfolder.FittedValues}, {runfolder.StagePostRun, runfolder.Decomposition},
		{runfolder.StagePostRun, runfolder.DecompositionTotals}, {runfolder.StagePostRun, runfolder.FitMetrics},
		{runfolder.StagePostRun, runfolder.PosteriorDraws}, {runfolder.StageOptimisation, optimise.AllocationFile},
	} {
		if _, err := os.Stat(f.Path(p[0], p[1])); err != nil {
			t.Errorf("a MAP run has no %s/%s: %v", p[0], p[1], err)
		}
	}
	for _, name := range []string{runfolder.LOOSummary, runfolder.LOOPointwise} {
		if _, err := os.Stat(f.Path(runfolder.StageModelSelection, name)); err == nil {
			t.Errorf("a MAP run wrote %s; PSIS-LOO needs draws", name)
		}
	}
	m := checkReport(t, runDir, mapPlots...)
	for _, p := range m.Plots {
		if slices.Contains([]string{"prior_posterior.png", "boundary_hits.png", "ppc.png"}, p.Name) &&
			(p.Status != report.PlotSkipped || !strings.Contains(p.Reason, "MAP fit")) {
			t.Errorf("%s: %s (%s); want skipped for a MAP fit", p.Path, p.Status, p.Reason)
		}
	}
	info := readRunInfo(t, runDir)
	var skipped []string
	for _, s := range info.Skipped {
		skipped = append(skipped, s.Output)
		if s.Reason == "" {
			t.Errorf("skipped %s gives no reason", s.Output)
		}
	}
	all := strings.Join(skipped, "; ")
	for _, want := range []string{runfolder.LOOSummary, "intervals", "convergence diagnostics"} {
		if !strings.Contains(all, want) {
			t.Errorf("run.json skipped_outputs %q does not name %s", all, want)
		}
	}
	if info.Approximation != nil {
		t.Errorf("a MAP fit has an approximation: %+v", info.Approximation)
	}
	for _, step := range []string{"derive", "optimise"} {
		if _, ok := info.Timings[step]; !ok {
			t.Errorf("run.json has no timing for %s", step)
		}
	}
	if !strings.Contains(log.String(), "note: fit.method optimise: no "+runfolder.StageModelSelection+"/"+runfolder.LOOSummary) {
		t.Errorf("the log does not say what the MAP fit leaves out:\n%s", log)
	}
	html, err := os.ReadFile(filepath.Join(runDir, report.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `id="fit-method-note"`) || !strings.Contains(string(html), "Point estimate (MAP fit)") {
		t.Error("index.html has no note on what the MAP fit leaves out")
	}
	// The tables give the point and NA for its intervals.
	fitted, err := os.ReadFile(f.Path(runfolder.StagePostRun, runfolder.FittedValues))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(fitted), "\n")
	if !strings.Contains(lines[1], ",NA,") {
		t.Errorf("fitted_values.csv gives intervals for a point estimate:\n%s\n%s", lines[0], lines[1])
	}
}

// Laplace and Pathfinder runs produce every output MCMC does, marked approximate, with the
// approximation's Pareto k̂ and no convergence failures.
func TestApproximateRunsWriteEverything(t *testing.T) {
	for _, tc := range []struct {
		method string
		env    []string
		warn   bool
	}{
		{"laplace", nil, false},
		{"laplace", []string{"FAKE_LAPLACE_TAIL=2"}, true}, // log ratios ~ Exp(1/2): k̂ ≈ 2
		{"pathfinder", nil, false},
		{"pathfinder", []string{"FAKE_PARETO_K=0.91"}, true},
	} {
		t.Run(tc.method+strings.Join(tc.env, ""), func(t *testing.T) {
			runDir, log := runMethod(t, tc.method, tc.env...)
			checkReport(t, runDir, approxPlots()...)
			f := runfolder.Folder{Dir: runDir}
			for _, p := range [][2]string{
				{runfolder.StageModelSelection, runfolder.LOOSummary}, {runfolder.StagePostRun, runfolder.FittedValues},
				{runfolder.StagePostRun, runfolder.Decomposition}, {runfolder.StageOptimisation, optimise.AllocationFile},
			} {
				if _, err := os.Stat(f.Path(p[0], p[1])); err != nil {
					t.Errorf("a %s run has no %s/%s: %v", tc.method, p[0], p[1], err)
				}
			}
			info := readRunInfo(t, runDir)
			a := info.Approximation
			if a == nil || a.Method != tc.method || a.Draws != 1000 {
				t.Fatalf("run.json approximation = %+v; want %s with 1000 draws", a, tc.method)
			}
			if len(info.Skipped) != 1 || !strings.Contains(info.Skipped[0].Output, "convergence") {
				t.Errorf("skipped_outputs = %+v; want only the convergence diagnostics", info.Skipped)
			}
			if info.Chains[0] != filepath.Join(runDir, runfolder.StageModelFit, tc.method+".csv") {
				t.Errorf("chain_csv = %v; want the %s CSV", info.Chains, tc.method)
			}
			rep, err := diagnostics.ReadCSV(mustOpen(t, f.Path(runfolder.StageDiagnostics, runfolder.DiagnosticsReport)))
			if err != nil {
				t.Fatal(err)
			}
			var k *diagnostics.Check
			for i, c := range rep.Checks {
				if c.ID == approxParetoKID {
					k = &rep.Checks[i]
					continue
				}
				if strings.HasPrefix(c.ID, "sampler_") && c.Status != diagnostics.StatusSkipped {
					t.Errorf("check %s is %s for %s draws; want skipped (not applicable)", c.ID, c.Status, tc.method)
				}
			}
			if k == nil {
				t.Fatal("the diagnostics report has no approximation Pareto k check")
			}
			wantStatus := diagnostics.StatusPass
			if tc.warn {
				wantStatus = diagnostics.StatusWarn
			}
			if k.Status != wantStatus {
				t.Errorf("Pareto k check %s (%v: %s); want %s", k.Status, k.Value, k.Message, wantStatus)
			}
			switch {
			case tc.method == "pathfinder" && !tc.warn:
				if a.ParetoK != nil || !math.IsNaN(k.Value) {
					t.Errorf("pathfinder reported no k̂, yet run.json has %v and the check %v", *a.ParetoK, k.Value)
				}
			case tc.method == "pathfinder":
				if a.ParetoK == nil || *a.ParetoK != 0.91 {
					t.Errorf("run.json pareto_k = %v; want CmdStan's 0.91", a.ParetoK)
				}
			case tc.warn && (a.ParetoK == nil || *a.ParetoK < 1):
				t.Errorf("laplace with heavy-tailed ratios: k̂ = %v; want about 2", a.ParetoK)
			case !tc.warn && (a.ParetoK == nil || *a.ParetoK > 0.5):
				t.Errorf("laplace with light-tailed ratios: k̂ = %v; want about 0.1", a.ParetoK)
			}
			if tc.warn && !strings.Contains(log.String(), "approximation is poor") {
				t.Errorf("the log does not warn of the poor approximation:\n%s", log)
			}
			rows, err := summarise.ReadCSV(mustOpen(t, f.Path(runfolder.StagePostRun, runfolder.PosteriorSummary)))
			if err != nil {
				t.Fatal(err)
			}
			if !math.IsNaN(rows[0].Rhat) || math.IsNaN(rows[0].SD) {
				t.Errorf("summary row %+v; want an sd and no Rhat", rows[0])
			}
			html, err := os.ReadFile(filepath.Join(runDir, report.IndexFile))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(html), "Approximate fit ("+tc.method+")") || !strings.Contains(string(html), tc.method+" (approximate draws)") {
				t.Errorf("index.html does not mark the run approximate")
			}
		})
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The Laplace Pareto k̂ is PSIS's on log_p__ − log_q__, tested on known truth: log ratios
// at the exact quantiles of an exponential with mean k are those of importance ratios with
// a Pareto tail of shape k.
func TestLaplaceParetoK(t *testing.T) {
	const s = 4000
	for _, want := range []float64{0.2, 0.5, 1} {
		ch := &stanio.Chain{Path: "laplace.csv", Columns: []string{"log_p__", "log_q__"}, Draws: [][]float64{make([]float64, s), make([]float64, s)}}
		for i := range s {
			u := (float64(i) + 0.5) / s
			ch.Draws[1][i] = -float64(i%7) / 3 // log q varies; only the difference matters
			ch.Draws[0][i] = ch.Draws[1][i] - want*math.Log1p(-u)
		}
		k, err := laplaceParetoK(ch)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(k-want) > 0.1 {
			t.Errorf("k̂ = %.3f; want %.1f ± 0.1", k, want)
		}
	}
	// Real CmdStan draws of the bernoulli example parse and give a finite k̂.
	ch, err := stanio.ReadCSVFile("../stanio/testdata/csv/bernoulli-laplace.csv")
	if err != nil {
		t.Fatal(err)
	}
	if k, err := laplaceParetoK(ch); err != nil || math.IsNaN(k) || math.IsInf(k, 0) {
		t.Errorf("bernoulli: k̂ = %v, %v; want a finite k̂", k, err)
	}
	if _, err := laplaceParetoK(&stanio.Chain{Path: "x.csv", Columns: []string{"lp__"}, Draws: [][]float64{{1}}}); err == nil ||
		!strings.Contains(err.Error(), "not a laplace CSV") {
		t.Errorf("err = %v; want it to name the missing columns", err)
	}
}
