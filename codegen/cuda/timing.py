"""Timing GPU work without the host's launch cost in it.

A CUDA event pair around a launch measures from the moment the stream reaches the start event. On an idle
stream that is the moment the host records it, so everything the host does before the kernel reaches the
GPU (Python argument packing, the driver call: tens of microseconds) is counted as kernel time. For
kernels of a few microseconds (small convolutions) that cost dominates the reading and hides the
differences between candidates.

`busy_wait(ns)` launches a one-thread kernel that spins on the GPU's global timer for `ns` nanoseconds.
Enqueued just before the start event, it keeps the stream busy while the host enqueues the timed work, so
the events bracket GPU time only: the kernels' durations and the gaps between queued launches (what a
profiler reports). `spin_for(host_seconds)` sizes the wait from the host time of the previous call.

Everything here needs pycuda and a device (the caller holds the runtime); the PTX is hand-written so
that no CUDA compiler is needed for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SPIN_KERNEL = "polyopt_busy_wait"
SPIN_PTX = f"""\
.version 7.0
.target sm_50
.address_size 64

.visible .entry {SPIN_KERNEL}(.param .u64 ns)
{{
    .reg .pred %p;
    .reg .b64 %n, %t0, %t, %d;
    ld.param.u64 %n, [ns];
    mov.u64 %t0, %globaltimer;
SPIN:
    mov.u64 %t, %globaltimer;
    sub.u64 %d, %t, %t0;
    setp.lt.u64 %p, %d, %n;
    @%p bra SPIN;
    ret;
}}
"""

SPIN_FLOOR_NS = 100_000          # at least this long: covers the first call, whose host time is unknown
SPIN_CAP_NS = 20_000_000         # at most 20 ms of waiting per timed call
HOST_MARGIN = 4.0                # wait this many times the host time of the previous call


def spin_for(host_seconds: float | None) -> int:
    """Nanoseconds to busy-wait so that a call whose host side took `host_seconds` last time is fully
    enqueued before the wait ends (None: not measured yet)."""
    if host_seconds is None:
        return 10 * SPIN_FLOOR_NS
    return int(min(SPIN_CAP_NS, max(SPIN_FLOOR_NS, HOST_MARGIN * host_seconds * 1e9)))


class BusyWait:
    """The loaded spin kernel of the current context: `busy_wait(ns)` enqueues it on the default stream."""

    def __init__(self, drv: Any) -> None:
        module = drv.module_from_buffer(SPIN_PTX.encode())
        self._module = module
        self._func = module.get_function(SPIN_KERNEL)
        self._func.prepare("Q")

    def __call__(self, ns: int) -> None:
        self._func.prepared_call((1, 1, 1), (1, 1, 1), np.uint64(max(0, int(ns))))
