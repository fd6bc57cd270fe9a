package cmdstan

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound reports that no CmdStan install was found. The error returned by Find
// wraps it and says where it looked and how to install one.
var ErrNotFound = errors.New("cmdstan: CmdStan not found")

// ErrIncomplete reports a CmdStan folder that is not a finished install: it lacks
// files that compiling a model needs (bin/stanc, CmdStan's compiled main program, the
// Stan or Stan Math sources). The error returned by Find wraps it and names what is
// missing and how to fix it.
var ErrIncomplete = errors.New("cmdstan: CmdStan install is incomplete")

// ErrInterrupted reports a compile or run stopped because the caller's context was
// cancelled (Ctrl-C) or a process was interrupted by SIGINT. Output written so far is
// kept.
var ErrInterrupted = errors.New("cmdstan: interrupted")

// tailLines is how many lines of a process's output an error message quotes.
const tailLines = 20

// RunError reports a CmdStan process (sampler chain or optimizer run) that exited
// with an error. Its message quotes the tail of the process's stderr.
type RunError struct {
	// Args is the full command line, program first.
	Args []string
	// ExitCode is the process's exit code, -1 when it was killed by a signal.
	ExitCode int
	// Stderr holds what the process wrote to stderr (its last 64 KiB).
	Stderr string
	// Stdout holds the last lines the process wrote to stdout; CmdStan prints some
	// errors (bad arguments) there.
	Stdout string
	// Chain is the chain (or optimizer run) id, 0 when the process is not one.
	Chain int
	// Err is the underlying error from os/exec.
	Err error

	label string // what the process was, e.g. "chain 2"; "" names it by Chain
}

func (e *RunError) Error() string {
	var b strings.Builder
	b.WriteString("cmdstan: ")
	switch {
	case e.label != "":
		fmt.Fprintf(&b, "%s: ", e.label)
	case e.Chain > 0:
		fmt.Fprintf(&b, "chain %d: ", e.Chain)
	}
	if len(e.Args) > 0 {
		fmt.Fprintf(&b, "%s ", filepath.Base(e.Args[0]))
	}
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, "failed with exit code %d", e.ExitCode)
	} else {
		fmt.Fprintf(&b, "failed: %v", e.Err)
	}
	switch {
	case strings.TrimSpace(e.Stderr) != "":
		b.WriteString(":\n")
		b.WriteString(tail(e.Stderr, tailLines))
	case strings.TrimSpace(e.Stdout) != "":
		b.WriteString(" (nothing on stderr); last lines of stdout:\n")
		b.WriteString(tail(e.Stdout, tailLines))
	default:
		b.WriteString(" and printed nothing")
	}
	return b.String()
}

// Unwrap returns the underlying os/exec error.
func (e *RunError) Unwrap() error { return e.Err }

// CompileError reports a program that CmdStan could not build. When stanc rejected
// the program, Line, Column and Message come from stanc's report and the error
// shows the program lines around Line with a caret under Column.
type CompileError struct {
	// Program is the Stan program that failed.
	Program []byte
	// Output is everything make printed (stdout and stderr interleaved).
	Output string
	// Line is stanc's 1-based line number, 0 when the failure was not stanc's
	// (a C++ compiler or linker error).
	Line int
	// Column is stanc's 0-based column on Line.
	Column int
	// Message is stanc's message without its code excerpt: the headline
	// ("Syntax error in 'model_….stan', line 3, column 0 to column 1, parsing
	// error:") and the explanation. For other failures it is the tail of Output.
	Message string
	// Err is the underlying error from os/exec.
	Err error
}

func (e *CompileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("cmdstan: compile failed (%v); last lines of make's output:\n%s", e.Err, e.Message)
	}
	msg := "cmdstan: stanc rejected the program: " + e.Message
	if ex := excerpt(e.Program, e.Line, e.Column, 2); ex != "" {
		msg += "\n\n" + ex
	}
	return msg
}

// Unwrap returns the underlying os/exec error.
func (e *CompileError) Unwrap() error { return e.Err }

// TimeoutError reports a sampler run stopped because it overran
// SampleOptions.Timeout. The chains' partial output is kept.
type TimeoutError struct {
	// Timeout is the limit that was exceeded.
	Timeout time.Duration
	// Chains lists the chains that were still running when time ran out.
	Chains []int
	// NotStarted lists the chains that were waiting for a free core and never ran.
	NotStarted []int
	// OutDir is where the partial output is.
	OutDir string
}

func (e *TimeoutError) Error() string {
	notStarted := ""
	if len(e.NotStarted) > 0 {
		notStarted = fmt.Sprintf(" (chain(s) %s had not started)", joinInts(e.NotStarted))
	}
	return fmt.Sprintf("cmdstan: sampling did not finish within %v: stopped chain(s) %s%s; partial output kept in %s (raise the timeout, or check the model for hung chains)",
		e.Timeout, joinInts(e.Chains), notStarted, e.OutDir)
}

// Unwrap returns context.DeadlineExceeded, so errors.Is treats a timeout like any
// other deadline.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// tail returns the last n lines of s, trimmed of surrounding blank lines.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\r\n \t"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// excerpt shows program lines line-ctx..line+ctx, numbered, with a caret under the
// 0-based column of line. It returns "" when line is outside the program.
func excerpt(program []byte, line, column, ctx int) string {
	lines := strings.Split(strings.TrimRight(string(program), "\n"), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	lo, hi := max(1, line-ctx), min(len(lines), line+ctx)
	width := len(fmt.Sprint(hi))
	var b strings.Builder
	for i := lo; i <= hi; i++ {
		text := strings.TrimRight(lines[i-1], "\r")
		fmt.Fprintf(&b, "  %*d | %s\n", width, i, text)
		if i == line {
			// Keep tabs so the caret lines up with what the user's terminal shows.
			col := min(max(column, 0), len(text))
			pad := []byte(text[:col])
			for j, c := range pad {
				if c != '\t' {
					pad[j] = ' '
				}
			}
			fmt.Fprintf(&b, "  %*s | %s^\n", width, "", pad)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
