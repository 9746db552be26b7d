"""Loop-AST generation in a separate process, with a time limit.

isl's operation cap (codegen.loop_ast.MAX_AST_OPERATIONS) counts only part of isl's work: a heat-3d
candidate with full-tile separation and `separate` on every point loop ran 86 s inside isl before the cap
noticed, another finished in 22 s under it. The tuner featurizes thousands of candidates in its own
process, so one such schedule stalled a whole tuning run. Here the build runs in a worker process that
is killed when it takes longer than the limit; the candidate then has no loop nest (CodegenError), and the
next build starts a fresh worker (about a second).

The worker holds the Scop and sizes; a schedule travels as isl's text form of the schedule tree (marks and
AST build options included) and the LoopProgram comes back pickled, without its Scop (pickling the Scop's
isl sets was most of the 13 ms a build cost on top of isl's work).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from multiprocessing.connection import Connection
from typing import Any, Mapping

from polyopt.errors import CodegenError
from polyopt.model import Scop

log = logging.getLogger(__name__)

AST_TIMEOUT = 10.0      # seconds; builds of the benchmark kernels' random candidates: p95 2 s (heat-3d)


class AstWorkerUnavailable(RuntimeError):
    """The worker process cannot run here (it does not start, or dies before its first build): the caller
    builds in its own process instead."""


class LoopAstWorker:
    """Builds the loop programs of schedules of one (scop, sizes) in a child process, at most `timeout`
    seconds each. Not thread-safe; close() (or the end of the parent) stops the child."""

    def __init__(self, scop: Scop, params: Mapping[str, int], timeout: float = AST_TIMEOUT) -> None:
        self.scop, self.params, self.timeout = scop, dict(params), float(timeout)
        self._proc: Any = None
        self._conn: Connection | None = None
        self.n_timeouts = 0
        self.n_built = 0

    def build(self, schedule_tree: Any) -> Any:
        """The LoopProgram of an isl schedule tree; CodegenError on a failed or too slow build."""
        conn = self._connection()
        conn.send(schedule_tree.to_str())
        if not conn.poll(self.timeout):
            self.n_timeouts += 1
            self._stop()
            log.warning("loop AST generation took more than %g s; candidate skipped", self.timeout)
            raise CodegenError(f"generating the loop AST took more than {self.timeout:g} s "
                               "(isl separation of many loop pieces); the candidate is skipped")
        try:
            ok, payload = conn.recv()
        except (EOFError, OSError) as e:       # the worker died (out of memory, a crash in isl)
            self._stop()
            if self.n_built == 0:
                raise AstWorkerUnavailable(f"the loop-AST worker died before its first build: {e!r}") from e
            raise CodegenError(f"the loop-AST worker died while generating the loop AST: {e!r}") from e
        self.n_built += 1
        if not ok:
            raise CodegenError(payload)
        from polyopt.codegen.loop_ast import LoopProgram

        return LoopProgram(self.scop, *payload)

    def close(self) -> None:
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(timeout=2.0)
            except (OSError, BrokenPipeError):
                pass
        self._stop()

    def _connection(self) -> Connection:
        if self._proc is None or not self._proc.is_alive() or self._conn is None:
            self._stop()
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            self._proc = ctx.Process(target=_serve, args=(child, self.scop, self.params), daemon=True,
                                     name="polyopt-loop-ast")
            self._conn = parent
            try:
                self._proc.start()      # pickles the Scop for the child
            except Exception as e:  # noqa: BLE001 - an unpicklable Scop, no processes allowed, ...
                self._stop()
                raise AstWorkerUnavailable(f"the loop-AST worker did not start: {e!r}") from e
            finally:
                child.close()
        return self._conn

    def _stop(self) -> None:
        if self._proc is not None:
            try:
                if self._proc.is_alive():
                    self._proc.kill()
                self._proc.join(timeout=5.0)
            except (AssertionError, ValueError):     # it never started
                pass
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None

    def __enter__(self) -> "LoopAstWorker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(conn: Connection, scop: Scop, params: dict[str, int]) -> None:
    """The worker's loop: schedule text in, (True, LoopProgram fields but the Scop) or (False, error message)
    out."""
    import signal

    import islpy as isl

    from polyopt.codegen.loop_ast import build_loop_ast

    signal.signal(signal.SIGINT, signal.SIG_IGN)       # Ctrl-C is the parent's to handle
    ctx = scop.domain.get_ctx()
    while True:
        try:
            text = conn.recv()
        except (EOFError, OSError):
            return
        if text is None:
            return
        try:
            prog = build_loop_ast(scop, isl.Schedule.read_from_str(ctx, text), params)
            conn.send((True, (prog.body, prog.param_values, prog.schedule_text)))
        except Exception as e:  # noqa: BLE001 - every failure goes back to the parent as a message
            conn.send((False, f"{type(e).__name__}: {e}"))
