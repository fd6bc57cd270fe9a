package cmdstan

import (
	"errors"
	"strings"
	"testing"
)

func TestExcerpt(t *testing.T) {
	program := []byte("data {\n\tint N;\n}\nmodel {\n}\n")
	for _, tc := range []struct {
		line, col int
		want      string
	}{
		// The caret keeps the line's tab so it sits under the same character.
		{2, 5, "  1 | data {\n  2 | \tint N;\n    | \t    ^\n  3 | }\n  4 | model {"},
		{1, 0, "  1 | data {\n    | ^\n  2 | \tint N;\n  3 | }"},
		{5, 99, "  3 | }\n  4 | model {\n  5 | }\n    |  ^"},
		{6, 0, ""},
		{0, 0, ""},
	} {
		if got := excerpt(program, tc.line, tc.col, 2); got != tc.want {
			t.Errorf("excerpt(line %d, col %d) =\n%s\nwant\n%s", tc.line, tc.col, got, tc.want)
		}
	}
	// Line numbers are right-aligned when they change width.
	long := []byte(strings.Repeat("x\n", 12))
	if got := excerpt(long, 10, 0, 1); got != "   9 | x\n  10 | x\n     | ^\n  11 | x" {
		t.Errorf("excerpt around line 10 =\n%s", got)
	}
}

func TestTail(t *testing.T) {
	if got := tail("\n\na\nb\nc\n\n", 2); got != "b\nc" {
		t.Errorf("tail = %q; want %q", got, "b\nc")
	}
	if got := tail("only", 5); got != "only" {
		t.Errorf("tail = %q", got)
	}
}

func TestErrorsUnwrap(t *testing.T) {
	cause := errors.New("exit status 2")
	if !errors.Is(&CompileError{Err: cause}, cause) || !errors.Is(&RunError{Err: cause}, cause) {
		t.Error("CompileError or RunError does not unwrap to its cause")
	}
	te := &TimeoutError{Timeout: 90e9, Chains: []int{2, 4}, OutDir: "/runs/x"}
	want := "cmdstan: sampling did not finish within 1m30s: stopped chain(s) 2, 4; partial output kept in /runs/x (raise the timeout, or check the model for hung chains)"
	if te.Error() != want {
		t.Errorf("TimeoutError =\n%s\nwant\n%s", te, want)
	}
}
