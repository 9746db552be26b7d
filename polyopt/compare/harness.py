"""One harness for every contender: build, verify against the reference, then time them side by side.

Each (kernel, contender) pair runs in a forked child process by default: a contender that crashes (a
segfault in generated code), hangs or leaks threads is reported as such and cannot take the comparison
down, and every child starts with the OpenMP/BLAS thread count asked for. A child runs in a process group
of its own, killed as a whole when the child is done or has timed out.

The contenders of a kernel are built and verified one after the other, and then timed in rounds: one run
of each contender per round, until each has its repeats. A shared machine's slow minutes then fall on
every contender alike instead of on whichever happened to be timed then (on a 2-core cloud VM the same
gemm build measured 76, 82, 104 and 82 ms in four back-to-back comparisons)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from polyopt.compare.contenders import Contender, Run, Settings, Skip
from polyopt.compare.report import Measurement
from polyopt.compare.workload import Workload, check_outputs

log = logging.getLogger(__name__)


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
    return measure_side_by_side([contender], workload, reference, settings, isolate=isolate,
                                timeout_s=timeout_s)[0]


def measure_side_by_side(contenders: Sequence[Contender], workload: Workload,
                         reference: Mapping[str, np.ndarray], settings: Settings, *, isolate: bool = True,
                         timeout_s: float | None = None) -> list[Measurement]:
    """Build and verify each contender (one at a time), then time the verified ones in interleaved
    rounds. timeout_s bounds each contender's build and check, and each of its timed runs."""
    open_sessions: list[_Session] = []
    try:
        for c in contenders:
            log.info("%s: %s", workload.name, c.name)
            session = _ChildSession(c, workload, reference, settings) if isolate \
                else _LocalSession(c, workload, reference, settings)
            open_sessions.append(session)
            session.wait_ready(timeout_s)
        for round_ in range(settings.repeats):
            for session in open_sessions:
                if session.wants_run(round_):
                    session.run_once(timeout_s)
                    if settings.threads > 1:
                        time.sleep(PARALLEL_PAUSE_S)
    finally:
        for session in open_sessions:
            session.close()
    return [session.measurement() for session in open_sessions]


PARALLEL_PAUSE_S = 0.25
"""Pause after a multi-threaded run: LLVM's OpenMP runtime keeps its idle threads spinning for 200 ms
(KMP_BLOCKTIME) after a parallel region, on the cores the next contender's run needs."""


class _Session:
    """One contender on one workload: built and verified, then timed one run at a time."""

    def __init__(self, contender: Contender, w: Workload, s: Settings) -> None:
        self.contender, self.w, self.s = contender, w, s
        self.ready: dict[str, Any] | None = None    # Measurement fields once verified (status ok)
        self.final: Measurement | None = None       # the result once failed
        self.times: list[float] = []
        self.cap = 0                                 # timed runs this session gets (time budget)

    def _accept_ready(self, message: dict[str, Any]) -> None:
        if message["status"] != "ok":
            self.final = Measurement.from_dict(message)
            return
        first = max(float(message.pop("first_s")), 1e-9)
        self.ready = message
        self.cap = max(1, min(self.s.repeats, int(self.s.max_seconds / first)))

    def wants_run(self, round_: int) -> bool:
        return self.final is None and self.ready is not None and round_ < self.cap

    def _fail(self, status: str, note: str) -> None:
        self.final = _failed(self.w, self.contender, status, note)

    def measurement(self) -> Measurement:
        if self.final is not None:
            return self.final
        if self.ready is None:
            return _failed(self.w, self.contender, "error", "never became ready")
        fields = dict(self.ready)
        if self.cap < self.s.repeats:
            fields["note"] = (fields["note"] + "; " if fields["note"] else "") + \
                f"{self.cap} of {self.s.repeats} repeats (time budget)"
        fields["times"] = list(self.times)
        return Measurement.from_dict(fields)

    def wait_ready(self, timeout_s: float | None) -> None:
        raise NotImplementedError

    def run_once(self, timeout_s: float | None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _LocalSession(_Session):
    """In this process (isolate=False: tests, debugging)."""

    def __init__(self, contender: Contender, w: Workload, reference: Mapping[str, np.ndarray],
                 s: Settings) -> None:
        super().__init__(contender, w, s)
        self.reference = reference
        self.run: Run | None = None

    def wait_ready(self, timeout_s: float | None) -> None:
        self.run, message = _prepare_and_check(self.contender, self.w, self.reference, self.s)
        self._accept_ready(message)

    def run_once(self, timeout_s: float | None) -> None:
        assert self.run is not None
        try:
            self.times.append(_timed(self.run, self.w.fresh()))
        except Exception as e:  # noqa: BLE001
            self._fail("error", _explain(e))


class _ChildSession(_Session):
    """In a forked child that builds and checks, then answers 'run' with one run's seconds."""

    def __init__(self, contender: Contender, w: Workload, reference: Mapping[str, np.ndarray],
                 s: Settings) -> None:
        super().__init__(contender, w, s)
        ctx = multiprocessing.get_context("fork")
        self.conn, child_conn = ctx.Pipe(duplex=True)

        def child() -> None:
            os.setpgid(0, 0)    # a process group of its own: _kill_group takes whatever it starts with it
            _forget_parents_forkserver()
            self.conn.close()
            _serve(child_conn, contender, w, reference, s)

        self.proc = ctx.Process(target=child)  # not a daemon: the tuner starts its own workers
        self.proc.start()
        child_conn.close()

    def _receive(self, timeout_s: float | None, what: str) -> Any:
        """The child's next message, or None after recording why there is none."""
        try:
            if self.conn.poll(timeout_s):
                return self.conn.recv()
            if self.proc.is_alive():
                self._fail("timeout", f"no result within {timeout_s:.0f} s ({what})")
                _kill_group(self.proc)
                return None
        except EOFError:
            pass
        self.proc.join()
        self._fail("crashed", _exit_reason(self.proc.exitcode))
        return None

    def wait_ready(self, timeout_s: float | None) -> None:
        message = self._receive(timeout_s, "building and checking")
        if message is not None:
            self._accept_ready(message)
        if self.final is not None:
            self.close()

    def run_once(self, timeout_s: float | None) -> None:
        self.conn.send("run")
        reply = self._receive(timeout_s, f"timed run {len(self.times) + 1}")
        if isinstance(reply, float):
            self.times.append(reply)
        elif reply is not None:
            self._fail("error", str(reply))
        if self.final is not None:
            self.close()

    def close(self) -> None:
        try:
            if self.proc.is_alive() and self.final is None:
                self.conn.send("stop")
                self.proc.join(timeout=5)
        except (OSError, ValueError):
            pass
        _kill_group(self.proc)
        self.proc.join()
        self.conn.close()


def _serve(conn: Any, contender: Contender, w: Workload, reference: Mapping[str, np.ndarray],
           s: Settings) -> None:
    """The child's side: build and check, report, then one timed run per 'run' until 'stop'."""
    try:
        run, message = _prepare_and_check(contender, w, reference, s)
    except BaseException as e:  # noqa: BLE001 - report anything, never hang the parent
        run, message = None, _failed(w, contender, "error", _explain(e)).to_dict()
    conn.send(message)
    if run is None:
        return
    while conn.recv() == "run":
        try:
            conn.send(_timed(run, w.fresh()))
        except BaseException as e:  # noqa: BLE001
            conn.send(_explain(e))
            return


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


def _prepare_and_check(contender: Contender, w: Workload, reference: Mapping[str, np.ndarray],
                       s: Settings) -> tuple[Run | None, dict[str, Any]]:
    """Build the contender, run it once and check its outputs, warm it up: (its run, the Measurement
    fields with status 'ok' and the first run's seconds as 'first_s'), or (None, a failed Measurement)."""
    pin_threads(s.threads)
    t0 = time.perf_counter()
    try:
        prepared = contender.prepare(w, s)
    except Skip as e:
        return None, _failed(w, contender, "skipped", str(e)).to_dict()
    except Exception as e:  # noqa: BLE001 - any failure to build is a result, not a crash
        return None, _failed(w, contender, "build-failed", _explain(e)).to_dict()
    info = {"schedule": prepared.schedule, "code": prepared.code, "code_language": prepared.code_language,
            "history": prepared.history, "build_s": time.perf_counter() - t0}
    values = w.fresh()
    try:
        first = _timed(prepared.run, values)
    except Exception as e:  # noqa: BLE001
        return None, Measurement(w.name, contender.name, "error", note=_explain(e), **info).to_dict()
    ok, err, why = check_outputs(w, values, reference)
    if not ok:
        return None, Measurement(w.name, contender.name, "wrong", note=why, max_error=err, **info).to_dict()
    for _ in range(max(0, s.warmup - 1)):
        _timed(prepared.run, w.fresh())
    message = Measurement(w.name, contender.name, "ok", note=prepared.note, max_error=err, **info).to_dict()
    message["first_s"] = first
    return prepared.run, message


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
