package posterior

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestReadDrawsRoundTrip(t *testing.T) {
	var b strings.Builder
	cols := [][]float64{{1, 2, 3, 4}, {0.5, math.NaN(), 0.25, 0.125}}
	metrics := []DrawMetric{{R2: 0.9, RMSE: 1, SMAPE: 2}, {}, {}, {R2: 0.8}}
	if err := WriteDraws(&b, []string{"m_tv", "noise_sd"}, cols, 2, 2, metrics); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDraws(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if want := "chain,draw,m_tv,noise_sd,r2,rmse,smape"; strings.Join(d.Names, ",") != want {
		t.Errorf("names = %v; want %s", d.Names, want)
	}
	tv, ok := d.Column("m_tv")
	sd, _ := d.Column("noise_sd")
	chain, _ := d.Column("chain")
	r2, _ := d.Column("r2")
	if !ok || tv[3] != 4 || !math.IsNaN(sd[1]) || chain[2] != 2 || r2[3] != 0.8 {
		t.Errorf("read back m_tv %v noise_sd %v chain %v r2 %v", tv, sd, chain, r2)
	}
	if _, ok := d.Column("nope"); ok {
		t.Error("Column found a column that is not there")
	}
	if _, err := ReadDraws(strings.NewReader("chain,m_tv\n1,x\n")); err == nil || !strings.Contains(err.Error(), `posterior_draws.csv:2: column "m_tv"`) {
		t.Errorf("bad cell: err = %v", err)
	}
}

// TestReadTablesRoundTrip writes the derived tables of a log(y) panel and reads them back.
func TestReadTablesRoundTrip(t *testing.T) {
	spec, d := panelFixture(t, 12, 2, 50, true)
	res, err := Derive(context.Background(), spec, d, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var fb, mb, db, tb strings.Builder
	if err := WriteFitted(&fb, spec, res); err != nil {
		t.Fatal(err)
	}
	ms := Metrics(spec, res)
	if err := WriteMetrics(&mb, ms); err != nil {
		t.Fatal(err)
	}
	if err := WriteDecomposition(&db, spec, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteTotals(&tb, spec, res); err != nil {
		t.Fatal(err)
	}

	f, err := ReadFitted(strings.NewReader(fb.String()))
	if err != nil {
		t.Fatal(err)
	}
	last := spec.N - 1
	g := spec.Groups[0]
	if len(f.Keys) != spec.N || f.Keys[last].Row != spec.N || f.Factors[0] != g.Factor || f.Keys[last].Groups[0] != g.Levels[g.Of[last]] {
		t.Errorf("fitted keys: factors %v, last %+v", f.Factors, f.Keys[last])
	}
	if f.Observed[0] != res.Rows[0].Observed || f.Model.Mean[3] != res.Rows[3].Model.Mean || f.Model.PredHi95[2] != res.Rows[2].Model.PredHi ||
		f.KPI == nil || f.KPI.Q97_5[1] != res.Rows[1].KPI.Q[4] || f.KPIObserved[5] != res.Rows[5].KPIObserved {
		t.Error("fitted_values.csv does not read back the values written")
	}

	m, err := ReadMetrics(strings.NewReader(mb.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != len(ms) || m[0] != ms[0] || m[len(m)-1].Scope != ms[len(ms)-1].Scope {
		t.Errorf("fit_metrics.csv read back %+v; want %+v", m, ms)
	}

	dec, err := ReadDecomposition(strings.NewReader(db.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(dec.Terms) != spec.N*len(res.Terms) || dec.Terms[1] != res.Terms[1] || dec.Mean[1] != res.Decomp[0][1].Mean ||
		dec.MultMean == nil || dec.MultMean[0] != res.Decomp[0][0].MultMean || dec.Keys[len(res.Terms)].Row != 2 {
		t.Error("decomposition.csv does not read back the values written")
	}

	tot, err := ReadTotals(strings.NewReader(tb.String()))
	if err != nil {
		t.Fatal(err)
	}
	scopes := 1
	for _, g := range spec.Groups {
		scopes += len(g.Levels)
	}
	if tot[0].Scope != "all" || tot[0].Term != res.Terms[0] || len(tot) != len(res.Terms)*scopes {
		t.Errorf("decomposition_totals.csv read back %+v", tot[:2])
	}

	for name, read := range map[string]func(string) error{
		"fitted":        func(s string) error { _, err := ReadFitted(strings.NewReader(s)); return err },
		"metrics":       func(s string) error { _, err := ReadMetrics(strings.NewReader(s)); return err },
		"decomposition": func(s string) error { _, err := ReadDecomposition(strings.NewReader(s)); return err },
		"totals":        func(s string) error { _, err := ReadTotals(strings.NewReader(s)); return err },
	} {
		if err := read("row,date,x\n1,,2\n"); err == nil {
			t.Errorf("%s: a foreign table reads without error", name)
		}
	}
}

// TestTotalsOfACategoricalColumn: a categorical column's levels are also given as one total
// per scope, each draw's level totals summed, after the terms and outside the summed fit.
func TestTotalsOfACategoricalColumn(t *testing.T) {
	spec, d := panelFixture(t, 12, 2, 50, false)
	if len(spec.Terms) < 3 {
		t.Fatalf("fixture has %d terms; need two levels besides the intercept", len(spec.Terms))
	}
	last := len(spec.Terms) - 1
	spec.Terms[last-1].Factor, spec.Terms[last].Factor = "channel", "channel"
	res, err := Derive(context.Background(), spec, d, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var tb strings.Builder
	if err := WriteTotals(&tb, spec, res); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadTotals(strings.NewReader(tb.String()))
	if err != nil {
		t.Fatal(err)
	}
	byScope := map[string]map[string]TotalRow{}
	var order []string
	for _, r := range rows {
		if byScope[r.Scope] == nil {
			byScope[r.Scope] = map[string]TotalRow{}
		}
		byScope[r.Scope][r.Term] = r
		if r.Scope == "all" {
			order = append(order, r.Term)
		}
	}
	if order[len(order)-1] != "channel" || len(order) != len(res.Terms)+1 {
		t.Fatalf("scope all lists %v; want the terms, then channel", order)
	}
	for scope, terms := range byScope {
		fac, ok := terms["channel"]
		if !ok {
			t.Errorf("%s: no channel total", scope)
			continue
		}
		a, b := terms[spec.Terms[last-1].Name], terms[spec.Terms[last].Name]
		if want := a.Mean + b.Mean; math.Abs(fac.Mean-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: channel total %v; want %v + %v", scope, fac.Mean, a.Mean, b.Mean)
		}
		if want := a.Share + b.Share; math.Abs(fac.Share-want) > 1e-9 {
			t.Errorf("%s: channel share %v; want %v", scope, fac.Share, want)
		}
	}
	// Per draw, not the sum of the levels' quantiles: the 90% interval of the sum, from the
	// draws' own totals.
	sum := make([]float64, d.S())
	addTo(sum, res.Totals[last-1])
	addTo(sum, res.Totals[last])
	q := make([]float64, 3)
	quantiles(sum, decompProbs, q)
	if got := byScope["all"]["channel"]; math.Abs(got.Q5-q[0]) > 1e-9*math.Max(1, math.Abs(q[0])) || math.Abs(got.Q95-q[2]) > 1e-9*math.Max(1, math.Abs(q[2])) {
		t.Errorf("channel interval [%v, %v]; want [%v, %v] from the draws' sums", got.Q5, got.Q95, q[0], q[2])
	}
}
