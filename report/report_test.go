package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/runfolder"
)

// The fixtures in testdata/ are real run folders, trimmed (see testdata/README.md).

// copyFixture copies testdata/<name> into a temporary folder and returns the run folder.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	copyTree(t, filepath.Join("testdata", name), dst)
	return filepath.Join(dst, "run")
}

func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allPlots lists every plot a complete identity-response run gets.
var allPlots = []string{
	"10_pre_run/media_spend_timeseries.png", "10_pre_run/vif_bar.png",
	"20_model_fit/fit_timeseries.png", "20_model_fit/fit_scatter.png",
	"20_model_fit/posterior_forest.png", "20_model_fit/prior_posterior.png",
	"30_post_run/decomp_predictor_impact.png", "30_post_run/decomp_timeseries.png",
	"40_diagnostics/ppc.png", "40_diagnostics/residuals_timeseries.png",
	"40_diagnostics/residuals_vs_fitted.png", "40_diagnostics/residuals_hist.png",
	"40_diagnostics/residuals_acf.png", "40_diagnostics/boundary_hits.png", "40_diagnostics/rhat_ess.png",
	"50_model_selection/pareto_k.png", "50_model_selection/loo_pit.png", "50_model_selection/elpd_influence.png",
	"60_optimisation/budget_response_curves.png", "60_optimisation/budget_roi_cpa.png",
	"60_optimisation/budget_impact.png", "60_optimisation/budget_efficient_frontier.png",
	"60_optimisation/budget_sensitivity.png",
}

// transformPlots are the plots of media transforms, which the fixtures (linear models)
// skip; transforms_test.go draws them.
var transformPlots = []string{"adstock_weights.png", "saturation_curves.png", "transform_prior_posterior.png"}

// fast draws small images, for tests that check what is drawn rather than how it looks
// (rasterising dominates Build's time, and -race multiplies it).
var fast = Options{DPI: 30}

func build(t *testing.T, dir string, opts Options) *Manifest {
	t.Helper()
	m, err := Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Build(%s): %v", dir, err)
	}
	return m
}

func plotOf(t *testing.T, m *Manifest, name string) Plot {
	t.Helper()
	i := slices.IndexFunc(m.Plots, func(p Plot) bool { return p.Name == name })
	if i < 0 {
		t.Fatalf("manifest has no plot %s", name)
	}
	return m.Plots[i]
}

// checkPNG fails unless path is a PNG that decodes, at least minWidth pixels wide.
func checkPNG(t *testing.T, path string, minWidth int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s does not decode as PNG: %v", path, err)
		return
	}
	if w := img.Bounds().Dx(); w < minWidth {
		t.Errorf("%s is %d pixels wide; want a readable size (≥ %d)", path, w, minWidth)
	}
}

func readIndex(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuildWritesEveryPlot(t *testing.T) {
	for _, fixture := range []string{"blm", "panel"} {
		t.Run(fixture, func(t *testing.T) {
			dir := copyFixture(t, fixture)
			m := build(t, dir, Options{})
			if m.Flat {
				t.Error("a staged run folder was taken for flat")
			}
			for _, p := range m.Plots {
				want := PlotWritten
				if p.Name == "residuals_latent_acf.png" || slices.Contains(transformPlots, p.Name) {
					want = PlotSkipped // the fixtures model kpi_value, not log(kpi_value), without transforms
				}
				if p.Status != want {
					t.Errorf("%s: %s (%s); want %s", p.Path, p.Status, p.Reason, want)
				}
			}
			for _, rel := range allPlots {
				checkPNG(t, filepath.Join(dir, filepath.FromSlash(rel)), 900)
				if html := readIndex(t, dir); !strings.Contains(html, `<img src="`+rel+`"`) {
					t.Errorf("index.html has no <img> for %s", rel)
				}
			}
			// Self-contained: nothing is fetched from a server.
			html := readIndex(t, dir)
			for _, remote := range []string{`src="http`, `href="http`, "url(", "@import", "<link", "<script"} {
				if strings.Contains(html, remote) {
					t.Errorf("index.html contains %q: the page must open offline", remote)
				}
			}
			if m.Status != "completed" {
				t.Errorf("Status = %q; want completed", m.Status)
			}
			if m.Err() != nil {
				t.Errorf("Err() = %v; want nil", m.Err())
			}
		})
	}
}

// TestVerdict checks the page's verdict against the first row of the fixture's report.
func TestVerdict(t *testing.T) {
	for fixture, want := range map[string]string{"blm": "pass", "panel": "pass"} {
		dir := copyFixture(t, fixture)
		rep, err := readTable(filepath.Join(dir, runfolder.StageDiagnostics, "diagnostics_report.csv"), "report")
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.rows[0][rep.index["status"]]; got != want {
			t.Fatalf("%s fixture: overall status %q; the test expects %q", fixture, got, want)
		}
		m := build(t, dir, fast)
		if m.Verdict != want {
			t.Errorf("%s: Verdict = %q; want %q", fixture, m.Verdict, want)
		}
		html := readIndex(t, dir)
		if !strings.Contains(html, `<span class="badge b-`+want+`">`+want+`</span>`) {
			t.Errorf("%s: index.html does not show the verdict %q", fixture, want)
		}
	}
}

// TestVerdictFail rewrites the report to a failing one: the page shows the verdict and the
// failing check's message first.
func TestVerdictFail(t *testing.T) {
	dir := copyFixture(t, "blm")
	p := filepath.Join(dir, runfolder.StageDiagnostics, "diagnostics_report.csv")
	rewrite(t, p, "overall,all,,pass,non_pass_checks,0,policy=publish,every check passed",
		"overall,all,,fail,non_pass_checks,1,policy=strict,1 failed (sampler_divergences): fix them first")
	rewrite(t, p, "sampler_divergences,P1,important,pass,", "sampler_divergences,P1,important,fail,")
	m := build(t, dir, fast)
	if m.Verdict != "fail" {
		t.Errorf("Verdict = %q; want fail", m.Verdict)
	}
	html := readIndex(t, dir)
	for _, want := range []string{`<span class="badge b-fail">fail</span>`, "1 failed (sampler_divergences): fix them first",
		"policy strict", "Checks to read first", "<code>sampler_divergences</code>"} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	// rhat_ess.png follows the report's policy: strict warns from Rhat 1.005.
	if p := plotOf(t, m, "rhat_ess.png"); p.Status != PlotWritten {
		t.Errorf("rhat_ess.png: %s", p.Status)
	}
}

// TestFlatLayout moves every file of the blm fixture to the top of the run folder, as
// outputs.layout: flat does, and expects the plots and links there.
func TestFlatLayout(t *testing.T) {
	staged := copyFixture(t, "blm")
	flat := filepath.Join(t.TempDir(), "flat")
	if err := os.MkdirAll(flat, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, st := range runfolder.Stages {
		names, _ := listDir(filepath.Join(staged, st))
		for _, n := range names {
			if err := os.Rename(filepath.Join(staged, st, n), filepath.Join(flat, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	data, _ := filepath.Abs(filepath.Join(staged, "..", "data.csv"))
	rewrite(t, filepath.Join(flat, "config.resolved.yaml"), "../../data.csv", data)

	m := build(t, flat, fast)
	if !m.Flat {
		t.Fatal("the flat folder was taken for staged")
	}
	html := readIndex(t, flat)
	for _, rel := range allPlots {
		name := filepath.Base(rel)
		checkPNG(t, filepath.Join(flat, name), 0)
		if !strings.Contains(html, `<img src="`+name+`"`) {
			t.Errorf("index.html has no <img> for %s", name)
		}
	}
	for _, st := range runfolder.Stages {
		if isDir(filepath.Join(flat, st)) {
			t.Errorf("Build created the stage folder %s in a flat run folder", st)
		}
	}
	if !strings.Contains(html, `href="posterior_summary.csv"`) {
		t.Error("index.html does not link posterior_summary.csv at the top of the flat folder")
	}
}

func rewrite(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMissingInputsSkip removes stages and the data file: the stages' plots are skipped,
// not failed, and the rest are drawn — the pre-run plots too, which read 10_pre_run/, never
// the data file.
func TestMissingInputsSkip(t *testing.T) {
	dir := copyFixture(t, "blm")
	for _, st := range []string{runfolder.StageDiagnostics, runfolder.StageModelSelection, runfolder.StageOptimisation} {
		if err := os.RemoveAll(filepath.Join(dir, st)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, "..", "data.csv")); err != nil {
		t.Fatal(err)
	}
	m := build(t, dir, fast)
	if f := m.Failed(); len(f) > 0 {
		t.Fatalf("plots failed: %v", f)
	}
	skipped := []string{"pareto_k.png", "loo_pit.png", "elpd_influence.png", "tscv_holdout_fit.png", "budget_response_curves.png", "budget_roi_cpa.png", "budget_impact.png",
		"budget_efficient_frontier.png", "budget_sensitivity.png"}
	for _, p := range m.Plots {
		want := PlotWritten
		if slices.Contains(skipped, p.Name) || p.Name == "residuals_latent_acf.png" || slices.Contains(transformPlots, p.Name) {
			want = PlotSkipped
		}
		if p.Status != want {
			t.Errorf("%s: %s (%s); want %s", p.Name, p.Status, p.Reason, want)
		}
		if p.Status == PlotSkipped && p.Reason == "" {
			t.Errorf("%s is skipped without a reason", p.Name)
		}
		_, err := os.Stat(filepath.Join(dir, p.Stage, p.Name))
		if exists := err == nil; exists != (want == PlotWritten) {
			t.Errorf("%s exists = %v; want %v", p.Path, exists, want == PlotWritten)
		}
	}
	// The diagnostics plots that need only 30_post_run and the config are still drawn.
	if p := plotOf(t, m, "rhat_ess.png"); p.Status != PlotWritten {
		t.Errorf("rhat_ess.png: %s", p.Status)
	}
	if m.Verdict != "" {
		t.Errorf("Verdict = %q without a diagnostics report; want empty", m.Verdict)
	}
	if html := readIndex(t, dir); !strings.Contains(html, "This run has no diagnostics report.") {
		t.Error("index.html does not say the run has no diagnostics report")
	}
}

// TestOldRunWithoutPreRunFiles builds the page of a run folder written before dsamstan
// wrote 10_pre_run/: the plots that need it are skipped with a reason, none fails, and the
// media terms still come from the config's allocation section.
func TestOldRunWithoutPreRunFiles(t *testing.T) {
	dir := copyFixture(t, "blm")
	if err := os.RemoveAll(filepath.Join(dir, runfolder.StagePreRun)); err != nil {
		t.Fatal(err)
	}
	m := build(t, dir, fast)
	if f := m.Failed(); len(f) > 0 {
		t.Fatalf("plots failed: %v", f)
	}
	for _, p := range m.Plots {
		want := PlotWritten
		switch p.Name {
		case "media_spend_timeseries.png", "vif_bar.png", "prior_posterior.png", "residuals_latent_acf.png":
			want = PlotSkipped
		}
		linear := slices.Contains(transformPlots, p.Name)
		if linear {
			want = PlotSkipped
		}
		if p.Status != want {
			t.Errorf("%s: %s (%s); want %s", p.Name, p.Status, p.Reason, want)
		}
		if p.Status == PlotSkipped && p.Name != "residuals_latent_acf.png" && !linear && !strings.Contains(p.Reason, "10_pre_run/") {
			t.Errorf("%s is skipped for %q; want the missing 10_pre_run file named", p.Name, p.Reason)
		}
	}
	// The channels come from the config, with the optimiser's defaults for what it omits.
	rewrite(t, filepath.Join(dir, runfolder.StageMetadata, "config.resolved.yaml"), "      spend_col: m_tv\n", "")
	in := newInputs(runfolder.Folder{Dir: dir})
	got := in.channels()
	if len(got) != 3 || got[0] != (runfolder.SpecChannel{Term: "m_tv", Name: "tv", SpendCol: "tv"}) {
		t.Errorf("channels without model_spec.json = %+v; want 3, the first {m_tv tv tv} (spend_col defaults to name)", got)
	}
}

// TestCorruptCSVFailsOnlyItsPlots breaks fitted_values.csv: the plots drawn from it fail,
// every other plot is drawn, and the page lists the failures.
func TestCorruptCSVFailsOnlyItsPlots(t *testing.T) {
	dir := copyFixture(t, "blm")
	p := filepath.Join(dir, runfolder.StagePostRun, "fitted_values.csv")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines[5] = "6,2022-02-07,not-a-row" // too few fields
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	m := build(t, dir, fast)
	fromFitted := []string{"fit_timeseries.png", "fit_scatter.png", "ppc.png", "residuals_timeseries.png",
		"residuals_vs_fitted.png", "residuals_hist.png", "residuals_acf.png"}
	for _, pl := range m.Plots {
		want := PlotWritten
		switch {
		case slices.Contains(fromFitted, pl.Name):
			want = PlotFailed
		case pl.Name == "residuals_latent_acf.png" || slices.Contains(transformPlots, pl.Name):
			want = PlotSkipped // the formula says kpi_value, not log(kpi_value), without transforms
		}
		if pl.Status != want {
			t.Errorf("%s: %s (%s); want %s", pl.Name, pl.Status, pl.Reason, want)
		}
		if want == PlotFailed && !strings.Contains(pl.Reason, "fitted_values.csv") {
			t.Errorf("%s: reason %q does not name the broken file", pl.Name, pl.Reason)
		}
	}
	if m.Err() == nil {
		t.Error("Err() = nil; want the failures")
	}
	html := readIndex(t, dir)
	if !strings.Contains(html, `id="plot-failures"`) || !strings.Contains(html, "7 plots could not be drawn") {
		t.Error("index.html does not list the failed plots at the top")
	}
	for _, name := range fromFitted {
		if !strings.Contains(html, "<h3>"+name+` <span class="meta">could not be drawn</span></h3>`) {
			t.Errorf("index.html has no failure card for %s", name)
		}
	}
	if !strings.Contains(html, "This table could not be read") {
		t.Error("index.html does not say fitted_values.csv could not be read")
	}
}

// TestHostileStringsAreEscaped puts markup into every kind of user string the page shows.
func TestHostileStringsAreEscaped(t *testing.T) {
	dir := copyFixture(t, "panel")
	const script = "<script>alert(1)</script>"
	runJSON := filepath.Join(dir, runfolder.StageMetadata, "run.json")
	b, _ := os.ReadFile(runJSON)
	var run map[string]any
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	run["model"] = script
	run["status"] = "failed"
	run["error"] = `pipeline: <img src=x onerror="alert(2)"> & more`
	run["warnings"] = []string{"<b>bold</b>"}
	b, _ = json.Marshal(run)
	if err := os.WriteFile(runJSON, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// A group label and a term name in the tables, a message in the diagnostics report.
	rewrite(t, filepath.Join(dir, runfolder.StagePostRun, "fit_metrics.csv"), "market=north", "market=<i>north</i>")
	rewrite(t, filepath.Join(dir, runfolder.StagePostRun, "fitted_values.csv"), ",north,", ",<i>north</i>,")
	rewrite(t, filepath.Join(dir, runfolder.StageDiagnostics, "diagnostics_report.csv"), "sampler_divergences,", "<svg onload=alert(3)>,")

	// A file name the runner never writes, with markup, '#' and a colon.
	odd := "notes <b>#1: todo.txt"
	if err := os.WriteFile(filepath.Join(dir, runfolder.StageDiagnostics, odd), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := build(t, dir, fast)
	if len(m.Failed()) > 0 {
		t.Fatalf("plots failed: %v", m.Failed())
	}
	html := readIndex(t, dir)
	if !strings.Contains(html, `href="40_diagnostics/notes%20%3Cb%3E%231:%20todo.txt"`) ||
		!strings.Contains(html, "notes &lt;b&gt;#1: todo.txt") {
		t.Error("index.html does not link the odd file name safely")
	}
	for _, raw := range []string{script, "<img src=x", "<b>bold</b>", "<i>north</i>", "<svg onload"} {
		if strings.Contains(html, raw) {
			t.Errorf("index.html contains %q unescaped", raw)
		}
	}
	for _, esc := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=&#34;alert(2)&#34;&gt; &amp; more",
		"&lt;b&gt;bold&lt;/b&gt;", "market=&lt;i&gt;north&lt;/i&gt;", "&lt;svg onload=alert(3)&gt;"} {
		if !strings.Contains(html, esc) {
			t.Errorf("index.html does not contain the escaped %q", esc)
		}
	}
	if strings.Count(html, "<script") != 0 {
		t.Error("index.html contains a <script> element")
	}
	if m.Status != "failed" || !strings.Contains(html, `<span class="badge b-failed">failed</span>`) {
		t.Errorf("Status = %q; the page should show the run failed", m.Status)
	}
}

// TestInterruptedRun builds the page of a run stopped during sampling: only metadata and
// the model exist.
func TestInterruptedRun(t *testing.T) {
	dir := copyFixture(t, "blm")
	for _, st := range []string{runfolder.StagePostRun, runfolder.StageDiagnostics, runfolder.StageModelSelection, runfolder.StageOptimisation} {
		os.RemoveAll(filepath.Join(dir, st))
	}
	rewrite(t, filepath.Join(dir, runfolder.StageMetadata, "run.json"), `"status": "completed"`,
		`"status": "interrupted", "error": "cmdstan: interrupted"`)
	m := build(t, dir, fast)
	if m.Status != "interrupted" {
		t.Errorf("Status = %q; want interrupted", m.Status)
	}
	if len(m.Failed()) > 0 {
		t.Errorf("plots failed: %v", m.Failed())
	}
	html := readIndex(t, dir)
	for _, want := range []string{`<span class="badge b-interrupted">interrupted</span>`, "cmdstan: interrupted",
		`href="20_model_fit/model.stan"`} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	// The pre-run plots need only 10_pre_run/.
	if p := plotOf(t, m, "vif_bar.png"); p.Status != PlotWritten {
		t.Errorf("vif_bar.png: %s (%s)", p.Status, p.Reason)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build(context.Background(), filepath.Join(t.TempDir(), "nope"), Options{}); err == nil {
		t.Error("Build on a missing folder: no error")
	}
	if _, err := Build(context.Background(), t.TempDir(), Options{Layout: "nested"}); err == nil ||
		!strings.Contains(err.Error(), `layout "nested"`) {
		t.Errorf("Build with layout nested: %v; want an error naming the layout", err)
	}
	// An empty folder gets a page that says there is no run.json, and no plots.
	dir := t.TempDir()
	m := build(t, dir, Options{})
	for _, p := range m.Plots {
		if p.Status != PlotSkipped {
			t.Errorf("%s: %s in an empty folder", p.Name, p.Status)
		}
	}
	if html := readIndex(t, dir); !strings.Contains(html, "No run.json was found") {
		t.Error("the page of an empty folder does not say run.json is missing")
	}
}

func TestBuildCancelled(t *testing.T) {
	dir := copyFixture(t, "blm")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := Build(ctx, dir, Options{})
	if err != context.Canceled {
		t.Errorf("err = %v; want context.Canceled", err)
	}
	for _, p := range m.Plots {
		if p.Status != PlotSkipped {
			t.Errorf("%s: %s after cancellation", p.Name, p.Status)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); err != nil {
		t.Errorf("no index.html after cancellation: %v", err)
	}
}

// TestConcurrentWorkers draws with several workers (run with -race).
func TestConcurrentWorkers(t *testing.T) {
	dir := copyFixture(t, "panel")
	m := build(t, dir, Options{Workers: 4, DPI: fast.DPI})
	if len(m.Failed()) > 0 {
		t.Fatalf("plots failed: %v", m.Failed())
	}
	for _, rel := range allPlots {
		checkPNG(t, filepath.Join(dir, filepath.FromSlash(rel)), 0)
	}
}

// BenchmarkBuild builds the panel fixture's report (22 plots and the page) at the default
// resolution.
func BenchmarkBuild(b *testing.B) {
	src := filepath.Join("testdata", "panel")
	tmp := b.TempDir()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		dst := filepath.Join(tmp, fmt.Sprint(i))
		copyTree(b, src, dst)
		b.StartTimer()
		if _, err := Build(context.Background(), filepath.Join(dst, "run"), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
}

// TestLogResponse turns the blm fixture into a log(kpi_value) run: fitted_values.csv gets
// log-scale columns plus kpi_* columns (the fixture's values), as the runner writes them
// for a log model. The latent-scale ACF is drawn, and the fit plots read the KPI scale.
func TestLogResponse(t *testing.T) {
	dir := copyFixture(t, "blm")
	rewrite(t, filepath.Join(dir, runfolder.StageMetadata, "run.json"), `"formula": "kpi_value ~`, `"formula": "log(kpi_value) ~`)
	p := filepath.Join(dir, runfolder.StagePostRun, "fitted_values.csv")
	tb, err := readTable(p, "fitted_values.csv")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	header := slices.Clone(tb.header)
	for _, h := range tb.header[2:] {
		header = append(header, "kpi_"+h)
	}
	b.WriteString(strings.Join(header, ",") + "\n")
	for _, r := range tb.rows {
		rec := slices.Clone(r[:2])
		for _, v := range r[2:] {
			x, _ := strconv.ParseFloat(v, 64)
			rec = append(rec, fmt.Sprint(math.Log(x)))
		}
		rec = append(rec, r[2:]...)
		b.WriteString(strings.Join(rec, ",") + "\n")
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	m := build(t, dir, fast)
	for _, name := range []string{"residuals_latent_acf.png", "fit_timeseries.png", "residuals_acf.png"} {
		if pl := plotOf(t, m, name); pl.Status != PlotWritten {
			t.Errorf("%s: %s (%s)", name, pl.Status, pl.Reason)
		}
	}
	in := newInputs(runfolder.Folder{Dir: dir})
	d, err := in.fitData()
	if err != nil {
		t.Fatal(err)
	}
	if d.latentObs == nil || d.observed[0] != tb.floatAt(t, 0, "observed") {
		t.Errorf("fitData read observed %v; want the kpi_observed column (%v) and log-scale columns", d.observed[0], tb.floatAt(t, 0, "observed"))
	}
}

// csvTable is a CSV file read whole, for tests that rewrite the fixtures.
type csvTable struct {
	header []string
	rows   [][]string
	index  map[string]int
}

func readTable(path, _ string) (*csvTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	t := &csvTable{header: recs[0], rows: recs[1:], index: map[string]int{}}
	for j, h := range t.header {
		t.index[h] = j
	}
	return t, nil
}

func (tb *csvTable) floatAt(t *testing.T, row int, col string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(tb.rows[row][tb.index[col]], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
