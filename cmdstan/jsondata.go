package cmdstan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
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
// CmdStan reads as those values.
func WriteData(w io.Writer, vars []Var) error {
	bw := bufio.NewWriter(w)
	seen := make(map[string]bool, len(vars))
	bw.WriteString("{")
	for i, v := range vars {
		if v.Name == "" {
			return fmt.Errorf("cmdstan: data variable %d has no name", i+1)
		}
		if seen[v.Name] {
			return fmt.Errorf("cmdstan: data variable %q given twice", v.Name)
		}
		seen[v.Name] = true
		if i > 0 {
			bw.WriteString(",")
		}
		name, _ := json.Marshal(v.Name) // a string always marshals
		bw.WriteString("\n  ")
		bw.Write(name)
		bw.WriteString(": ")
		if err := writeValue(bw, v.Value); err != nil {
			return fmt.Errorf("cmdstan: data variable %q: %w", v.Name, err)
		}
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

func writeValue(w *bufio.Writer, value any) error {
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
		if err := checkRectangular(x); err != nil {
			return err
		}
		writeArray(w, x, func(row []int) { writeArray(w, row, func(v int) { w.WriteString(strconv.Itoa(v)) }) })
	case [][]float64:
		if err := checkRectangular(x); err != nil {
			return err
		}
		writeArray(w, x, func(row []float64) { writeArray(w, row, func(v float64) { writeFloat(w, v) }) })
	default:
		return fmt.Errorf("unsupported type %T (use int, float64, []int, []float64, [][]int or [][]float64)", value)
	}
	return nil
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
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("cmdstan: writing data: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := WriteData(f, vars); err != nil {
		f.Close()
		return err
	}
	err = f.Chmod(0o644)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cmdstan: writing data file %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("cmdstan: writing data file %s: %w", path, err)
	}
	return nil
}
