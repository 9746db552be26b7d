"""One harness for every contender: build, verify against the reference, then time.

Each (kernel, contender) pair runs in a forked child process by default, one at a time: a contender
that crashes (a segfault in generated code), hangs or leaks threads is reported as such and cannot take
the comparison down, and every child starts with the OpenMP/BLAS thread count asked for. A child runs in
a process group of its own, killed as a whole when the child is done or has timed out."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Mapping
from typing import Any

import numpy as np

from polyopt.compare.contenders import Contender, Settings, Skip
from polyopt.compare.report import Measurement
from polyopt.compare.workload import Workload, check_outputs


def pin_threads(threads: int) -> None:
    """Thread count for OpenMP runtimes loaded from now on, and for numpy's BLAS."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=threads)
    except ImportError:  # pragma: no cover - threadpoolctl is optional
        pass


def measure(contender: Contender, workload: Workload, reference: Mapping[str, np.ndarray],
            settings: Settings, *, isolate: bool = True, timeout_s: float | None = None) -> Measurement:
    """Build, verify and time one contender on one workload."""
    if not isolate:
        return measure_here(contender, workload, reference, settings)
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)

    def child() -> None:
        os.setpgid(0, 0)    # a process group of its own: _kill_group takes whatever it starts with it
        _forget_parents_forkserver()
        try:
            result = measure_here(contender, workload, reference, settings).to_dict()
        except BaseException as e:  # noqa: BLE001 - report anything, never hang the parent
            result = _failed(workload, contender, "error", _explain(e)).to_dict()
        sender.send(result)

    proc = ctx.Process(target=child)  # not a daemon: the tuner starts its own workers
    proc.start()
    sender.close()
    try:
        if receiver.poll(timeout_s):
            return Measurement.from_dict(receiver.recv())
        if proc.is_alive():
            return _failed(workload, contender, "timeout", f"no result within {timeout_s:.0f} s")
        proc.join()
        return _failed(workload, contender, "crashed", _exit_reason(proc.exitcode))
    except EOFError:
        proc.join()
        return _failed(workload, contender, "crashed", _exit_reason(proc.exitcode))
    finally:
        _kill_group(proc)
        proc.join()
        receiver.close()


def _forget_parents_forkserver() -> None:
    """A forked child inherits multiprocessing's record of its parent's forkserver (the tuner's worker
    pools start one), and its first pool then failed with "ChildProcessError: No child processes" when
    it checked on a process that is not its child. The child starts a forkserver of its own instead (the
    parent's stays; the child's dies with the child's process group)."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    server._forkserver_address = server._forkserver_alive_fd = server._forkserver_pid = None
    server._inherited_fds = None


def _kill_group(proc: Any) -> None:
    """Kill the child and every process it started (the tuner's build and run workers and their
    forkserver outlive a killed child otherwise: after a tuning timeout they went on running candidates,
    stealing a core from the next measurements)."""
    if proc.is_alive():
        proc.kill()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):    # nothing left in the group (or it never was one)
        pass


def measure_here(contender: Contender, w: Workload, reference: Mapping[str, np.ndarray],
                 s: Settings) -> Measurement:
    """The measurement itself, in this process."""
    pin_threads(s.threads)
    t0 = time.perf_counter()
    try:
        prepared = contender.prepare(w, s)
    except Skip as e:
        return _failed(w, contender, "skipped", str(e))
    except Exception as e:  # noqa: BLE001 - any failure to build is a result, not a crash
        return _failed(w, contender, "build-failed", _explain(e))
    build_s = time.perf_counter() - t0
    info = {"schedule": prepared.schedule, "code": prepared.code, "code_language": prepared.code_language,
            "history": prepared.history, "build_s": build_s}
    values = w.fresh()
    try:
        first = _timed(prepared.run, values)
    except Exception as e:  # noqa: BLE001
        return Measurement(w.name, contender.name, "error", note=_explain(e), **info)
    ok, err, why = check_outputs(w, values, reference)
    if not ok:
        return Measurement(w.name, contender.name, "wrong", note=why, max_error=err, **info)
    for _ in range(max(0, s.warmup - 1)):
        _timed(prepared.run, w.fresh())
    repeats = max(1, min(s.repeats, int(s.max_seconds / max(first, 1e-9))))
    times = tuple(_timed(prepared.run, w.fresh()) for _ in range(repeats))
    note = prepared.note
    if repeats < s.repeats:
        note = (note + "; " if note else "") + f"{repeats} of {s.repeats} repeats (time budget)"
    return Measurement(w.name, contender.name, "ok", times=times, note=note, max_error=err, **info)


def _timed(run: Any, values: dict[str, Any]) -> float:
    t = time.perf_counter()
    run(values)
    return time.perf_counter() - t


def _failed(w: Workload, c: Contender, status: str, note: str) -> Measurement:
    return Measurement(w.name, c.name, status, note=note)


def _explain(e: BaseException) -> str:
    """One readable line (plus the compiler's diagnostics, trimmed) for an exception."""
    text = f"{type(e).__name__}: {e}".strip()
    if not str(e):
        frames = traceback.extract_tb(e.__traceback__)
        if frames:
            text += f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}"
    return text if len(text) < 1500 else text[:1500] + " ..."


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "the measuring process vanished"
    if code < 0:
        import signal
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the measuring process died with {name}"
    return f"the measuring process exited with status {code} without a result"
