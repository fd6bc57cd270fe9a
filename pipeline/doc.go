// Package pipeline runs one model end to end — load and check the config and data, render
// the Stan program, compile it through the cache, sample or optimise, summarise — and owns
// the run folder: every file goes to its stage folder atomically, and 00_run_metadata/run.json
// always says whether the run completed, failed or was interrupted, and why.
package pipeline
