package stanio

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteDataFormat(t *testing.T) {
	var b bytes.Buffer
	err := WriteData(&b, []Var{
		{"N", 3},
		{"y", []float64{0.1, -2.5e-8, 1e21}},
		{"lb", []float64{math.Inf(-1), 0, math.NaN()}},
		{"ub", math.Inf(1)},
		{"g", []int{1, 2, 2}},
		{"X", [][]float64{{1, 2}, {3, 4.5}}},
		{"empty", []float64{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "N": 3,
  "y": [0.1,-2.5e-08,1e+21],
  "lb": ["-Infinity",0,"NaN"],
  "ub": "Infinity",
  "g": [1,2,2],
  "X": [[1,2],[3,4.5]],
  "empty": []
}
`
	if b.String() != want {
		t.Errorf("WriteData =\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWriteDataRoundTrip decodes the output with encoding/json, maps CmdStan's
// strings for the special values back, and requires every value bit for bit.
func TestWriteDataRoundTrip(t *testing.T) {
	vars := []Var{
		{"K", 2},
		{"neg", -7},
		{"sigma", 0.1},
		{"tiny", 5e-324},
		{"huge", math.MaxFloat64},
		{"third", 1.0 / 3},
		{"special", []float64{math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 123456789.123456789}},
		{"idx", []int{3, 1, 2}},
		{"M", [][]float64{{1.5, math.Inf(-1)}, {math.Pi, -math.E}, {0, 1e-300}}},
		{"G", [][]int{{1, 0}, {0, 1}}},
		{"none", []float64{}},
		{"noint", []int{}},
		{"norows", [][]float64{}},
	}
	var b bytes.Buffer
	if err := WriteData(&b, vars); err != nil {
		t.Fatal(err)
	}

	// Field order: read the keys as tokens.
	dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
	var keys []string
	dec.Token() // {
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range vars {
		if keys[i] != v.Name {
			t.Fatalf("keys = %q; want the order of vars", keys)
		}
	}

	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	for _, v := range vars {
		if !sameData(got[v.Name], v.Value) {
			t.Errorf("%s: read back %v; wrote %v", v.Name, got[v.Name], v.Value)
		}
	}
}

// sameData compares a decoded JSON value with the Go value written.
func sameData(decoded, want any) bool {
	num := func(x any) (float64, bool) {
		switch x := x.(type) {
		case float64:
			return x, true
		case string:
			return map[string]float64{"Infinity": math.Inf(1), "-Infinity": math.Inf(-1), "NaN": math.NaN()}[x], x == "Infinity" || x == "-Infinity" || x == "NaN"
		}
		return 0, false
	}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
	}
	rv := reflect.ValueOf(want)
	if rv.Kind() == reflect.Slice {
		arr, ok := decoded.([]any)
		if !ok || len(arr) != rv.Len() {
			return false
		}
		for i := range arr {
			if !sameData(arr[i], rv.Index(i).Interface()) {
				return false
			}
		}
		return true
	}
	f, ok := num(decoded)
	switch w := want.(type) {
	case int:
		return ok && f == float64(w)
	case float64:
		// -0 is written as "-0", which encoding/json reads back as -0.
		return ok && same(f, w)
	}
	return false
}

func TestWriteDataErrors(t *testing.T) {
	for _, tc := range []struct {
		vars []Var
		want string
	}{
		{[]Var{{"x", float32(1)}}, `stanio: data variable "x": unsupported type float32 (use int, float64, []int, []float64, [][]int or [][]float64)`},
		{[]Var{{"s", "text"}}, `stanio: data variable "s": unsupported type string (use int, float64, []int, []float64, [][]int or [][]float64)`},
		{[]Var{{"X", [][]float64{{1, 2}, {3}}}}, `stanio: data variable "X": row 2 has 1 values but row 1 has 2; every row must have the same length`},
		{[]Var{{"N", 1}, {"N", 2}}, `stanio: data variable "N" given twice`},
		{[]Var{{"", 1}}, `stanio: data variable 1 has no name`},
		{[]Var{{"N", 1}, {"x\": 1, \"y", 2}}, `stanio: data variable 2: "x\": 1, \"y" is not a Stan identifier (a letter, then letters, digits and _, not ending in __)`},
		{[]Var{{"lp__", 1.0}}, `stanio: data variable 1: "lp__" is not a Stan identifier (a letter, then letters, digits and _, not ending in __)`},
		{[]Var{{"N", 1 << 31}}, `stanio: data variable "N": 2147483648 is outside Stan's int range (-2147483648 to 2147483647)`},
		{[]Var{{"g", []int{1, -1 << 40}}}, `stanio: data variable "g": element 2: -1099511627776 is outside Stan's int range (-2147483648 to 2147483647)`},
		{[]Var{{"G", [][]int{{1}, {1 << 33}}}}, `stanio: data variable "G": row 2, element 1: 8589934592 is outside Stan's int range (-2147483648 to 2147483647)`},
	} {
		var b bytes.Buffer
		err := WriteData(&b, tc.vars)
		if err == nil || err.Error() != tc.want {
			t.Errorf("WriteData(%v) = %v; want %s", tc.vars, err, tc.want)
		}
		if b.Len() != 0 {
			t.Errorf("WriteData(%v) refused the data but wrote %q", tc.vars, b.String())
		}
	}
}

func TestWriteDataFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.json")
	if err := WriteDataFile(path, []Var{{"N", 2}, {"y", []int{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "{\n  \"N\": 2,\n  \"y\": [0,1]\n}\n" {
		t.Errorf("file = %q", got)
	}
	// A failed write leaves the old file whole and no temp file behind.
	if err := WriteDataFile(path, []Var{{"bad", true}}); err == nil || !strings.Contains(err.Error(), "unsupported type bool") {
		t.Errorf("err = %v; want unsupported type", err)
	}
	if got, _ := os.ReadFile(path); !strings.Contains(string(got), `"N": 2`) {
		t.Errorf("old file damaged: %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %v; want only data.json", entries)
	}
	if err := WriteDataFile(filepath.Join(dir, "missing", "d.json"), nil); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}
