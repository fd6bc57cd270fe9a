package stanio

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"testing"
)

// FuzzReadCSV feeds the reader arbitrary bytes. Its seed corpus, in
// testdata/fuzz/FuzzReadCSV, holds snippets of the CmdStan 2.33 fixtures in testdata/csv plus
// hand-written dense-metric, CmdStan 1.x and CRLF cases. It asserts that the reader never
// panics, that every error is a *CSVError naming a line of the input, and that a parsed chain
// is rectangular.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("lp__,theta\n-6.8,0.19\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadCSV(bytes.NewReader(data))
		if err != nil {
			var ce *CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *CSVError", err, err)
			}
			if lines := bytes.Count(data, []byte{'\n'}) + 1; ce.Line < 1 || ce.Line > lines {
				t.Fatalf("error %v names line %d of %d", err, ce.Line, lines)
			}
			return
		}
		if len(c.Columns) == 0 || len(c.Draws) != len(c.Columns) {
			t.Fatalf("%d columns, %d draw columns", len(c.Columns), len(c.Draws))
		}
		for j := range c.Draws {
			if len(c.Draws[j]) != c.NumDraws() {
				t.Fatalf("column %d has %d draws; column 0 has %d", j, len(c.Draws[j]), c.NumDraws())
			}
		}
		if c.Warmup != nil {
			if len(c.Warmup) != len(c.Columns) {
				t.Fatalf("%d warmup columns; want %d", len(c.Warmup), len(c.Columns))
			}
			for j := range c.Warmup {
				if len(c.Warmup[j]) != len(c.Warmup[0]) || len(c.Warmup[j]) == 0 {
					t.Fatalf("warmup column %d has %d draws; column 0 has %d", j, len(c.Warmup[j]), len(c.Warmup[0]))
				}
			}
		}
		if c.Config.Thin < 1 {
			t.Fatalf("Thin = %d", c.Config.Thin)
		}
	})
}

// FuzzParseDecimal checks the fast float path against strconv.ParseFloat, bit for bit.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"-6.86129", "1.28708e-10", "0.050000000000000003", "1e22", "9007199254740993", ".5", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, next, ok := parseDecimal([]byte(s), 0)
		if !ok || next != len(s) {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseDecimal(%q) = %v (%#x); strconv gives %v (%#x), %v",
				s, got, math.Float64bits(got), want, math.Float64bits(want), err)
		}
	})
}
