package ingest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseFormula(t *testing.T) {
	tests := []struct {
		src  string
		want Formula // Source and Refs are not compared here
	}{
		{
			src:  "kpi ~ m_tv + m_search",
			want: Formula{Response: "kpi", Intercept: true, Terms: []string{"m_tv", "m_search"}},
		},
		{
			src: "log(kpi) ~ trend + offset(base) + (1 + m_tv | market)",
			want: Formula{Response: "kpi", LogResponse: true, Intercept: true, Terms: []string{"trend", "m_tv"}, Implicit: []string{"m_tv"}, Offset: "base",
				Bars: []Bar{{Factors: []string{"market"}, Intercept: true, Terms: []string{"m_tv"}, Pos: 34}}},
		},
		{
			src: "y ~ 0 + x + (0 + x || market:brand)",
			want: Formula{Response: "y", Terms: []string{"x"},
				Bars: []Bar{{Factors: []string{"market", "brand"}, Terms: []string{"x"}, Independent: true, Pos: 12}}},
		},
		{src: "y ~ x - 1", want: Formula{Response: "y", Terms: []string{"x"}}},
		{src: "y ~ -1 + x", want: Formula{Response: "y", Terms: []string{"x"}}},
		{src: "y ~ x + 0", want: Formula{Response: "y", Terms: []string{"x"}}},
		{src: "y ~ 1 + x", want: Formula{Response: "y", Intercept: true, Terms: []string{"x"}}},
		{src: "y ~ 1", want: Formula{Response: "y", Intercept: true}},
		{src: "log ~ offset", want: Formula{Response: "log", Intercept: true, Terms: []string{"offset"}}},
		{src: "y ~ `tv spend` + m.x + .hidden + x_2", want: Formula{Response: "y", Intercept: true, Terms: []string{"tv spend", "m.x", ".hidden", "x_2"}}},
		{src: "y ~ (m_tv | g)", want: Formula{Response: "y", Intercept: true, Terms: []string{"m_tv"}, Implicit: []string{"m_tv"},
			Bars: []Bar{{Factors: []string{"g"}, Intercept: true, Terms: []string{"m_tv"}, Pos: 4}}}},
		{src: "y ~ a + (1 | g) + (0 + b | h)", want: Formula{Response: "y", Intercept: true, Terms: []string{"a", "b"}, Implicit: []string{"b"},
			Bars: []Bar{{Factors: []string{"g"}, Intercept: true, Pos: 8}, {Factors: []string{"h"}, Terms: []string{"b"}, Pos: 18}}}},
		{src: "y ~\n  a +\n\tb", want: Formula{Response: "y", Intercept: true, Terms: []string{"a", "b"}}},
		{src: "ventes ~ télé + `prix (€)`", want: Formula{Response: "ventes", Intercept: true, Terms: []string{"télé", "prix (€)"}}},
	}
	for _, tt := range tests {
		got, err := ParseFormula(tt.src)
		if err != nil {
			t.Errorf("ParseFormula(%q): %v", tt.src, err)
			continue
		}
		if got.Source != tt.src {
			t.Errorf("ParseFormula(%q).Source = %q", tt.src, got.Source)
		}
		g := *got
		g.Source, g.Refs = "", nil
		if !reflect.DeepEqual(g, tt.want) {
			t.Errorf("ParseFormula(%q) =\n%+v; want\n%+v", tt.src, g, tt.want)
		}
	}
}

func TestParseFormulaRefs(t *testing.T) {
	f, err := ParseFormula("log(y) ~ a + offset(o) + (b | g:`h h`)")
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{{"y", 4, "response"}, {"a", 9, "term"}, {"o", 20, "offset"}, {"b", 26, "group term"}, {"g", 30, "group"}, {"h h", 32, "group"}}
	if !reflect.DeepEqual(f.Refs, want) {
		t.Errorf("Refs = %v; want %v", f.Refs, want)
	}
}

func TestParseFormulaErrors(t *testing.T) {
	tests := []struct {
		src     string
		pos     int
		wantErr string
	}{
		{"kpi ~ m_tv + m_search * price", 22, `ingest: formula: column 23: unexpected "*" (interactions are not supported; add a column with the product)
  kpi ~ m_tv + m_search * price
                        ^`},
		{"y ~ a:b", 5, `ingest: formula: column 6: unexpected ":" (interactions a:b are not supported; add a column with the product. g1:g2 is allowed only as a grouping key after |)
  y ~ a:b
       ^`},
		{"y ~ x^2", 5, `ingest: formula: column 6: unexpected "^" (powers and interaction expansion are not supported; add a column with the values)
  y ~ x^2
       ^`},
		{"y ~ I(x)", 4, `ingest: formula: column 5: I() expressions are not supported; add a column with the computed values
  y ~ I(x)
      ^`},
		{"y ~ exp(x)", 4, `ingest: formula: column 5: functions such as exp() are not supported; add a column with the transformed values
  y ~ exp(x)
      ^`},
		{"y ~ log(x)", 4, `ingest: formula: column 5: log() is allowed only on the response, left of ~; add a column with the log of the values
  y ~ log(x)
      ^`},
		{"exp(y) ~ x", 0, `ingest: formula: column 1: exp() is not supported on the response; only log(y) is (or add a column with the transformed KPI)
  exp(y) ~ x
  ^`},
		{"y ~ x; z", 5, `ingest: formula: column 6: unexpected ";"
  y ~ x; z
       ^`},
		{"y ~ {x}", 4, `ingest: formula: column 5: unexpected "{"
  y ~ {x}
      ^`},
		{"y ~ a )", 6, `ingest: formula: column 7: unexpected ")" with no matching "("
  y ~ a )
        ^`},
		{"y ~ a + 2", 8, `ingest: formula: column 9: unexpected number 2 (only 1 or 0 may appear, to keep or drop the intercept)
  y ~ a + 2
          ^`},
		{"y ~ 1.0 + a", 4, `ingest: formula: column 5: unexpected number 1.0 (only 1 or 0 may appear, to keep or drop the intercept)
  y ~ 1.0 + a
      ^`},
		{"y ~ a + a", 8, `ingest: formula: column 9: term "a" appears twice (first at column 5)
  y ~ a + a
          ^`},
		{"y ~ a + offset(b) + offset(c)", 20, `ingest: formula: column 21: offset() may appear only once (first at column 9)
  y ~ a + offset(b) + offset(c)
                      ^`},
		{"y ~ a ~ b", 6, `ingest: formula: column 7: ~ may appear only once
  y ~ a ~ b
        ^`},
		{"y + x", 2, `ingest: formula: column 3: unexpected "+"; expected ~ after the response
  y + x
    ^`},
		{"", 0, "ingest: formula: column 1: the formula is empty: write it as y ~ x1 + x2\n  \n  ^"},
		{"y ~ ", 4, `ingest: formula: column 5: expected a term, found the end of the formula
  y ~ 
      ^`},
		{"y ~ a - b", 6, `ingest: formula: column 7: removing terms with - is not supported (only - 1, to drop the intercept); delete the term instead
  y ~ a - b
        ^`},
		{"y ~ 0", 4, `ingest: formula: column 5: the formula has no terms: it drops the intercept and lists no columns
  y ~ 0
      ^`},
		{"y ~ 1 + a + 0", 12, `ingest: formula: column 13: the intercept is already set at column 5; set it once
  y ~ 1 + a + 0
              ^`},
		{"y ~ a + (b | g", 8, `ingest: formula: column 9: unclosed group term: expected ")"
  y ~ a + (b | g
          ^`},
		{"y ~ a + (b + c)", 14, `ingest: formula: column 15: expected | and a grouping column before ")" (parentheses are only for group terms such as (1 + x | g))
  y ~ a + (b + c)
                ^`},
		{"y ~ (1 | g) + (a | g)", 19, `ingest: formula: column 20: grouping key "g" is already used at column 10; put all its terms in one group term
  y ~ (1 | g) + (a | g)
                     ^`},
		{"y ~ 0 + a + (a | g)", 12, `ingest: formula: column 13: the group term has a varying intercept but the formula drops the population intercept; remove the 0 / - 1 or write (0 + … | g)
  y ~ 0 + a + (a | g)
              ^`},
		{"y ~ (0 | g)", 4, `ingest: formula: column 5: the group term has no terms: it drops the intercept and lists no columns
  y ~ (0 | g)
      ^`},
		{"y ~ a | g", 6, `ingest: formula: column 7: unexpected "|" outside a group term; write ( … | g )
  y ~ a | g
        ^`},
		{"y ~ (a | offset(g))", 9, `ingest: formula: column 10: functions such as offset() are not supported in a grouping key; add a column with the groups
  y ~ (a | offset(g))
           ^`},
		{"y ~ (offset(a) | g)", 5, `ingest: formula: column 6: offset() cannot appear inside a group term; move it outside the parentheses
  y ~ (offset(a) | g)
       ^`},
		{"y ~ y", 4, `ingest: formula: column 5: the response "y" cannot also be a term
  y ~ y
      ^`},
		{"y ~ a + offset(a)", 15, `ingest: formula: column 16: "a" is already a term (column 5); a column cannot be both a term and the offset
  y ~ a + offset(a)
                 ^`},
		{"y ~ 2x", 4, "ingest: formula: column 5: names cannot start with a digit; quote such a column with backticks, e.g. `2x`\n  y ~ 2x\n      ^"},
		{"y ~ _x", 4, "ingest: formula: column 5: names cannot start with \"_\"; quote such a column with backticks, e.g. `_x`\n  y ~ _x\n      ^"},
		{"y ~ `tv", 4, "ingest: formula: column 5: unterminated backtick: close the quoted name with `\n  y ~ `tv\n      ^"},
		{"y ~ \"tv\"", 4, "ingest: formula: column 5: unexpected \"\\\"\" (quote column names with backticks, e.g. `tv spend`)\n  y ~ \"tv\"\n      ^"},
		{"y ~ .", 4, `ingest: formula: column 5: unexpected "." (the all-columns shorthand is not supported; list the columns)
  y ~ .
      ^`},
		// Columns count characters, not bytes; the caret follows.
		{"y ~ télé * x", 11, `ingest: formula: column 10: unexpected "*" (interactions are not supported; add a column with the product)
  y ~ télé * x
           ^`},
		// Multi-line formulas (YAML block scalars) name the line.
		{"kpi ~ a +\n  b * c", 14, `ingest: formula: line 2, column 5: unexpected "*" (interactions are not supported; add a column with the product)
    b * c
      ^`},
	}
	for _, tt := range tests {
		_, err := ParseFormula(tt.src)
		var fe *FormulaError
		if !errors.As(err, &fe) {
			t.Errorf("ParseFormula(%q) error = %v; want a *FormulaError", tt.src, err)
			continue
		}
		if fe.Pos != tt.pos {
			t.Errorf("ParseFormula(%q) Pos = %d; want %d", tt.src, fe.Pos, tt.pos)
		}
		if got := err.Error(); got != tt.wantErr {
			t.Errorf("ParseFormula(%q) error =\n%s\nwant\n%s", tt.src, got, tt.wantErr)
		}
	}
}

// FuzzParseFormula checks that any input either parses into a consistent formula or fails
// with a *FormulaError pointing inside the source. Seeds are in testdata/fuzz/FuzzParseFormula.
func FuzzParseFormula(f *testing.F) {
	f.Add("kpi ~ m_tv + (1 + m_tv || market:brand) + offset(o) - 1")
	f.Fuzz(func(t *testing.T, src string) {
		got, err := ParseFormula(src)
		if err != nil {
			var fe *FormulaError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseFormula(%q) error %T %v; want *FormulaError", src, err, err)
			}
			if fe.Pos < 0 || fe.Pos > len(src) || fe.Src != src || fe.Msg == "" {
				t.Fatalf("ParseFormula(%q): bad FormulaError %+v", src, fe)
			}
			if !strings.Contains(err.Error(), "^") {
				t.Fatalf("ParseFormula(%q): no caret in %q", src, err.Error())
			}
			return
		}
		if got.Response == "" || !got.Intercept && len(got.Terms) == 0 {
			t.Fatalf("ParseFormula(%q) = %+v: no response or no terms", src, got)
		}
		seen := map[string]bool{}
		for _, term := range got.Terms {
			if seen[term] || term == got.Response || term == got.Offset || term == "" {
				t.Fatalf("ParseFormula(%q): bad term %q in %v", src, term, got.Terms)
			}
			seen[term] = true
		}
		for _, b := range got.Bars {
			if b.Intercept && !got.Intercept {
				t.Fatalf("ParseFormula(%q): bar intercept without population intercept", src)
			}
			for _, term := range b.Terms {
				if !seen[term] {
					t.Fatalf("ParseFormula(%q): bar term %q is not a population term", src, term)
				}
			}
		}
		for _, r := range got.Refs {
			if r.Pos < 0 || r.Pos >= len(src) {
				t.Fatalf("ParseFormula(%q): ref %+v outside the source", src, r)
			}
		}
	})
}
