package cmdstan

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Progress hears how each chain of a run is doing. Runner.Sample calls it from one
// goroutine per chain, so implementations must be safe for concurrent use.
type Progress interface {
	// Start reports that chain (1-based) began a run of total iterations.
	Start(chain, total int)
	// Update reports that chain reached iteration iter of total, in warmup or not.
	Update(chain, iter, total int, warmup bool)
	// Done reports that chain ended, with the error that stopped it or nil.
	Done(chain int, err error)
	// Wait finishes the display: it ends what is still shown, flushes it and stops
	// any goroutine the Progress started. Call it once, after Sample returns and
	// before writing anything else to the same output.
	Wait()
}

// NewProgress returns a Progress that writes to w: one live bar per chain when w is
// a terminal, otherwise a plain line per chain at every 10% of its iterations
// ("chain 2 | 500/2000 (warmup)"), fit for logs and CI. chains is the number of
// chains the run will have.
func NewProgress(w io.Writer, chains int) Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return newBarProgress(w, chains)
	}
	return &lineProgress{w: w, last: make(map[int]int, chains)}
}

// nopProgress is the Progress used when Sample is given none.
type nopProgress struct{}

func (nopProgress) Start(int, int)             {}
func (nopProgress) Update(int, int, int, bool) {}
func (nopProgress) Done(int, error)            {}
func (nopProgress) Wait()                      {}

// lineProgress writes a line at every tenth of a chain's iterations.
type lineProgress struct {
	mu   sync.Mutex
	w    io.Writer
	last map[int]int // chain -> last tenth reported
}

func (p *lineProgress) Start(chain, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[chain] = -1
}

func (p *lineProgress) Update(chain, iter, total int, warmup bool) {
	if total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tenth := min(iter, total) * 10 / total
	if last, ok := p.last[chain]; ok && tenth <= last {
		return
	}
	p.last[chain] = tenth
	fmt.Fprintf(p.w, "chain %d | %d/%d (%s)\n", chain, iter, total, phase(warmup))
}

func (p *lineProgress) Done(chain int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		fmt.Fprintf(p.w, "chain %d | stopped: %s\n", chain, firstLine(err.Error()))
		return
	}
	fmt.Fprintf(p.w, "chain %d | done\n", chain)
}

func (p *lineProgress) Wait() {}

func phase(warmup bool) string {
	if warmup {
		return "warmup"
	}
	return "sampling"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// barProgress draws one mpb bar per chain, created when the chain starts.
type barProgress struct {
	p      *mpb.Progress
	mu     sync.Mutex
	bars   map[int]*chainBar
	waited bool
}

type chainBar struct {
	bar   *mpb.Bar
	phase atomic.Value // string
}

func newBarProgress(w io.Writer, chains int, opts ...mpb.ContainerOption) *barProgress {
	opts = append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(40)}, opts...)
	return &barProgress{p: mpb.New(opts...), bars: make(map[int]*chainBar, chains)}
}

func (b *barProgress) Start(chain, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waited || b.bars[chain] != nil {
		return
	}
	cb := &chainBar{}
	cb.phase.Store("warmup")
	cb.bar = b.p.AddBar(int64(total),
		mpb.BarPriority(chain), // keep bars in chain order whatever order they start in
		mpb.PrependDecorators(
			decor.Name(fmt.Sprintf("chain %d ", chain)),
			decor.Any(func(decor.Statistics) string { return cb.phase.Load().(string) }, decor.WC{W: 9, C: decor.DindentRight}),
		),
		mpb.AppendDecorators(
			decor.CountersNoUnit("%d/%d", decor.WC{W: 11}),
			decor.OnAbort(decor.OnComplete(decor.Percentage(decor.WC{W: 5}), " done"), " stopped"),
		),
	)
	b.bars[chain] = cb
}

func (b *barProgress) Update(chain, iter, total int, warmup bool) {
	b.mu.Lock()
	cb := b.bars[chain]
	b.mu.Unlock()
	if cb == nil {
		return
	}
	cb.phase.Store(phase(warmup))
	cb.bar.SetTotal(int64(total), false)
	cb.bar.SetCurrent(int64(iter))
}

func (b *barProgress) Done(chain int, err error) {
	b.mu.Lock()
	cb := b.bars[chain]
	b.mu.Unlock()
	if cb == nil {
		return
	}
	if err != nil {
		cb.bar.Abort(false)
		return
	}
	cb.bar.SetTotal(-1, true) // complete at the current count
}

// Wait ends bars whose chain never reported Done (a run that failed early), since
// mpb's own Wait blocks until every bar is complete or aborted.
func (b *barProgress) Wait() {
	b.mu.Lock()
	if b.waited {
		b.mu.Unlock()
		return
	}
	b.waited = true
	bars := make([]*chainBar, 0, len(b.bars))
	for _, cb := range b.bars {
		bars = append(bars, cb)
	}
	b.mu.Unlock()
	for _, cb := range bars {
		cb.bar.Abort(false) // no-op on a completed bar
	}
	b.p.Wait()
}
