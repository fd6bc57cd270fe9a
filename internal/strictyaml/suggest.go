package strictyaml

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Closest returns up to n candidates close to name, best first: within an edit distance of
// a quarter of the longer name (ignoring case, a swap of two letters counting once), or
// containing it. It makes the "did you mean" of messages.
func Closest(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	var best []scored
	lname := strings.ToLower(name)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		la, lb := utf8.RuneCountInString(lname), utf8.RuneCountInString(lc)
		limit := max(1, max(la, lb)/4)
		d := limit + 1
		if max(la, lb) <= maxEditRunes && abs(la-lb) <= limit {
			d = editDistance(lname, lc)
		}
		if d <= limit || len(lname) >= 3 && len(lc) >= 3 && (strings.Contains(lc, lname) || strings.Contains(lname, lc)) {
			best = append(best, scored{c, d})
		}
	}
	sort.SliceStable(best, func(i, j int) bool { return best[i].d < best[j].d })
	var out []string
	for i := 0; i < len(best) && i < n; i++ {
		out = append(out, best[i].s)
	}
	return out
}

// maxEditRunes bounds the names Closest compares by edit distance: the cost is the product
// of the two lengths, and a 4 KB column name is not a typo of anything.
const maxEditRunes = 256

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the optimal-string-alignment distance between a and b, by runes:
// insertions, deletions, substitutions and swaps of adjacent letters each cost 1. It keeps
// three rows of the table, not the whole table.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1) // row i-2
	prev := make([]int, len(rb)+1)  // row i-1
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Show formats a user's name (a column, term, group label or key) for a message: as it is
// when every character is visible, else quoted with Go escapes, so a newline, a terminal
// escape or a bidi override in a name cannot break or disguise the message.
func Show(name string) string {
	for _, r := range name {
		if !unicode.IsGraphic(r) || r == '"' || r == '`' {
			return strconv.Quote(name)
		}
	}
	return name
}
