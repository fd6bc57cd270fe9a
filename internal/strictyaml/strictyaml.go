package strictyaml

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
)

// Problem is one thing wrong with a document.
type Problem struct {
	// Key is the YAML key path, e.g. "fit.mcmc.chains" or "priors.overrides[0].sd".
	Key string
	// Line and Col locate the key or value in the file (1-based); 0 when unknown.
	Line, Col int
	// Msg says what is wrong and what is allowed.
	Msg string
	// Err is the underlying error when there is one.
	Err error
}

// Format lists problems one per line, each as "pkg: file:line:col: message", or without the
// position when it is unknown, or without the file when file is "".
func Format(pkg, file string, problems []Problem) string {
	lines := make([]string, len(problems))
	for i, p := range problems {
		switch {
		case file != "" && p.Line > 0:
			lines[i] = fmt.Sprintf("%s: %s:%d:%d: %s", pkg, file, p.Line, p.Col, p.Msg)
		case file != "":
			lines[i] = fmt.Sprintf("%s: %s: %s", pkg, file, p.Msg)
		default:
			lines[i] = pkg + ": " + p.Msg
		}
	}
	return strings.Join(lines, "\n")
}

// Sort orders problems by position in the file, in place, and returns them; those without a
// position keep their order at the end.
func Sort(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if (a.Line > 0) != (b.Line > 0) {
			return a.Line > 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return ps
}

// Position is where a key (or a list item) sits in the file. Set is false when its value is
// null, or was dropped for a problem: either way the key takes its default.
type Position struct {
	Line, Col int
	Set       bool
}

// Positions maps key paths to where they are in the file.
type Positions map[string]Position

// At locates key, or its nearest ancestor present in the file (the parent of a missing key),
// or returns 0, 0.
func (p Positions) At(key string) (line, col int) {
	for key != "" {
		if pos, ok := p[key]; ok {
			return pos.Line, pos.Col
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0, 0
}

// Given reports whether the file sets key to a value that was decoded (not null, not
// dropped for a problem).
func (p Positions) Given(key string) bool { return p[key].Set }

// Parse parses data as a single YAML document and returns its body: nil for a file with no
// content. A file that is not YAML, or holds more than one document, gives a Problem instead;
// what names the document in that message ("config", "scenario").
func Parse(data []byte, what string) (ast.Node, *Problem) {
	file, err := yamlparser.ParseBytes(data, 0)
	if err != nil {
		p := yamlProblem("invalid YAML: ", err)
		return nil, &p
	}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			line, col := StartPos(doc.Body)
			return nil, &Problem{Line: line, Col: col,
				Msg: fmt.Sprintf("the file holds more than one YAML document; put the whole %s in one (remove ---)", what)}
		}
		body = doc.Body
	}
	return body, nil
}

// yamlProblem turns a goccy error into a Problem at its token.
func yamlProblem(prefix string, err error) Problem {
	p := Problem{Msg: prefix + err.Error(), Err: err}
	var ye yaml.Error
	if errors.As(err, &ye) {
		p.Msg = prefix + ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return p
}

// Unmarshaler is implemented by types that decode their own YAML node with the Decoder: a
// value that may be written in more than one shape, or one whose checks involve several
// keys. It reports problems with d.Add and d.AddKey; any problem drops the entry that holds
// the value.
type Unmarshaler interface {
	UnmarshalStrictYAML(d *Decoder, path string, n ast.Node)
}

// Decoder decodes one document, collecting its problems. Use one Decoder per document.
type Decoder struct {
	// File is the document's path as given, for values that keep it for later messages.
	File string
	// What names documents of this kind in messages, plural: "run configs".
	What string
	// Root names the whole document in messages: "the config".
	Root string
	// Reject, when set, gives the whole message for an unknown key path that deserves more
	// than "unknown key" (a setting of another tool, say); false falls back to that.
	Reject func(key string) (msg string, ok bool)
	// Pos records where each key path and list item is.
	Pos Positions

	problems []Problem
	pending  int      // problems not yet charged to a dropped entry
	dropped  []string // key paths of dropped entries
}

// NewDecoder returns a Decoder for the document at file (see the fields).
func NewDecoder(file, what, root string) *Decoder {
	return &Decoder{File: file, What: what, Root: root, Pos: Positions{}}
}

// Problems returns every problem found so far, ordered by position (see Sort).
func (d *Decoder) Problems() []Problem {
	return Sort(append([]Problem(nil), d.problems...))
}

// Count is the number of problems found so far.
func (d *Decoder) Count() int { return len(d.problems) }

// Fatal reports whether a problem could not be charged to an entry of a mapping (the
// document itself is not a mapping, say), so that nothing was decoded.
func (d *Decoder) Fatal() bool { return d.pending > 0 }

// Dropped reports whether key, or an entry above it, was dropped for a problem.
func (d *Decoder) Dropped(key string) bool {
	for _, b := range d.dropped {
		if key == b || strings.HasPrefix(key, b+".") || strings.HasPrefix(key, b+"[") {
			return true
		}
	}
	return false
}

// Add records a problem about key, located at node n.
func (d *Decoder) Add(n ast.Node, key, format string, args ...any) {
	p := Problem{Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
	}
	d.add(p)
}

// AddKey records a problem about key, located where key (or its nearest ancestor) is.
func (d *Decoder) AddKey(key, format string, args ...any) {
	p := Problem{Key: key, Msg: fmt.Sprintf(format, args...)}
	p.Line, p.Col = d.Pos.At(key)
	d.add(p)
}

func (d *Decoder) add(p Problem) {
	d.pending++
	d.problems = append(d.problems, p)
}

// Decode checks node n, found at key path path ("" for the document), against the type
// that v points to, and decodes it into v. Problems are collected in d. It panics when v is
// not a pointer or holds a kind of value it does not handle: that is a programming error.
func (d *Decoder) Decode(path string, n ast.Node, v any) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("strictyaml: Decode needs a non-nil pointer")
	}
	d.decode(path, n, rv.Elem())
}

// Label formats a key path for messages: in backticks, or quoted (see Show) when a key the
// user wrote holds characters that would break the message.
func (d *Decoder) Label(path string) string {
	if path == "" {
		return d.Root
	}
	return Label(path)
}

// Label formats a non-empty key path for messages (see Decoder.Label).
func Label(path string) string {
	if s := Show(path); s != path {
		return s
	}
	return "`" + path + "`"
}

// RefuseAliases reports the first alias (*name) in the tree under n and returns true if
// there is one. Aliases are never needed in these documents, and expanding them is a
// denial-of-service risk; the decoder refuses those it meets, this refuses them up front.
func (d *Decoder) RefuseAliases(path string, n ast.Node) bool {
	aliases := ast.Filter(ast.AliasType, n)
	if len(aliases) == 0 {
		return false
	}
	prefix := ""
	if path != "" {
		prefix = d.Label(path) + ": "
	}
	line, col := StartPos(aliases[0])
	d.add(Problem{Key: path, Line: line, Col: col,
		Msg: prefix + "YAML aliases (*name) are not supported in " + d.What + "; write the value out"})
	return true
}

// unwrap strips tags and anchors; aliases are refused.
func (d *Decoder) unwrap(path string, n ast.Node) (ast.Node, bool) {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			d.Add(n, path, "%s: YAML aliases (*name) are not supported in %s; write the value out", d.Label(path), d.What)
			return nil, false
		default:
			return n, n != nil
		}
	}
}

var unmarshalerType = reflect.TypeFor[Unmarshaler]()

// decode checks n against rv's type and sets rv.
func (d *Decoder) decode(path string, n ast.Node, rv reflect.Value) {
	n, ok := d.unwrap(path, n)
	if !ok || n.Type() == ast.NullType {
		return
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			rv.Set(reflect.New(rv.Type().Elem()))
		}
		rv = rv.Elem()
	}
	if rv.Addr().Type().Implements(unmarshalerType) {
		rv.Addr().Interface().(Unmarshaler).UnmarshalStrictYAML(d, path, n)
		return
	}
	switch rv.Kind() {
	case reflect.Struct:
		if d.Mapping(path, n) {
			d.structEntries(path, n, rv)
		}
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			panic("strictyaml: map key of unsupported kind " + rv.Type().Key().Kind().String())
		}
		if d.Mapping(path, n) {
			d.mapEntries(path, n, rv)
		}
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.Add(n, path, "%s must be a list (lines starting with -), not %s", d.Label(path), Describe(n))
			return
		}
		rv.Set(reflect.MakeSlice(rv.Type(), len(seq.Values), len(seq.Values)))
		for i, item := range seq.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			line, col := StartPos(item)
			d.Pos[p] = Position{Line: line, Col: col, Set: item.Type() != ast.NullType}
			d.decode(p, item, rv.Index(i))
		}
	case reflect.String:
		switch n.Type() {
		case ast.StringType, ast.LiteralType, ast.IntegerType, ast.FloatType, ast.BoolType, ast.InfinityType, ast.NanType:
			d.scalar(path, n, rv)
		default:
			d.Add(n, path, "%s must be text, not %s", d.Label(path), Describe(n))
		}
	case reflect.Int, reflect.Int64:
		if n.Type() != ast.IntegerType {
			d.Add(n, path, "%s is %s; must be a whole number", d.Label(path), Describe(n))
			return
		}
		d.scalar(path, n, rv)
	case reflect.Float64:
		switch n.Type() {
		case ast.IntegerType, ast.FloatType, ast.InfinityType, ast.NanType:
			d.scalar(path, n, rv)
			return
		}
		if s, ok := n.(*ast.StringNode); ok {
			if v, ok := parseNumber(s.Value); ok {
				rv.SetFloat(v)
				return
			}
		}
		d.Add(n, path, "%s is %s; must be a number (.Inf and -.Inf are allowed)", d.Label(path), Describe(n))
	case reflect.Bool:
		if n.Type() != ast.BoolType {
			d.Add(n, path, "%s is %s; must be true or false", d.Label(path), Describe(n))
			return
		}
		d.scalar(path, n, rv)
	default:
		panic("strictyaml: value of unsupported kind " + rv.Kind().String())
	}
}

// scalar converts a scalar node whose type decode checked.
func (d *Decoder) scalar(path string, n ast.Node, rv reflect.Value) {
	err := yaml.NodeToValue(n, rv.Addr().Interface(), yaml.CustomUnmarshaler[float64](unmarshalFloat))
	if err != nil {
		p := yamlProblem(d.Label(path)+": ", err)
		p.Key = path
		if p.Line == 0 {
			p.Line, p.Col = StartPos(n)
		}
		d.add(p)
	}
}

// unmarshalFloat decodes a number, accepting Inf and -Inf as well as YAML's .inf forms.
func unmarshalFloat(f *float64, b []byte) error {
	if v, ok := ParseInf(strings.TrimSpace(string(b))); ok {
		*f = v
		return nil
	}
	return yaml.Unmarshal(b, f)
}

// parseNumber reads a number that YAML leaves as text: 1e6 (YAML wants 1.0e+6), Inf, or a
// quoted number. NaN is not a number here.
func parseNumber(s string) (float64, bool) {
	if v, ok := ParseInf(s); ok {
		return v, true
	}
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false // ParseFloat's own spellings of infinity are ParseInf's
	}
	return v, true
}

// ParseInf recognises the spellings of infinity accepted for numbers: inf, .inf and
// infinity, in any case, signed.
func ParseInf(s string) (float64, bool) {
	switch strings.ToLower(strings.TrimPrefix(s, "+")) {
	case "inf", ".inf", "infinity":
		return math.Inf(1), true
	case "-inf", "-.inf", "-infinity":
		return math.Inf(-1), true
	}
	return 0, false
}

// Mapping reports whether n is a mapping, and records a problem if not.
func (d *Decoder) Mapping(path string, n ast.Node) bool {
	if _, ok := n.(ast.MapNode); !ok {
		d.Add(n, path, "%s must be a mapping (key: value lines), not %s", d.Label(path), Describe(n))
		return false
	}
	return true
}

// Entry is one key: value pair of a mapping decoded by hand (see Entries).
type Entry struct {
	// Name is the key as written; Path is the key's path (parent path + "." + Name).
	Name, Path string
	Key, Value ast.Node
}

// Entries returns the key: value pairs of mapping n at path, for a type that decodes its
// keys itself (free-form keys), and records each key's position under its path, as
// Decode does for struct fields. n must be a mapping (see Mapping).
func (d *Decoder) Entries(path string, n ast.Node) []Entry {
	var out []Entry
	for _, e := range entries(n) {
		name := e.Key.GetToken().Value
		if s, ok := e.Key.(*ast.StringNode); ok {
			name = s.Value
		}
		child := path + "." + name
		line, col := StartPos(e.Key)
		d.Pos[child] = Position{Line: line, Col: col, Set: e.Value != nil && e.Value.Type() != ast.NullType}
		out = append(out, Entry{Name: name, Path: child, Key: e.Key, Value: e.Value})
	}
	return out
}

// entries returns the key: value pairs of a mapping node.
func entries(n ast.Node) []*ast.MappingValueNode {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}
	}
	return nil
}

// structEntries decodes the entries of a mapping into the yaml fields of struct rv.
func (d *Decoder) structEntries(path string, n ast.Node, rv reflect.Value) {
	t := rv.Type()
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	for _, e := range entries(n) {
		var field reflect.Value
		d.entry(n, path, e, func(name string) (reflect.Value, bool) {
			i, ok := fields[name]
			if !ok {
				return reflect.Value{}, false
			}
			field = rv.Field(i)
			return field, true
		}, names, func() {
			if field.IsValid() {
				field.Set(reflect.Zero(field.Type()))
			}
		})
	}
}

// mapEntries decodes the entries of a mapping into map rv, whose keys are free.
func (d *Decoder) mapEntries(path string, n ast.Node, rv reflect.Value) {
	if rv.IsNil() {
		rv.Set(reflect.MakeMap(rv.Type()))
	}
	for _, e := range entries(n) {
		var key, val reflect.Value
		kept := d.entry(n, path, e, func(name string) (reflect.Value, bool) {
			key = reflect.ValueOf(name).Convert(rv.Type().Key())
			val = reflect.New(rv.Type().Elem()).Elem()
			return val, true
		}, nil, func() {})
		if kept && val.IsValid() {
			rv.SetMapIndex(key, val)
		}
	}
}

// entry decodes one key: value pair of mapping m at path and reports whether it decoded
// without a problem. field finds the value a key decodes into (false for an unknown key;
// names lists the allowed ones); drop resets it when the entry is dropped. A problem inside
// the entry drops it when m is a block or flow mapping, so the rest of m still decodes.
func (d *Decoder) entry(m ast.Node, path string, e *ast.MappingValueNode, field func(name string) (reflect.Value, bool), names []string, drop func()) bool {
	pending := d.pending
	child := d.entryValue(path, e, field, names)
	if d.pending == pending {
		return true
	}
	if _, ok := m.(*ast.MappingNode); !ok {
		return false // a lone key: value pair; the problem stays with the mapping
	}
	d.pending = pending
	d.dropped = append(d.dropped, child)
	if p, ok := d.Pos[child]; ok {
		p.Set = false
		d.Pos[child] = p
	}
	drop()
	return false
}

func (d *Decoder) entryValue(path string, e *ast.MappingValueNode, field func(name string) (reflect.Value, bool), names []string) string {
	k := e.Key
	name := k.GetToken().Value
	if s, ok := k.(*ast.StringNode); ok {
		name = s.Value
	}
	child := joinKey(path, name)
	if k.IsMergeKey() {
		d.Add(k, path, "%s: YAML merge keys (<<) are not supported in %s; write the keys out", d.Label(path), d.What)
		return child
	}
	v := e.Value
	kt := k.GetToken()
	d.Pos[child] = Position{Line: kt.Position.Line, Col: kt.Position.Column, Set: v != nil && v.Type() != ast.NullType}
	fv, ok := field(name)
	if !ok {
		d.unknown(k, path, child, name, names)
		return child
	}
	d.decode(child, v, fv)
	return child
}

// unknown reports a key that the type does not have.
func (d *Decoder) unknown(k ast.Node, path, child, name string, names []string) {
	if d.Reject != nil {
		if msg, ok := d.Reject(child); ok {
			d.Add(k, child, "%s", msg)
			return
		}
	}
	where := "at the top level"
	if path != "" {
		where = "under " + d.Label(path)
	}
	if s := Closest(name, names, 3); len(s) > 0 {
		d.Add(k, child, "unknown key %s; did you mean `%s`? (allowed %s: %s)", d.Label(child), s[0], where, strings.Join(names, ", "))
		return
	}
	d.Add(k, child, "unknown key %s (allowed %s: %s)", d.Label(child), where, strings.Join(names, ", "))
}

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

// Describe names a value for messages: its text for scalars (quoted for strings), its kind
// otherwise.
func Describe(n ast.Node) string {
	switch n.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.StringType, ast.LiteralType:
		if s, ok := n.(*ast.StringNode); ok {
			return strconv.Quote(s.Value)
		}
		return "a block of text"
	}
	return n.GetToken().Value
}

// StartPos locates a node where a reader sees it start: a block mapping's token is its
// first ':', so use its first key instead.
func StartPos(n ast.Node) (line, col int) {
	tk := n.GetToken()
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 && !m.IsFlowStyle {
			tk = m.Values[0].Key.GetToken()
		}
	case *ast.MappingValueNode:
		tk = m.Key.GetToken()
	}
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}
