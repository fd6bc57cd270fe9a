package ingest

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Formula is a parsed model formula such as
//
//	log(kpi) ~ trend + m_tv + m_search + offset(base) + (1 + m_tv | market)
//
// The grammar is deliberately small (docs/architecture.md, decision 8): column names, +, 1/0 and - 1 for the
// intercept, log() on the response, offset(), group terms ( … | g ) and ( … || g ) with
// composite keys g1:g2. Everything else is rejected by ParseFormula with its position.
type Formula struct {
	// Response is the column on the left of ~; LogResponse is true for log(y) ~ ….
	Response    string
	LogResponse bool
	// Intercept is true unless the formula drops it with 0 or - 1.
	Intercept bool
	// Terms are the population terms in order: those listed outside the group terms first,
	// then those that appear only inside a group term (see Implicit).
	Terms []string
	// Implicit lists the terms that appear only inside a group term. Every group-varying term
	// needs a population effect to vary around, so these were appended to Terms; callers
	// should tell users.
	Implicit []string
	// Offset is the column in offset(…), "" when there is none.
	Offset string
	// Bars are the group terms in order.
	Bars []Bar
	// Source is the formula text as given.
	Source string
	// Refs lists every column the formula names, in source order, with its position, so
	// later checks (a column missing from the data) can point at it.
	Refs []Ref
}

// Bar is one group term: ( terms | factor ) or ( terms || factor ).
type Bar struct {
	// Factors is the grouping key: ["market"], or ["market", "brand"] for market:brand.
	Factors []string
	// Intercept is true when the group term has a varying intercept (the default; dropped
	// with 0 or - 1 inside the bar).
	Intercept bool
	// Terms are the group-varying slopes in order.
	Terms []string
	// Independent is true for ||: group effects are not correlated.
	Independent bool
	// Pos is the byte offset of the opening parenthesis.
	Pos int
}

// Factor returns the grouping key as written, e.g. "market:brand".
func (b Bar) Factor() string { return strings.Join(b.Factors, ":") }

// showFactor formats a grouping key for messages, each column name with show.
func showFactor(factors []string) string {
	parts := make([]string, len(factors))
	for i, f := range factors {
		parts[i] = show(f)
	}
	return strings.Join(parts, ":")
}

// Ref is one column named in a formula.
type Ref struct {
	Name string
	// Pos is the 0-based byte offset of the name (of its opening backtick when quoted).
	Pos int
	// Role says where the name appears: "response", "term" (a population term), "group term"
	// (a term inside ( … | g )), "offset" or "group" (a grouping column).
	Role string
}

// FormulaError reports a formula that cannot be used, with the position of the offending
// character. Error() shows the formula with a caret under that character.
type FormulaError struct {
	// Src is the formula text.
	Src string
	// Pos is the 0-based byte offset of the offending character (len(Src) for "end of formula").
	Pos int
	// Msg says what is wrong and what to do.
	Msg string
	// Where optionally names the formula's origin, e.g. "run.yaml:6:12"; it is printed
	// after the package prefix.
	Where string
}

// Error reports the position and the message, then the formula line with a caret under
// the offending character.
func (e *FormulaError) Error() string {
	where := ""
	if e.Where != "" {
		where = e.Where + ": "
	}
	return "ingest: " + where + e.render("formula")
}

// render formats "label: column C: msg" followed by the formula line and a caret under the
// offending character. Multi-line formulas name the line too.
func (e *FormulaError) render(label string) string {
	var b strings.Builder
	pos := min(max(e.Pos, 0), len(e.Src))
	lineStart := strings.LastIndexByte(e.Src[:pos], '\n') + 1
	lineEnd := strings.IndexByte(e.Src[pos:], '\n')
	if lineEnd < 0 {
		lineEnd = len(e.Src)
	} else {
		lineEnd += pos
	}
	col := utf8.RuneCountInString(e.Src[lineStart:pos]) + 1
	if strings.Contains(strings.TrimRight(e.Src, "\n"), "\n") {
		fmt.Fprintf(&b, "%s: line %d, column %d: %s", label, strings.Count(e.Src[:pos], "\n")+1, col, e.Msg)
	} else {
		fmt.Fprintf(&b, "%s: column %d: %s", label, col, e.Msg)
	}
	// Invisible characters (a CR, a terminal escape, a bidi override) are shown as U+FFFD,
	// one for one, so the echoed line cannot rewrite the terminal and the caret stays aligned.
	line := strings.Map(func(r rune) rune {
		if r != '\t' && !unicode.IsGraphic(r) {
			return utf8.RuneError
		}
		return r
	}, strings.TrimRight(e.Src[lineStart:lineEnd], "\r"))
	// The caret line copies tabs from the source so the caret lines up under them.
	var caret strings.Builder
	for _, r := range e.Src[lineStart:pos] {
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	fmt.Fprintf(&b, "\n  %s\n  %s^", line, caret.String())
	return b.String()
}

// Token kinds of the formula lexer.
type tokKind int

const (
	tEOF tokKind = iota
	tName
	tNumber
	tTilde
	tPlus
	tMinus
	tLParen
	tRParen
	tBar
	tDoubleBar
	tColon
)

type token struct {
	kind tokKind
	text string // the name (unquoted) or the number as written
	pos  int
}

// describe names a token for "unexpected …" messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of formula"
	case tName:
		return fmt.Sprintf("name %q", t.text)
	case tNumber:
		return fmt.Sprintf("number %s", t.text)
	case tDoubleBar:
		return `"||"`
	}
	return fmt.Sprintf("%q", t.text)
}

// punct maps one-character tokens to their kinds.
var punct = map[byte]tokKind{'~': tTilde, '+': tPlus, '-': tMinus, '(': tLParen, ')': tRParen, ':': tColon}

// lex splits src into tokens. It stops at the first character the grammar cannot use,
// returning the tokens before it, ended by a tEOF token at its position, and its error.
func lex(src string) ([]token, error) {
	var toks []token
	fail := func(pos int, format string, args ...any) ([]token, error) {
		return append(toks, token{kind: tEOF, pos: pos}), &FormulaError{Src: src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	i := 0
	for i < len(src) {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		case '~', '+', '-', '(', ')', ':':
			toks = append(toks, token{kind: punct[c], text: string(c), pos: i})
			i++
			continue
		case '|':
			if i+1 < len(src) && src[i+1] == '|' {
				toks = append(toks, token{kind: tDoubleBar, text: "||", pos: i})
				i += 2
			} else {
				toks = append(toks, token{kind: tBar, text: "|", pos: i})
				i++
			}
			continue
		case '`':
			end := strings.IndexAny(src[i+1:], "`\n")
			if end < 0 || src[i+1+end] != '`' {
				return fail(i, "unterminated backtick: close the quoted name with `")
			}
			name := src[i+1 : i+1+end]
			if strings.TrimSpace(name) == "" {
				return fail(i, "empty quoted name ``")
			}
			if !utf8.ValidString(name) {
				return fail(i, "quoted name is not valid UTF-8")
			}
			toks = append(toks, token{kind: tName, text: name, pos: i})
			i += end + 2
			continue
		case '*':
			return fail(i, `unexpected "*" (interactions are not supported; add a column with the product)`)
		case '^':
			return fail(i, `unexpected "^" (powers and interaction expansion are not supported; add a column with the values)`)
		case '/':
			return fail(i, `unexpected "/" (nesting and division are not supported; use a composite key g1:g2 in a group term, or add a column)`)
		case '%':
			return fail(i, `unexpected "%%" (operators such as %%in%% are not supported)`)
		case '"', '\'':
			return fail(i, "unexpected %q (quote column names with backticks, e.g. `tv spend`)", string(c))
		case '_':
			return fail(i, "names cannot start with \"_\"; quote such a column with backticks, e.g. `%s`", identAt(src, i))
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fail(i, "unexpected byte 0x%02x (the formula is not valid UTF-8)", c)
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && src[k] >= '0' && src[k] <= '9' {
					for k < len(src) && src[k] >= '0' && src[k] <= '9' {
						k++
					}
					j = k
				}
			}
			if j < len(src) {
				if r, _ := utf8.DecodeRuneInString(src[j:]); isNameRune(r) {
					return fail(i, "names cannot start with a digit; quote such a column with backticks, e.g. `%s`", identAt(src, i))
				}
			}
			toks = append(toks, token{kind: tNumber, text: src[i:j], pos: i})
			i = j
		case r == '.' || unicode.IsLetter(r):
			j := i
			for j < len(src) {
				r, size := utf8.DecodeRuneInString(src[j:])
				if !isNameRune(r) {
					break
				}
				j += size
			}
			if src[i:j] == "." {
				return fail(i, `unexpected "." (the all-columns shorthand is not supported; list the columns)`)
			}
			toks = append(toks, token{kind: tName, text: src[i:j], pos: i})
			i = j
		default:
			return fail(i, "unexpected %q", string(r))
		}
	}
	toks = append(toks, token{kind: tEOF, pos: len(src)})
	return toks, nil
}

// isNameRune reports whether r may continue an R-style name.
func isNameRune(r rune) bool {
	return r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// identAt returns the run of name characters starting at i, for suggestions.
func identAt(src string, i int) string {
	j := i
	for j < len(src) {
		r, size := utf8.DecodeRuneInString(src[j:])
		if !isNameRune(r) {
			break
		}
		j += size
	}
	return src[i:j]
}

// parser is a recursive-descent parser over the token list.
type parser struct {
	src  string
	toks []token
	i    int
	f    *Formula

	atEnd       bool // the parser has looked at the last (tEOF) token
	interceptAt int  // position of the population 1/0/-1, -1 when not written
	termAt      map[string]int
	offsetAt    int
	factorAt    map[string]int
}

// ParseFormula parses a model formula. Errors are *FormulaError.
//
// When the formula holds a character the grammar cannot use, the tokens before it are
// parsed first: a mistake there, found before the parser reaches that character, is the
// one reported (so poly(x, 2) is refused as a function, not for its comma).
func ParseFormula(src string) (*Formula, error) {
	toks, lexErr := lex(src)
	p := &parser{
		src: src, toks: toks,
		f:           &Formula{Source: src, Intercept: true},
		interceptAt: -1, offsetAt: -1,
		termAt:   map[string]int{},
		factorAt: map[string]int{},
	}
	err := p.formula()
	switch {
	case lexErr != nil && (err == nil || p.atEnd):
		return nil, lexErr
	case err != nil:
		return nil, err
	}
	return p.f, nil
}

func (p *parser) peek() token { return p.look(p.toks[p.i]) }
func (p *parser) next() token {
	t := p.look(p.toks[p.i])
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// look records that the parser has seen the last token.
func (p *parser) look(t token) token {
	if t.kind == tEOF {
		p.atEnd = true
	}
	return t
}

func (p *parser) errf(pos int, format string, args ...any) error {
	return &FormulaError{Src: p.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// col is the 1-based column of pos on its line, as FormulaError prints it.
func (p *parser) col(pos int) int {
	start := strings.LastIndexByte(p.src[:pos], '\n') + 1
	return utf8.RuneCountInString(p.src[start:pos]) + 1
}

func (p *parser) ref(name string, pos int, role string) {
	p.f.Refs = append(p.f.Refs, Ref{Name: name, Pos: pos, Role: role})
}

// formula := lhs "~" rhs EOF
func (p *parser) formula() error {
	if err := p.lhs(); err != nil {
		return err
	}
	t := p.next()
	if t.kind != tTilde {
		if t.kind == tEOF {
			return p.errf(t.pos, "expected ~ after the response (a formula reads y ~ x1 + x2)")
		}
		return p.errf(t.pos, "unexpected %s; expected ~ after the response", t.describe())
	}
	if err := p.sum(nil); err != nil {
		return err
	}
	switch t := p.peek(); t.kind {
	case tEOF:
	case tRParen:
		return p.errf(t.pos, `unexpected ")" with no matching "("`)
	case tTilde:
		return p.errf(t.pos, "~ may appear only once")
	default:
		return p.errf(t.pos, "unexpected %s", t.describe())
	}
	return p.finish()
}

// lhs := name | "log" "(" name ")"
func (p *parser) lhs() error {
	t := p.next()
	switch t.kind {
	case tName:
	case tTilde:
		return p.errf(t.pos, "the formula has no response: write the KPI column before ~")
	case tEOF:
		return p.errf(t.pos, "the formula is empty: write it as y ~ x1 + x2")
	default:
		return p.errf(t.pos, "unexpected %s; the formula must start with the response column", t.describe())
	}
	if p.peek().kind != tLParen {
		p.f.Response = t.text
		p.ref(t.text, t.pos, "response")
		return nil
	}
	if t.text != "log" {
		return p.errf(t.pos, "%s() is not supported on the response; only log(y) is (or add a column with the transformed KPI)", show(t.text))
	}
	p.next()
	arg := p.next()
	if arg.kind != tName {
		return p.errf(arg.pos, "unexpected %s; log() takes one column name", arg.describe())
	}
	if p.peek().kind == tLParen {
		return p.errf(arg.pos, "%s() is not supported inside log(); add a column with the transformed KPI", show(arg.text))
	}
	if c := p.next(); c.kind != tRParen {
		return p.errf(c.pos, "unexpected %s; log() takes one column name, then )", c.describe())
	}
	p.f.Response, p.f.LogResponse = arg.text, true
	p.ref(arg.text, arg.pos, "response")
	return nil
}

// sum := ["-"] item { ("+" | "-") item }; bar is nil for the population part.
func (p *parser) sum(bar *barState) error {
	minusAt := -1
	if t := p.peek(); t.kind == tMinus {
		p.next()
		minusAt = t.pos
	}
	for {
		if err := p.item(bar, minusAt); err != nil {
			return err
		}
		switch t := p.peek(); t.kind {
		case tPlus, tMinus:
			p.next()
			minusAt = -1
			if t.kind == tMinus {
				minusAt = t.pos
			}
			continue
		case tEOF, tTilde:
			if bar != nil {
				return p.errf(bar.open, "unclosed group term: expected | and a grouping column, then )")
			}
		case tBar, tDoubleBar:
			if bar == nil {
				return p.errf(t.pos, "unexpected %s outside a group term; write ( … | g )", t.describe())
			}
		case tRParen:
			if bar != nil {
				return p.errf(t.pos, `expected | and a grouping column before ")" (parentheses are only for group terms such as (1 + x | g))`)
			}
		case tColon:
			return p.errf(t.pos, msgColon)
		default:
			return p.errf(t.pos, "unexpected %s; join terms with +", t.describe())
		}
		return nil
	}
}

const msgColon = `unexpected ":" (interactions a:b are not supported; add a column with the product. g1:g2 is allowed only as a grouping key after |)`

// barState collects one group term while it is parsed.
type barState struct {
	open        int
	bar         Bar
	interceptAt int
	termAt      map[string]int
}

// item := name | "0" | "1" | "offset" "(" name ")" | "(" sum ("|" | "||") key ")"
// minusAt is the position of a preceding "-", or -1.
func (p *parser) item(bar *barState, minusAt int) error {
	t := p.peek()
	minus := minusAt >= 0
	if minus && t.kind != tNumber {
		if t.kind == tEOF || t.kind == tBar || t.kind == tDoubleBar || t.kind == tRParen {
			return p.errf(t.pos, "unexpected %s after -; only - 1 (drop the intercept) is supported", t.describe())
		}
		return p.errf(minusAt, "removing terms with - is not supported (only - 1, to drop the intercept); delete the term instead")
	}
	switch t.kind {
	case tNumber:
		p.next()
		if t.text != "0" && t.text != "1" {
			return p.errf(t.pos, "unexpected number %s (only 1 or 0 may appear, to keep or drop the intercept)", t.text)
		}
		if minus && t.text == "0" {
			return p.errf(t.pos, "- 0 is ambiguous; write + 1 to keep the intercept or - 1 to drop it")
		}
		keep := t.text == "1" && !minus
		at := &p.interceptAt
		if bar != nil {
			at = &bar.interceptAt
		}
		if *at >= 0 {
			return p.errf(t.pos, "the intercept is already set at column %d; set it once", p.col(*at))
		}
		*at = t.pos
		if bar != nil {
			bar.bar.Intercept = keep
		} else {
			p.f.Intercept = keep
		}
		return nil
	case tLParen:
		if bar != nil {
			return p.errf(t.pos, "unexpected \"(\" inside a group term; group terms cannot be nested")
		}
		return p.bar()
	case tName:
		p.next()
		if p.peek().kind == tLParen {
			return p.call(t, bar)
		}
		if p.peek().kind == tColon {
			return p.errf(p.peek().pos, msgColon)
		}
		return p.term(t, bar)
	case tEOF:
		return p.errf(t.pos, "expected a term, found the end of the formula")
	case tRParen:
		if bar == nil {
			return p.errf(t.pos, `unexpected ")" with no matching "("`)
		}
		return p.errf(t.pos, "expected a term before \")\"")
	}
	return p.errf(t.pos, "unexpected %s; expected a column name", t.describe())
}

// call handles name( … ): offset() on the right; every other function is rejected.
func (p *parser) call(fn token, bar *barState) error {
	switch fn.text {
	case "offset":
	case "log":
		return p.errf(fn.pos, "log() is allowed only on the response, left of ~; add a column with the log of the values")
	case "I":
		return p.errf(fn.pos, "I() expressions are not supported; add a column with the computed values")
	default:
		return p.errf(fn.pos, "functions such as %s() are not supported; add a column with the transformed values", show(fn.text))
	}
	if bar != nil {
		return p.errf(fn.pos, "offset() cannot appear inside a group term; move it outside the parentheses")
	}
	if p.offsetAt >= 0 {
		return p.errf(fn.pos, "offset() may appear only once (first at column %d)", p.col(p.offsetAt))
	}
	p.next() // (
	arg := p.next()
	if arg.kind != tName {
		return p.errf(arg.pos, "unexpected %s; offset() takes one column name", arg.describe())
	}
	if p.peek().kind == tLParen {
		return p.errf(arg.pos, "%s() is not supported inside offset(); add a column with the transformed values", show(arg.text))
	}
	if c := p.next(); c.kind != tRParen {
		return p.errf(c.pos, "unexpected %s; offset() takes one column name, then )", c.describe())
	}
	if arg.text == p.f.Response {
		return p.errf(arg.pos, "the response %q cannot also be the offset", arg.text)
	}
	if at, ok := p.termAt[arg.text]; ok {
		return p.errf(arg.pos, "%q is already a term (column %d); a column cannot be both a term and the offset", arg.text, p.col(at))
	}
	p.offsetAt = fn.pos
	p.f.Offset = arg.text
	p.ref(arg.text, arg.pos, "offset")
	return nil
}

// term records a column used as a term, in the population or in a group term.
func (p *parser) term(t token, bar *barState) error {
	if t.text == p.f.Response {
		return p.errf(t.pos, "the response %q cannot also be a term", t.text)
	}
	if t.text == p.f.Offset {
		return p.errf(t.pos, "%q is already the offset; a column cannot be both a term and the offset", t.text)
	}
	if bar != nil {
		if at, ok := bar.termAt[t.text]; ok {
			return p.errf(t.pos, "term %q appears twice in this group term (first at column %d)", t.text, p.col(at))
		}
		bar.termAt[t.text] = t.pos
		bar.bar.Terms = append(bar.bar.Terms, t.text)
	} else {
		if at, ok := p.termAt[t.text]; ok {
			return p.errf(t.pos, "term %q appears twice (first at column %d)", t.text, p.col(at))
		}
		p.termAt[t.text] = t.pos
		p.f.Terms = append(p.f.Terms, t.text)
	}
	if bar != nil {
		p.ref(t.text, t.pos, "group term")
	} else {
		p.ref(t.text, t.pos, "term")
	}
	return nil
}

// bar := "(" sum ("|" | "||") name { ":" name } ")"
func (p *parser) bar() error {
	open := p.next()
	if p.peek().kind == tRParen {
		return p.errf(open.pos, "empty parentheses; a group term reads (1 + x | g)")
	}
	b := &barState{open: open.pos, interceptAt: -1, termAt: map[string]int{}, bar: Bar{Intercept: true, Pos: open.pos}}
	if t := p.peek(); t.kind == tBar || t.kind == tDoubleBar {
		return p.errf(t.pos, "expected the group-varying terms before %s, e.g. (1 | g)", t.describe())
	}
	if err := p.sum(b); err != nil {
		return err
	}
	sep := p.next() // | or ||, guaranteed by sum
	b.bar.Independent = sep.kind == tDoubleBar
	keyAt := p.peek().pos
	for {
		t := p.next()
		if t.kind != tName {
			return p.errf(t.pos, "unexpected %s; expected a grouping column after %s", t.describe(), sep.describe())
		}
		if p.peek().kind == tLParen {
			return p.errf(t.pos, "functions such as %s() are not supported in a grouping key; add a column with the groups", show(t.text))
		}
		for _, f := range b.bar.Factors {
			if f == t.text {
				return p.errf(t.pos, "%q appears twice in the grouping key", t.text)
			}
		}
		b.bar.Factors = append(b.bar.Factors, t.text)
		p.ref(t.text, t.pos, "group")
		if p.peek().kind != tColon {
			break
		}
		p.next()
	}
	if c := p.next(); c.kind != tRParen {
		if c.kind == tEOF {
			return p.errf(open.pos, "unclosed group term: expected \")\"")
		}
		return p.errf(c.pos, "unexpected %s; expected \")\" to close the group term opened at column %d", c.describe(), p.col(open.pos))
	}
	if !b.bar.Intercept && len(b.bar.Terms) == 0 {
		return p.errf(open.pos, "the group term has no terms: it drops the intercept and lists no columns")
	}
	key := b.bar.Factor()
	if at, ok := p.factorAt[key]; ok {
		return p.errf(keyAt, "grouping key %q is already used at column %d; put all its terms in one group term", key, p.col(at))
	}
	p.factorAt[key] = keyAt
	p.f.Bars = append(p.f.Bars, b.bar)
	return nil
}

// finish applies the rules that need the whole formula.
func (p *parser) finish() error {
	f := p.f
	for _, b := range f.Bars {
		if b.Intercept && !f.Intercept {
			return p.errf(b.Pos, "the group term has a varying intercept but the formula drops the population intercept; remove the 0 / - 1 or write (0 + … | %s)", showFactor(b.Factors))
		}
		for _, t := range b.Terms {
			if t == f.Offset {
				return p.errf(b.Pos, "%q is the offset; a column cannot be both a group-varying term and the offset", t)
			}
			if _, ok := p.termAt[t]; ok {
				continue
			}
			p.termAt[t] = b.Pos
			f.Terms = append(f.Terms, t)
			f.Implicit = append(f.Implicit, t)
		}
		for _, g := range b.Factors {
			if g == f.Response {
				return p.errf(b.Pos, "the response %q cannot be a grouping column", g)
			}
		}
	}
	if !f.Intercept && len(f.Terms) == 0 {
		pos := p.interceptAt
		return p.errf(pos, "the formula has no terms: it drops the intercept and lists no columns")
	}
	return nil
}
