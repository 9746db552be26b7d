"""Analysis (not a test): how well does a transfer base model order the candidates its own run measured?

For each database (a transfer arm of benchmarks/transfer_check.py, which keeps the sources' records and the
tuned kernel's), the tuned workload is the one of the last record. A base model is trained, as the tuner
trains it, on the records of every other workload (current feature version, same target), then scored on
the tuned workload's records in measuring order: pairwise accuracy on the first 16 (the round the base
model chose alone), the first 32 and all of them.

    python benchmarks/transfer_base_accuracy.py /tmp/tmpXXXX.db [...]
"""

from __future__ import annotations

import sqlite3
import sys

import numpy as np

from polyopt.search.cost_model import XGBoostCostModel, pairwise_accuracy
from polyopt.search.tuner import cpu_model_params
from polyopt.search.database import Database
from polyopt.search.features import FEATURE_VERSION


def throughput(recs: list) -> np.ndarray:  # type: ignore[type-arg]
    return np.asarray([1.0 / r.median if r.ok else 0.0 for r in recs])


def analyse(path: str) -> str:
    con = sqlite3.connect(path)
    workload, seed = con.execute("SELECT workload, seed FROM measurements ORDER BY id DESC LIMIT 1").fetchone()
    con.close()
    recs = Database(path).records()
    task = [r for r in recs if r.workload == workload and r.feature_version == FEATURE_VERSION and r.features]
    other = [r for r in recs if r.workload != workload and r.feature_version == FEATURE_VERSION and r.features
             and r.target == task[0].target]
    base = XGBoostCostModel(cpu_model_params(), seed=0)
    base.fit(np.asarray([r.features for r in other]), throughput(other), [f"{r.workload}:{r.params}" for r in other])
    scores, y = base.predict(np.asarray([r.features for r in task])), throughput(task)
    acc = {n: pairwise_accuracy(scores[:n], y[:n]) for n in (16, 32, len(task))}
    return (f"{path}: workload {workload[:16]} seed {seed}, {len(task)} records, base from {len(other)}: "
            f"accuracy first 16 {acc[16]:.2f}, first 32 {acc[32]:.2f}, all {acc[len(task)]:.2f}")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(analyse(p), flush=True)
