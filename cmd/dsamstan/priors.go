package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/runfolder"
)

type priorsOptions struct {
	io     streams
	Config string
	CSV    bool
}

func newPriorsCmd(io streams, runF func(*priorsOptions) error) *cobra.Command {
	opts := &priorsOptions{io: io}
	cmd := &cobra.Command{
		Use:   "priors CONFIG | priors --config CONFIG",
		Short: "Print every parameter's effective prior and bounds, and where each came from",
		Long: `Load a run config and its data and print, for every parameter (population terms,
noise_sd, and the group scales sd_<k>[term] of a panel), the prior and bounds the run would
use, in original units (log units for a log(y) response), and where each came from: a
default rule (written out), priors.overrides[i], priors.noise_sd or boundaries.overrides[i].
Scales (noise_sd, sd_*) are ≥ 0 by construction. Nothing is compiled or sampled.

Every run writes the same table to 00_run_metadata/priors.csv; --csv prints that file.`,
		Example: `  dsamstan priors demo/config.yaml
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
	return cmd
}

func runPriors(opts *priorsOptions) error {
	cfg, spec, err := ingest.Load(opts.Config)
	if err != nil {
		return err
	}
	rows := pipeline.PriorRows(cfg, spec)
	if opts.CSV {
		return runfolder.WritePriors(opts.io.Out, rows)
	}
	tw := tabwriter.NewWriter(opts.io.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "parameter\tprior\tbounds\tprior from\tbounds from")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s(%s, %s)\t[%s, %s]\t%s\t%s\n", r.Parameter, r.Family, num.Short(r.Mean), num.Short(r.SD),
			num.Short(r.Lower), num.Short(r.Upper), r.PriorSource, r.BoundSource)
	}
	return tw.Flush()
}
