package optimise

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
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

	source string            // the file or section, for messages
	pos    map[string][2]int // line and column of each key path in a file
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

// Problem is one thing wrong with a scenario.
type Problem struct {
	// Key is the key path inside the scenario, e.g. "channels[1].bounds.max".
	Key string
	// Line and Col locate the key in a scenario file (1-based); 0 when unknown.
	Line, Col int
	// Msg says what is wrong and what is allowed.
	Msg string
}

// ScenarioError lists every problem found in a scenario.
type ScenarioError struct {
	// Source names the scenario in messages: a file path, or a label such as
	// "run.yaml allocation"; "" for a scenario built in code.
	Source   string
	Problems []Problem
}

// Error lists the problems one per line, each as "optimise: file:line:col: message".
func (e *ScenarioError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		switch {
		case e.Source != "" && p.Line > 0:
			lines[i] = fmt.Sprintf("optimise: %s:%d:%d: %s", e.Source, p.Line, p.Col, p.Msg)
		case e.Source != "":
			lines[i] = fmt.Sprintf("optimise: %s: %s", e.Source, p.Msg)
		default:
			lines[i] = "optimise: " + p.Msg
		}
	}
	return strings.Join(lines, "\n")
}

// ParseScenario decodes a scenario file strictly: unknown keys, mistyped values and every
// check of Validate are reported at once in a *ScenarioError whose lines carry path:line:col.
// path names the file in messages only.
func ParseScenario(data []byte, path string) (*Scenario, error) {
	fail := func(p Problem) error { return &ScenarioError{Source: path, Problems: []Problem{p}} }
	file, err := yamlparser.ParseBytes(data, 0)
	if err != nil {
		return nil, fail(yamlProblem("invalid YAML: ", err))
	}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			line, col := nodePos(doc.Body)
			return nil, fail(Problem{Line: line, Col: col,
				Msg: "the file holds more than one YAML document; put the whole scenario in one (remove ---)"})
		}
		body = doc.Body
	}
	if body == nil {
		return nil, fail(Problem{Msg: "the scenario is empty; it needs channels and budget_total"})
	}
	if aliases := ast.Filter(ast.AliasType, body); len(aliases) > 0 {
		line, col := nodePos(aliases[0])
		return nil, fail(Problem{Line: line, Col: col,
			Msg: "YAML aliases (*name) are not supported in scenarios; write the value out"})
	}
	var m map[string]any
	if err := yaml.NodeToValue(body, &m); err != nil {
		line, col := nodePos(body)
		return nil, fail(Problem{Line: line, Col: col,
			Msg: "the scenario must be a mapping (key: value lines) with channels and budget_total"})
	}
	pos := map[string][2]int{}
	keyPositions(body, "", pos)
	sc, probs := decodeScenario(m)
	for i := range probs {
		probs[i].Line, probs[i].Col = lookup(pos, probs[i].Key)
	}
	sort.SliceStable(probs, func(i, j int) bool {
		a, b := probs[i], probs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	if len(probs) > 0 {
		return nil, &ScenarioError{Source: path, Problems: probs}
	}
	sc.source, sc.pos = path, pos
	return sc, nil
}

// ScenarioFromMap decodes the allocation section of a run config, which package ingest
// keeps as decoded YAML, with the checks of ParseScenario. where names the section in
// messages, e.g. "run.yaml allocation".
func ScenarioFromMap(m map[string]any, where string) (*Scenario, error) {
	sc, probs := decodeScenario(m)
	if len(probs) > 0 {
		return nil, &ScenarioError{Source: where, Problems: probs}
	}
	sc.source = where
	return sc, nil
}

// Validate checks a scenario on its own (no model needed) and reports every problem in a
// *ScenarioError. Empty names, spend columns, response and objective types take their
// defaults (term, name, identity, mean) before the checks.
func (sc *Scenario) Validate() error {
	return sc.errorOf(sc.withDefaults().validate())
}

// errorOf wraps problems in a *ScenarioError that names where the scenario came from, with
// line and column when it came from a file; nil when there are none.
func (sc *Scenario) errorOf(probs []Problem) error {
	if len(probs) == 0 {
		return nil
	}
	for i := range probs {
		if probs[i].Line == 0 {
			probs[i].Line, probs[i].Col = lookup(sc.pos, probs[i].Key)
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
		ch := &out.Channels[i]
		if ch.Name == "" {
			ch.Name = ch.Term
		}
		if ch.SpendCol == "" {
			ch.SpendCol = ch.Name
		}
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
	topKeys        = []string{"channels", "budget_total", "reference_spend", "objective", "risk"}
	channelKeys    = []string{"term", "name", "spend_col", "bounds", "response"}
	boundsKeys     = []string{"min", "max"}
	responseKeys   = []string{"type", "ec50", "slope", "scale", "exponent"}
	objectiveKeys  = []string{"type", "lambda", "q", "alpha"}
	riskKeys       = []string{"lambda", "q", "alpha"}
	// responseParams and objectiveParams say which parameter belongs to which type.
	responseParams  = map[string]string{"ec50": ResponseHill, "slope": ResponseHill, "scale": ResponseLog1p, "exponent": ResponsePower}
	objectiveParams = map[string]string{"lambda": ObjectiveMeanMinusSD, "q": ObjectiveQuantile, "alpha": ObjectiveCVaR}
)

// validate checks a scenario with its defaults filled.
func (sc *Scenario) validate() []Problem {
	var p problems
	if len(sc.Channels) == 0 {
		p.add("channels", "`channels` is empty; list at least one channel (term, name, spend_col, bounds, response)")
	}
	names, terms := map[string]int{}, map[string]int{}
	sumMin, sumMax := 0.0, 0.0
	for i, ch := range sc.Channels {
		key := fmt.Sprintf("channels[%d]", i)
		if ch.Term == "" {
			p.add(key+".term", "`%s.term` is missing; name the model term the channel's spend drives", key)
		} else if j, dup := terms[ch.Term]; dup {
			p.add(key+".term", "`%s.term` %q repeats channels[%d]; each term can be allocated once", key, ch.Term, j)
		} else {
			terms[ch.Term] = i
		}
		if j, dup := names[ch.Name]; dup && ch.Name != "" {
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
	b := sc.BudgetTotal
	switch {
	case math.IsNaN(b) || math.IsInf(b, 0) || b <= 0:
		p.add("budget_total", "`budget_total` is %g; must be a finite spend > 0 (per model row, e.g. per week)", b)
	case len(p) == 0 && (b < sumMin || b > sumMax):
		p.add("budget_total", "`budget_total` is %g; must lie between the sum of bounds.min (%g) and the sum of bounds.max (%g): change the budget or the bounds", b, sumMin, sumMax)
	}
	for _, name := range sortedKeys(sc.ReferenceSpend) {
		v := sc.ReferenceSpend[name]
		key := "reference_spend." + name
		if _, ok := names[name]; !ok {
			p.add(key, "`%s` names no channel; channels are %s", key, strings.Join(channelNames(sc), ", "))
		} else if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			p.add(key, "`%s` is %g; must be a finite spend ≥ 0", key, v)
		}
	}
	p.objective(sc.Objective)
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

// objective checks the objective and its parameter.
func (p *problems) objective(o Objective) {
	if !slices.Contains(objectiveTypes, o.Type) {
		p.add("objective.type", "`objective.type` is %q; must be one of %s", o.Type, strings.Join(objectiveTypes, ", "))
		return
	}
	params := map[string]float64{"lambda": o.Lambda, "q": o.Q, "alpha": o.Alpha}
	for _, name := range []string{"lambda", "q", "alpha"} {
		if params[name] != 0 && objectiveParams[name] != o.Type {
			p.add("objective."+name, "`objective.%s` applies to objective %s only, not %s; remove it", name, objectiveParams[name], o.Type)
		}
	}
	switch o.Type {
	case ObjectiveMeanMinusSD:
		if !(o.Lambda >= 0) || math.IsInf(o.Lambda, 0) {
			p.add("objective.lambda", "`objective.lambda` is %g; must be a finite number ≥ 0 (the weight of the posterior sd)", o.Lambda)
		}
	case ObjectiveQuantile:
		if !(o.Q > 0 && o.Q < 1) {
			p.add("objective.q", "`objective.q` is %g; must lie strictly between 0 and 1 (e.g. 0.1 for a pessimistic plan)", o.Q)
		}
	case ObjectiveCVaR:
		if !(o.Alpha > 0 && o.Alpha <= 1) {
			p.add("objective.alpha", "`objective.alpha` is %g; must lie in (0, 1] (the worst fraction of draws, e.g. 0.1)", o.Alpha)
		}
	}
}

// problems collects Problems in the order found.
type problems []Problem

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// unknownKeys reports the keys of m that are not allowed.
func (p *problems) unknownKeys(key string, m map[string]any, allowed []string) {
	for _, k := range sortedKeys(m) {
		if slices.Contains(allowed, k) {
			continue
		}
		path := joinKey(key, k)
		if k == "currency_col" && strings.HasPrefix(key, "channels[") {
			p.add(path, "`%s` is not supported; convert the channel's spend to currency in the data", path)
			continue
		}
		where := "at the top level"
		if key != "" {
			where = "in `" + key + "`"
		}
		p.add(path, "unknown key `%s` (allowed %s: %s)", path, where, strings.Join(allowed, ", "))
	}
}

// decodeScenario decodes decoded YAML into a Scenario with the YAML defaults and validates
// it. Every problem is returned; the Scenario is nil when there is one.
func decodeScenario(m map[string]any) (*Scenario, []Problem) {
	var p problems
	sc := &Scenario{}
	p.unknownKeys("", m, topKeys)

	if v, ok := m["channels"]; !ok || v == nil {
		p.add("channels", "`channels` is missing; list the channels to allocate (term, name, spend_col, bounds, response)")
	} else if list, ok := v.([]any); !ok {
		p.add("channels", "`channels` must be a list (lines starting with -), not %s", describe(v))
	} else {
		for i, item := range list {
			key := fmt.Sprintf("channels[%d]", i)
			cm, ok := asMap(item)
			if !ok {
				p.add(key, "`%s` must be a mapping (term, name, spend_col, bounds, response), not %s", key, describe(item))
				continue
			}
			sc.Channels = append(sc.Channels, p.channel(key, cm))
		}
	}
	if v, ok := m["budget_total"]; !ok || v == nil {
		p.add("budget_total", "`budget_total` is missing; give the spend to allocate per model row (e.g. per week)")
	} else {
		sc.BudgetTotal = p.number("budget_total", v)
	}
	if v, ok := m["reference_spend"]; ok && v != nil {
		rm, ok := asMap(v)
		if !ok {
			p.add("reference_spend", "`reference_spend` must be a mapping of channel name to spend, not %s", describe(v))
		} else {
			sc.ReferenceSpend = map[string]float64{}
			for _, k := range sortedKeys(rm) {
				sc.ReferenceSpend[k] = p.number("reference_spend."+k, rm[k])
			}
		}
	}
	sc.Objective = p.objectiveSection(m)
	if len(p) > 0 {
		return nil, p
	}
	sc = sc.withDefaults()
	if probs := sc.validate(); len(probs) > 0 {
		return nil, probs
	}
	return sc, nil
}

// channel decodes one channel entry.
func (p *problems) channel(key string, m map[string]any) Channel {
	p.unknownKeys(key, m, channelKeys)
	ch := Channel{
		Term:     p.text(key+".term", m["term"]),
		Name:     p.text(key+".name", m["name"]),
		SpendCol: p.text(key+".spend_col", m["spend_col"]),
		Bounds:   Bounds{Max: math.Inf(1)},
		Response: Response{Type: ResponseIdentity},
	}
	if v := m["bounds"]; v != nil {
		if bm, ok := asMap(v); !ok {
			p.add(key+".bounds", "`%s.bounds` must be a mapping with min and max, not %s", key, describe(v))
		} else {
			p.unknownKeys(key+".bounds", bm, boundsKeys)
			if v := bm["min"]; v != nil {
				ch.Bounds.Min = p.number(key+".bounds.min", v)
			}
			if v := bm["max"]; v != nil {
				ch.Bounds.Max = p.number(key+".bounds.max", v)
			}
		}
	}
	if v := m["response"]; v != nil {
		rkey := key + ".response"
		rm, ok := asMap(v)
		if !ok {
			p.add(rkey, "`%s` must be a mapping such as {type: hill, ec50: 5000, slope: 1}, not %s", rkey, describe(v))
			return ch
		}
		p.unknownKeys(rkey, rm, responseKeys)
		if t := p.text(rkey+".type", rm["type"]); t != "" {
			ch.Response.Type = t
		}
		for _, name := range []string{"ec50", "slope", "scale", "exponent"} {
			v, ok := rm[name]
			if !ok || v == nil {
				continue
			}
			if want := responseParams[name]; want != ch.Response.Type {
				p.add(rkey+"."+name, "`%s.%s` applies to %s responses only, not %s; remove it", rkey, name, want, ch.Response.Type)
				continue
			}
			x := p.number(rkey+"."+name, v)
			switch name {
			case "ec50":
				ch.Response.EC50 = x
			case "slope":
				ch.Response.Slope = x
			case "scale":
				ch.Response.Scale = x
			case "exponent":
				ch.Response.Exponent = x
			}
		}
		if ch.Response.Type == ResponseHill && rm["slope"] == nil {
			ch.Response.Slope = 1
		}
	}
	return ch
}

// objectiveSection decodes objective (a type name or a mapping) and risk (the parameters,
// an alternative place for them), with the default parameter of the chosen type.
func (p *problems) objectiveSection(m map[string]any) Objective {
	o := Objective{Type: ObjectiveMean}
	set := map[string]string{} // parameter → key that set it
	params := map[string]*float64{"lambda": &o.Lambda, "q": &o.Q, "alpha": &o.Alpha}
	readParams := func(section string, pm map[string]any) {
		for _, name := range riskKeys {
			v, ok := pm[name]
			if !ok || v == nil {
				continue
			}
			key := section + "." + name
			if prev, dup := set[name]; dup {
				p.add(key, "`%s` repeats `%s`; set it in one place", key, prev)
				continue
			}
			set[name] = key
			*params[name] = p.number(key, v)
		}
	}
	switch v := m["objective"].(type) {
	case nil:
	case string:
		o.Type = v
	default:
		om, ok := asMap(v)
		if !ok {
			p.add("objective", "`objective` must be a type name (mean, mean_minus_sd, quantile, cvar) or a mapping with type and its parameter, not %s", describe(v))
			break
		}
		p.unknownKeys("objective", om, objectiveKeys)
		if t := p.text("objective.type", om["type"]); t != "" {
			o.Type = t
		}
		readParams("objective", om)
	}
	if v := m["risk"]; v != nil {
		rm, ok := asMap(v)
		if !ok {
			p.add("risk", "`risk` must be a mapping with lambda, q or alpha, not %s", describe(v))
		} else {
			p.unknownKeys("risk", rm, riskKeys)
			readParams("risk", rm)
		}
	}
	for _, name := range riskKeys {
		if key, ok := set[name]; ok && objectiveParams[name] != o.Type && slices.Contains(objectiveTypes, o.Type) {
			p.add(key, "`%s` applies to objective %s only, not %s; remove it", key, objectiveParams[name], o.Type)
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
	return o
}

// text decodes a string value; nil gives "".
func (p *problems) text(key string, v any) string {
	switch s := v.(type) {
	case nil:
		return ""
	case string:
		return s
	case bool, float64, float32, int, int64, uint64, int32, uint32, uint:
		return fmt.Sprint(s) // a term such as 2024 written without quotes
	}
	p.add(key, "`%s` must be text, not %s", key, describe(v))
	return ""
}

// number decodes a number. YAML forms that the decoder leaves as text (1e6, Inf) are
// parsed too.
func (p *problems) number(key string, v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case uint64:
		return float64(x)
	case uint32:
		return float64(x)
	case uint:
		return float64(x)
	case string:
		s := strings.TrimSpace(x)
		switch strings.ToLower(strings.TrimPrefix(s, "+")) {
		case "inf", ".inf", "infinity":
			return math.Inf(1)
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.EqualFold(s, "nan") {
			return f
		}
	}
	p.add(key, "`%s` is %s; must be a number", key, describe(v))
	return math.NaN()
}

// asMap accepts the map types decoded YAML comes in.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			out[fmt.Sprint(k)] = x
		}
		return out, true
	}
	return nil, false
}

// describe names a decoded value's kind for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "empty"
	case string:
		return fmt.Sprintf("text %q", x)
	case bool:
		return fmt.Sprintf("a boolean (%v)", x)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	default:
		return fmt.Sprintf("%v", x)
	}
}

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
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

// keyPositions records where each key path of a YAML tree starts.
func keyPositions(n ast.Node, path string, pos map[string][2]int) {
	switch v := n.(type) {
	case *ast.TagNode:
		keyPositions(v.Value, path, pos)
	case *ast.AnchorNode:
		keyPositions(v.Value, path, pos)
	case ast.MapNode:
		it := v.MapRange()
		for it.Next() {
			tk := it.Key().GetToken()
			if tk == nil {
				continue
			}
			key := joinKey(path, tk.Value)
			if tk.Position != nil {
				pos[key] = [2]int{tk.Position.Line, tk.Position.Column}
			}
			if it.Value() != nil {
				keyPositions(it.Value(), key, pos)
			}
		}
	case *ast.SequenceNode:
		for i, item := range v.Values {
			key := fmt.Sprintf("%s[%d]", path, i)
			line, col := nodePos(item)
			pos[key] = [2]int{line, col}
			keyPositions(item, key, pos)
		}
	}
}

// lookup finds the position of key, or of its nearest ancestor present in the file (the
// parent of a missing key).
func lookup(pos map[string][2]int, key string) (line, col int) {
	for key != "" {
		if lc, ok := pos[key]; ok {
			return lc[0], lc[1]
		}
		i := max(strings.LastIndexByte(key, '.'), strings.LastIndexByte(key, '['))
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0, 0
}

// nodePos is where a node starts (the first key of a mapping).
func nodePos(n ast.Node) (line, col int) {
	if mn, ok := n.(ast.MapNode); ok {
		it := mn.MapRange()
		if it.Next() {
			n = it.Key()
		}
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line, tk.Position.Column
	}
	return 0, 0
}

// yamlProblem turns a goccy error into a Problem at its token.
func yamlProblem(prefix string, err error) Problem {
	p := Problem{Msg: prefix + err.Error()}
	var ye yaml.Error
	if errors.As(err, &ye) {
		p.Msg = prefix + ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return p
}
