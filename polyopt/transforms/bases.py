"""Base schedules a Candidate starts from: the source order, or isl's scheduler under the option sets
that mimic Pluto's fusion heuristics and Polly's ScheduleOptimizer. isl options are per context; they
are set for one computation and restored afterwards, so nothing leaks into other code."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import islpy as isl

from polyopt.dataflow import Dependences, dependences
from polyopt.errors import PolyoptError
from polyopt.model import Scop
from polyopt.schedule_tree import Schedule
from polyopt.transforms.records import BASES, InvalidTransformError

# base name -> (isl scheduler options, coincidence constraints: "raw+waw" or "all")
_ISL_BASES: dict[str, tuple[dict[str, int], str]] = {
    "isl": ({}, "raw+waw"),
    "isl-nofuse": ({"serialize_sccs": 1}, "raw+waw"),            # Pluto --nofuse: one SCC per nest
    "isl-maxfuse": ({"whole_component": 1}, "raw+waw"),          # fuse whole components at once
    "pluto": ({}, "all"),                                         # smartfuse ~ isl's clustering
    "polly": ({"maximize_band_depth": 1, "max_coefficient": 20, "max_constant_term": 20,
               "outer_coincidence": 0}, "all"),                   # Polly's ScheduleOptimizer
}


@contextmanager
def isl_schedule_options(**options: int) -> Iterator[None]:
    """Set isl scheduler options on the default context for a block, then restore them."""
    ctx = isl.DEFAULT_CONTEXT
    old = {k: getattr(ctx, f"get_schedule_{k}")() for k in options}
    try:
        for k, v in options.items():
            getattr(ctx, f"set_schedule_{k}")(v)
        yield
    finally:
        for k, v in old.items():
            getattr(ctx, f"set_schedule_{k}")(v)


_CACHE: weakref.WeakKeyDictionary[Scop, dict[str, str]] = weakref.WeakKeyDictionary()


def base_schedule(scop: Scop, base: str, deps: Dependences | None = None) -> Schedule:
    """The schedule tree a candidate with this base starts from (cached per Scop, as text)."""
    if base not in BASES:
        raise InvalidTransformError(f"unknown base schedule '{base}' (known: {', '.join(BASES)})")
    cache = _CACHE.setdefault(scop, {})
    if base in cache:
        return Schedule.from_string(scop, cache[base])
    if base == "original":
        sched = Schedule.original(scop)
    else:
        options, coincidence = _ISL_BASES[base]
        sched = Schedule(scop, isl_schedule(scop, deps or dependences(scop), options, coincidence))
    cache[base] = sched.to_str()
    return Schedule.from_string(scop, cache[base])      # fresh and cached results are identical


def isl_schedule(scop: Scop, deps: Dependences, options: dict[str, int], coincidence: str) -> isl.Schedule:
    """isl's scheduler: validity = proximity = all dependences; coincidence as asked."""
    coin = deps.all if coincidence == "all" else deps.raw.union(deps.waw)
    sc = (isl.ScheduleConstraints.on_domain(scop.domain).set_context(scop.context)
          .set_validity(deps.all).set_proximity(deps.all).set_coincidence(coin))
    try:
        with isl_schedule_options(**options):
            return sc.compute_schedule()
    except isl.Error as e:  # pragma: no cover - isl reports scheduling failures this way
        raise PolyoptError(f"while computing the isl schedule of {scop.name}: {e}") from e
