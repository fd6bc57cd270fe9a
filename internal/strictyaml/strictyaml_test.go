package strictyaml

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
)

type testDoc struct {
	Name  string             `yaml:"name"`
	Count int                `yaml:"count"`
	Rate  float64            `yaml:"rate"`
	On    bool               `yaml:"on"`
	Limit *float64           `yaml:"limit"`
	Tags  []string           `yaml:"tags"`
	Spend map[string]float64 `yaml:"spend"`
	Inner testInner          `yaml:"inner"`
	Items []testInner        `yaml:"items"`
	Shape testShape          `yaml:"shape"`
}

type testInner struct {
	Min float64 `yaml:"min"`
	Max float64 `yaml:"max"`
}

// testShape is a name or a mapping, as optimise's objective is.
type testShape struct {
	Kind string `yaml:"kind"`
	Size int    `yaml:"size"`
}

type testShapeFields testShape

func (s *testShape) UnmarshalStrictYAML(d *Decoder, path string, n ast.Node) {
	switch v := n.(type) {
	case *ast.StringNode:
		s.Kind = v.Value
	case ast.MapNode:
		d.Decode(path, n, (*testShapeFields)(s))
	default:
		d.Add(n, path, "%s must be a name or a mapping, not %s", d.Label(path), Describe(n))
	}
}

// decodeDoc parses and decodes src, failing the test on a fatal parse problem.
func decodeDoc(t *testing.T, src string) (*testDoc, *Decoder) {
	t.Helper()
	body, p := Parse([]byte(src), "document")
	if p != nil {
		t.Fatalf("Parse(%q): %+v", src, *p)
	}
	d := NewDecoder("doc.yaml", "test documents", "the document")
	var doc testDoc
	if body != nil {
		d.Decode("", body, &doc)
	}
	return &doc, d
}

func TestDecodeValues(t *testing.T) {
	src := `name: 2024
count: 3
rate: 1e3
on: true
limit: -Inf
tags: [a, b]
spend: {tv: 5, search: .inf}
inner: {min: 1, max: "2.5"}
items:
  - {min: 1}
  - max: 4
shape: wide
`
	doc, d := decodeDoc(t, src)
	if probs := d.Problems(); len(probs) > 0 {
		t.Fatalf("problems: %+v", probs)
	}
	want := testDoc{Name: "2024", Count: 3, Rate: 1000, On: true, Limit: doc.Limit, Tags: []string{"a", "b"},
		Spend: map[string]float64{"tv": 5, "search": math.Inf(1)}, Inner: testInner{1, 2.5},
		Items: []testInner{{Min: 1}, {Max: 4}}, Shape: testShape{Kind: "wide"}}
	if doc.Limit == nil || !math.IsInf(*doc.Limit, -1) {
		t.Errorf("limit = %v; want -Inf", doc.Limit)
	}
	if !reflect.DeepEqual(*doc, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", *doc, want)
	}
	for key, want := range map[string]Position{
		"count": {2, 1, true}, "spend.search": {7, 16, true}, "items[0]": {10, 5, true}, "items[1].max": {11, 5, true},
	} {
		if got := d.Pos[key]; got != want {
			t.Errorf("Pos[%q] = %+v; want %+v", key, got, want)
		}
	}
	if line, col := d.Pos.At("items[1].min"); line != 11 || col != 5 {
		t.Errorf("At(items[1].min) = %d:%d; want the item, 11:5", line, col)
	}
	if line, col := d.Pos.At("nowhere.at.all"); line != 0 || col != 0 {
		t.Errorf("At(nowhere.at.all) = %d:%d; want 0:0", line, col)
	}
}

func TestDecodeShapes(t *testing.T) {
	doc, d := decodeDoc(t, "shape: {kind: tall, size: 3}\n")
	if len(d.Problems()) > 0 || doc.Shape != (testShape{"tall", 3}) {
		t.Errorf("shape = %+v, problems %+v; want {tall 3}", doc.Shape, d.Problems())
	}
}

// Every problem is reported, each at its node; the entry holding it is dropped, so its
// field keeps the zero value and Given and Dropped say so, while the rest decodes.
func TestDecodeProblems(t *testing.T) {
	src := `name: [x]
count: 2.5
rate: fast
on: yes
tags: a
spend: {tv: lots, search: 3}
inner: {min: 1, mni: 2}
items: [{min: 1}, 7]
shape: [1]
cuont: 4
`
	doc, d := decodeDoc(t, src)
	var got []string
	for _, p := range d.Problems() {
		got = append(got, Format("test", "doc.yaml", []Problem{p}))
	}
	want := []string{
		"test: doc.yaml:1:7: `name` must be text, not a list",
		"test: doc.yaml:2:8: `count` is 2.5; must be a whole number",
		"test: doc.yaml:3:7: `rate` is \"fast\"; must be a number (.Inf and -.Inf are allowed)",
		"test: doc.yaml:4:5: `on` is \"yes\"; must be true or false",
		"test: doc.yaml:5:7: `tags` must be a list (lines starting with -), not \"a\"",
		"test: doc.yaml:6:13: `spend.tv` is \"lots\"; must be a number (.Inf and -.Inf are allowed)",
		"test: doc.yaml:7:17: unknown key `inner.mni`; did you mean `min`? (allowed under `inner`: min, max)",
		"test: doc.yaml:8:19: `items[1]` must be a mapping (key: value lines), not 7",
		"test: doc.yaml:9:8: `shape` must be a name or a mapping, not a list",
		"test: doc.yaml:10:1: unknown key `cuont`; did you mean `count`? (allowed at the top level: name, count, rate, on, limit, tags, spend, inner, items, shape)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d.Fatal() {
		t.Error("Fatal() = true; every problem was charged to an entry")
	}
	if doc.Items != nil || doc.Count != 0 {
		t.Errorf("items %v, count %d; want the dropped entries left at zero", doc.Items, doc.Count)
	}
	if doc.Inner.Min != 1 || !reflect.DeepEqual(doc.Spend, map[string]float64{"search": 3}) {
		t.Errorf("inner %+v, spend %v; want the good keys decoded", doc.Inner, doc.Spend)
	}
	for key, want := range map[string]bool{"count": true, "items[0].min": true, "spend.tv": true, "spend.search": false, "inner": false, "inner.min": false} {
		if got := d.Dropped(key); got != want {
			t.Errorf("Dropped(%q) = %v; want %v", key, got, want)
		}
	}
	if d.Pos.Given("count") || !d.Pos.Given("inner") {
		t.Errorf("Given(count) = %v, Given(inner) = %v; want false, true", d.Pos.Given("count"), d.Pos.Given("inner"))
	}
}

func TestDecodeRefusals(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"- a\n", "test: doc.yaml:1:1: the document must be a mapping (key: value lines), not a list"},
		{"name: &n x\ntags: [*n]\n", "test: doc.yaml:2:8: `tags[0]`: YAML aliases (*name) are not supported in test documents; write the value out"},
		{"inner:\n  <<: {min: 1}\n", "test: doc.yaml:2:3: `inner`: YAML merge keys (<<) are not supported in test documents; write the keys out"},
	} {
		_, d := decodeDoc(t, tc.src)
		if got := Format("test", "doc.yaml", d.Problems()); got != tc.want {
			t.Errorf("%q:\n%s\nwant\n%s", tc.src, got, tc.want)
		}
	}
	_, d := decodeDoc(t, "- a\n")
	if !d.Fatal() {
		t.Error("a document that is not a mapping: Fatal() = false")
	}
	d = NewDecoder("doc.yaml", "test documents", "the document")
	body, _ := Parse([]byte("a: {b: [1, *x]}\nx: &x 2\n"), "document")
	if !d.RefuseAliases("a", body) {
		t.Error("RefuseAliases found no alias")
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a: 1\n---\nb: 2\n", "test: doc.yaml:3:1: the file holds more than one YAML document; put the whole document in one (remove ---)"},
		{"a: [1\n", "test: doc.yaml:1:4: invalid YAML: sequence end token ']' not found"},
	} {
		_, p := Parse([]byte(tc.src), "document")
		if p == nil {
			t.Errorf("Parse(%q) found no problem", tc.src)
			continue
		}
		if got := Format("test", "doc.yaml", []Problem{*p}); got != tc.want {
			t.Errorf("Parse(%q):\n%s\nwant\n%s", tc.src, got, tc.want)
		}
	}
	if body, p := Parse([]byte("# nothing\n"), "document"); body != nil || p != nil {
		t.Errorf("an empty file: body %v, problem %v; want neither", body, p)
	}
}

// Unknown keys can get a message of their own, and names that would break a message are
// quoted.
func TestReject(t *testing.T) {
	d := NewDecoder("doc.yaml", "test documents", "the document")
	d.Reject = func(key string) (string, bool) {
		return Label(key) + " belongs to another tool; remove it", key == "inner.step"
	}
	body, _ := Parse([]byte("inner: {step: 1}\n\"a\\nb\": 2\n"), "document")
	d.Decode("", body, &testDoc{})
	want := "test: doc.yaml:1:9: `inner.step` belongs to another tool; remove it\n" +
		"test: doc.yaml:2:1: unknown key \"a\\nb\" (allowed at the top level: name, count, rate, on, limit, tags, spend, inner, items, shape)"
	if got := Format("test", "doc.yaml", d.Problems()); got != want {
		t.Errorf("problems:\n%s\nwant\n%s", got, want)
	}
}

func TestFormatAndSort(t *testing.T) {
	ps := Sort([]Problem{{Msg: "c"}, {Line: 3, Col: 2, Msg: "b"}, {Line: 1, Col: 9, Msg: "a"}, {Msg: "d"}})
	if got, want := Format("pkg", "f.yaml", ps), "pkg: f.yaml:1:9: a\npkg: f.yaml:3:2: b\npkg: f.yaml: c\npkg: f.yaml: d"; got != want {
		t.Errorf("Format:\n%s\nwant\n%s", got, want)
	}
	if got, want := Format("pkg", "", ps[:1]), "pkg: a"; got != want {
		t.Errorf("Format without a file = %q; want %q", got, want)
	}
}

func TestClosest(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"chians", []string{"chains"}},
		{"budget", []string{"budget_total"}},
		{"ITER", []string{"iter"}},
		{"colour", nil},
	} {
		if got := Closest(tc.name, []string{"chains", "iter", "budget_total", "warmup"}, 3); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Closest(%q) = %v; want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzDecode checks that no input panics, and that every problem has a key or a position.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("name: x\nitems: [{min: 1}, 2]\nshape: {kind: a}\n"))
	f.Add([]byte("spend: {a: 1, b: [2]}\ninner: &i {min: 1}\ntags: *i\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		body, p := Parse(data, "document")
		if p != nil || body == nil {
			return
		}
		d := NewDecoder("fuzz.yaml", "test documents", "the document")
		d.Decode("", body, &testDoc{})
		for _, p := range d.Problems() {
			if p.Key == "" && p.Line == 0 || p.Msg == "" {
				t.Fatalf("Decode(%q): problem %+v has no key or position", data, p)
			}
		}
	})
}
