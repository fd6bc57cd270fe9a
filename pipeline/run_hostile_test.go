package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/codegen"
	"github.com/dsamstan/dsamstan/ingest"
	"github.com/dsamstan/dsamstan/internal/fakecmdstan"
	"github.com/dsamstan/dsamstan/runfolder"
	"github.com/dsamstan/dsamstan/stanio"
)

// hostileColumns replace the 8 columns of the built-in BLM example (date, the KPI and six
// terms). They hold Stan code, comment and template delimiters, quotes, a comma, path
// escapes, shell, HTML, a terminal escape, a bidi override, a tab, non-Latin text and a
// 4 KB name. Only a backtick and a newline are left out: no formula can name those.
var hostileColumns = []string{
	"date <script>alert(1)</script>",
	"x; } model { target += 1e9; }",
	`*/ print("pwned"); /* // "quoted" 'single'`,
	"../../etc/passwd",
	`{{.Code}}{{template "stan"}}$(rm -rf ~)`,
	"tv, \"big\" spend\t\x1b[31m",
	"Märkte 📈 テレビ \u202eevil",
	strings.Repeat("α", 2048),
}

// hostileModelName is model.name: a path escape with a newline and Stan code.
const hostileModelName = "../../etc\n} model { target += 1e9; }"

// exampleDir writes the built-in BLM example and returns its folder.
func exampleDir(t *testing.T) string {
	t.Helper()
	return filepath.Dir(writeExample(t))
}

// hostileCopy writes the example's data with hostileColumns as its header, and a config
// naming them (backticks in the formula, YAML double quotes elsewhere) into a new folder,
// and returns the config's path.
func hostileCopy(t *testing.T, example string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(example, "data.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"date", "kpi_value", "trend", "seasonality", "brand_metric", "m_tv", "m_search", "m_social"}
	if !slices.Equal(rows[0], want) {
		t.Fatalf("example header %q; want %q", rows[0], want)
	}
	rows[0] = hostileColumns
	dir := t.TempDir()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(rows)
	if err := os.WriteFile(filepath.Join(dir, "data.csv"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	q := strconv.Quote // a Go-quoted string of valid UTF-8 is a YAML double-quoted scalar
	terms := make([]string, 6)
	for i, c := range hostileColumns[2:] {
		terms[i] = "`" + c + "`"
	}
	formula := "`" + hostileColumns[1] + "` ~ " + strings.Join(terms, " + ")
	var y strings.Builder
	fmt.Fprintf(&y, "schema_version: 1\ndata:\n  path: data.csv\n  date_var: %s\n  na_action: omit\n", q(hostileColumns[0]))
	fmt.Fprintf(&y, "model:\n  name: %s\n  formula: %s\n", q(hostileModelName), q(formula))
	y.WriteString("boundaries:\n  overrides:\n")
	for _, c := range hostileColumns[5:] { // the media terms, as in the example
		fmt.Fprintf(&y, "    - {parameter: %s, lower: 0, upper: .Inf}\n", q(c))
	}
	y.WriteString("fit:\n  mcmc: {chains: 4, iter: 2000, warmup: 1000, seed: 123}\noutputs:\n  root_dir: results\n")
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// renderRun loads a run and renders it, returning the program and its data JSON.
func renderRun(t *testing.T, config string) (*codegen.Program, []byte) {
	t.Helper()
	_, spec, err := ingest.Load(config)
	if err != nil {
		t.Fatalf("%s: %v", config, err)
	}
	prog, err := codegen.Render(context.Background(), nil, spec)
	if err != nil {
		t.Fatal(err)
	}
	var data bytes.Buffer
	if err := stanio.WriteData(&data, prog.Data); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data.Bytes()) {
		t.Fatalf("data JSON is not valid JSON:\n%s", data.String())
	}
	return prog, data.Bytes()
}

// TestHostileNamesCannotChangeTheProgram renders the example and the same data under
// hostile column and model names: the Stan program and the data JSON must be byte for byte
// the same (nothing a user writes reaches the program), and only the names users see differ.
func TestHostileNamesCannotChangeTheProgram(t *testing.T) {
	example := exampleDir(t)
	tame, tameData := renderRun(t, filepath.Join(example, "config.yaml"))
	hostile, hostileData := renderRun(t, hostileCopy(t, example))
	if !bytes.Equal(tame.Code, hostile.Code) {
		t.Errorf("the Stan program depends on user strings:\n--- tame\n%s\n--- hostile\n%s", tame.Code, hostile.Code)
	}
	for _, c := range hostileColumns {
		for _, part := range []string{c, "1e9", "pwned", "{{"} {
			if bytes.Contains(hostile.Code, []byte(part)) {
				t.Errorf("the program contains %.40q", part)
			}
		}
	}
	if !bytes.Equal(tameData, hostileData) {
		t.Errorf("the data JSON depends on user strings:\n--- tame\n%s\n--- hostile\n%s", tameData, hostileData)
	}
	var names []string
	for _, p := range hostile.Params {
		names = append(names, p.Name)
	}
	want := append([]string{ingest.InterceptName}, hostileColumns[2:]...)
	want = append(want, ingest.NoiseSDName)
	if !slices.Equal(names, want) {
		t.Errorf("parameter names %.200q; want the hostile columns %.200q", names, want)
	}
}

// TestHostileNamesRefusedInTheFormula checks the two characters a backtick name cannot hold
// are refused with the place, and that the echoed formula line shows no control character.
func TestHostileNamesRefusedInTheFormula(t *testing.T) {
	for src, want := range map[string]string{
		"kpi ~ `a\nb`":             "ingest: formula: line 1, column 7: unterminated backtick: close the quoted name with `\n  kpi ~ `a\n        ^",
		"kpi ~ `a`b` + x":          "ingest: formula: column 10: unexpected name \"b\"; join terms with +\n  kpi ~ `a`b` + x\n           ^",
		"kpi ~ x\x1b[2J\r+ `y`(z)": "ingest: formula: column 8: unexpected \"\\x1b\"\n  kpi ~ x\ufffd[2J\ufffd+ `y`(z)\n         ^",
	} {
		_, err := ingest.ParseFormula(src)
		if err == nil || err.Error() != want {
			t.Errorf("ParseFormula(%q) error\n%v\nwant\n%s", src, err, want)
		}
	}
}

// TestHostileRunStaysInsideTheRoot runs the hostile copy with the fake CmdStan: the run
// folder is a slug under outputs.root_dir, nothing is written outside the config's folder,
// and run.json and posterior_summary.csv carry the hostile names intact.
func TestHostileRunStaysInsideTheRoot(t *testing.T) {
	home := fakecmdstan.New(t, fakecmdstan.OK)
	cfg := hostileCopy(t, exampleDir(t))
	dir := filepath.Dir(cfg)
	before, _ := os.ReadDir(filepath.Dir(dir))
	res, err := Run(context.Background(), Options{noReport: true, ConfigPath: cfg, CmdStanDir: home, Chains: 2, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "results")
	if filepath.Dir(res.RunDir) != root {
		t.Errorf("run folder %s is not directly under outputs.root_dir %s", res.RunDir, root)
	}
	if base := filepath.Base(res.RunDir); !regexp.MustCompile(`^20261127_093005_[A-Za-z0-9._-]{1,64}$`).MatchString(base) {
		t.Errorf("run folder name %q is not a timestamp and a slug", base)
	}
	// Nothing outside the config's folder: the folder above it holds what it held before.
	if after, _ := os.ReadDir(filepath.Dir(dir)); len(after) != len(before) {
		t.Errorf("the run wrote beside its config folder: %v, was %v", after, before)
	}
	top, _ := os.ReadDir(dir)
	var names []string
	for _, e := range top {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"config.yaml", "data.csv", "results"}) {
		t.Errorf("config folder holds %q; want config.yaml, data.csv, results", names)
	}

	info := readRunInfo(t, res.RunDir)
	if info.Status != runfolder.StatusCompleted || info.Model != hostileModelName || !strings.HasPrefix(info.Formula, "`x; } model") {
		t.Errorf("run.json: status %q model %q formula %.40q", info.Status, info.Model, info.Formula)
	}
	f, err := os.Open(filepath.Join(res.RunDir, runfolder.StagePostRun, "posterior_summary.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("posterior_summary.csv is not valid CSV: %v", err)
	}
	var params []string
	for _, r := range rows[1:] {
		params = append(params, r[0])
	}
	want := append(append([]string{ingest.InterceptName}, hostileColumns[2:]...), ingest.NoiseSDName)
	if !slices.Equal(params, want) {
		t.Errorf("summary parameters %.200q; want %.200q", params, want)
	}
}

// TestHostileModelNameSlug checks model names that try to leave outputs.root_dir.
func TestHostileModelNameSlug(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"../../etc", "..", "/etc/passwd", "a/../../b", `..\..\win`, "\x00", "~root", hostileModelName, strings.Repeat("../", 1000)} {
		dir, err := runfolder.NewRunDir(root, name, fixedNow())
		if err != nil {
			t.Fatalf("runfolder.NewRunDir(%q): %v", name, err)
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil || rel != filepath.Base(dir) || strings.HasPrefix(rel, ".") {
			t.Errorf("runfolder.NewRunDir(%.30q) = %s, outside %s", name, dir, root)
		}
	}
}

// TestHostileGroupLabelsCannotChangeThePanelProgram renders one panel under tame and hostile
// group labels (same data, same group count): the program and the data JSON must not change.
func TestHostileGroupLabelsCannotChangeThePanelProgram(t *testing.T) {
	labels := map[string][]string{
		"tame":    {"north", "south", "east", "west"},
		"hostile": {"x; } model { target += 1e9; }", "\"}, \"N\": 0, \"x\": {\"", "../../etc\n\x1b[2J\u202e", strings.Repeat("é", 2048)},
	}
	out := map[string][2][]byte{}
	for name, ls := range labels {
		dir := t.TempDir()
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{"kpi", "m_tv", "market"})
		for i := range 24 { // 4 markets × 6 weeks, kpi = 2 + 3·m_tv + a market effect + noise
			g := i % 4
			x := float64(i%6) + 0.5*float64(g)
			w.Write([]string{strconv.FormatFloat(2+3*x+float64(g)+0.1*float64(i%5), 'g', -1, 64), strconv.FormatFloat(x, 'g', -1, 64), ls[g]})
		}
		w.Flush()
		os.WriteFile(filepath.Join(dir, "data.csv"), b.Bytes(), 0o644)
		os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("data: {path: data.csv}\nmodel: {formula: 'kpi ~ m_tv + (1 + m_tv | market)'}\n"), 0o644)
		_, spec, err := ingest.Load(filepath.Join(dir, "config.yaml"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(spec.Groups) != 1 || len(spec.Groups[0].Levels) != 4 || spec.Groups[0].Levels[0] != ls[0] {
			t.Fatalf("%s: groups %+v", name, spec.Groups)
		}
		prog, err := codegen.Render(context.Background(), nil, spec)
		if errors.Is(err, codegen.ErrPanelNotSupported) {
			t.Skip("codegen does not render panel models yet")
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var data bytes.Buffer
		if err := stanio.WriteData(&data, prog.Data); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(data.Bytes()) {
			t.Fatalf("%s: data JSON is not valid JSON:\n%s", name, data.String())
		}
		out[name] = [2][]byte{prog.Code, data.Bytes()}
	}
	if !bytes.Equal(out["tame"][0], out["hostile"][0]) {
		t.Errorf("the panel program depends on group labels:\n--- tame\n%s\n--- hostile\n%s", out["tame"][0], out["hostile"][0])
	}
	if !bytes.Equal(out["tame"][1], out["hostile"][1]) {
		t.Errorf("the panel data JSON depends on group labels:\n--- tame\n%s\n--- hostile\n%s", out["tame"][1], out["hostile"][1])
	}
}
