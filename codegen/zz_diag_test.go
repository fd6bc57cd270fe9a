package codegen

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/cmdstan"
)

func TestZZDiag(t *testing.T) {
	r := cmdstanRunner(t)
	ctx := context.Background()
	d := calibrationDesign{Fits: 50, Groups: 6, Weeks: 30, Warmup: 500, Samples: 500}
	for rep := range d.Fits {
		spec, truth := calibrationSpec(d, rep)
		p, _ := Render(ctx, nil, spec)
		comp, err := r.Compile(ctx, p.Code, cmdstan.CompileOptions{ToolDigest: TemplateVersion})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		dataFile := filepath.Join(dir, "data.json")
		cmdstan.WriteDataFile(dataFile, p.Data)
		csvs, err := r.Sample(ctx, comp.Exe, dataFile, dir, cmdstan.SampleOptions{
			Chains: 4, Cores: 2, Warmup: d.Warmup, Samples: d.Samples, Seed: int64(1000 + rep), Metric: p.Metric}, nil)
		if err != nil {
			t.Fatal(err)
		}
		chains, _ := cmdstan.ReadCSVFiles(ctx, csvs)
		for c, ch := range chains {
			j := ch.Column("divergent__")
			for i, v := range ch.Draws[j] {
				if v == 0 {
					continue
				}
				var parts []string
				for k, name := range ch.Columns {
					if strings.HasPrefix(name, "sd_") || strings.HasPrefix(name, "beta") || strings.HasPrefix(name, "log_noise") || name == "stepsize__" || name == "treedepth__" || name == "n_leapfrog__" {
						parts = append(parts, fmt.Sprintf("%s=%.4g", name, ch.Draws[k][i]))
					}
				}
				t.Logf("rep %d chain %d draw %d: %s; truth sd %v %v %v; invmetric %v", rep, c+1, i, strings.Join(parts, " "),
					truth["sd_1[(Intercept)]"], truth["sd_1[x1]"], truth["sd_1[x2]"], ch.Adaptation.InvMetric)
			}
		}
	}
}
