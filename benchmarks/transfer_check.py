"""Transfer experiment (not a test): does a model trained on other kernels' records cut the trials a new
kernel needs? For each kernel K and seed: a model run without transfer, and a model run with transfer,
whose database holds the source databases' records of every kernel but K; both start empty for K.

    python benchmarks/transfer_check.py --trials 64 --sources /tmp/corpus.db,/tmp/bench_random.db \
        --kernels gemm,2mm,syrk,lu,jacobi-2d,seidel-2d,heat-3d --out /tmp/transfer.txt

Prints per run: best time each arm's search found, and the search trials (the polly baseline, measured
first, not counted) each needs to reach 95% (and 90%) of the better of the two; a kernel counts as helped when transfer needs at most half the trials. The source records must
be of the current FEATURE_VERSION (benchmarks/refeaturize.py) and of this machine's target: the tuner's
transfer model uses only those. Sizes: benchmarks/search_sizes.py (BENCH).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_sizes import BENCH_SIZES  # noqa: E402

COLS = ("workload, params, target, candidate, feature_version, times, error, error_msg, seed, versions, "
        "timestamp, features, threads")


def merged_sources(sources: list[str], drop_workload: str) -> tuple[str, int]:
    """A new database holding the sources' records except those of drop_workload; (path, records)."""
    path = tempfile.mktemp(suffix=".db")
    con = sqlite3.connect(path)
    src = sqlite3.connect(sources[0])
    src.backup(con)
    src.close()
    for other in sources[1:]:
        con.execute("ATTACH DATABASE ? AS o", (other,))
        con.execute(f"INSERT OR IGNORE INTO measurements ({COLS}) SELECT {COLS} FROM o.measurements")
        con.commit()
        con.execute("DETACH DATABASE o")
    con.execute("DELETE FROM measurements WHERE workload = ?", (drop_workload,))
    n = con.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
    con.commit()
    con.close()
    return path, n


def best_curve(result) -> list[float]:  # type: ignore[no-untyped-def]
    """Best time so far after each search trial (inf until the first success). The baselines, measured
    first into the empty database, are left out: the question is how fast each arm's search finds."""
    out, best = [], float("inf")
    for t in result.history[len(result.baselines):]:
        best = min(best, t.seconds)
        out.append(best)
    return out


def trials_to(curve: list[float], target: float) -> int | None:
    return next((i + 1 for i, v in enumerate(curve) if v <= target), None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--sources", required=True, help="comma-separated databases of other kernels' records")
    ap.add_argument("--kernels", default=",".join(BENCH_SIZES))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-seeds", action="store_true",
                    help="both arms without seed points (search/seeds.py), so that only the models differ")
    args = ap.parse_args()
    from polyopt.cli.common import load_scop
    from polyopt.search.tuner import tune

    out = open(args.out, "w") if args.out else None

    def say(line: str) -> None:
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()
    say("$ python " + " ".join(sys.argv))
    helped = []
    for k in args.kernels.split(","):
        scop, params = load_scop(f"suite:{k}"), BENCH_SIZES[k]
        for seed in (int(s) for s in args.seeds.split(",")):
            curves, n_src = {}, 0
            for arm in ("plain", "transfer"):
                if arm == "transfer":
                    db, n_src = merged_sources(args.sources.split(","), scop.fingerprint)
                else:
                    db = tempfile.mktemp(suffix=".db")
                t0 = time.time()
                r = tune(scop, params=params, trials=args.trials + 1, db=db, seed=seed, strategy="model",
                         batch_size=16, transfer=arm == "transfer", baselines=("polly",), resume=False, threads=1,
                         seeds=not args.no_seeds)
                if r.interrupted:
                    sys.exit(f"interrupted during {k} {arm}")
                curves[arm] = (best_curve(r), r.baselines.get("polly", float("nan")), time.time() - t0)
            best = min(c[0][-1] for c in curves.values())
            t95 = {a: trials_to(c[0], best / 0.95) for a, c in curves.items()}
            t90 = {a: trials_to(c[0], best / 0.90) for a, c in curves.items()}
            # without transfer never reaching 95% means "more than the budget": a 2x cut is shown only when
            # transfer needed at most half the budget
            plain = t95["plain"] if t95["plain"] is not None else args.trials + 1
            ok = t95["transfer"] is not None and 2 * t95["transfer"] <= plain
            if ok:
                helped.append(f"{k}/{seed}")
            say(f"{k} seed {seed}: transfer from {n_src} records; best of the search, ms: plain {curves['plain'][0][-1] * 1e3:.2f}, "
                f"transfer {curves['transfer'][0][-1] * 1e3:.2f} (polly {curves['plain'][1] * 1e3:.2f}); "
                f"trials to 95%: plain {t95['plain']}, transfer {t95['transfer']}; to 90%: plain {t90['plain']}, "
                f"transfer {t90['transfer']}{'  <- at least 2x fewer' if ok else ''} "
                f"[{curves['plain'][2]:.0f} s, {curves['transfer'][2]:.0f} s]")
    say(f"transfer needs at most half the trials to 95% on: {', '.join(helped) or 'none'}")


if __name__ == "__main__":
    main()
