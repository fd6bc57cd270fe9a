package report

import (
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dsamstan/dsamstan/runfolder"
)

// findChromium returns a headless-capable Chromium, or skips the test.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not found on PATH (Debian: apt-get install chromium): skipping the browser test")
	return ""
}

// checkScript runs after every image has loaded or failed (the load event) and writes what
// it found into the page, where --dump-dom shows it.
const checkScript = `<script>
window.addEventListener("load", function () {
  var failed = [], imgs = document.images;
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) failed.push(imgs[i].getAttribute("src"));
  }
  var v = document.getElementById("verdict");
  var out = document.createElement("pre");
  out.id = "render-check";
  out.textContent = JSON.stringify({
    images: imgs.length, failed: failed,
    verdict: v && v.getBoundingClientRect().height > 0 ? v.innerText : ""
  });
  document.body.appendChild(out);
});
</script>`

type renderCheck struct {
	Images  int      `json:"images"`
	Failed  []string `json:"failed"`
	Verdict string   `json:"verdict"`
}

var renderCheckRE = regexp.MustCompile(`(?s)<pre id="render-check">(.*?)</pre>`)

// render opens index.html (a copy with checkScript added, beside the original so that its
// relative image paths resolve) in headless Chromium, offline, and returns what the script
// found.
func render(t *testing.T, chromium, dir string) renderCheck {
	t.Helper()
	page, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(dir, "render_check.html")
	withScript := strings.Replace(string(page), "</body>", checkScript+"</body>", 1)
	if err := os.WriteFile(probe, []byte(withScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", "file://"+probe)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	m := renderCheckRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("the check script left no result in the rendered page; chromium printed %d bytes", len(out))
	}
	var rc renderCheck
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &rc); err != nil {
		t.Fatalf("render check %q: %v", m[1], err)
	}
	return rc
}

// TestChromiumRendersReport renders index.html in headless Chromium: every image loads
// and the verdict is shown; then, with one PNG removed, the check must notice.
func TestChromiumRendersReport(t *testing.T) {
	chromium := findChromium(t)
	dir := copyFixture(t, "panel")
	m := build(t, dir, fast)
	written := 0
	for _, p := range m.Plots {
		if p.Status == PlotWritten {
			written++
		}
	}
	rc := render(t, chromium, dir)
	if rc.Images != written {
		t.Errorf("the page has %d images; Build wrote %d plots", rc.Images, written)
	}
	if len(rc.Failed) > 0 {
		t.Errorf("images that did not load: %v", rc.Failed)
	}
	if !strings.Contains(strings.ToLower(rc.Verdict), "diagnostics verdict") || !strings.Contains(strings.ToLower(rc.Verdict), m.Verdict) {
		t.Errorf("verdict box shows %q; want the verdict %q", rc.Verdict, m.Verdict)
	}

	// The check can fail: a missing PNG is reported.
	if err := os.Remove(filepath.Join(dir, runfolder.StageModelFit, "fit_scatter.png")); err != nil {
		t.Fatal(err)
	}
	rc = render(t, chromium, dir)
	if len(rc.Failed) != 1 || rc.Failed[0] != "20_model_fit/fit_scatter.png" {
		t.Errorf("with fit_scatter.png removed, failed images = %v; want just that one", rc.Failed)
	}
}
