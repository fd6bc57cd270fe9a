package main

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/stanio"
)

type renderOptions struct {
	io     streams
	Config string
	Data   string
	Check  string
}

func newRenderCmd(io streams, runF func(*renderOptions) error) *cobra.Command {
	opts := &renderOptions{io: io}
	cmd := &cobra.Command{
		Use:   "render CONFIG",
		Short: "Print the Stan program (and optionally its data) for a run config",
		Long: `Render the Stan program that 'dsamstan run' would compile for a config, and print
it. The program depends only on the model's structure, never on the data's values or
names: those travel in the data JSON (--data FILE writes it).

--check FILE compares the rendering with FILE and exits 1 when they differ, for CI.`,
		Example: `  dsamstan render demo/config.yaml
  dsamstan render demo/config.yaml --data data.json > model.stan
  dsamstan render demo/config.yaml --check model.stan`,
		Args: exactArgs(1, "CONFIG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runRender(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Data, "data", "", "also write the CmdStan data JSON to this file")
	cmd.Flags().StringVar(&opts.Check, "check", "", "compare with this file instead of printing; exit 1 on a difference")
	return cmd
}

func runRender(ctx context.Context, opts *renderOptions) error {
	_, spec, err := pipeline.LoadSpec(opts.Config)
	if err != nil {
		return err
	}
	prog, err := codegen.Render(ctx, nil, spec)
	if err != nil {
		return err
	}
	if opts.Data != "" {
		var buf bytes.Buffer
		if err := stanio.WriteData(&buf, prog.Data); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(opts.Data, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("render: %w", err)
		}
	}
	if opts.Check != "" {
		want, err := os.ReadFile(opts.Check)
		if err != nil {
			return fmt.Errorf("render: --check: %w", err)
		}
		if !bytes.Equal(want, prog.Code) {
			return fmt.Errorf("render: %s differs from the program rendered for %s (run 'dsamstan render %s > %s' to update it)",
				opts.Check, opts.Config, opts.Config, opts.Check)
		}
		fmt.Fprintf(opts.io.Out, "%s is up to date\n", opts.Check)
		return nil
	}
	_, err = opts.io.Out.Write(prog.Code)
	return err
}
