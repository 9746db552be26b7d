"""Checks of polyopt.tune's arguments: bad values are ArgumentErrors that name the argument, raised before
any database is opened or anything is built."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import islpy as isl
import numpy as np

from polyopt.codegen.binding import check_size_names
from polyopt.errors import ArgumentError
from polyopt.model import Scop


def checked_arguments(scop: Scop, target: str, params: Mapping[str, int] | None, *, strategy: str, trials: Any,
                      batch_size: Any, seed: Any, threads: Any, time_budget: Any,
                      timeout: Any) -> tuple[str, dict[str, int]]:
    """(target with 'gpu' read as 'cuda', the sizes as ints), or ArgumentError."""
    if strategy not in ("model", "random"):
        raise ArgumentError(f"strategy must be 'model' or 'random', not {strategy!r}")
    for name, value, least in (("trials", trials, 1), ("batch_size", batch_size, 1), ("seed", seed, 0),
                               ("threads", 1 if threads is None else threads, 1)):
        if not (_is_int(value) and value >= least):
            raise ArgumentError(f"{name} must be an integer >= {least}, not {value!r}")
    for name, value in (("time_budget", time_budget), ("timeout", timeout)):
        positive = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        if value is not None and not positive:
            raise ArgumentError(f"{name} must be a positive number of seconds, not {value!r}")
    target = {"gpu": "cuda"}.get(target, target)
    if target not in ("cpu", "c", "cuda"):
        raise ArgumentError(f"unknown target {target!r}; choose one of cpu, c, cuda")
    return target, _checked_params(scop, params)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _checked_params(scop: Scop, params: Mapping[str, int] | None) -> dict[str, int]:
    """The sizes as ints: one for every size parameter of `scop`, no other names, integral, >= 0 and in
    the kernel's context (ArgumentError otherwise)."""
    params = dict(params or {})
    check_size_names(scop, params)
    known = ", ".join(scop.params) or "none"
    missing = [p for p in scop.params if p not in params]
    if missing:
        raise ArgumentError(f"tune needs a value for every size parameter; missing {', '.join(missing)} "
                            f"(size parameters of {scop.name}: {known})")
    out: dict[str, int] = {}
    for p, v in params.items():
        if not _is_int(v) or v < 0:
            whole = isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer() and v >= 0
            raise ArgumentError(f"size parameter {p} must be a non-negative integer, not {v!r}",
                                hint=f"pass {p}={int(v)}" if whole else "")     # as compile and kernel calls
        out[p] = int(v)
    if scop.params:
        fixed = " and ".join(f"{p} = {v}" for p, v in out.items())
        if scop.context.intersect(isl.Set(f"[{', '.join(scop.params)}] -> {{ : {fixed} }}")).is_empty():
            raise ArgumentError(f"sizes {out} are outside what {scop.name} allows: {scop.context}")
    return out
