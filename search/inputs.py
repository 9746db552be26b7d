"""Random inputs for measuring a SCoP at concrete sizes, and the NaN poisoning of its pure outputs."""

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


def poisoned_arrays(scop: Scop, args: dict[str, Any]) -> dict[str, Any]:
    """Arrays that are written but never read are filled with NaN (or -1 for integers), so an element the
    kernel forgets to write shows up as a mismatch."""
    pure = written_arrays(scop) - read_arrays(scop)
    for name in pure:
        a = args.get(name)
        if isinstance(a, np.ndarray):
            a.fill(np.nan if a.dtype.kind == "f" else -1)
    return args
