package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/simulate"
)

type exampleOptions struct {
	io    streams
	Kind  string
	Out   string
	Weeks int
	Seed  uint64
}

func newExampleCmd(io streams, runF func(*exampleOptions) error) *cobra.Command {
	opts := &exampleOptions{io: io}
	cmd := &cobra.Command{
		Use:   "example blm --out DIR",
		Short: "Write a simulated dataset with known truth and a config that fits it",
		Long: `Write a simulated weekly dataset with known true coefficients, and a run config
that fits it. The simulator is built in and seeded: the same command always writes the
same files.

  DIR/data.csv     the weekly data
  DIR/truth.json   the true coefficients and noise_sd
  DIR/config.yaml  a run config for 'dsamstan run'`,
		Example: `  # a 156-week single-market example, then fit it
  dsamstan example blm --out demo
  dsamstan run demo/config.yaml

  # three years and a different seed
  dsamstan example blm --out demo2 --weeks 156 --seed 7`,
		Args:      exactArgs(1, "an example kind (blm)"),
		ValidArgs: []string{"blm"},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Kind = args[0]
			if opts.Out == "" {
				return flagErrorf("--out DIR is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runExample(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "folder to write into (created if missing)")
	cmd.Flags().IntVar(&opts.Weeks, "weeks", 156, "number of weekly rows")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 42, "random seed")
	return cmd
}

func runExample(opts *exampleOptions) error {
	var ex *simulate.Example
	var err error
	switch opts.Kind {
	case "blm":
		ex, err = simulate.BLM(simulate.BLMOptions{Weeks: opts.Weeks, Seed: opts.Seed})
	default:
		return flagErrorf("unknown example %q; choose blm", opts.Kind)
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
