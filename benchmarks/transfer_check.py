"""Transfer experiment (not a test): tune K (model, seed 0, transfer=True) from the other kernels' records; compare
trials-to-95%/90% with K's model run without transfer over the same number of trials.

    python benchmarks/transfer_check.py TRIALS SOURCE_DB[,SOURCE_DB...] K=PLAIN_DB[,K=PLAIN_DB...] K [K ...]
"""
import sys, json, sqlite3, shutil, tempfile, time
import numpy as np
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from search_sizes import BENCH_SIZES

COLS = "workload, params, target, candidate, feature_version, times, error, error_msg, seed, versions, timestamp, features, threads"

def curve(db, params, n):
    rows = sqlite3.connect(db).execute("select times, error from measurements where params = ? order by id", (json.dumps(params),)).fetchall()[:n]
    best, out = np.inf, []
    for t, e in rows:
        if e == 0: best = min(best, float(np.median(json.loads(t))))
        out.append(best)
    return out

def first(c, thr):
    return next((i + 1 for i, v in enumerate(c) if v <= thr), None)

def main():
    from polyopt.cli.common import load_scop
    from polyopt.search.tuner import tune
    trials = int(sys.argv[1]); sources = sys.argv[2].split(","); plain_dbs = dict(a.split("=") for a in sys.argv[3].split(","))
    for k in sys.argv[4:]:
        scop = load_scop(f"suite:{k}"); params = BENCH_SIZES[k]
        tdb = tempfile.mktemp(suffix=".db")
        con = sqlite3.connect(tdb)
        src = sqlite3.connect(sources[0]); src.backup(con); src.close()
        for other in sources[1:]:
            con.execute("ATTACH DATABASE ? AS o", (other,))
            con.execute(f"INSERT OR IGNORE INTO measurements ({COLS}) SELECT {COLS} FROM o.measurements")
            con.commit(); con.execute("DETACH DATABASE o")
        con.execute("DELETE FROM measurements WHERE workload = ?", (scop.fingerprint,))
        n_other = con.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
        con.commit(); con.close()
        t0 = time.time()
        r = tune(scop, params=params, trials=trials, db=tdb, seed=0, strategy="model", batch_size=16, transfer=True,
                 baselines=("original", "polly", "pluto"), resume=False, threads=1)
        ct = [min(t.seconds for t in r.history[:i + 1]) for i in range(len(r.history))]
        cp = curve(plain_dbs[k], params, trials)
        best = min(ct[-1], cp[-1])
        print(f"{k}: transfer from {n_other} records of other kernels ({time.time() - t0:.0f} s); over {trials} trials: "
              f"best {ct[-1] * 1e3:.2f} ms with transfer, {cp[-1] * 1e3:.2f} ms without; trials to 95% of the better: "
              f"with {first(ct, best / 0.95)}, without {first(cp, best / 0.95)}; to 90%: with {first(ct, best / 0.90)}, "
              f"without {first(cp, best / 0.90)}", flush=True)

if __name__ == "__main__":
    main()
