package diagnostics

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/ingest"
)

// newSpec builds a spec with an intercept and the named columns.
func newSpec(y []float64, cols map[string][]float64, order ...string) *ingest.Spec {
	n := len(y)
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	s := &ingest.Spec{Response: "kpi", N: n, Y: y,
		Terms: []ingest.Term{{Name: ingest.InterceptName, Intercept: true}}, X: [][]float64{ones}}
	for i := range n {
		s.Lines = append(s.Lines, i+2) // line 1 is the CSV header
	}
	for _, name := range order {
		s.Terms = append(s.Terms, ingest.Term{Name: name})
		s.X = append(s.X, cols[name])
	}
	return s
}

func find(t *testing.T, checks []Check, id string) Check {
	t.Helper()
	for _, c := range checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no %s row in %v", id, checks)
	return Check{}
}

// The columns of the R reference below.
var (
	refX1 = []float64{3.1, 4.7, 2.2, 5.9, 6.3, 1.8, 4.4, 7.2, 3.3, 5.0, 2.9, 6.6}
	refX2 = []float64{10, 12, 9, 15, 14, 8, 11, 17, 10, 13, 9, 16}
)

func refX3() []float64 {
	noise := []float64{0.001, -0.002, 0.0015, 0, -0.001, 0.002, -0.0005, 0.001, -0.0015, 0.0005, 0, -0.001}
	x3 := make([]float64, len(refX1))
	for i := range x3 {
		x3[i] = refX1[i] + refX2[i] + noise[i]
	}
	return x3
}

func TestConditionNumberMatchesR(t *testing.T) {
	// Reference from R 4.x:
	//   x1 <- c(3.1, 4.7, 2.2, 5.9, 6.3, 1.8, 4.4, 7.2, 3.3, 5.0, 2.9, 6.6)
	//   x2 <- c(10, 12, 9, 15, 14, 8, 11, 17, 10, 13, 9, 16)
	//   x3 <- x1 + x2 + c(0.001, -0.002, 0.0015, 0, -0.001, 0.002, -0.0005, 0.001, -0.0015, 0.0005, 0, -0.001)
	//   X <- cbind(1, x1, x2, x3); Xs <- sweep(X, 2, sqrt(colSums(X^2)), "/")
	//   print(kappa(Xs, exact = TRUE), digits = 17)  # 48394.763066074782
	//   qr(X)$rank                                   # 4
	const want = 48394.763066074782
	spec := newSpec(make([]float64, 12), map[string][]float64{"x1": refX1, "x2": refX2, "x3": refX3()}, "x1", "x2", "x3")
	checks := P0(spec, ModePublish)
	k := find(t, checks, "pre_design_condition_number")
	if math.Abs(k.Value-want) > 1e-9*want {
		t.Errorf("kappa_X = %.17g; want %.17g (tol 1e-9 relative)", k.Value, want)
	}
	if k.Status != StatusWarn || !strings.Contains(k.Message, "kappa_X 48395 > 10000") {
		t.Errorf("condition row = %+v; want warn, kappa_X 48395 > 10000", k)
	}
	for _, name := range []string{"x1", "x2", "x3"} {
		if !strings.Contains(k.Message, name) {
			t.Errorf("condition message %q does not name %s", k.Message, name)
		}
	}
	if r := find(t, checks, "pre_design_rank_deficit"); r.Status != StatusPass || r.Value != 0 {
		t.Errorf("rank row = %+v; want pass with deficit 0 (R: qr(X)$rank = 4)", r)
	}
}

// twoColumns returns a spec whose column-scaled design has condition number kappa: two unit
// columns at angle θ have singular values √2·cos(θ/2) and √2·sin(θ/2), so κ = cot(θ/2).
func twoColumns(kappa float64) *ingest.Spec {
	theta := 2 * math.Atan(1/kappa)
	return &ingest.Spec{Response: "kpi", N: 2, Y: []float64{1, 2},
		Terms: []ingest.Term{{Name: "a"}, {Name: "b"}},
		X:     [][]float64{{1, 0}, {math.Cos(theta), math.Sin(theta)}}}
}

func TestConditionNumberBoundaries(t *testing.T) {
	below, above := 1-1e-3, 1+1e-3
	tests := []struct {
		kappa float64
		want  map[string]string
	}{
		{1e4 * below, map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}},
		{1e4 * above, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusWarn}},
		{1e6 * below, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusWarn}},
		{1e6 * above, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}},
		{1e9, map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}},
	}
	for _, tt := range tests {
		for _, mode := range Modes {
			c := find(t, P0(twoColumns(tt.kappa), mode), "pre_design_condition_number")
			if math.Abs(c.Value-tt.kappa) > 1e-6*tt.kappa {
				t.Errorf("kappa_X = %g; want %g (tol 1e-6 relative)", c.Value, tt.kappa)
			}
			if c.Status != tt.want[mode] {
				t.Errorf("%s: kappa %g: status %s; want %s (%s)", mode, tt.kappa, c.Status, tt.want[mode], c.Message)
			}
		}
	}
	pub := find(t, P0(twoColumns(2e6), ModePublish), "pre_design_condition_number")
	if !strings.Contains(pub.Message, "fails under policy strict") || !(strings.Contains(pub.Message, "mostly a and b") || strings.Contains(pub.Message, "mostly b and a")) {
		t.Errorf("publish downgrade message %q should say it fails under strict and name a and b", pub.Message)
	}
}

func TestRankDeficit(t *testing.T) {
	// x4 = x1 + x2 exactly: R's qr(cbind(1, x1, x2, x3, x1 + x2))$rank is 4 of 5 columns.
	x4 := make([]float64, len(refX1))
	for i := range x4 {
		x4[i] = refX1[i] + refX2[i]
	}
	spec := newSpec(make([]float64, 12), map[string][]float64{"x1": refX1, "x2": refX2, "x3": refX3(), "x4": x4}, "x1", "x2", "x3", "x4")
	want := map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}
	for _, mode := range Modes {
		checks := P0(spec, mode)
		r := find(t, checks, "pre_design_rank_deficit")
		if r.Value != 1 || r.Status != want[mode] {
			t.Errorf("%s: rank row %+v; want deficit 1, status %s", mode, r, want[mode])
		}
		for _, name := range []string{"x1", "x2", "x4"} {
			if !strings.Contains(r.Message, name) {
				t.Errorf("%s: rank message %q does not name %s", mode, r.Message, name)
			}
		}
		if k := find(t, checks, "pre_design_condition_number"); !(k.Value > 1e7) {
			t.Errorf("%s: kappa_X of a rank-deficient design = %g; want > 1e7", mode, k.Value)
		}
	}
	// More columns than rows.
	wide := &ingest.Spec{Y: []float64{1}, Terms: []ingest.Term{{Name: "a"}, {Name: "b"}}, X: [][]float64{{1}, {2}}}
	r := find(t, P0(wide, ModePublish), "pre_design_rank_deficit")
	if r.Value != 1 || !strings.Contains(r.Message, "more coefficients than observations") {
		t.Errorf("wide design rank row %+v", r)
	}
}

func TestResponseAndDesignFinite(t *testing.T) {
	y := []float64{1, math.NaN(), 3, math.Inf(1), 5}
	x := []float64{1, 2, math.Inf(-1), 4, 6}
	for _, mode := range Modes {
		checks := P0(newSpec(y, map[string][]float64{"m_tv": x}, "m_tv"), mode)
		r := find(t, checks, "pre_response_finite")
		if r.Status != StatusFail || r.Value != 2 || !strings.Contains(r.Message, "lines 3, 5") {
			t.Errorf("%s: response row %+v; want fail, 2, naming lines 3, 5", mode, r)
		}
		d := find(t, checks, "pre_design_finite")
		if d.Status != StatusFail || d.Value != 1 || !strings.Contains(d.Message, "m_tv (1, CSV lines 4)") {
			t.Errorf("%s: design row %+v", mode, d)
		}
		for _, id := range []string{"pre_design_rank_deficit", "pre_design_condition_number"} {
			if c := find(t, checks, id); c.Status != StatusSkipped {
				t.Errorf("%s: %s = %s with a non-finite design; want skipped", mode, id, c.Status)
			}
		}
	}
	checks := P0(newSpec([]float64{1, 2, 3}, map[string][]float64{"m_tv": {1, 3, 2}}, "m_tv"), ModeStrict)
	for _, id := range []string{"pre_response_finite", "pre_design_finite"} {
		if c := find(t, checks, id); c.Status != StatusPass || c.Value != 0 {
			t.Errorf("%s on clean data: %+v", id, c)
		}
	}
}

func TestConstantsDuplicates(t *testing.T) {
	y := []float64{1, 2, 3, 4}
	tests := []struct {
		name  string
		cols  map[string][]float64
		order []string
		value float64
		names []string
	}{
		{"clean", map[string][]float64{"a": {1, 2, 3, 5}, "b": {2, 1, 0, 1}}, []string{"a", "b"}, 0, nil},
		{"constant", map[string][]float64{"a": {1, 2, 3, 5}, "c": {7, 7, 7, 7}}, []string{"a", "c"}, 1, []string{"constant: c"}},
		{"zero", map[string][]float64{"z": {0, 0, 0, 0}, "a": {1, 2, 3, 5}}, []string{"z", "a"}, 1, []string{"constant: z"}},
		{"duplicate", map[string][]float64{"a": {1, 2, 3, 5}, "b": {2, 1, 0, 1}, "a2": {1, 2, 3, 5}}, []string{"a", "b", "a2"}, 1, []string{"a2 (same as a)"}},
		{"rounding", map[string][]float64{"a": {0.1 + 0.2, 2, 3, 5}, "a2": {0.3, 2, 3, 5}}, []string{"a", "a2"}, 1, []string{"a2 (same as a)"}},
		{"both", map[string][]float64{"a": {1, 2, 3, 5}, "c": {1, 1, 1, 1}, "a2": {1, 2, 3, 5}, "c2": {1, 1, 1, 1}}, []string{"a", "c", "a2", "c2"}, 3, []string{"constant: c, c2", "a2 (same as a)"}},
	}
	for _, tt := range tests {
		for _, mode := range Modes {
			c := find(t, P0(newSpec(y, tt.cols, tt.order...), mode), "pre_design_constants_duplicates")
			want := StatusPass
			if tt.value > 0 {
				want = StatusFail
			}
			if c.Value != tt.value || c.Status != want {
				t.Errorf("%s/%s: value %g status %s; want %g %s (%s)", tt.name, mode, c.Value, c.Status, tt.value, want, c.Message)
			}
			for _, n := range tt.names {
				if !strings.Contains(c.Message, n) {
					t.Errorf("%s/%s: message %q does not contain %q", tt.name, mode, c.Message, n)
				}
			}
		}
	}
}

// panelSpec has 3 markets of 4 rows; m_tv and m_radio vary by market, m_tv as given.
func panelSpec(tv []float64) *ingest.Spec {
	radio := []float64{1, 2, 3, 4, 2, 3, 4, 5, 3, 1, 4, 1}
	s := newSpec(make([]float64, 12), map[string][]float64{"m_tv": tv, "m_radio": radio}, "m_tv", "m_radio")
	s.Groups = []ingest.Grouping{{Factor: "market", Index: 1, Levels: []string{"north", "south", "west"},
		Of: []int{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, Terms: []int{0, 1, 2}}}
	return s
}

func TestWithinGroupVariation(t *testing.T) {
	tests := []struct {
		name  string
		tv    []float64
		value float64
		want  map[string]string
		words string
	}{
		{"varies", []float64{1, 2, 3, 4, 5, 6, 7, 9, 1, 1, 2, 1}, 0,
			map[string]string{ModeExplore: StatusPass, ModePublish: StatusPass, ModeStrict: StatusPass}, "varies within every one of the 3 market groups"},
		{"one group", []float64{1, 2, 3, 4, 0, 0, 0, 0, 1, 1, 2, 1}, 1,
			map[string]string{ModeExplore: StatusWarn, ModePublish: StatusWarn, ModeStrict: StatusFail}, "constant within 1 of 3 market groups (south)"},
		{"every group", []float64{1, 1, 1, 1, 2, 2, 2, 2, 5, 5, 5, 5}, 3,
			map[string]string{ModeExplore: StatusWarn, ModePublish: StatusFail, ModeStrict: StatusFail}, "move m_tv out of the (… | market) term"},
	}
	for _, tt := range tests {
		for _, mode := range Modes {
			checks := P0(panelSpec(tt.tv), mode)
			c := find(t, checks, "pre_within_group_variation[m_tv|market]")
			if c.Value != tt.value || c.Status != tt.want[mode] || !strings.Contains(c.Message, tt.words) {
				t.Errorf("%s/%s: %+v; want value %g status %s message with %q", tt.name, mode, c, tt.value, tt.want[mode], tt.words)
			}
			if r := find(t, checks, "pre_within_group_variation[m_radio|market]"); r.Status != StatusPass {
				t.Errorf("%s/%s: m_radio row %+v; want pass", tt.name, mode, r)
			}
		}
	}
	// A single-market model has nothing to check; the intercept is never checked.
	checks := P0(newSpec([]float64{1, 2, 3}, map[string][]float64{"a": {1, 3, 2}}, "a"), ModeStrict)
	if c := find(t, checks, "pre_within_group_variation"); c.Status != StatusSkipped {
		t.Errorf("single market: %+v; want skipped", c)
	}
	for _, c := range P0(panelSpec([]float64{1, 2, 3, 4, 5, 6, 7, 9, 1, 1, 2, 1}), ModePublish) {
		if strings.Contains(c.ID, ingest.InterceptName) {
			t.Errorf("the intercept was checked for within-group variation: %+v", c)
		}
	}
}

func TestP0RowsInOrder(t *testing.T) {
	var ids []string
	for _, c := range P0(panelSpec([]float64{1, 2, 3, 4, 5, 6, 7, 9, 1, 1, 2, 1}), "") {
		ids = append(ids, c.ID)
		if c.Phase != PhaseP0 || c.Severity != SeverityCritical || c.Threshold == "" || c.Message == "" {
			t.Errorf("row %+v lacks a phase, severity, threshold or message", c)
		}
	}
	want := []string{"pre_response_finite", "pre_design_finite", "pre_design_constants_duplicates",
		"pre_design_rank_deficit", "pre_design_condition_number",
		"pre_within_group_variation[m_tv|market]", "pre_within_group_variation[m_radio|market]"}
	if !slices.Equal(ids, want) {
		t.Errorf("P0 rows %v; want %v", ids, want)
	}
}
