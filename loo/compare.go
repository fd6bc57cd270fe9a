package loo

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/dsamstan/dsamstan/internal/num"
)

// Comparison is one model's row of Compare: its estimates and its difference from the best.
type Comparison struct {
	// Name is the model's name as passed to Compare; Rank is 1 for the best model.
	Name string
	Rank int
	// ELPDDiff is Σ_i (elpd_i − elpd_i of the best model), 0 for the best and negative
	// otherwise; SEDiff is its standard error sqrt(N)·sd(differences), 0 for the best.
	ELPDDiff, SEDiff float64
	// The model's own estimates, as in its Result.
	ELPD, ELPDSE, PLOO, PLOOSE, LOOIC, LOOICSE float64
}

// Compare ranks models by ELPD, highest first, as loo::loo_compare does: each model's
// elpd_diff and se_diff against the best are computed from the pointwise differences, so
// all models must have the same observations (same N, in the same order: the caller
// checks that they were fitted to the same rows). Ties keep the order given. It needs at
// least two models, each with its pointwise values.
func Compare(names []string, results []*Result) ([]Comparison, error) {
	if len(names) != len(results) {
		return nil, fmt.Errorf("loo: compare: %d names for %d results", len(names), len(results))
	}
	if len(results) < 2 {
		return nil, errors.New("loo: compare needs at least two models")
	}
	for j, r := range results {
		switch {
		case r == nil:
			return nil, fmt.Errorf("loo: compare: model %q has no result", names[j])
		case len(r.Pointwise) != r.N:
			return nil, fmt.Errorf("loo: compare: model %q has %d pointwise values for %d observations", names[j], len(r.Pointwise), r.N)
		case r.N != results[0].N:
			return nil, fmt.Errorf("loo: compare: model %q has %d observations, %q has %d; models must be fitted to the same data rows",
				names[j], r.N, names[0], results[0].N)
		}
	}
	order := make([]int, len(results))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ea, eb := results[a].ELPD, results[b].ELPD
		switch {
		case ea > eb:
			return -1
		case ea < eb:
			return 1
		}
		return 0
	})
	best := results[order[0]]
	diff := make([]float64, best.N)
	out := make([]Comparison, len(order))
	for rank, j := range order {
		r := results[j]
		var sum float64
		for i, p := range r.Pointwise {
			diff[i] = p.ELPD - best.Pointwise[i].ELPD
			sum += diff[i]
		}
		se := math.Sqrt(float64(len(diff))) * math.Sqrt(num.Variance(diff))
		out[rank] = Comparison{
			Name: names[j], Rank: rank + 1, ELPDDiff: sum, SEDiff: se,
			ELPD: r.ELPD, ELPDSE: r.ELPDSE, PLOO: r.PLOO, PLOOSE: r.PLOOSE, LOOIC: r.LOOIC, LOOICSE: r.LOOICSE,
		}
	}
	return out, nil
}
