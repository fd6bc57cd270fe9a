package optimise

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/dsamstan/dsamstan/internal/num"
)

// AllocationTable is allocation.csv read back.
type AllocationTable struct {
	// Efficiency names the ratio of CurrentEff and OptimisedEff: "roi" for revenue KPIs,
	// "cpa" for subscriptions.
	Efficiency string
	Rows       []AllocationRow
}

// AllocationRow is one channel of allocation.csv.
type AllocationRow struct {
	Channel, Term                string
	CurrentSpend, OptimisedSpend float64
	Current, Optimised           Interval
	CurrentEff, OptimisedEff     float64
	MarginalROI, Min, Max        float64
	// Response is the response transform as written (Response.String).
	Response string
}

// FrontierTable is frontier.csv read back: the channels of the spend_<channel> columns and
// one point per budget.
type FrontierTable struct {
	Channels []string
	Points   []FrontierPoint
}

// table is a CSV file read whole, checked against the header its writer writes.
type table struct {
	name string
	rows [][]string
}

func readTable(r io.Reader, name string, header func(got []string) bool, want string) (*table, []string, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("optimise: %s: %w", name, err)
	}
	if len(recs) == 0 || !header(recs[0]) {
		return nil, nil, fmt.Errorf("optimise: %s: want the header %s", name, want)
	}
	return &table{name: name, rows: recs[1:]}, recs[0], nil
}

func exactly(want []string) func([]string) bool {
	return func(got []string) bool { return slices.Equal(got, want) }
}

// nums parses cells of row i into dst, in order.
func (t *table) nums(i int, cells []string, dst ...*float64) error {
	for k, p := range dst {
		v, err := num.Parse(cells[k])
		if err != nil {
			return fmt.Errorf("optimise: %s:%d: %q is not a number", t.name, i+2, cells[k])
		}
		*p = v
	}
	return nil
}

// ReadAllocation reads a table written by (*Result).WriteAllocation.
func ReadAllocation(r io.Reader) (*AllocationTable, error) {
	head := func(eff string) []string {
		return []string{"channel", "term", "current_spend", "optimised_spend",
			"current_mean", "current_q05", "current_q95", "optimised_mean", "optimised_q05", "optimised_q95",
			"current_" + eff, "optimised_" + eff, "marginal_roi", "min_spend", "max_spend", "response"}
	}
	a := &AllocationTable{}
	t, _, err := readTable(r, AllocationFile, func(got []string) bool {
		for _, eff := range []string{"roi", "cpa"} {
			if slices.Equal(got, head(eff)) {
				a.Efficiency = eff
				return true
			}
		}
		return false
	}, strings.Join(head("roi|cpa"), ","))
	if err != nil {
		return nil, err
	}
	for i, rec := range t.rows {
		row := AllocationRow{Channel: rec[0], Term: rec[1], Response: rec[15]}
		if err := t.nums(i, rec[2:15], &row.CurrentSpend, &row.OptimisedSpend,
			&row.Current.Mean, &row.Current.Q05, &row.Current.Q95, &row.Optimised.Mean, &row.Optimised.Q05, &row.Optimised.Q95,
			&row.CurrentEff, &row.OptimisedEff, &row.MarginalROI, &row.Min, &row.Max); err != nil {
			return nil, err
		}
		a.Rows = append(a.Rows, row)
	}
	return a, nil
}

// ReadResponseCurves reads a table written by (*Result).WriteResponseCurves.
func ReadResponseCurves(r io.Reader) ([]CurvePoint, error) {
	want := []string{"channel", "term", "spend", "mean", "q05", "q95"}
	t, _, err := readTable(r, ResponseCurvesFile, exactly(want), strings.Join(want, ","))
	if err != nil {
		return nil, err
	}
	out := make([]CurvePoint, len(t.rows))
	for i, rec := range t.rows {
		p := &out[i]
		p.Channel, p.Term = rec[0], rec[1]
		if err := t.nums(i, rec[2:], &p.Spend, &p.Contribution.Mean, &p.Contribution.Q05, &p.Contribution.Q95); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadFrontier reads a table written by (*Result).WriteFrontier.
func ReadFrontier(r io.Reader) (*FrontierTable, error) {
	fixed := []string{"budget", "budget_ratio", "objective", "total_mean", "total_q05", "total_q95", "solver"}
	t, header, err := readTable(r, FrontierFile, func(got []string) bool {
		if len(got) < len(fixed) || !slices.Equal(got[:len(fixed)], fixed) {
			return false
		}
		for _, h := range got[len(fixed):] {
			if !strings.HasPrefix(h, "spend_") {
				return false
			}
		}
		return true
	}, strings.Join(fixed, ",")+",spend_<channel>…")
	if err != nil {
		return nil, err
	}
	f := &FrontierTable{}
	for _, h := range header[len(fixed):] {
		f.Channels = append(f.Channels, strings.TrimPrefix(h, "spend_"))
	}
	for i, rec := range t.rows {
		p := FrontierPoint{Solver: rec[6], Spend: make([]float64, len(f.Channels))}
		dst := []*float64{&p.Budget, &p.Ratio, &p.Objective, &p.KPI.Mean, &p.KPI.Q05, &p.KPI.Q95}
		if err := t.nums(i, rec[:6], dst...); err != nil {
			return nil, err
		}
		for k := range p.Spend {
			if err := t.nums(i, rec[len(fixed)+k:], &p.Spend[k]); err != nil {
				return nil, err
			}
		}
		f.Points = append(f.Points, p)
	}
	return f, nil
}

// ReadSensitivity reads a table written by (*Result).WriteSensitivity.
func ReadSensitivity(r io.Reader) ([]SensitivityPoint, error) {
	want := []string{"channel", "term", "change", "spend", "total_spend", "total_mean", "total_q05", "total_q95", "objective", "delta_mean"}
	t, _, err := readTable(r, SensitivityFile, exactly(want), strings.Join(want, ","))
	if err != nil {
		return nil, err
	}
	out := make([]SensitivityPoint, len(t.rows))
	for i, rec := range t.rows {
		p := &out[i]
		p.Channel, p.Term = rec[0], rec[1]
		if err := t.nums(i, rec[2:], &p.Change, &p.Spend, &p.TotalSpend, &p.KPI.Mean, &p.KPI.Q05, &p.KPI.Q95, &p.Objective, &p.DeltaMean); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rnum is a number of summary.json: null reads as NaN.
type rnum float64

func (v *rnum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = rnum(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*v = rnum(f)
	return nil
}

type rinterval struct{ Mean, Q05, Q95 rnum }

func (r rinterval) interval() Interval {
	return Interval{float64(r.Mean), float64(r.Q05), float64(r.Q95)}
}

type rtotals struct {
	Spend     rnum      `json:"spend"`
	KPI       rinterval `json:"kpi"`
	Objective rnum      `json:"objective"`
	ROI       *rnum     `json:"roi"`
	CPA       *rnum     `json:"cpa"`
}

func (r rtotals) totals() Totals {
	t := Totals{Spend: float64(r.Spend), KPI: r.KPI.interval(), Objective: float64(r.Objective), ROI: math.NaN(), CPA: math.NaN()}
	if r.ROI != nil {
		t.ROI = float64(*r.ROI)
	}
	if r.CPA != nil {
		t.CPA = float64(*r.CPA)
	}
	return t
}

// ReadSummary reads summary.json written by (*Result).WriteSummary. Numbers written as null
// (undefined) read as NaN, and the ratio the file does not hold (CPA for revenue KPIs, ROI
// for subscriptions) is NaN.
func ReadSummary(r io.Reader) (*Summary, error) {
	var in struct {
		Group           string    `json:"group"`
		KPIType         string    `json:"kpi_type"`
		Objective       Objective `json:"objective"`
		BudgetTotal     rnum      `json:"budget_total"`
		Channels        int       `json:"channels"`
		Draws           int       `json:"draws"`
		Solver          string    `json:"solver"`
		Starts          int       `json:"starts"`
		ConvergedStarts int       `json:"converged_starts"`
		Linear          bool      `json:"linear"`
		Notes           []string  `json:"notes"`
		Seed            uint64    `json:"seed"`
		Current         rtotals   `json:"current"`
		Optimised       rtotals   `json:"optimised"`
		Lift            struct {
			rinterval
			ProbPositive rnum `json:"prob_positive"`
		} `json:"lift"`
		FrontierSkipped []rnum `json:"frontier_skipped_budgets"`
	}
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return nil, fmt.Errorf("optimise: %s: %w", SummaryFile, err)
	}
	s := &Summary{Group: in.Group, KPIType: in.KPIType, Objective: in.Objective, BudgetTotal: float64(in.BudgetTotal),
		Channels: in.Channels, Draws: in.Draws, Solver: in.Solver, Starts: in.Starts, ConvergedStarts: in.ConvergedStarts,
		Linear: in.Linear, Notes: in.Notes, Seed: in.Seed, Current: in.Current.totals(), Optimised: in.Optimised.totals(),
		Lift: in.Lift.interval(), ProbPositive: float64(in.Lift.ProbPositive)}
	for _, v := range in.FrontierSkipped {
		s.FrontierSkipped = append(s.FrontierSkipped, float64(v))
	}
	return s, nil
}
