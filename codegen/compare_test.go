package codegen

import (
	"bytes"
	"encoding/json"
	"math"
)

// equalJSON reports whether two CmdStan JSON documents hold the same names, shapes and
// strings, with numbers equal to a relative tolerance tol (so goldens survive last-bit
// differences of floating point between architectures).
func equalJSON(a, b []byte, tol float64) (bool, error) {
	var va, vb any
	for _, p := range []struct {
		src []byte
		dst *any
	}{{a, &va}, {b, &vb}} {
		d := json.NewDecoder(bytes.NewReader(p.src))
		d.UseNumber()
		if err := d.Decode(p.dst); err != nil {
			return false, err
		}
	}
	return equalValue(va, vb, tol), nil
}

func equalValue(a, b any, tol float64) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !equalValue(va, vb, tol) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalValue(a[i], b[i], tol) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		fa, err1 := a.Float64()
		fb, err2 := b.Float64()
		if err1 != nil || err2 != nil {
			return false
		}
		return math.Abs(fa-fb) <= tol*math.Max(1, math.Max(math.Abs(fa), math.Abs(fb)))
	default:
		return a == b
	}
}
