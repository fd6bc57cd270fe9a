package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/optimise"
	"github.com/dsamstan/dsamstan/pipeline"
)

type optimiseOptions struct {
	io       streams
	RunDir   string
	Scenario string
	Out      string
	PerGroup bool
	Seed     uint64
}

func newOptimiseCmd(io streams, runF func(*optimiseOptions) error) *cobra.Command {
	opts := &optimiseOptions{io: io}
	cmd := &cobra.Command{
		Use:   "optimise RUN_DIR [--scenario FILE]",
		Short: "Split a media budget on a fitted run's population-level coefficients",
		Long: `Optimise a budget allocation on the posterior draws of a completed MCMC run: the
scenario is --scenario FILE, else the run config's allocation section. For a panel the
population-level (fixed-effect) coefficients are used, as the DSAMbayes tutorial advises;
--per-group also optimises each market on its own coefficients.

Writes allocation.csv, response_curves.csv, frontier.csv, sensitivity.csv and summary.json
to --out (default RUN_DIR/60_optimisation; per group in group_<market>/ below it). The
response transforms, objectives and solvers are documented in the README.`,
		Example: `  dsamstan optimise results/20261127_093005_example_blm --scenario scenario.yaml
  dsamstan optimise panel/run --per-group`,
		Args: exactArgs(1, "RUN_DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RunDir = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runOptimise(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Scenario, "scenario", "", "scenario YAML (default: the run config's allocation section)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "output folder (default RUN_DIR/60_optimisation)")
	cmd.Flags().BoolVar(&opts.PerGroup, "per-group", false, "also optimise each group of a panel on its own coefficients")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 123, "seed of the general solver's random starts")
	return cmd
}

func runOptimise(cmd *cobra.Command, opts *optimiseOptions) error {
	cfgPath, err := findRunFile(opts.RunDir, "00_run_metadata", "config.resolved.yaml")
	if err != nil {
		return err
	}
	cfg, spec, err := ingest.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("optimise: the run's resolved config no longer loads (has its data moved?): %w", err)
	}
	t, err := ingest.LoadCSV(cfg.Data.Path)
	if err != nil {
		return err
	}
	var sc *optimise.Scenario
	if opts.Scenario != "" {
		b, err := os.ReadFile(opts.Scenario)
		if err != nil {
			return fmt.Errorf("optimise: --scenario: %w", err)
		}
		if sc, err = optimise.ParseScenario(b, opts.Scenario); err != nil {
			return err
		}
	} else if cfg.Allocation != nil {
		sc = cfg.Allocation // checked when the config loaded
	} else {
		return flagErrorf("the run's config has no allocation section: pass --scenario FILE")
	}
	drawsPath, err := findRunFile(opts.RunDir, "30_post_run", "posterior_draws.csv")
	if err != nil {
		return err
	}
	cols, err := readDrawColumns(drawsPath)
	if err != nil {
		return err
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(opts.RunDir, "60_optimisation")
	}
	terms := make([]string, len(spec.Terms))
	for k, term := range spec.Terms {
		terms[k] = term.Name
	}
	solve := func(group, dir string, column func(k int) (string, error)) error {
		beta := make([][]float64, len(terms))
		for k := range terms {
			name, err := column(k)
			if err != nil {
				return err
			}
			c, ok := cols[name]
			if !ok {
				return fmt.Errorf("optimise: %s has no column %q", drawsPath, name)
			}
			beta[k] = c
		}
		res, err := optimise.Optimise(cmd.Context(), sc, optimise.Inputs{
			Terms: terms, Draws: pipeline.PopulationDraws(beta), SpendColumns: pipeline.SpendColumns(t),
			KPIType: cfg.Model.KPIType, Group: group,
		}, optimise.Options{Seed: opts.Seed})
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("optimise: %w", err)
		}
		if err := res.WriteFiles(dir); err != nil {
			return err
		}
		label := group
		if label == "" {
			label = "population"
		}
		fmt.Fprintf(opts.io.Out, "%s: %s\n", label, dir)
		return nil
	}
	if err := solve("", out, func(k int) (string, error) { return terms[k], nil }); err != nil {
		return err
	}
	if !opts.PerGroup {
		return nil
	}
	if len(spec.Groups) == 0 {
		return flagErrorf("--per-group needs a panel model; this run has no group terms")
	}
	g := spec.Groups[0]
	for _, level := range g.Levels {
		varies := map[int]bool{}
		for _, k := range g.Terms {
			varies[k] = true
		}
		dir := filepath.Join(out, "group_"+pipeline.Slug(level))
		err := solve(g.Factor+"="+level, dir, func(k int) (string, error) {
			if varies[k] {
				return codegen.GroupCoefficientName(terms[k], g.Factor, level), nil
			}
			return terms[k], nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// readDrawColumns reads posterior_draws.csv into columns by name.
func readDrawColumns(path string) (map[string][]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("optimise: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("optimise: %s: %w", path, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("optimise: %s has no draws", path)
	}
	cols := map[string][]float64{}
	for j, name := range recs[0] {
		c := make([]float64, len(recs)-1)
		for i, r := range recs[1:] {
			v, err := strconv.ParseFloat(r[j], 64)
			if err != nil {
				return nil, fmt.Errorf("optimise: %s:%d: column %q: %w", path, i+2, name, err)
			}
			c[i] = v
		}
		cols[name] = c
	}
	return cols, nil
}
