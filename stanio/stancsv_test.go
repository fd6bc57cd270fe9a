package stanio

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The files in testdata/csv are copies of real CmdStan 2.33.1 outputs produced for this
// project (../shared/fixtures/cmdstan-2.33/, see testdata/csv/README.md). The expected values
// below are read off those files by eye or with grep/awk.

// The reference files of other Stan tools are read in place and never copied.
const refDir = "../../shared/reference"

func readFixture(t *testing.T, name string) *Chain {
	t.Helper()
	c, err := ReadCSVFile(filepath.Join("testdata", "csv", name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readReference(t *testing.T, rel string) *Chain {
	t.Helper()
	path := filepath.Join(refDir, rel)
	if _, err := os.Stat(path); err != nil {
		t.Skip("../shared/reference not found: skipping reference-value test")
	}
	c, err := ReadCSVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReadCSVFixtures(t *testing.T) {
	tests := []struct {
		file              string
		model, data, out  string
		seed              int64
		id, cols          int
		samples, warmup   int
		draws, warmDraws  int
		thin, maxDepth    int
		saveWarmup        bool
		delta             float64
		stepSize          float64
		invMetric         []float64 // first and last element
		nMetric           int
		timing            Timing
		firstLp, lastLast float64 // lp__ of the first draw, last column of the last draw
	}{
		{
			file: "bernoulli-sample-1.csv", model: "bernoulli_model", data: "bern.json", out: "out/bernoulli-sample-1.csv",
			seed: 11, id: 1, cols: 8, samples: 200, warmup: 200, draws: 200, thin: 1, maxDepth: 10,
			delta: 0.8, stepSize: 0.516221, invMetric: []float64{1.21519, 1.21519}, nMetric: 1,
			timing: Timing{0, 0.001, 0.001}, firstLp: -6.86129, lastLast: 0.036224,
		},
		{
			file: "bernoulli-save-warmup-thin.csv", model: "bernoulli_model", data: "bern.json", out: "out/bernoulli-save-warmup-thin.csv",
			seed: 12, id: 1, cols: 8, samples: 100, warmup: 100, draws: 50, warmDraws: 50, thin: 2,
			maxDepth: 10, saveWarmup: true, delta: 0.8, stepSize: 0.797997, invMetric: []float64{1, 1},
			nMetric: 1, timing: Timing{0, 0, 0}, firstLp: -6.93647, lastLast: 0.358797,
		},
		{
			file: "eight-centred-divergent.csv", model: "eight_model", data: "eight.json", out: "out/eight-centred-divergent.csv",
			seed: 1, id: 1, cols: 17, samples: 300, warmup: 300, draws: 300, thin: 1, maxDepth: 10,
			delta: 0.8, stepSize: 0.128016, invMetric: []float64{13.7593, 15.4019}, nMetric: 10,
			timing: Timing{0.015, 0.014, 0.029},
		},
		{
			file: "eight-treedepth3.csv", model: "eight_model", data: "eight.json", out: "out/eight-treedepth3.csv",
			seed: 2, id: 1, cols: 17, samples: 300, warmup: 300, draws: 300, thin: 1, maxDepth: 3,
			delta: 0.6, stepSize: 0.580411, invMetric: []float64{1.54058, 2.27961}, nMetric: 10,
			timing: Timing{0.002, 0.004, 0.006}, firstLp: -16.9817,
		},
		{
			file: "hier-noncentred-1.csv", model: "hier_model", data: "hier.json", out: "out/hier-noncentred-1.csv",
			seed: 5, id: 1, cols: 28, samples: 300, warmup: 300, draws: 300, thin: 1, maxDepth: 10,
			delta: 0.8, stepSize: 0.0392993, invMetric: []float64{0.302665, 0.00550614}, nMetric: 13,
			timing: Timing{0.225, 0.189, 0.414}, firstLp: 68.3083, lastLast: 0.437124,
		},
		{
			file: "hier-noncentred-2.csv", model: "hier_model", data: "hier.json", out: "out/hier-noncentred-2.csv",
			seed: 5, id: 2, cols: 28, samples: 300, warmup: 300, draws: 300, thin: 1, maxDepth: 10,
			delta: 0.8, stepSize: 0.0290599, invMetric: []float64{0.484513, 0.00734602}, nMetric: 13,
			timing: Timing{0.237, 0.255, 0.492},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := readFixture(t, tt.file)
			cfg := c.Config
			if cfg.StanVersion != "2.33.0" || cfg.Model != tt.model || cfg.Method != "sample" ||
				cfg.Algorithm != "hmc" || cfg.Engine != "nuts" || cfg.Metric != "diag_e" || !cfg.AdaptEngaged {
				t.Errorf("config = %+v", cfg)
			}
			if cfg.NumSamples != tt.samples || cfg.NumWarmup != tt.warmup || cfg.Thin != tt.thin ||
				cfg.SaveWarmup != tt.saveWarmup || cfg.MaxDepth != tt.maxDepth {
				t.Errorf("samples, warmup, thin, save_warmup, max_depth = %d, %d, %d, %v, %d; want %d, %d, %d, %v, %d",
					cfg.NumSamples, cfg.NumWarmup, cfg.Thin, cfg.SaveWarmup, cfg.MaxDepth,
					tt.samples, tt.warmup, tt.thin, tt.saveWarmup, tt.maxDepth)
			}
			if cfg.AdaptDelta != tt.delta {
				t.Errorf("AdaptDelta = %v; want %v", cfg.AdaptDelta, tt.delta)
			}
			if cfg.Seed != tt.seed || cfg.ID != tt.id {
				t.Errorf("seed, id = %d, %d; want %d, %d", cfg.Seed, cfg.ID, tt.seed, tt.id)
			}
			if cfg.DataFile != tt.data || cfg.OutputFile != tt.out {
				t.Errorf("data file, output file = %q, %q; want %q, %q", cfg.DataFile, cfg.OutputFile, tt.data, tt.out)
			}
			if len(c.Columns) != tt.cols || c.Columns[0] != "lp__" || c.Columns[6] != "energy__" {
				t.Errorf("columns = %v; want %d starting lp__ ... energy__", c.Columns, tt.cols)
			}
			if len(c.Draws) != tt.cols {
				t.Fatalf("len(Draws) = %d; want %d", len(c.Draws), tt.cols)
			}
			for j, d := range c.Draws {
				if len(d) != tt.draws {
					t.Fatalf("len(Draws[%d]) = %d; want %d", j, len(d), tt.draws)
				}
			}
			if c.NumDraws() != tt.draws {
				t.Errorf("NumDraws() = %d; want %d", c.NumDraws(), tt.draws)
			}
			if tt.warmDraws == 0 && c.Warmup != nil {
				t.Errorf("Warmup = %d columns; want nil", len(c.Warmup))
			}
			if tt.warmDraws > 0 && (len(c.Warmup) != tt.cols || len(c.Warmup[0]) != tt.warmDraws) {
				t.Errorf("warmup has %d columns; want %d of %d draws", len(c.Warmup), tt.cols, tt.warmDraws)
			}
			a := c.Adaptation
			if a.StepSize != tt.stepSize || a.Metric != "diag_e" || len(a.InvMetric) != tt.nMetric ||
				a.InvMetric[0] != tt.invMetric[0] || a.InvMetric[len(a.InvMetric)-1] != tt.invMetric[1] {
				t.Errorf("adaptation = %+v; want step size %v, %d diag_e values %v ... %v",
					a, tt.stepSize, tt.nMetric, tt.invMetric[0], tt.invMetric[1])
			}
			if c.Timing != tt.timing {
				t.Errorf("Timing = %+v; want %+v", c.Timing, tt.timing)
			}
			if tt.firstLp != 0 && c.Draws[0][0] != tt.firstLp {
				t.Errorf("first lp__ = %v; want %v", c.Draws[0][0], tt.firstLp)
			}
			if tt.lastLast != 0 && c.Draws[tt.cols-1][tt.draws-1] != tt.lastLast {
				t.Errorf("last value = %v; want %v", c.Draws[tt.cols-1][tt.draws-1], tt.lastLast)
			}
		})
	}
}

// TestReadCSVMatchesEncodingCSV checks every value of every fixture, bit for bit, against an
// independent parse with encoding/csv and strconv.ParseFloat.
func TestReadCSVMatchesEncodingCSV(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "csv", "*.csv"))
	if ref, _ := filepath.Glob(filepath.Join(refDir, "stan_csv", "*.csv")); ref != nil {
		files = append(files, ref...)
	}
	if ref, _ := filepath.Glob(filepath.Join(refDir, "diagnostics", "blocker.*.csv")); ref != nil {
		files = append(files, ref...)
	}
	if len(files) < 7 {
		t.Fatalf("found %d CSV files; want at least the 7 fixtures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := ReadCSVFile(f)
			if err != nil {
				t.Fatal(err)
			}
			compareWithEncodingCSV(t, f, c)
		})
	}
}

func compareWithEncodingCSV(t *testing.T, path string, c *Chain) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.TrimLeadingSpace = c.Config.Method == "pathfinder" // its cells are separated by ", "
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], c.Columns) {
		t.Fatalf("Columns = %v; want %v", c.Columns, recs[0])
	}
	rows := recs[1:]
	nw := 0
	if c.Warmup != nil {
		nw = len(c.Warmup[0])
	}
	if nw+c.NumDraws() != len(rows) {
		t.Fatalf("%d warmup + %d draws; want %d rows", nw, c.NumDraws(), len(rows))
	}
	for i, rec := range rows {
		for j, cell := range rec {
			want, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				t.Fatal(err)
			}
			var got float64
			if i < nw {
				got = c.Warmup[j][i]
			} else {
				got = c.Draws[j][i-nw]
			}
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("row %d column %s = %v (%#x); want %v (%#x) from %q",
					i+1, c.Columns[j], got, math.Float64bits(got), want, math.Float64bits(want), cell)
			}
		}
	}
}

func TestHierColumnNames(t *testing.T) {
	c := readFixture(t, "hier-noncentred-1.csv")
	// Vectors and matrices are flattened column-major: z.1.1, z.2.1, z.1.2, ...
	for name, want := range map[string]int{
		"lp__": 0, "divergent__": 5, "beta.1": 7, "beta.2": 8, "sd_1.1": 9,
		"z.1.1": 11, "z.2.1": 12, "z.1.2": 13, "z.2.4": 18, "noise_sd": 19, "b.2.4": 27,
		"beta": -1, "z.3.1": -1,
	} {
		if got := c.Column(name); got != want {
			t.Errorf("Column(%q) = %d; want %d", name, got, want)
		}
	}
	if got := c.Draws[c.Column("z.1.2")][0]; got != 1.70678 {
		t.Errorf("first z.1.2 = %v; want 1.70678", got)
	}
	if got := c.Draws[c.Column("beta.1")][299]; got != 1.79578 {
		t.Errorf("last beta.1 = %v; want 1.79578", got)
	}
}

func TestDivergentAndTreedepth(t *testing.T) {
	// The fixture README says 4 divergent transitions; awk finds them at draws 145, 198, 229, 232.
	c := readFixture(t, "eight-centred-divergent.csv")
	var div []int
	for i, v := range c.Draws[c.Column("divergent__")] {
		if v == 1 {
			div = append(div, i+1)
		}
	}
	if !slices.Equal(div, []int{145, 198, 229, 232}) {
		t.Errorf("divergent draws = %v; want [145 198 229 232]", div)
	}

	// max_depth=3: awk counts 290 draws at tree depth 3, 7 at 2 and 3 at 1.
	c = readFixture(t, "eight-treedepth3.csv")
	counts := map[float64]int{}
	for _, v := range c.Draws[c.Column("treedepth__")] {
		counts[v]++
	}
	if counts[3] != 290 || counts[2] != 7 || counts[1] != 3 || len(counts) != 3 {
		t.Errorf("treedepth counts = %v; want 3:290 2:7 1:3", counts)
	}
}

func TestSaveWarmupThin(t *testing.T) {
	// save_warmup=1, thin=2, num_warmup=num_samples=100: ceil(100/2) = 50 warmup rows before
	// "# Adaptation terminated" and 50 after.
	c := readFixture(t, "bernoulli-save-warmup-thin.csv")
	if len(c.Warmup) != 8 || len(c.Warmup[0]) != 50 || c.NumDraws() != 50 {
		t.Fatalf("warmup %d columns, %d draws; sampling %d draws; want 8, 50, 50",
			len(c.Warmup), len(c.Warmup[0]), c.NumDraws())
	}
	lp, acc := c.Column("lp__"), c.Column("accept_stat__")
	if c.Warmup[lp][0] != -15.1315 || c.Warmup[acc][0] != 1.28708e-10 {
		t.Errorf("first warmup lp__, accept_stat__ = %v, %v; want -15.1315, 1.28708e-10", c.Warmup[lp][0], c.Warmup[acc][0])
	}
	if c.Warmup[lp][49] != -7.69002 || c.Draws[lp][0] != -6.93647 {
		t.Errorf("last warmup, first sampling lp__ = %v, %v; want -7.69002, -6.93647", c.Warmup[lp][49], c.Draws[lp][0])
	}
	// Warmup and draws share storage; appending to a warmup column must not overwrite draws.
	_ = append(c.Warmup[lp], 99)
	if c.Draws[lp][0] != -6.93647 {
		t.Error("append to Warmup overwrote Draws")
	}
}

func TestSaveWarmupWithoutAdaptation(t *testing.T) {
	// With adaptation off CmdStan writes no "# Adaptation terminated": the saved warmup is the
	// first ceil(num_warmup/thin) = ceil(3/2) = 2 rows.
	in := `# method = sample (Default)
#   sample
#     num_samples = 6
#     num_warmup = 3
#     save_warmup = true
#     thin = 2
#     adapt
#       engaged = false
lp__,x
1,10
2,20
3,30
4,40
5,50
`
	c, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Warmup[1], []float64{10, 20}) || !slices.Equal(c.Draws[1], []float64{30, 40, 50}) {
		t.Errorf("warmup %v, draws %v; want [10 20], [30 40 50]", c.Warmup[1], c.Draws[1])
	}
	if c.Config.AdaptEngaged || c.Adaptation.Metric != "" {
		t.Errorf("AdaptEngaged = %v, Adaptation = %+v; want false, zero", c.Config.AdaptEngaged, c.Adaptation)
	}
}

func TestSaveWarmupHugeNumWarmup(t *testing.T) {
	// A num_warmup near the int limit must not overflow ceil(num_warmup/thin): all rows are
	// then warmup.
	in := "# method = sample\n#   sample\n#     num_warmup = 9223372036854775807\n#     save_warmup = 1\n#     thin = 2\nx\n1\n2\n"
	c, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warmup) != 1 || len(c.Warmup[0]) != 2 || c.NumDraws() != 0 {
		t.Errorf("warmup %v, draws %v; want 2 warmup rows, no draws", c.Warmup, c.Draws)
	}
}

func TestOptimize(t *testing.T) {
	c := readFixture(t, "bernoulli-optimize.csv")
	cfg := c.Config
	if cfg.Method != "optimize" || cfg.Algorithm != "lbfgs" || cfg.Jacobian || cfg.Seed != 13 ||
		cfg.NumSamples != 0 || cfg.Raw["optimize.lbfgs.history_size"] != "5" || cfg.Raw["optimize.iter"] != "2000" {
		t.Errorf("config = %+v", cfg)
	}
	if !slices.Equal(c.Columns, []string{"lp__", "theta"}) || c.NumDraws() != 1 {
		t.Fatalf("columns %v, %d rows; want [lp__ theta], 1", c.Columns, c.NumDraws())
	}
	if c.Draws[0][0] != -5.00402 || c.Draws[1][0] != 0.200004 {
		t.Errorf("row = %v, %v; want -5.00402, 0.200004", c.Draws[0][0], c.Draws[1][0])
	}
	if c.Warmup != nil || c.Adaptation.Metric != "" || c.Adaptation.InvMetric != nil || c.Timing != (Timing{}) {
		t.Errorf("warmup %v, adaptation %+v, timing %+v; want none", c.Warmup, c.Adaptation, c.Timing)
	}
}

// The approximate methods' CSVs, written by CmdStan 2.33.1 for the bernoulli example
// (laplace draws=100 around the jacobian=1 mode; pathfinder num_paths=4 num_draws=100
// num_psis_draws=100, seed 4): laplace adds log_p__ and log_q__ columns, pathfinder
// lp_approx__ and lp__ and separates its cells by ", ".
func TestApproximateMethods(t *testing.T) {
	for _, tc := range []struct {
		file, method string
		columns      []string
		first        []float64
	}{
		{"bernoulli-laplace.csv", "laplace", []string{"log_p__", "log_q__", "theta"}, []float64{-6.75378, -0.00583338, 0.236743}},
		{"bernoulli-pathfinder.csv", "pathfinder", []string{"lp_approx__", "lp__", "theta"}, []float64{-1.50389, -7.87498, 0.459973}},
	} {
		c := readFixture(t, tc.file)
		if c.Config.Method != tc.method || c.Config.Seed != 4 {
			t.Errorf("%s: method %q, seed %d; want %s, 4", tc.file, c.Config.Method, c.Config.Seed, tc.method)
		}
		if !slices.Equal(c.Columns, tc.columns) || c.NumDraws() != 100 {
			t.Errorf("%s: columns %v, %d draws; want %v, 100", tc.file, c.Columns, c.NumDraws(), tc.columns)
			continue
		}
		for j, want := range tc.first {
			if got := c.Draws[j][0]; got != want {
				t.Errorf("%s: %s of draw 1 = %v; want %v", tc.file, tc.columns[j], got, want)
			}
		}
	}
}

func TestConfigRaw(t *testing.T) {
	c := readFixture(t, "bernoulli-sample-1.csv")
	for key, want := range map[string]string{
		"stan_version_minor":         "33",
		"model":                      "bernoulli_model",
		"start_datetime":             "2026-11-27 18:20:36 UTC",
		"method":                     "sample",
		"sample.num_samples":         "200",
		"sample.adapt.delta":         "0.80000000000000004",
		"sample.algorithm":           "hmc",
		"sample.hmc.engine":          "nuts",
		"sample.hmc.nuts.max_depth":  "10",
		"sample.hmc.metric":          "diag_e",
		"sample.hmc.metric_file":     "",
		"sample.num_chains":          "1",
		"id":                         "1",
		"data.file":                  "bern.json",
		"init":                       "2",
		"random.seed":                "11",
		"output.file":                "out/bernoulli-sample-1.csv",
		"output.profile_file":        "profile.csv",
		"stanc_version":              "stanc3 v2.33.1",
		"stancflags":                 "",
		"sample.hmc.stepsize_jitter": "0",
		"sample.adapt.window":        "25",
		"output.diagnostic_file":     "",
		"num_threads":                "1",
		"stan_version_patch":         "0",
		"stan_version_major":         "2",
		"sample.save_warmup":         "0",
		"sample.thin":                "1",
		"sample.num_warmup":          "200",
		"sample.adapt.engaged":       "1",
		"sample.adapt.gamma":         "0.050000000000000003",
		"sample.adapt.kappa":         "0.75",
		"sample.adapt.t0":            "10",
		"sample.adapt.init_buffer":   "75",
		"sample.adapt.term_buffer":   "50",
		"sample.hmc.stepsize":        "1",
		"output.refresh":             "100",
		"output.sig_figs":            "-1",
	} {
		if got, ok := c.Config.Raw[key]; !ok || got != want {
			t.Errorf("Raw[%q] = %q, %v; want %q", key, got, ok, want)
		}
	}
	// Every key = value line is kept: 38 in this header.
	if len(c.Config.Raw) != 38 {
		t.Errorf("len(Raw) = %d; want 38", len(c.Config.Raw))
	}
}

func TestCRLF(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "csv", "bernoulli-save-warmup-thin.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ReadCSV(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	crlf, err := ReadCSV(bytes.NewReader(bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(lf.Columns, crlf.Columns) || lf.Adaptation.StepSize != crlf.Adaptation.StepSize ||
		lf.Timing != crlf.Timing || lf.Config.OutputFile != crlf.Config.OutputFile {
		t.Errorf("CRLF file parsed differently: %+v vs %+v", crlf, lf)
	}
	for j := range lf.Draws {
		if !slices.Equal(lf.Draws[j], crlf.Draws[j]) || !slices.Equal(lf.Warmup[j], crlf.Warmup[j]) {
			t.Errorf("column %s differs with CRLF line ends", lf.Columns[j])
		}
	}
}

func TestMetrics(t *testing.T) {
	const head = "lp__,a,b\n# Adaptation terminated\n# Step size = 0.25\n"
	const rows = "1,2,3\n# \n#  Elapsed Time: 1.5 seconds (Warm-up)\n#                2e-3 seconds (Sampling)\n#                1.502 seconds (Total)\n# \n"
	tests := []struct {
		name, metricHeader, block string
		metric                    string
		inv                       []float64
	}{
		{"dense", "dense_e", "# Elements of inverse mass matrix:\n# 2, 0.5\n# 0.5, 3\n", "dense_e", []float64{2, 0.5, 0.5, 3}},
		{"diag", "diag_e", "# Diagonal elements of inverse mass matrix:\n# 2, 3\n", "diag_e", []float64{2, 3}},
		{"unit", "unit_e", "# No free parameters for unit metric\n", "unit_e", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "# method = sample\n#   sample\n#     algorithm = hmc\n#       hmc\n#         metric = " +
				tt.metricHeader + "\n" + head + tt.block + rows
			c, err := ReadCSV(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			a := c.Adaptation
			if a.StepSize != 0.25 || a.Metric != tt.metric || !slices.Equal(a.InvMetric, tt.inv) {
				t.Errorf("Adaptation = %+v; want step size 0.25, %s %v", a, tt.metric, tt.inv)
			}
			if c.Timing != (Timing{1.5, 0.002, 1.502}) {
				t.Errorf("Timing = %+v; want {1.5 0.002 1.502}", c.Timing)
			}
			if c.NumDraws() != 1 || c.Draws[2][0] != 3 {
				t.Errorf("draws = %v; want one row 1,2,3", c.Draws)
			}
		})
	}
}

func TestSpecialValues(t *testing.T) {
	in := "a,b,c,d,e,f,g,h,i,j\n" +
		"inf,-inf,nan,-0,1e-400,1e400,4.9e-324,0.050000000000000003,+.5,Infinity\n"
	c, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 0, math.Inf(1),
		4.9e-324, 0.050000000000000003, 0.5, math.Inf(1)}
	for j, w := range want {
		got := c.Draws[j][0]
		if math.Float64bits(got) != math.Float64bits(w) && !(math.IsNaN(got) && math.IsNaN(w)) {
			t.Errorf("column %s = %v; want %v", c.Columns[j], got, w)
		}
	}
}

// TestReference235 reads cmdstanpy's CmdStan 2.35 output: true/false booleans, a model
// without parameters, "# Step size = nan" and an empty diagonal metric.
func TestReference235(t *testing.T) {
	c := readReference(t, "stan_csv/cmdstanpy_no_param_hmc_sample_2.35.csv")
	cfg := c.Config
	if cfg.StanVersion != "2.35.0" || !cfg.AdaptEngaged || cfg.SaveWarmup || cfg.NumSamples != 100 ||
		cfg.NumWarmup != 1000 || cfg.Seed != 2399056448 || cfg.DataFile != "" || cfg.OutputFile != "no_param_hmc_sample.csv" ||
		cfg.Raw["output.save_cmdstan_config"] != "false" {
		t.Errorf("config = %+v", cfg)
	}
	if !math.IsNaN(c.Adaptation.StepSize) || c.Adaptation.Metric != "diag_e" || c.Adaptation.InvMetric == nil || len(c.Adaptation.InvMetric) != 0 {
		t.Errorf("Adaptation = %+v; want NaN step size and an empty diag_e metric", c.Adaptation)
	}
	if len(c.Columns) != 90 || c.NumDraws() != 100 || c.Columns[89] != "eta.20" {
		t.Errorf("%d columns ending %q, %d draws; want 90 ending eta.20, 100", len(c.Columns), c.Columns[len(c.Columns)-1], c.NumDraws())
	}
	if !math.IsNaN(c.Draws[c.Column("stepsize__")][0]) || c.Draws[c.Column("y_sim.1")][0] != 6750 {
		t.Errorf("first stepsize__, y_sim.1 = %v, %v; want NaN, 6750", c.Draws[2][0], c.Draws[c.Column("y_sim.1")][0])
	}
	if c.Timing != (Timing{0, 0.002, 0.002}) {
		t.Errorf("Timing = %+v", c.Timing)
	}
}

// TestReferenceRectangles reads stanio's output with vector, matrix, 3-D array and complex
// columns, written with sig_figs=10.
func TestReferenceRectangles(t *testing.T) {
	c := readReference(t, "stan_csv/stanio_rectangles_2.32_output_1.csv")
	if len(c.Columns) != 110 || c.NumDraws() != 1000 || c.Config.Raw["output.sig_figs"] != "10" {
		t.Fatalf("%d columns, %d draws, sig_figs %q; want 110, 1000, 10", len(c.Columns), c.NumDraws(), c.Config.Raw["output.sig_figs"])
	}
	// threeD is array[2,3] vector[4]... named column-major, first index fastest.
	want := []string{"threeD.1.1.1", "threeD.2.1.1", "threeD.3.1.1", "threeD.4.1.1", "threeD.1.2.1"}
	i := c.Column("threeD.1.1.1")
	if i < 0 || !slices.Equal(c.Columns[i:i+5], want) || c.Column("threeD.4.2.3") != i+23 {
		t.Errorf("threeD columns at %d: %v; want %v ... threeD.4.2.3 at +23", i, c.Columns[i:i+5], want)
	}
	for _, name := range []string{"z.real", "z.imag", "zm.1.3.imag", "m.2.3", "mu", "nu"} {
		if c.Column(name) < 0 {
			t.Errorf("no column %q", name)
		}
	}
	if c.Adaptation.StepSize != 0.971037 || c.Timing.Total != 0.069 {
		t.Errorf("step size %v, total time %v; want 0.971037, 0.069", c.Adaptation.StepSize, c.Timing.Total)
	}
}

// TestReferenceOldHeader reads ArviZ's blocker.1.csv, written by CmdStan 1.3: no
// n_leapfrog__/divergent__ columns, `data = path`, `output sample = file`, blank lines.
func TestReferenceOldHeader(t *testing.T) {
	c := readReference(t, "diagnostics/blocker.1.csv")
	cfg := c.Config
	if cfg.StanVersion != "1.3.0" || cfg.Model != "blocker_model" || cfg.Method != "sample" || cfg.Engine != "nuts" ||
		cfg.AdaptDelta != 0.65 || cfg.Seed != 1434717929 || cfg.ID != 1 || cfg.OutputFile != "samples.csv" ||
		cfg.DataFile != "src/models/bugs_examples/vol1/blocker/blocker.data.R" {
		t.Errorf("config = %+v", cfg)
	}
	if len(c.Columns) != 52 || c.NumDraws() != 1000 || c.Column("divergent__") != -1 || c.Column("d") != 4 {
		t.Errorf("%d columns, %d draws, divergent__ at %d, d at %d; want 52, 1000, -1, 4",
			len(c.Columns), c.NumDraws(), c.Column("divergent__"), c.Column("d"))
	}
	if c.Adaptation.StepSize != 0.350484 || len(c.Adaptation.InvMetric) != 47 || c.Adaptation.InvMetric[46] != 0.0276856 {
		t.Errorf("Adaptation = %+v", c.Adaptation)
	}
	if c.Timing != (Timing{0.189802, 0.180837, 0.370639}) {
		t.Errorf("Timing = %+v", c.Timing)
	}
}

func TestReadCSVFiles(t *testing.T) {
	if _, err := os.Stat(refDir); err != nil {
		t.Skip("../shared/reference not found: skipping reference-value test")
	}
	var paths []string
	for i := 1; i <= 4; i++ {
		paths = append(paths, filepath.Join(refDir, "stan_csv", "stanio_bernoulli_2.32_output_"+strconv.Itoa(i)+".csv"))
	}
	chains, err := ReadCSVFiles(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	// Step sizes from the four files' "# Step size" lines: the order must follow paths.
	want := []float64{0.772441, 0.936627, 1.06688, 1.06584}
	for i, c := range chains {
		if c.Path != paths[i] || c.Adaptation.StepSize != want[i] || c.NumDraws() != 1000 {
			t.Errorf("chain %d: %s, step size %v, %d draws; want %s, %v, 1000", i, c.Path, c.Adaptation.StepSize, c.NumDraws(), paths[i], want[i])
		}
	}
}

func TestReadCSVFilesErrors(t *testing.T) {
	good := filepath.Join("testdata", "csv", "bernoulli-sample-1.csv")
	missing := filepath.Join(t.TempDir(), "missing.csv")
	_, err := ReadCSVFiles(context.Background(), []string{good, missing, good})
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "stanio: open ") {
		t.Errorf("error = %v; want stanio: open ...: file does not exist", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = ReadCSVFiles(ctx, []string{good})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v; want context.Canceled", err)
	}
	chains, err := ReadCSVFiles(context.Background(), nil)
	if err != nil || len(chains) != 0 {
		t.Errorf("ReadCSVFiles(nil) = %v, %v; want empty, nil", chains, err)
	}
}

func TestCSVErrorWithPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte("# model = m\nlp__,theta\n1,2\n3,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadCSVFile(path)
	var ce *CSVError
	if !errors.As(err, &ce) || ce.Path != path || ce.Line != 4 {
		t.Fatalf("error = %#v; want *CSVError at %s:4", err, path)
	}
	if want := "stanio: " + path + `:4: column "theta": cannot parse "x" as a number`; err.Error() != want {
		t.Errorf("error = %q; want %q", err, want)
	}
}

func TestBadCSV(t *testing.T) {
	const cfg = "# method = sample\n#   sample\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "stanio: line 1: empty file"},
		{"blank", "\n \n", "stanio: line 1: empty file"},
		{"only comments", "# model = m\n# method = sample\n", "stanio: line 2: no column header: the file ends inside the comment header"},
		{"header missing", "# model = m\n1,2\n3,4\n", "stanio: line 2: no column header: the first line after the comments holds numbers"},
		{"header missing negative", "-6.8,0.9\n", "stanio: line 1: no column header: the first line after the comments holds numbers"},
		{"empty column name", "a,,b\n", "stanio: line 1: column 2 has an empty name"},
		{"duplicate column", "a,b,a\n", `stanio: line 1: column "a" appears twice (columns 1 and 3)`},
		{"short row", "a,b\n1,2\n3\n", "stanio: line 3: row has 1 value; the header has 2 columns"},
		{"long row", "a,b\n1,2\n3,4,5\n", "stanio: line 3: row has 3 values; the header has 2 columns"},
		{"trailing comma", "a,b\n1,2,\n", "stanio: line 2: row has 3 values; the header has 2 columns"},
		{"bad cell", "a,b\n1,2\n# x\n3,4x\n", `stanio: line 4: column "b": cannot parse "4x" as a number`},
		{"empty cell", "a,b,c\n1,,3\n", `stanio: line 2: column "b": cannot parse "" as a number`},
		{"space in cell", "a,b\n1, 2\n", `stanio: line 2: column "b": cannot parse " 2" as a number`},
		{"space in a pathfinder cell", "# method = pathfinder\na,b\n1, 2x\n", `stanio: line 3: column "b": cannot parse " 2x" as a number`},
		{"bad cell before ragged row", "a,b\nx,2\n3\n", `stanio: line 2: column "a": cannot parse "x" as a number`},
		{"long bad cell", "a\n" + strings.Repeat("9", 50) + "z\n",
			`stanio: line 2: column "a": cannot parse "` + strings.Repeat("9", 40) + `"... as a number`},
		{"bad num_samples", cfg + "#     num_samples = 1e3\na\n", `stanio: line 3: sample.num_samples = "1e3": want an integer`},
		{"zero thin", cfg + "#     thin = 0\na\n", `stanio: line 3: sample.thin = "0": want a positive integer`},
		{"bad bool", cfg + "#     save_warmup = yes\na\n", `stanio: line 3: sample.save_warmup = "yes": want 0, 1, true or false`},
		{"first bad key wins", cfg + "#     thin = x\n#     num_warmup = y\n# random\n#   seed = z\na\n",
			`stanio: line 3: sample.thin = "x": want an integer`},
		{"bad seed", "# random\n#   seed = -\na\n", `stanio: line 2: random.seed = "-": want an integer`},
		{"bad delta", cfg + "#     adapt\n#       delta = high\na\n", `stanio: line 4: sample.adapt.delta = "high": want a number`},
		{"bad step size", "a\n# Adaptation terminated\n# Step size = big\n1\n", `stanio: line 3: step size "big" is not a number`},
		{"bad diag metric", "a\n# Diagonal elements of inverse mass matrix:\n# 1, x\n1\n", `stanio: line 3: inverse metric: cannot parse "x" as a number`},
		{"no diag metric", "a\n# Diagonal elements of inverse mass matrix:\n1\n",
			`stanio: line 2: inverse metric: no values after "Diagonal elements of inverse mass matrix:"`},
		{"short dense metric", "a,b\n# Elements of inverse mass matrix:\n# 1, 0\n1,2\n", "stanio: line 4: dense inverse metric ends after 1 of 2 rows"},
		{"dense metric at end of file", "a,b\n# Elements of inverse mass matrix:\n# 1, 0", "stanio: line 3: dense inverse metric ends after 1 of 2 rows"},
		{"ragged dense metric", "a,b\n# Elements of inverse mass matrix:\n# 1, 0\n# 1\n1,2\n", "stanio: line 4: dense inverse metric row: got 1 numbers, want 2"},
		{"bad elapsed time", "a\n1\n#  Elapsed Time: soon seconds (Total)\n", `stanio: line 3: elapsed time "soon" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadCSV(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error; parsed %+v", c)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\n             want %q", err, tt.want)
			}
			var ce *CSVError
			if !errors.As(err, &ce) || ce.Line < 1 {
				t.Errorf("error %#v is not a *CSVError with a line", err)
			}
		})
	}
}

// TestParseDecimalMatchesStrconv checks the fast path against strconv.ParseFloat, bit for
// bit, on seeded random values written the ways CmdStan and others write them.
func TestParseDecimalMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	formats := []struct {
		fmt  byte
		prec int
	}{{'g', 6}, {'g', 10}, {'g', 15}, {'g', 17}, {'g', -1}, {'e', 6}, {'f', 6}, {'f', 2}, {'E', 3}}
	check := func(s string) {
		want, werr := strconv.ParseFloat(s, 64)
		got, next, ok := parseDecimal([]byte(s), 0)
		if ok && next == len(s) {
			if werr != nil || math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("parseDecimal(%q) = %v (%#x); strconv gives %v (%#x), %v",
					s, got, math.Float64bits(got), want, math.Float64bits(want), werr)
			}
		}
		// The whole cell path (fast path or fallback) must agree too.
		c, err := ReadCSV(strings.NewReader("x\n" + s + "\n"))
		if (err == nil) != (werr == nil || errors.Is(werr, strconv.ErrRange)) {
			t.Fatalf("ReadCSV of cell %q: error %v; strconv error %v", s, err, werr)
		}
		if err == nil && math.Float64bits(c.Draws[0][0]) != math.Float64bits(want) {
			t.Fatalf("ReadCSV of cell %q = %v; want %v", s, c.Draws[0][0], want)
		}
	}
	fast := 0
	for range 20000 {
		v := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
		f := formats[rng.IntN(len(formats))]
		s := strconv.FormatFloat(v, f.fmt, f.prec, 64)
		if _, _, ok := parseDecimal([]byte(s), 0); ok {
			fast++
		}
		check(s)
	}
	if fast < 10000 {
		t.Errorf("only %d of 20000 values took the fast path", fast)
	}
	for _, s := range []string{
		"0", "-0", "+0", "00012", "0.000", "1.", ".5", "-.5", "5e", "5e+", "1e-22", "1e22", "1e23",
		"9007199254740991", "9007199254740992", "9007199254740993", "123456789012345678901",
		"0.1234567890123456789", "1e-5000", "1e5000", "0e99999", "1_000", "0x1p-2", "1E+05",
		"-", "+", ".", "e5", "nan", "NaN", "-Inf", "infinity", "1.5.5", "1e5e5", "4.9406564584124654e-324",
	} {
		check(s)
	}
}

func TestColumnAndNumDrawsOnEmptyChain(t *testing.T) {
	var c Chain
	if c.NumDraws() != 0 || c.Column("lp__") != -1 {
		t.Errorf("empty chain: NumDraws %d, Column %d; want 0, -1", c.NumDraws(), c.Column("lp__"))
	}
	// A header and no rows (a run stopped during warmup) is a valid, empty chain.
	got, err := ReadCSV(strings.NewReader("lp__,theta\n# Adaptation terminated\n"))
	if err != nil || got.NumDraws() != 0 || len(got.Draws) != 2 || got.Warmup != nil {
		t.Errorf("header only: %+v, %v; want 2 empty columns", got, err)
	}
}
