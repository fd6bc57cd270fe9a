package stanio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sync/errgroup"
)

// Chain is one parsed CmdStan output CSV (sample or optimize).
//
// Draws are stored column by column, because every consumer (Rhat, ESS, quantiles) works on
// one parameter at a time: Draws[j] is the whole chain of Columns[j].
type Chain struct {
	// Path is the file the chain was read from ("" for ReadCSV).
	Path string
	// Config is the run configuration from the comment header.
	Config Config
	// Columns are the column names as in the file: lp__, accept_stat__, ..., beta.1, z.1.2.
	Columns []string
	// Adaptation holds the step size and inverse metric written after warmup; it is the
	// zero value when the file has no "# Adaptation terminated" block (optimize, fixed_param).
	Adaptation Adaptation
	// Warmup[j] holds column j's saved warmup draws (save_warmup=1); nil when none were saved.
	Warmup [][]float64
	// Draws[j] holds column j's post-warmup draws; len(Draws) == len(Columns).
	Draws [][]float64
	// Timing is the elapsed time CmdStan reports at the end of the file.
	Timing Timing
}

// Config is the run configuration that CmdStan writes as `# key = value` comment lines at
// the top of every output CSV. Fields absent from the file keep their zero value, except
// Thin, which defaults to 1.
type Config struct {
	StanVersion string // "2.33.0", from stan_version_major/minor/patch
	Model       string
	Method      string // sample, optimize, variational, ...
	Algorithm   string // hmc, fixed_param, lbfgs, bfgs, newton, meanfield, ...
	Engine      string // nuts or static (sampling with hmc)
	NumSamples  int
	NumWarmup   int
	Thin        int
	SaveWarmup  bool
	// AdaptEngaged and AdaptDelta are the sampler's step-size adaptation settings.
	AdaptEngaged bool
	AdaptDelta   float64
	MaxDepth     int
	Metric       string // diag_e, dense_e or unit_e
	Seed         int64
	ID           int
	DataFile     string // the data section's file (CmdStan 1.x: the data line itself)
	OutputFile   string // the output section's file (CmdStan 1.x: output sample)
	Jacobian     bool   // optimize/laplace: jacobian adjustment applied
	// Raw holds every `key = value` header line with a trailing " (Default)" removed. Keys
	// are dotted paths of the enclosing section lines, so that repeated keys stay apart:
	// "model", "id", "sample.num_samples", "sample.adapt.delta", "sample.hmc.nuts.max_depth",
	// "data.file", "output.file", "random.seed", "optimize.lbfgs.tol_obj".
	Raw map[string]string
}

// Adaptation is the sampler state CmdStan writes after warmup.
type Adaptation struct {
	// StepSize is the adapted step size; NaN when CmdStan wrote "nan".
	StepSize float64
	// Metric is diag_e, dense_e or unit_e.
	Metric string
	// InvMetric is the inverse metric: K values for diag_e, K*K row-major for dense_e,
	// nil for unit_e.
	InvMetric []float64
}

// Timing is the elapsed time in seconds from the "Elapsed Time" lines at the end of a file.
type Timing struct {
	Warmup, Sampling, Total float64
}

// CSVError names the place of a malformed file.
type CSVError struct {
	Path string // "" when read with ReadCSV
	Line int    // 1-based line number
	Msg  string
}

// Error returns "stanio: path:line: msg" (or "stanio: line N: msg" without a path).
func (e *CSVError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("stanio: line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("stanio: %s:%d: %s", e.Path, e.Line, e.Msg)
}

// Column returns the index of the named column, or -1. It is a linear search; callers that
// look up many names should build their own map from Columns.
func (c *Chain) Column(name string) int {
	for i, n := range c.Columns {
		if n == name {
			return i
		}
	}
	return -1
}

// NumDraws returns the number of post-warmup draws.
func (c *Chain) NumDraws() int {
	if len(c.Draws) == 0 {
		return 0
	}
	return len(c.Draws[0])
}

// ReadCSV parses one CmdStan output CSV. A malformed file gives a *CSVError; a failed read
// gives the reader's error, wrapped. A sampler's file with fewer draws than its header
// promises (ceil(num_samples/thin)), or whose last line stops short, is malformed: it was
// cut short by a stopped run or a full disk, and reading it as a shorter chain would hide
// that.
func ReadCSV(r io.Reader) (*Chain, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("stanio: reading stan csv: %w", err)
	}
	return parseCSV("", data)
}

// ReadCSVFile reads and parses one CmdStan output CSV. The whole file is read at once: output
// files are at most a few hundred MB and parsing from memory is several times faster.
func ReadCSVFile(path string) (*Chain, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("stanio: %w", err)
	}
	return parseCSV(path, data)
}

// ReadCSVFiles reads the files in parallel, up to GOMAXPROCS at a time, and returns the
// chains in the order of paths. The first error stops the files not yet started.
func ReadCSVFiles(ctx context.Context, paths []string) ([]*Chain, error) {
	chains := make([]*Chain, len(paths))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, path := range paths {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("stanio: reading %s: %w", path, err)
			}
			c, err := ReadCSVFile(path)
			chains[i] = c
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return chains, nil
}

// Comment lines with a meaning after the column header.
const (
	adaptTerminated = "# Adaptation terminated"
	stepSizePrefix  = "# Step size ="
	diagMetricLine  = "# Diagonal elements of inverse mass matrix:"
	denseMetricLine = "# Elements of inverse mass matrix:"
)

// lines walks a byte slice line by line, counting line numbers from 1.
type lines struct {
	data []byte
	pos  int // offset of the next line
	line int // number of the line last returned
}

// next returns the next line without its "\n" or "\r\n", and false at the end.
func (l *lines) next() ([]byte, bool) {
	if l.pos >= len(l.data) {
		return nil, false
	}
	rest := l.data[l.pos:]
	s := rest
	if n := bytes.IndexByte(rest, '\n'); n >= 0 {
		s = rest[:n]
		l.pos += n + 1
	} else {
		l.pos = len(l.data)
	}
	l.line++
	if len(s) > 0 && s[len(s)-1] == '\r' {
		s = s[:len(s)-1]
	}
	return s, true
}

// parser holds the state of one parse.
type parser struct {
	path string
	lines
	// blanks allows blanks around a cell's number: CmdStan's pathfinder separates its
	// cells by ", ".
	blanks bool
}

func (p *parser) errorf(line int, format string, args ...any) *CSVError {
	return &CSVError{Path: p.path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// parseCSV parses a whole file held in data. It makes three passes: the comment header and
// column names; a quick count of the data rows (so each column is allocated once, exactly,
// and ragged rows are known before anything is sized from them); and the parse itself.
func parseCSV(path string, data []byte) (*Chain, error) {
	p := &parser{path: path, lines: lines{data: data}}
	c := &Chain{Path: path}

	// 1. Comment header up to the column names. CmdStan 1.x files have blank lines in it.
	h := newHeader()
	var head []byte
	sawText := false
	for {
		s, ok := p.next()
		if !ok {
			if !sawText {
				return nil, p.errorf(1, "empty file")
			}
			return nil, p.errorf(p.line, "no column header: the file ends inside the comment header")
		}
		if len(bytes.TrimSpace(s)) == 0 {
			continue
		}
		sawText = true
		if s[0] == '#' {
			h.add(s[1:], p.line)
			continue
		}
		head = s
		break
	}
	headLine := p.line
	cfg, err := h.config(p)
	if err != nil {
		return nil, err
	}
	c.Config = cfg
	p.blanks = cfg.Method == "pathfinder"
	if c.Columns, err = p.columns(head, headLine); err != nil {
		return nil, err
	}
	ncol := len(c.Columns)

	// 2. Count data rows up to and including the first ragged one, and those before
	// "# Adaptation terminated". Every counted row but the last has ncol-1 commas, so the
	// allocation below is bounded by the file size even for hostile input.
	rows, beforeAdapt, sawAdapt := countRows(data[p.pos:], ncol)

	// 3. Parse into one column-major block: column j is block[j*rows : (j+1)*rows].
	block := make([]float64, ncol*rows)
	r := 0
	for {
		s, ok := p.next()
		if !ok {
			break
		}
		if len(s) == 0 {
			continue
		}
		if s[0] == '#' {
			if err := p.comment(s, c); err != nil {
				return nil, err
			}
			continue
		}
		if err := p.row(s, c.Columns, block[r:], rows); err != nil {
			if p.pos >= len(data) && data[len(data)-1] != '\n' {
				err.Msg += "; it is the file's last line and has no line end: the file was cut short, by a stopped run or a full disk"
			}
			return nil, err
		}
		r++
	}

	// Split warmup from sampling: by the marker when there is one, else (adaptation off)
	// by count, ceil(num_warmup/thin), when warmup was saved.
	nw := 0
	switch {
	case sawAdapt:
		nw = beforeAdapt
	case cfg.SaveWarmup && cfg.NumWarmup > 0:
		nw = cfg.NumWarmup / cfg.Thin
		if cfg.NumWarmup%cfg.Thin != 0 {
			nw++
		}
		nw = min(nw, rows)
	}
	c.Draws = make([][]float64, ncol)
	if nw > 0 {
		c.Warmup = make([][]float64, ncol)
	}
	for j := range ncol {
		col := block[j*rows : (j+1)*rows : (j+1)*rows]
		if nw > 0 {
			c.Warmup[j] = col[:nw:nw]
		}
		c.Draws[j] = col[nw:]
	}
	if sawAdapt && c.Adaptation.Metric == "" {
		c.Adaptation.Metric = cfg.Metric
	}
	// A sampler that was killed, or whose disk filled, leaves a file cut at a line end that
	// parses cleanly: count the draws against the header's promise.
	if cfg.Method == "sample" && cfg.NumSamples > 0 {
		want := (cfg.NumSamples + cfg.Thin - 1) / cfg.Thin
		if got := rows - nw; got < want {
			return nil, p.errorf(max(p.line, 1), "the file ends after %d of its %d draws (num_samples = %d, thin = %d): it was cut short, by a stopped run or a full disk",
				got, want, cfg.NumSamples, cfg.Thin)
		}
	}
	return c, nil
}

// countRows counts the data lines in b up to and including the first one whose number of
// commas is not ncol-1, and how many of them come before the first "# Adaptation
// terminated" line.
func countRows(b []byte, ncol int) (rows, beforeAdapt int, sawAdapt bool) {
	l := lines{data: b}
	for {
		s, ok := l.next()
		if !ok {
			return rows, beforeAdapt, sawAdapt
		}
		if len(s) == 0 {
			continue
		}
		if s[0] == '#' {
			if !sawAdapt && bytes.HasPrefix(s, []byte(adaptTerminated)) {
				sawAdapt = true
				beforeAdapt = rows
			}
			continue
		}
		rows++
		if bytes.Count(s, []byte{','}) != ncol-1 {
			return rows, beforeAdapt, sawAdapt
		}
	}
}

// columns splits the column header line.
func (p *parser) columns(s []byte, line int) ([]string, error) {
	if c := s[0]; c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' {
		return nil, p.errorf(line, "no column header: the first line after the comments holds numbers")
	}
	names := strings.Split(string(s), ",")
	seen := make(map[string]int, len(names))
	for j, name := range names {
		if name == "" {
			return nil, p.errorf(line, "column %d has an empty name", j+1)
		}
		if k, dup := seen[name]; dup {
			return nil, p.errorf(line, "column %q appears twice (columns %d and %d)", name, k+1, j+1)
		}
		seen[name] = j
	}
	return names, nil
}

// row parses one data row into dst[j*stride] for column j. This is the hot loop: a fast
// path parses plain decimals in place, anything else goes to strconv.ParseFloat.
func (p *parser) row(s []byte, cols []string, dst []float64, stride int) *CSVError {
	n := len(s)
	j, i := 0, 0
	for {
		if j == len(cols) {
			return p.raggedRow(bytes.Count(s, []byte{','})+1, len(cols))
		}
		v, k, ok := parseDecimal(s, i)
		if !ok || k < n && s[k] != ',' {
			k = i + cellEnd(s[i:])
			var err error
			cell := s[i:k]
			if p.blanks {
				cell = bytes.Trim(cell, " ")
			}
			if v, err = parseFloat(cell); err != nil {
				return p.errorf(p.line, "column %q: cannot parse %s as a number", cols[j], quote(s[i:k]))
			}
		}
		dst[j*stride] = v
		j++
		if k >= n {
			break
		}
		i = k + 1
	}
	if j != len(cols) {
		return p.raggedRow(j, len(cols))
	}
	return nil
}

func (p *parser) raggedRow(got, want int) *CSVError {
	values := "values"
	if got == 1 {
		values = "value"
	}
	return p.errorf(p.line, "row has %d %s; the header has %d columns", got, values, want)
}

func cellEnd(s []byte) int {
	if k := bytes.IndexByte(s, ','); k >= 0 {
		return k
	}
	return len(s)
}

// quote quotes a cell for an error message, cut short if it is long.
func quote(b []byte) string {
	const limit = 40
	if len(b) > limit {
		return strconv.Quote(string(b[:limit])) + "..."
	}
	return strconv.Quote(string(b))
}

// pow10 holds the powers of ten that are exact in a float64.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseDecimal parses a plain decimal ([+-]digits[.digits][(e|E)[+-]digits]) starting at
// s[i] and returns its value and the offset just after it. ok is false when the number is
// not of that form or is outside the exact fast path: a mantissa below 2^53 and a power of
// ten at most 22 in size. Then mantissa and power are both exact float64s and one IEEE
// multiplication or division rounds correctly, so the result is bit-identical to
// strconv.ParseFloat (Clinger's fast path, which strconv also takes first). CmdStan's
// default 6 significant digits take it unless the exponent is below -17 or above 22.
func parseDecimal(s []byte, i int) (v float64, next int, ok bool) {
	n := len(s)
	neg := false
	if i < n && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	// Up to 19 digits fit in a uint64; longer numbers (leading zeros included) take the
	// slow path, so the digit loops need no overflow check.
	var mant uint64
	start := i
	for i < n && s[i]-'0' <= 9 {
		mant = mant*10 + uint64(s[i]-'0')
		i++
	}
	nd := i - start
	exp := 0
	if i < n && s[i] == '.' {
		i++
		start = i
		for i < n && s[i]-'0' <= 9 {
			mant = mant*10 + uint64(s[i]-'0')
			i++
		}
		exp = start - i
		nd -= exp
	}
	if nd == 0 || nd > 19 {
		return 0, i, false
	}
	if i < n && s[i]|0x20 == 'e' {
		i++
		eneg := false
		if i < n && (s[i] == '-' || s[i] == '+') {
			eneg = s[i] == '-'
			i++
		}
		if i >= n || s[i]-'0' > 9 {
			return 0, i, false
		}
		e := 0
		for ; i < n && s[i]-'0' <= 9; i++ {
			if e < 10000 {
				e = e*10 + int(s[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	switch {
	case mant == 0:
		v = 0
	case mant >= 1<<53:
		return 0, i, false
	case exp == 0:
		v = float64(mant)
	case exp > 0 && exp <= 22:
		v = float64(mant) * pow10[exp]
	case exp < 0 && exp >= -22:
		v = float64(mant) / pow10[-exp]
	default:
		return 0, i, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

// parseFloat is strconv.ParseFloat on b without copying it. Out-of-range values keep
// strconv's ±Inf or 0 rather than failing: they are still the nearest float64.
func parseFloat(b []byte) (float64, error) {
	if len(b) == 0 {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		err = nil
	}
	return v, err
}

// comment handles a comment line after the column header.
func (p *parser) comment(s []byte, c *Chain) error {
	switch {
	case bytes.HasPrefix(s, []byte(adaptTerminated)):
		// Marks the end of warmup; the row count was taken in countRows.
	case bytes.HasPrefix(s, []byte(stepSizePrefix)):
		txt := bytes.TrimSpace(s[len(stepSizePrefix):])
		v, err := parseFloat(txt)
		if err != nil {
			return p.errorf(p.line, "step size %s is not a number", quote(txt))
		}
		c.Adaptation.StepSize = v
	case bytes.HasPrefix(s, []byte(diagMetricLine)):
		c.Adaptation.Metric = "diag_e"
		line := p.line
		vals, ok, err := p.metricRow()
		if err != nil {
			return err
		}
		if !ok {
			return p.errorf(line, "inverse metric: no values after %q", diagMetricLine[2:])
		}
		c.Adaptation.InvMetric = vals
	case bytes.HasPrefix(s, []byte(denseMetricLine)):
		c.Adaptation.Metric = "dense_e"
		line := p.line
		first, ok, err := p.metricRow()
		if err != nil {
			return err
		}
		if !ok {
			return p.errorf(line, "inverse metric: no values after %q", denseMetricLine[2:])
		}
		k := len(first)
		m := first // grows row by row: k comes from the file, so k*k is not trusted

		for range k - 1 {
			row, ok, err := p.metricRow()
			if err != nil {
				return err
			}
			if !ok {
				line := p.line // the file ends here, or the next line is not a comment
				if p.pos < len(p.data) {
					line++
				}
				return p.errorf(line, "dense inverse metric ends after %d of %d rows", len(m)/k, k)
			}
			if len(row) != k {
				return p.errorf(p.line, "dense inverse metric row: got %d numbers, want %d", len(row), k)
			}
			m = append(m, row...)
		}
		c.Adaptation.InvMetric = m
	default:
		return p.timing(s, &c.Timing)
	}
	return nil
}

// metricRow reads the next line as a comment holding comma-separated numbers. ok is false,
// and nothing is consumed, when the next line is not a comment. An empty comment ("# ") is
// an empty row: CmdStan writes one for a model without parameters.
func (p *parser) metricRow() (vals []float64, ok bool, err error) {
	save := p.lines
	s, more := p.next()
	if !more || len(s) == 0 || s[0] != '#' {
		p.lines = save
		return nil, false, nil
	}
	txt := bytes.TrimSpace(s[1:])
	vals = []float64{}
	if len(txt) == 0 {
		return vals, true, nil
	}
	for f := range bytes.SplitSeq(txt, []byte{','}) {
		f = bytes.TrimSpace(f)
		v, err := parseFloat(f)
		if err != nil {
			return nil, false, p.errorf(p.line, "inverse metric: cannot parse %s as a number", quote(f))
		}
		vals = append(vals, v)
	}
	return vals, true, nil
}

// timing reads "#  Elapsed Time: 0.225 seconds (Warm-up)" and its two continuation lines.
// Other comments, and other labels (Pathfinder's), are ignored.
func (p *parser) timing(s []byte, t *Timing) error {
	txt := bytes.TrimSpace(s[1:])
	txt = bytes.TrimSpace(bytes.TrimPrefix(txt, []byte("Elapsed Time:")))
	f := bytes.Fields(txt)
	if len(f) != 3 || string(f[1]) != "seconds" {
		return nil
	}
	var dst *float64
	switch string(f[2]) {
	case "(Warm-up)":
		dst = &t.Warmup
	case "(Sampling)":
		dst = &t.Sampling
	case "(Total)":
		dst = &t.Total
	default:
		return nil
	}
	v, err := parseFloat(f[0])
	if err != nil {
		return p.errorf(p.line, "elapsed time %s is not a number", quote(f[0]))
	}
	*dst = v
	return nil
}

// header collects the `key = value` comment lines before the column names. Indentation
// (two spaces a level) nests keys under the section lines above them.
type header struct {
	raw     map[string]string
	line    map[string]int // line of each key, for errors
	section []section
}

type section struct {
	depth int
	name  string
}

func newHeader() *header {
	return &header{raw: make(map[string]string), line: make(map[string]int)}
}

// add takes one comment line without its '#'.
func (h *header) add(s []byte, line int) {
	indent := len(s) - len(bytes.TrimLeft(s, " "))
	depth := max(indent-1, 0) / 2
	txt := strings.TrimSpace(string(s))
	if txt == "" {
		return
	}
	for len(h.section) > 0 && h.section[len(h.section)-1].depth >= depth {
		h.section = h.section[:len(h.section)-1]
	}
	key, val, isKV := strings.Cut(txt, "=")
	if !isKV {
		h.section = append(h.section, section{depth, txt})
		return
	}
	var path strings.Builder
	for _, sec := range h.section {
		path.WriteString(sec.name)
		path.WriteByte('.')
	}
	path.WriteString(strings.TrimSpace(key))
	val = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "(Default)"))
	h.raw[path.String()] = val
	h.line[path.String()] = line
}

// config maps the raw keys that matter onto Config, by their section.
func (h *header) config(p *parser) (Config, error) {
	c := Config{Raw: h.raw, Thin: 1}
	get := func(keys ...string) (string, string, bool) {
		for _, k := range keys {
			if v, ok := h.raw[k]; ok {
				return k, v, true
			}
		}
		return "", "", false
	}
	var errs []error
	bad := func(key, val, want string) {
		errs = append(errs, p.errorf(h.line[key], "%s = %q: want %s", key, val, want))
	}
	str := func(dst *string, keys ...string) {
		if _, v, ok := get(keys...); ok {
			*dst = v
		}
	}
	integer := func(dst *int, keys ...string) {
		if k, v, ok := get(keys...); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad(k, v, "an integer")
			}
			*dst = n
		}
	}
	boolean := func(dst *bool, keys ...string) {
		if k, v, ok := get(keys...); ok {
			switch v {
			case "1", "true":
				*dst = true
			case "0", "false":
				*dst = false
			default:
				bad(k, v, "0, 1, true or false")
			}
		}
	}

	if maj, ok := h.raw["stan_version_major"]; ok {
		c.StanVersion = maj + "." + h.raw["stan_version_minor"] + "." + h.raw["stan_version_patch"]
	}
	str(&c.Model, "model")
	str(&c.Method, "method")
	m := c.Method
	str(&c.Algorithm, m+".algorithm")
	alg := m + "." + c.Algorithm
	str(&c.Engine, alg+".engine")
	str(&c.Metric, alg+".metric")
	integer(&c.MaxDepth, alg+"."+c.Engine+".max_depth")
	integer(&c.NumSamples, "sample.num_samples")
	integer(&c.NumWarmup, "sample.num_warmup")
	integer(&c.Thin, "sample.thin")
	if k, v, ok := get("sample.thin"); ok && c.Thin < 1 {
		bad(k, v, "a positive integer")
	}
	boolean(&c.SaveWarmup, "sample.save_warmup")
	boolean(&c.AdaptEngaged, "sample.adapt.engaged")
	if k, v, ok := get("sample.adapt.delta"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			bad(k, v, "a number")
		}
		c.AdaptDelta = f
	}
	if k, v, ok := get("random.seed"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad(k, v, "an integer")
		}
		c.Seed = n
	}
	integer(&c.ID, "id")
	str(&c.DataFile, "data.file", "data")
	str(&c.OutputFile, "output.file", "output.sample")
	boolean(&c.Jacobian, m+".jacobian")
	if len(errs) > 0 {
		// Report the first problem in file order.
		first := errs[0].(*CSVError)
		for _, e := range errs[1:] {
			if e := e.(*CSVError); e.Line < first.Line {
				first = e
			}
		}
		return c, first
	}
	return c, nil
}
