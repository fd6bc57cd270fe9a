//go:build calibration

package codegen

import (
	"os"
	"strconv"
	"testing"
)

// TestCalibrationFull is the full simulation-based calibration of the default panel
// program: 1000 panels of 8 markets × 40 weeks, y ~ 1 + x1 + x2 + (1 + x1 + x2 | market),
// every parameter drawn from the model's priors, 4 chains × (500 + 500) each. It asks
// for uniform ranks, at most 2% of fits with any divergent transition and no stuck
// chain. DSAMSTAN_CALIBRATION_FITS overrides the number of fits and
// DSAMSTAN_CALIBRATION_CORRELATED=1 draws and fits correlated effects. Hours on a busy
// machine: make calibration.
func TestCalibrationFull(t *testing.T) {
	r := cmdstanRunner(t)
	d := calibrationDesign{Fits: 1000, Groups: 8, Weeks: 40, Warmup: 500, Samples: 500}
	if n, err := strconv.Atoi(os.Getenv("DSAMSTAN_CALIBRATION_FITS")); err == nil && n > 0 {
		d.Fits = n
	}
	d.Correlated = os.Getenv("DSAMSTAN_CALIBRATION_CORRELATED") == "1"
	d.Param = os.Getenv("DSAMSTAN_CALIBRATION_PARAMETERIZATION")
	res := runCalibration(t, r, d)
	res.check(t, 20, 0.02)
}
