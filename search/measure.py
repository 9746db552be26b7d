"""Measuring candidates: build in worker processes, run each in an isolated worker, check, time.

The measurer only needs concurrent.futures executors (a local ProcessPoolExecutor by default), so a
distributed engine can be plugged in through `executor_factory`. Builds run in parallel; runs are
sequential (one run worker), so timings never compete with builds. Every failure becomes a typed
MeasureResult; a crashed or hung worker is killed and replaced, and tuning goes on.

Before timing, each candidate runs once on fresh inputs (a new seed for every check: the suite kernel's
own input generator when the SCoP is a suite kernel, else random arrays) with its write-only outputs
poisoned with NaN, and its outputs are compared with those of the untransformed kernel (original
schedule, built once, loaded once per run worker, run on a copy of the same inputs, also poisoned).
Then: warm-up, then repeats until `min_time` seconds are measured (at least `min_repeats`), median.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing as mp
import os
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from polyopt.model import Scop
from polyopt.search import backend
from polyopt.search.inputs import array_outputs, measure_inputs, poison_outputs

log = logging.getLogger(__name__)


class MeasureErrorNo(IntEnum):
    """AutoTVM's measurement error codes."""

    NO_ERROR = 0
    INSTANTIATION_ERROR = 1    # the candidate is illegal / cannot be applied
    COMPILE_HOST = 2           # code generation or compilation failed (or the build worker died)
    COMPILE_DEVICE = 3
    RUNTIME_DEVICE = 4         # the kernel crashed (segfault, abort) or raised while running
    WRONG_ANSWER = 5
    BUILD_TIMEOUT = 6
    RUN_TIMEOUT = 7
    UNKNOWN_ERROR = 8


@dataclass(frozen=True)
class MeasureResult:
    error: MeasureErrorNo
    times: tuple[float, ...] = ()
    message: str = ""
    build_seconds: float = 0.0
    run_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error == MeasureErrorNo.NO_ERROR and bool(self.times)

    @property
    def median(self) -> float:
        return float(np.median(self.times)) if self.ok else float("inf")


@dataclass(frozen=True)
class FaultInjector:
    """Test hook: candidate JSON -> fault at a stage ('build-abort', 'build-hang', 'build-raise',
    'run-abort', 'run-hang', 'run-raise', 'run-wrong'). The faults are real: os.abort(), sleep."""

    faults: tuple[tuple[str, str], ...] = ()

    def fire(self, stage: str, candidate: str, arrays: dict[str, np.ndarray] | None = None) -> None:
        for cand, fault in self.faults:
            if cand != candidate or not fault.startswith(stage + "-"):
                continue
            kind = fault.split("-", 1)[1]
            if kind == "abort":
                os.abort()
            if kind == "hang":
                time.sleep(3600)
            if kind == "raise":
                raise RuntimeError(f"injected {fault}")
            if kind == "wrong" and arrays:
                for a in arrays.values():
                    if a.dtype.kind == "f" and a.size:
                        a.flat[0] += 1.0
                        break


@dataclass(frozen=True)
class MeasureOptions:
    build_timeout: float = 20.0
    run_timeout: float = 20.0
    min_time: float = 0.1           # measured seconds to accumulate (excluding warm-up)
    min_repeats: int = 3
    max_repeats: int = 50
    check: bool = True
    check_seed: int = 12345
    rtol: float | None = None       # default: 1e-6 for double, 1e-3 for float
    # outputs compared on these index ranges only ((start, stop) per dimension; checked_ranges): the rest is
    # rounding noise that any reassociation changes (gramschmidt's columns past rank m)
    checked: tuple[tuple[str, tuple[tuple[int | None, int | None], ...]], ...] = ()
    build_workers: int = max(1, min(2, os.cpu_count() or 1))
    threads: int | None = None
    slow_cutoff: float = 8.0        # a check run slower than slow_cutoff x best: stop after it
    faults: FaultInjector = field(default_factory=FaultInjector)


def checked_ranges(regions: Mapping[str, tuple[slice, ...]]) -> tuple[tuple[str, tuple[tuple[int | None, int | None],
                                                                                   ...]], ...]:
    """MeasureOptions.checked from {output: index} (SuiteKernel.checked_region)."""
    return tuple((name, tuple((s.start, s.stop) for s in index)) for name, index in sorted(regions.items()))


@dataclass(frozen=True)
class MeasureTask:
    """What every worker needs to know about the workload (picklable)."""

    scop: Scop
    target: str
    params: tuple[tuple[str, int], ...]
    inputs: Callable[[Scop, Mapping[str, int], int], dict[str, Any]] | None = None

    @property
    def param_dict(self) -> dict[str, int]:
        return dict(self.params)


# ---------------------------------------------------------------- worker side

def _build_worker(task: MeasureTask, cand_json: str, opts: MeasureOptions) -> tuple[int, Any, str, float]:
    t0 = time.perf_counter()
    opts.faults.fire("build", cand_json)
    from polyopt.errors import IllegalTransformError

    try:
        candidate = backend.candidate_from_json(cand_json)
        schedule = backend.apply(task.scop, candidate)
    except IllegalTransformError as e:
        return int(MeasureErrorNo.INSTANTIATION_ERROR), None, str(e)[:500], time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001 - any failure is a typed result
        return int(MeasureErrorNo.INSTANTIATION_ERROR), None, f"{type(e).__name__}: {e}"[:500], \
            time.perf_counter() - t0
    try:
        art = backend.build_artifact(task.scop, schedule, task.target, task.param_dict)
    except Exception as e:  # noqa: BLE001
        return int(MeasureErrorNo.COMPILE_HOST), None, f"{type(e).__name__}: {e}"[:500], time.perf_counter() - t0
    return int(MeasureErrorNo.NO_ERROR), art, "", time.perf_counter() - t0


_REFERENCE: dict[int, Any] = {}


def _make_inputs(task: MeasureTask, seed: int) -> dict[str, Any]:
    if task.inputs is not None:
        return task.inputs(task.scop, task.param_dict, seed)
    return measure_inputs(task.scop, task.param_dict, seed)


def _reference_kernel(task: MeasureTask, ref_artifact: Any, opts: MeasureOptions) -> Any:
    """The untransformed kernel, loaded once per worker process (the oracle of every check)."""
    key = hash((task.scop.fingerprint, task.params, task.target))
    if key not in _REFERENCE:
        _REFERENCE.clear()
        _REFERENCE[key] = backend.load_artifact(ref_artifact, opts.threads)
    return _REFERENCE[key]


def _fresh_args(task: MeasureTask, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A private copy of the inputs with the write-only outputs poisoned (NaN)."""
    args = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in inputs.items()}
    return poison_outputs(task.scop, args)


def _compare(out: np.ndarray, ref: np.ndarray, rtol: float | None) -> bool:
    if out.shape != ref.shape:
        return False
    if out.dtype.kind != "f":
        return bool(np.array_equal(out, ref))
    tol = rtol if rtol is not None else (1e-3 if out.dtype == np.float32 else 1e-6)
    scale = float(np.nanmax(np.abs(ref))) if np.isfinite(ref).any() else 1.0
    return bool(np.allclose(out, ref, rtol=tol, atol=tol * max(scale, 1e-30), equal_nan=True))


def _check(task: MeasureTask, cand_json: str, kernel: Any, ref_artifact: Any, opts: MeasureOptions,
           seed: int) -> tuple[str, float]:
    """Run candidate and reference on the same fresh inputs (seed), write-only outputs poisoned with NaN
    in both; ("", seconds of the candidate's run) or (mismatch message, seconds)."""
    inputs = _make_inputs(task, seed)
    ref_args = _fresh_args(task, inputs)
    backend.call_kernel(_reference_kernel(task, ref_artifact, opts), ref_args)
    args = _fresh_args(task, inputs)
    t0 = time.perf_counter()
    backend.call_kernel(kernel, args)
    secs = time.perf_counter() - t0
    outs = {k: args[k] for k in array_outputs(task.scop)}
    opts.faults.fire("run", cand_json, outs)
    regions = {name: tuple(slice(a, b) for a, b in ranges) for name, ranges in opts.checked}
    bad = [k for k in outs if not _compare(np.asarray(outs[k])[regions.get(k, ())],
                                           np.asarray(ref_args[k])[regions.get(k, ())], opts.rtol)]
    return (f"output mismatch in {', '.join(bad)} (check seed {seed})" if bad else ""), secs


def _run_worker(task: MeasureTask, cand_json: str, artifact: Any, ref_artifact: Any, opts: MeasureOptions,
                best: float, seed: int | None = None) -> tuple[int, tuple[float, ...], str]:
    opts.faults.fire("run", cand_json)
    try:
        kernel = backend.load_artifact(artifact, opts.threads)
        check_time = None
        if opts.check and ref_artifact is not None:
            msg, check_time = _check(task, cand_json, kernel, ref_artifact, opts,
                                     opts.check_seed if seed is None else seed)
            if msg:
                return int(MeasureErrorNo.WRONG_ANSWER), (), msg
        if check_time is not None and check_time > opts.slow_cutoff * best:
            return int(MeasureErrorNo.NO_ERROR), (check_time,), "slow: stopped after the check run"
        return int(MeasureErrorNo.NO_ERROR), _time(task, kernel, opts, warm=check_time is not None), ""
    except Exception as e:  # noqa: BLE001
        return int(MeasureErrorNo.RUNTIME_DEVICE), (), f"{type(e).__name__}: {e}"[:500]


def _time(task: MeasureTask, kernel: Any, opts: MeasureOptions, warm: bool) -> tuple[float, ...]:
    inputs = _make_inputs(task, opts.check_seed)
    saved = {k: np.array(v) for k, v in inputs.items() if isinstance(v, np.ndarray)}
    if not warm:
        backend.call_kernel(kernel, inputs)
    times: list[float] = []
    while len(times) < opts.max_repeats and (len(times) < opts.min_repeats or sum(times) < opts.min_time):
        for k, v in saved.items():
            np.copyto(inputs[k], v)
        t0 = time.perf_counter()
        backend.call_kernel(kernel, inputs)
        times.append(time.perf_counter() - t0)
    return tuple(times)


def _machine_code_worker(task: MeasureTask, cand_json: str, opts: MeasureOptions) -> np.ndarray:
    """asm_features of a candidate, compiled as the backend compiles it (in a build worker)."""
    from polyopt.search.asm_features import compiled_features

    opts.faults.fire("build", cand_json)
    schedule = backend.apply(task.scop, backend.candidate_from_json(cand_json))
    return compiled_features(task.scop, schedule, task.param_dict)


# outcomes of a function run in the build workers (Measurer._in_build_pool)
_OK, _RAISED, _TIMEOUT, _CRASHED = "ok", "raised", "timeout", "crashed"


# ---------------------------------------------------------------- parent side

ExecutorFactory = Callable[[int], cf.Executor]


def _worker_init() -> None:
    """Workers ignore SIGINT: a terminal's Ctrl-C reaches the whole process group, and the parent alone
    decides (it stops tuning, keeps what was measured and kills its workers)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def local_executor(workers: int) -> cf.Executor:
    """A ProcessPoolExecutor on the forkserver start method (workers import polyopt once)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["numpy", "islpy", "polyopt.search.measure"])
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)


_SIGNAL_HINTS = {
    "SIGFPE": "integer division by zero or overflow; the random inputs may hold a zero divisor",
    "SIGSEGV": "an access outside the arrays, or a stack overflow",
    "SIGBUS": "a misaligned or unmapped access",
    "SIGILL": "an instruction this CPU does not have",
    "SIGKILL": "killed from outside, often for running out of memory",
    "SIGABRT": "the process aborted",
}


def _death(executor: cf.Executor | None) -> str:
    """': killed by SIGFPE (why)' for a pool worker that a signal ended, else ''."""
    import signal

    for p in list((getattr(executor, "_processes", None) or {}).values()):
        code = p.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                return f": killed by signal {-code}"
            return f": killed by {name}" + (f" ({_SIGNAL_HINTS[name]})" if name in _SIGNAL_HINTS else "")
    return ""


def _kill(executor: cf.Executor | None) -> None:
    """Shut an executor down, killing its processes if it has any (a hung worker never returns)."""
    if executor is None:
        return
    procs = getattr(executor, "_processes", None) or {}
    for p in list(procs.values()):
        try:
            p.kill()
        except Exception:  # pragma: no cover
            pass
    try:
        executor.shutdown(wait=True, cancel_futures=True)
    except Exception:  # pragma: no cover
        pass


class Measurer:
    """Builds and runs candidates of one task; owns its executors (use as a context manager)."""

    def __init__(self, task: MeasureTask, options: MeasureOptions | None = None, *,
                 executor_factory: ExecutorFactory = local_executor, reference: str | None = None) -> None:
        self.task = task
        self.options = options or MeasureOptions()
        self.factory = executor_factory
        self._builder: cf.Executor | None = None
        self._runner: cf.Executor | None = None
        self._ref_json = reference
        self._ref_artifact: Any = None
        self.best = float("inf")
        self.checks = 0                 # output checks so far: each one gets fresh inputs (seed)

    def __enter__(self) -> "Measurer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill the workers, then shut the executors down. Killing first matters after Ctrl-C: the
        interrupted main thread may have left an executor's wake-up pipe half written, and only the
        workers' exit then wakes its manager thread (which interpreter exit would otherwise wait for)."""
        for ex in (self._builder, self._runner):
            _kill(ex)
        self._builder = self._runner = None

    def _build_pool(self) -> cf.Executor:
        if self._builder is None:
            self._builder = self.factory(self.options.build_workers)
        return self._builder

    def _run_pool(self) -> cf.Executor:
        if self._runner is None:
            self._runner = self.factory(1)
        return self._runner

    def prepare_reference(self) -> None:
        """Build the untransformed kernel once (the oracle of every check)."""
        if self._ref_artifact is not None or self._ref_json is None or not self.options.check:
            return
        res = self._build([self._ref_json])[0]
        if res[0] != 0:
            log.warning("reference kernel did not build (%s); outputs will not be checked", res[2])
            self._ref_json = None
        self._ref_artifact = res[1]

    def measure(self, candidates: Sequence[str],
                on_result: Callable[[int, MeasureResult], None] | None = None, *,
                cutoff: bool = True) -> list[MeasureResult]:
        """Measure a batch of candidate JSON texts; never raises for a candidate's failure.
        on_result(i, result) is called as soon as candidate i is done (to commit it at once)."""
        self.prepare_reference()
        built = self._build(list(candidates))
        out: list[MeasureResult] = []
        for i, (cand, (err, art, msg, secs)) in enumerate(zip(candidates, built)):
            if err != 0:
                res = MeasureResult(MeasureErrorNo(err), (), msg, secs)
            else:
                run = self._run(cand, art, self.best if cutoff else float("inf"))
                res = MeasureResult(run.error, run.times, run.message, secs, run.run_seconds)
            if res.ok:
                self.best = min(self.best, res.median)
            out.append(res)
            if on_result is not None:
                on_result(i, res)
        return out

    def machine_code(self, candidates: Sequence[str]) -> list[np.ndarray | None]:
        """Machine-code features (asm_features) of candidates, compiled in the build workers: a candidate
        that fails, crashes its worker or takes longer than build_timeout gets None, and tuning goes on."""
        return [value if status == _OK else None
                for status, value, _ in self._in_build_pool(_machine_code_worker, list(candidates))]

    def _build(self, cands: list[str]) -> list[tuple[int, Any, str, float]]:
        """(error code, artifact, message, seconds) per candidate: _build_worker's result, or the failure
        of the worker that ran it."""
        failures = {_TIMEOUT: MeasureErrorNo.BUILD_TIMEOUT, _CRASHED: MeasureErrorNo.COMPILE_HOST,
                    _RAISED: MeasureErrorNo.UNKNOWN_ERROR}
        messages = {_TIMEOUT: "build timed out", _CRASHED: "build process crashed"}
        return [value if status == _OK else (int(failures[status]), None, messages.get(status, value), secs)
                for status, value, secs in self._in_build_pool(_build_worker, cands)]

    def _in_build_pool(self, fn: Callable[[MeasureTask, str, MeasureOptions], Any],
                       cands: list[str]) -> list[tuple[str, Any, float]]:
        """fn(task, candidate, options) for every candidate in the build workers, build_workers at a time:
        (status, value, seconds) each, status _OK (value: fn's result), _RAISED (value: the exception's
        repr), _TIMEOUT or _CRASHED (seconds: time lost). A hang or a crash takes the whole pool down,
        so it is replaced, and a crashed candidate of a chunk of several is tried again alone: only the
        culprit fails."""
        out: list[tuple[str, Any, float]] = []
        step = self.options.build_workers
        for lo in range(0, len(cands), step):
            chunk = cands[lo:lo + step]
            got = self._build_pool_chunk(fn, chunk)
            if len(chunk) > 1:
                got = [self._build_pool_chunk(fn, [c])[0] if g[0] == _CRASHED else g for c, g in zip(chunk, got)]
            out += got
        return out

    def _build_pool_chunk(self, fn: Callable[[MeasureTask, str, MeasureOptions], Any],
                          chunk: list[str]) -> list[tuple[str, Any, float]]:
        pool = self._build_pool()
        t0 = time.perf_counter()
        futs = [pool.submit(fn, self.task, c, self.options) for c in chunk]
        done, _ = cf.wait(futs, timeout=self.options.build_timeout)
        out: list[tuple[str, Any, float]] = []
        for f in futs:
            exc = f.exception() if f in done else None
            if f not in done:
                out.append((_TIMEOUT, None, time.perf_counter() - t0))
            elif isinstance(exc, BrokenProcessPool):
                out.append((_CRASHED, None, time.perf_counter() - t0))
            elif exc is not None:
                out.append((_RAISED, repr(exc)[:500], 0.0))
            else:
                out.append((_OK, f.result(), 0.0))
        if any(status in (_TIMEOUT, _CRASHED) for status, _, _ in out):
            _kill(self._builder)
            self._builder = None
        return out

    def _run(self, cand: str, artifact: Any, best: float) -> MeasureResult:
        pool = self._run_pool()
        t0 = time.perf_counter()
        self.checks += 1
        seed = self.options.check_seed + 7919 * self.checks
        fut = pool.submit(_run_worker, self.task, cand, artifact, self._ref_artifact, self.options, best, seed)
        try:
            err, times, msg = fut.result(timeout=self.options.run_timeout)
            return MeasureResult(MeasureErrorNo(err), tuple(times), msg, 0.0, time.perf_counter() - t0)
        except cf.TimeoutError:
            self._reset_runner()
            return MeasureResult(MeasureErrorNo.RUN_TIMEOUT, (), "run timed out", 0.0, time.perf_counter() - t0)
        except BrokenProcessPool:
            why = _death(self._runner)
            self._reset_runner()
            return MeasureResult(MeasureErrorNo.RUNTIME_DEVICE, (), "run process crashed" + why, 0.0,
                                 time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001
            return MeasureResult(MeasureErrorNo.UNKNOWN_ERROR, (), repr(e)[:500], 0.0, time.perf_counter() - t0)

    def _reset_runner(self) -> None:
        _kill(self._runner)
        self._runner = None
