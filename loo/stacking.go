package loo

import (
	"errors"
	"fmt"
	"math"
)

// StackingWeights returns the stacking weights of models fitted to the same observations,
// as loo::loo_model_weights(method = "stacking") defines them: the point w of the simplex
// that maximises the leave-one-out log score of the mixture,
//
//	Σ_i log Σ_k w_k exp(elpd_loo_ik),
//
// from each model's pointwise elpd_loo. The objective is concave in w, and its maximiser
// is the maximum-likelihood mixing proportion of a mixture whose components have the fixed
// densities exp(elpd_loo_ik); the EM iteration w_k ← mean_i(w_k p_ik / Σ_j w_j p_ij) climbs
// it monotonically from the uniform weights to the optimum. Iteration stops when a round
// raises the objective by less than 1e-12 per observation (at most 20000 rounds: where the
// optimum lies on a face of the simplex the last weights creep towards 0).
func StackingWeights(results []*Result) ([]float64, error) {
	if len(results) == 0 {
		return nil, errors.New("loo: stacking needs at least one model")
	}
	n := results[0].N
	for k, r := range results {
		if r == nil || len(r.Pointwise) != r.N || r.N != n {
			return nil, fmt.Errorf("loo: stacking: model %d has no pointwise values for the same %d observations", k+1, n)
		}
	}
	K := len(results)
	w := make([]float64, K)
	for k := range w {
		w[k] = 1 / float64(K)
	}
	if K == 1 || n == 0 {
		return w, nil
	}
	// p[i][k] = exp(elpd_ik − max_k elpd_ik): the common factor cancels in every ratio.
	p := make([][]float64, n)
	for i := range p {
		p[i] = make([]float64, K)
		top := math.Inf(-1)
		for _, r := range results {
			top = math.Max(top, r.Pointwise[i].ELPD)
		}
		if math.IsInf(top, 0) || math.IsNaN(top) {
			return nil, fmt.Errorf("loo: stacking: observation %d has no finite pointwise elpd_loo", i+1)
		}
		for k, r := range results {
			p[i][k] = math.Exp(r.Pointwise[i].ELPD - top)
		}
	}
	next := make([]float64, K)
	prev := math.Inf(-1)
	for range 20000 {
		clear(next)
		score := 0.0
		for _, pi := range p {
			mix := 0.0
			for k, v := range pi {
				mix += w[k] * v
			}
			score += math.Log(mix)
			for k, v := range pi {
				next[k] += w[k] * v / mix
			}
		}
		for k := range next {
			next[k] /= float64(n)
		}
		w, next = next, w
		// score is the objective at the weights before this step; EM never lowers it.
		if score-prev < 1e-12*float64(n) {
			break
		}
		prev = score
	}
	return w, nil
}
