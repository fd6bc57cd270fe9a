package diagnostics

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestOverallStatusOrdering(t *testing.T) {
	tests := []struct {
		statuses []string
		want     string
	}{
		{nil, StatusPass},
		{[]string{StatusSkipped}, StatusPass},
		{[]string{StatusPass, StatusSkipped}, StatusPass},
		{[]string{StatusPass, StatusWarn, StatusSkipped}, StatusWarn},
		{[]string{StatusWarn, StatusPass}, StatusWarn},
		{[]string{StatusFail, StatusPass}, StatusFail},
		{[]string{StatusWarn, StatusFail, StatusWarn}, StatusFail},
		{[]string{StatusSkipped, StatusFail}, StatusFail},
	}
	for _, tt := range tests {
		rep := &Report{}
		for _, s := range tt.statuses {
			rep.Checks = append(rep.Checks, Check{ID: "x", Status: s})
		}
		if got := rep.Status(); got != tt.want {
			t.Errorf("Status(%v) = %s; want %s", tt.statuses, got, tt.want)
		}
	}
}

func sampleReport() *Report {
	return &Report{Mode: ModeStrict, Checks: []Check{
		{ID: "pre_response_finite", Phase: PhaseP0, Severity: SeverityCritical, Status: StatusPass,
			Metric: "non_finite_response_count", Value: 0, Threshold: "fail > 0", Message: "all 156 values of kpi are finite"},
		{ID: "pre_design_condition_number", Phase: PhaseP0, Severity: SeverityCritical, Status: StatusWarn,
			Metric: "kappa_X", Value: math.Inf(1), Threshold: "warn > 10000; fail > 1e+06", Message: "collinear, \"a\", b"},
		{ID: "sampler_rhat_max_sd", Phase: PhaseP1, Severity: SeverityImportant, Status: StatusSkipped,
			Metric: "max_rhat", Value: math.NaN(), Threshold: "warn > 1.005; fail > 1.01", Message: "no group scales (sd_*) to check"},
		{ID: "sampler_divergences", Phase: PhaseP1, Severity: SeverityImportant, Status: StatusFail,
			Metric: "divergent_transitions", Value: 4, Threshold: "fail > 0", Message: "4 of 300 draws"},
	}}
}

func TestWriteCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	want := `check_id,phase,severity,status,metric,value,threshold,message
overall,all,,fail,non_pass_checks,2,policy=strict,"1 failed (sampler_divergences) and 1 warned (pre_design_condition_number): fix the fail rows first, P0 before P1"
pre_response_finite,P0,critical,pass,non_finite_response_count,0,fail > 0,all 156 values of kpi are finite
pre_design_condition_number,P0,critical,warn,kappa_X,Inf,warn > 10000; fail > 1e+06,"collinear, ""a"", b"
sampler_rhat_max_sd,P1,important,skipped,max_rhat,NA,warn > 1.005; fail > 1.01,no group scales (sd_*) to check
sampler_divergences,P1,important,fail,divergent_transitions,4,fail > 0,4 of 300 draws
`
	if got := buf.String(); got != want {
		t.Errorf("WriteCSV wrote\n%s\nwant\n%s", got, want)
	}
	if first := strings.SplitN(buf.String(), "\n", 2)[0]; first != "check_id,phase,severity,status,metric,value,threshold,message" {
		t.Errorf("header %q", first)
	}

	back, err := ReadCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	orig := sampleReport()
	if back.Mode != orig.Mode || len(back.Checks) != len(orig.Checks) {
		t.Fatalf("ReadCSV: mode %s with %d checks; want %s with %d", back.Mode, len(back.Checks), orig.Mode, len(orig.Checks))
	}
	for i, c := range back.Checks {
		o := orig.Checks[i]
		sameValue := c.Value == o.Value || (math.IsNaN(c.Value) && math.IsNaN(o.Value))
		c.Value, o.Value = 0, 0
		if c != o || !sameValue {
			t.Errorf("ReadCSV row %d = %+v; want %+v", i, back.Checks[i], orig.Checks[i])
		}
	}
}

func TestWriteCSVAllPass(t *testing.T) {
	var buf bytes.Buffer
	rep := &Report{Checks: []Check{{ID: "a", Status: StatusPass}}}
	if err := WriteCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if lines[1] != "overall,all,,pass,non_pass_checks,0,policy=publish,every check passed" {
		t.Errorf("overall row %q", lines[1])
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"id,status\na,pass\n",
		strings.Join(Header, ",") + "\na,P0,critical,great,m,1,t,msg\n",
		strings.Join(Header, ",") + "\na,P0,critical,pass,m,one,t,msg\n",
		strings.Join(Header, ",") + "\na,P0,critical,pass,m,1,t\n",
	} {
		if _, err := ReadCSV(strings.NewReader(in)); err == nil || !strings.HasPrefix(err.Error(), "diagnostics: reading report") {
			t.Errorf("ReadCSV(%q) error = %v; want a diagnostics: reading report error", in, err)
		}
	}
}

func TestGate(t *testing.T) {
	rep := sampleReport() // one warn, one fail
	warnOnly := &Report{Checks: []Check{{ID: "a", Status: StatusPass}, {ID: "b", Status: StatusWarn}}}
	pass := &Report{Checks: []Check{{ID: "a", Status: StatusPass}, {ID: "s", Status: StatusSkipped}}}
	tests := []struct {
		rep    *Report
		failOn string
		status string
		failed []string
	}{
		{rep, "", "", nil},
		{rep, StatusFail, StatusFail, []string{"sampler_divergences"}},
		{rep, StatusWarn, StatusFail, []string{"pre_design_condition_number", "sampler_divergences"}},
		{warnOnly, StatusFail, "", nil},
		{warnOnly, StatusWarn, StatusWarn, []string{"b"}},
		{pass, StatusWarn, "", nil},
	}
	for _, tt := range tests {
		err := Gate(tt.rep, tt.failOn)
		var ge *GateError
		if tt.status == "" {
			if err != nil {
				t.Errorf("Gate(%s, %q) = %v; want nil", tt.rep.Status(), tt.failOn, err)
			}
			continue
		}
		if !errors.As(err, &ge) || ge.Status != tt.status || !slices.Equal(ge.Failed, tt.failed) {
			t.Errorf("Gate(%s, %q) = %#v; want GateError{%s, %v}", tt.rep.Status(), tt.failOn, err, tt.status, tt.failed)
		}
	}
	if err := Gate(rep, "pass"); err == nil || errors.As(err, new(*GateError)) {
		t.Errorf("Gate with fail-on pass = %v; want a plain error", err)
	}
	want := "diagnostics: overall status fail: pre_design_condition_number, sampler_divergences"
	if err := Gate(rep, StatusWarn); err.Error() != want {
		t.Errorf("GateError = %q; want %q", err, want)
	}
}

func TestValidateMode(t *testing.T) {
	for _, m := range append([]string{""}, Modes...) {
		if err := ValidateMode(m); err != nil {
			t.Errorf("ValidateMode(%q) = %v", m, err)
		}
	}
	err := ValidateMode("publsh")
	if err == nil || err.Error() != `diagnostics: policy "publsh" is not a policy mode; use explore, publish or strict` {
		t.Errorf("ValidateMode(publsh) = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("P0 with an unknown mode did not panic")
		}
	}()
	P0(twoColumns(10), "publsh")
}
