package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/posterior"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/summarise"
)

// skipError marks a plot whose inputs are absent: it is skipped, not failed.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

func skipf(format string, a ...any) error { return &skipError{fmt.Sprintf(format, a...)} }

// table is a CSV file read whole: a header and rows of text.
type table struct {
	name   string // path relative to the run folder, for messages
	header []string
	rows   [][]string
	index  map[string]int
}

// readTable reads a CSV file with a header line; every row must have the header's width.
func readTable(path, name string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	return parseTable(f, name)
}

func parseTable(r io.Reader, name string) (*table, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("report: %s is empty; want a header line", name)
	}
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", name, err)
	}
	t := &table{name: name, header: header, index: make(map[string]int, len(header))}
	for j, h := range header {
		if _, dup := t.index[h]; !dup {
			t.index[h] = j
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", name, err)
		}
		t.rows = append(t.rows, rec)
	}
	return t, nil
}

func (t *table) has(col string) bool { _, ok := t.index[col]; return ok }

// need returns an error naming the first of cols the table lacks.
func (t *table) need(cols ...string) error {
	for _, c := range cols {
		if !t.has(c) {
			return fmt.Errorf("report: %s has no column %q", t.name, c)
		}
	}
	return nil
}

// strs returns a column as text.
func (t *table) strs(col string) ([]string, error) {
	j, ok := t.index[col]
	if !ok {
		return nil, fmt.Errorf("report: %s has no column %q", t.name, col)
	}
	out := make([]string, len(t.rows))
	for i, r := range t.rows {
		out[i] = r[j]
	}
	return out, nil
}

// floats returns a column as numbers: NA and empty cells are NaN, Inf and -Inf infinities;
// anything else that is not a number is an error naming the line and column.
func (t *table) floats(col string) ([]float64, error) {
	j, ok := t.index[col]
	if !ok {
		return nil, fmt.Errorf("report: %s has no column %q", t.name, col)
	}
	out := make([]float64, len(t.rows))
	for i, r := range t.rows {
		v, err := parseNum(r[j])
		if err != nil {
			return nil, fmt.Errorf("report: %s:%d: column %q: %q is not a number", t.name, i+2, col, r[j])
		}
		out[i] = v
	}
	return out, nil
}

// floatCols returns several columns as numbers (see floats), failing on the first that is
// missing or not numeric: the shape every plot's input reading takes.
func (t *table) floatCols(cols ...string) ([][]float64, error) {
	out := make([][]float64, len(cols))
	for k, c := range cols {
		v, err := t.floats(c)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// parseNum reads the numbers the runner writes (NA for undefined, Inf and -Inf).
func parseNum(s string) (float64, error) {
	switch strings.TrimSpace(s) {
	case "", "NA", "NaN", "nan":
		return math.NaN(), nil
	case "Inf", "+Inf", "inf":
		return math.Inf(1), nil
	case "-Inf", "-inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

// inputs loads a run's files on first use and keeps them, for plots drawn concurrently.
type inputs struct {
	f runfolder.Folder

	mu     sync.Mutex
	tables map[string]*once[*table]
	typed  map[string]any // *once[T] of the typed reads, by stage/name
	meta   once[*runConfig]
	run    once[*runfolder.RunInfo]
	spec   once[*runfolder.ModelSpec]
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
	return &inputs{f: f, tables: map[string]*once[*table]{}, typed: map[string]any{}}
}

// table returns a stage's CSV file, or a skipError when the run has none.
func (in *inputs) table(stage, name string) (*table, error) {
	key := stage + "/" + name
	in.mu.Lock()
	o, ok := in.tables[key]
	if !ok {
		o = &once[*table]{}
		in.tables[key] = o
	}
	in.mu.Unlock()
	return o.get(func() (*table, error) {
		p, ok := in.f.Find(stage, name)
		if !ok {
			return nil, skipf("no %s", in.f.Rel(stage, name))
		}
		return readTable(p, in.f.Rel(stage, name))
	})
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

// diagnosticsReport returns diagnostics_report.csv.
func (in *inputs) diagnosticsReport() (*diagnostics.Report, error) {
	return load(in, runfolder.StageDiagnostics, runfolder.DiagnosticsReport, "", diagnostics.ReadCSV)
}

// vifTable returns 10_pre_run/vif.csv.
func (in *inputs) vifTable() ([]diagnostics.VIFRow, error) {
	return load(in, runfolder.StagePreRun, runfolder.VIFFile, olderRun, diagnostics.ReadVIF)
}

// mediaSpend returns 10_pre_run/media_spend.csv.
func (in *inputs) mediaSpend() (*runfolder.MediaSpend, error) {
	return load(in, runfolder.StagePreRun, runfolder.MediaSpendFile, olderRun, runfolder.ReadMediaSpend)
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
