"""The tuning database: one SQLite row per measurement, committed immediately.

SQLite in WAL mode with a busy timeout, so several tuning processes may write the same file; a UNIQUE
constraint on (workload, params, target, threads, candidate) means a resumed or concurrent tuning never
stores a candidate twice (INSERT OR IGNORE), while a tuning with another thread count measures it anew.

Schema versions (PRAGMA user_version): 1 had no `threads` column; opening a version-1 file migrates it
in one transaction (the table is rebuilt, since SQLite cannot change a UNIQUE constraint in place): every
row is kept, with threads = 0 ("not recorded"), which matches no real thread count, so old rows are never
reused as measurements of a specific thread count, but still serve transfer learning and `records()`. Location: an explicit path, else $POLYOPT_CACHE_DIR/tuning.db, else
~/.cache/polyopt/tuning.db.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

SCHEMA_VERSION = 2
THREADS_UNKNOWN = 0     # rows written before schema 2 (thread count not recorded)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workload TEXT NOT NULL,
    params TEXT NOT NULL,
    target TEXT NOT NULL,
    candidate TEXT NOT NULL,
    feature_version INTEGER NOT NULL,
    times TEXT NOT NULL,
    error INTEGER NOT NULL,
    error_msg TEXT NOT NULL DEFAULT '',
    seed INTEGER,
    versions TEXT NOT NULL,
    timestamp REAL NOT NULL,
    features TEXT NOT NULL DEFAULT '[]',
    threads INTEGER NOT NULL DEFAULT 0,
    UNIQUE (workload, params, target, threads, candidate)
);
CREATE INDEX IF NOT EXISTS measurements_task ON measurements (workload, params, target);
"""
_COLUMNS_V1 = ("id", "workload", "params", "target", "candidate", "feature_version", "times", "error",
               "error_msg", "seed", "versions", "timestamp", "features")


def default_path() -> Path:
    """$POLYOPT_CACHE_DIR/tuning.db or ~/.cache/polyopt/tuning.db."""
    root = os.environ.get("POLYOPT_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "polyopt"
    return base / "tuning.db"


def params_key(params: Mapping[str, int]) -> str:
    """Canonical JSON of parameter values (sorted keys)."""
    return json.dumps({k: int(v) for k, v in sorted(params.items())}, sort_keys=True)


def candidate_key(candidate_json: str) -> str:
    """Canonical form of a candidate's JSON (so formatting differences never duplicate a row)."""
    return json.dumps(json.loads(candidate_json), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class TuningRecord:
    """One measurement as stored."""

    workload: str
    params: str                      # canonical JSON
    target: str
    candidate: str                   # canonical candidate JSON
    feature_version: int
    times: tuple[float, ...]         # seconds; empty when error != 0
    error: int                       # MeasureErrorNo value
    error_msg: str = ""
    seed: int | None = None
    versions: str = "{}"
    timestamp: float = field(default_factory=time.time)
    features: tuple[float, ...] = ()  # the candidate's feature vector (feature_version), for transfer
    threads: int = THREADS_UNKNOWN    # CPU threads of the measurement (GPU targets: 0)

    @property
    def ok(self) -> bool:
        return self.error == 0 and bool(self.times)

    @property
    def median(self) -> float:
        if not self.ok:
            return math.inf
        ts = sorted(self.times)
        n = len(ts)
        return ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])

    def to_json(self) -> str:
        d = asdict(self)
        d["times"] = list(self.times)
        d["features"] = list(self.features)
        d["version"] = SCHEMA_VERSION
        return json.dumps(d, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "TuningRecord":
        d = json.loads(text)
        d.pop("version", None)
        d["times"] = tuple(float(t) for t in d["times"])
        d["features"] = tuple(float(t) for t in d.get("features", ()))
        d["threads"] = int(d.get("threads", THREADS_UNKNOWN))
        return TuningRecord(**d)


def versions_json() -> str:
    """Versions of the software that produced a measurement."""
    out: dict[str, str] = {}
    try:
        from importlib.metadata import version
        out["polyopt"] = version("polyopt")
    except Exception:  # pragma: no cover - not installed
        out["polyopt"] = "unknown"
    try:
        import llvmlite
        out["llvmlite"] = llvmlite.__version__
    except Exception:  # pragma: no cover
        out["llvmlite"] = "unknown"
    return json.dumps(out, sort_keys=True)


def _features_json(features: Sequence[float]) -> str:
    """A feature vector as stored: JSON, six decimals."""
    return json.dumps([round(float(v), 6) for v in features])


class Database:
    """SQLite tuning records; safe for several processes; every add is committed at once."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout_ms: int = 30000) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=busy_timeout_ms / 1000, isolation_level=None)
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._retry(lambda: self._conn.execute("PRAGMA journal_mode = WAL"))
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._retry(self._migrate)
        self._retry(lambda: self._conn.executescript(_SCHEMA))
        self._retry(lambda: self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}"))

    def _columns(self) -> list[str]:
        return [r[1] for r in self._conn.execute("PRAGMA table_info(measurements)").fetchall()]

    def _migrate(self) -> None:
        """Schema 1 -> 2 (adds `threads` to the row and to the UNIQUE key), keeping every row."""
        if not self._columns() or "threads" in self._columns():
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if "threads" not in self._columns():   # another process may have migrated meanwhile
                cols = ", ".join(_COLUMNS_V1)
                self._conn.execute("ALTER TABLE measurements RENAME TO measurements_v1")
                self._conn.execute("DROP INDEX IF EXISTS measurements_task")
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._conn.execute(stmt)
                self._conn.execute(f"INSERT INTO measurements ({cols}, threads) "
                                   f"SELECT {cols}, {THREADS_UNKNOWN} FROM measurements_v1")
                self._conn.execute("DROP TABLE measurements_v1")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _retry(self, fn, attempts: int = 50):  # type: ignore[no-untyped-def]
        for k in range(attempts):
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or k == attempts - 1:
                    raise
                time.sleep(0.05 * (k + 1))
        return None  # pragma: no cover

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, rec: TuningRecord) -> bool:
        """Store one measurement (committed immediately); False if it was already there."""
        cur = self._retry(lambda: self._conn.execute(
            "INSERT OR IGNORE INTO measurements (workload, params, target, candidate, feature_version, "
            "times, error, error_msg, seed, versions, timestamp, features, threads) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (rec.workload, rec.params, rec.target, candidate_key(rec.candidate), rec.feature_version,
             json.dumps(list(rec.times)), int(rec.error), rec.error_msg, rec.seed, rec.versions,
             rec.timestamp, _features_json(rec.features), int(rec.threads))))
        return bool(cur.rowcount)

    def update_features(self, rec: TuningRecord, feature_version: int, features: Sequence[float]) -> bool:
        """Replace one stored measurement's feature vector and version (its times stay as measured); False
        if the database does not hold it."""
        cur = self._retry(lambda: self._conn.execute(
            "UPDATE measurements SET feature_version = ?, features = ? WHERE workload = ? AND params = ? "
            "AND target = ? AND threads = ? AND candidate = ?",
            (int(feature_version), _features_json(features), rec.workload, rec.params,
             rec.target, int(rec.threads), candidate_key(rec.candidate))))
        return bool(cur.rowcount)

    def records(self, workload: str | None = None, params: Mapping[str, int] | str | None = None,
                target: str | None = None, threads: int | None = None) -> list[TuningRecord]:
        """Measurements matching the given task (None matches anything), in insertion order."""
        where, args = [], []
        for col, val in (("workload", workload), ("params", params), ("target", target)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val if isinstance(val, str) else params_key(val))
        if threads is not None:
            where.append("threads = ?")
            args.append(int(threads))
        sql = "SELECT workload, params, target, candidate, feature_version, times, error, error_msg, " \
              "seed, versions, timestamp, features, threads FROM measurements"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._retry(lambda: self._conn.execute(sql + " ORDER BY id", args).fetchall())
        return [_row(r) for r in rows]

    def measured(self, workload: str, params: Mapping[str, int], target: str,
                 threads: int | None = None) -> set[str]:
        """Canonical candidate JSON of everything measured for this task."""
        return {r.candidate for r in self.records(workload, params, target, threads)}

    def best(self, workload: str, params: Mapping[str, int] | str, target: str,
             threads: int | None = None) -> TuningRecord | None:
        """The fastest successful measurement of a task (any thread count when threads is None), or None."""
        ok = [r for r in self.records(workload, params, target, threads) if r.ok]
        return min(ok, key=lambda r: r.median) if ok else None

    def count(self) -> int:
        return int(self._retry(lambda: self._conn.execute("SELECT COUNT(*) FROM measurements").fetchone())[0])

    def export_jsonl(self, path: str | os.PathLike[str]) -> int:
        """Write every record as one JSON object per line; returns how many."""
        recs = self.records()
        with open(path, "w", encoding="utf-8") as f:
            for r in recs:
                f.write(r.to_json() + "\n")
        return len(recs)

    def import_jsonl(self, path: str | os.PathLike[str]) -> int:
        """Add records from a JSON-lines file; returns how many were new."""
        with open(path, encoding="utf-8") as f:
            return sum(self.add(TuningRecord.from_json(line)) for line in f if line.strip())


def _row(r: tuple) -> TuningRecord:  # type: ignore[type-arg]
    return TuningRecord(r[0], r[1], r[2], r[3], int(r[4]), tuple(json.loads(r[5])), int(r[6]), r[7],
                        r[8], r[9], float(r[10]), tuple(json.loads(r[11])), int(r[12]))


def iter_ok(records: Iterable[TuningRecord]) -> Iterator[TuningRecord]:
    return (r for r in records if r.ok)
