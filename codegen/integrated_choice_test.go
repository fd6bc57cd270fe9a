package codegen

import (
	"fmt"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// TestUseIntegrated: auto integrates the group effects out up to maxIntegratedEffects
// group effects over all factors and keeps the sampled program beyond; integrated forces
// it; centered and noncentered never use it.
func TestUseIntegrated(t *testing.T) {
	group := func(levels, terms int) *ingest.Grouping {
		g := &ingest.Grouping{Factor: "market", Index: 1}
		for i := range levels {
			g.Levels = append(g.Levels, fmt.Sprint("m", i))
		}
		for k := range terms {
			g.Terms = append(g.Terms, k)
		}
		return g
	}
	cases := []struct {
		name   string
		param  string
		groups []*ingest.Grouping
		want   bool
	}{
		{"auto, 8 markets x 4 terms", "auto", []*ingest.Grouping{group(8, 4)}, true},
		{"unset, 20 x 4 (at the limit)", "", []*ingest.Grouping{group(20, 4)}, true},
		{"auto, 21 x 4", "auto", []*ingest.Grouping{group(21, 4)}, false},
		{"auto, 50 x 4", "auto", []*ingest.Grouping{group(50, 4)}, false},
		{"integrated, 50 x 4", Integrated, []*ingest.Grouping{group(50, 4)}, true},
		{"centered, 8 x 4", Centered, []*ingest.Grouping{group(8, 4)}, false},
		{"noncentered, 2 x 4", Noncentered, []*ingest.Grouping{group(2, 4)}, false},
		{"auto, two factors", "auto", []*ingest.Grouping{group(4, 2), group(3, 1)}, true},
		{"auto, two factors, 8 x 4 + 49 x 1 (one over the limit)", "auto", []*ingest.Grouping{group(8, 4), group(49, 1)}, false},
		{"integrated, two factors, 50 x 4 + 100 x 1", Integrated, []*ingest.Grouping{group(50, 4), group(100, 1)}, true},
		{"noncentered, two factors", Noncentered, []*ingest.Grouping{group(4, 2), group(3, 1)}, false},
	}
	for _, c := range cases {
		spec := &ingest.Spec{Parameterization: c.param}
		for _, g := range c.groups {
			spec.Groups = append(spec.Groups, *g)
		}
		if got := useIntegrated(spec); got != c.want {
			t.Errorf("%s: useIntegrated = %v; want %v", c.name, got, c.want)
		}
	}
}
