package optimise_test

import (
	"context"
	"fmt"
	"log"

	"github.com/dsamstan/dsamstan/optimise"
)

// ExampleOptimise splits a weekly budget of 1000 between TV (saturating Hill curve, with
// bounds) and search (log1p curve) from four posterior draws of the population
// coefficients. TV's reference spend is the mean of its spend column, search's is given.
// TV stops at its maximum while its marginal ROI is still above search's: the bound binds.
func ExampleOptimise() {
	scenario := []byte(`
channels:
  - term: m_tv
    name: tv
    bounds: {min: 100, max: 700}
    response: {type: hill, ec50: 400, slope: 1}
  - term: m_search
    name: search
    response: {type: log1p, scale: 100}
budget_total: 1000
reference_spend: {search: 200}
`)
	sc, err := optimise.ParseScenario(scenario, "scenario.yaml")
	if err != nil {
		log.Fatal(err)
	}
	in := optimise.Inputs{
		Terms: []string{"(Intercept)", "m_tv", "m_search"},
		// Draws[s][k]: coefficient of Terms[k] in draw s (revenue per unit of the model variable).
		Draws: [][]float64{
			{5000, 2600, 310},
			{5100, 2400, 290},
			{4900, 2500, 300},
			{5000, 2500, 300},
		},
		SpendColumns: map[string][]float64{"tv": {700, 800, 900}}, // spend_col defaults to the name
		KPIType:      optimise.KPIRevenue,
	}
	res, err := optimise.Optimise(context.Background(), sc, in, optimise.Options{Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("solver:", res.Summary.Solver)
	for _, c := range res.Channels {
		fmt.Printf("%-6s current %5.1f  optimised %5.1f  revenue %6.1f -> %6.1f  marginal ROI %.3f\n",
			c.Channel, c.CurrentSpend, c.OptimisedSpend, c.Current.Mean, c.Optimised.Mean, c.MarginalROI)
	}
	s := res.Summary
	fmt.Printf("total spend %.0f -> %.0f, revenue %.1f -> %.1f\n", s.Current.Spend, s.Optimised.Spend, s.Current.KPI.Mean, s.Optimised.KPI.Mean)
	// Output:
	// solver: lagrange-bisection
	// tv     current 800.0  optimised 700.0  revenue 1666.7 -> 1590.9  marginal ROI 0.826
	// search current 200.0  optimised 300.0  revenue  329.6 ->  415.9  marginal ROI 0.750
	// total spend 1000 -> 1000, revenue 1996.3 -> 2006.8
}
