// Package strictyaml decodes a YAML document into typed Go values strictly, collecting every
// problem instead of stopping at the first: unknown keys (with a did-you-mean and the keys
// allowed there), values of the wrong type, aliases and merge keys. Each Problem carries the
// key path ("fit.mcmc.chains", "channels[1].bounds.max"), the line and column of the key or
// value in the file, and a message that names the bad value and what is allowed.
//
// It serves the run config (package ingest) and the budget scenario (package optimise), so
// that a config and the allocation section inside it are checked in one pass, with one
// wording and one way of locating problems:
//
//	body, p := strictyaml.Parse(data, "config")  // one document, or a fatal Problem
//	d := strictyaml.NewDecoder(file, "run configs", "the config")
//	d.Decode("", body, &cfg)                      // every problem, positions in d.Pos
//
// The Decoder walks the YAML tree and the Go type together by reflection: structs (keys from
// their yaml tags, in field order), pointers, slices, maps with string keys, strings, ints,
// float64 (.Inf, -.Inf, Inf and -Inf allowed) and bools. Scalars are converted by
// github.com/goccy/go-yaml. An entry whose value has a problem is dropped: its field keeps its
// zero value, Dropped reports its key, and callers skip their own checks below it so that
// nothing is reported twice. A type that implements Unmarshaler decodes its own node with the
// same Decoder, for values of more than one shape or checks that need several keys.
package strictyaml
