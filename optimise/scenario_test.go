package optimise

import (
	"context"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseScenario(t *testing.T) {
	data, err := os.ReadFile("testdata/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ParseScenario(data, "testdata/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []Channel{
		{Term: "m_tv", Name: "tv", SpendCol: "spend_tv", Bounds: Bounds{Min: 2000, Max: 8000},
			Response: Response{Type: ResponseHill, EC50: 4000, Slope: 1.5}},
		{Term: "m_search", Name: "search", SpendCol: "search", Bounds: Bounds{Min: 500, Max: math.Inf(1)},
			Response: Response{Type: ResponseLog1p, Scale: 1500}},
		{Term: "m_social", Name: "m_social", SpendCol: "m_social", Bounds: Bounds{Max: math.Inf(1)},
			Response: Response{Type: ResponsePower, Exponent: 0.6}},
	}
	if !reflect.DeepEqual(sc.Channels, want) {
		t.Errorf("channels = %+v\nwant %+v", sc.Channels, want)
	}
	if sc.BudgetTotal != 12000 || !reflect.DeepEqual(sc.ReferenceSpend, map[string]float64{"search": 3000}) {
		t.Errorf("budget %v, reference %v", sc.BudgetTotal, sc.ReferenceSpend)
	}
	if want := (Objective{Type: ObjectiveCVaR, Alpha: 0.05}); sc.Objective != want {
		t.Errorf("objective = %+v; want %+v", sc.Objective, want)
	}
}

// Defaults: identity response, mean objective, slope 1, default risk parameters, risk keys
// in a risk section, numbers the YAML decoder leaves as text.
func TestScenarioDefaults(t *testing.T) {
	cases := []struct {
		yaml string
		obj  Objective
		resp Response
	}{
		{"channels: [{term: a}]\nbudget_total: 1e4\n", Objective{Type: ObjectiveMean}, Response{Type: ResponseIdentity}},
		{"channels: [{term: a, response: {type: hill, ec50: 5}}]\nbudget_total: 10\nobjective: quantile\n",
			Objective{Type: ObjectiveQuantile, Q: DefaultQ}, Response{Type: ResponseHill, EC50: 5, Slope: 1}},
		{"channels: [{term: a, bounds: {max: .inf}}]\nbudget_total: 10\nobjective: mean_minus_sd\n",
			Objective{Type: ObjectiveMeanMinusSD, Lambda: DefaultLambda}, Response{Type: ResponseIdentity}},
		{"channels: [{term: a, bounds: {max: Inf}}]\nbudget_total: 10\nobjective: cvar\nrisk: {alpha: 0.2}\n",
			Objective{Type: ObjectiveCVaR, Alpha: 0.2}, Response{Type: ResponseIdentity}},
		{"channels: [{term: a}]\nbudget_total: 10\nobjective: {type: mean_minus_sd, lambda: 0}\n",
			Objective{Type: ObjectiveMeanMinusSD, Lambda: 0}, Response{Type: ResponseIdentity}},
	}
	for _, tc := range cases {
		sc, err := ParseScenario([]byte(tc.yaml), "s.yaml")
		if err != nil {
			t.Errorf("%q: %v", tc.yaml, err)
			continue
		}
		if sc.Objective != tc.obj || sc.Channels[0].Response != tc.resp || !math.IsInf(sc.Channels[0].Bounds.Max, 1) {
			t.Errorf("%q: objective %+v, response %+v, max %v; want %+v, %+v, +Inf", tc.yaml, sc.Objective, sc.Channels[0].Response, sc.Channels[0].Bounds.Max, tc.obj, tc.resp)
		}
	}
}

func TestBadScenarios(t *testing.T) {
	cases := []struct {
		name, yaml, wantErr string
	}{
		{"unknown top key", "channels: [{term: a}]\nbudget_total: 10\nbudget: 5\n",
			"optimise: s.yaml:3:1: unknown key `budget`; did you mean `budget_total`? (allowed at the top level: channels, budget_total, reference_spend, objective, risk)"},
		{"unknown channel key", "channels:\n  - term: a\n    spend: 5\nbudget_total: 10\n",
			"optimise: s.yaml:3:5: unknown key `channels[0].spend`; did you mean `spend_col`? (allowed under `channels[0]`: term, name, spend_col, bounds, response)"},
		{"currency_col", "channels:\n  - term: a\n    currency_col: fx\nbudget_total: 10\n",
			"optimise: s.yaml:3:5: `channels[0].currency_col` is not supported; convert the channel's spend to currency in the data"},
		{"missing budget and channels", "objective: mean\n",
			"optimise: s.yaml: `channels` is missing; list the channels to allocate (term, name, spend_col, bounds, response)\n" +
				"optimise: s.yaml: `budget_total` is missing; give the spend to allocate per model row (e.g. per week)"},
		{"budget text", "channels: [{term: a}]\nbudget_total: lots\n",
			"optimise: s.yaml:2:15: `budget_total` is \"lots\"; must be a number (.Inf and -.Inf are allowed)"},
		{"duplicate channel", "channels:\n  - {term: a, name: tv}\n  - {term: b, name: tv}\nbudget_total: 10\n",
			"optimise: s.yaml:3:15: `channels[1].name` \"tv\" repeats channels[0]; channel names must be unique"},
		{"duplicate term", "channels:\n  - {term: a}\n  - {term: a, name: other}\nbudget_total: 10\n",
			"optimise: s.yaml:3:6: `channels[1].term` \"a\" repeats channels[0]; each term can be allocated once"},
		{"budget below minimums", "channels:\n  - {term: a, bounds: {min: 6}}\n  - {term: b, bounds: {min: 5}}\nbudget_total: 10\n",
			"optimise: s.yaml:4:1: `budget_total` is 10; must lie between the sum of bounds.min (11) and the sum of bounds.max (+Inf): change the budget or the bounds"},
		{"budget above maximums", "channels:\n  - {term: a, bounds: {max: 3}}\nbudget_total: 10\n",
			"optimise: s.yaml:3:1: `budget_total` is 10; must lie between the sum of bounds.min (0) and the sum of bounds.max (3): change the budget or the bounds"},
		{"negative bound", "channels:\n  - term: a\n    bounds:\n      min: -5\nbudget_total: 10\n",
			"optimise: s.yaml:4:7: `channels[0].bounds.min` is -5; must be a finite spend ≥ 0"},
		{"max below min", "channels:\n  - term: a\n    bounds: {min: 5, max: 2}\nbudget_total: 10\n",
			"optimise: s.yaml:3:22: `channels[0].bounds.max` is 2; must be ≥ bounds.min (5), or left out for no limit"},
		{"hill without ec50", "channels:\n  - term: a\n    response: {type: hill, slope: 2}\nbudget_total: 10\n",
			"optimise: s.yaml:3:5: `channels[0].response.ec50` is missing; a hill response needs ec50 > 0 (the spend at half saturation)"},
		{"parameter of another type", "channels:\n  - term: a\n    response: {type: hill, ec50: 3, scale: 2}\nbudget_total: 10\n",
			"optimise: s.yaml:3:37: `channels[0].response.scale` applies to log1p responses only, not hill; remove it"},
		{"unknown response", "channels:\n  - term: a\n    response: {type: sigmoid}\nbudget_total: 10\n",
			"optimise: s.yaml:3:16: `channels[0].response.type` is \"sigmoid\"; must be one of identity, hill, log1p, power"},
		{"unknown objective", "channels: [{term: a}]\nbudget_total: 10\nobjective: {type: max}\n",
			"optimise: s.yaml:3:13: `objective.type` is \"max\"; must be one of mean, mean_minus_sd, quantile, cvar"},
		{"q out of range", "channels: [{term: a}]\nbudget_total: 10\nobjective: {type: quantile, q: 1.5}\n",
			"optimise: s.yaml:3:29: `objective.q` is 1.5; must lie strictly between 0 and 1 (e.g. 0.1 for a pessimistic plan)"},
		{"parameter set twice", "channels: [{term: a}]\nbudget_total: 10\nobjective: {type: cvar, alpha: 0.1}\nrisk: {alpha: 0.2}\n",
			"optimise: s.yaml:4:8: `risk.alpha` repeats `objective.alpha`; set it in one place"},
		{"risk parameter of another objective", "channels: [{term: a}]\nbudget_total: 10\nrisk: {lambda: 2}\n",
			"optimise: s.yaml:3:8: `risk.lambda` applies to objective mean_minus_sd only, not mean; remove it"},
		{"reference of no channel", "channels: [{term: a}]\nbudget_total: 10\nreference_spend: {b: 4}\n",
			"optimise: s.yaml:3:19: `reference_spend.b` names no channel; channels are a"},
		{"alias", "channels: &c [{term: a}]\nbudget_total: 10\nx: *c\n",
			"optimise: s.yaml:3:4: YAML aliases (*name) are not supported in scenarios; write the value out"},
		{"duplicate key", "channels: [{term: a}]\nbudget_total: 10\nbudget_total: 5\n",
			"optimise: s.yaml:3:1: invalid YAML: mapping key \"budget_total\" already defined at [2:1]"},
		{"not a mapping", "- a\n- b\n",
			"optimise: s.yaml:1:1: the scenario must be a mapping (key: value lines) with channels and budget_total"},
		{"did you mean", "channels:\n  - term: a\n    bounds: {mni: 3}\nbudget_total: 10\nobjectve: cvar\n",
			"optimise: s.yaml:3:14: unknown key `channels[0].bounds.mni`; did you mean `min`? (allowed under `channels[0].bounds`: min, max)\n" +
				"optimise: s.yaml:5:1: unknown key `objectve`; did you mean `objective`? (allowed at the top level: channels, budget_total, reference_spend, objective, risk)"},
		{"values checked despite a bad key", "channels:\n  - term: a\n    spend: 5\n    bounds: {min: -2}\nbudget_total: -1\nrisk: {q: 2}\nobjective: quantile\n",
			"optimise: s.yaml:3:5: unknown key `channels[0].spend`; did you mean `spend_col`? (allowed under `channels[0]`: term, name, spend_col, bounds, response)\n" +
				"optimise: s.yaml:4:14: `channels[0].bounds.min` is -2; must be a finite spend ≥ 0\n" +
				"optimise: s.yaml:5:1: `budget_total` is -1; must be a finite spend > 0 (per model row, e.g. per week)\n" +
				"optimise: s.yaml:7:1: `objective.q` is 2; must lie strictly between 0 and 1 (e.g. 0.1 for a pessimistic plan)"},
		{"channel not a mapping", "channels: [{term: a}, 5]\nbudget_total: 10\nreference_spend: {b: 1}\n",
			"optimise: s.yaml:1:23: `channels[1]` must be a mapping (key: value lines), not 5"},
		{"objective not a name", "channels: [{term: a}]\nbudget_total: 10\nobjective: [cvar]\nrisk: {alpha: 0.2}\n",
			"optimise: s.yaml:3:12: `objective` must be a type name (mean, mean_minus_sd, quantile, cvar) or a mapping with type and its parameter, not a list"},
		{"response type of the wrong kind", "channels:\n  - {term: a, response: {type: {hill: 1}, ec50: 3}}\nbudget_total: 10\n",
			"optimise: s.yaml:2:32: `channels[0].response.type` must be text, not a mapping"},
		{"merge key", "channels:\n  - <<: {term: a}\nbudget_total: 10\n",
			"optimise: s.yaml:2:5: `channels[0]`: YAML merge keys (<<) are not supported in scenarios; write the keys out\n" +
				"optimise: s.yaml:2:5: `channels[0].term` is missing; name the model term the channel's spend drives"},
		{"several problems at once", "channels:\n  - term: a\n    bounds: {min: -1}\n  - {name: b}\nbudget_total: 0\n",
			"optimise: s.yaml:3:14: `channels[0].bounds.min` is -1; must be a finite spend ≥ 0\n" +
				"optimise: s.yaml:4:5: `channels[1].term` is missing; name the model term the channel's spend drives\n" +
				"optimise: s.yaml:5:1: `budget_total` is 0; must be a finite spend > 0 (per model row, e.g. per week)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tc.yaml), "s.yaml")
			if err == nil {
				t.Fatalf("ParseScenario succeeded; want error\n%s", tc.wantErr)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.wantErr)
			}
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Errorf("error is %T; want *ScenarioError", err)
			}
		})
	}
}

// Terms and spend columns are checked against the model when optimising; errors point
// into the scenario file.
func TestOptimiseBindErrors(t *testing.T) {
	src := "channels:\n  - term: m_tv\n  - term: m_radio\n    spend_col: radio\nbudget_total: 10\n"
	sc, err := ParseScenario([]byte(src), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := Inputs{Terms: []string{"(Intercept)", "m_tv", "m_search"}, Draws: [][]float64{{1, 2, 3}},
		SpendColumns: map[string][]float64{"m_tv": {1, 2}, "search": {3}}}
	_, err = Optimise(context.Background(), sc, in, Options{})
	want := "optimise: s.yaml:3:5: `channels[1].term` \"m_radio\" is not a population term of the model; terms are (Intercept), m_tv, m_search"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	in.Terms[2] = "m_radio"
	_, err = Optimise(context.Background(), sc, in, Options{})
	want = "optimise: s.yaml:4:5: `channels[1].spend_col` \"radio\" is not a data column (columns: m_tv, search); name the channel's spend column or set reference_spend.m_radio"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	for _, bad := range []Inputs{
		{Terms: in.Terms, Draws: nil},
		{Terms: in.Terms, Draws: [][]float64{{1, 2}}},
		{Terms: in.Terms, Draws: [][]float64{{1, math.NaN(), 3}}, SpendColumns: in.SpendColumns},
		{Terms: in.Terms, Draws: [][]float64{{1, 2, 3}}, KPIType: "clicks"},
	} {
		if _, err := Optimise(context.Background(), sc, bad, Options{}); err == nil || !strings.HasPrefix(err.Error(), "optimise: ") {
			t.Errorf("inputs %+v: error %v; want an optimise error", bad, err)
		}
	}
}

// FuzzParseScenario only asserts that parsing never panics.
func FuzzParseScenario(f *testing.F) {
	data, err := os.ReadFile("testdata/scenario.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("channels: [{term: a, response: {type: hill, ec50: 1}}]\nbudget_total: 1\nrisk: {q: 2}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseScenario(b, "fuzz.yaml")
	})
}
