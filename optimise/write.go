package optimise

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/internal/num"
)

// Output file names, written into the run's 60_optimisation/ folder.
const (
	AllocationFile     = "allocation.csv"
	ResponseCurvesFile = "response_curves.csv"
	FrontierFile       = "frontier.csv"
	SensitivityFile    = "sensitivity.csv"
	SummaryFile        = "summary.json"
)

// WriteFiles writes the five output files into dir (created if needed), each atomically.
func (r *Result) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("optimise: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{AllocationFile, r.WriteAllocation},
		{ResponseCurvesFile, r.WriteResponseCurves},
		{FrontierFile, r.WriteFrontier},
		{SensitivityFile, r.WriteSensitivity},
		{SummaryFile, r.WriteSummary},
	}
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(dir, f.name), 0o644, f.write); err != nil {
			return fmt.Errorf("optimise: %w", err)
		}
	}
	return nil
}

// efficiency names the ratio column for the KPI type and picks its values.
func (r *Result) efficiency() (name string, pick func(roi, cpa float64) float64) {
	if r.Summary.KPIType == KPISubscriptions {
		return "cpa", func(_, cpa float64) float64 { return cpa }
	}
	return "roi", func(roi, _ float64) float64 { return roi }
}

// WriteAllocation writes allocation.csv: one row per channel with the current and
// optimised spend, the contribution's mean and 90% interval at each, ROI (revenue) or CPA
// (subscriptions) at each, the marginal ROI at the optimum, the bounds and the response.
func (r *Result) WriteAllocation(w io.Writer) error {
	eff, pick := r.efficiency()
	rows := [][]string{{"channel", "term", "current_spend", "optimised_spend",
		"current_mean", "current_q05", "current_q95", "optimised_mean", "optimised_q05", "optimised_q95",
		"current_" + eff, "optimised_" + eff, "marginal_roi", "min_spend", "max_spend", "response"}}
	for _, c := range r.Channels {
		rows = append(rows, []string{c.Channel, c.Term, num.Format(c.CurrentSpend), num.Format(c.OptimisedSpend),
			num.Format(c.Current.Mean), num.Format(c.Current.Q05), num.Format(c.Current.Q95),
			num.Format(c.Optimised.Mean), num.Format(c.Optimised.Q05), num.Format(c.Optimised.Q95),
			num.Format(pick(c.CurrentROI, c.CurrentCPA)), num.Format(pick(c.OptimisedROI, c.OptimisedCPA)),
			num.Format(c.MarginalROI), num.Format(c.Min), num.Format(c.Max), c.Response.String()})
	}
	return writeCSV(w, rows)
}

// WriteResponseCurves writes response_curves.csv: per channel, the contribution's mean and
// 90% interval over a spend grid.
func (r *Result) WriteResponseCurves(w io.Writer) error {
	rows := [][]string{{"channel", "term", "spend", "mean", "q05", "q95"}}
	for _, p := range r.Curves {
		rows = append(rows, []string{p.Channel, p.Term, num.Format(p.Spend),
			num.Format(p.Contribution.Mean), num.Format(p.Contribution.Q05), num.Format(p.Contribution.Q95)})
	}
	return writeCSV(w, rows)
}

// WriteFrontier writes frontier.csv: the optimum at each total budget, with the objective,
// the total contribution's mean and 90% interval and the spend of each channel
// (spend_<channel>).
func (r *Result) WriteFrontier(w io.Writer) error {
	head := []string{"budget", "budget_ratio", "objective", "total_mean", "total_q05", "total_q95", "solver"}
	for _, c := range r.Channels {
		head = append(head, "spend_"+c.Channel)
	}
	rows := [][]string{head}
	for _, p := range r.Frontier {
		row := []string{num.Format(p.Budget), num.Format(p.Ratio), num.Format(p.Objective), num.Format(p.KPI.Mean), num.Format(p.KPI.Q05), num.Format(p.KPI.Q95), p.Solver}
		for _, s := range p.Spend {
			row = append(row, num.Format(s))
		}
		rows = append(rows, row)
	}
	return writeCSV(w, rows)
}

// WriteSensitivity writes sensitivity.csv: the total when each channel's optimised spend
// moves by −step and +step, the others fixed.
func (r *Result) WriteSensitivity(w io.Writer) error {
	rows := [][]string{{"channel", "term", "change", "spend", "total_spend", "total_mean", "total_q05", "total_q95", "objective", "delta_mean"}}
	for _, p := range r.Sensitivity {
		rows = append(rows, []string{p.Channel, p.Term, num.Format(p.Change), num.Format(p.Spend), num.Format(p.TotalSpend),
			num.Format(p.KPI.Mean), num.Format(p.KPI.Q05), num.Format(p.KPI.Q95), num.Format(p.Objective), num.Format(p.DeltaMean)})
	}
	return writeCSV(w, rows)
}

// WriteSummary writes summary.json. Undefined numbers (an ROI at zero spend) are null.
func (r *Result) WriteSummary(w io.Writer) error {
	s := r.Summary
	eff, pick := r.efficiency()
	totals := func(t Totals) map[string]any {
		return map[string]any{"spend": jnum(t.Spend), "kpi": jinterval(t.KPI), "objective": jnum(t.Objective), eff: jnum(pick(t.ROI, t.CPA))}
	}
	skipped := make([]jnum, len(s.FrontierSkipped))
	for i, v := range s.FrontierSkipped {
		skipped[i] = jnum(v)
	}
	notes := s.Notes
	if notes == nil {
		notes = []string{}
	}
	out := struct {
		Group           string         `json:"group,omitempty"`
		KPIType         string         `json:"kpi_type"`
		Objective       Objective      `json:"objective"`
		BudgetTotal     jnum           `json:"budget_total"`
		Channels        int            `json:"channels"`
		Draws           int            `json:"draws"`
		Solver          string         `json:"solver"`
		Starts          int            `json:"starts"`
		ConvergedStarts int            `json:"converged_starts"`
		Linear          bool           `json:"linear"`
		Notes           []string       `json:"notes"`
		Seed            uint64         `json:"seed"`
		Current         map[string]any `json:"current"`
		Optimised       map[string]any `json:"optimised"`
		Lift            map[string]any `json:"lift"`
		FrontierSkipped []jnum         `json:"frontier_skipped_budgets"`
	}{
		Group: s.Group, KPIType: s.KPIType, Objective: s.Objective, BudgetTotal: jnum(s.BudgetTotal),
		Channels: s.Channels, Draws: s.Draws, Solver: s.Solver, Starts: s.Starts, ConvergedStarts: s.ConvergedStarts,
		Linear: s.Linear, Notes: notes, Seed: s.Seed,
		Current: totals(s.Current), Optimised: totals(s.Optimised),
		Lift: map[string]any{"mean": jnum(s.Lift.Mean), "q05": jnum(s.Lift.Q05), "q95": jnum(s.Lift.Q95),
			"prob_positive": jnum(s.ProbPositive)},
		FrontierSkipped: skipped,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// jnum is a number that encodes as null when it is not finite.
type jnum float64

func (v jnum) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func jinterval(iv Interval) map[string]jnum {
	return map[string]jnum{"mean": jnum(iv.Mean), "q05": jnum(iv.Q05), "q95": jnum(iv.Q95)}
}

func writeCSV(w io.Writer, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("optimise: %w", err)
	}
	return nil
}
