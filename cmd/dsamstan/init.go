package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/internal/atomicfile"
)

//go:embed templates/*.yaml
var configTemplates embed.FS

// templateNames maps --template values to files; hierarchical is the same file as re, as
// in DSAMbayes; master lists every key with its default.
var templateNames = map[string]string{"master": "master.yaml", "blm": "blm.yaml", "re": "re.yaml", "hierarchical": "re.yaml", "cre": "cre.yaml", "pooled": "pooled.yaml"}

type initOptions struct {
	io        streams
	Template  string
	Out       string
	Overwrite bool
}

func newInitCmd(io streams, runF func(*initOptions) error) *cobra.Command {
	opts := &initOptions{io: io}
	cmd := &cobra.Command{
		Use:   "init --out FILE [--template blm|re|cre|pooled|master]",
		Short: "Write a commented run config to start from",
		Long: `Write a commented run config: blm (one market), re (a panel of markets with
random effects; also called hierarchical), cre (the same with CRE/Mundlak terms), pooled
(one market whose media coefficients are partially pooled across labelled dimensions) or master
(every key of the config with its default, commented; optional keys commented out). The
templates fit the columns of 'dsamstan example'; edit data.path and model.formula for your
data. An existing file is kept unless --overwrite is given.`,
		Example: `  dsamstan init --out run.yaml
  dsamstan init --template re --out panel.yaml
  dsamstan example blm --out d && dsamstan init --template master --out d/master.yaml
  dsamstan example hierarchical --out panel && dsamstan init --template cre --out panel/cre.yaml
  dsamstan example pooled --out pool && dsamstan init --template pooled --out pool/pooled.yaml`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Out == "" {
				return flagErrorf("--out FILE is required")
			}
			if _, ok := templateNames[opts.Template]; !ok {
				return flagErrorf("--template is %q; choose blm, re (or hierarchical), cre, pooled or master", opts.Template)
			}
			if runF != nil {
				return runF(opts)
			}
			return runInit(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Template, "template", "blm", "blm, re (hierarchical), cre, pooled or master")
	cmd.Flags().StringVar(&opts.Out, "out", "", "file to write")
	cmd.Flags().BoolVar(&opts.Overwrite, "overwrite", false, "replace an existing file")
	return cmd
}

func runInit(_ context.Context, opts *initOptions) error {
	body, err := fs.ReadFile(configTemplates, "templates/"+templateNames[opts.Template])
	if err != nil {
		return err
	}
	if _, err := os.Stat(opts.Out); err == nil && !opts.Overwrite {
		return fmt.Errorf("init: %s exists; pass --overwrite to replace it", opts.Out)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("init: %w", err)
	}
	if err := atomicfile.WriteFile(opts.Out, body, 0o644); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(opts.io.Out, "Wrote %s (template %s). Check it with:  dsamstan validate %s\n", opts.Out, opts.Template, opts.Out)
	return nil
}
