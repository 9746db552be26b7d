"""Ctrl-C during tuning: the process stops promptly, reports `interrupted`, leaves no worker behind, and
every measurement it reported is in the database (nothing measured is lost)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest


def _count(path) -> int:
    try:
        con = sqlite3.connect(path, timeout=5)
        n = con.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
        con.close()
        return int(n)
    except sqlite3.OperationalError:
        return 0


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _start_tuning(db) -> subprocess.Popen:
    """A CLI tuning run in its own session (process group), once it has stored 6 measurements."""
    cmd = [sys.executable, "-m", "polyopt.cli", "tune", "suite:gemm", "--size", "MINI", "--trials", "500",
           "--batch-size", "8", "--db", str(db), "--json", "--no-transfer", "--timeout", "20"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 240
    while _count(db) < 6 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    return proc


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_sigint_stops_cleanly_and_keeps_every_record(tmp_path):
    db = tmp_path / "t.db"
    proc = _start_tuning(db)
    assert _count(db) >= 6, "tuning did not start measuring in time"
    os.killpg(proc.pid, signal.SIGINT)            # what a terminal's Ctrl-C does: the whole process group
    t0 = time.time()
    out, err = proc.communicate(timeout=60)
    assert time.time() - t0 < 30, "Ctrl-C took too long to stop tuning"
    assert proc.returncode in (0, 1), err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    summary = json.loads(out[out.index("{"):])
    assert summary["interrupted"] is True
    n_db = _count(db)
    # everything measured is in the database (the candidate in flight may be missing from both)
    assert n_db >= summary["trials"] >= 6
    assert n_db - summary["trials"] <= 1
    gone = time.time() + 15          # the forkserver and resource tracker exit once their parent is gone
    while _alive(proc.pid) and time.time() < gone:
        time.sleep(0.2)
    assert not _alive(proc.pid), "worker processes survived the interrupt"


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_sigterm_to_the_tuner_alone_stops_it_like_ctrl_c_and_leaves_no_worker(tmp_path):
    """`kill PID` reaches only the tuning process: it must still shut its measurement workers down (they
    used to survive, idle, when the parent was terminated) and keep every record."""
    db = tmp_path / "t.db"
    proc = _start_tuning(db)
    os.kill(proc.pid, signal.SIGTERM)             # the tuning process only, not its workers
    out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err[-2000:]
    summary = json.loads(out[out.index("{"):])
    assert summary["interrupted"] is True
    assert _count(db) >= summary["trials"] >= 6
    gone = time.time() + 15
    while _alive(proc.pid) and time.time() < gone:
        time.sleep(0.2)
    assert not _alive(proc.pid), "worker processes survived SIGTERM"
