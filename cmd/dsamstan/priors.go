package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/runfolder"
)

type priorsOptions struct {
	io     streams
	Config string
	CSV    bool
	Scaled bool
}

func newPriorsCmd(io streams, runF func(*priorsOptions) error) *cobra.Command {
	opts := &priorsOptions{io: io}
	cmd := &cobra.Command{
		Use:   "priors CONFIG | priors --config CONFIG",
		Short: "Print every parameter's effective prior and bounds, and where each came from",
		Long: `Load a run config and its data and print, for every parameter (population terms,
noise_sd, and the group scales sd_<k>[term] of a panel), the prior and bounds the run would
use, in original units (log units for a log(y) response), and where each came from: a
default rule (written out), priors.overrides[i], priors.noise_sd, priors.from_ols,
priors.from_run (a previous run's posterior) or boundaries.overrides[i].
Scales (noise_sd, sd_*) are ≥ 0 by construction. Nothing is compiled or sampled.

--scaled adds each prior and bounds in the units the sampler sees: with model.scale (the
default) the response is centred and scaled and each predictor scaled, so a coefficient b
is sampled as (b − shift)/scale (shift: mean(y) for the intercept, else 0; scale: sd(y),
or sd(y)/sd(x) for a slope), a scale (noise_sd, sd_*) divided by its term's scale, and an
estimated half_saturation divided by its column's median positive value.

Every run writes the same table to 00_run_metadata/priors.csv (the sampler's units in its
sampler_* columns); --csv prints that file.`,
		Example: `  dsamstan priors demo/config.yaml
  dsamstan priors demo/config.yaml --scaled
  dsamstan priors --config demo/config.yaml --csv > priors.csv`,
		Args: configArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = configPath(cmd, args)
			if runF != nil {
				return runF(opts)
			}
			return runPriors(opts)
		},
	}
	cmd.Flags().String("config", "", "the run config (instead of the CONFIG argument)")
	cmd.Flags().BoolVar(&opts.CSV, "csv", false, "print CSV, as 00_run_metadata/priors.csv")
	cmd.Flags().BoolVar(&opts.Scaled, "scaled", false, "add each prior and bounds in the sampler's units")
	return cmd
}

func runPriors(opts *priorsOptions) error {
	cfg, spec, err := pipeline.LoadSpec(opts.Config)
	if err != nil {
		return err
	}
	rows := pipeline.PriorRows(cfg, spec)
	if opts.CSV {
		return runfolder.WritePriors(opts.io.Out, rows)
	}
	tw := tabwriter.NewWriter(opts.io.Out, 0, 0, 2, ' ', 0)
	if opts.Scaled {
		fmt.Fprintln(tw, "parameter\tprior\tbounds\tsampler prior\tsampler bounds\tprior from\tbounds from")
	} else {
		fmt.Fprintln(tw, "parameter\tprior\tbounds\tprior from\tbounds from")
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s(%s, %s)\t[%s, %s]\t", r.Parameter, r.Family, num.Short(r.Mean), num.Short(r.SD), num.Short(r.Lower), num.Short(r.Upper))
		if opts.Scaled {
			fmt.Fprintf(tw, "%s(%s, %s)\t[%s, %s]\t", r.Family, num.Short(r.SamplerMean), num.Short(r.SamplerSD), num.Short(r.SamplerLower), num.Short(r.SamplerUpper))
		}
		fmt.Fprintf(tw, "%s\t%s\n", r.PriorSource, r.BoundSource)
	}
	return tw.Flush()
}
