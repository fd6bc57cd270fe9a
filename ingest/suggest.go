package ingest

import (
	"strings"

	"github.com/dsamstan/dsamstan/internal/strictyaml"
)

// closest is the did-you-mean of the config decoder, used for columns and parameters too.
func closest(name string, candidates []string, n int) []string {
	return strictyaml.Closest(name, candidates, n)
}

// show formats a user's name for a message (see strictyaml.Show).
func show(name string) string { return strictyaml.Show(name) }

// showList formats names with show, joined by ", ".
func showList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = show(n)
	}
	return strings.Join(out, ", ")
}
