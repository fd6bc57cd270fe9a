//go:build race

package batch

// raceEnabled: this test binary is built with -race.
const raceEnabled = true
