"""Post-processing of the interrupted MEDIUM benchmark db: LOKO pairwise accuracy, and a transfer run on gemm."""
import math, shutil, sqlite3, sys, tempfile, time
import numpy as np
sys.path.insert(0, "benchmarks")
from bench_search import _loko, _trials_to, _tune
from polyopt.cli.common import load_scop, suite_params
from polyopt.search.database import Database

def main():
    db = "/tmp/bench_search_medium.db"
    names = {}
    for k in ("gemm", "2mm", "jacobi-2d"):
        names[load_scop(f"suite:{k}").fingerprint] = k
    recs = Database(db).records()
    print("records per kernel:", {names.get(w, w): sum(r.workload == w for r in recs) for w in names})
    acc = _loko(db)
    print("leave-one-kernel-out pairwise ranking accuracy:", {names.get(w, w): round(a, 3) for w, a in acc.items()},
          f"mean {np.mean(list(acc.values())):.3f}")
    k = "gemm"
    scop = load_scop(f"suite:{k}")
    params = {p: v for p, v in suite_params(f"suite:{k}", "MEDIUM").items() if p in scop.params}
    from polyopt.search.features import count_flops
    flops = count_flops(scop, params)
    plain = [flops / r.median / 1e9 if r.ok else 0.0 for r in recs if r.workload == scop.fingerprint]
    curve_plain = list(np.maximum.accumulate(plain))
    tdb = tempfile.mktemp(suffix=".db"); shutil.copy(db, tdb)
    con = sqlite3.connect(tdb); con.execute("DELETE FROM measurements WHERE workload = ?", (scop.fingerprint,))
    n_other = con.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]; con.commit(); con.close()
    t0 = time.time()
    r = _tune(scop, params, tdb, 64, 0, "model", 32, 1, transfer=True)
    curve_t = r.best_curve()
    best = max(curve_t[-1], curve_plain[-1])
    print(f"transfer on gemm ({n_other} records of 2mm + jacobi-2d; {time.time() - t0:.0f} s): best {curve_t[-1]:.1f} "
          f"vs {curve_plain[-1]:.1f} GFLOP/s without; trials-to-95% of the better best: with {_trials_to(curve_t, .95, best)}, "
          f"without {_trials_to(curve_plain, .95, best)}; to-90%: with {_trials_to(curve_t, .9, best)}, "
          f"without {_trials_to(curve_plain, .9, best)}; speedup over polly with transfer {r.speedup_over('polly'):.2f}x")

if __name__ == '__main__':
    main()
