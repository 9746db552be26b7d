"""Benchmark of the learned search (not a test): model-guided vs random search.

For each kernel: best-so-far GFLOP/s curves (model, and random with twice the budget) over seeds, trials
to reach 95% of the best found, tuned speedup over the polly / pluto baselines, and the held-out pairwise
ranking accuracy of the cost model (leave one kernel out, trained on the other kernels' records).

    python benchmarks/bench_search.py --trials 64 --seeds 3 --size MEDIUM
    python benchmarks/bench_search.py --size BENCH --trials 120 --seeds 1 --transfer gemm,lu,heat-3d \
        --out benchmarks/results/search_bench        # issue 5's kernels at sizes that run 0.05-1 s
    python benchmarks/bench_search.py --trials 16 --seeds 1 --kernels gemm,jacobi-2d --size SMALL   # quick
    python benchmarks/bench_search.py --kernels gemm,2mm,jacobi-2d,seidel-2d --trials 64 --seeds 2 \
        --threads 1 --transfer seidel-2d --out benchmarks/results/search_medium

--out PREFIX writes PREFIX.txt (the printed tables) and PREFIX_<kernel>.png (mean best-so-far curves).
--size BENCH: the per-kernel sizes of benchmarks/search_sizes.py (original schedule 0.05-1 s).
--transfer K1,K2: after the runs, tune each K once more (seed 0, model) starting from a model trained on
the other kernels' records (all strategies), and compare its trials-to-95% with the seed-0 run without.
The ranking accuracy is measured on the random-search records (a uniform sample of each kernel's space),
with the model trained on the random-search records of the other kernels.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sqlite3
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from search_sizes import BENCH_SIZES  # noqa: E402

KERNELS = ("gemm", "2mm", "syrk", "lu", "jacobi-2d", "seidel-2d", "heat-3d")


class _Tee:
    def __init__(self, path: str | None) -> None:
        self.f = open(path, "w") if path else None

    def __call__(self, *a: object) -> None:
        line = " ".join(str(x) for x in a)
        print(line, flush=True)
        if self.f:
            self.f.write(line + "\n")
            self.f.flush()


def _tune(scop, params, db, trials, seed, strategy, batch, threads, transfer=False):  # type: ignore[no-untyped-def]
    from polyopt.search.tuner import tune

    r = tune(scop, params=params, trials=trials, db=db, seed=seed, strategy=strategy, batch_size=batch,
             transfer=transfer, baselines=("original", "polly", "pluto"), resume=False, threads=threads)
    if r.interrupted:       # Ctrl-C or SIGTERM stops the tuning, keeping its records: stop the benchmark too
        sys.exit(f"interrupted during {scop.name} {strategy} seed {seed}; records are in {db}")
    return r


def _plot(path: str, kernel: str, rows) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for s, (curves, results) in rows.items():
        n = min(len(c) for c in curves)
        if n:
            ax.plot(range(1, n + 1), np.mean([c[:n] for c in curves], axis=0), label=f"{s} (mean of {len(curves)})")
    r = rows["model"][1][0]
    for b in ("polly", "pluto"):
        t = r.baselines.get(b, math.inf)
        if math.isfinite(t) and t > 0:
            ax.axhline(r.flops / t / 1e9, ls="--", lw=1, label=b, color="gray" if b == "pluto" else "black")
    ax.set_xlabel("trials")
    ax.set_ylabel("best GFLOP/s")
    ax.set_title(kernel)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _marks(n: int) -> list[int]:
    """Trial counts to compare curves at: 1/8, 1/4, 1/2 and all of n trials (distinct, at least 1)."""
    return sorted({max(1, n // 8), max(1, n // 4), max(1, n // 2), n}) if n else []


def _trials_to(curve: list[float], frac: float, best: float) -> int | None:
    for i, v in enumerate(curve):
        if v >= frac * best:
            return i + 1
    return None


def load_records(path: str) -> list:  # type: ignore[type-arg]
    """The records of a tuning database, or of a JSON-lines export (.jsonl, .jsonl.gz; benchmarks/data)."""
    import gzip

    from polyopt.search.database import Database, TuningRecord

    if path.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            return [TuningRecord.from_json(line) for line in f if line.strip()]
    return Database(path).records()


def prior_accuracy(db_paths: list[str], min_ratio: float = 1.0) -> dict[str, float]:
    """Per workload of db_paths, the pairwise ranking accuracy of the analytic estimate alone
    (features.ANALYTIC_COST, the cost model's prior; no training): what the trees must beat. min_ratio:
    as in cost_model.pairwise_accuracy (1.1: only pairs more than 10% apart)."""
    from polyopt.search.cost_model import pairwise_accuracy
    from polyopt.search.features import ANALYTIC_COST, FEATURE_VERSION, feature_names

    col = feature_names().index(ANALYTIC_COST)
    recs = [r for p in db_paths for r in load_records(p) if r.feature_version == FEATURE_VERSION and r.features]
    out = {}
    for w in sorted({r.workload for r in recs}):
        rs = [r for r in recs if r.workload == w]
        out[w] = pairwise_accuracy(np.asarray([-r.features[col] for r in rs]),
                                   np.asarray([1 / r.median if r.ok else 0 for r in rs]), min_ratio=min_ratio)
    return out


def _current_records(paths: list[str]) -> list:  # type: ignore[type-arg]
    """The records of `paths` whose stored features are of the current FEATURE_VERSION and width."""
    from polyopt.search.features import FEATURE_VERSION, record_feature_names

    width = len(record_feature_names())
    return [r for p in paths for r in load_records(p)
            if len(r.features) == width and r.feature_version == FEATURE_VERSION]


def _columns(columns: str) -> int:
    """How many leading feature columns a model reads: all ("full") or the loop nest's ("loopnest")."""
    from polyopt.search.features import n_features, record_feature_names

    return len(record_feature_names()) if columns == "full" else n_features()


def _loko(db_paths: list[str], corpus: list[str] = (), params=None,  # type: ignore[no-untyped-def]
          columns: str = "full", min_ratio: float = 1.0, orders: int = 1) -> dict[str, float]:
    """Leave-one-kernel-out pairwise ranking accuracy from the records' stored features: each kernel of
    db_paths is ranked by a model trained on the other kernels' records and on the corpus databases'
    (records of kernels of db_paths are dropped from the corpus). params: the model's XGBParams (default:
    the tuner's, cpu_model_params()). columns: "full" (loop nest and machine code: the tuner's re-ranking
    model) or "loopnest" (the explorer's model). min_ratio: as in cost_model.pairwise_accuracy. orders:
    the mean over that many orders of the training records (the file's, then shuffled): xgboost samples
    its training pairs by position, and one order alone moves the mean by about 0.01."""
    from polyopt.search.cost_model import XGBoostCostModel, pairwise_accuracy
    from polyopt.search.tuner import cpu_model_params

    keep = _columns(columns)
    recs = _current_records(db_paths)
    work = sorted({r.workload for r in recs})
    extra = [r for r in _current_records(list(corpus)) if r.workload not in work]
    out = {}
    for w in work:
        train = [r for r in recs if r.workload != w] + extra
        test = [r for r in recs if r.workload == w]
        if len(train) < 10 or len(test) < 4:
            continue
        accuracy = []
        for k in range(orders):
            shuffled = train if k == 0 else [train[i] for i in np.random.default_rng(k).permutation(len(train))]
            m = XGBoostCostModel(cpu_model_params(params), seed=0)
            m.fit(np.asarray([r.features[:keep] for r in shuffled]),
                  np.asarray([1 / r.median if r.ok else 0 for r in shuffled]), [r.workload for r in shuffled])
            accuracy.append(pairwise_accuracy(m.predict(np.asarray([r.features[:keep] for r in test])),
                                              np.asarray([1 / r.median if r.ok else 0 for r in test]),
                                              min_ratio=min_ratio))
        out[w] = float(np.mean(accuracy))
    return out


def _within(db_paths: list[str], params=None, columns: str = "full",  # type: ignore[no-untyped-def]
            min_ratio: float = 1.0, splits: int = 4) -> dict[str, float]:
    """Within-kernel pairwise ranking accuracy: each kernel's records split in halves at random (`splits`
    times), the model trained on one half and scored on the other. The ceiling of the features on that
    much data: a kernel's own records say more about it than any other kernel's can."""
    from polyopt.search.cost_model import XGBoostCostModel, pairwise_accuracy
    from polyopt.search.tuner import cpu_model_params

    keep = _columns(columns)
    recs = _current_records(db_paths)
    out = {}
    for w in sorted({r.workload for r in recs}):
        mine = [r for r in recs if r.workload == w]
        if len(mine) < 8:
            continue
        X = np.asarray([r.features[:keep] for r in mine])
        y = np.asarray([1 / r.median if r.ok else 0 for r in mine])
        accuracy = []
        for k in range(splits):
            order = np.random.default_rng(k).permutation(len(mine))
            train, test = order[:len(mine) // 2], order[len(mine) // 2:]
            m = XGBoostCostModel(cpu_model_params(params), seed=0)
            m.fit(X[train], y[train], [w] * len(train))
            accuracy.append(pairwise_accuracy(m.predict(X[test]), y[test], min_ratio=min_ratio))
        out[w] = float(np.mean(accuracy))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernels", default=",".join(KERNELS))
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", default="MEDIUM")
    ap.add_argument("--db", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--transfer", default=None, help="kernel for the transfer experiment")
    ap.add_argument("--out", default=None, help="prefix of the .txt table and .png plots")
    ap.add_argument("--corpus", default=None,
                    help="databases of other kernels' records (benchmarks/search_dataset.py --corpus): extra "
                         "training data for the ranking check and the transfer runs")
    args = ap.parse_args()
    from polyopt.cli.common import load_scop, suite_params

    say = _Tee(args.out + ".txt" if args.out else None)
    say("$ python " + " ".join(sys.argv))
    t_start = time.time()
    db = args.db or tempfile.mktemp(suffix=".db")
    names = {}
    seed0 = {}
    summary: dict[str, dict[str, float]] = {}
    for k in args.kernels.split(","):
        scop = load_scop(f"suite:{k}")
        params = BENCH_SIZES[k] if args.size.upper() == "BENCH" else \
            {p: v for p, v in suite_params(f"suite:{k}", args.size).items() if p in scop.params}
        names[scop.fingerprint] = k
        rows = {}
        for strategy, budget in (("model", args.trials), ("random", 2 * args.trials)):
            curves, results = [], []
            for seed in range(args.seeds):
                t0 = time.time()
                r = _tune(scop, params, f"{db}.{strategy}{seed}" if strategy == "random" or seed else db,
                          budget, seed, strategy, args.batch, args.threads)
                curves.append(r.best_curve())
                results.append(r)
                say(f"  [{k} {strategy} seed {seed}: {len(r.history)} trials, {r.errors} errors, "
                    f"{time.time() - t0:.0f} s]")
            rows[strategy] = (curves, results)
        best = max(max(c[-1] for c in rows[s][0] if c) for s in rows)
        seed0[k] = (scop, params, rows["model"][0][0], best)
        if args.out:
            _plot(f"{args.out}_{k}.png", k, rows)
        base = rows["model"][1][0].baselines
        say(f"\n== {k} {params}  flops={results[0].flops:.3g}  baselines (ms): "
            + ", ".join(f"{b} {v * 1e3:.2f}" for b, v in base.items()))
        for s, (curves, results) in rows.items():
            n = min(len(c) for c in curves)
            mean = np.mean([c[:n] for c in curves], axis=0)
            marks = [mean[min(i, n - 1)] for i in (n // 8, n // 4, n // 2, n - 1)] if n else []
            t95 = [_trials_to(c, 0.95, best) for c in curves]
            sp = {b: np.exp(np.nanmean([math.log(r.speedup_over(b)) for r in results
                                        if r.speedup_over(b) == r.speedup_over(b)] or [math.nan]))
                  for b in ("original", "polly", "pluto")}
            say(f"  {s:6s} trials={n:4d} best-so-far GFLOP/s @1/8,1/4,1/2,end: "
                  f"{', '.join(f'{v:.2f}' for v in marks)}  trials-to-95%: {t95}  "
                  f"speedup: " + ", ".join(f"{b} {v:.2f}x" for b, v in sp.items()))
            summary.setdefault(s, {}).update({f"{k}:{b}": v for b, v in sp.items()})
    for s, sp in summary.items():
        for b in ("polly", "pluto", "original"):
            vals = [v for key, v in sp.items() if key.endswith(":" + b) and v == v and v > 0]
            if vals:
                say(f"geomean tuned speedup ({s}) over {b}: {math.exp(np.mean(np.log(vals))):.2f}x "
                    f"over {len(vals)} kernels")
    corpus = args.corpus.split(",") if args.corpus else []
    acc = _loko([f"{db}.random{seed}" for seed in range(args.seeds)], corpus, orders=5)
    say(f"\nleave-one-kernel-out pairwise ranking accuracy (random-search records{' + corpus' if corpus else ''}; "
        "mean of 5 training orders):",
        {names.get(w, w): round(a, 3) for w, a in acc.items()},
        f"mean {np.mean(list(acc.values())):.3f}" if acc else "")
    transfer_ratios: dict[int, list[float]] = {}
    for tk in (args.transfer.split(",") if args.transfer else []):
        if tk not in seed0:
            continue
        scop, params, curve_plain, best = seed0[tk]
        tdb = tempfile.mktemp(suffix=".db")
        shutil.copy(db, tdb)
        con = sqlite3.connect(tdb)
        for other in [f"{db}.random{seed}" for seed in range(args.seeds)] + corpus:
            con.execute("ATTACH DATABASE ? AS o", (other,))
            cols = ("workload, params, target, candidate, feature_version, times, error, error_msg, seed, "
                    "versions, timestamp, features, threads")
            con.execute(f"INSERT OR IGNORE INTO measurements ({cols}) SELECT {cols} FROM o.measurements")
            con.commit()
            con.execute("DETACH DATABASE o")
        con.execute("DELETE FROM measurements WHERE workload = ?", (scop.fingerprint,))
        n_other = con.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
        con.commit()
        con.close()
        r = _tune(scop, params, tdb, args.trials, 0, "model", args.batch, args.threads, transfer=True)
        curve_t = r.best_curve()
        best = max(best, curve_t[-1] if curve_t else 0.0)
        say(f"\ntransfer on {tk} ({n_other} records of the other kernels): trials-to-95% "
            f"with transfer {_trials_to(curve_t, 0.95, best)}, without {_trials_to(curve_plain, 0.95, best)}; "
            f"trials-to-90% with {_trials_to(curve_t, 0.90, best)}, without {_trials_to(curve_plain, 0.90, best)}; "
            f"best {curve_t[-1] if curve_t else 0:.2f} vs {curve_plain[-1] if curve_plain else 0:.2f} GFLOP/s")
        marks = _marks(min(len(curve_t), len(curve_plain)))
        ratios = {n: curve_t[n - 1] / curve_plain[n - 1] for n in marks if curve_plain[n - 1] > 0}
        for n, v in ratios.items():
            transfer_ratios.setdefault(n, []).append(v)
        say("  best-so-far GFLOP/s with / without transfer at trials "
            + ", ".join(f"{n}: {curve_t[n - 1]:.2f} / {curve_plain[n - 1]:.2f}" for n in marks))
    if transfer_ratios:
        say("transfer: geomean ratio of best-so-far GFLOP/s (with / without) at trials "
            + ", ".join(f"{n}: {math.exp(np.mean(np.log(v))):.3f}" for n, v in sorted(transfer_ratios.items()))
            + " (a ratio at fixed trials does not hinge on a curve being just above or below the 95% line)")
    say(f"total wall time {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
