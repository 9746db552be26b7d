"""Tutorial 4 — the learned search: cost model, tuning curves, the database, transfer.

Run it:  python docs/tutorials/04_tuning.py      (POLYOPT_DOCS_SMALL=1: a few trials, tiny sizes)

polyopt.tune follows the AutoTVM recipe over a polyhedral space. The first rounds start with seed points
(polyopt.search.seeds: vector strips with small cache tiles, register blocks, and for stencils whose sweeps a
skewed schedule fuses, time tiles with the inner loop distributed: the schedules a performance engineer would
try first); then the explorer (simulated annealing on
the cost model's scores, half of its chains restarted each round from the fastest candidates measured so
far, and never annealing longer than the last batch took to measure) proposes the most promising batch
of 16 legal candidates, which are compiled and measured (outputs checked against the original schedule);
the XGBoost ranking model is refit on the measurements, and so on until the trial budget is spent. With
tune(..., rerank_pool=2) the explorer proposes twice a batch, and a second model that also reads their
machine code (vector width, flops per load, spills: polyopt.search.asm_features) keeps the best 16. Every measurement goes into a SQLite database
at once, so tuning can resume, and a model trained on other kernels' records gives a new kernel a head
start (transfer; on the benchmark kernels it helps by a few % at most so far).
tune(..., time_budget=600) (polyopt tune --time-budget 600) stops after ten minutes, whatever the trials.
Nothing one candidate does can stall a run: builds and timed runs happen in worker processes with time limits,
and so does the isl loop-AST generation behind the features. A candidate whose AST takes isl more than
TuneOptions.ast_timeout (10 s) gets no features, and the explorer passes it by.

Ctrl-C (or SIGTERM) stops tuning after the measurement in progress: the result has every measurement so far,
with `interrupted` set, and no worker process is left behind. A second Ctrl-C stops at once.
"""

import os
import tempfile
from pathlib import Path

from polyopt.search.database import Database

import polyopt
from polyopt import kernels

SMALL = os.environ.get("POLYOPT_DOCS_SMALL") == "1"
SIZE = "MINI" if SMALL else "SMALL"
TRIALS = 6 if SMALL else 64
BATCH = 6 if SMALL else 16
def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="polyopt-tutorial-"))
    db_path = tmp / "tuning.db"

    # 1. Tune a suite kernel (the same C code the benchmark suite uses) at fixed sizes.
    gemm = polyopt.from_c(str(kernels.get("gemm").c_path))
    params = kernels.dataset("gemm", SIZE)
    result = polyopt.tune(gemm, "cpu", params, trials=TRIALS, batch_size=BATCH, db=str(db_path), seed=0)
    print(f"gemm {params}: {len(result.history)} trials, {result.errors} failed, "
          f"{result.elapsed:.1f} s of tuning")
    print("best candidate:", result.best.candidate)
    print(f"best: {result.best.seconds * 1e3:.3f} ms = {result.best.gflops:.2f} GFLOP/s")
    for name, seconds in result.baselines.items():
        print(f"  baseline {name:>8}: {seconds * 1e3:.3f} ms -> speedup {result.speedup_over(name):.2f}x")

    # 2. The tuning curve: best-so-far GFLOP/s after each trial (result.plot draws it with the baselines).
    curve = result.best_curve()
    print("best-so-far GFLOP/s:", " ".join(f"{g:.2f}" for g in curve))
    result.plot(str(tmp / "gemm_curve.png"))
    print("curve plotted to", tmp / "gemm_curve.png")

    # 3. The database: one row per measurement, with the candidate's trace and feature vector.
    db = Database(db_path)
    records = db.records(workload=gemm.fingerprint)
    print(f"database {db_path.name}: {db.count()} rows; gemm has {len(records)}")
    best = db.best(gemm.fingerprint, params, records[0].target)
    print("best recorded:", best.candidate[:100], "...", f"{best.median * 1e3:.3f} ms")
    db.close()

    # Tuning again resumes: trials already in the database count towards the budget, nothing is re-measured.
    # Records written by a polyopt whose features differed (an earlier FEATURE_VERSION) get their features
    # computed again on resume, their times kept; other kernels' old records are skipped by transfer, with
    # a warning.
    again = polyopt.tune(gemm, "cpu", params, trials=TRIALS, batch_size=BATCH, db=str(db_path), seed=0)
    print(f"resumed: best {again.best.seconds * 1e3:.3f} ms after {len(again.history)} trials in total")

    # 4. Transfer: with enough records of other kernels (64 by default), a base model trained on them is
    #    added to the new kernel's model, weighted down as its own measurements arrive.
    syrk = polyopt.from_c(str(kernels.get("syrk").c_path))
    sparams = kernels.dataset("syrk", SIZE)
    transferred = polyopt.tune(syrk, "cpu", sparams, trials=TRIALS, batch_size=BATCH, db=str(db_path),
                               seed=0, transfer=True)
    print(f"syrk with transfer from gemm's records: best {transferred.best.seconds * 1e3:.3f} ms, "
          f"{transferred.speedup_over('original'):.2f}x over the original schedule")
    if len(records) < 64:
        print("(only", len(records), "gemm records: below the 64 needed, so this run trained from scratch; "
              "tune more kernels into the same database to benefit)")

    # 5. The tuned kernel is an ordinary compiled kernel.
    kernel = result.compile()
    inputs = kernels.make_inputs("gemm", SIZE)
    kernel(**inputs)
    print("compiled the best gemm schedule and ran it on make_inputs('gemm', ...)")


if __name__ == "__main__":      # the tuner measures in worker processes: keep the module importable
    main()
