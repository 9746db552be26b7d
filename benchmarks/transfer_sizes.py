"""Transfer across sizes (not a test): does tuning a kernel at smaller sizes first cut the trials it needs at
the real sizes? For each kernel K and seed: K is tuned at its BENCH sizes divided by --divisor (--small-trials,
model strategy, its own database), then at the BENCH sizes twice, both from empty records of that task: once
with the small run's database (the tuner's transfer then trains its base model on K's records at the other
size, tuner._transfer_records), once with an empty database.

    python benchmarks/transfer_sizes.py --trials 48 --small-trials 48 --kernels gemm,lu --seeds 0 [--no-seeds]

Prints per run the best time of each arm, the search trials (the polly baseline, measured first, not counted)
each needs to reach 95% of the better arm's best, the best-so-far ratio (without / with the small run's
records: above 1 means transfer is ahead) after 8, 16, 32 and all trials, and the seconds the small run took.
Sizes: benchmarks/search_sizes.py (BENCH); 1 thread.
"""
from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_sizes import BENCH_SIZES  # noqa: E402
from transfer_check import best_curve, trials_to  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=48)
    ap.add_argument("--small-trials", type=int, default=48)
    ap.add_argument("--divisor", type=int, default=4)
    ap.add_argument("--kernels", default=",".join(BENCH_SIZES))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--no-seeds", action="store_true", help="no seed points (search/seeds.py) in any run")
    args = ap.parse_args()
    from polyopt.cli.common import load_scop
    from polyopt.search.tuner import tune

    print("$ python " + " ".join(sys.argv), flush=True)
    marks = (8, 16, 32, args.trials)
    ratios: dict[int, list[float]] = {}
    helped = []
    for k in args.kernels.split(","):
        scop, params = load_scop(f"suite:{k}"), BENCH_SIZES[k]
        small = {p: min(v, max(8, round(v / args.divisor))) for p, v in params.items()}
        for seed in (int(s) for s in args.seeds.split(",")):
            tmp = Path(tempfile.mkdtemp(prefix="xsize-"))
            t0 = time.time()
            tune(scop, params=small, trials=args.small_trials, db=str(tmp / "small.db"), seed=seed, transfer=False,
                 baselines=("polly",), resume=False, threads=1, seeds=not args.no_seeds)
            t_small = time.time() - t0
            curves = {}
            for arm in ("plain", "sizes"):
                db = tmp / f"{arm}.db"
                if arm == "sizes":
                    shutil.copy(tmp / "small.db", db)
                r = tune(scop, params=params, trials=args.trials + 1, db=str(db), seed=seed, transfer=True,
                         baselines=("polly",), resume=False, threads=1, seeds=not args.no_seeds)
                if r.interrupted:
                    sys.exit(f"interrupted during {k} {arm}")
                curves[arm] = best_curve(r)
            shutil.rmtree(tmp)
            best = min(c[-1] for c in curves.values())
            t95 = {a: trials_to(c, best / 0.95) for a, c in curves.items()}
            plain = t95["plain"] if t95["plain"] is not None else args.trials + 1
            if t95["sizes"] is not None and 2 * t95["sizes"] <= plain:
                helped.append(f"{k}/{seed}")
            at = {n: curves["plain"][min(n, len(curves["plain"])) - 1] / curves["sizes"][min(n, len(curves["sizes"])) - 1]
                  for n in marks}
            for n, v in at.items():
                if math.isfinite(v):
                    ratios.setdefault(n, []).append(v)
            print(f"{k} seed {seed}: best ms plain {curves['plain'][-1] * 1e3:.2f}, with {small} records "
                  f"{curves['sizes'][-1] * 1e3:.2f}; trials to 95%: plain {t95['plain']}, with {t95['sizes']}; "
                  "best-so-far plain/with at " + ", ".join(f"{n}: {v:.3f}" for n, v in at.items())
                  + f"; small run {t_small:.0f} s", flush=True)
    print("geomean best-so-far plain/with at " + ", ".join(
        f"{n}: {math.exp(sum(map(math.log, v)) / len(v)):.3f}" for n, v in sorted(ratios.items())))
    print(f"with the small run's records, at most half the trials to 95% on: {', '.join(helped) or 'none'}")


if __name__ == "__main__":
    main()
