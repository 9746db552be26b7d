"""The polyhedral model of a loop nest (a SCoP): parameters and context, arrays, statements with isl
iteration domains, original schedules and access relations, and typed bodies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import islpy as isl

from polyopt.errors import SourceLocation
from polyopt.expr import Access, DType, Expr
from polyopt.frontend.tree import Argument


@dataclass(frozen=True)
class Array:
    """An array the SCoP touches; scalars (local temporaries) are 0-d arrays with shape ()."""

    name: str
    dtype: DType
    shape: tuple[Expr | None, ...]
    is_argument: bool = True

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass(frozen=True, eq=False)
class AccessRelation:
    """One array reference of a statement: the subscript expression and its isl map
    `[params] -> { S[i..] -> A[f(i..)] }`."""

    expr: Access
    relation: isl.Map

    @property
    def array(self) -> str:
        return self.expr.array


@dataclass(frozen=True, eq=False)
class Statement:
    """One assignment with its iteration domain, original schedule and accesses."""

    name: str
    iterators: tuple[str, ...]
    domain: isl.Set
    schedule: isl.Map
    target: Access
    value: Expr
    reads: tuple[AccessRelation, ...]
    writes: tuple[AccessRelation, ...]
    location: SourceLocation = field(default_factory=SourceLocation)
    text: str = ""
    loop_ids: tuple[int, ...] = ()      # identities of the enclosing source loops, outermost first

    def common_depth(self, other: "Statement") -> int:
        """How many source loops this statement shares with another."""
        n = 0
        for a, b in zip(self.loop_ids, other.loop_ids):
            if a != b:
                break
            n += 1
        return n

    @property
    def depth(self) -> int:
        return len(self.iterators)


@dataclass(frozen=True, eq=False)
class Scop:
    """A static control part: the unit polyopt analyses, transforms and compiles."""

    name: str
    params: tuple[str, ...]
    context: isl.Set
    arrays: tuple[Array, ...]
    statements: tuple[Statement, ...]
    arguments: tuple[Argument, ...]
    language: str = "python"
    file: str = "<string>"
    canonical_text: str = field(default="", repr=False)

    def array(self, name: str) -> Array:
        for a in self.arrays:
            if a.name == name:
                return a
        raise KeyError(name)

    def statement(self, name: str) -> Statement:
        for s in self.statements:
            if s.name == name:
                return s
        raise KeyError(name)

    def parameter_point(self, values: Mapping[str, int]) -> isl.Set:
        """The parameter set that fixes every size parameter at its value ({ : n = 700 })."""
        fixed = " and ".join(f"{p} = {int(values[p])}" for p in self.params)
        return isl.Set(f"[{', '.join(self.params)}] -> {{ : {fixed or '0 = 0'} }}")

    @cached_property
    def domain(self) -> isl.UnionSet:
        out = isl.UnionSet.empty(self.context.get_space())
        for s in self.statements:
            out = out.union(isl.UnionSet.from_set(s.domain))
        return out

    @cached_property
    def schedule_map(self) -> isl.UnionMap:
        """The original (source-order) schedule as a flat union map."""
        return _union([s.schedule for s in self.statements], self.context)

    @cached_property
    def reads(self) -> isl.UnionMap:
        return _union([a.relation for s in self.statements for a in s.reads], self.context)

    @cached_property
    def writes(self) -> isl.UnionMap:
        return _union([a.relation for s in self.statements for a in s.writes], self.context)

    @cached_property
    def fingerprint(self) -> str:
        """Name-independent identity of the kernel: same math, same fingerprint."""
        return hashlib.sha256(self.canonical_text.encode()).hexdigest()[:16]

    @property
    def scalar_arguments(self) -> tuple[Argument, ...]:
        return tuple(a for a in self.arguments if a.kind == "scalar")

    @property
    def array_arguments(self) -> tuple[Array, ...]:
        return tuple(a for a in self.arrays if a.is_argument)

    @property
    def local_arrays(self) -> tuple[Array, ...]:
        return tuple(a for a in self.arrays if not a.is_argument)


def _union(maps: list[isl.Map], context: isl.Set) -> isl.UnionMap:
    out = isl.UnionMap.empty(context.get_space())
    for m in maps:
        out = out.union(isl.UnionMap.from_map(m))
    return out


def expr_dtype(scop: Scop, e: Expr, array_dtype: Callable[[str], DType] | None = None) -> DType:
    """The C type of an expression under the usual arithmetic conversions (iterators and sizes: int64).
    array_dtype: the element type of an accessed array, where it may be one the scop does not declare (a
    code generator's promoted buffer); default: the scop's array."""
    from polyopt import expr as X

    if isinstance(e, X.Const):
        return e.dtype
    if isinstance(e, X.Var):
        for a in scop.arguments:
            if a.name == e.name and a.kind == "scalar":
                return a.dtype
        return DType.INT64
    if isinstance(e, X.Access):
        return array_dtype(e.array) if array_dtype else scop.array(e.array).dtype
    if isinstance(e, X.Cast):
        return e.dtype
    if isinstance(e, (X.Compare, X.Logical)) or (isinstance(e, X.Unary) and e.op == "not"):
        return DType.BOOL
    if isinstance(e, X.Unary):
        return expr_dtype(scop, e.operand, array_dtype)
    if isinstance(e, X.Select):
        return DType.promote(expr_dtype(scop, e.if_true, array_dtype), expr_dtype(scop, e.if_false, array_dtype))
    if isinstance(e, X.Call):
        t = expr_dtype(scop, e.args[0], array_dtype)
        for a in e.args[1:]:
            t = DType.promote(t, expr_dtype(scop, a, array_dtype))
        if e.func == "abs":
            return DType.INT32 if t == DType.BOOL else t
        return t if t.is_float else DType.FLOAT64
    assert isinstance(e, X.Binary)
    out = DType.promote(expr_dtype(scop, e.lhs, array_dtype), expr_dtype(scop, e.rhs, array_dtype))
    return DType.INT32 if out == DType.BOOL else out
