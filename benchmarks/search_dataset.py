"""Measure uniformly random legal candidates of suite kernels into a tuning database (not a test).

The records are the data set for judging the cost model offline: pairwise ranking accuracy on a kernel
the model was not trained on (leave one kernel out) is computed over a uniform sample of that kernel's
space, not over the candidates a model-guided search happened to pick. `--corpus` measures the *other*
suite kernels (all but the seven of the search benchmark) at PolyBench dataset sizes: training data from
kernels the benchmark never evaluates, for the cross-kernel model (transfer).

    python benchmarks/search_dataset.py --trials 120 --db /tmp/search_dataset.db [--kernels gemm,lu]
    python benchmarks/search_dataset.py --corpus --trials 64 --db /tmp/corpus.db
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_sizes import BENCH_SIZES  # noqa: E402

# Kernels of O(n^2) work run for well under a millisecond at MEDIUM: LARGE gives them a measurable time.
CORPUS_SIZE = {"gemver": "LARGE", "gesummv": "LARGE", "atax": "LARGE", "bicg": "LARGE", "mvt": "LARGE",
               "trisolv": "LARGE", "durbin": "LARGE", "jacobi-1d": "LARGE"}


def corpus_tasks() -> list[tuple[str, dict[str, int]]]:
    """(kernel, sizes) of every suite kernel outside the search benchmark."""
    from polyopt.kernels.registry import dataset, names

    return [(k, dataset(k, CORPUS_SIZE.get(k, "MEDIUM"))) for k in names() if k not in BENCH_SIZES]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", default=None, help="comma-separated (default: the benchmark's seven)")
    ap.add_argument("--corpus", action="store_true", help="the other suite kernels at PolyBench sizes")
    ap.add_argument("--trials", type=int, default=120)
    ap.add_argument("--db", required=True)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from polyopt.cli.common import load_scop
    from polyopt.search.tuner import tune

    if args.corpus:
        tasks = corpus_tasks()
        if args.kernels:
            tasks = [t for t in tasks if t[0] in args.kernels.split(",")]
    else:
        tasks = [(k, BENCH_SIZES[k]) for k in (args.kernels or ",".join(BENCH_SIZES)).split(",")]
    for k, params in tasks:
        scop = load_scop(f"suite:{k}")
        t0 = time.time()
        r = tune(scop, params=params, trials=args.trials, db=args.db, seed=args.seed, strategy="random",
                 batch_size=16, transfer=False, baselines=("original",), threads=args.threads)
        if r.interrupted:
            sys.exit(f"interrupted during {k}; records are in {args.db}")
        print(f"{k} {params}: {len(r.history)} records, {r.errors} errors, best "
              f"{r.best.gflops if r.best else 0:.2f} GFLOP/s, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
