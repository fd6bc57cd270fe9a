package ingest

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// catCSV has a text column channel with the levels TV, radio and Print (sorted: Print,
// radio, TV), a second text column events with levels na and promo, and a numeric x.
const catCSV = `kpi,channel,x,events,market
1,TV,0.5,na,north
2,radio,1.5,promo,north
3,Print,2.5,na,north
4,TV,3.5,na,south
5,radio,4.5,promo,south
6,Print,5.5,promo,south
7,TV,6.5,na,south
`

// designOf returns the spec's term names and design columns.
func designOf(s *Spec) ([]string, [][]float64) {
	var names []string
	for _, t := range s.Terms {
		names = append(names, t.Name)
	}
	return names, s.X
}

func TestCategoricalDesign(t *testing.T) {
	one := []float64{1, 1, 1, 1, 1, 1, 1}
	x := []float64{0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5}
	// Hand-built as R's model.matrix builds them.
	radio := []float64{0, 1, 0, 0, 1, 0, 0}
	tv := []float64{1, 0, 0, 1, 0, 0, 1}
	print := []float64{0, 0, 1, 0, 0, 1, 0}
	promo := []float64{0, 1, 0, 0, 1, 1, 0}
	tests := []struct {
		name    string
		formula string
		csv     string
		terms   []string
		x       [][]float64
	}{
		{"treatment contrasts, first sorted level the reference", "kpi ~ channel + x", catCSV,
			[]string{"(Intercept)", "channelradio", "channelTV", "x"}, [][]float64{one, radio, tv, x}},
		{"in place of the term", "kpi ~ x + channel + events", catCSV,
			[]string{"(Intercept)", "x", "channelradio", "channelTV", "eventspromo"}, [][]float64{one, x, radio, tv, promo}},
		{"no intercept: the first factor keeps every level", "kpi ~ 0 + channel + events + x", catCSV,
			[]string{"channelPrint", "channelradio", "channelTV", "eventspromo", "x"}, [][]float64{print, radio, tv, promo, x}},
		{"with a group term", "kpi ~ events + x + (1 | market)", catCSV,
			[]string{"(Intercept)", "eventspromo", "x"}, [][]float64{one, promo, x}},
		{"a missing level drops the row", "kpi ~ channel", strings.Replace(catCSV, "3,Print,", "3,NA,", 1),
			[]string{"(Intercept)", "channelradio", "channelTV"},
			[][]float64{{1, 1, 1, 1, 1, 1}, {0, 1, 0, 1, 0, 0}, {1, 0, 1, 0, 0, 1}}},
		{"levels by case as R sorts them: a before A", "kpi ~ channel", "kpi,channel\n1,b\n2,A\n3,a\n4,b\n",
			[]string{"(Intercept)", "channelA", "channelb"}, [][]float64{{1, 1, 1, 1}, {0, 1, 0, 0}, {1, 0, 0, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s, err := runIn(t, fmt.Sprintf("data: {path: data.csv}\nmodel: {formula: %q}\n", tt.formula), tt.csv)
			if err != nil {
				t.Fatal(err)
			}
			names, x := designOf(s)
			if !reflect.DeepEqual(names, tt.terms) {
				t.Errorf("terms %q; want %q", names, tt.terms)
			}
			if !reflect.DeepEqual(x, tt.x) {
				t.Errorf("design\n%v\nwant\n%v", x, tt.x)
			}
		})
	}
}

func TestCategoricalTermsAndPriors(t *testing.T) {
	yaml := `data: {path: data.csv}
model: {formula: kpi ~ channel + x}
priors:
  overrides:
    - {parameter: channelTV, mean: 1, sd: 0.5}
boundaries:
  overrides:
    - {parameter: channelradio, lower: 0}
`
	_, s, err := runIn(t, yaml, catCSV)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Terms[2]; got.Factor != "channel" || got.Level != "TV" {
		t.Errorf("term %+v; want factor channel, level TV", got)
	}
	if s.Terms[3].Factor != "" {
		t.Errorf("x is marked categorical: %+v", s.Terms[3])
	}
	if p := s.Priors[2]; p.Mean != 1 || p.SD != 0.5 || p.Default {
		t.Errorf("channelTV prior %+v; want normal(1, 0.5) from the override", p)
	}
	if b := s.Bounds[1]; b.Lower != 0 || !math.IsInf(b.Upper, 1) {
		t.Errorf("channelradio bound %+v; want [0, Inf)", b)
	}
	// The default prior of a dummy is the slope rule: 5·sd(y)/sd(dummy).
	if want := 5 * sampleSD(s.Y) / sampleSD(s.X[1]); !near(s.Priors[1].SD, want) || !s.Priors[1].Default {
		t.Errorf("channelradio default prior %+v; want normal(0, %g)", s.Priors[1], want)
	}
}

func TestCategoricalErrors(t *testing.T) {
	var many strings.Builder
	many.WriteString("kpi,id\n")
	for i := range 60 {
		fmt.Fprintf(&many, "%d,id%02d\n", i, i)
	}
	tests := []struct{ name, yaml, csv, wantErr string }{
		{"one level",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ x + channel}\n",
			"kpi,x,channel\n1,2,TV\n2,3,TV\n3,5,TV\n",
			"ingest: run.yaml:2:9: formula: column 11: column \"channel\" of data.csv is text, a categorical term, but has one value, \"TV\", in the rows used; a factor needs at least two levels: remove it from the formula\n" +
				"  kpi ~ x + channel\n" +
				"            ^"},
		{"too many levels",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ id}\n", many.String(),
			"ingest: run.yaml:2:9: formula: column 7: column \"id\" of data.csv is text, a categorical term, with 60 distinct values (id00, id01, id02, …); at most 50 levels are allowed: if it identifies markets or products, model it as a group term such as (1 | id); if it should be numbers, fix the values\n" +
				"  kpi ~ id\n" +
				"        ^"},
		{"varying by group",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ events + (1 + events | market)}\n", catCSV,
			"ingest: run.yaml:2:9: formula: column 7: column \"events\" of data.csv is text, a categorical term; it cannot vary by group in ( … | market ): keep it as a population term only, or give it a 0/1 column per level\n" +
				"  kpi ~ events + (1 + events | market)\n" +
				"        ^"},
		{"a media transform",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ channel}\ntransforms:\n  channel: {saturation: {type: hill, half_saturation: 1, shape: 1}}\n", catCSV,
			"ingest: run.yaml:4:3: `transforms.channel`: \"channel\" is a text (categorical) column; media transforms apply to numeric columns only"},
		{"a prior on the factor itself",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ channel}\npriors:\n  overrides:\n    - {parameter: channel, mean: 0, sd: 1}\n", catCSV,
			"ingest: run.yaml:5:8: `priors.overrides[0].parameter` is \"channel\", which is not a coefficient of the model; \"channel\" is a text (categorical) column, whose coefficients are \"channelradio\" and \"channelTV\""},
		{"a level that does not exist",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ channel}\nboundaries:\n  overrides:\n    - {parameter: channelTVV, lower: 0}\n", catCSV,
			"ingest: run.yaml:5:8: `boundaries.overrides[0].parameter` is \"channelTVV\", which is not a coefficient of the model; did you mean \"channelTV\"?"},
		{"use_defaults false and a level without a prior",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ channel}\npriors:\n  use_defaults: false\n  overrides:\n" +
				"    - {parameter: (Intercept), mean: 0, sd: 1}\n    - {parameter: channelTV, mean: 0, sd: 1}\n    - {parameter: noise_sd, mean: 0, sd: 1}\n    - {parameter: channel, mean: 0, sd: 1}\n",
			catCSV,
			"ingest: run.yaml:9:8: `priors.overrides[3].parameter` is \"channel\", which is not a coefficient of the model; \"channel\" is a text (categorical) column, whose coefficients are \"channelradio\" and \"channelTV\"\n" +
				"ingest: run.yaml:4:3: `priors.use_defaults` is false, so every parameter needs a prior in `priors.overrides`; missing: channelradio"},
		{"a level named like another column",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ channel}\n", "kpi,channel,channelTV\n1,TV,0\n2,radio,1\n",
			"ingest: run.yaml:2:9: formula: column 7: the categorical term \"channel\" has the level \"TV\", whose column name \"channelTV\" is also a column of data.csv; rename the level or the column\n" +
				"  kpi ~ channel\n" +
				"        ^"},
		{"mostly text among numbers",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ size}\n", "kpi,size\n1,small\n2,large\n3,2\n",
			"ingest: data.csv:2: column \"size\": \"small\" is not a number\n" +
				"ingest: data.csv:3: column \"size\": \"large\" is not a number\n" +
				"ingest: data.csv: column \"size\" holds numbers and text; if it is categorical, make every value text (e.g. \"level_1\" for 1) so that it expands into one 0/1 column per level"},
		{"formatted numbers are not levels",
			"data: {path: data.csv}\nmodel: {formula: kpi ~ spend}\n", "kpi,spend\n1,\"1,200\"\n2,\"3,400\"\n",
			"ingest: data.csv:2: column \"spend\": \"1,200\" is not a number (if , separates thousands, write 1200; if it is a decimal comma, write 1.200)\n" +
				"ingest: data.csv:3: column \"spend\": \"3,400\" is not a number (if , separates thousands, write 3400; if it is a decimal comma, write 3.400)"},
		{"a text response is not a factor",
			"data: {path: data.csv}\nmodel: {formula: channel ~ x}\n", catCSV,
			"ingest: data.csv:2: column \"channel\": \"TV\" is not a number\n" +
				"ingest: data.csv:3: column \"channel\": \"radio\" is not a number\n" +
				"ingest: data.csv:4: column \"channel\": \"Print\" is not a number\n" +
				"ingest: data.csv:5: column \"channel\": \"TV\" is not a number\n" +
				"ingest: data.csv:6: column \"channel\": \"radio\" is not a number\n" +
				"ingest: data.csv:7: column \"channel\": \"Print\" is not a number\n" +
				"ingest: data.csv:8: column \"channel\": \"TV\" is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runIn(t, tt.yaml, tt.csv)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Load error =\n%v\nwant\n%s", err, tt.wantErr)
			}
		})
	}
}

func TestLevelLess(t *testing.T) {
	levels := []string{"TV", "b", "B", "a", "A", "radio", "Print", "10", "9", "_x"}
	want := []string{"10", "9", "_x", "a", "A", "b", "B", "Print", "radio", "TV"}
	got := append([]string(nil), levels...)
	for i := range got { // insertion sort with levelLess only
		for j := i; j > 0 && levelLess(got[j], got[j-1]); j-- {
			got[j], got[j-1] = got[j-1], got[j]
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted %q; want %q", got, want)
	}
}

func TestReferenceLevels(t *testing.T) {
	yaml := "data:\n  path: data.csv\n  reference_levels: {channel: TV, events: promo}\nmodel: {formula: kpi ~ channel + events}\n"
	_, s, err := runIn(t, yaml, catCSV)
	if err != nil {
		t.Fatal(err)
	}
	names, x := designOf(s)
	want := []string{"(Intercept)", "channelPrint", "channelradio", "eventsna"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("terms %q; want %q", names, want)
	}
	if !reflect.DeepEqual(x[3], []float64{1, 0, 1, 1, 0, 0, 1}) {
		t.Errorf("eventsna = %v", x[3])
	}
	_, _, err = runIn(t, "data:\n  path: data.csv\n  reference_levels: {channel: tv, x: a}\nmodel: {formula: kpi ~ channel + x}\n", catCSV)
	wantErr := "ingest: run.yaml:3:22: `data.reference_levels.channel` is \"tv\", which is not a level of \"channel\" in the rows used (its levels: Print, radio, TV)\n" +
		"ingest: run.yaml:3:35: `data.reference_levels.x`: \"x\" is not a text (categorical) term of the formula; reference levels apply to those only"
	if err == nil || err.Error() != wantErr {
		t.Errorf("error =\n%v\nwant\n%s", err, wantErr)
	}
}
