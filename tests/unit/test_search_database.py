import os
import signal
import subprocess
import sys
import time

from polyopt.search.database import Database, TuningRecord, params_key


def rec(cand, t=1.0, err=0, workload="w"):
    return TuningRecord(workload, params_key({"N": 8}), "cpu:x", f'{{"c": {cand}}}', 1,
                        (t,) if err == 0 else (), err)


def test_add_dedupe_best_export_import(tmp_path):
    db = Database(tmp_path / "a.db")
    assert db.add(rec(1, 2.0)) and db.add(rec(2, 1.0)) and db.add(rec(3, err=5))
    assert not db.add(rec(1, 0.5))                   # same candidate: never stored twice
    assert db.best("w", {"N": 8}, "cpu:x").candidate == '{"c":2}'
    n = db.export_jsonl(tmp_path / "out.jsonl")
    other = Database(tmp_path / "b.db")
    assert other.import_jsonl(tmp_path / "out.jsonl") == n == 3
    assert other.import_jsonl(tmp_path / "out.jsonl") == 0


_WRITER = """
import sys
from polyopt.search.database import Database, TuningRecord, params_key
db = Database(sys.argv[1])
for i in range(200):
    db.add(TuningRecord("w", params_key({"N": 8}), "cpu:x", '{"c": %d}' % i, 1, (float(i),), 0))
"""


def test_two_concurrent_writers(tmp_path):
    path = str(tmp_path / "c.db")
    Database(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, path]) for _ in range(2)]
    assert all(p.wait(120) == 0 for p in procs)
    db = Database(path)
    assert db.count() == 200                          # overlapping candidates: no duplicates, none lost


_TUNE = """
import sys
from polyopt.search.testing import gemm
from polyopt.search.tuner import tune
from polyopt.search.measure import MeasureOptions
if __name__ == "__main__":
    r = tune(gemm(), params={"NI": 24, "NJ": 24, "NK": 24}, trials=int(sys.argv[2]), db=sys.argv[1], seed=0,
             strategy="random", batch_size=4, measure_options=MeasureOptions(min_time=0.01, build_workers=1),
             baselines=("original",))
    print("DONE", len(r.history))
"""


def test_killed_tuning_resumes_without_loss_or_duplicates(tmp_path):
    path = str(tmp_path / "k.db")
    script = tmp_path / "tune_script.py"
    script.write_text(_TUNE)
    Database(path).close()
    proc = subprocess.Popen([sys.executable, str(script), path, "40"], start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and Database(path).count() < 5:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)                # kill -9 the tuner and its workers mid-run
    proc.wait()
    before = {r.candidate: r.times for r in Database(path).records()}
    assert len(before) >= 5
    out = subprocess.run([sys.executable, str(script), path, "12"], capture_output=True, text=True, timeout=300)
    assert "DONE" in out.stdout, out.stderr[-2000:]
    after = Database(path).records()
    cands = [r.candidate for r in after]
    assert len(cands) == len(set(cands))               # nothing measured twice
    assert {r.candidate: r.times for r in after if r.candidate in before} == before   # nothing lost
    assert len(after) >= max(12, len(before))


_V1_SCHEMA = """
CREATE TABLE measurements (
    id INTEGER PRIMARY KEY AUTOINCREMENT, workload TEXT NOT NULL, params TEXT NOT NULL, target TEXT NOT NULL,
    candidate TEXT NOT NULL, feature_version INTEGER NOT NULL, times TEXT NOT NULL, error INTEGER NOT NULL,
    error_msg TEXT NOT NULL DEFAULT '', seed INTEGER, versions TEXT NOT NULL, timestamp REAL NOT NULL,
    features TEXT NOT NULL DEFAULT '[]', UNIQUE (workload, params, target, candidate));
CREATE INDEX measurements_task ON measurements (workload, params, target);
"""


def test_schema1_file_is_migrated_without_losing_rows_and_threads_is_part_of_the_key(tmp_path):
    import sqlite3

    path = tmp_path / "v1.db"
    con = sqlite3.connect(path)
    con.executescript(_V1_SCHEMA)
    for i in range(5):
        con.execute("INSERT INTO measurements (workload, params, target, candidate, feature_version, times, "
                    "error, versions, timestamp, features) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    ("w", params_key({"N": 8}), "cpu:x", f'{{"c":{i}}}', 1, f"[{i + 1.0}]", 0, "{}", 1.0,
                     "[0.5]"))
    con.commit()
    con.close()
    db = Database(path)
    old = db.records()
    assert len(old) == 5 and {r.threads for r in old} == {0} and old[0].features == (0.5,)
    assert db.best("w", {"N": 8}, "cpu:x").candidate == '{"c":0}'
    # the same candidate measured with 2 threads is a new row; with 2 threads again it is not
    r2 = TuningRecord("w", params_key({"N": 8}), "cpu:x", '{"c": 0}', 1, (0.25,), 0, threads=2)
    assert db.add(r2) and not db.add(r2)
    assert len(db.records("w", {"N": 8}, "cpu:x", threads=2)) == 1
    assert len(db.records("w", {"N": 8}, "cpu:x", threads=0)) == 5
    assert db.best("w", {"N": 8}, "cpu:x").threads == 2
    db.close()
    again = Database(path)                          # reopening a migrated file changes nothing
    assert again.count() == 6
    assert again._conn.execute("PRAGMA user_version").fetchone()[0] == 2
    rt = TuningRecord.from_json(r2.to_json())
    assert rt.threads == 2 and rt == r2
