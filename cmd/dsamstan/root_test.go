package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
)

// A command cancelled by a signal ends with the documented interrupted message and
// exit 130, even when what stopped was a step that returned a bare context.Canceled.
func TestInterruption(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupt signal received"))
	bare := fmt.Errorf("stanio: reading chain_1.csv: %w", ctx.Err())
	err := interruption(ctx, bare)
	if want := "cmdstan: interrupted: stopped (interrupt signal received)"; err == nil || err.Error() != want {
		t.Errorf("interruption(bare context.Canceled) = %v; want %q", err, want)
	}
	if code := exitCode(err); code != exitInterrupted {
		t.Errorf("exit code %d; want %d", code, exitInterrupted)
	}
	already := fmt.Errorf("%w: sampling stopped; partial output kept in run (%w)", cmdstan.ErrInterrupted, context.Cause(ctx))
	if got := interruption(ctx, already); got != already {
		t.Errorf("interruption changed an interrupted error: %v", got)
	}
	other := errors.New("pipeline: boom")
	if got := interruption(ctx, other); got != other {
		t.Errorf("interruption changed an unrelated error: %v", got)
	}
	if got := interruption(ctx, nil); got != nil {
		t.Errorf("interruption(nil) = %v", got)
	}
}
