"""Inputs for measuring a SCoP at concrete sizes, and the NaN poisoning of its write-only outputs.

`measure_inputs` gives a suite kernel's own valid inputs (polyopt.kernels.make_inputs: factorizations get
well-conditioned matrices, etc.) when the SCoP is one of the suite's kernels, else generic random arrays.
`poison_outputs` fills every array argument that no statement reads before writing it (upward-exposed
reads, from isl dataflow: polyopt.interpret.input_arrays) with NaN, so an element the candidate forgets
to write cannot match the reference by accident."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from polyopt import expr as X
from polyopt.model import Scop

_NP = {X.DType.INT32: np.int32, X.DType.INT64: np.int64, X.DType.FLOAT32: np.float32,
       X.DType.FLOAT64: np.float64, X.DType.BOOL: np.bool_}


def eval_int(e: X.Expr, env: Mapping[str, int]) -> int:
    """Value of an integer (affine) expression of the parameters."""
    if isinstance(e, X.Const):
        return int(e.value)
    if isinstance(e, X.Var):
        return int(env[e.name])
    if isinstance(e, X.Cast):
        return eval_int(e.operand, env)
    if isinstance(e, X.Unary) and e.op == "neg":
        return -eval_int(e.operand, env)
    if isinstance(e, X.Binary):
        a, b = eval_int(e.lhs, env), eval_int(e.rhs, env)
        ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "floordiv": lambda: a // b,
               "/": lambda: int(a / b), "%": lambda: a - b * int(a / b), "mod": lambda: a % b,
               "min": lambda: min(a, b), "max": lambda: max(a, b)}
        return int(ops[e.op]())
    raise ValueError(f"cannot evaluate {X.to_c(e)} as an integer")


def array_shape(scop: Scop, name: str, params: Mapping[str, int]) -> tuple[int, ...]:
    arr = scop.array(name)
    return tuple(max(1, eval_int(d, params)) if d is not None else 1 for d in arr.shape)


def written_arrays(scop: Scop) -> set[str]:
    return {a.array for s in scop.statements for a in s.writes}


def read_arrays(scop: Scop) -> set[str]:
    return {a.array for s in scop.statements for a in s.reads}


def array_outputs(scop: Scop) -> list[str]:
    """Argument arrays the kernel writes (compared against the reference)."""
    written = written_arrays(scop)
    return [a.name for a in scop.array_arguments if a.name in written]


def random_inputs(scop: Scop, params: Mapping[str, int], seed: int) -> dict[str, Any]:
    """Every argument by name: arrays (uniform [0, 1), square matrices made diagonally dominant so that
    factorizations stay well conditioned; integers in [0, 100)), scalars, and size parameters."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for arg in scop.arguments:
        if arg.kind == "param":
            out[arg.name] = int(params[arg.name])
        elif arg.kind == "scalar":
            out[arg.name] = float(rng.uniform(0.5, 1.5)) if arg.dtype.is_float else int(rng.integers(1, 10))
    for arr in scop.array_arguments:
        shape = array_shape(scop, arr.name, params)
        dt = _NP[arr.dtype]
        if arr.dtype.is_float:
            a = rng.random(shape).astype(dt)
            if len(shape) == 2 and shape[0] == shape[1]:
                a[np.diag_indices(shape[0])] += shape[0]
        elif arr.dtype == X.DType.BOOL:
            a = rng.integers(0, 2, shape).astype(dt)
        else:
            a = rng.integers(0, 100, shape).astype(dt)
        out[arr.name] = np.ascontiguousarray(a)
    return out


def suite_kernel_name(scop: Scop) -> str | None:
    """The suite kernel this SCoP is (by C function name and identical argument list), or None."""
    try:
        from polyopt import kernels
    except ImportError:  # pragma: no cover
        return None
    for k in kernels.suite():
        if scop.name in (k.c_function, k.python_function_name, k.name) and \
                tuple(a.name for a in scop.arguments) == k.arguments:
            return k.name
    return None


def measure_inputs(scop: Scop, params: Mapping[str, int], seed: int) -> dict[str, Any]:
    """Every argument by name for one run: the suite kernel's valid inputs when the SCoP is a suite
    kernel (kernels.make_inputs at these sizes), else random_inputs. Fresh for every seed."""
    name = suite_kernel_name(scop)
    if name is not None:
        try:
            from polyopt import kernels

            return kernels.make_inputs(name, {p: int(v) for p, v in params.items()}, seed)
        except (KeyError, AssertionError):   # sizes the suite's generator does not cover
            pass
    return random_inputs(scop, params, seed)


_WRITE_ONLY: dict[str, frozenset[str]] = {}


def write_only_arrays(scop: Scop) -> frozenset[str]:
    """Array arguments whose every read is preceded by a write of the kernel (cached per SCoP)."""
    key = scop.fingerprint
    if key not in _WRITE_ONLY:
        from polyopt.interpret import input_arrays

        exposed = input_arrays(scop)
        _WRITE_ONLY[key] = frozenset(a.name for a in scop.array_arguments if a.name not in exposed)
    return _WRITE_ONLY[key]


def poison_outputs(scop: Scop, args: dict[str, Any]) -> dict[str, Any]:
    """In place: write-only arrays (see write_only_arrays) set to NaN (integers: -123456)."""
    for name in write_only_arrays(scop):
        a = args.get(name)
        if isinstance(a, np.ndarray):
            a.fill(np.nan if a.dtype.kind == "f" else -123456)
    return args


def poisoned_arrays(scop: Scop, args: dict[str, Any]) -> dict[str, Any]:
    """Arrays that are written but never read are filled with NaN (or -1 for integers), so an element the
    kernel forgets to write shows up as a mismatch."""
    pure = written_arrays(scop) - read_arrays(scop)
    for name in pure:
        a = args.get(name)
        if isinstance(a, np.ndarray):
            a.fill(np.nan if a.dtype.kind == "f" else -1)
    return args
