"""The typed expression IR of statement bodies, loop bounds and subscripts.

Frontends (Python, C) lower their syntax to these nodes; the model builder turns affine ones into isl
objects; the code generators lower bodies to LLVM IR, C or CUDA. All nodes are frozen and hashable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterator, Union


class DType(str, Enum):
    """Element and scalar types supported by the model."""

    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    BOOL = "bool"

    @property
    def is_float(self) -> bool:
        return self in (DType.FLOAT32, DType.FLOAT64)

    @property
    def c_name(self) -> str:
        return {"int32": "int", "int64": "long", "float32": "float", "float64": "double",
                "bool": "int"}[self.value]

    @property
    def itemsize(self) -> int:
        return {"int32": 4, "int64": 8, "float32": 4, "float64": 8, "bool": 1}[self.value]

    @staticmethod
    def promote(a: "DType", b: "DType") -> "DType":
        """C's usual arithmetic conversions restricted to our types."""
        order = [DType.BOOL, DType.INT32, DType.INT64, DType.FLOAT32, DType.FLOAT64]
        return max(a, b, key=order.index)


BINARY_OPS = ("+", "-", "*", "/", "floordiv", "%", "mod", "min", "max")
"""'/' is C division (true division on floats, truncation on integers); 'floordiv' is Python's //;
'%' is C's remainder (sign of the dividend); 'mod' is Python's % (sign of the divisor)."""
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
LOGICAL_OPS = ("and", "or")
UNARY_OPS = ("neg", "not")
NUMPY_FUNCTIONS = ("maximum", "minimum")
"""numpy's maximum/minimum on floats (Python frontend only): `a if (a > b or a != a) else b` (with `<`
for minimum), so a NaN on either side propagates, with each argument evaluated once."""
MATH_FUNCTIONS = ("sqrt", "exp", "log", "pow", "fabs", "sin", "cos", "tan", "tanh", "floor", "ceil",
                  "exp2", "log2", "log10", "atan", "atan2", "fmin", "fmax", "abs")


@dataclass(frozen=True)
class Const:
    """A literal."""

    value: Union[int, float]
    dtype: DType = DType.INT64


@dataclass(frozen=True)
class Var:
    """A name: a loop iterator, a size parameter or a scalar argument."""

    name: str


@dataclass(frozen=True)
class Access:
    """An array element (indices) or a scalar variable modelled as a 0-d array (no indices)."""

    array: str
    indices: tuple["Expr", ...] = ()


@dataclass(frozen=True)
class Unary:
    op: str
    operand: "Expr"


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: "Expr"
    rhs: "Expr"


@dataclass(frozen=True)
class Compare:
    op: str
    lhs: "Expr"
    rhs: "Expr"


@dataclass(frozen=True)
class Logical:
    op: str
    lhs: "Expr"
    rhs: "Expr"


@dataclass(frozen=True)
class Select:
    """cond ? if_true : if_false"""

    cond: "Expr"
    if_true: "Expr"
    if_false: "Expr"


@dataclass(frozen=True)
class Cast:
    dtype: DType
    operand: "Expr"


@dataclass(frozen=True)
class Call:
    """A pure math function (see MATH_FUNCTIONS)."""

    func: str
    args: tuple["Expr", ...]


Expr = Union[Const, Var, Access, Unary, Binary, Compare, Logical, Select, Cast, Call]


def children(e: Expr) -> tuple[Expr, ...]:
    """Direct sub-expressions of a node."""
    if isinstance(e, Access):
        return e.indices
    if isinstance(e, (Unary, Cast)):
        return (e.operand,)
    if isinstance(e, (Binary, Compare, Logical)):
        return (e.lhs, e.rhs)
    if isinstance(e, Select):
        return (e.cond, e.if_true, e.if_false)
    if isinstance(e, Call):
        return e.args
    return ()


def walk(e: Expr) -> Iterator[Expr]:
    """Pre-order traversal."""
    yield e
    for c in children(e):
        yield from walk(c)


def rebuild(e: Expr, kids: tuple[Expr, ...]) -> Expr:
    """The same node with new children."""
    if isinstance(e, Access):
        return Access(e.array, kids)
    if isinstance(e, Unary):
        return Unary(e.op, kids[0])
    if isinstance(e, Cast):
        return Cast(e.dtype, kids[0])
    if isinstance(e, Binary):
        return Binary(e.op, kids[0], kids[1])
    if isinstance(e, Compare):
        return Compare(e.op, kids[0], kids[1])
    if isinstance(e, Logical):
        return Logical(e.op, kids[0], kids[1])
    if isinstance(e, Select):
        return Select(kids[0], kids[1], kids[2])
    if isinstance(e, Call):
        return Call(e.func, kids)
    return e


def transform(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Bottom-up rewrite: fn returns a replacement or None to keep the (rebuilt) node."""
    kids = children(e)
    if kids:
        e = rebuild(e, tuple(transform(c, fn) for c in kids))
    out = fn(e)
    return e if out is None else out


def rename(e: Expr, names: dict[str, str]) -> Expr:
    """Rename variables and arrays."""
    def fn(x: Expr) -> Expr | None:
        if isinstance(x, Var) and x.name in names:
            return Var(names[x.name])
        if isinstance(x, Access) and x.array in names:
            return Access(names[x.array], x.indices)
        return None
    return transform(e, fn)


def substitute(e: Expr, values: dict[str, Expr]) -> Expr:
    """Replace variables by expressions."""
    return transform(e, lambda x: values.get(x.name) if isinstance(x, Var) else None)


def free_vars(e: Expr) -> set[str]:
    return {x.name for x in walk(e) if isinstance(x, Var)}


def accesses(e: Expr) -> list[Access]:
    """Every array access in the expression, outermost first (including accesses inside subscripts)."""
    return [x for x in walk(e) if isinstance(x, Access)]


_PREC = {"or": 1, "and": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5,
         "*": 6, "/": 6, "%": 6}


def to_c(e: Expr) -> str:
    """C-like text of an expression (for display and the C printer)."""
    if isinstance(e, Const):
        if e.dtype.is_float:
            text = repr(float(e.value))
            if text in ("inf", "-inf", "nan"):
                text = {"inf": "INFINITY", "-inf": "(-INFINITY)", "nan": "NAN"}[text]
            return text + ("f" if e.dtype == DType.FLOAT32 and text[0].isdigit() else "")
        return str(int(e.value))
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Access):
        return e.array + "".join(f"[{to_c(i)}]" for i in e.indices)
    if isinstance(e, Unary):
        return ("-" if e.op == "neg" else "!") + f"({to_c(e.operand)})"
    if isinstance(e, Cast):
        return f"(({e.dtype.c_name})({to_c(e.operand)}))"
    if isinstance(e, Call):
        return f"{e.func}({', '.join(to_c(a) for a in e.args)})"
    if isinstance(e, Select):
        return f"({to_c(e.cond)} ? {to_c(e.if_true)} : {to_c(e.if_false)})"
    if isinstance(e, Binary) and e.op in ("min", "max", "floordiv", "mod"):
        name = {"min": "min", "max": "max", "floordiv": "floord", "mod": "pmod"}[e.op]
        return f"{name}({to_c(e.lhs)}, {to_c(e.rhs)})"
    assert isinstance(e, (Binary, Compare, Logical)), e
    op = {"and": "&&", "or": "||"}.get(e.op, e.op)
    return f"({to_c(e.lhs)} {op} {to_c(e.rhs)})"
