"""Measure again, with the current backend, the candidates recorded in tuning databases (not a test).

Ranking data outlives backend changes this way: e.g. the records measured before every generated function
realigned its stack (0b6fcb7) hold spill-heavy candidates timed in whichever stack mode their worker drew.
Each record's candidate is measured at the record's sizes and thread count and stored in OUT with its
stored features (run refeaturize.py after a feature change). Resumable: candidates already in OUT are
skipped, and every result is committed as soon as it is measured.

    python benchmarks/remeasure.py DB [DB ...] --out OUT.db [--kernels gemm,2mm] [--sample 16 --seed 0]
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np

from polyopt.cli.common import load_scop
from polyopt.kernels.registry import names
from polyopt.search.database import Database, TuningRecord, versions_json
from polyopt.search.measure import MeasureOptions, MeasureTask, Measurer

REFERENCE = '{"base":"original","trace":[]}'


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dbs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--kernels", default=None, help="comma-separated suite kernels (default: all)")
    ap.add_argument("--sample", type=int, default=0, help="at most this many records per kernel (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    kernels = args.kernels.split(",") if args.kernels else names()
    scops = {s.fingerprint: (k, s) for k, s in ((k, load_scop(f"suite:{k}")) for k in kernels)}
    groups: dict[tuple[str, str, int], dict[str, TuningRecord]] = defaultdict(dict)
    for path in args.dbs:
        for r in Database(path).records():
            if r.workload in scops:
                groups[(r.workload, r.params, r.threads)].setdefault(r.candidate, r)
    out = Database(args.out)
    done = {(r.workload, r.params, r.threads, r.candidate) for r in out.records()}
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    for (wl, params, threads), recs in sorted(groups.items(), key=lambda kv: scops[kv[0][0]][0]):
        name, scop = scops[wl]
        todo = sorted(recs)
        if args.sample and len(todo) > args.sample:
            todo = sorted(rng.choice(todo, args.sample, replace=False))
        todo = [c for c in todo if (wl, params, threads, c) not in done]
        task = MeasureTask(scop, "cpu", tuple(sorted(json.loads(params).items())))
        opts = MeasureOptions(threads=threads or None)
        with Measurer(task, opts, reference=REFERENCE) as m:
            for lo in range(0, len(todo), 16):
                batch = todo[lo:lo + 16]

                def store(i: int, res, batch=batch) -> None:   # type: ignore[no-untyped-def]
                    old = recs[batch[i]]
                    out.add(TuningRecord(wl, params, old.target, batch[i], old.feature_version,
                                         res.times if res.ok else (), int(res.error), res.message, old.seed,
                                         versions_json(), time.time(), old.features, threads))
                m.measure(batch, store)
        print(f"{name} {params}: {len(todo)} measured ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
