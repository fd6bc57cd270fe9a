package ingest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestForecastSection(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"plan.csv", "data.csv"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("date,kpi,m_tv\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const head = "data: {path: data.csv, date_var: date}\nmodel:\n  formula: kpi ~ m_tv\n"
	path := filepath.Join(dir, "run.yaml")
	cfg, err := ParseConfig([]byte(head+"forecast:\n  enabled: true\n  plan_path: plan.csv\n"), path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "plan.csv"); cfg.Forecast.PlanPath != want || !cfg.Forecast.Enabled {
		t.Errorf("forecast = %+v; want enabled, plan_path %s", cfg.Forecast, want)
	}
	// The resolved config keeps the section, with the path made absolute.
	out, err := cfg.ResolvedYAML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseConfig(out, filepath.Join(t.TempDir(), "config.resolved.yaml"))
	if err != nil {
		t.Fatalf("the resolved config does not parse: %v\n%s", err, out)
	}
	if again.Forecast == nil || again.Forecast.PlanPath != cfg.Forecast.PlanPath {
		t.Errorf("resolved forecast = %+v; want %+v", again.Forecast, cfg.Forecast)
	}

	bad := []struct{ name, yaml, want string }{
		{"no plan", "forecast:\n  enabled: true\n",
			"ingest: " + path + ":5:3: `forecast.enabled` is true but `forecast.plan_path` is not set; name the media plan CSV (relative to the config's folder)"},
		{"plan not found", "forecast:\n  enabled: true\n  plan_path: nope.csv\n",
			"ingest: " + path + ":6:3: media plan \"nope.csv\" not found (`forecast.plan_path` is resolved against the config's folder " + dir + ")"},
		{"MAP fit", "forecast: {enabled: true, plan_path: plan.csv}\nfit: {method: optimise}\n",
			"ingest: " + path + ":4:12: `forecast.enabled` is true but `fit.method` is optimise; a forecast needs posterior draws: use fit.method: mcmc (or laplace or pathfinder for approximate draws)"},
		{"typo", "forecast:\n  enabled: true\n  plan_pth: plan.csv\n",
			"ingest: " + path + ":5:3: `forecast.enabled` is true but `forecast.plan_path` is not set; name the media plan CSV (relative to the config's folder)\n" +
				"ingest: " + path + ":6:3: unknown key `forecast.plan_pth`; did you mean `plan_path`? (allowed under `forecast`: enabled, plan_path)"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(head+c.yaml), path)
			if err == nil {
				t.Fatal("ParseConfig succeeded; want an error")
			}
			if got := err.Error(); got != c.want {
				t.Errorf("ParseConfig error =\n%s\nwant\n%s", got, c.want)
			}
		})
	}
	// Switched off, the section is accepted with or without a plan.
	if _, err := ParseConfig([]byte(head+"forecast: {enabled: false, plan_path: nope.csv}\n"), path); err != nil {
		t.Errorf("forecast switched off: %v", err)
	}
}
