package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/pipeline"
)

type validateOptions struct {
	io     streams
	Config string
	RunDir string
}

func newValidateCmd(io streams, runF func(*validateOptions) error) *cobra.Command {
	opts := &validateOptions{io: io}
	cmd := &cobra.Command{
		Use:   "validate CONFIG | validate --config CONFIG [--run-dir DIR]",
		Short: "Check a run config and its data without compiling or sampling",
		Long: `Make every check that run makes before compiling, with the same messages: every
config key, the formula, every column the formula uses, priors and boundaries, the
allocation section, the P0 data checks (a constant or duplicated column, a non-finite
response, a rank-deficient design) and that a Stan program renders. Nothing is compiled or
sampled. Prints "Status: ok" (after any P0 warnings), or every problem found, each with its
file, line and column or its config key, and exits 1 where run would stop.

With --run-dir DIR it writes what DSAMbayes's validate writes there:
00_run_metadata/ (config.original.yaml, config.resolved.yaml, session_info.txt) and the P0
rows of 40_diagnostics/diagnostics_report.csv. Without it nothing is written.

The config is the one argument, or --config FILE as DSAMbayes's runner takes it (not both).`,
		Example: `  dsamstan validate demo/config.yaml
  dsamstan validate --config demo/config.yaml --run-dir demo/check`,
		Args: configArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = configPath(cmd, args)
			if runF != nil {
				return runF(opts)
			}
			return runValidate(cmd.Context(), opts)
		},
	}
	cmd.Flags().String("config", "", "the run config (instead of the CONFIG argument)")
	cmd.Flags().StringVar(&opts.RunDir, "run-dir", "", "write the run metadata and P0 report here")
	return cmd
}

func runValidate(ctx context.Context, opts *validateOptions) error {
	res, err := pipeline.Validate(ctx, pipeline.Options{ConfigPath: opts.Config, RunDir: opts.RunDir, Version: version})
	if res != nil && res.RunDir != "" {
		defer fmt.Fprintf(opts.io.Err, "Run folder: %s\n", res.RunDir)
	}
	if err != nil {
		return err
	}
	cfg, spec := res.Config, res.Spec
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
	if res.Report != nil && res.Report.Status() != diagnostics.StatusPass {
		printVerdict(out, res.Report)
	}
	fmt.Fprintln(out, "Status: ok")
	return nil
}
