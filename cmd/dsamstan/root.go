package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dsamstan/dsamstan/cmdstan"
	"github.com/dsamstan/dsamstan/diagnostics"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// streams are the command's standard streams, injected so tests drive the CLI in-process.
type streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Exit codes, as documented in README.md.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitCmdStan     = 3
	exitGate        = 4
	exitInterrupted = 130
)

// flagError marks a mistake in flags or arguments: only these print the usage.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func flagErrorf(format string, a ...any) error { return &flagError{fmt.Errorf(format, a...)} }

// run builds the command tree, runs it with args and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	io := streams{In: stdin, Out: stdout, Err: stderr}
	root := newRootCmd(io)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := interruption(ctx, root.ExecuteContext(ctx))
	pprof.StopCPUProfile() // --cpuprofile of a failed command too (PersistentPostRunE runs on success only)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "Error:", err)
	code := exitCode(err)
	if code == exitUsage {
		fmt.Fprintln(stderr, "Run 'dsamstan --help' for usage.")
	}
	return code
}

func newRootCmd(io streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "dsamstan",
		Short: "Bayesian marketing-mix modelling on CmdStan",
		Long: `dsamstan fits Bayesian marketing-mix models (MMM) with CmdStan.

Give it a weekly KPI dataset and a YAML run config with an lm-style formula, priors and
boundaries; it renders a Stan program, compiles it once (cached by content), samples it,
checks convergence and writes a run folder of tables.

Start with the built-in example:

  dsamstan example blm --out demo
  dsamstan run demo/config.yaml

CmdStan is found from --cmdstan, else $CMDSTAN, else the newest ~/.cmdstan/cmdstan-*.
Install one with scripts/install_cmdstan.sh.

Exit codes: 0 ok, 1 error, 2 usage, 3 CmdStan failed, 4 diagnostics gate failed,
130 interrupted.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			msg := fmt.Sprintf("unknown command %q for dsamstan", args[0])
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", s[0])
			}
			return flagErrorf("%s", msg)
		}
		return nil
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &flagError{err} })
	root.PersistentFlags().String("cmdstan", "", "CmdStan folder (default $CMDSTAN, else the newest ~/.cmdstan/cmdstan-*)")
	profileCPU(root)
	root.AddCommand(
		newInitCmd(io, nil),
		newRunCmd(io, nil),
		newBatchCmd(io, nil),
		newValidateCmd(io, nil),
		newPriorsCmd(io, nil),
		newRenderCmd(io, nil),
		newSummaryCmd(io, nil),
		newDiagnoseCmd(io, nil),
		newCompareCmd(io, nil),
		newOptimiseCmd(io, nil),
		newForecastCmd(io, nil),
		newExampleCmd(io, nil),
		newCalibrateCmd(io, nil),
	)
	return root
}

// profileCPU adds the hidden --cpuprofile FILE: the command's CPU profile, for `go tool
// pprof`, to see where a whole run's time goes outside the sampler.
func profileCPU(root *cobra.Command) {
	var path string
	var f *os.File
	root.PersistentFlags().StringVar(&path, "cpuprofile", "", "write a CPU profile of the command to `FILE`")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if path == "" {
			return nil
		}
		var err error
		if f, err = os.Create(path); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRunE = func(cmd *cobra.Command, args []string) error {
		if f == nil {
			return nil
		}
		pprof.StopCPUProfile()
		return f.Close()
	}
}

// interruption returns err, unless it is a bare context.Canceled, which a command
// stopped by Ctrl-C or SIGTERM may return from a step that only checks its context:
// that becomes the documented "cmdstan: interrupted: …" error.
func interruption(ctx context.Context, err error) error {
	if !errors.Is(err, context.Canceled) || errors.Is(err, cmdstan.ErrInterrupted) {
		return err
	}
	cause := context.Cause(ctx)
	if cause == nil {
		cause = err
	}
	return fmt.Errorf("%w: stopped (%w)", cmdstan.ErrInterrupted, cause)
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var (
		fe *flagError
		re *cmdstan.RunError
		ce *cmdstan.CompileError
		te *cmdstan.TimeoutError
		ge *diagnostics.GateError
	)
	switch {
	case errors.As(err, &fe):
		return exitUsage
	case errors.Is(err, cmdstan.ErrInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &re), errors.As(err, &ce), errors.As(err, &te):
		return exitCmdStan
	case errors.As(err, &ge):
		return exitGate
	}
	return exitError
}
