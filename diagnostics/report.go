package diagnostics

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/dsamstan/dsamstan/internal/csvtab"
	"github.com/dsamstan/dsamstan/internal/num"
)

// Check statuses, from best to worst; Skipped marks a check that could not run (no sd_*
// parameters, no energy__ column) and never changes the overall status.
const (
	StatusPass    = "pass"
	StatusWarn    = "warn"
	StatusFail    = "fail"
	StatusSkipped = "skipped"
)

// Phases and their severities: P0 checks the data before sampling, P1 the sampler after it.
const (
	PhaseP0 = "P0"
	PhaseP1 = "P1"

	SeverityCritical  = "critical"  // P0
	SeverityImportant = "important" // P1
)

// Policy modes (diagnostics.policy_mode). Publish is the default.
const (
	ModeExplore = "explore"
	ModePublish = "publish"
	ModeStrict  = "strict"
)

// Modes lists the policy modes, loosest first.
var Modes = []string{ModeExplore, ModePublish, ModeStrict}

// ReportFile is the report's file name inside the run folder's 40_diagnostics stage.
const ReportFile = "diagnostics_report.csv"

// OverallID is the check_id of the report's first row, which carries the overall status.
const OverallID = "overall"

// Header is the exact header line of diagnostics_report.csv.
var Header = []string{"check_id", "phase", "severity", "status", "metric", "value", "threshold", "message"}

// Check is one row of the diagnostics report. Value is NaN when there is nothing to report
// (a skipped check); Threshold is the applied threshold as text, for people; Message says
// what was found and, for a warn or fail, what to do about it.
type Check struct {
	ID, Phase, Severity, Status, Metric string
	Value                               float64
	Threshold, Message                  string
}

// Report is the outcome of every check under one policy mode.
type Report struct {
	Mode   string
	Checks []Check
}

// Status returns the overall status: fail if any check failed, else warn if any warned,
// else pass. Skipped checks do not count; a report with no checks passes.
func (r *Report) Status() string {
	worst := StatusPass
	for _, c := range r.Checks {
		if rank(c.Status) > rank(worst) {
			worst = c.Status
		}
	}
	return worst
}

// rank orders statuses for comparison: skipped < pass < warn < fail.
func rank(status string) int {
	switch status {
	case StatusPass:
		return 1
	case StatusWarn:
		return 2
	case StatusFail:
		return 3
	}
	return 0
}

// ValidateMode returns an error naming the allowed values when mode is not a policy mode.
// The empty string is allowed and means publish.
func ValidateMode(mode string) error {
	if mode == "" {
		return nil
	}
	for _, m := range Modes {
		if m == mode {
			return nil
		}
	}
	return fmt.Errorf("diagnostics: policy %q is not a policy mode; use explore, publish or strict", mode)
}

// mustMode resolves "" to publish and panics on anything that is not a mode: user input is
// checked with ValidateMode before it reaches the checks.
func mustMode(mode string) string {
	if mode == "" {
		return ModePublish
	}
	if err := ValidateMode(mode); err != nil {
		panic(err.Error())
	}
	return mode
}

// Overall returns the report's first row (check_id "overall"): the overall status, the
// number of checks that warned or failed, the policy as "policy=<mode>" (so that ReadCSV can
// recover the mode) and a message listing the checks to look at first.
func (r *Report) Overall() Check {
	var fails, warns []string
	for _, c := range r.Checks {
		switch c.Status {
		case StatusFail:
			fails = append(fails, c.ID)
		case StatusWarn:
			warns = append(warns, c.ID)
		}
	}
	msg := "every check passed"
	switch {
	case len(fails) > 0 && len(warns) > 0:
		msg = fmt.Sprintf("%d failed (%s) and %d warned (%s): fix the fail rows first, P0 before P1",
			len(fails), strings.Join(fails, ", "), len(warns), strings.Join(warns, ", "))
	case len(fails) > 0:
		msg = fmt.Sprintf("%d failed (%s): fix them first, P0 before P1", len(fails), strings.Join(fails, ", "))
	case len(warns) > 0:
		msg = fmt.Sprintf("%d warned (%s): read those rows before trusting the results", len(warns), strings.Join(warns, ", "))
	}
	return Check{
		ID:        OverallID,
		Phase:     "all",
		Status:    r.Status(),
		Metric:    "non_pass_checks",
		Value:     float64(len(fails) + len(warns)),
		Threshold: "policy=" + mustMode(r.Mode),
		Message:   msg,
	}
}

// WriteCSV writes the report as diagnostics_report.csv: the Header line, the overall row,
// then one row per check. Numbers are written in full precision, NaN as NA and infinities as
// Inf, as R writes them.
func WriteCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return fmt.Errorf("diagnostics: writing report: %w", err)
	}
	for _, c := range append([]Check{rep.Overall()}, rep.Checks...) {
		rec := []string{c.ID, c.Phase, c.Severity, c.Status, c.Metric, num.Format(c.Value), c.Threshold, c.Message}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("diagnostics: writing report: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("diagnostics: writing report: %w", err)
	}
	return nil
}

// ReadCSV reads a report written by WriteCSV. The overall row is not kept as a check (Status
// recomputes it); the mode comes from its threshold.
func ReadCSV(r io.Reader) (*Report, error) {
	data, err := csvtab.Read(r, Header)
	if err != nil {
		return nil, fmt.Errorf("diagnostics: reading report: %w", err)
	}
	rep := &Report{Mode: ModePublish}
	for i, rec := range data {
		v, err := num.Parse(rec[5])
		if err != nil {
			return nil, fmt.Errorf("diagnostics: reading report: line %d: value %q is not a number", i+2, rec[5])
		}
		if rank(rec[3]) == 0 && rec[3] != StatusSkipped {
			return nil, fmt.Errorf("diagnostics: reading report: line %d: status %q is not pass, warn, fail or skipped", i+2, rec[3])
		}
		if rec[0] == OverallID {
			if m, ok := strings.CutPrefix(rec[6], "policy="); ok && ValidateMode(m) == nil && m != "" {
				rep.Mode = m
			}
			continue
		}
		rep.Checks = append(rep.Checks, Check{ID: rec[0], Phase: rec[1], Severity: rec[2], Status: rec[3],
			Metric: rec[4], Value: v, Threshold: rec[6], Message: rec[7]})
	}
	return rep, nil
}

// GateError is returned by Gate when the report's status is at or above the level the user
// chose with --fail-on; the CLI maps it to exit status 4. Failed lists the check_ids at or
// above that level, in report order.
type GateError struct {
	Status string
	Failed []string
}

// Error says which status tripped the gate and which checks caused it.
func (e *GateError) Error() string {
	return fmt.Sprintf("diagnostics: overall status %s: %s", e.Status, strings.Join(e.Failed, ", "))
}

// Gate returns a *GateError when the report's overall status is at or above failOn ("warn"
// or "fail"), and nil otherwise; failOn "" never trips. Any other failOn is an error.
func Gate(rep *Report, failOn string) error {
	if failOn == "" {
		return nil
	}
	if failOn != StatusWarn && failOn != StatusFail {
		return fmt.Errorf("diagnostics: fail-on level %q is not warn or fail", failOn)
	}
	status := rep.Status()
	if rank(status) < rank(failOn) {
		return nil
	}
	e := &GateError{Status: status}
	for _, c := range rep.Checks {
		if rank(c.Status) >= rank(failOn) {
			e.Failed = append(e.Failed, c.ID)
		}
	}
	return e
}
