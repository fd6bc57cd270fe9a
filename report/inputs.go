package report

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/dsamstan/dsamstan/ingest"
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

// runInfo is the part of 00_run_metadata/run.json the page shows.
type runInfo struct {
	Status          string             `json:"status"`
	Error           string             `json:"error"`
	Model           string             `json:"model"`
	Formula         string             `json:"formula"`
	Config          string             `json:"config"`
	Started         time.Time          `json:"started"`
	Finished        *time.Time         `json:"finished"`
	Timings         map[string]float64 `json:"timings_seconds"`
	DsamstanVersion string             `json:"dsamstan_version"`
	CmdStanVersion  string             `json:"cmdstan_version"`
	Template        string             `json:"template"`
	Method          string             `json:"fit_method"`
	Warnings        []string           `json:"warnings"`
}

// inputs loads a run's files on first use and keeps them, for plots drawn concurrently.
type inputs struct {
	f folder

	mu     sync.Mutex
	tables map[string]*once[*table]
	meta   once[*runConfig]
	cfg    once[*ingest.Config]
	spec   once[*ingest.Spec]
	data   once[*ingest.Table]
	run    once[*runInfo]
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

func newInputs(f folder) *inputs {
	return &inputs{f: f, tables: map[string]*once[*table]{}}
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
		p, ok := in.f.find(stage, name)
		if !ok {
			return nil, skipf("no %s", in.f.rel(stage, name))
		}
		return readTable(p, in.f.rel(stage, name))
	})
}

// runInfo returns run.json, or a skipError when the run has none.
func (in *inputs) runInfo() (*runInfo, error) {
	return in.run.get(func() (*runInfo, error) {
		p, ok := in.f.find(StageMetadata, "run.json")
		if !ok {
			return nil, skipf("no %s", in.f.rel(StageMetadata, "run.json"))
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		var r runInfo
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("report: %s: %w", in.f.rel(StageMetadata, "run.json"), err)
		}
		return &r, nil
	})
}

// runConfig is the part of config.resolved.yaml the plots need without the data: read
// leniently, so a run whose data file has moved still gets the plots that need no data.
type runConfig struct {
	Data struct {
		Path    string `yaml:"path"`
		DateVar string `yaml:"date_var"`
	} `yaml:"data"`
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

	path string // the config file
}

// runConfig returns config.resolved.yaml, or a skipError when the run has none.
func (in *inputs) runConfig() (*runConfig, error) {
	return in.meta.get(func() (*runConfig, error) {
		p, ok := in.f.find(StageMetadata, "config.resolved.yaml")
		if !ok {
			return nil, skipf("no %s", in.f.rel(StageMetadata, "config.resolved.yaml"))
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		c := &runConfig{path: p}
		if err := yaml.Unmarshal(b, c); err != nil {
			return nil, fmt.Errorf("report: %s: %w", in.f.rel(StageMetadata, "config.resolved.yaml"), err)
		}
		if c.Data.Path != "" && !filepath.IsAbs(c.Data.Path) {
			c.Data.Path = filepath.Join(filepath.Dir(p), c.Data.Path)
		}
		return c, nil
	})
}

// dataTable returns the run's data file as the config names it, or a skipError when the
// config or the file is gone.
func (in *inputs) dataTable() (*ingest.Table, error) {
	return in.data.get(func() (*ingest.Table, error) {
		c, err := in.runConfig()
		if err != nil {
			return nil, err
		}
		if c.Data.Path == "" {
			return nil, skipf("the config names no data file")
		}
		if !isFile(c.Data.Path) {
			return nil, skipf("the data file %s is not there any more", c.Data.Path)
		}
		return ingest.LoadCSV(c.Data.Path)
	})
}

// spec returns the model spec rebuilt from the config and the data: the design, priors and
// bounds the run used.
func (in *inputs) modelSpec() (*ingest.Spec, error) {
	return in.spec.get(func() (*ingest.Spec, error) {
		t, err := in.dataTable()
		if err != nil {
			return nil, err
		}
		rc, _ := in.runConfig() // dataTable found it
		cfg, err := in.cfg.get(func() (*ingest.Config, error) { return ingest.LoadConfig(rc.path) })
		if err != nil {
			return nil, err
		}
		return ingest.BuildSpec(cfg, t)
	})
}
