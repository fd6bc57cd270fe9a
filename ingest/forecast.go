package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ForecastConfig is the forecast section: with Enabled, a run forecasts the media plan at
// PlanPath after its fit (package pipeline's ForecastRun, into 70_forecast/). PlanPath is
// resolved against the config's folder; both are off by default.
type ForecastConfig struct {
	Enabled  bool   `yaml:"enabled"`
	PlanPath string `yaml:"plan_path,omitempty"`

	planWritten string // plan_path as written, for messages
}

// forecastDefaults resolves forecast.plan_path against the config's folder.
func (c *Config) forecastDefaults() {
	f := c.Forecast
	if f == nil || f.PlanPath == "" {
		return
	}
	f.planWritten = f.PlanPath
	if !filepath.IsAbs(f.PlanPath) {
		f.PlanPath = filepath.Join(c.Dir, f.PlanPath)
	}
}

// validateForecast checks what a forecast after the fit needs: a plan file, dates to
// continue and draws to forecast from.
func (c *Config) validateForecast(v *validator) {
	f := c.Forecast
	if f == nil || !f.Enabled {
		return
	}
	if f.PlanPath == "" {
		v.add("forecast.enabled", "`forecast.enabled` is true but `forecast.plan_path` is not set; name the media plan CSV (relative to the config's folder)")
	} else if st, err := os.Stat(f.PlanPath); err != nil || st.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			v.add("forecast.plan_path", "media plan %q not found (`forecast.plan_path` is resolved against the config's folder %s)", f.planWritten, c.Dir)
		} else {
			v.add("forecast.plan_path", "media plan %q: %v", f.planWritten, err)
		}
	}
	if c.Data.DateVar == "" {
		v.add("forecast.enabled", "`forecast.enabled` is true but `data.date_var` is not set; a plan's weeks continue the data's dates, so name the date column")
	}
	if c.Fit.MAP() {
		v.add("forecast.enabled", "`forecast.enabled` is true but `fit.method` is optimise; a forecast needs posterior draws: use fit.method: mcmc (or laplace or pathfinder for approximate draws)")
	}
}

// PlanDates parses a media plan's date_var cells (rows at lines of the plan file, named
// file in messages) in the layout of the run's dates s.Dates: data.date_format when set,
// else the recognised format every run date follows. Each cell that does not parse is
// reported with its file:line.
func (c *Config) PlanDates(s *Spec, file string, cells []string, lines []int) ([]time.Time, error) {
	dv := c.Data.DateVar
	layout, format := "", ""
	if f := c.Data.DateFormat; f != "" {
		l, err := DateLayout(f)
		if err != nil {
			return nil, err
		}
		layout, format = l, fmt.Sprintf("data.date_format %q", f)
	} else if l, ok := dateLayout(s.Dates); ok {
		layout = l
		for _, d := range dateLayouts {
			if d.layout == l {
				format = "the run's date format (" + d.name + ")"
			}
		}
	} else {
		return nil, fmt.Errorf("ingest: the run's `data.date_var` (%q) does not hold dates in a recognised format (%s), so a plan cannot continue them", dv, layoutNames())
	}
	out := make([]time.Time, len(cells))
	var errs []error
	for i, cell := range cells {
		t, err := time.Parse(layout, strings.TrimSpace(cell))
		if err != nil {
			if len(errs) < maxReported {
				errs = append(errs, fmt.Errorf("ingest: %s:%d: column %q (data.date_var): %q is not a date in %s", file, lines[i], dv, cell, format))
			}
			continue
		}
		out[i] = t
	}
	return out, errors.Join(errs...)
}

// PlanTable returns a media plan's table with the config's managed holiday columns added
// from the calendar, as LoadData adds them to the data (t itself when holidays are off). A
// holiday with no event day in the plan's weeks gets no column: it is 0 there.
func (c *Config) PlanTable(t *Table) (*Table, error) {
	if !c.holidaysOn() {
		return t, nil
	}
	out := *t
	out.prepared = true
	if err := c.addHolidays(&out); err != nil {
		return nil, err
	}
	return &out, nil
}

// HolidayColumn reports whether name is a column the config's managed holidays generate
// (time_components.holidays on, name starting with its prefix).
func (c *Config) HolidayColumn(name string) bool {
	return c.holidaysOn() && strings.HasPrefix(name, c.TimeComponents.Holidays.Prefix)
}

// DisplayName is how messages name the table's file: relative to the working folder when
// it lies below it.
func (t *Table) DisplayName() string { return t.name() }
