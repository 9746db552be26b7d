"""Bind a kernel call's arguments (positional in signature order, or by name) to a Scop's parameters,
scalars and arrays, with every check a user needs: dtypes, shapes, contiguity, assumptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import weakref

import islpy as isl
import numpy as np

from polyopt import expr as X
from polyopt.errors import ArgumentError
from polyopt.model import Scop

NUMPY_DTYPES = {X.DType.INT32: np.int32, X.DType.INT64: np.int64, X.DType.FLOAT32: np.float32,
                X.DType.FLOAT64: np.float64, X.DType.BOOL: np.bool_}


def numpy_dtype(dtype: X.DType) -> np.dtype:
    return np.dtype(NUMPY_DTYPES[dtype])


@dataclass(frozen=True)
class BoundArguments:
    """A call's values by role; arrays are the caller's own buffers (no copies)."""

    params: Mapping[str, int]
    scalars: Mapping[str, float | int]
    arrays: Mapping[str, np.ndarray]

    @property
    def param_key(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.params.items()))


def bind_arguments(scop: Scop, args: tuple[Any, ...], kwargs: Mapping[str, Any],
                   fixed_params: Mapping[str, int] | None = None) -> BoundArguments:
    """Match positional and keyword arguments to the kernel signature and check them.

    Everything that depends only on the scop (argument tables) or on (scop, sizes) -- the assumption
    check, expected shapes, accessed extents -- is cached, so a repeated call does only cheap checks
    (type, dtype, shape, contiguity, writeability, overlap): about 10 us for a few arrays."""
    sig = _signature(scop)
    values = values_by_name(scop, args, kwargs)
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, float | int] = {}
    params: dict[str, int] = {}
    for name, v in values.items():
        kind = sig.kinds[name]
        if kind == "array":
            if type(v) is not np.ndarray and not isinstance(v, np.ndarray):
                raise ArgumentError(f"argument '{name}' must be a numpy array, got {type(v).__name__}")
            arrays[name] = v
        elif kind == "param":
            params[name] = v if type(v) is int and -2**63 <= v < 2**63 else _as_int(name, v)
    if fixed_params:
        for p, v in check_sizes(scop, fixed_params).items():
            if p in params and params[p] != v:
                raise ArgumentError(f"size '{p}' = {params[p]} but the kernel was compiled for {p} = {v}")
            params[p] = int(v)
    for array, d, p in sig.inferred:       # sizes read off array shapes (an extent that is a parameter)
        if p not in params:
            a = arrays.get(array)
            if a is not None and a.ndim == sig.ranks[array]:
                params[p] = int(a.shape[d])
    if len(params) != len(scop.params):
        missing = [p for p in scop.params if p not in params]
        raise ArgumentError(f"missing size argument(s) {', '.join(missing)}",)
    plan = call_plan(scop, params)
    for name, v in values.items():
        if sig.kinds[name] == "scalar":
            dtype = sig.dtypes[name]
            scalars[name] = float(v) if dtype.is_float and type(v) is float else _as_scalar(name, v, dtype)
    if len(arrays) + len(scalars) != sig.n_data:
        missing = [a.name for a in scop.arguments if a.kind != "param" and a.name not in values]
        raise ArgumentError(f"missing argument(s) {', '.join(missing)}")
    for name, a in arrays.items():
        plan.check_array(name, a)
    plan.check_overlap(arrays)
    return BoundArguments(params, scalars, arrays)


@dataclass(frozen=True)
class _Signature:
    names: tuple[str, ...]                        # in signature order
    kinds: Mapping[str, str]
    dtypes: Mapping[str, X.DType]
    defaults: tuple[tuple[str, Any], ...]         # (name, the source function's default value)
    n_data: int                                   # scalars + arrays (arguments that must be given)
    ranks: Mapping[str, int]                      # per array
    inferred: tuple[tuple[str, int, str], ...]    # (array, dimension, parameter its extent is)


_SIGNATURES: "weakref.WeakKeyDictionary[Scop, _Signature]" = weakref.WeakKeyDictionary()


def _signature(scop: Scop) -> _Signature:
    sig = _SIGNATURES.get(scop)
    if sig is None:
        inferred = tuple((arr.name, d, ext.name) for arr in scop.arrays for d, ext in enumerate(arr.shape)
                         if isinstance(ext, X.Var) and ext.name in scop.params)
        sig = _Signature(tuple(a.name for a in scop.arguments),
                         {a.name: a.kind for a in scop.arguments},
                         {a.name: a.dtype for a in scop.arguments},
                         tuple((a.name, a.default) for a in scop.arguments if a.default is not None),
                         sum(1 for a in scop.arguments if a.kind != "param"),
                         {arr.name: arr.rank for arr in scop.arrays}, inferred)
        _SIGNATURES[scop] = sig
    return sig


@dataclass(frozen=True)
class _ArrayCheck:
    dtype: np.dtype
    rank: int
    shape: tuple[int | None, ...]                 # expected extents (None: not fixed by the sizes)
    need: tuple[int, ...]                         # the kernel touches index need[d] - 1 in dimension d
    written: bool


class CallPlan:
    """What the argument checks need for one (scop, sizes): computed once (isl), then reused."""

    def __init__(self, scop: Scop, params: Mapping[str, int]) -> None:
        _check_context(scop, params)
        self.scop = scop
        self.params: Mapping[str, int] = dict(params)
        extents = accessed_extents(scop, params)
        written = {w.array for s in scop.statements for w in s.writes}
        self.arrays: dict[str, _ArrayCheck] = {}
        for arr in scop.arrays:
            box = extents.get(arr.name, ())
            for d, (lo, _hi) in enumerate(box):
                if lo < 0:
                    raise ArgumentError(f"the kernel accesses {arr.name} at index {lo} in dimension {d} "
                                        f"(sizes {dict(params)})")
            need = tuple(hi + 1 for _lo, hi in box) if box else (0,) * arr.rank
            self.arrays[arr.name] = _ArrayCheck(numpy_dtype(arr.dtype), arr.rank,
                                                array_shape(scop, arr.name, params), need,
                                                arr.name in written)

    def check_array(self, name: str, a: np.ndarray) -> None:
        c = self.arrays[name]
        if a.dtype != c.dtype or a.ndim != c.rank or not a.flags.c_contiguous \
                or (c.written and not a.flags.writeable):
            _check_array(self.scop, name, a, self.params)          # raises the precise error
        shape = a.shape
        if any(s is not None and s != t for s, t in zip(c.shape, shape)):
            _check_array(self.scop, name, a, self.params)
        for d, n in enumerate(c.need):
            if n > shape[d]:
                raise ArgumentError(f"the kernel accesses {name} at index {n - 1} in dimension {d}, outside "
                                    f"its extent {shape[d]} (sizes {dict(self.params)})")

    def check_overlap(self, arrays: Mapping[str, np.ndarray]) -> None:
        """No two arrays share memory where the kernel writes one of them: the generated code assumes
        distinct arrays (noalias/restrict). The arrays are C-contiguous, so np.may_share_memory (a bounds
        check) is exact; arrays that are only read may alias."""
        items = [(n, a) for n, a in arrays.items() if a.size]
        for i, (n1, a1) in enumerate(items):
            for n2, a2 in items[i + 1:]:
                if (self.arrays[n1].written or self.arrays[n2].written) and np.may_share_memory(a1, a2):
                    w = n1 if self.arrays[n1].written else n2
                    raise ArgumentError(f"arrays '{n1}' and '{n2}' share memory and the kernel writes '{w}'; "
                                        "the compiled code assumes distinct arrays",
                                        hint=f"pass a copy, e.g. {n2}={n2}.copy()")


_PLANS: "weakref.WeakKeyDictionary[Scop, dict[tuple[int, ...], CallPlan]]" = weakref.WeakKeyDictionary()
_PLANS_PER_SCOP = 64


def call_plan(scop: Scop, params: Mapping[str, int]) -> CallPlan:
    """The cached CallPlan of these sizes (raises ArgumentError when they violate the assumptions)."""
    key = tuple(params[p] for p in scop.params)
    per_scop = _PLANS.get(scop)
    if per_scop is None:
        per_scop = _PLANS.setdefault(scop, {})
    plan = per_scop.get(key)
    if plan is None:
        plan = CallPlan(scop, {p: params[p] for p in scop.params})
        if len(per_scop) >= _PLANS_PER_SCOP:
            per_scop.pop(next(iter(per_scop)))
        per_scop[key] = plan
    return plan


def values_by_name(scop: Scop, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A call's positional and keyword arguments by the kernel's argument names (ArgumentError when
    they do not fit the signature)."""
    sig = _signature(scop)
    names = sig.names
    if len(args) > len(names):
        raise ArgumentError(f"{scop.name}() takes {len(names)} arguments ({', '.join(names)}), "
                            f"got {len(args)}")
    values = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in sig.kinds:
            raise ArgumentError(f"{scop.name}() has no argument '{k}'; arguments: {', '.join(names)}")
        if k in values:
            raise ArgumentError(f"{scop.name}() got argument '{k}' twice")
        values[k] = v
    for name, default in sig.defaults:         # the source function's default values (scalars, sizes)
        if name not in values:
            values[name] = default
    return values


_INT_RANGE = {X.DType.INT32: (-2**31, 2**31 - 1), X.DType.INT64: (-2**63, 2**63 - 1), X.DType.BOOL: (0, 1)}


def _as_int(name: str, v: Any, dtype: X.DType = X.DType.INT64, what: str = "size argument") -> int:
    """An integer argument, checked: integral and within the range of its C type (no silent wrap)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        hint = f"pass {name}={int(v)}" if isinstance(v, (float, np.floating)) and float(v).is_integer() \
            else "sizes are whole numbers"
        raise ArgumentError(f"{what} '{name}' must be an integer, got {v!r}", hint=hint)
    lo, hi = _INT_RANGE[dtype]
    if not lo <= int(v) <= hi:
        raise ArgumentError(f"{what} '{name}' = {int(v)} is outside the range of {dtype.value} "
                            f"[{lo}, {hi}]", hint="it would wrap around in the compiled code")
    return int(v)


def check_size_names(scop: Scop, names: Iterable[str]) -> None:
    """ArgumentError naming the given names that are not size parameters of the kernel, with its list."""
    unknown = [p for p in names if p not in scop.params]
    if unknown:
        known = ", ".join(scop.params) or "none"
        raise ArgumentError(f"{scop.name} has no size parameter {', '.join(map(repr, unknown))}; "
                            f"its size parameters: {known}", hint=f"give values for these only: {known}")


def check_sizes(scop: Scop, params: Mapping[str, Any]) -> dict[str, int]:
    """Sizes given ahead of a call (compile(..., params=...)): known names, integers in int64 range."""
    check_size_names(scop, params)
    return {p: _as_int(p, v) for p, v in params.items()}


def _as_scalar(name: str, v: Any, dtype: X.DType) -> float | int:
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v.item()
    if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool):
        raise ArgumentError(f"scalar argument '{name}' must be a number, got {type(v).__name__}")
    if dtype.is_float:
        return float(v)
    if isinstance(v, (float, np.floating)):
        if not float(v).is_integer():
            raise ArgumentError(f"scalar argument '{name}' is {dtype.value}, got the fraction {v!r}",
                                hint=f"pass an integer, e.g. {name}={int(v)}")
        v = int(v)
    return _as_int(name, v, dtype, "scalar argument")


def _check_context(scop: Scop, params: dict[str, int]) -> None:
    if not scop.params:
        return
    if scop.parameter_point(params).intersect(scop.context).is_empty():
        raise ArgumentError(f"sizes {params} violate the kernel's assumptions {scop.context}")


def evaluate_int(e: X.Expr, env: Mapping[str, int]) -> int:
    """Value of an integer affine expression (array extents) under parameter values."""
    if isinstance(e, X.Const):
        return int(e.value)
    if isinstance(e, X.Var):
        if e.name not in env:
            raise ArgumentError(f"size '{e.name}' is unknown")
        return int(env[e.name])
    if isinstance(e, X.Unary) and e.op == "neg":
        return -evaluate_int(e.operand, env)
    if isinstance(e, X.Cast):
        return evaluate_int(e.operand, env)
    if isinstance(e, X.Binary):
        a, b = evaluate_int(e.lhs, env), evaluate_int(e.rhs, env)
        ops = {"+": a + b, "-": a - b, "*": a * b, "min": min(a, b), "max": max(a, b)}
        if e.op in ops:
            return ops[e.op]
        if e.op in ("/", "floordiv", "%", "mod") and b != 0:
            return {"/": int(a / b), "floordiv": a // b, "%": int(np.fmod(a, b)), "mod": a % b}[e.op]
    raise ArgumentError(f"cannot evaluate extent {X.to_c(e)}")


def array_shape(scop: Scop, name: str, params: Mapping[str, int]) -> tuple[int | None, ...]:
    """The concrete shape of an array for given sizes (None where the extent is unknown)."""
    return tuple(None if e is None else evaluate_int(e, params) for e in scop.array(name).shape)


def _check_array(scop: Scop, name: str, a: np.ndarray, params: Mapping[str, int]) -> None:
    arr = scop.array(name)
    want = numpy_dtype(arr.dtype)
    if a.dtype != want:
        raise ArgumentError(f"array '{name}' has dtype {a.dtype}, the kernel expects {want}",)
    if a.ndim != arr.rank:
        raise ArgumentError(f"array '{name}' has {a.ndim} dimensions, the kernel expects {arr.rank}")
    shape = array_shape(scop, name, params)
    if any(s is not None and s != t for s, t in zip(shape, a.shape)):
        raise ArgumentError(f"array '{name}' has shape {a.shape}, the kernel expects "
                            f"{tuple('?' if s is None else s for s in shape)} for sizes {dict(params)}")
    if not a.flags.c_contiguous:
        raise ArgumentError(f"array '{name}' is not C-contiguous; pass np.ascontiguousarray({name})")
    if not a.flags.writeable and any(w.array == name for s in scop.statements for w in s.writes):
        raise ArgumentError(f"array '{name}' is written by the kernel but is read-only")


_EXTENTS: "weakref.WeakKeyDictionary[Scop, dict]" = weakref.WeakKeyDictionary()


def accessed_extents(scop: Scop, params: Mapping[str, int]) -> dict[str, tuple[tuple[int, int], ...]]:
    """Per array, the (min, max) index the kernel touches in each dimension for given sizes."""
    key = tuple(sorted(params.items()))
    per_scop = _EXTENTS.setdefault(scop, {})
    if key in per_scop:
        return per_scop[key]
    out: dict[str, tuple[tuple[int, int], ...]] = {}
    point = scop.parameter_point(params) if scop.params else None
    touched = scop.reads.union(scop.writes).range()
    if point is not None:
        touched = touched.intersect_params(point)
    sets: list[isl.Set] = []
    touched.foreach_set(sets.append)
    for s in sets:
        if s.is_empty() or s.dim(isl.dim_type.set) == 0:
            continue
        box = []
        for d in range(s.dim(isl.dim_type.set)):
            lo, hi = _const(s.dim_min(d)), _const(s.dim_max(d))
            box.append((lo, hi))
        out[s.get_tuple_name()] = tuple(box)
    per_scop[key] = out
    return out


def _const(pa: isl.PwAff) -> int:
    vals: list[int] = []
    pa.foreach_piece(lambda _s, aff: vals.append(int(aff.get_constant_val().to_python())))
    return max(vals) if vals else 0
