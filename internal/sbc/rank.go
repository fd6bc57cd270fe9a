package sbc

import (
	"math"
	"slices"

	"github.com/dsamstan/dsamstan/summarise"

	"gonum.org/v1/gonum/stat/distuv"
)

// Rank returns the rank of truth among the draws of chains kept by thinning, and how many
// draws were kept: each chain keeps its draws thin−1, 2·thin−1, … (every thin-th, the
// last of each block), and rank counts the kept draws below truth, so it lies in 0..n.
// When the posterior is right and the kept draws are independent, rank is uniform on
// 0..n. It panics when thin < 1.
func Rank(chains [][]float64, truth float64, thin int) (rank, n int) {
	if thin < 1 {
		panic("sbc: thin must be at least 1")
	}
	for _, c := range chains {
		for i := thin - 1; i < len(c); i += thin {
			if c[i] < truth {
				rank++
			}
			n++
		}
	}
	return rank, n
}

// Thin returns the thinning that leaves about ess of draws draws (all chains together):
// ceil(draws/ess), at least 1. Ranks among draws thinned so are close to independent
// draws from the posterior (Talts et al. 2018, section 5.1). A non-finite or
// non-positive ess gives the coarsest thinning that leaves a draw per chain.
func Thin(draws, chains int, ess float64) int {
	perChain := draws / max(1, chains)
	if !(ess > 0) || math.IsInf(ess, 0) || math.IsNaN(ess) {
		return max(1, perChain)
	}
	k := int(math.Ceil(float64(draws) / ess))
	return min(max(1, k), max(1, perChain))
}

// Bin returns the histogram bin of a rank in 0..n among bins equal bins:
// floor(rank·bins/(n+1)).
func Bin(rank, n, bins int) int {
	return min(rank*bins/(n+1), bins-1)
}

// binProbabilities returns, for ranks uniform on 0..n, the probability of each of bins
// bins: exactly 1/bins when bins divides n+1, and close to it otherwise.
func binProbabilities(n, bins int) []float64 {
	p := make([]float64, bins)
	for r := 0; r <= n; r++ {
		p[Bin(r, n, bins)]++
	}
	for b := range p {
		p[b] /= float64(n + 1)
	}
	return p
}

// Histogram returns the counts of ranks in bins equal bins and the counts a uniform rank
// would give on average; ns[i] is the number of draws ranks[i] was taken among (ranks
// from different simulations may have different n). It panics when the lengths differ.
func Histogram(ranks, ns []int, bins int) (counts, expected []float64) {
	if len(ranks) != len(ns) {
		panic("sbc: ranks and ns differ in length")
	}
	counts = make([]float64, bins)
	expected = make([]float64, bins)
	cache := map[int][]float64{}
	for i, r := range ranks {
		counts[Bin(r, ns[i], bins)]++
		p, ok := cache[ns[i]]
		if !ok {
			p = binProbabilities(ns[i], bins)
			cache[ns[i]] = p
		}
		for b, v := range p {
			expected[b] += v
		}
	}
	return counts, expected
}

// Uniformity returns the statistic and p-value of Pearson's chi-square test that ranks
// are uniform, over bins equal bins with bins−1 degrees of freedom (see Histogram for
// ns). With no ranks, it returns NaN.
func Uniformity(ranks, ns []int, bins int) (chi2, p float64) {
	if len(ranks) == 0 || bins < 2 {
		return math.NaN(), math.NaN()
	}
	counts, expected := Histogram(ranks, ns, bins)
	for b, c := range counts {
		if expected[b] > 0 {
			chi2 += (c - expected[b]) * (c - expected[b]) / expected[b]
		}
	}
	return chi2, distuv.ChiSquared{K: float64(bins - 1)}.Survival(chi2)
}

// Band returns the bounds a bin's count stays within with probability level when the
// ranks are uniform: the (1−level)/2 and (1+level)/2 quantiles of a binomial count of
// sims trials with probability p.
func Band(sims int, p, level float64) (lo, hi float64) {
	b := distuv.Binomial{N: float64(sims), P: p}
	lo, hi = math.NaN(), math.NaN()
	for k := 0; k <= sims; k++ {
		c := b.CDF(float64(k))
		if math.IsNaN(lo) && c >= (1-level)/2 {
			lo = float64(k)
		}
		if c >= (1+level)/2 {
			hi = float64(k)
			break
		}
	}
	if math.IsNaN(hi) {
		hi = float64(sims)
	}
	return lo, hi
}

// Bins is the number of histogram bins for sims simulations: about five expected ranks
// per bin, between 2 and 20.
func Bins(sims int) int {
	return min(20, max(2, sims/5))
}

// Covered reports whether truth lies in the central interval of mass level of draws
// (quantiles by R's type 7). draws is sorted in place.
func Covered(draws []float64, truth, level float64) bool {
	slices.Sort(draws)
	lo := summarise.Quantile(draws, (1-level)/2)
	hi := summarise.Quantile(draws, (1+level)/2)
	return truth >= lo && truth <= hi
}
