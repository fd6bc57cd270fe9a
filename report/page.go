package report

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dsamstan/dsamstan/diagnostics"
	"github.com/dsamstan/dsamstan/internal/atomicfile"
	"github.com/dsamstan/dsamstan/internal/num"
	"github.com/dsamstan/dsamstan/runfolder"
)

//go:embed page.html.tmpl
var pageTemplate string

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"lower": strings.ToLower,
}).Parse(pageTemplate))

// Table previews: a table is shown whole up to these sizes, else its first previewRows rows
// and previewCols columns with a link to the file.
const (
	maxTableRows  = 60
	maxTableCols  = 20
	previewRows   = 10
	maxInlineText = 64 << 10
	maxTableBytes = 256 << 10
)

// page is what index.html shows.
type page struct {
	Title, Formula string
	Status         string // completed, failed, interrupted, running, or unknown
	Error          string
	Verdict        string // pass, warn, fail, or "" without a report
	VerdictMessage string
	VerdictError   string // why the report could not be read
	Policy         string
	Problems       []problem
	Facts          []fact
	Warnings       []string
	// MethodTitle and MethodNotes say what a MAP fit or approximate draws leave out, and
	// how good the approximation is (run.json's skipped_outputs and approximation).
	MethodTitle string
	MethodNotes []string
	Failed      []Plot
	Sections    []section
}

type problem struct{ ID, Status, Message string }

type fact struct{ Label, Value string }

type section struct {
	ID, Title, Folder string
	// Items are the plots and tables, Texts the small text files (shown folded), Links
	// the files only linked to.
	Items   []item
	Texts   []item
	Skipped []Plot
	Links   []link
}

// item is one plot, table or text file on the page.
type item struct {
	Kind  string // plot, table, text, failed
	Name  string
	Path  string // relative link
	Read  string
	Table *htmlTable
	Text  string
	Err   string
	Size  string
}

type link struct{ Name, Path, Size, Read string }

type htmlTable struct {
	Header    []cell
	Rows      [][]cell
	Shown     int
	Total     int
	MoreCols  int
	Truncated bool
}

type cell struct {
	Text, Full, Class string
}

// buildPage gathers what index.html shows from the run folder and the plots just drawn.
func buildPage(in *inputs, m *Manifest) (*page, error) {
	pg := &page{Status: "unknown", Title: filepath.Base(m.RunDir)}
	if r, err := in.runInfo(); err == nil {
		pg.fromRun(r)
	} else if !isSkip(err) {
		pg.Error = err.Error()
	}
	if pg.Formula == "" {
		if cfg, err := in.runConfig(); err == nil {
			pg.Formula = cfg.Model.Formula
			if pg.Title == filepath.Base(m.RunDir) && cfg.Model.Name != "" {
				pg.Title = cfg.Model.Name
			}
		}
	}
	pg.verdict(in)
	pg.headline(in)
	if m.Flat {
		pg.Facts = append(pg.Facts, fact{"Layout", "flat"})
	}
	pg.Failed = m.Failed()

	files, err := pg.files(in.f)
	if err != nil {
		return nil, fmt.Errorf("report: listing %s: %w", m.RunDir, err)
	}
	for _, st := range runfolder.Stages {
		sec := section{ID: "s" + st[:2], Title: stageTitles[st], Folder: st}
		for _, p := range m.Plots {
			if p.Stage != st {
				continue
			}
			def := plotDefs[slices.IndexFunc(plotDefs, func(d plotDef) bool { return d.name == p.Name })]
			switch p.Status {
			case PlotWritten:
				sec.Items = append(sec.Items, item{Kind: "plot", Name: p.Name, Path: href(p.Path), Read: def.read})
			case PlotFailed:
				sec.Items = append(sec.Items, item{Kind: "failed", Name: p.Name, Read: def.read, Err: p.Reason})
			default:
				sec.Skipped = append(sec.Skipped, p)
			}
		}
		sec.addFiles(in.f, files[st])
		if len(sec.Items) > 0 || len(sec.Texts) > 0 || len(sec.Links) > 0 || len(sec.Skipped) > 0 {
			pg.Sections = append(pg.Sections, sec)
		}
	}
	if other := files[""]; len(other) > 0 {
		sec := section{ID: "other", Title: "Other files", Folder: ""}
		sec.addFiles(in.f, other)
		pg.Sections = append(pg.Sections, sec)
	}
	pg.describeCoefficients(in)
	pg.addPriorTable(in)
	m.Status = ""
	if pg.Status != "unknown" {
		m.Status = pg.Status
	}
	return pg, nil
}

func isSkip(err error) bool {
	var s *skipError
	return errors.As(err, &s)
}

func (pg *page) fromRun(r *runfolder.RunInfo) {
	if r.Model != "" {
		pg.Title = r.Model
	}
	pg.Formula = r.Formula
	if r.Status != "" {
		pg.Status = r.Status
	}
	pg.Error = r.Error
	pg.Warnings = r.Warnings
	add := func(label, value string) {
		if value != "" {
			pg.Facts = append(pg.Facts, fact{label, value})
		}
	}
	if !r.Started.IsZero() {
		add("Started", r.Started.Format("2006-01-02 15:04:05 MST"))
	}
	if r.Finished != nil && !r.Finished.IsZero() {
		add("Finished", r.Finished.Format("2006-01-02 15:04:05 MST"))
		add("Duration", r.Finished.Sub(r.Started).Round(100*time.Millisecond).String())
	}
	method := r.Method
	if r.Approximation != nil {
		method += " (approximate draws)"
	}
	add("Fit method", method)
	if a := r.Approximation; a != nil {
		if a.ParetoK != nil {
			add("Approximation Pareto k̂", num.Sig(*a.ParetoK, 3))
		}
		pg.MethodTitle = "Approximate fit (" + a.Method + ")"
		pg.MethodNotes = append(pg.MethodNotes, fmt.Sprintf("%d draws from the %s approximation to the posterior, not MCMC: every output uses them as posterior draws. %s.", a.Draws, a.Method, a.Note))
	} else if r.Method == "optimise" && len(r.Skipped) > 0 {
		pg.MethodTitle = "Point estimate (MAP fit)"
		pg.MethodNotes = append(pg.MethodNotes, "fit.method optimise gives the posterior mode only: the tables, decomposition and budget optimisation are computed at that one point.")
	}
	for _, s := range r.Skipped {
		pg.MethodNotes = append(pg.MethodNotes, "No "+s.Output+": "+s.Reason+".")
	}
	if pg.MethodTitle == "" && len(pg.MethodNotes) > 0 {
		pg.MethodTitle = "What this run leaves out"
	}
	add("Stan template", r.Template)
	add("dsamstan", r.DsamstanVersion)
	add("CmdStan", r.CmdStanVersion)
	// A run with transform sensitivity scenarios is its best scenario's fit: say so.
	add("Transform sensitivity", r.Sensitivity)
}

// verdict reads the diagnostics report: its overall status and message, its policy and the
// checks that warned or failed.
func (pg *page) verdict(in *inputs) {
	rep, err := in.diagnosticsReport()
	if err != nil {
		if !isSkip(err) {
			pg.VerdictError = err.Error()
		}
		return
	}
	overall := rep.Overall()
	pg.Verdict, pg.VerdictMessage, pg.Policy = overall.Status, overall.Message, rep.Mode
	for _, c := range rep.Checks {
		if c.Status == diagnostics.StatusWarn || c.Status == diagnostics.StatusFail {
			pg.Problems = append(pg.Problems, problem{c.ID, c.Status, c.Message})
		}
	}
}

// headline adds the in-sample fit and LOO to the facts.
func (pg *page) headline(in *inputs) {
	if m := in.metrics()["all"]; m != nil {
		pg.Facts = append(pg.Facts, fact{"In-sample fit", metricsLine(m, true)})
	}
	if r, err := in.looSummary(); err == nil {
		pg.Facts = append(pg.Facts, fact{"PSIS-LOO", "elpd_loo " + num.Sig(r.ELPD, 5) + " (SE " + num.Sig(r.ELPDSE, 3) + ")"})
	}
}

// files lists the run folder's files by stage ("" for files of no stage), leaving out the
// plots Build draws (they come from the manifest) and index.html.
func (pg *page) files(f runfolder.Folder) (map[string][]string, error) {
	out := map[string][]string{}
	skip := func(name string) bool {
		if name == IndexFile {
			return true
		}
		return slices.ContainsFunc(plotDefs, func(d plotDef) bool { return d.name == name })
	}
	if f.Flat {
		names, err := listDir(f.Dir)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if !skip(n) {
				st := docOf(n).stage
				out[st] = append(out[st], n)
			}
		}
		return out, nil
	}
	for _, st := range runfolder.Stages {
		names, err := listDir(filepath.Join(f.Dir, st))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if !skip(n) {
				out[st] = append(out[st], n)
			}
		}
	}
	top, err := listDir(f.Dir)
	if err != nil {
		return nil, err
	}
	for _, n := range top {
		if !skip(n) {
			out[""] = append(out[""], n)
		}
	}
	return out, nil
}

// fileOrder puts a stage's files in a stable, useful order: known tables first in the order
// of knownFiles' descriptions on the page, then the rest by name.
var fileOrder = []string{
	runfolder.RunJSON, runfolder.ConfigResolved, runfolder.ConfigOriginal, runfolder.SessionInfo, runfolder.PriorsFile, runfolder.DictionaryFile,
	runfolder.VIFFile, runfolder.MediaSpendFile, runfolder.ModelSpecFile, runfolder.TransformAssumptionsFile,
	runfolder.PosteriorSummary, runfolder.FitMetrics, runfolder.DecompositionTotals, runfolder.FittedValues,
	runfolder.Decomposition, runfolder.PosteriorDraws,
	runfolder.DiagnosticsReport, runfolder.LOOSummary, runfolder.LOOPointwise, "tscv_summary.csv",
	runfolder.Allocation, runfolder.OptimisationSummary, runfolder.ResponseCurves, runfolder.Frontier, runfolder.Sensitivity,
	runfolder.ModelStan, runfolder.DataJSON,
}

// addFiles adds a stage's files: CSV tables and small text files shown inline, the rest
// (chain CSVs, large files) as links.
func (sec *section) addFiles(f runfolder.Folder, names []string) {
	slices.SortStableFunc(names, func(a, b string) int {
		ia, ib := slices.Index(fileOrder, a), slices.Index(fileOrder, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return naturalCompare(a, b)
	})
	for _, name := range names {
		p := filepath.Join(f.Dir, name)
		rel := href(name)
		if !f.Flat && sec.Folder != "" {
			p = filepath.Join(f.Dir, sec.Folder, name)
			rel = href(sec.Folder + "/" + name)
		}
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		doc := docOf(name)
		size := humanSize(st.Size())
		ext := strings.ToLower(path.Ext(name))
		switch {
		case fitOutput.MatchString(name):
			read := doc.read
			if slices.ContainsFunc(sec.Links, func(l link) bool { return l.Read == read }) {
				read = "" // said once already
			}
			sec.Links = append(sec.Links, link{name, rel, size, read})
		case ext == ".png" || ext == ".svg":
			sec.Items = append(sec.Items, item{Kind: "plot", Name: name, Path: rel, Read: "A plot written into the run folder."})
		case ext == ".csv":
			it := item{Kind: "table", Name: name, Path: rel, Read: doc.read, Size: size}
			if tb, err := readPreview(p, st.Size()); err != nil {
				it.Err = err.Error()
			} else {
				it.Table = tb
			}
			sec.Items = append(sec.Items, it)
		case (ext == ".yaml" || ext == ".yml" || ext == ".txt" || ext == ".json" || ext == ".stan" || ext == ".log") && st.Size() <= maxInlineText:
			it := item{Kind: "text", Name: name, Path: rel, Read: doc.read, Size: size}
			if b, err := os.ReadFile(p); err != nil {
				it.Err = err.Error()
			} else {
				it.Text = string(b)
			}
			sec.Texts = append(sec.Texts, it)
		default:
			sec.Links = append(sec.Links, link{name, rel, size, doc.read})
		}
	}
}

// href turns a relative file path into a link that opens that file from disk: a name
// holding '#', '?' or a space still names the file.
func href(rel string) string {
	p := (&url.URL{Path: rel}).EscapedPath()
	if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ":") {
		p = "./" + p // not a URL scheme
	}
	return p
}

// readPreview reads a CSV file for the page: whole when small, else its first rows, and
// counts its rows either way.
func readPreview(p string, size int64) (*htmlTable, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the file is empty")
	}
	if err != nil {
		return nil, err
	}
	tb := &htmlTable{}
	ncol := len(header)
	if ncol > maxTableCols {
		tb.MoreCols = ncol - maxTableCols
		ncol = maxTableCols
	}
	for _, h := range header[:ncol] {
		tb.Header = append(tb.Header, cell{Text: h})
	}
	limit := maxTableRows
	if size > maxTableBytes {
		limit = previewRows
	}
	var rows [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		tb.Total++
		if len(rows) <= limit {
			rows = append(rows, rec)
		}
	}
	if tb.Total > maxTableRows || size > maxTableBytes {
		rows = rows[:min(len(rows), previewRows)]
		tb.Truncated = true
	}
	statusCol := slices.Index(header, "status")
	numeric := make([]bool, ncol)
	for j := range numeric {
		numeric[j] = len(rows) > 0
	}
	for _, r := range rows {
		cells := make([]cell, ncol)
		for j := range ncol {
			cells[j] = formatCell(r[j])
			switch {
			case j == statusCol:
				cells[j].Class = "st st-" + strings.ToLower(r[j])
			case cells[j].Class == "" && len(r[j]) > 40:
				cells[j].Class = "msg"
			}
			if cells[j].Class != "num" && r[j] != "NA" && r[j] != "" {
				numeric[j] = false
			}
		}
		tb.Rows = append(tb.Rows, cells)
	}
	for j, num := range numeric {
		if num {
			tb.Header[j].Class = "num"
		}
	}
	tb.Shown = len(tb.Rows)
	return tb, nil
}

// formatCell shortens numbers to 4 significant digits (the full value in a tooltip).
func formatCell(s string) cell {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return cell{Text: s}
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 && !strings.ContainsAny(s, ".eE") {
		return cell{Text: s, Class: "num"}
	}
	return cell{Text: num.Sig(v, 4), Full: s, Class: "num"}
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// naturalCompare orders chain_2 before chain_10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			na, _ := strconv.Atoi(da)
			nb, _ := strconv.Atoi(db)
			if na != nb {
				return na - nb
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// writePage renders the page to path atomically.
func writePage(p string, pg *page) error {
	if err := atomicfile.Write(p, 0o644, func(w io.Writer) error { return pageTmpl.Execute(w, pg) }); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
