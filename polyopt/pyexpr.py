"""Python source text of expression-IR trees, shared by the reference interpreter (polyopt.interpret) and
the CUDA emulator (codegen.cuda.emulate), which both turn loop programs into Python and run them.

Semantics follow polyopt.expr: '/' is C division (truncation toward zero) on integers and true division on
floats, '%' is C's remainder (np.fmod on floats), 'floordiv' and 'mod' are Python's // and %. The text
calls the names in HELPERS: run it with them in its globals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from polyopt import expr as X
from polyopt.expr import DType

NUMPY_TYPES = {DType.INT32: np.int32, DType.INT64: np.int64, DType.FLOAT32: np.float32,
               DType.FLOAT64: np.float64, DType.BOOL: np.bool_}
MATH_FUNCTIONS = {"sqrt": "sqrt", "exp": "exp", "log": "log", "pow": "power", "fabs": "fabs", "sin": "sin",
                  "cos": "cos", "tan": "tan", "tanh": "tanh", "floor": "floor", "ceil": "ceil", "exp2": "exp2",
                  "log2": "log2", "log10": "log10", "atan": "arctan", "atan2": "arctan2", "fmin": "fmin",
                  "fmax": "fmax", "maximum": "maximum", "minimum": "minimum"}


def c_div(a: Any, b: Any) -> int:
    """C integer division: the quotient truncated toward zero."""
    q = abs(int(a)) // abs(int(b))
    return q if (a >= 0) == (b >= 0) else -q


def c_rem(a: Any, b: Any) -> int:
    """C integer remainder: a - b * c_div(a, b) (the sign of a)."""
    return int(a) - c_div(a, b) * int(b)


HELPERS: dict[str, Any] = {"_cdiv": c_div, "_crem": c_rem, "_np": np, "_math": math, "min": min, "max": max,
                           "abs": abs, "int": int, "bool": bool}


class PyExprPrinter:
    """Expression -> Python text. Subclasses say how variables and array accesses are named and which
    binary operations are on floats; the other hooks have defaults."""

    def var(self, name: str) -> str:
        return name

    def access(self, e: X.Access) -> str:
        raise NotImplementedError

    def is_float(self, e: X.Binary) -> bool:
        raise NotImplementedError

    def float_const(self, e: X.Const) -> str:
        return f"_np.{NUMPY_TYPES[e.dtype].__name__}({float(e.value)!r})"

    def float_cast(self, dtype: DType, text: str) -> str:
        return f"_np.{NUMPY_TYPES[dtype].__name__}({text})"

    def int_cast(self, dtype: DType, text: str) -> str:
        return f"_np.{NUMPY_TYPES[dtype].__name__}(_math.trunc({text}))"

    def expr(self, e: X.Expr) -> str:
        if isinstance(e, X.Const):
            return self.float_const(e) if e.dtype.is_float else repr(int(e.value))
        if isinstance(e, X.Var):
            return self.var(e.name)
        if isinstance(e, X.Access):
            return self.access(e)
        if isinstance(e, X.Unary):
            return f"(-{self.expr(e.operand)})" if e.op == "neg" else f"(not {self.expr(e.operand)})"
        if isinstance(e, X.Cast):
            if e.dtype.is_float:
                return self.float_cast(e.dtype, self.expr(e.operand))
            if e.dtype == DType.BOOL:
                return f"bool({self.expr(e.operand)})"
            return self.int_cast(e.dtype, self.expr(e.operand))
        if isinstance(e, X.Call):
            name = "abs" if e.func == "abs" else "_np." + MATH_FUNCTIONS.get(e.func, e.func)
            return f"{name}({', '.join(self.expr(a) for a in e.args)})"
        if isinstance(e, X.Select):
            return f"({self.expr(e.if_true)} if {self.expr(e.cond)} else {self.expr(e.if_false)})"
        if isinstance(e, (X.Compare, X.Logical)):
            return f"({self.expr(e.lhs)} {e.op} {self.expr(e.rhs)})"
        assert isinstance(e, X.Binary), e
        a, b = self.expr(e.lhs), self.expr(e.rhs)
        if e.op in ("min", "max"):
            return f"{e.op}({a}, {b})"
        if e.op == "/":
            return f"({a} / {b})" if self.is_float(e) else f"_cdiv({a}, {b})"
        if e.op == "%":
            return f"_np.fmod({a}, {b})" if self.is_float(e) else f"_crem({a}, {b})"
        if e.op == "floordiv":
            return f"({a} // {b})"
        if e.op == "mod":
            return f"({a} % {b})"
        return f"({a} {e.op} {b})"
