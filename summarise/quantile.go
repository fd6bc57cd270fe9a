package summarise

import (
	"cmp"
	"math"
	"slices"
)

// Quantile returns the p-quantile of sorted, which must be in ascending order, by
// linear interpolation between order statistics: R's quantile(x, p, type = 7), the
// default of R and of posterior. It returns NaN for empty data and panics when p is
// outside [0, 1] or NaN.
func Quantile(sorted []float64, p float64) float64 {
	if !(p >= 0 && p <= 1) {
		panic("summarise: quantile probability outside [0, 1]")
	}
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	// The arithmetic of R's quantile.default, 1-based index included, so that
	// comparisons with the draws (x <= q in ESSQuantile) come out as in R.
	index := 1 + float64(n-1)*p
	lo := math.Floor(index)
	hi := math.Ceil(index)
	q := sorted[int(lo)-1]
	if index > lo && sorted[int(hi)-1] != q {
		h := index - lo
		q = (1-h)*q + h*sorted[int(hi)-1]
	}
	return q
}

// draw is a value with its position, the unit the argsort moves.
type draw struct {
	v float64
	i int32
}

// argsorter sorts draws together with their positions. It first distributes them
// into about n/2 buckets by linear interpolation between the smallest and the
// largest value, a monotone map, so only draws within a bucket can be out of
// order; small buckets are finished by insertion sort and large ones (from heavy
// tails) by the same method recursively. For the smooth densities of posterior
// draws this runs in linear time, several times faster than a comparison sort, and
// it never allocates once its buffers have grown.
type argsorter struct {
	a, tmp []draw
	idx    []int32
	counts []int32
}

// sort sorts x, which must hold no NaN, into vals (len(x)) and returns in idx the
// position in x of each sorted value. idx aliases the sorter's buffer.
func (s *argsorter) sort(x []float64, vals []float64) (sortedVals []float64, idx []int32) {
	n := len(x)
	s.a = grow(s.a, n)
	s.tmp = grow(s.tmp, n)
	s.idx = grow(s.idx, n)
	s.counts = grow(s.counts, n/2+1)
	for i, v := range x {
		s.tmp[i] = draw{v, int32(i)}
	}
	s.bucketSort(s.tmp, s.a, 0)
	vals = vals[:n]
	for i, d := range s.a {
		vals[i], s.idx[i] = d.v, d.i
	}
	return vals, s.idx
}

// maxDepth bounds the recursion into buckets (clustered, far-from-smooth data)
// before a comparison sort takes over.
const maxDepth = 6

// bucketSort writes src, sorted, to dst (same length); src is clobbered.
func (s *argsorter) bucketSort(src, dst []draw, depth int) {
	n := len(src)
	if n <= insertionMax {
		copy(dst, src)
		insertionSort(dst)
		return
	}
	lo, hi := src[0].v, src[0].v
	for _, d := range src {
		if d.v < lo {
			lo = d.v
		}
		if d.v > hi {
			hi = d.v
		}
	}
	if hi == lo { // all tied: any order is sorted
		copy(dst, src)
		return
	}
	span := hi/2 - lo/2 // halves keep the span finite for any finite data
	if depth == maxDepth || math.IsInf(span, 0) {
		copy(dst, src)
		slices.SortFunc(dst, func(p, q draw) int { return cmp.Compare(p.v, q.v) })
		return
	}
	nb := n / 2
	scale := float64(nb-1) / span
	bucket := func(v float64) int {
		b := int((v/2 - lo/2) * scale)
		return min(max(b, 0), nb-1)
	}
	cnt := s.counts[:nb+1]
	clear(cnt)
	for _, d := range src {
		cnt[bucket(d.v)+1]++
	}
	largest := int32(0)
	for b := 1; b <= nb; b++ {
		largest = max(largest, cnt[b])
		cnt[b] += cnt[b-1]
	}
	if largest == int32(n) { // no spread: values too close for the interpolation
		copy(dst, src)
		slices.SortFunc(dst, func(p, q draw) int { return cmp.Compare(p.v, q.v) })
		return
	}
	for _, d := range src {
		b := bucket(d.v)
		dst[cnt[b]] = d
		cnt[b]++
	}
	// Buckets are contiguous runs of dst; find them again by their index so that
	// the counts are free for the recursion.
	for start := 0; start < n; {
		b := bucket(dst[start].v)
		end := start + 1
		for end < n && bucket(dst[end].v) == b {
			end++
		}
		if k := end - start; k > insertionMax {
			part := src[start:end] // src is free scratch now
			copy(part, dst[start:end])
			s.bucketSort(part, dst[start:end], depth+1)
		} else if k > 1 {
			insertionSort(dst[start:end])
		}
		start = end
	}
}

// insertionMax is the largest bucket finished by insertion sort.
const insertionMax = 24

func insertionSort(a []draw) {
	for i := 1; i < len(a); i++ {
		d := a[i]
		j := i
		for j > 0 && a[j-1].v > d.v {
			a[j] = a[j-1]
			j--
		}
		a[j] = d
	}
}

// grow returns s resliced to length n, reallocating only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}
