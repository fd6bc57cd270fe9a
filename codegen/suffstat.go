package codegen

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// suffStats are the QR sufficient statistics of a Gaussian linear model: with the thin QR
// decomposition [X y] = Q [R qty; 0 r], for every b
//
//	||y - X b||² = ||qty - R b||² + rss,   rss = r².
//
// R is K×K upper triangular with a non-negative diagonal (rows of the factor may be
// negated freely; fixing the signs makes the output canonical).
type suffStats struct {
	r   [][]float64 // row by row
	qty []float64
	rss float64
}

// newSuffStats factors the design x (column by column, each of length len(y)) and y with
// Householder reflections (LAPACK), which are backward stable: the statistics are as exact
// as the data, whatever the rank of x. The matrix is stored transposed, [X y]' with one
// contiguous row per column, and factored as L Q (dgelqf), so R = L'; reflecting contiguous
// rows is several times faster than dgeqrf on a tall row-major matrix. Fewer rows than
// columns are padded with zeros, which leaves [X y]'[X y] unchanged.
func newSuffStats(x [][]float64, y []float64) suffStats {
	k, n := len(x), len(y)
	cols := k + 1
	rows := max(n, cols)
	at := blas64.General{Rows: cols, Cols: rows, Stride: rows, Data: make([]float64, cols*rows)}
	for j := range k {
		copy(at.Data[j*rows:], x[j])
	}
	copy(at.Data[k*rows:], y)
	tau := make([]float64, cols)
	work := []float64{0}
	lapack64.Gelqf(at, tau, work, -1)
	work = make([]float64, int(work[0]))
	lapack64.Gelqf(at, tau, work, len(work))

	// The lower triangle of at's first cols columns is L = [R qty; 0 r]'.
	l := func(i, j int) float64 { return at.Data[i*rows+j] }
	s := suffStats{r: make([][]float64, k), qty: make([]float64, k)}
	for i := range k {
		s.r[i] = make([]float64, k)
		sign := 1.0
		if l(i, i) < 0 {
			sign = -1
		}
		for j := i; j < k; j++ {
			s.r[i][j] = canon(sign * l(j, i))
		}
		s.qty[i] = canon(sign * l(k, i))
	}
	last := l(k, k)
	s.rss = last * last
	return s
}

// residualSS returns ||y - X b||² from the statistics, as the Stan program computes it.
func (s suffStats) residualSS(b []float64) float64 {
	sum := s.rss
	for i, row := range s.r {
		e := s.qty[i]
		for j := i; j < len(row); j++ {
			e -= row[j] * b[j]
		}
		sum += e * e
	}
	return sum
}

// canon turns -0 into 0, so the data JSON never shows "-0".
func canon(v float64) float64 {
	if v == 0 {
		return 0
	}
	return v
}
