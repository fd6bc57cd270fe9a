package optimise

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/dsamstan/dsamstan/internal/strictyaml"
	"github.com/dsamstan/dsamstan/summarise"
)

// Objective types: what the optimiser maximises over the posterior draws of the total
// contribution T (see the package documentation).
const (
	ObjectiveMean        = "mean"          // E[T]
	ObjectiveMeanMinusSD = "mean_minus_sd" // E[T] − λ·sd(T)
	ObjectiveQuantile    = "quantile"      // the q-quantile of T
	ObjectiveCVaR        = "cvar"          // the mean of the worst alpha fraction of T
)

// Defaults of the risk parameters when a scenario names the objective but not its parameter.
const (
	DefaultLambda = 1.0
	DefaultQ      = 0.1
	DefaultAlpha  = 0.1
)

// Scenario is the allocation section of a run config, or a scenario file: the channels to
// allocate, their bounds and response transforms, the budget and the objective. All spend
// amounts are per model row (per week for weekly data), in the data's units.
type Scenario struct {
	Channels []Channel `yaml:"channels"`
	// BudgetTotal is the spend to allocate; every allocation sums to it exactly.
	BudgetTotal float64 `yaml:"budget_total"`
	// ReferenceSpend is the current spend by channel name; a channel missing here takes
	// the mean of its spend_col in the data.
	ReferenceSpend map[string]float64 `yaml:"reference_spend,omitempty"`
	// Objective is what to maximise; the zero value is the posterior mean.
	Objective Objective `yaml:"objective"`

	source string               // the file it came from, for messages
	pos    strictyaml.Positions // where each key path is in that file
	pre    string               // the key path of the scenario in the file plus ".", or ""
}

// Channel is one media channel of a scenario.
type Channel struct {
	// Term is the model's population term whose coefficient prices the channel.
	Term string `yaml:"term"`
	// Name labels the channel in outputs; by default Term.
	Name string `yaml:"name"`
	// SpendCol is the data column of the channel's spend, for the reference spend; by
	// default Name.
	SpendCol string `yaml:"spend_col"`
	Bounds   Bounds `yaml:"bounds"`
	// Response maps spend to the model variable; the zero value is the identity.
	Response Response `yaml:"response"`
}

// Bounds limit a channel's spend: Min ≤ spend ≤ Max. In YAML min defaults to 0 and max to
// unbounded; in code set Max to math.Inf(1) for no upper bound.
type Bounds struct {
	Min float64 `yaml:"min"`
	Max float64 `yaml:"max"`
}

// Objective is the quantity maximised over the draws and its risk parameter.
type Objective struct {
	// Type is mean (the default), mean_minus_sd, quantile or cvar.
	Type string `yaml:"type" json:"type"`
	// Lambda weighs the posterior sd (mean_minus_sd only, ≥ 0, default 1).
	Lambda float64 `yaml:"lambda,omitempty" json:"lambda,omitempty"`
	// Q is the quantile maximised (quantile only, in (0, 1), default 0.1).
	Q float64 `yaml:"q,omitempty" json:"q,omitempty"`
	// Alpha is the worst fraction of draws averaged (cvar only, in (0, 1], default 0.1).
	Alpha float64 `yaml:"alpha,omitempty" json:"alpha,omitempty"`
}

// String formats the objective with its parameter, e.g. "cvar(alpha=0.1)".
func (o Objective) String() string {
	switch o.Type {
	case ObjectiveMeanMinusSD:
		return fmt.Sprintf("mean_minus_sd(lambda=%g)", o.Lambda)
	case ObjectiveQuantile:
		return fmt.Sprintf("quantile(q=%g)", o.Q)
	case ObjectiveCVaR:
		return fmt.Sprintf("cvar(alpha=%g)", o.Alpha)
	default:
		return ObjectiveMean
	}
}

// Problem is one thing wrong with a scenario: its key path (e.g. "channels[1].bounds.max",
// or "allocation.channels[1].bounds.max" in a run config), its line and column in the file
// (1-based; 0 when unknown) and what is wrong and what is allowed.
type Problem = strictyaml.Problem

// ScenarioError lists every problem found in a scenario.
type ScenarioError struct {
	// Source is the file the scenario came from (a scenario file, or the run config that
	// holds it as its allocation section); "" for a scenario built in code.
	Source   string
	Problems []Problem
}

// Error lists the problems one per line, each as "optimise: file:line:col: message".
func (e *ScenarioError) Error() string {
	return strictyaml.Format("optimise", e.Source, e.Problems)
}

// ParseScenario decodes a scenario file strictly: unknown keys, mistyped values and every
// check of Validate are reported at once in a *ScenarioError whose lines carry path:line:col.
// path names the file in messages only.
func ParseScenario(data []byte, path string) (*Scenario, error) {
	fail := func(p Problem) error { return &ScenarioError{Source: path, Problems: []Problem{p}} }
	body, p := strictyaml.Parse(data, "scenario")
	if p != nil {
		return nil, fail(*p)
	}
	if body == nil {
		return nil, fail(Problem{Msg: "the scenario is empty; it needs channels and budget_total"})
	}
	d := strictyaml.NewDecoder(path, "scenarios", "the scenario")
	if d.RefuseAliases("", body) {
		return nil, &ScenarioError{Source: path, Problems: d.Problems()}
	}
	if _, ok := unwrap(body).(ast.MapNode); !ok {
		line, col := strictyaml.StartPos(body)
		return nil, fail(Problem{Line: line, Col: col,
			Msg: "the scenario must be a mapping (key: value lines) with channels and budget_total"})
	}
	sc := &Scenario{}
	d.Decode("", body, sc)
	if probs := d.Problems(); len(probs) > 0 {
		return nil, &ScenarioError{Source: path, Problems: probs}
	}
	return sc, nil
}

// unwrap strips tags and anchors.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

// The YAML form of a scenario. Pointers tell a key left out from one set to 0; objective
// may be a type name or a mapping, and risk is another place for its parameter.
type (
	scenarioYAML struct {
		Channels       []channelYAML      `yaml:"channels"`
		BudgetTotal    *float64           `yaml:"budget_total"`
		ReferenceSpend map[string]float64 `yaml:"reference_spend"`
		Objective      objectiveYAML      `yaml:"objective"`
		Risk           riskYAML           `yaml:"risk"`
	}
	channelYAML struct {
		Term     string       `yaml:"term"`
		Name     string       `yaml:"name"`
		SpendCol string       `yaml:"spend_col"`
		Bounds   boundsYAML   `yaml:"bounds"`
		Response responseYAML `yaml:"response"`
	}
	boundsYAML struct {
		Min *float64 `yaml:"min"`
		Max *float64 `yaml:"max"`
	}
	responseYAML struct {
		Type     string   `yaml:"type"`
		EC50     *float64 `yaml:"ec50"`
		Slope    *float64 `yaml:"slope"`
		Scale    *float64 `yaml:"scale"`
		Exponent *float64 `yaml:"exponent"`
	}
	objectiveYAML struct {
		Type   string   `yaml:"type"`
		Lambda *float64 `yaml:"lambda"`
		Q      *float64 `yaml:"q"`
		Alpha  *float64 `yaml:"alpha"`
	}
	objectiveFields objectiveYAML // the mapping form, decoded field by field
	riskYAML        struct {
		Lambda *float64 `yaml:"lambda"`
		Q      *float64 `yaml:"q"`
		Alpha  *float64 `yaml:"alpha"`
	}
)

// UnmarshalStrictYAML decodes objective: a type name, or a mapping with type and parameter.
func (o *objectiveYAML) UnmarshalStrictYAML(d *strictyaml.Decoder, path string, n ast.Node) {
	switch v := n.(type) {
	case *ast.StringNode:
		o.Type = v.Value
	case ast.MapNode:
		d.Decode(path, n, (*objectiveFields)(o))
	default:
		d.Add(n, path, "%s must be a type name (%s) or a mapping with type and its parameter, not %s",
			d.Label(path), strings.Join(objectiveTypes, ", "), strictyaml.Describe(n))
	}
}

// currencyCol is a DSAMbayes channel key dsamstan refuses with a hint.
var currencyCol = regexp.MustCompile(`^channels\[[0-9]+\]\.currency_col$`)

// UnmarshalStrictYAML decodes a scenario from its YAML node, at path "" in a scenario file
// or "allocation" in a run config, with the shared strict decoder: every problem (unknown
// keys with a did-you-mean, mistyped values, and every check of Validate) goes to d with
// its position. It fills the defaults: name = term, spend_col = name, bounds [0, +Inf),
// identity response, hill slope 1, mean objective, the default risk parameters.
func (sc *Scenario) UnmarshalStrictYAML(d *strictyaml.Decoder, path string, n ast.Node) {
	if d.RefuseAliases(path, n) || !d.Mapping(path, n) {
		return
	}
	pre := ""
	if path != "" {
		pre = path + "."
	}
	reject := d.Reject
	d.Reject = func(key string) (string, bool) {
		if rest, ok := strings.CutPrefix(key, pre); ok && currencyCol.MatchString(rest) {
			return strictyaml.Label(key) + " is not supported; convert the channel's spend to currency in the data", true
		}
		if reject != nil {
			return reject(key)
		}
		return "", false
	}
	before := d.Count()
	var raw scenarioYAML
	d.Decode(path, n, &raw)
	d.Reject = reject
	out := raw.scenario(d, pre).withDefaults()
	out.pre = pre
	// The checks of values run on what decoded, so that every problem comes at once; those
	// about a key already reported (dropped, or missing) are left out, and so are the
	// checks between channels when anything was.
	reported := map[string]bool{}
	for _, p := range d.Problems() {
		reported[p.Key] = true
	}
	clean := d.Count() == before
	for _, p := range out.validate(clean) {
		if !reported[p.Key] && !d.Dropped(p.Key) {
			d.AddKey(p.Key, "%s", p.Msg)
		}
	}
	if d.Count() > before {
		return
	}
	out.source, out.pos = d.File, d.Pos
	*sc = *out
}

// scenario converts the decoded YAML, with the defaults that depend on which keys are set.
// It reports what the types alone cannot: missing keys, parameters of another response or
// objective type, and a risk parameter set twice. Keys dropped for a problem are skipped.
func (raw *scenarioYAML) scenario(d *strictyaml.Decoder, pre string) *Scenario {
	sc := &Scenario{ReferenceSpend: raw.ReferenceSpend}
	if key := pre + "channels"; raw.Channels == nil && !d.Dropped(key) {
		d.AddKey(key, "%s is missing; list the channels to allocate (term, name, spend_col, bounds, response)", strictyaml.Label(key))
	}
	for i, c := range raw.Channels {
		key := fmt.Sprintf("%schannels[%d]", pre, i)
		ch := Channel{
			Term: c.Term, Name: c.Name, SpendCol: c.SpendCol,
			Bounds:   Bounds{Max: math.Inf(1)},
			Response: Response{Type: ResponseIdentity},
		}
		if c.Bounds.Min != nil {
			ch.Bounds.Min = *c.Bounds.Min
		}
		if c.Bounds.Max != nil {
			ch.Bounds.Max = *c.Bounds.Max
		}
		r := c.Response
		if r.Type != "" {
			ch.Response.Type = r.Type
		}
		rkey := key + ".response"
		if d.Dropped(rkey + ".type") {
			sc.Channels = append(sc.Channels, ch)
			continue // its parameters cannot be checked against it
		}
		for _, prm := range []struct {
			name string
			v    *float64
			dst  *float64
		}{
			{"ec50", r.EC50, &ch.Response.EC50}, {"slope", r.Slope, &ch.Response.Slope},
			{"scale", r.Scale, &ch.Response.Scale}, {"exponent", r.Exponent, &ch.Response.Exponent},
		} {
			if prm.v == nil {
				continue
			}
			if want := responseParams[prm.name]; want != ch.Response.Type {
				d.AddKey(rkey+"."+prm.name, "`%s.%s` applies to %s responses only, not %s; remove it", rkey, prm.name, want, ch.Response.Type)
				continue
			}
			*prm.dst = *prm.v
		}
		if ch.Response.Type == ResponseHill && r.Slope == nil {
			ch.Response.Slope = 1
		}
		sc.Channels = append(sc.Channels, ch)
	}
	if key := pre + "budget_total"; raw.BudgetTotal != nil {
		sc.BudgetTotal = *raw.BudgetTotal
	} else if !d.Dropped(key) {
		d.AddKey(key, "%s is missing; give the spend to allocate per model row (e.g. per week)", strictyaml.Label(key))
	}

	o := Objective{Type: ObjectiveMean}
	if raw.Objective.Type != "" {
		o.Type = raw.Objective.Type
	}
	set := map[string]string{} // parameter → key that set it
	params := map[string]*float64{"lambda": &o.Lambda, "q": &o.Q, "alpha": &o.Alpha}
	read := func(section string, vals ...*float64) {
		for i, name := range riskKeys {
			if vals[i] == nil {
				continue
			}
			key := pre + section + "." + name
			if prev, dup := set[name]; dup {
				d.AddKey(key, "`%s` repeats `%s`; set it in one place", key, prev)
				continue
			}
			set[name] = key
			*params[name] = *vals[i]
		}
	}
	read("objective", raw.Objective.Lambda, raw.Objective.Q, raw.Objective.Alpha)
	read("risk", raw.Risk.Lambda, raw.Risk.Q, raw.Risk.Alpha)
	typeKnown := slices.Contains(objectiveTypes, o.Type) && !d.Dropped(pre+"objective.type")
	for _, name := range riskKeys {
		if key, ok := set[name]; ok && objectiveParams[name] != o.Type && typeKnown {
			d.AddKey(key, "`%s` applies to objective %s only, not %s; remove it", key, objectiveParams[name], o.Type)
			*params[name] = 0
		}
	}
	switch o.Type {
	case ObjectiveMeanMinusSD:
		if _, ok := set["lambda"]; !ok {
			o.Lambda = DefaultLambda
		}
	case ObjectiveQuantile:
		if _, ok := set["q"]; !ok {
			o.Q = DefaultQ
		}
	case ObjectiveCVaR:
		if _, ok := set["alpha"]; !ok {
			o.Alpha = DefaultAlpha
		}
	}
	sc.Objective = o
	return sc
}

// Validate checks a scenario on its own (no model needed) and reports every problem in a
// *ScenarioError. Empty names, spend columns, response and objective types take their
// defaults (term, name, identity, mean) before the checks.
func (sc *Scenario) Validate() error {
	return sc.errorOf(sc.withDefaults().validate(true))
}

// errorOf wraps problems in a *ScenarioError that names where the scenario came from, with
// line and column when it came from a file; nil when there are none.
func (sc *Scenario) errorOf(probs []Problem) error {
	if len(probs) == 0 {
		return nil
	}
	for i := range probs {
		if probs[i].Line == 0 {
			probs[i].Line, probs[i].Col = sc.pos.At(probs[i].Key)
		}
	}
	return &ScenarioError{Source: sc.source, Problems: probs}
}

// withDefaults returns a copy with the defaults that do not depend on how the scenario was
// written: name = term, spend_col = name, identity response, mean objective.
func (sc *Scenario) withDefaults() *Scenario {
	out := *sc
	out.Channels = slices.Clone(sc.Channels)
	for i := range out.Channels {
		out.Channels[i] = out.Channels[i].WithDefaults()
		ch := &out.Channels[i]
		if ch.Response.Type == "" {
			ch.Response.Type = ResponseIdentity
		}
	}
	if out.Objective.Type == "" {
		out.Objective.Type = ObjectiveMean
	}
	return &out
}

// Allowed values and keys, for messages.
var (
	responseTypes  = []string{ResponseIdentity, ResponseHill, ResponseLog1p, ResponsePower}
	objectiveTypes = []string{ObjectiveMean, ObjectiveMeanMinusSD, ObjectiveQuantile, ObjectiveCVaR}
	riskKeys       = []string{"lambda", "q", "alpha"}
	// responseParams and objectiveParams say which parameter belongs to which type.
	responseParams  = map[string]string{"ec50": ResponseHill, "slope": ResponseHill, "scale": ResponseLog1p, "exponent": ResponsePower}
	objectiveParams = map[string]string{"lambda": ObjectiveMeanMinusSD, "q": ObjectiveQuantile, "alpha": ObjectiveCVaR}
)

// validate checks a scenario with its defaults filled. Keys start with sc.pre. cross false
// leaves out the checks between channels (repeated terms and names, reference spend of no
// channel, budget against the bounds), for a scenario some of whose keys were dropped.
func (sc *Scenario) validate(cross bool) []Problem {
	var p problems
	if key := sc.pre + "channels"; len(sc.Channels) == 0 {
		p.add(key, "%s is empty; list at least one channel (term, name, spend_col, bounds, response)", strictyaml.Label(key))
	}
	names, terms := map[string]int{}, map[string]int{}
	sumMin, sumMax := 0.0, 0.0
	for i, ch := range sc.Channels {
		key := fmt.Sprintf("%schannels[%d]", sc.pre, i)
		if ch.Term == "" {
			p.add(key+".term", "`%s.term` is missing; name the model term the channel's spend drives", key)
		} else if j, dup := terms[ch.Term]; dup && cross {
			p.add(key+".term", "`%s.term` %q repeats channels[%d]; each term can be allocated once", key, ch.Term, j)
		} else {
			terms[ch.Term] = i
		}
		if j, dup := names[ch.Name]; dup && ch.Name != "" && cross {
			p.add(key+".name", "`%s.name` %q repeats channels[%d]; channel names must be unique", key, ch.Name, j)
		} else {
			names[ch.Name] = i
		}
		lo, hi := ch.Bounds.Min, ch.Bounds.Max
		switch {
		case math.IsNaN(lo) || math.IsInf(lo, 0) || lo < 0:
			p.add(key+".bounds.min", "`%s.bounds.min` is %g; must be a finite spend ≥ 0", key, lo)
		case math.IsNaN(hi) || hi < lo:
			p.add(key+".bounds.max", "`%s.bounds.max` is %g; must be ≥ bounds.min (%g), or left out for no limit", key, hi, lo)
		}
		sumMin += lo
		sumMax += hi
		p.response(key+".response", ch.Response)
	}
	b, bkey := sc.BudgetTotal, sc.pre+"budget_total"
	switch {
	case math.IsNaN(b) || math.IsInf(b, 0) || b <= 0:
		p.add(bkey, "%s is %g; must be a finite spend > 0 (per model row, e.g. per week)", strictyaml.Label(bkey), b)
	case cross && len(p) == 0 && (b < sumMin || b > sumMax):
		p.add(bkey, "%s is %g; must lie between the sum of bounds.min (%g) and the sum of bounds.max (%g): change the budget or the bounds", strictyaml.Label(bkey), b, sumMin, sumMax)
	}
	for _, name := range sortedKeys(sc.ReferenceSpend) {
		v := sc.ReferenceSpend[name]
		key := sc.pre + "reference_spend." + name
		if _, ok := names[name]; !ok && cross {
			p.add(key, "%s names no channel; channels are %s", strictyaml.Label(key), showList(channelNames(sc)))
		} else if ok && (math.IsNaN(v) || math.IsInf(v, 0) || v < 0) {
			p.add(key, "%s is %g; must be a finite spend ≥ 0", strictyaml.Label(key), v)
		}
	}
	p.objective(sc.pre+"objective", sc.Objective)
	return p
}

// response checks a response transform.
func (p *problems) response(key string, r Response) {
	if !slices.Contains(responseTypes, r.Type) {
		p.add(key+".type", "`%s.type` is %q; must be one of %s", key, r.Type, strings.Join(responseTypes, ", "))
		return
	}
	params := map[string]float64{"ec50": r.EC50, "slope": r.Slope, "scale": r.Scale, "exponent": r.Exponent}
	for _, name := range []string{"ec50", "slope", "scale", "exponent"} {
		if params[name] != 0 && responseParams[name] != r.Type {
			p.add(key+"."+name, "`%s.%s` applies to %s responses only, not %s; remove it", key, name, responseParams[name], r.Type)
		}
	}
	positive := func(name, what string) {
		v := params[name]
		switch {
		case v == 0:
			p.add(key+"."+name, "`%s.%s` is missing; a %s response needs %s > 0 (%s)", key, name, r.Type, name, what)
		case !(v > 0) || math.IsInf(v, 0):
			p.add(key+"."+name, "`%s.%s` is %g; must be a finite number > 0 (%s)", key, name, v, what)
		}
	}
	switch r.Type {
	case ResponseHill:
		positive("ec50", "the spend at half saturation")
		positive("slope", "the Hill exponent; 1 by default")
	case ResponseLog1p:
		positive("scale", "x = log(1 + spend/scale)")
	case ResponsePower:
		positive("exponent", "x = spend^exponent; at most 1 for diminishing returns")
	}
}

// objective checks the objective and its parameter; key is where the objective is.
func (p *problems) objective(key string, o Objective) {
	if !slices.Contains(objectiveTypes, o.Type) {
		p.add(key+".type", "`%s.type` is %q; must be one of %s", key, o.Type, strings.Join(objectiveTypes, ", "))
		return
	}
	params := map[string]float64{"lambda": o.Lambda, "q": o.Q, "alpha": o.Alpha}
	for _, name := range []string{"lambda", "q", "alpha"} {
		if params[name] != 0 && objectiveParams[name] != o.Type {
			p.add(key+"."+name, "`%s.%s` applies to objective %s only, not %s; remove it", key, name, objectiveParams[name], o.Type)
		}
	}
	switch o.Type {
	case ObjectiveMeanMinusSD:
		if !(o.Lambda >= 0) || math.IsInf(o.Lambda, 0) {
			p.add(key+".lambda", "`%s.lambda` is %g; must be a finite number ≥ 0 (the weight of the posterior sd)", key, o.Lambda)
		}
	case ObjectiveQuantile:
		if !(o.Q > 0 && o.Q < 1) {
			p.add(key+".q", "`%s.q` is %g; must lie strictly between 0 and 1 (e.g. 0.1 for a pessimistic plan)", key, o.Q)
		}
	case ObjectiveCVaR:
		if !(o.Alpha > 0 && o.Alpha <= 1) {
			p.add(key+".alpha", "`%s.alpha` is %g; must lie in (0, 1] (the worst fraction of draws, e.g. 0.1)", key, o.Alpha)
		}
	}
}

// problems collects Problems in the order found.
type problems []Problem

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func channelNames(sc *Scenario) []string {
	out := make([]string, len(sc.Channels))
	for i, ch := range sc.Channels {
		out[i] = ch.Name
	}
	return out
}

// showList joins names for a message, quoting those that would break it (see
// strictyaml.Show).
func showList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strictyaml.Show(n)
	}
	return strings.Join(out, ", ")
}

// withModelResponses returns the scenario with each channel whose term has a response in
// model, or curves per draw in perDraw, taking that response (for a per-draw one, a summary
// at the posterior medians marked PerDraw). written is the scenario as given (before
// defaults): a channel there that sets its own response is an error, and so is a Hill
// response on a channel whose spend_col is not the term's column (the half-saturation is in
// the units of the term's column, so the budget must be too).
func (sc *Scenario) withModelResponses(written *Scenario, model map[string]Response, perDraw map[string][]Response) (*Scenario, error) {
	if len(model) == 0 && len(perDraw) == 0 {
		return sc, nil
	}
	out := *sc
	out.Channels = slices.Clone(sc.Channels)
	var p problems
	for i := range out.Channels {
		ch := &out.Channels[i]
		r, ok := model[ch.Term]
		var why string
		if draws, varies := perDraw[ch.Term]; varies {
			r, ok = medianResponse(draws), true
			why = "estimates its saturation, so the channel's response is the model's steady-state curve with each draw's half-saturation and shape, "
		} else {
			why = "transforms " + strictyaml.Show(ch.Term) + " itself, so the channel's response is the model's steady-state curve, "
		}
		if !ok {
			continue
		}
		key := fmt.Sprintf("%schannels[%d]", sc.pre, i)
		own := written.Channels[i].Response
		if sc.pos != nil && sc.pos.Given(key+".response") || sc.pos == nil && own.Type != "" && own.Type != ResponseIdentity {
			if r.PerDraw {
				p.add(key+".response", "`%s.response` is set, but the model %s(%s); remove the response",
					key, why, r)
			} else {
				p.add(key+".response", "`%s.response` is set, but the model %s%s (constant spend gives an adstocked value equal to it); remove the response",
					key, why, r)
			}
			continue
		}
		if r.Type == ResponseHill && ch.SpendCol != ch.Term {
			p.add(key+".spend_col", "`%s.spend_col` is %q, but the model saturates %s with a half-saturation in the units of column %s (%s), so the channel's spend must be that column; set spend_col: %s",
				key, ch.SpendCol, strictyaml.Show(ch.Term), strictyaml.Show(ch.Term), r, ch.Term)
			continue
		}
		ch.Response = r
	}
	if err := sc.errorOf(p); err != nil {
		return nil, err
	}
	return &out, nil
}

// medianResponse summarises curves that vary by draw: their type, each parameter's median,
// marked PerDraw.
func medianResponse(draws []Response) Response {
	if len(draws) == 0 {
		return Response{PerDraw: true}
	}
	med := func(get func(Response) float64) float64 {
		v := make([]float64, len(draws))
		for d, r := range draws {
			v[d] = get(r)
		}
		slices.Sort(v)
		return summarise.Quantile(v, 0.5)
	}
	r := Response{Type: draws[0].Type, PerDraw: true}
	switch r.Type {
	case ResponseHill:
		r.EC50, r.Slope = med(func(r Response) float64 { return r.EC50 }), med(func(r Response) float64 { return r.Slope })
	case ResponseLog1p:
		r.Scale = med(func(r Response) float64 { return r.Scale })
	case ResponsePower:
		r.Exponent = med(func(r Response) float64 { return r.Exponent })
	}
	return r
}
