package cmdstan

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
)

// The sampler prints a block like this on stderr each time a proposal fails to
// evaluate (a NaN or an out-of-support value), and does so at initialisation on many
// healthy runs:
//
//	Informational Message: The current Metropolis proposal is about to be rejected because of the following issue:
//	Exception: normal_lpdf: Location parameter[1] is -nan, but must be finite! (in '/tmp/…/model_….stan', line 118, column 2 to column 43)
//	If this warning occurs sporadically, such as for highly constrained variable types like covariance matrices, then the sampler is fine,
//	but if this warning occurs often then your model may be either severely ill-conditioned or misspecified.
//	(an empty line)
const (
	rejectionHeader = "Informational Message: The current Metropolis proposal is about to be rejected"
	rejectionFoot1  = "If this warning occurs sporadically"
	rejectionFoot2  = "but if this warning occurs often"
)

// programPlace matches where an exception says it arose: "(in '/tmp/…/model.stan',
// line 118, column 2 to column 43)", a temporary path a user can do nothing with.
var programPlace = regexp.MustCompile(`\s*\(in '[^']*', line \d+, column \d+ to column \d+\)`)

// chainMessages sorts a chain's stderr for the console. The rejection blocks stay in
// the chain's stderr file but are kept off the log; those that come once the chain
// is sampling are counted, and summary reports them in one line. stdout is called
// from the goroutine that copies the chain's stdout, stderr from the one that copies
// its stderr; summary after the process has ended.
type chainMessages struct {
	sampling atomic.Bool // the chain has printed a (Sampling) iteration line

	block    int    // lines of the current rejection block seen so far; 0 outside one
	rejected int    // rejection blocks seen while sampling
	first    string // the exception of the first of them
}

// stdout notes the phase an iteration line reports.
func (m *chainMessages) stdout(line string) {
	if !m.sampling.Load() && strings.HasPrefix(line, "Iteration:") && strings.HasSuffix(strings.TrimSpace(line), "(Sampling)") {
		m.sampling.Store(true)
	}
}

// stderr reports whether line should go to the log.
func (m *chainMessages) stderr(line string) bool {
	if strings.HasPrefix(line, rejectionHeader) {
		m.block = 1
		if m.sampling.Load() {
			m.rejected++
		}
		return false
	}
	if m.block == 0 {
		return true
	}
	m.block++
	switch {
	case m.block == 2: // the exception
		if m.sampling.Load() && m.rejected == 1 && m.first == "" {
			m.first = programPlace.ReplaceAllString(strings.TrimSpace(line), "")
			for strings.HasPrefix(m.first, "Exception: ") {
				m.first = strings.TrimPrefix(m.first, "Exception: ")
			}
		}
		return false
	case strings.HasPrefix(line, rejectionFoot1), strings.HasPrefix(line, rejectionFoot2):
		return false
	case strings.TrimSpace(line) == "":
		m.block = 0 // the empty line that ends the block
		return false
	}
	m.block = 0 // something else: not part of the block
	return true
}

// summary returns the one line that reports the rejections seen while sampling, with
// advice, or "" when there were none. stderrFile is where the messages are kept.
func (m *chainMessages) summary(stderrFile string) string {
	if m.rejected == 0 {
		return ""
	}
	times := "1 proposal was"
	if m.rejected > 1 {
		times = fmt.Sprintf("%d proposals were", m.rejected)
	}
	first := ""
	if m.first != "" {
		first = " (first: " + m.first + ")"
	}
	return fmt.Sprintf("%s rejected after warmup because the model could not be evaluated%s; "+
		"a few are harmless, but many mean the model is ill-conditioned or misspecified: "+
		"check the data's scales and the priors, and the divergences in the diagnostics; the messages are in %s",
		times, first, stderrFile)
}
