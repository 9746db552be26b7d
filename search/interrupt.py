"""Ctrl-C and SIGTERM during tuning: a stop request, honoured at the tuner's safe points.

The first Ctrl-C (or SIGTERM: kill, a batch scheduler's time limit) only sets STOP_REQUESTED; the tuners
check it after every recorded measurement and between rounds (stop_point), and the explorer's annealing
ends its round early. Tuning then stops with everything measured so far, and no measurement worker is
left behind. A second signal raises KeyboardInterrupt at once, for a user who will not wait.

Why not raise KeyboardInterrupt from the first signal, as Python does by default: a handler's exception
lands wherever the main thread happens to be, and much of the tuner's time is spent inside isl, which
calls back into Python (foreach_set, foreach_piece ...). islpy turns an exception raised in such a
callback into isl.Error ("A Python exception occurred in a call back function, ignoring"), which the
search space reads as "this candidate is illegal": the interrupt was lost and tuning went on (the
SIGINT test hung in full CI runs). An exception can also land in the middle of a database commit or of
an executor's bookkeeping. A flag read at known points has none of these problems.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

STOP_REQUESTED = threading.Event()


def stop_requested() -> bool:
    return STOP_REQUESTED.is_set()


def stop_point() -> None:
    """Raise KeyboardInterrupt if a stop was requested (call where stopping loses nothing)."""
    if STOP_REQUESTED.is_set():
        raise KeyboardInterrupt


def _handler(signum: int, frame: object) -> None:
    if STOP_REQUESTED.is_set():
        raise KeyboardInterrupt
    STOP_REQUESTED.set()
    log.warning("%s: stopping after the measurement in progress, keeping every result "
                "(send it again to stop at once)", signal.Signals(signum).name)


@contextmanager
def graceful_interrupts() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM request a stop (STOP_REQUESTED) instead of raising; a second
    one raises KeyboardInterrupt. Only in the main thread (signal handlers cannot be set elsewhere); the
    previous handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    STOP_REQUESTED.clear()
    previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
