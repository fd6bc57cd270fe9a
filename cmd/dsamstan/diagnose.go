package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
)

type diagnoseOptions struct {
	io    streams
	Paths []string
	// Policy is the policy mode; PolicySet is true when --policy was given.
	Policy    string
	PolicySet bool
	FailOn    string
	CSV       bool
}

func newDiagnoseCmd(io streams, runF func(*diagnoseOptions) error) *cobra.Command {
	opts := &diagnoseOptions{io: io}
	cmd := &cobra.Command{
		Use:   "diagnose RUN_DIR | CSV...",
		Short: "Show the diagnostics report of a run, or check any CmdStan output CSVs",
		Long: `Show the diagnostics gates of a fit, overall status first.

For a run folder, prints its 40_diagnostics/diagnostics_report.csv: the P0 data and design
checks made before sampling and the P1 sampler checks after it. A run folder without a
report (an older or interrupted run), or one asked about under another --policy, gets the
P1 checks computed from its chains in 20_model_fit/. For CmdStan output CSVs (one file per
chain) the P1 checks are computed from them: max Rhat, min bulk and tail ESS (over every
parameter and again over the sd_* group scales), divergent transitions, tree-depth
saturation and E-BFMI. Parameters keep CmdStan's names there.

--policy chooses the thresholds: explore (relaxed), publish (the default) or strict.
--fail-on warn|fail exits with status 4 when the overall status is at or above that level,
for CI scripts; without it the exit status is 0 whatever the report says.`,
		Example: `  dsamstan diagnose results/demo_20250101_120000
  dsamstan diagnose --policy strict --fail-on warn results/demo_20250101_120000
  dsamstan diagnose output_1.csv output_2.csv output_3.csv output_4.csv
  dsamstan diagnose --csv run/20_model_fit/chain_*.csv > diagnostics_report.csv`,
		Args: minArgs(1, "RUN_DIR or CSV..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			opts.PolicySet = cmd.Flags().Changed("policy")
			if err := diagnostics.ValidateMode(opts.Policy); err != nil || opts.Policy == "" {
				return flagErrorf("--policy %q: use explore, publish or strict", opts.Policy)
			}
			if opts.FailOn != "" && opts.FailOn != diagnostics.StatusWarn && opts.FailOn != diagnostics.StatusFail {
				return flagErrorf("--fail-on %q: use warn or fail", opts.FailOn)
			}
			if runF != nil {
				return runF(opts)
			}
			return runDiagnose(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Policy, "policy", diagnostics.ModePublish, "policy mode: explore, publish or strict")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "", "exit with status 4 when the overall status is at or above this level: warn or fail")
	cmd.Flags().BoolVar(&opts.CSV, "csv", false, "write the report as CSV (diagnostics_report.csv) instead of a table")
	return cmd
}

func runDiagnose(ctx context.Context, opts *diagnoseOptions) error {
	rep, err := diagnoseReport(ctx, opts)
	if err != nil {
		return err
	}
	if opts.CSV {
		if err := diagnostics.WriteCSV(opts.io.Out, rep); err != nil {
			return err
		}
	} else {
		printDiagnostics(opts.io.Out, rep)
	}
	return diagnostics.Gate(rep, opts.FailOn)
}

// diagnoseReport reads a run folder's stored report, or computes the P1 checks from chain
// CSVs (the run folder's, or the files given).
func diagnoseReport(ctx context.Context, opts *diagnoseOptions) (*diagnostics.Report, error) {
	files := opts.Paths
	if len(opts.Paths) == 1 {
		dir := opts.Paths[0]
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			stored, err := readStoredReport(dir)
			if err != nil {
				return nil, err
			}
			if stored != nil && (!opts.PolicySet || stored.Mode == opts.Policy) {
				return stored, nil
			}
			if files, err = runChainFiles(dir); err != nil {
				return nil, err
			}
			if stored != nil {
				fmt.Fprintf(opts.io.Err, "note: %s was written under policy %s; showing the sampler checks recomputed under %s (the P0 design checks need the data: rerun with diagnostics.policy_mode: %s)\n",
					diagnostics.ReportFile, stored.Mode, opts.Policy, opts.Policy)
			}
		}
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			return nil, flagErrorf("diagnose: %s is a folder: give one run folder, or CmdStan CSV files", f)
		}
	}
	chains, err := stanio.ReadCSVFiles(ctx, files)
	if err != nil {
		return nil, err
	}
	params, err := diagnostics.ParamsFromChains(chains)
	if err != nil {
		return nil, err
	}
	return &diagnostics.Report{Mode: opts.Policy, Checks: diagnostics.P1(chains, params, opts.Policy)}, nil
}

// readStoredReport returns the run folder's report (staged or flat layout), or nil when it
// has none.
func readStoredReport(dir string) (*diagnostics.Report, error) {
	p, ok := (runfolder.Folder{Dir: dir}).Find(runfolder.StageDiagnostics, runfolder.DiagnosticsReport)
	if !ok {
		return nil, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("diagnose: %w", err)
	}
	defer f.Close()
	rep, err := diagnostics.ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("diagnose: %s: %w", p, err)
	}
	return rep, nil
}

// runChainFiles finds a run folder's chain CSVs (staged or flat layout), in chain order.
func runChainFiles(dir string) ([]string, error) {
	for _, pattern := range []string{
		filepath.Join(dir, runfolder.StageModelFit, "chain_*.csv"),
		filepath.Join(dir, "chain_*.csv"),
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("diagnose: %w", err)
		}
		if len(files) > 0 {
			// chain_2.csv before chain_10.csv.
			slices.SortFunc(files, func(a, b string) int {
				if len(a) != len(b) {
					return len(a) - len(b)
				}
				return strings.Compare(a, b)
			})
			return files, nil
		}
	}
	return nil, fmt.Errorf("diagnose: %s has neither %s/%s nor %s/chain_*.csv: is it a dsamstan run folder?",
		dir, runfolder.StageDiagnostics, runfolder.DiagnosticsReport, runfolder.StageModelFit)
}

// printDiagnostics writes the report as an aligned table for people, overall status first.
func printDiagnostics(w io.Writer, rep *diagnostics.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "check_id\tphase\tstatus\tvalue\tthreshold\tmessage")
	for _, c := range append([]diagnostics.Check{rep.Overall()}, rep.Checks...) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Phase, c.Status, num.Digits4(c.Value), c.Threshold, c.Message)
	}
	tw.Flush()
}
