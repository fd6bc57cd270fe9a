package optimise

import (
	"context"
	"math"
	"strings"
	"testing"
)

// A channel on a term the model transforms takes the model's response; writing one, or a
// Hill response priced in another column, is refused.
func TestModelResponses(t *testing.T) {
	sc := &Scenario{BudgetTotal: 100, Channels: []Channel{
		{Term: "a", Name: "tv", SpendCol: "a", Bounds: Bounds{Max: math.Inf(1)}},
		{Term: "b", Name: "search", SpendCol: "b", Bounds: Bounds{Max: math.Inf(1)}},
	}}
	in := Inputs{
		Terms: []string{"a", "b"}, Draws: [][]float64{{2, 1}, {3, 1}},
		SpendColumns:   map[string][]float64{"a": {40}, "b": {60}, "x": {1}},
		ModelResponses: map[string]Response{"a": {Type: ResponseHill, EC50: 20, Slope: 1}},
	}
	res, err := Optimise(context.Background(), sc, in, Options{Starts: -1, FrontierSteps: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Channels[0].Response; r != (Response{Type: ResponseHill, EC50: 20, Slope: 1}) {
		t.Errorf("tv response %v; want the model's hill(ec50=20, slope=1)", r)
	}
	if r := res.Channels[1].Response; r.Type != ResponseIdentity {
		t.Errorf("search response %v; want identity (no transform)", r)
	}
	own := *sc
	own.Channels = append([]Channel(nil), sc.Channels...)
	own.Channels[0].Response = Response{Type: ResponseHill, EC50: 5, Slope: 1}
	if _, err := Optimise(context.Background(), &own, in, Options{}); err == nil || !strings.Contains(err.Error(), "`channels[0].response` is set, but the model transforms a itself") {
		t.Errorf("own response: %v", err)
	}
	other := *sc
	other.Channels = append([]Channel(nil), sc.Channels...)
	other.Channels[0].SpendCol = "x"
	if _, err := Optimise(context.Background(), &other, in, Options{}); err == nil || !strings.Contains(err.Error(), "`channels[0].spend_col` is \"x\", but the model saturates a") {
		t.Errorf("spend_col of another column: %v", err)
	}
}
