//go:build !(linux || darwin)

package loo

import "time"

// processCPU is not available here; benchmarks then skip their CPU-time metric.
func processCPU() (time.Duration, bool) { return 0, false }
