"""Benchmark of the learned search (not a test): model-guided vs random search.

For each kernel: best-so-far GFLOP/s curves (model, and random with twice the budget) over seeds, trials
to reach 95% of the best found, tuned speedup over the polly / pluto baselines, and the held-out pairwise
ranking accuracy of the cost model (leave one kernel out, trained on the other kernels' records).

    python benchmarks/bench_search.py --trials 64 --seeds 3 --size MEDIUM
    python benchmarks/bench_search.py --trials 16 --seeds 1 --kernels gemm,jacobi-2d --size SMALL   # quick
"""

from __future__ import annotations

import argparse
import math
import tempfile

import numpy as np

KERNELS = ("gemm", "2mm", "syrk", "lu", "jacobi-2d", "seidel-2d", "heat-3d")


def _tune(scop, params, db, trials, seed, strategy, batch):  # type: ignore[no-untyped-def]
    from polyopt.search.tuner import tune

    return tune(scop, params=params, trials=trials, db=db, seed=seed, strategy=strategy, batch_size=batch,
                transfer=False, baselines=("original", "polly", "pluto"), resume=False)


def _trials_to(curve: list[float], frac: float, best: float) -> int | None:
    for i, v in enumerate(curve):
        if v >= frac * best:
            return i + 1
    return None


def _loko(db_path: str) -> dict[str, float]:
    """Leave-one-kernel-out pairwise ranking accuracy from the records' stored features."""
    from polyopt.search.cost_model import XGBoostCostModel, pairwise_accuracy
    from polyopt.search.database import Database

    recs = [r for r in Database(db_path).records() if r.features]
    work = sorted({r.workload for r in recs})
    out = {}
    for w in work:
        train = [r for r in recs if r.workload != w]
        test = [r for r in recs if r.workload == w]
        if len(train) < 10 or len(test) < 4:
            continue
        m = XGBoostCostModel(seed=0)
        m.fit(np.asarray([r.features for r in train]), np.asarray([1 / r.median if r.ok else 0 for r in train]),
              [r.workload for r in train])
        out[w] = pairwise_accuracy(m.predict(np.asarray([r.features for r in test])),
                                   np.asarray([1 / r.median if r.ok else 0 for r in test]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", default="MEDIUM")
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    from polyopt.cli.common import load_scop, suite_params

    db = args.db or tempfile.mktemp(suffix=".db")
    names = {}
    for k in args.kernels.split(","):
        scop = load_scop(f"suite:{k}")
        params = {p: v for p, v in suite_params(f"suite:{k}", args.size).items() if p in scop.params}
        names[scop.fingerprint] = k
        rows = {}
        for strategy, budget in (("model", args.trials), ("random", 2 * args.trials)):
            curves, results = [], []
            for seed in range(args.seeds):
                r = _tune(scop, params, f"{db}.{strategy}{seed}" if strategy == "random" or seed else db,
                          budget, seed, strategy, args.batch)
                curves.append(r.best_curve())
                results.append(r)
            rows[strategy] = (curves, results)
        best = max(max(c[-1] for c in rows[s][0] if c) for s in rows)
        print(f"\n== {k} {params}  flops={results[0].flops:.3g}  original={rows['model'][1][0].baselines}")
        for s, (curves, results) in rows.items():
            n = min(len(c) for c in curves)
            mean = np.mean([c[:n] for c in curves], axis=0)
            marks = [mean[min(i, n - 1)] for i in (n // 8, n // 4, n // 2, n - 1)] if n else []
            t95 = [_trials_to(c, 0.95, best) for c in curves]
            sp = {b: np.exp(np.nanmean([math.log(r.speedup_over(b)) for r in results
                                        if r.speedup_over(b) == r.speedup_over(b)] or [math.nan]))
                  for b in ("original", "polly", "pluto")}
            print(f"  {s:6s} trials={n:4d} best-so-far GFLOP/s @1/8,1/4,1/2,end: "
                  f"{', '.join(f'{v:.2f}' for v in marks)}  trials-to-95%: {t95}  "
                  f"speedup: " + ", ".join(f"{b} {v:.2f}x" for b, v in sp.items()))
    acc = _loko(db)
    print("\nleave-one-kernel-out pairwise ranking accuracy:",
          {names.get(w, w): round(a, 3) for w, a in acc.items()})


if __name__ == "__main__":
    main()
