// Package stanio reads and writes CmdStan's file formats: the JSON data file a Stan
// program reads, and the Stan CSV a sampler, optimizer, laplace or pathfinder run writes.
//
// It belongs to no stage of a run, so that the stage that renders a program's data
// (codegen), the stage that runs CmdStan (cmdstan) and the stages that read its output
// (diagnostics, pipeline, the CLI) share one definition of both formats:
//
//   - Var is one data variable; WriteData and WriteDataFile write a list of them as
//     CmdStan's JSON data, refusing names that are not Stan identifiers, ragged
//     arrays and ints outside Stan's 32-bit range before anything is written.
//   - ReadCSV, ReadCSVFile and ReadCSVFiles parse Stan CSV into a Chain: the run's
//     Config from the comment header, the columns' draws (warmup apart), the
//     adaptation and the timing. A malformed file gives a *CSVError naming its line,
//     and a file cut short by a stopped run or a full disk is refused rather than
//     read as a shorter chain.
//
// The package runs no processes and imports nothing else of dsamstan.
package stanio
