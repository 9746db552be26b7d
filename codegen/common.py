"""Helpers shared by the C and LLVM backends: the C ABI signature of a kernel, row-major linearisation of
array accesses, parameter specialisation, and loop-bound analysis for parallel outlining."""

from __future__ import annotations

import ctypes
import re
from collections.abc import Mapping
from dataclasses import dataclass

from polyopt.codegen.loop_ast import For

from polyopt import expr as X
from polyopt.errors import CodegenError
from polyopt.expr import DType
from polyopt.model import Array, Scop

C_KEYWORDS = frozenset(
    ["auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary", "main"])

CTYPES = {DType.INT32: ctypes.c_int32, DType.INT64: ctypes.c_int64, DType.FLOAT32: ctypes.c_float,
          DType.FLOAT64: ctypes.c_double, DType.BOOL: ctypes.c_bool}


@dataclass(frozen=True)
class AbiArgument:
    """One argument of the generated C ABI entry point, in the source function's order."""

    name: str
    kind: str          # 'param' (int64 size), 'scalar' (its dtype), 'array' (pointer to its dtype)
    dtype: DType

    @property
    def c_decl(self) -> str:
        if self.kind == "param":
            return f"long {c_name(self.name)}"
        if self.kind == "scalar":
            return f"{self.dtype.c_name} {c_name(self.name)}"
        return f"{_c_elem(self.dtype)} *restrict {c_array_name(self.name)}"

    @property
    def ctype(self) -> type:
        if self.kind == "param":
            return ctypes.c_int64
        if self.kind == "scalar":
            return CTYPES[self.dtype]
        return ctypes.c_void_p


def _c_elem(dtype: DType) -> str:
    return "unsigned char" if dtype == DType.BOOL else dtype.c_name


def c_elem_type(dtype: DType) -> str:
    """The C element type of an array of this dtype (bool arrays are bytes, as in numpy)."""
    return _c_elem(dtype)


def c_name(name: str) -> str:
    """A C identifier for a source name (C keywords get a trailing underscore)."""
    return name + "_" if name in C_KEYWORDS or name.startswith("polyopt_") else name


def c_array_name(name: str) -> str:
    """C identifier of an array or local scalar: names like the generated loop iterators (c0, c1 ...) get
    a trailing underscore, or a local `c1` would be shadowed by the loop `for (long c1 ...)`."""
    return c_name(name) + ("_" if re.fullmatch(r"c\d+", name) else "")


def abi_arguments(scop: Scop) -> tuple[AbiArgument, ...]:
    """The entry point's arguments: scop.arguments in signature order (params are always int64)."""
    out = []
    for a in scop.arguments:
        if a.kind == "array":
            out.append(AbiArgument(a.name, "array", scop.array(a.name).dtype))
        elif a.kind == "param":
            out.append(AbiArgument(a.name, "param", DType.INT64))
        else:
            out.append(AbiArgument(a.name, "scalar", a.dtype))
    return tuple(out)


def linear_index(array: Array, indices: tuple[X.Expr, ...]) -> X.Expr:
    """Row-major offset of an element: ((i0*d1 + i1)*d2 + i2); 0 for a 0-d array."""
    if not indices:
        return X.Const(0, DType.INT64)
    out: X.Expr = indices[0]
    for dim, idx in zip(array.shape[1:], indices[1:]):
        if dim is None:
            raise CodegenError(f"array '{array.name}' has an unknown inner extent; only the leading "
                               "extent may be omitted")
        out = X.Binary("+", X.Binary("*", out, dim), idx)
    return out


def specialize(e: X.Expr, params: Mapping[str, int]) -> X.Expr:
    """Replace size parameters by their (int64) values."""
    if not params:
        return e
    return X.substitute(e, {k: X.Const(int(v), DType.INT64) for k, v in params.items()})


def check_local_arrays(scop: Scop) -> None:
    """Local (non-argument) arrays must be 0-d scalars; larger temporaries are not supported yet."""
    for a in scop.local_arrays:
        if a.rank:
            raise CodegenError(f"local array '{a.name}' of rank {a.rank} is not supported by the code "
                               "generators; pass it as an argument")


def upper_bound(loop: For) -> tuple[X.Expr, bool] | None:
    """(bound, inclusive) when the loop condition is `it < bound` / `it <= bound` with a bound free of the
    iterator (the form isl generates); None otherwise."""
    c = loop.cond
    if (isinstance(c, X.Compare) and c.op in ("<", "<=") and c.lhs == X.Var(loop.iterator)
            and loop.iterator not in X.free_vars(c.rhs) and loop.step > 0):
        return c.rhs, c.op == "<="
    return None
