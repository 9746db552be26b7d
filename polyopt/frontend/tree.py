"""The language-neutral loop tree that every frontend produces and the model builder consumes.

A frontend only has to recognise syntax; the builder (polyopt.builder) checks affinity, builds the isl
domains, schedules and access relations, and raises ScopError with the node's location otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from polyopt.errors import SourceLocation
from polyopt.expr import Access, DType, Expr


@dataclass(frozen=True)
class Loop:
    """`for (iterator = init; cond; iterator += step)`: cond is any comparison tree on the iterator
    (e.g. Compare('<', Var(i), N) or `i < min(N, j)`); step is a non-zero integer."""

    iterator: str
    init: Expr
    cond: Expr
    step: int
    body: tuple["Node", ...]
    location: SourceLocation = field(default_factory=SourceLocation, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class If:
    """`if (cond) then else orelse`; cond must be affine in iterators and parameters."""

    cond: Expr
    then: tuple["Node", ...]
    orelse: tuple["Node", ...] = ()
    location: SourceLocation = field(default_factory=SourceLocation, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class Assign:
    """`target = value`; compound assignments are expanded by the frontend (`a += b` -> `a = a + b`)."""

    target: Access
    value: Expr
    location: SourceLocation = field(default_factory=SourceLocation, compare=False)
    text: str = field(default="", compare=False)


Node = Union[Loop, If, Assign]


@dataclass(frozen=True)
class ArrayDecl:
    """An array argument or a local scalar (shape ()) with its element type; shape entries are affine
    expressions in the parameters (None for an unknown leading extent, as in `double A[][N]`)."""

    name: str
    dtype: DType
    shape: tuple[Expr | None, ...]
    is_argument: bool = True


@dataclass(frozen=True)
class Argument:
    """One parameter of the source function, in signature order.

    kind: 'param' (an integer size used in bounds/subscripts), 'scalar' (a value used only in
    arithmetic, e.g. alpha) or 'array'. default: the source's default value (None: none), used by
    kernel calls that omit the argument."""

    name: str
    kind: str
    dtype: DType
    default: int | float | None = None


@dataclass(frozen=True)
class KernelSource:
    """A whole loop nest as a frontend saw it."""

    name: str
    arguments: tuple[Argument, ...]
    arrays: tuple[ArrayDecl, ...]
    body: tuple[Node, ...]
    language: str = "python"                 # 'python' | 'c' | 'isl'
    file: str = "<string>"
    assumptions: tuple[Expr, ...] = ()        # extra affine facts on the parameters
    source_text: str = field(default="", compare=False)
