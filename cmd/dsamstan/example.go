package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/simulate"
)

type exampleOptions struct {
	io      streams
	Kind    string
	Out     string
	Weeks   int
	Markets int
	Seed    uint64
	CRE     bool
	// Transforms simulates media acting through adstock and Hill saturation.
	Transforms bool
}

func newExampleCmd(io streams, runF func(*exampleOptions) error) *cobra.Command {
	opts := &exampleOptions{io: io}
	cmd := &cobra.Command{
		Use:   "example blm|hierarchical|pooled --out DIR",
		Short: "Write a simulated dataset with known truth and a config that fits it",
		Long: `Write a simulated weekly dataset with known true parameters, and a run config
that fits it. The simulator is built in and seeded: the same command always writes the
same files.

  blm           one market: trend, seasonality, a brand metric and three media channels
  hierarchical  a panel of markets (default 8 × 156 weeks) whose intercept and media
                slopes vary by market; --cre makes market baselines rise with mean TV
                spend, the case CRE (Mundlak) terms exist for, and also writes
                config_re.yaml, the same model without CRE, for comparison
  pooled        one market whose four media coefficients (TV and search, each with a
                brand and a product campaign) are partially pooled across channel and
                campaign; also writes pooling_map.csv

--transforms (blm or hierarchical) makes the media act through known media transforms:
normalised geometric adstock within each market (decay 0.6 over 8 lags for m_tv, 0.3
over 4 for m_search, 0.4 over 6 for m_social), then Hill saturation (half_saturation 60,
25 and 20, shape 1.5, 1 and 1.2). The config estimates all of them (its transforms
section says estimate), and the media coefficients are then the contributions per week
at full saturation.

  DIR/data.csv     the weekly data
  DIR/truth.json   the true coefficients, noise_sd and, for panels, the group scales
                   sd_1[term] and every market's own coefficients; with --transforms
                   also the true adstock_decay[...], half_saturation[...] and
                   hill_shape[...] (transforms: estimated, fixed_transforms: fixed);
                   for pooled also the true pooled_mean and level effects
                   pooled_effect[channel=tv] (pooled)
  DIR/config.yaml  a run config for 'dsamstan run'`,
		Example: `  # a 156-week single-market example, then fit it
  dsamstan example blm --out demo
  dsamstan run demo/config.yaml

  # a panel of 8 markets, and one of 50 markets over five years
  dsamstan example hierarchical --out panel
  dsamstan example hierarchical --out big --markets 50 --weeks 260

  # the CRE case: fit with and without the Mundlak terms
  dsamstan example hierarchical --cre --out cre
  dsamstan run cre/config.yaml && dsamstan run cre/config_re.yaml

  # media with carry-over and saturation, estimated jointly with everything else
  dsamstan example hierarchical --transforms --out mmm
  dsamstan run mmm/config.yaml

  # media coefficients pooled across channel and campaign
  dsamstan example pooled --out pool
  dsamstan run pool/config.yaml`,
		Args:      exactArgs(1, "an example kind (blm, hierarchical or pooled)"),
		ValidArgs: []string{"blm", "hierarchical", "pooled"},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Kind = args[0]
			if opts.Out == "" {
				return flagErrorf("--out DIR is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runExample(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "folder to write into (created if missing)")
	cmd.Flags().IntVar(&opts.Weeks, "weeks", 156, "number of weekly rows")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 42, "random seed")
	cmd.Flags().IntVar(&opts.Markets, "markets", 8, "number of markets (hierarchical)")
	cmd.Flags().BoolVar(&opts.CRE, "cre", false, "hierarchical: baselines correlated with mean TV spend, fitted with CRE")
	cmd.Flags().BoolVar(&opts.Transforms, "transforms", false, "media act through adstock and Hill saturation; the config estimates them")
	return cmd
}

func runExample(_ context.Context, opts *exampleOptions) error {
	if opts.CRE && opts.Transforms {
		return flagErrorf("--cre and --transforms cannot be combined; choose one")
	}
	var ex *simulate.Example
	var err error
	switch opts.Kind {
	case "blm":
		ex, err = simulate.BLM(simulate.BLMOptions{Weeks: opts.Weeks, Seed: opts.Seed, Transforms: opts.Transforms})
	case "hierarchical":
		ex, err = simulate.Hierarchical(simulate.PanelOptions{Markets: opts.Markets, Weeks: opts.Weeks, Seed: opts.Seed, CRE: opts.CRE, Transforms: opts.Transforms})
	case "pooled":
		if opts.CRE || opts.Transforms {
			return flagErrorf("--cre and --transforms are for blm and hierarchical; the pooled example has neither")
		}
		ex, err = simulate.Pooled(simulate.PooledOptions{Weeks: opts.Weeks, Seed: opts.Seed})
	default:
		return flagErrorf("unknown example %q; choose blm, hierarchical or pooled", opts.Kind)
	}
	if err != nil {
		return err
	}
	if err := ex.Write(opts.Out); err != nil {
		return err
	}
	fmt.Fprintf(opts.io.Out, "Wrote %s, %s and %s\nFit it with:  dsamstan run %s\n",
		filepath.Join(opts.Out, "data.csv"), filepath.Join(opts.Out, "truth.json"),
		filepath.Join(opts.Out, "config.yaml"), filepath.Join(opts.Out, "config.yaml"))
	return nil
}
