package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/pipeline"
)

type validateOptions struct {
	io     streams
	Config string
}

func newValidateCmd(io streams, runF func(*validateOptions) error) *cobra.Command {
	opts := &validateOptions{io: io}
	cmd := &cobra.Command{
		Use:   "validate CONFIG",
		Short: "Check a run config and its data without compiling or sampling",
		Long: `Check a run config and its data: every config key, the formula, every column the
formula uses, priors and boundaries, and that a Stan program renders. Nothing is compiled
or sampled and no run folder is written. Prints "Status: ok", or every problem found, each
with its file, line and column or its config key, and exits 1.`,
		Example: `  dsamstan validate demo/config.yaml`,
		Args:    exactArgs(1, "CONFIG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runValidate(cmd.Context(), opts)
		},
	}
	return cmd
}

func runValidate(ctx context.Context, opts *validateOptions) error {
	cfg, spec, err := ingest.Load(opts.Config)
	if err != nil {
		return err
	}
	t, err := ingest.LoadCSV(cfg.Data.Path)
	if err != nil {
		return err
	}
	if err := pipeline.CheckAllocation(ctx, cfg, spec, t); err != nil {
		return err
	}
	if _, err := codegen.Render(ctx, nil, spec); err != nil {
		return err
	}
	out := opts.io.Out
	fmt.Fprintf(out, "Config:   %s\n", cfg.Path)
	fmt.Fprintf(out, "Data:     %s (%d rows used", cfg.Data.Path, spec.N)
	if spec.Dropped > 0 {
		fmt.Fprintf(out, ", %d dropped for missing values", spec.Dropped)
	}
	fmt.Fprintln(out, ")")
	fmt.Fprintf(out, "Formula:  %s\n", cfg.Model.Formula)
	fmt.Fprintf(out, "Terms:    %d coefficients\n", len(spec.Terms))
	for _, w := range spec.Warnings {
		fmt.Fprintf(out, "Warning:  %s\n", w)
	}
	fmt.Fprintln(out, "Status: ok")
	return nil
}
