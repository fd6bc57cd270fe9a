package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/goccy/go-yaml"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/loo"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/summarise"
)

// skipError marks a plot whose inputs are absent: it is skipped, not failed.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

func skipf(format string, a ...any) error { return &skipError{fmt.Sprintf(format, a...)} }

// inputs loads a run's files on first use and keeps them, for plots drawn concurrently.
type inputs struct {
	f runfolder.Folder

	mu    sync.Mutex
	typed map[string]any // *once[T] of the typed reads, by stage/name
	meta  once[*runConfig]
	run   once[*runfolder.RunInfo]
	spec  once[*runfolder.ModelSpec]
}

// once memoises one load.
type once[T any] struct {
	sync.Once
	v   T
	err error
}

func (o *once[T]) get(load func() (T, error)) (T, error) {
	o.Do(func() { o.v, o.err = load() })
	return o.v, o.err
}

func newInputs(f runfolder.Folder) *inputs {
	return &inputs{f: f, typed: map[string]any{}}
}

// load reads a stage's file once with the typed reader of the package that writes it, or
// returns a skipError when the run has none. why, when set, says why a run may lack the
// file (an older dsamstan did not write it).
func load[T any](in *inputs, stage, name, why string, read func(io.Reader) (T, error)) (T, error) {
	key := stage + "/" + name
	in.mu.Lock()
	o, ok := in.typed[key].(*once[T])
	if !ok {
		o = &once[T]{}
		in.typed[key] = o
	}
	in.mu.Unlock()
	return o.get(func() (T, error) {
		var zero T
		p, ok := in.f.Find(stage, name)
		if !ok {
			return zero, skipf("no %s%s", in.f.Rel(stage, name), why)
		}
		f, err := os.Open(p)
		if err != nil {
			return zero, fmt.Errorf("report: %w", err)
		}
		defer f.Close()
		v, err := read(f)
		if err != nil {
			return zero, fmt.Errorf("report: %s: %w", in.f.Rel(stage, name), err)
		}
		return v, nil
	})
}

// olderRun explains a missing 10_pre_run file.
const olderRun = " (runs written before dsamstan wrote the pre-run files have none)"

// summary returns posterior_summary.csv.
func (in *inputs) summary() ([]summarise.Row, error) {
	return load(in, runfolder.StagePostRun, runfolder.PosteriorSummary, "", summarise.ReadCSV)
}

// draws returns posterior_draws.csv.
func (in *inputs) draws() (*posterior.DrawsTable, error) {
	return load(in, runfolder.StagePostRun, runfolder.PosteriorDraws, "", posterior.ReadDraws)
}

// fitted returns fitted_values.csv.
func (in *inputs) fitted() (*posterior.FittedTable, error) {
	return load(in, runfolder.StagePostRun, runfolder.FittedValues, "", posterior.ReadFitted)
}

// fitMetrics returns fit_metrics.csv.
func (in *inputs) fitMetrics() ([]posterior.FitMetrics, error) {
	return load(in, runfolder.StagePostRun, runfolder.FitMetrics, "", posterior.ReadMetrics)
}

// decomposition returns decomposition.csv.
func (in *inputs) decomposition() (*posterior.DecompositionTable, error) {
	return load(in, runfolder.StagePostRun, runfolder.Decomposition, "", posterior.ReadDecomposition)
}

// totals returns decomposition_totals.csv.
func (in *inputs) totals() ([]posterior.TotalRow, error) {
	return load(in, runfolder.StagePostRun, runfolder.DecompositionTotals, "", posterior.ReadTotals)
}

// looPointwise is loo_pointwise.csv: the pointwise values and the rows' labels.
type looPointwise struct {
	res    *loo.Result
	labels []string
}

// looPoints returns loo_pointwise.csv.
func (in *inputs) looPoints() (looPointwise, error) {
	return load(in, runfolder.StageModelSelection, runfolder.LOOPointwise, "", func(r io.Reader) (looPointwise, error) {
		res, labels, err := loo.ReadPointwiseCSV(r, runfolder.LOOPointwise)
		return looPointwise{res, labels}, err
	})
}

// looSummary returns loo_summary.csv.
func (in *inputs) looSummary() (*loo.Result, error) {
	return load(in, runfolder.StageModelSelection, runfolder.LOOSummary, "", loo.ReadSummaryCSV)
}

// diagnosticsReport returns diagnostics_report.csv.
func (in *inputs) diagnosticsReport() (*diagnostics.Report, error) {
	return load(in, runfolder.StageDiagnostics, runfolder.DiagnosticsReport, "", diagnostics.ReadCSV)
}

// dictionary returns 00_run_metadata/data_dictionary.csv (runs whose config has no data
// dictionary have none).
func (in *inputs) dictionary() ([]runfolder.DictionaryRow, error) {
	return load(in, runfolder.StageMetadata, runfolder.DictionaryFile, " (the config has no data dictionary)", runfolder.ReadDictionary)
}

// vifTable returns 10_pre_run/vif.csv.
func (in *inputs) vifTable() ([]diagnostics.VIFRow, error) {
	return load(in, runfolder.StagePreRun, runfolder.VIFFile, olderRun, diagnostics.ReadVIF)
}

// mediaSpend returns 10_pre_run/media_spend.csv.
func (in *inputs) mediaSpend() (*runfolder.MediaSpend, error) {
	return load(in, runfolder.StagePreRun, runfolder.MediaSpendFile, olderRun, runfolder.ReadMediaSpend)
}

// needDraws returns a skipError when the run is a MAP fit (fit.method optimise): one
// point, with no spread for a plot of draws or intervals to show.
func (in *inputs) needDraws() error {
	if r, err := in.runInfo(); err == nil && r.Method == "optimise" {
		return skipf("a MAP fit (fit.method optimise) has one point and no posterior draws: nothing to show a spread of")
	}
	return nil
}

// runInfo returns run.json, or a skipError when the run has none.
func (in *inputs) runInfo() (*runfolder.RunInfo, error) {
	return in.run.get(func() (*runfolder.RunInfo, error) {
		r, err := runfolder.ReadRunInfo(in.f)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, skipf("no %s", in.f.Rel(runfolder.StageMetadata, runfolder.RunJSON))
		}
		return r, err
	})
}

// modelSpec returns 10_pre_run/model_spec.json, or a skipError when the run has none.
func (in *inputs) modelSpec() (*runfolder.ModelSpec, error) {
	return in.spec.get(func() (*runfolder.ModelSpec, error) {
		s, err := runfolder.ReadModelSpec(in.f)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, skipf("no %s%s", in.f.Rel(runfolder.StagePreRun, runfolder.ModelSpecFile), olderRun)
		}
		return s, err
	})
}

// runConfig is the part of config.resolved.yaml the plots need, read leniently.
type runConfig struct {
	Model struct {
		Name    string `yaml:"name"`
		Formula string `yaml:"formula"`
	} `yaml:"model"`
	Boundaries struct {
		Overrides []struct {
			Parameter string   `yaml:"parameter"`
			Lower     *float64 `yaml:"lower"`
			Upper     *float64 `yaml:"upper"`
		} `yaml:"overrides"`
	} `yaml:"boundaries"`
	Diagnostics struct {
		PolicyMode string `yaml:"policy_mode"`
	} `yaml:"diagnostics"`
	Allocation struct {
		Channels []struct {
			Term     string `yaml:"term"`
			Name     string `yaml:"name"`
			SpendCol string `yaml:"spend_col"`
		} `yaml:"channels"`
	} `yaml:"allocation"`
}

// runConfig returns config.resolved.yaml, or a skipError when the run has none.
func (in *inputs) runConfig() (*runConfig, error) {
	return in.meta.get(func() (*runConfig, error) {
		p, ok := in.f.Find(runfolder.StageMetadata, runfolder.ConfigResolved)
		if !ok {
			return nil, skipf("no %s", in.f.Rel(runfolder.StageMetadata, runfolder.ConfigResolved))
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		c := &runConfig{}
		if err := yaml.Unmarshal(b, c); err != nil {
			return nil, fmt.Errorf("report: %s: %w", in.f.Rel(runfolder.StageMetadata, runfolder.ConfigResolved), err)
		}
		return c, nil
	})
}

// channels returns the run's allocation channels: from model_spec.json, else (a run
// written before it) from the config's allocation section with the optimiser's defaults.
// Entries without a term are left out.
func (in *inputs) channels() []runfolder.SpecChannel {
	if s, err := in.modelSpec(); err == nil {
		return s.Channels
	}
	cfg, err := in.runConfig()
	if err != nil {
		return nil
	}
	var out []runfolder.SpecChannel
	for _, c := range cfg.Allocation.Channels {
		if c.Term == "" {
			continue
		}
		ch := optimise.Channel{Term: c.Term, Name: c.Name, SpendCol: c.SpendCol}.WithDefaults()
		out = append(out, runfolder.SpecChannel{Term: ch.Term, Name: ch.Name, SpendCol: ch.SpendCol})
	}
	return out
}
