package stanio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzWriteData writes random scalars, vectors and matrices of float64 and int with
// WriteData and decodes the text back with encoding/json, requiring every value bit for
// bit (NaN as any NaN), the field order as given, and valid JSON. floats is read as
// little-endian float64 bits, so the fuzzer reaches ±Inf, NaN, -0, subnormals and the
// extremes; ints as little-endian int32s; rows reshapes both into matrices. name is a
// variable name: a Stan identifier is written, anything else must be refused with an error
// that quotes it. Seeds are in testdata/fuzz/FuzzWriteData.
func FuzzWriteData(f *testing.F) {
	bits := func(xs ...float64) []byte {
		b := make([]byte, 8*len(xs))
		for i, x := range xs {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	f.Add("y", uint8(2), bits(math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 5e-324, math.MaxFloat64),
		[]byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0x80})
	f.Fuzz(func(t *testing.T, name string, rows uint8, floats, ints []byte) {
		fs := make([]float64, len(floats)/8)
		for i := range fs {
			fs[i] = math.Float64frombits(binary.LittleEndian.Uint64(floats[8*i:]))
		}
		is := make([]int, len(ints)/4)
		for i := range is {
			is[i] = int(int32(binary.LittleEndian.Uint32(ints[4*i:])))
		}
		scalar, n := 0.0, 0
		if len(fs) > 0 {
			scalar = fs[0]
		}
		if len(is) > 0 {
			n = is[0]
		}
		vars := []Var{
			{"x", scalar}, {"n", n}, {"v", fs}, {"iv", is},
			{"M", reshape(fs, int(rows))}, {"IM", reshape(is, int(rows))},
			{name, fs},
		}
		var b bytes.Buffer
		err := WriteData(&b, vars)
		valid := stanIdentifier.MatchString(name) && !strings.HasSuffix(name, "__")
		dup := name == "x" || name == "n" || name == "v" || name == "iv" || name == "M" || name == "IM"
		switch {
		case name == "":
			if err == nil || !strings.Contains(err.Error(), "has no name") || b.Len() != 0 {
				t.Fatalf("WriteData with an empty variable name: err = %v, wrote %q; want a refusal", err, b.String())
			}
			return
		case !valid || dup:
			if err == nil || !strings.Contains(err.Error(), strconv.Quote(name)) {
				t.Fatalf("WriteData with variable name %q: err = %v; want a refusal quoting it", name, err)
			}
			if b.Len() != 0 {
				t.Fatalf("a refused WriteData wrote %q", b.String())
			}
			return
		case err != nil:
			t.Fatalf("WriteData: %v", err)
		}
		if !json.Valid(b.Bytes()) {
			t.Fatalf("not JSON:\n%s", b.String())
		}
		dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
		dec.UseNumber()
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("first token %v, %v", tok, err)
		}
		for _, v := range vars {
			key, err := dec.Token()
			if err != nil || key != v.Name {
				t.Fatalf("key %v (%v); want %q", key, err, v.Name)
			}
			var got any
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			if err := sameExact(got, v.Value); err != nil {
				t.Fatalf("%s: %v\n%s", v.Name, err, b.String())
			}
		}
		if dec.More() {
			t.Fatal("more fields than variables")
		}
	})
}

// reshape cuts xs into rows rows of equal length, dropping the remainder; rows 0 gives
// an empty matrix.
func reshape[T any](xs []T, rows int) [][]T {
	m := [][]T{}
	if rows == 0 {
		return m
	}
	cols := len(xs) / rows
	for r := range rows {
		m = append(m, xs[r*cols:(r+1)*cols])
	}
	return m
}

// sameExact compares a value decoded with UseNumber to the Go value written: ints as
// exact integers, floats bit for bit (any NaN matches NaN).
func sameExact(decoded, want any) error {
	switch w := want.(type) {
	case int:
		num, ok := decoded.(json.Number)
		if !ok {
			return fmt.Errorf("decoded %#v; want the int %d", decoded, w)
		}
		got, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || got != int64(w) {
			return fmt.Errorf("decoded %s; want %d", num, w)
		}
		return nil
	case float64:
		var got float64
		switch d := decoded.(type) {
		case string:
			special := map[string]float64{"Infinity": math.Inf(1), "-Infinity": math.Inf(-1), "NaN": math.NaN()}
			v, ok := special[d]
			if !ok {
				return fmt.Errorf("decoded the string %q; want %v", d, w)
			}
			got = v
		case json.Number:
			v, err := strconv.ParseFloat(string(d), 64)
			if err != nil {
				return fmt.Errorf("decoded %s: %v", d, err)
			}
			got = v
		default:
			return fmt.Errorf("decoded %#v; want the float %v", decoded, w)
		}
		if math.Float64bits(got) != math.Float64bits(w) && !(math.IsNaN(got) && math.IsNaN(w)) {
			return fmt.Errorf("decoded %v (%#x); wrote %v (%#x)", got, math.Float64bits(got), w, math.Float64bits(w))
		}
		return nil
	case []float64:
		return sameSlice(decoded, w)
	case []int:
		return sameSlice(decoded, w)
	case [][]float64:
		return sameSlice(decoded, w)
	case [][]int:
		return sameSlice(decoded, w)
	}
	return fmt.Errorf("unexpected type %T", want)
}

func sameSlice[T any](decoded any, want []T) error {
	arr, ok := decoded.([]any)
	if !ok || len(arr) != len(want) {
		return fmt.Errorf("decoded %#v; want %d values", decoded, len(want))
	}
	for i := range arr {
		if err := sameExact(arr[i], any(want[i])); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return nil
}
