package report

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsamstan/dsamstan/runfolder"
)

func TestPriorTableOnThePage(t *testing.T) {
	dir := copyFixture(t, "blm")
	build(t, dir, fast)
	if html := readIndex(t, dir); strings.Contains(html, priorTableName) {
		t.Error("a run without priors.csv shows a prior table")
	}
	var buf bytes.Buffer
	err := runfolder.WritePriors(&buf, []runfolder.PriorRow{
		{Parameter: "(Intercept)", Kind: "intercept", Family: "normal", Mean: 7421, SD: 2666, Lower: math.Inf(-1), Upper: math.Inf(1),
			PriorSource: "default: normal(mean(y), 5·sd(y))", BoundSource: "default: unbounded", SamplerMean: 0, SamplerSD: 5, SamplerLower: math.Inf(-1), SamplerUpper: math.Inf(1)},
		{Parameter: "m_tv", Kind: "coefficient", Family: "normal", Mean: 0, SD: 55.02, Lower: 0, Upper: math.Inf(1),
			PriorSource: "default: normal(0, 5·sd(y)/sd(x))", BoundSource: "boundaries.overrides[0]", SamplerMean: 0, SamplerSD: 5, SamplerLower: 0, SamplerUpper: math.Inf(1)},
		{Parameter: "sd_1[m_tv]", Kind: "group_scale", Family: "half_normal", Mean: 0, SD: 2, Lower: 0, Upper: math.Inf(1),
			PriorSource: "priors.overrides[0]", BoundSource: "a scale: ≥ 0", SamplerMean: 0, SamplerSD: 0.25, SamplerLower: 0, SamplerUpper: math.Inf(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, runfolder.StageMetadata, runfolder.PriorsFile)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	build(t, dir, fast)
	html := readIndex(t, dir)
	post := strings.Index(html, `<section class="stage" id="s30">`)
	table := strings.Index(html, priorTableName)
	if post < 0 || table < post || strings.Index(html[post:], "posterior_summary.csv") < table-post {
		t.Fatalf("the prior table is not first in the post-run section (section at %d, table at %d)", post, table)
	}
	for _, want := range []string{
		`<h3><a href="00_run_metadata/priors.csv">Priors and bounds</a> <span class="meta"> · 3 rows</span></h3>`,
		`<tr><td>(Intercept)</td><td class="mono">normal(7421, 2666)</td><td class="mono">[-Inf, Inf]</td><td class="mono">normal(0, 5)</td><td class="mono">[-Inf, Inf]</td><td class="msg">default: normal(mean(y), 5·sd(y))</td><td>default: unbounded</td><td class="num" title="4656.28755744358">4656</td><td class="num" title="216.06401804316997">216.1</td></tr>`,
		`<td class="mono">half_normal(0, 0.25)</td><td class="mono">[0, Inf]</td><td class="msg">priors.overrides[0]</td><td>a scale: ≥ 0</td><td class="num"></td><td class="num"></td></tr>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks\n%s", want)
		}
	}

	// A priors.csv the report cannot read is said so in the table's place.
	if err := os.WriteFile(p, []byte("parameter,kind,family,mean,sd,lower,upper,prior_source,bound_source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build(t, dir, fast)
	if html := readIndex(t, dir); !strings.Contains(html, "This table could not be read: report: 00_run_metadata/priors.csv: runfolder: priors.csv: ") {
		t.Error("an unreadable priors.csv is not reported")
	}
}
