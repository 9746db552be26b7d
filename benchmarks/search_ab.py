"""A/B of the model strategy's settings on one kernel (not a test): the best time after each 16 trials, per seed.

    python benchmarks/search_ab.py KERNEL TRIALS "VARIANT" SEEDS
    python benchmarks/search_ab.py gemm 64 "" 0,1,2                           # the defaults
    python benchmarks/search_ab.py gemm 64 "n_chains=32;n_steps=12;factor=2" 0,1,2
    python benchmarks/search_ab.py gemm 64 "batch=8;seeds=0" 0,1,2

VARIANT: `;`-separated settings: SAOptions fields (n_chains, n_steps, epsilon, elite_chains, ...), batch
(batch size), factor (the tuner's propose_time_factor), seeds (0: no seed points), prior (the cost model's
prior_scale; 0: no analytic prior), pool (the tuner's rerank_pool; 1: no machine-code re-ranking).
Prints one JSON line per seed:
best milliseconds after 16, 32, 48, 64 trials and at the end, and the `polly` baseline of the same run.
Sizes: benchmarks/search_sizes.py (BENCH); 1 thread; a fresh temporary database per run.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from search_sizes import BENCH_SIZES


def main() -> None:
    from polyopt.search import tuner

    from polyopt.cli.common import load_scop

    kernel, trials, variant, seeds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    batch, use_seeds, sa, model, factor = 16, True, tuner.CPU_SA, tuner.XGBParams(), tuner.PROPOSE_TIME_FACTOR
    pool = tuner.RERANK_POOL
    for setting in filter(None, variant.split(";")):
        key, val = setting.split("=")
        if key == "batch":
            batch = int(val)
        elif key == "factor":
            factor = float(val)
        elif key == "seeds":
            use_seeds = bool(int(val))
        elif key == "pool":
            pool = int(val)
        elif key == "prior":
            model = replace(model, prior_scale=float(val))
        else:
            sa = replace(sa, **{key: type(getattr(sa, key))(float(val))})
    scop = load_scop(f"suite:{kernel}")
    for seed in (int(s) for s in seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.time()
            r = tuner.tune(scop, params=BENCH_SIZES[kernel], trials=trials, db=str(Path(tmp) / "ab.db"), seed=seed,
                           batch_size=batch, transfer=False, resume=False, threads=1, sa_options=sa,
                           baselines=("original", "polly", "pluto"), seeds=use_seeds, model_params=model,
                           propose_time_factor=factor, rerank_pool=pool)
        if r.interrupted:   # Ctrl-C or SIGTERM: stop here, not only this seed's tuning
            sys.exit(f"interrupted during seed {seed}")
        best, curve = float("inf"), []
        for t in r.history:
            best = min(best, t.seconds)
            curve.append(best)
        marks = [curve[i] for i in range(15, len(curve), 16)] + curve[-1:]
        print(json.dumps({"k": kernel, "variant": variant, "seed": seed, "best_ms": [round(v * 1e3, 2) for v in marks],
                          "polly_ms": round(r.baselines["polly"] * 1e3, 2), "wall": round(time.time() - t0)}),
              flush=True)


if __name__ == "__main__":
    main()
