package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/stanio"
	"github.com/dsamstan/dsamstan/summarise"
)

type summaryOptions struct {
	io    streams
	Files []string
	CSV   bool
	All   bool
}

func newSummaryCmd(io streams, runF func(*summaryOptions) error) *cobra.Command {
	opts := &summaryOptions{io: io}
	cmd := &cobra.Command{
		Use:   "summary CSV...",
		Short: "Summarise CmdStan output CSVs: mean, sd, quantiles, Rhat, ESS, MCSE",
		Long: `Summarise the draws in one or more CmdStan output CSVs (one file per chain).

Rhat is the rank-normalised split-Rhat, ess_bulk and ess_tail the bulk and tail effective
sample sizes, and mcse_mean the Monte Carlo standard error of the mean, all exactly as the R
package posterior defines them. Sampler columns (lp__, accept_stat__, …) are left out unless
--all is given. Parameters keep CmdStan's names (beta.1); 'dsamstan run' writes the same
table with names in users' terms.`,
		Example: `  dsamstan summary run/20_model_fit/chain_*.csv
  dsamstan summary --csv output_*.csv > summary.csv`,
		Args: minArgs(1, "CSV..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if runF != nil {
				return runF(opts)
			}
			return runSummary(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.CSV, "csv", false, "write CSV instead of a table")
	cmd.Flags().BoolVar(&opts.All, "all", false, "include sampler columns such as lp__ and treedepth__")
	return cmd
}

func runSummary(ctx context.Context, opts *summaryOptions) error {
	chains, err := stanio.ReadCSVFiles(ctx, opts.Files)
	if err != nil {
		return err
	}
	cols := chains[0].Columns
	for _, ch := range chains[1:] {
		if strings.Join(ch.Columns, ",") != strings.Join(cols, ",") {
			return fmt.Errorf("summary: %s and %s have different columns: are they chains of the same model?", chains[0].Path, ch.Path)
		}
	}
	var names []string
	var idx []int
	for j, c := range cols {
		if !opts.All && strings.HasSuffix(c, "__") {
			continue
		}
		names = append(names, c)
		idx = append(idx, j)
	}
	rows := summarise.Summarise(names, func(j int) [][]float64 {
		out := make([][]float64, len(chains))
		for c, ch := range chains {
			out[c] = ch.Draws[idx[j]]
		}
		return out
	}, 0)
	if opts.CSV {
		return summarise.WriteCSV(opts.io.Out, rows)
	}
	printSummary(opts.io.Out, rows)
	return nil
}

// printSummary writes the summary as an aligned table for people.
func printSummary(w io.Writer, rows []summarise.Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "parameter\tmean\tsd\tq5\tq50\tq95\trhat\tess_bulk\tess_tail\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Parameter,
			num.SigG(r.Mean, 4), num.SigG(r.SD, 4), num.SigG(r.Q5, 4), num.SigG(r.Q50, 4), num.SigG(r.Q95, 4),
			num.Fixed(r.Rhat, 3), num.Fixed(r.ESSBulk, 0), num.Fixed(r.ESSTail, 0))
	}
	tw.Flush()
}
