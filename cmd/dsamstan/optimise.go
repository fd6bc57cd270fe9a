package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

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
			return runOptimise(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Scenario, "scenario", "", "scenario YAML (default: the run config's allocation section)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "output folder (default RUN_DIR/60_optimisation)")
	cmd.Flags().BoolVar(&opts.PerGroup, "per-group", false, "also optimise each group of a panel on its own coefficients")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 123, "seed of the general solver's random starts")
	return cmd
}

func runOptimise(ctx context.Context, opts *optimiseOptions) error {
	err := pipeline.OptimiseRun(ctx, pipeline.OptimiseOptions{
		RunDir: opts.RunDir, Scenario: opts.Scenario, Out: opts.Out, PerGroup: opts.PerGroup,
		Seed: opts.Seed, Log: opts.io.Out,
	})
	switch {
	case errors.Is(err, pipeline.ErrNoScenario):
		return flagErrorf("the run's config has no allocation section: pass --scenario FILE")
	case errors.Is(err, pipeline.ErrNotPanel):
		return flagErrorf("--per-group needs a panel model; this run has no group terms")
	}
	return err
}
