package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dsamstan/dsamstan/pipeline"
	"github.com/dsamstan/dsamstan/runfolder"
)

// plainRuns are the runs of a local batch without a batch folder: each config as given,
// its run folder where the config puts it.
func plainRuns(configs []string) []*Entry {
	runs := make([]*Entry, len(configs))
	for i, c := range configs {
		runs[i] = &Entry{Index: i, Config: c}
	}
	return runs
}

// runLocal fits runs in this process, opts.Jobs at a time, printing one line per run as it
// ends. With a manifest m, each run goes to its run folder and logs to logs/task_<i>.log,
// and the manifest and summary are written.
func runLocal(ctx context.Context, opts *Options, m *Manifest, runs []*Entry) error {
	var mu sync.Mutex // one summary line, one manifest write at a time
	failed := 0
	g := new(errgroup.Group)
	g.SetLimit(opts.Jobs)
	for _, r := range runs {
		g.Go(func() error {
			var log io.Writer
			var buf bytes.Buffer
			log = &buf
			if m != nil {
				mu.Lock()
				r.Attempts++
				r.Log = filepath.Join(runfolder.BatchLogs, fmt.Sprintf("task_%d.log", r.Index))
				r.JobID, r.ArrayIndex = "", nil
				err := m.Save()
				mu.Unlock()
				if err != nil {
					fmt.Fprintf(opts.Stderr, "%s: %v\n", r.Config, err)
				}
				f, err := os.Create(m.path(r.Log))
				if err != nil {
					fmt.Fprintf(opts.Stderr, "%s: %v\n", r.Config, err)
				} else {
					defer f.Close()
					log = f
				}
			}
			start := time.Now()
			res, err := pipeline.Run(ctx, pipeline.Options{
				ConfigPath: r.Config, RunDir: r.RunDir, CmdStanDir: opts.CmdStan, Version: opts.Version,
				Log: log, Progress: io.Discard,
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
			if err != nil {
				fmt.Fprintln(log, "Error:", err)
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(opts.Stdout, "%-11s %-4s %6.1fs  %s  %s\n", status, verdict, time.Since(start).Seconds(), filepath.Base(r.Config), dir)
			if err != nil {
				failed++
				fmt.Fprintf(opts.Stderr, "%s: %s\n", r.Config, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			return nil
		})
	}
	g.Wait()
	if m != nil {
		// A summary of the whole batch, runs kept from earlier attempts included.
		if err := finish(m, statuses(context.WithoutCancel(ctx), m), opts.Stdout, false); err != nil {
			var fe *FailedError
			if !errors.As(err, &fe) {
				return err
			}
			failed = max(failed, fe.Failed)
		}
		fmt.Fprintf(opts.Stdout, "summary: %s\n", m.path(runfolder.BatchSummary))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if failed > 0 {
		total := len(runs)
		if m != nil {
			total = len(m.Runs)
		}
		return &FailedError{failed, total}
	}
	return nil
}
