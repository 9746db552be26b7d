"""Lowering of C expressions (pycparser nodes) to polyopt's expression IR, with the checks that only the C
frontend can make: pointer arithmetic, aliasing local pointers, calls with side effects."""

from __future__ import annotations

import ast as pyast
from collections.abc import Callable
from dataclasses import dataclass, field

from pycparser import c_ast

from polyopt import expr as X
from polyopt.errors import ScopError, ScopReason, SourceLocation
from polyopt.expr import DType
from polyopt.frontend.c_preprocess import SourceLines
from polyopt.frontend.c_types import UNSUPPORTED_HINT, CType, describe, float_literal, int_literal
from polyopt.frontend.tree import ArrayDecl

_ARITH = ("+", "-", "*", "/", "%")
_RELATIONAL = ("<", "<=", ">", ">=")
_MATH_ALIASES = {f"{f}f": f for f in X.MATH_FUNCTIONS if f != "abs"} | {"labs": "abs", "llabs": "abs"}
_BINARY_MATH = ("pow", "atan2", "fmin", "fmax")
_OTHER_MATH = frozenset(f + suffix for f in ("fmod", "round", "trunc", "asin", "acos", "sinh", "cosh", "cbrt",
                                             "hypot", "expm1", "log1p", "isnan", "isinf") for suffix in ("", "f"))
_MATH_HINT = "only pure math functions are allowed: " + ", ".join(X.MATH_FUNCTIONS) + " (and float variants)"


@dataclass
class Diag:
    """Maps pycparser coordinates back to the original file, line and text."""

    lines: SourceLines

    def where(self, node: c_ast.Node | None) -> tuple[SourceLocation, str]:
        coord = getattr(node, "coord", None)
        if coord is None:
            return SourceLocation(self.lines.source.name), ""
        file = self.lines.file_name(coord.file)
        return SourceLocation(file, coord.line or 0, coord.column or 0), self.lines.line(file, coord.line or 0)

    def error(self, reason: ScopReason, message: str, node: c_ast.Node | None, hint: str = "") -> ScopError:
        loc, text = self.where(node)
        return ScopError(reason, message, location=loc, text=text, hint=hint)


@dataclass
class Symbols:
    """What each name seen by a region stands for (filled in while the region is lowered)."""

    params: set[str] = field(default_factory=set)                  # integer sizes: Var
    scalars: dict[str, DType] = field(default_factory=dict)        # floating scalar arguments: Var
    arrays: dict[str, ArrayDecl] = field(default_factory=dict)     # arrays and 0-d local scalars
    iterators: set[str] = field(default_factory=set)               # loop iterators: Var
    values: dict[str, X.Expr] = field(default_factory=dict)        # int locals replaced by their value
    pointers: dict[str, str] = field(default_factory=dict)         # local pointer -> argument it aliases
    enums: dict[str, int] = field(default_factory=dict)


class ExprLowerer:
    """pycparser expression -> polyopt.expr, raising ScopError with the original location."""

    def __init__(self, symbols: Symbols, diag: Diag, typedefs: dict[str, c_ast.Node]) -> None:
        self.sym = symbols
        self.diag = diag
        self.typedefs = typedefs

    def error(self, reason: ScopReason, message: str, node: c_ast.Node, hint: str = "") -> ScopError:
        return self.diag.error(reason, message, node, hint)

    def expr(self, node: c_ast.Node) -> X.Expr:
        method: Callable[[c_ast.Node], X.Expr] | None = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.error(ScopReason.UNSUPPORTED_STATEMENT,
                             f"unsupported C expression ({type(node).__name__})", node)
        return method(node)

    def cond(self, node: c_ast.Node) -> X.Expr:
        return self.boolean(self.expr(node))

    def boolean(self, e: X.Expr) -> X.Expr:
        """C truth value: comparisons and logic as they are, anything else compared with zero."""
        if isinstance(e, (X.Compare, X.Logical, X.Const)) or (isinstance(e, X.Unary) and e.op == "not"):
            return e
        return X.Compare("!=", e, X.Const(0, DType.INT32))

    def ctype(self, type_node: c_ast.Node, where: c_ast.Node, name: str = "") -> CType:
        """The CType of a declared or named type; UNSUPPORTED_TYPE at `where` for an arithmetic type without
        an exact DType (unsigned, char, short ...), which would otherwise be silently retyped."""
        ctype = describe(type_node, self.typedefs)
        if ctype.unsupported:
            what = f"'{name}' has type" if name else "type"
            raise self.error(ScopReason.UNSUPPORTED_TYPE, f"{what} '{ctype.spelled}', which polyopt does not "
                             "model", where, UNSUPPORTED_HINT)
        return ctype

    def const_int(self, node: c_ast.Node) -> int | None:
        """The value of an integer constant expression, or None."""
        e = self.expr(node)
        return int(e.value) if isinstance(e, X.Const) and not e.dtype.is_float else None

    # --- leaves ---------------------------------------------------------------------------------
    def _Constant(self, n: c_ast.Constant) -> X.Expr:
        if n.type == "string":
            raise self.error(ScopReason.UNSUPPORTED_TYPE, "string literal in a SCoP", n)
        if n.type == "char":
            try:
                return X.Const(ord(pyast.literal_eval(n.value)), DType.INT32)
            except (ValueError, SyntaxError, TypeError):
                raise self.error(ScopReason.UNSUPPORTED_TYPE, f"character literal {n.value}", n) from None
        if "double" in n.type or "float" in n.type:
            value, dtype = float_literal(n.value)
            return X.Const(value, dtype)
        value = int_literal(n.value)
        wide = "long" in n.type or value > 2**31 - 1
        return X.Const(value, DType.INT64 if wide else DType.INT32)

    def _ID(self, n: c_ast.ID) -> X.Expr:
        name = n.name
        s = self.sym
        if name in s.iterators or name in s.params or name in s.scalars:
            return X.Var(name)
        if name in s.values:
            return s.values[name]
        if name in s.arrays:
            if s.arrays[name].shape:
                raise self.error(ScopReason.POINTER_ARITHMETIC, f"array '{name}' used as a pointer value", n,
                                 f"subscript it fully: {name}{'[..]' * len(s.arrays[name].shape)}")
            return X.Access(name, ())
        if name in s.pointers:
            raise self.pointer_error(name, n)
        if name in s.enums:
            return X.Const(s.enums[name], DType.INT32)
        raise self.error(ScopReason.UNKNOWN_NAME, f"unknown name '{name}'", n,
                         "only arguments, local variables declared in the function and enum constants "
                         "can be used in a SCoP")

    def pointer_error(self, name: str, node: c_ast.Node) -> ScopError:
        target = self.sym.pointers[name]
        if target:
            return self.error(ScopReason.ALIASING, f"local pointer '{name}' aliases the argument "
                              f"'{target}'", node, f"access '{target}' directly: polyopt assumes each array "
                              "has exactly one name")
        return self.error(ScopReason.UNSUPPORTED_TYPE, f"local pointer '{name}' has no known extent", node,
                          "declare it as an array (double t[N]) or pass it as an array argument")

    def _ArrayRef(self, n: c_ast.ArrayRef) -> X.Expr:
        subscripts: list[c_ast.Node] = []
        base: c_ast.Node = n
        while isinstance(base, c_ast.ArrayRef):
            subscripts.append(base.subscript)
            base = base.name
        if not isinstance(base, c_ast.ID):
            raise self.error(ScopReason.POINTER_ARITHMETIC, "subscript of a computed pointer", n,
                             "subscript array arguments by name: A[i][j]")
        name = base.name
        if name in self.sym.pointers:
            raise self.pointer_error(name, base)
        decl = self.sym.arrays.get(name)
        if decl is None or not decl.shape:
            known = name in self.sym.params or name in self.sym.scalars or name in self.sym.iterators
            raise self.error(ScopReason.UNSUPPORTED_TYPE if known or decl else ScopReason.UNKNOWN_NAME,
                             f"'{name}' is subscripted but is not a known array", n)
        return X.Access(name, tuple(self.expr(i) for i in reversed(subscripts)))

    # --- operators ------------------------------------------------------------------------------
    def _UnaryOp(self, n: c_ast.UnaryOp) -> X.Expr:
        op = n.op
        if op in ("*", "&"):
            what = "dereference" if op == "*" else "address-of"
            raise self.error(ScopReason.POINTER_ARITHMETIC, f"pointer {what} ('{op}')", n,
                             "use array subscripts (A[i]) instead of pointers")
        if op in ("++", "--", "p++", "p--"):
            if isinstance(n.expr, c_ast.ID) and self._is_pointer_name(n.expr.name):
                raise self.error(ScopReason.POINTER_ARITHMETIC, f"pointer increment of '{n.expr.name}'", n)
            raise self.error(ScopReason.UNSUPPORTED_STATEMENT, "increment inside an expression", n,
                             "write the increment as a separate statement")
        if op == "sizeof":
            return self._sizeof(n)
        operand = self.expr(n.expr)
        if op == "-":
            if isinstance(operand, X.Const):
                return X.Const(-operand.value, operand.dtype)
            return X.Unary("neg", operand)
        if op == "+":
            return operand
        if op == "!":
            return X.Unary("not", self.boolean(operand))
        raise self.error(ScopReason.UNSUPPORTED_STATEMENT, f"unsupported operator '{op}'", n)

    def _sizeof(self, n: c_ast.UnaryOp) -> X.Expr:
        if isinstance(n.expr, c_ast.Typename):
            ctype = self.ctype(n.expr, n)
            if ctype.is_scalar and ctype.dtype is not None:
                return X.Const(ctype.dtype.itemsize, DType.INT64)
        raise self.error(ScopReason.UNSUPPORTED_TYPE, "sizeof of a non-scalar type", n)

    def _is_pointer_name(self, name: str) -> bool:
        decl = self.sym.arrays.get(name)
        return name in self.sym.pointers or (decl is not None and bool(decl.shape))

    def _BinaryOp(self, n: c_ast.BinaryOp) -> X.Expr:
        op = n.op
        if op in ("&&", "||"):
            return X.Logical("and" if op == "&&" else "or", self.cond(n.left), self.cond(n.right))
        if op not in _ARITH and op not in _RELATIONAL and op not in ("==", "!="):
            raise self.error(ScopReason.UNSUPPORTED_STATEMENT, f"unsupported operator '{op}'", n,
                             "bitwise operators and shifts are outside the model")
        lhs, rhs = self.expr(n.left), self.expr(n.right)
        if op in _ARITH:
            return fold(X.Binary(op, lhs, rhs))
        return X.Compare(op, lhs, rhs)

    def _TernaryOp(self, n: c_ast.TernaryOp) -> X.Expr:
        select = X.Select(self.cond(n.cond), self.expr(n.iftrue), self.expr(n.iffalse))
        return self.min_max(select)

    def min_max(self, s: X.Select) -> X.Expr:
        """`a < b ? a : b` (what min/max macros expand to) on integers -> Binary('min'/'max')."""
        c = s.cond
        if not isinstance(c, X.Compare) or c.op not in _RELATIONAL:
            return s
        if self.dtype_of(s.if_true).is_float or self.dtype_of(s.if_false).is_float:
            return s
        less = c.op in ("<", "<=")
        if (s.if_true, s.if_false) == (c.lhs, c.rhs):
            return X.Binary("min" if less else "max", s.if_true, s.if_false)
        if (s.if_true, s.if_false) == (c.rhs, c.lhs):
            return X.Binary("max" if less else "min", s.if_true, s.if_false)
        return s

    def _Cast(self, n: c_ast.Cast) -> X.Expr:
        ctype = self.ctype(n.to_type, n)
        if ctype.layers:
            raise self.error(ScopReason.POINTER_ARITHMETIC, "cast to a pointer type", n)
        if ctype.dtype is None:
            raise self.error(ScopReason.UNSUPPORTED_TYPE, f"cast to '{ctype.spelled}'", n)
        return cast(ctype.dtype, self.expr(n.expr))

    def _FuncCall(self, n: c_ast.FuncCall) -> X.Expr:
        if not isinstance(n.name, c_ast.ID):
            raise self.error(ScopReason.SIDE_EFFECT_CALL, "call through a function pointer", n, _MATH_HINT)
        name = n.name.name
        base = name if name in X.MATH_FUNCTIONS else _MATH_ALIASES.get(name)
        if base is None:
            what = "is not a supported math function" if name in _OTHER_MATH else "may have side effects"
            raise self.error(ScopReason.SIDE_EFFECT_CALL, f"call to '{name}' {what}", n, _MATH_HINT)
        args = n.args.exprs if n.args is not None else []
        arity = 2 if base in _BINARY_MATH else 1
        if len(args) != arity:
            raise self.error(ScopReason.SYNTAX, f"'{name}' takes {arity} argument(s), got {len(args)}", n)
        lowered = [self.expr(a) for a in args]
        if base == "abs":
            want = DType.INT64 if name != "abs" else DType.INT32
            lowered = [cast(want, a) if self.dtype_of(a) != want else a for a in lowered]
        else:
            want = DType.FLOAT64 if name == base else DType.FLOAT32
            lowered = [cast(want, a) if self.dtype_of(a) != want else a for a in lowered]
        return X.Call(base, tuple(lowered))

    def _Assignment(self, n: c_ast.Assignment) -> X.Expr:
        raise self.error(ScopReason.UNSUPPORTED_STATEMENT, "assignment inside an expression", n,
                         "write each assignment as its own statement")

    def _ExprList(self, n: c_ast.ExprList) -> X.Expr:
        raise self.error(ScopReason.UNSUPPORTED_STATEMENT, "comma operator", n)

    def _StructRef(self, n: c_ast.StructRef) -> X.Expr:
        raise self.error(ScopReason.UNSUPPORTED_TYPE, "struct member access", n,
                         "pass the member arrays as separate arguments")

    # --- types ----------------------------------------------------------------------------------
    def dtype_of(self, e: X.Expr) -> DType:
        """The C type of a lowered expression (iterators and sizes count as long)."""
        if isinstance(e, X.Const):
            return e.dtype
        if isinstance(e, X.Var):
            return self.sym.scalars.get(e.name, DType.INT64)
        if isinstance(e, X.Access):
            decl = self.sym.arrays.get(e.array)
            return decl.dtype if decl is not None else DType.FLOAT64
        if isinstance(e, X.Cast):
            return e.dtype
        if isinstance(e, (X.Compare, X.Logical)) or (isinstance(e, X.Unary) and e.op == "not"):
            return DType.INT32
        if isinstance(e, X.Unary):
            return self.dtype_of(e.operand)
        if isinstance(e, X.Call):
            return self.dtype_of(e.args[0])
        if isinstance(e, X.Select):
            return DType.promote(self.dtype_of(e.if_true), self.dtype_of(e.if_false))
        assert isinstance(e, X.Binary)
        out = DType.promote(self.dtype_of(e.lhs), self.dtype_of(e.rhs))
        return DType.INT32 if out == DType.BOOL else out


def cast(dtype: DType, e: X.Expr) -> X.Expr:
    """A cast, folded into constants."""
    if isinstance(e, X.Const):
        return X.Const(float(e.value) if dtype.is_float else int(e.value), dtype)
    return X.Cast(dtype, e)


def fold(e: X.Binary) -> X.Expr:
    """Fold integer constant arithmetic with C semantics (so `N + 0` or `2 * 16` become constants)."""
    a, b = e.lhs, e.rhs
    if not (isinstance(a, X.Const) and isinstance(b, X.Const)) or a.dtype.is_float or b.dtype.is_float:
        return e
    x, y = int(a.value), int(b.value)
    dtype = DType.promote(a.dtype, b.dtype)
    if e.op == "+":
        return X.Const(x + y, dtype)
    if e.op == "-":
        return X.Const(x - y, dtype)
    if e.op == "*":
        return X.Const(x * y, dtype)
    if y == 0:
        return e
    quotient = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)
    return X.Const(quotient if e.op == "/" else x - quotient * y, dtype)
