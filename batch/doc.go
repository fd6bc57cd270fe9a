// Package batch fits several run configs as one batch: in this process, N at a time
// (the local executor), or as one Slurm job array whose tasks each run `dsamstan run CONFIG
// --run-dir DIR` with the same dsamstan binary, so a run on the cluster is the run a user
// gets locally.
//
// With a batch folder (--out) a batch leaves:
//
//	manifest.json      each config with its sha256, its run folder, its log and, on Slurm,
//	                   the job array and index it was last submitted as
//	batch.sbatch       the job script (Slurm)
//	logs/              each task's output: task_<i>.log (local), task_<i>_<jobid>.log (Slurm)
//	runs/NN_<config>/  the run folders
//	batch_summary.csv  one row per run: status, reason, verdict, wall time, elpd_loo, R², …
//
// A run's state (pending, running, completed, failed) comes from Slurm's squeue and
// scontrol show job while Slurm remembers the task, and from the run folder's run.json,
// which says whether the run completed or failed and why; a config that did not load
// leaves no run folder, and the task log's "Error:" line says why. Nothing needs sacct,
// which small clusters run without. Resume reruns what did not complete, and any run
// whose config changed since, as a new job array; a rerun's earlier run folder is kept
// beside the new one as <run folder>.attemptN.
//
// FanoutSlurm does the same for one run's fan-outs (dsamstan run --executor slurm): the
// scenarios of its transforms.sensitivity and the folds of its time-series CV. The pipeline
// writes each task's config, one array task runs each (a dsamstan run with the hidden
// --scenario-task or --tscv-fold N), and the pipeline reads the task folders back, as it does
// for scenarios and folds fitted in-process.
package batch
