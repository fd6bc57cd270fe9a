package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/pipeline"
)

type batchOptions struct {
	io      streams
	Configs []string
	Jobs    int
	CmdStan string
}

func newBatchCmd(io streams, runF func(*batchOptions) error) *cobra.Command {
	opts := &batchOptions{io: io}
	cmd := &cobra.Command{
		Use:   "batch CONFIG... [--jobs N]",
		Short: "Fit several run configs, N at a time, with one summary line per run",
		Long: `Fit several run configs, --jobs at a time. Runs share the compile cache safely: a
model structure compiles once even when two runs need it at the same moment (the second
waits for the first's compile). Each run writes its own run folder; its log goes to
00_run_metadata/run.log there. One line per run reports its status, diagnostics verdict,
time and folder. Exits 1 when any run failed, 130 when interrupted.`,
		Example: `  dsamstan batch configs/*.yaml --jobs 2

  # a Makefile target for nightly fits
  nightly:
  	dsamstan batch $(wildcard configs/*.yaml) --jobs 2`,
		Args: minArgs(1, "CONFIG..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Configs = args
			opts.CmdStan, _ = cmd.Flags().GetString("cmdstan")
			if opts.Jobs < 1 {
				return flagErrorf("--jobs is %d; must be at least 1", opts.Jobs)
			}
			if runF != nil {
				return runF(opts)
			}
			return runBatch(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Jobs, "jobs", 1, "runs at once")
	return cmd
}

// batchFailed reports how many runs of a batch did not complete.
type batchFailed struct{ failed, total int }

func (e *batchFailed) Error() string {
	return fmt.Sprintf("batch: %d of %d runs failed", e.failed, e.total)
}

func runBatch(ctx context.Context, opts *batchOptions) error {
	var mu sync.Mutex // one summary line at a time
	failed := 0
	g := new(errgroup.Group)
	g.SetLimit(opts.Jobs)
	for _, cfg := range opts.Configs {
		g.Go(func() error {
			var log bytes.Buffer
			start := time.Now()
			res, err := pipeline.Run(ctx, pipeline.Options{
				ConfigPath: cfg, CmdStanDir: opts.CmdStan, Version: version,
				Log: &log, Progress: io.Discard,
			})
			dir, verdict := "-", "-"
			if res != nil {
				dir = res.RunDir
				if res.Report != nil {
					verdict = res.Report.Status()
				}
			}
			status := "completed"
			switch {
			case errors.Is(err, pipeline.ErrInterrupted) || errors.Is(err, context.Canceled):
				status = "interrupted"
			case err != nil:
				status = "failed"
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(opts.io.Out, "%-11s %-4s %6.1fs  %s  %s\n", status, verdict, time.Since(start).Seconds(), filepath.Base(cfg), dir)
			if err != nil {
				failed++
				fmt.Fprintf(opts.io.Err, "%s: %s\n", cfg, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			return nil
		})
	}
	g.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if failed > 0 {
		return &batchFailed{failed, len(opts.Configs)}
	}
	return nil
}
