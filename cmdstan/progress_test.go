package cmdstan

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"
)

func TestNewProgressPlainWhenNotATerminal(t *testing.T) {
	if _, ok := NewProgress(&bytes.Buffer{}, 4).(*lineProgress); !ok {
		t.Error("NewProgress on a buffer is not the plain-line Progress")
	}
}

func TestLineProgress(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, 2)
	p.Start(1, 2000)
	p.Start(2, 2000)
	for i := 1; i <= 2000; i++ {
		if i == 1 || i%100 == 0 {
			p.Update(1, i, 2000, i <= 1000)
		}
	}
	p.Update(2, 1, 2000, true)
	p.Update(2, 150, 2000, true)
	p.Update(2, 250, 2000, true)
	p.Done(1, nil)
	p.Done(2, errors.New("cmdstan: sampling interrupted\nmore detail"))
	p.Wait()
	want := `chain 1 | 1/2000 (warmup)
chain 1 | 200/2000 (warmup)
chain 1 | 400/2000 (warmup)
chain 1 | 600/2000 (warmup)
chain 1 | 800/2000 (warmup)
chain 1 | 1000/2000 (warmup)
chain 1 | 1200/2000 (sampling)
chain 1 | 1400/2000 (sampling)
chain 1 | 1600/2000 (sampling)
chain 1 | 1800/2000 (sampling)
chain 1 | 2000/2000 (sampling)
chain 2 | 1/2000 (warmup)
chain 2 | 250/2000 (warmup)
chain 1 | done
chain 2 | stopped: cmdstan: sampling interrupted
`
	if b.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", b.String(), want)
	}
}

// TestBarProgressWait checks Wait returns and leaves no goroutine behind, even
// when chains never reported Done (a run that failed early).
func TestBarProgressWait(t *testing.T) {
	before := runtime.NumGoroutine()
	var b bytes.Buffer
	p := newBarProgress(&b, 3, mpb.WithAutoRefresh(), mpb.WithRefreshRate(5*time.Millisecond))
	p.Start(1, 400)
	p.Start(2, 400)
	p.Start(3, 400)
	p.Update(1, 100, 400, true)
	p.Update(1, 400, 400, false)
	p.Done(1, nil)
	p.Update(2, 300, 400, false)
	p.Done(2, errors.New("chain 2 failed"))
	// chain 3 never finishes.
	done := make(chan struct{})
	go func() {
		p.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait blocked on a bar whose chain never finished")
	}
	p.Update(3, 10, 400, true) // after Wait: ignored, must not block
	p.Start(4, 400)
	out := b.String()
	for _, want := range []string{"chain 1", "400/400", "done", "chain 2", "stopped", "chain 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("bars lack %q:\n%s", want, out)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Wait; %d before", n, before)
	}
}
