// Package templates embeds the Stan program templates that codegen renders.
//
// The embed directive cannot reach a parent directory, so this tiny package sits beside stan/ and
// exposes the tree as an fs.FS; codegen also accepts any other fs.FS (tests pass an
// fstest.MapFS, users may override the built-ins with os.DirFS).
package templates

import "embed"

// FS holds stan/*.stan.tmpl: one text/template per Stan program.
//
//go:embed stan/*.stan.tmpl
var FS embed.FS
