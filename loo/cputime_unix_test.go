//go:build linux || darwin

package loo

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the test process has used, so that
// benchmarks can report cost per core on a busy machine.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
