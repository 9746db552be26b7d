"""How long isl takes to generate the loop AST of random points of each kernel's search space (not a test).

    python benchmarks/ast_build_times.py [--kernels heat-3d,lu,jacobi-2d,seidel-2d,2mm] [--points 150] [--seed 7]

Builds in this process (no time limit), BENCH sizes (benchmarks/search_sizes.py), and prints per kernel the
median, 95th percentile and maximum, with the knob values of the slowest point when it took over 2 s. The
tuner builds these ASTs for its features in a worker process cut after TuneOptions.ast_timeout (10 s):
benchmarks/results/search_counts_2026-11-27.md.
"""
from __future__ import annotations

import argparse
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import numpy as np
from search_sizes import BENCH_SIZES


def main() -> None:
    from polyopt.cli.common import load_scop
    from polyopt.search import backend
    from polyopt.search.space import SearchSpace

    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", default="heat-3d,lu,jacobi-2d,seidel-2d,2mm")
    ap.add_argument("--points", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    for k in args.kernels.split(","):
        scop, params = load_scop(f"suite:{k}"), BENCH_SIZES[k]
        space = SearchSpace(scop, params)
        rng = np.random.default_rng(args.seed)
        times: list[float] = []
        worst: tuple[float, dict] = (0.0, {})
        for _ in range(args.points):
            p = space.sample(rng)
            t0 = time.perf_counter()
            try:
                backend.loop_program(scop, space.schedule(p), params)
            except Exception as e:  # noqa: BLE001 - reported, and timed like the others
                print(f"  {k}: {type(e).__name__}: {str(e)[:100]}")
            dt = time.perf_counter() - t0
            times.append(dt)
            if dt > worst[0]:
                worst = (dt, space.describe(p))
        t = np.asarray(times)
        print(f"{k}: {len(t)} points, median {np.median(t) * 1e3:.0f} ms, p95 {np.percentile(t, 95) * 1e3:.0f} ms, "
              f"max {t.max():.2f} s", flush=True)
        if worst[0] > 2.0:
            print("   slowest:", worst[1], flush=True)


if __name__ == "__main__":
    main()
