package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/diagnostics"
)

// Chain CSVs of real CmdStan 2.33.1 runs, copied from ../shared/fixtures/cmdstan-2.33/ into
// the diagnostics package's testdata.
const (
	divergentCSV = "../../diagnostics/testdata/eight-centred-divergent.csv"
	hier1CSV     = "../../diagnostics/testdata/hier-noncentred-1.csv"
	hier2CSV     = "../../diagnostics/testdata/hier-noncentred-2.csv"
)

// diagnose runs the diagnose command in-process (it is not reached through run until the
// root registers it) and returns its stdout, stderr and error.
func diagnose(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newDiagnoseCmd(streams{In: strings.NewReader(""), Out: &out, Err: &errb}, nil)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

// rowStatus returns the status column of the table row of check id.
func rowStatus(t *testing.T, table, id string) string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == id {
			return f[2]
		}
	}
	t.Fatalf("no %s row in\n%s", id, table)
	return ""
}

// runFolder makes a run folder with the given chain CSVs in 20_model_fit/ and, when rep is
// not nil, a stored 40_diagnostics/diagnostics_report.csv.
func runFolder(t *testing.T, rep *diagnostics.Report, chains ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "20_model_fit"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, src := range chains {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "20_model_fit", "chain_"+string(rune('1'+i))+".csv"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if rep != nil {
		var buf bytes.Buffer
		if err := diagnostics.WriteCSV(&buf, rep); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "40_diagnostics"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "40_diagnostics", "diagnostics_report.csv"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDiagnoseCSVFiles(t *testing.T) {
	out, _, err := diagnose(t, divergentCSV)
	if err != nil {
		t.Fatalf("diagnose without --fail-on: %v", err)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "check_id") || !strings.HasPrefix(lines[1], "overall") {
		t.Errorf("the table does not start with its header and the overall row:\n%s", out)
	}
	// 4 divergences in 300 draws is above publish's 1%.
	for id, want := range map[string]string{"overall": "fail", "sampler_divergences": "fail",
		"sampler_ebfmi_min": "warn", "sampler_treedepth_saturation": "pass", "sampler_rhat_max_sd": "skipped"} {
		if got := rowStatus(t, out, id); got != want {
			t.Errorf("%s: %s; want %s", id, got, want)
		}
	}
	if !strings.Contains(out, "4 of 300 draws (1.33%)") {
		t.Errorf("no divergence count in\n%s", out)
	}

	out, _, _ = diagnose(t, "--policy", "explore", divergentCSV)
	if got := rowStatus(t, out, "sampler_divergences"); got != "warn" {
		t.Errorf("explore: sampler_divergences %s; want warn", got)
	}

	// Two chains of a model with group scales: the _sd rows are graded.
	out, _, _ = diagnose(t, hier1CSV, hier2CSV)
	if got := rowStatus(t, out, "sampler_rhat_max_sd"); got == "skipped" || !strings.Contains(out, "sd_1.") {
		t.Errorf("hier: sampler_rhat_max_sd %s\n%s", got, out)
	}
}

func TestDiagnoseFailOn(t *testing.T) {
	// eight-centred-divergent (publish): divergences fail, E-BFMI warns. hier-noncentred under
	// explore: only its 2 divergences in 600 draws warn.
	hier := []string{hier1CSV, hier2CSV}
	for _, tt := range []struct {
		args   []string
		status string
		failed []string
	}{
		{[]string{"--fail-on", "fail", divergentCSV}, "fail",
			[]string{"sampler_rhat_max", "sampler_ess_bulk_min", "sampler_ess_tail_min", "sampler_divergences"}},
		{[]string{"--fail-on", "warn", divergentCSV}, "fail",
			[]string{"sampler_rhat_max", "sampler_ess_bulk_min", "sampler_ess_tail_min", "sampler_divergences", "sampler_ebfmi_min"}},
		{append([]string{"--fail-on", "fail", "--policy", "explore"}, hier...), "", nil},
		{append([]string{"--fail-on", "warn", "--policy", "explore"}, hier...), "warn", []string{"sampler_divergences"}},
		{append([]string{"--policy", "strict"}, hier...), "", nil},
	} {
		out, _, err := diagnose(t, tt.args...)
		if !strings.Contains(out, "overall") {
			t.Errorf("%v: the report was not printed", tt.args)
		}
		var ge *diagnostics.GateError
		if tt.status == "" {
			if err != nil {
				t.Errorf("%v: %v; want no error", tt.args, err)
			}
			continue
		}
		if !errors.As(err, &ge) || ge.Status != tt.status || !slices.Equal(ge.Failed, tt.failed) {
			t.Errorf("%v: error %#v; want a GateError{%s, %v}", tt.args, err, tt.status, tt.failed)
		}
	}
}

func TestDiagnoseRunFolder(t *testing.T) {
	// Without a stored report the sampler checks come from 20_model_fit/chain_*.csv.
	dir := runFolder(t, nil, hier1CSV, hier2CSV)
	out, _, err := diagnose(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "2 of 600 draws") || !strings.Contains(out, "chain 1 (chain_1.csv)") {
		t.Errorf("run folder without a report:\n%s", out)
	}

	// A stored report is shown as written: --csv gives the file back byte for byte.
	stored := &diagnostics.Report{Mode: diagnostics.ModePublish, Checks: []diagnostics.Check{
		{ID: "pre_response_finite", Phase: "P0", Severity: "critical", Status: "pass", Metric: "non_finite_response_count",
			Value: 0, Threshold: "fail > 0", Message: "all 156 values of kpi are finite"},
		{ID: "pre_design_condition_number", Phase: "P0", Severity: "critical", Status: "warn", Metric: "kappa_X",
			Value: 48394.763066074782, Threshold: "warn > 10000; fail > 1e+06 downgraded to warn (publish)", Message: "collinear: m_tv and m_radio"},
	}}
	dir = runFolder(t, stored, divergentCSV)
	want, err := os.ReadFile(filepath.Join(dir, "40_diagnostics", "diagnostics_report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = diagnose(t, "--csv", dir)
	if err != nil || out != string(want) {
		t.Errorf("--csv of a stored report: %v\n%s\nwant\n%s", err, out, want)
	}
	out, _, err = diagnose(t, "--fail-on", "warn", dir)
	var ge *diagnostics.GateError
	if !errors.As(err, &ge) || ge.Status != "warn" || !slices.Equal(ge.Failed, []string{"pre_design_condition_number"}) {
		t.Errorf("stored report with --fail-on warn: %v", err)
	}
	if rowStatus(t, out, "overall") != "warn" || rowStatus(t, out, "pre_design_condition_number") != "warn" || strings.Contains(out, "sampler_") {
		t.Errorf("stored report table:\n%s", out)
	}
	if !strings.Contains(out, "  48395  ") {
		t.Errorf("kappa_X not shown as 48395:\n%s", out)
	}

	// Asked under another policy, the sampler checks are recomputed from the chains.
	out, errOut, err := diagnose(t, "--policy", "strict", dir)
	if err != nil || rowStatus(t, out, "sampler_ebfmi_min") != "fail" || strings.Contains(out, "pre_design") ||
		!strings.Contains(errOut, "written under policy publish") {
		t.Errorf("--policy strict on a publish report: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	// The same policy as stored shows the stored report.
	out, _, _ = diagnose(t, "--policy", "publish", dir)
	if strings.Contains(out, "sampler_") {
		t.Errorf("--policy publish on a publish report recomputed it:\n%s", out)
	}
}

func TestDiagnoseErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tt := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"--policy", "lenient", divergentCSV}, true, `--policy "lenient": use explore, publish or strict`},
		{[]string{"--fail-on", "pass", divergentCSV}, true, `--fail-on "pass": use warn or fail`},
		{[]string{}, true, "needs RUN_DIR or CSV..."},
		{[]string{empty}, false, "has neither 40_diagnostics/diagnostics_report.csv nor 20_model_fit/chain_*.csv"},
		{[]string{divergentCSV, empty}, true, "is a folder: give one run folder, or CmdStan CSV files"},
		{[]string{divergentCSV, hier1CSV}, false, "have different columns"},
		{[]string{filepath.Join(empty, "missing.csv")}, false, "no such file"},
	} {
		_, _, err := diagnose(t, tt.args...)
		var fe *flagError
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &fe) != tt.usage {
			t.Errorf("diagnose %v: %v; want an error containing %q (usage error: %v)", tt.args, err, tt.want, tt.usage)
		}
	}
}
