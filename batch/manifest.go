package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/runfolder"
)

// Executors.
const (
	Local = "local"
	Slurm = "slurm"
)

// Manifest is the content of a batch folder's manifest.json.
type Manifest struct {
	// Dir is the batch folder (absolute); not stored, set by Load.
	Dir      string    `json:"-"`
	Created  time.Time `json:"created"`
	Executor string    `json:"executor"`
	// Binary is the dsamstan executable every Slurm task runs.
	Binary string `json:"binary,omitempty"`
	// CmdStan is the --cmdstan folder passed on to every run ("" lets each find its own).
	CmdStan string        `json:"cmdstan,omitempty"`
	Slurm   *SlurmOptions `json:"slurm,omitempty"`
	Runs    []*Entry      `json:"runs"`
	// Submissions lists the Slurm job arrays submitted for the batch, oldest first.
	Submissions []Submission `json:"submissions,omitempty"`
}

// SlurmOptions are the sbatch settings of a batch; --resume reuses them unless told
// otherwise.
type SlurmOptions struct {
	Partition string `json:"partition,omitempty"`
	// Time is the time limit per task ("" : the partition's default).
	Time string `json:"time,omitempty"`
	// Mem is the memory per task, as sbatch --mem takes it (4G).
	Mem string `json:"mem,omitempty"`
	// CPUs is sbatch --cpus-per-task (0: Slurm's default, one).
	CPUs int `json:"cpus_per_task,omitempty"`
	// Jobs is how many tasks of an array run at once (the %N of --array).
	Jobs int `json:"jobs"`
}

// Merge returns so with the settings given in o (non-empty, positive) in place of its own,
// and jobs in place of Jobs when positive: a resubmission keeps what the first submission
// asked for unless told otherwise.
func (so SlurmOptions) Merge(o SlurmOptions, jobs int) SlurmOptions {
	if o.Partition != "" {
		so.Partition = o.Partition
	}
	if o.Time != "" {
		so.Time = o.Time
	}
	if o.Mem != "" {
		so.Mem = o.Mem
	}
	if o.CPUs > 0 {
		so.CPUs = o.CPUs
	}
	if jobs > 0 {
		so.Jobs = jobs
	}
	return so
}

// WriteHeader writes a job script's first lines: the shell, a comment, and the #SBATCH
// directives for the job name, each task's log (output, with sbatch's %a and %A) and so's
// settings.
func (so SlurmOptions) WriteHeader(b *strings.Builder, comment, jobName, output string) {
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(b, "# %s\n", comment)
	fmt.Fprintf(b, "#SBATCH --job-name=%s\n", jobName)
	fmt.Fprintf(b, "#SBATCH --output=%s\n", output)
	if so.Partition != "" {
		fmt.Fprintf(b, "#SBATCH --partition=%s\n", so.Partition)
	}
	if so.Time != "" {
		fmt.Fprintf(b, "#SBATCH --time=%s\n", so.Time)
	}
	if so.Mem != "" {
		fmt.Fprintf(b, "#SBATCH --mem=%s\n", so.Mem)
	}
	if so.CPUs > 0 {
		fmt.Fprintf(b, "#SBATCH --cpus-per-task=%d\n", so.CPUs)
	}
}

// Submission is one sbatch of a job array.
type Submission struct {
	JobID     string    `json:"job_id"`
	Array     string    `json:"array"`
	Submitted time.Time `json:"submitted"`
}

// Entry is one run of a batch: a config and where its run goes.
type Entry struct {
	// Index is the run's place in the batch and its Slurm array index.
	Index  int    `json:"index"`
	Config string `json:"config"`
	// SHA256 is the config file's content hash when the run was last started.
	SHA256 string `json:"config_sha256"`
	// RunDir is the run's folder (absolute), passed to dsamstan run --run-dir.
	RunDir string `json:"run_dir"`
	// Log is the task's log, relative to the batch folder ("" before the run starts).
	Log string `json:"log,omitempty"`
	// JobID is the Slurm job array it was last submitted in ("" when never submitted),
	// ArrayIndex its task there.
	JobID      string `json:"slurm_job_id,omitempty"`
	ArrayIndex *int   `json:"slurm_array_index,omitempty"`
	// Attempts counts how many times the run was started or submitted.
	Attempts int `json:"attempts"`
}

// Task returns the run's Slurm task id, JOBID_INDEX, or "" when never submitted.
func (r *Entry) Task() string {
	if r.JobID == "" || r.ArrayIndex == nil {
		return ""
	}
	return fmt.Sprintf("%s_%d", r.JobID, *r.ArrayIndex)
}

// Name is the config's file name, as the summary lines show it.
func (r *Entry) Name() string { return filepath.Base(r.Config) }

// newManifest lays out a new batch in dir: one run per config, each with its own run folder
// runs/NN_<config name>.
func newManifest(dir, executor string, configs []string) (*Manifest, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("batch: --out %s: %w", dir, err)
	}
	m := &Manifest{Dir: abs, Created: time.Now().UTC().Truncate(time.Second), Executor: executor}
	width := len(fmt.Sprint(len(configs) - 1))
	seen := map[string]int{}
	for i, c := range configs {
		p, err := filepath.Abs(c)
		if err != nil {
			return nil, fmt.Errorf("batch: config %s: %w", c, err)
		}
		if j, dup := seen[p]; dup {
			return nil, fmt.Errorf("batch: config %s is given twice (runs %d and %d); give each config once", c, j, i)
		}
		seen[p] = i
		sum, err := hashFile(p)
		if err != nil {
			return nil, err
		}
		name := runfolder.Slug(strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)))
		m.Runs = append(m.Runs, &Entry{
			Index:  i,
			Config: p,
			SHA256: sum,
			RunDir: filepath.Join(abs, runfolder.BatchRuns, fmt.Sprintf("%0*d_%s", width, i, name)),
		})
	}
	return m, nil
}

// hashFile returns the hex sha256 of a file's content.
func hashFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("batch: config %s: %w", path, err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// Load reads the manifest of the batch folder dir.
func Load(dir string) (*Manifest, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("batch: %s: %w", dir, err)
	}
	p := filepath.Join(abs, runfolder.BatchManifest)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("batch: %s has no %s: is it a batch folder written by dsamstan batch --out?", dir, runfolder.BatchManifest)
	}
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("batch: %s: %w", p, err)
	}
	if m.Executor != Local && m.Executor != Slurm {
		return nil, fmt.Errorf("batch: %s: executor %q; want %s or %s", p, m.Executor, Local, Slurm)
	}
	if m.Executor == Slurm && m.Slurm == nil {
		return nil, fmt.Errorf("batch: %s: a Slurm batch without its slurm settings", p)
	}
	m.Dir = abs
	return &m, nil
}

// Save writes manifest.json atomically.
func (m *Manifest) Save() error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(m.Dir, runfolder.BatchManifest), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	return nil
}

// path returns a path of the batch folder from one relative to it.
func (m *Manifest) path(rel string) string {
	if rel == "" || filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(m.Dir, rel)
}

// retire moves a run folder left by an earlier attempt aside, to <run folder>.attemptN, so
// the new attempt starts from an empty folder and the old one's files stay readable.
func retire(r *Entry) error {
	if _, err := os.Stat(r.RunDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for n := max(r.Attempts, 1); ; n++ {
		dst := fmt.Sprintf("%s.attempt%d", r.RunDir, n)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := os.Rename(r.RunDir, dst); err != nil {
			return fmt.Errorf("batch: moving the earlier attempt aside: %w", err)
		}
		return nil
	}
}
