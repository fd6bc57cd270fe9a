package num

import "math"

// Compare orders floats for slices.SortFunc: it returns -1 if a sorts before b, +1 if
// after and 0 if they are equal, in ascending order with every NaN after every number
// (NaNs are equal to each other). Unlike a plain < and > test, which finds a NaN equal to
// everything, this is a total order, so a sort with NaNs in it is still well defined.
// -0 and +0 are equal.
func Compare(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an || bn:
		switch {
		case an && bn:
			return 0
		case an:
			return 1
		}
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CompareDesc is Compare for descending order: larger numbers first, and every NaN
// still after every number (so that a NaN never heads a "largest first" list).
func CompareDesc(a, b float64) int {
	if math.IsNaN(a) || math.IsNaN(b) {
		return Compare(a, b)
	}
	return Compare(b, a)
}
