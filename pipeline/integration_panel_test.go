package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/dsamstan/dsamstan/simulate"
)

// fitPanel writes a panel example and fits one of its configs with the real CmdStan.
func fitPanel(t *testing.T, opts simulate.PanelOptions, config string) (*Result, simulate.Truth) {
	t.Helper()
	ex, err := simulate.Hierarchical(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ex.Write(dir); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{ConfigPath: filepath.Join(dir, config), RunDir: filepath.Join(dir, "run"), Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	return res, ex.Truth
}

// TestIntegrationPanelRunFolder fits the 8-market example end to end and checks what the
// run folder says about the panel: per-group rows, group scales, the group averages, the
// parameterisation recorded in run.json, and the derived tables per group.
func TestIntegrationPanelRunFolder(t *testing.T) {
	needCmdStan(t)
	res, truth := fitPanel(t, simulate.PanelOptions{}, "config.yaml")
	rows := rowsByName(res.Summary)
	for _, name := range []string{"m_tv", "sd_1[m_tv]", "sd_1[(Intercept)]", "m_tv[market=north]", "(Intercept)[market=valley]", "m_tv[average over market]", "noise_sd"} {
		if _, ok := rows[name]; !ok {
			t.Errorf("posterior_summary.csv has no row %s", name)
		}
	}
	for name, v := range truth.GroupCoefficients {
		r := rows[name]
		if z := math.Abs(r.Mean-v) / r.SD; z > 4 {
			t.Errorf("%s: posterior mean %.4g (sd %.3g) is %.1f sd from the truth %.4g", name, r.Mean, r.SD, z, v)
		}
	}
	if len(res.Info.RandomEffects) != 4 {
		t.Errorf("run.json records %d parameterisation choices; want 4 (intercept and three media slopes)", len(res.Info.RandomEffects))
	}
	if res.Report.Status() == "fail" {
		t.Errorf("diagnostics failed on the example panel: %+v", res.Report.Checks)
	}
	// Every file of the run folder that applies to the panel example (what `make demo`
	// produces): the tables, the plots and the page.
	for _, f := range []string{
		"index.html",
		"00_run_metadata/config.original.yaml", "00_run_metadata/config.resolved.yaml", "00_run_metadata/run.json",
		"00_run_metadata/session_info.txt", "00_run_metadata/run.log",
		"10_pre_run/media_spend_timeseries.png", "10_pre_run/vif_bar.png",
		"20_model_fit/model.stan", "20_model_fit/data.json", "20_model_fit/chain_1.csv", "20_model_fit/chain_4.csv",
		"20_model_fit/fit_timeseries.png", "20_model_fit/fit_scatter.png", "20_model_fit/posterior_forest.png", "20_model_fit/prior_posterior.png",
		"30_post_run/posterior_summary.csv", "30_post_run/posterior_draws.csv", "30_post_run/fitted_values.csv",
		"30_post_run/fit_metrics.csv", "30_post_run/decomposition.csv", "30_post_run/decomposition_totals.csv",
		"30_post_run/decomp_predictor_impact.png", "30_post_run/decomp_timeseries.png",
		"40_diagnostics/diagnostics_report.csv", "40_diagnostics/ppc.png", "40_diagnostics/residuals_timeseries.png",
		"40_diagnostics/residuals_vs_fitted.png", "40_diagnostics/residuals_hist.png", "40_diagnostics/residuals_acf.png",
		"40_diagnostics/boundary_hits.png", "40_diagnostics/rhat_ess.png",
		"50_model_selection/loo_summary.csv", "50_model_selection/loo_pointwise.csv", "50_model_selection/pareto_k.png",
		"50_model_selection/loo_pit.csv", "50_model_selection/loo_pit.png", "50_model_selection/elpd_influence.png",
		"60_optimisation/allocation.csv", "60_optimisation/response_curves.csv", "60_optimisation/frontier.csv",
		"60_optimisation/sensitivity.csv", "60_optimisation/summary.json",
		"60_optimisation/budget_response_curves.png", "60_optimisation/budget_roi_cpa.png", "60_optimisation/budget_impact.png",
		"60_optimisation/budget_efficient_frontier.png", "60_optimisation/budget_sensitivity.png",
	} {
		if st, err := os.Stat(filepath.Join(res.RunDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("missing or empty: %s", f)
		}
	}
	b, _ := os.ReadFile(filepath.Join(res.RunDir, "00_run_metadata", "run.json"))
	var info map[string]any
	json.Unmarshal(b, &info)
	if _, ok := info["random_effects"]; !ok {
		t.Error("run.json has no random_effects record")
	}
}

// TestIntegrationCREFindsTheWithinEffect fits the --cre example twice: with CRE, the 90%
// interval of m_tv covers the true within-market TV effect; without, the random-effects
// model mistakes the baselines' dependence on TV levels for a TV effect and its estimate
// is far from the truth.
func TestIntegrationCREFindsTheWithinEffect(t *testing.T) {
	needCmdStan(t)
	cre, truth := fitPanel(t, simulate.PanelOptions{CRE: true}, "config.yaml")
	re, _ := fitPanel(t, simulate.PanelOptions{CRE: true}, "config_re.yaml")
	want := truth.Coefficients["m_tv"]
	c, r := rowsByName(cre.Summary)["m_tv"], rowsByName(re.Summary)["m_tv"]
	t.Logf("true m_tv %g; CRE %.2f [%.2f, %.2f]; RE %.2f [%.2f, %.2f]", want, c.Mean, c.Q5, c.Q95, r.Mean, r.Q5, r.Q95)
	if !(c.Q5 <= want && want <= c.Q95) {
		t.Errorf("CRE: m_tv 90%% interval [%.2f, %.2f] misses the true within effect %g", c.Q5, c.Q95, want)
	}
	if z := (r.Mean - want) / r.SD; z < 3 {
		t.Errorf("RE without CRE: m_tv %.2f (sd %.2f) is only %.1f sd from the truth %g; the example should show its bias", r.Mean, r.SD, z, want)
	}
	if cm := rowsByName(cre.Summary)["cre_mean_m_tv"]; !(cm.Q5 <= truth.Coefficients["cre_mean_m_tv"] && truth.Coefficients["cre_mean_m_tv"] <= cm.Q95) {
		t.Errorf("cre_mean_m_tv [%.2f, %.2f] misses the true %g", cm.Q5, cm.Q95, truth.Coefficients["cre_mean_m_tv"])
	}
}
