package stanio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Var is one variable of a CmdStan data file.
type Var struct {
	// Name is the Stan data variable's name.
	Name string
	// Value is an int, []int, [][]int, float64, []float64 or [][]float64; a
	// [][]float64 is a matrix given as its rows (or an array of vectors).
	Value any
}

// WriteData writes vars as a CmdStan JSON data object, fields in the order given.
// Finite floats are written in the shortest form that reads back to the same
// float64; ±Inf and NaN as the strings "Infinity", "-Infinity" and "NaN", which
// CmdStan reads as those values. Names must be Stan identifiers and ints must fit
// Stan's 32-bit int. Every variable is checked before anything is written, so a
// refused variable leaves w untouched.
func WriteData(w io.Writer, vars []Var) error {
	if err := checkVars(vars); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("{")
	for i, v := range vars {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n  \"" + v.Name + "\": ") // an identifier needs no escaping
		writeValue(bw, v.Value)
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// checkVars checks every variable's name and value before anything is written.
func checkVars(vars []Var) error {
	seen := make(map[string]bool, len(vars))
	for i, v := range vars {
		if v.Name == "" {
			return fmt.Errorf("stanio: data variable %d has no name", i+1)
		}
		if !stanIdentifier.MatchString(v.Name) || strings.HasSuffix(v.Name, "__") {
			return fmt.Errorf("stanio: data variable %d: %q is not a Stan identifier (a letter, then letters, digits and _, not ending in __)", i+1, v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("stanio: data variable %q given twice", v.Name)
		}
		seen[v.Name] = true
		if err := checkValue(v.Value); err != nil {
			return fmt.Errorf("stanio: data variable %q: %w", v.Name, err)
		}
	}
	return nil
}

// stanIdentifier is what Stan accepts as a variable name. Checking it also keeps the
// JSON keys exact: encoding/json would turn invalid UTF-8 into U+FFFD, so two distinct
// bad names could become the same key.
var stanIdentifier = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// checkValue accepts the types writeValue writes: rectangular arrays, and ints that
// fit Stan's int, a 32-bit signed integer (CmdStan would refuse a larger one).
func checkValue(value any) error {
	bad := func(v int) bool { return v < math.MinInt32 || v > math.MaxInt32 }
	msg := func(v int) string {
		return fmt.Sprintf("%d is outside Stan's int range (%d to %d)", v, math.MinInt32, math.MaxInt32)
	}
	switch x := value.(type) {
	case float64, []float64:
	case int:
		if bad(x) {
			return errors.New(msg(x))
		}
	case []int:
		for i, v := range x {
			if bad(v) {
				return fmt.Errorf("element %d: %s", i+1, msg(v))
			}
		}
	case [][]int:
		if err := checkRectangular(x); err != nil {
			return err
		}
		for r, row := range x {
			for i, v := range row {
				if bad(v) {
					return fmt.Errorf("row %d, element %d: %s", r+1, i+1, msg(v))
				}
			}
		}
	case [][]float64:
		return checkRectangular(x)
	default:
		return fmt.Errorf("unsupported type %T (use int, float64, []int, []float64, [][]int or [][]float64)", value)
	}
	return nil
}

// writeValue writes a value checkValue accepted.
func writeValue(w *bufio.Writer, value any) {
	switch x := value.(type) {
	case int:
		w.WriteString(strconv.Itoa(x))
	case float64:
		writeFloat(w, x)
	case []int:
		writeArray(w, x, func(v int) { w.WriteString(strconv.Itoa(v)) })
	case []float64:
		writeArray(w, x, func(v float64) { writeFloat(w, v) })
	case [][]int:
		writeArray(w, x, func(row []int) { writeArray(w, row, func(v int) { w.WriteString(strconv.Itoa(v)) }) })
	case [][]float64:
		writeArray(w, x, func(row []float64) { writeArray(w, row, func(v float64) { writeFloat(w, v) }) })
	}
}

func writeArray[T any](w *bufio.Writer, xs []T, each func(T)) {
	w.WriteString("[")
	for i, x := range xs {
		if i > 0 {
			w.WriteString(",")
		}
		each(x)
	}
	w.WriteString("]")
}

func writeFloat(w *bufio.Writer, v float64) {
	switch {
	case math.IsInf(v, 1):
		w.WriteString(`"Infinity"`)
	case math.IsInf(v, -1):
		w.WriteString(`"-Infinity"`)
	case math.IsNaN(v):
		w.WriteString(`"NaN"`)
	default:
		w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	}
}

// checkRectangular rejects ragged rows: CmdStan reads arrays of arrays and matrices
// only when every row has the same length.
func checkRectangular[T any](rows [][]T) error {
	for i, row := range rows {
		if len(row) != len(rows[0]) {
			return fmt.Errorf("row %d has %d values but row 1 has %d; every row must have the same length", i+1, len(row), len(rows[0]))
		}
	}
	return nil
}

// WriteDataFile writes vars to path as WriteData does, atomically: readers see the
// old file or the whole new one, never part of it.
func WriteDataFile(path string, vars []Var) error {
	if err := checkVars(vars); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("stanio: writing data file %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	err = WriteData(f, vars)  // a full disk fails here
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("stanio: writing data file %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("stanio: writing data file %s: %w", path, err)
	}
	return nil
}
