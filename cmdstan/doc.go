// Package cmdstan compiles rendered Stan programs with CmdStan's make, caches the
// binaries by content hash and runs sampler, optimizer, laplace and pathfinder processes.
//
// It owns everything that touches a CmdStan install:
//
//   - Find locates the install (--cmdstan, then $CMDSTAN, then the newest
//     complete ~/.cmdstan/cmdstan-*) and checks it is CmdStan 2.33 or newer and
//     complete: built, with its sources, and make on PATH. A half-installed
//     CmdStan is refused at once, naming what it lacks, rather than failing in
//     make a minute later.
//   - A Runner owns every exec call. Runner.Compile builds a program through the
//     compile Cache, so a program that was built once for the same CmdStan and
//     flags is never built again; Runner.Sample runs one process per chain, in
//     parallel up to a core limit, and reports progress from the sampler's
//     "Iteration:" lines, keeping each chain's stdout and stderr in files; the
//     sampler's messages about rejected proposals, common and harmless at
//     initialisation, reach the log only as one line per chain that still rejects
//     proposals after warmup; Runner.Optimize runs the L-BFGS optimizer from several
//     random inits and keeps the best; Runner.Laplace draws from the normal
//     approximation around an optimize run's mode (CmdStan's laplace method), and
//     Runner.Pathfinder runs CmdStan's multi-path Pathfinder, noting the Pareto k̂ of
//     its importance resampling when CmdStan warns of it.
//
// The file formats, CmdStan's JSON data and Stan CSV, belong to package stanio; this
// package only reads the optimizer's CSVs through it to pick the best run.
//
// Failures come back as typed errors: *CompileError carries stanc's message and
// the offending program line, *RunError the tail of a process's stderr,
// *TimeoutError a run that overran its time limit; ErrInterrupted marks a run
// stopped by the caller's context (Ctrl-C), whose partial output is kept.
//
// The package is Unix-only: the cache lock uses flock(2) where the filesystem has it; the
// cache stays correct without it (see Cache), so it can live on a cluster's shared filesystem.
package cmdstan
