"""Measure uniformly random legal candidates of the benchmark kernels into a tuning database (not a test).

The records are the data set for judging the cost model offline: pairwise ranking accuracy on a kernel
the model was not trained on (leave one kernel out) is computed over a uniform sample of that kernel's
space, not over the candidates a model-guided search happened to pick.

    python benchmarks/search_dataset.py --trials 120 --db /tmp/search_dataset.db [--kernels gemm,lu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_sizes import BENCH_SIZES  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", default=",".join(BENCH_SIZES))
    ap.add_argument("--trials", type=int, default=120)
    ap.add_argument("--db", required=True)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from polyopt.cli.common import load_scop
    from polyopt.search.tuner import tune

    for k in args.kernels.split(","):
        scop = load_scop(f"suite:{k}")
        t0 = time.time()
        r = tune(scop, params=BENCH_SIZES[k], trials=args.trials, db=args.db, seed=args.seed, strategy="random",
                 batch_size=16, transfer=False, baselines=("original", "polly", "pluto"), threads=args.threads)
        print(f"{k}: {len(r.history)} records, {r.errors} errors, best {r.best.gflops if r.best else 0:.2f} "
              f"GFLOP/s, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
