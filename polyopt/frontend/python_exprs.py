"""Python expressions -> polyopt.expr nodes.

Python's true division is lowered to the internal op 'truediv' first; once the types of the local
scalars are known, `finish_division` turns it into C's '/' (casting the dividend to float64 when both
sides are integers, as Python would compute it), and `finish_weak_floats` gives Python float constants
numpy's "weak scalar" type (NEP 50).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from polyopt import expr as X
from polyopt.errors import ScopReason
from polyopt.expr import DType
from polyopt.frontend.python_scope import CONSTANTS, NUMPY_CASTS, TABLES, Scope

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "truediv", ast.FloorDiv: "floordiv",
           ast.Mod: "mod"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_TWO_ARGS = {"pow", "atan2", "fmin", "fmax", "min", "max", "minimum", "maximum"}
_BUILTIN_CASTS = {"float": DType.FLOAT64, "int": DType.INT64}
PYTHON_FLOAT = "python_float"
"""Frontend-internal marker call: its argument (a float64 value) is a Python float, which numpy treats as a
weak scalar (finish_weak_floats). math.* functions and float() return one; finish_python_floats drops the
marker once the weak floats are settled."""
_MATH_HINT = "only pure math is allowed: math.*/np.* functions, abs, min, max, float(), int()"


def fold(op: str, a: X.Expr, b: X.Expr) -> X.Expr:
    """Binary(op, a, b), computed when both sides are integer constants."""
    if isinstance(a, X.Const) and isinstance(b, X.Const) and not a.dtype.is_float \
            and not b.dtype.is_float:
        x, y = int(a.value), int(b.value)
        if op in ("+", "-", "*"):
            return X.Const({"+": x + y, "-": x - y, "*": x * y}[op], DType.INT64)
        if op in ("floordiv", "mod") and y != 0:
            return X.Const(x // y if op == "floordiv" else x % y, DType.INT64)
    return X.Binary(op, a, b)


def is_boolean(e: X.Expr) -> bool:
    """True for expressions whose value is a bool (comparisons, logic, `not`, True/False)."""
    return isinstance(e, (X.Compare, X.Logical)) or (isinstance(e, X.Unary) and e.op == "not") \
        or (isinstance(e, X.Const) and e.dtype == DType.BOOL) \
        or (isinstance(e, X.Select) and is_boolean(e.if_true) and is_boolean(e.if_false))


def truth(e: X.Expr) -> X.Expr:
    """A condition from a value, like Python's truthiness (`if n:` -> n != 0)."""
    if isinstance(e, (X.Compare, X.Logical, X.Const)) or (isinstance(e, X.Unary) and e.op == "not"):
        return e
    return X.Compare("!=", e, X.Const(0))


class ExprLowerer:
    """Lowers expressions of one kernel body; reports unsupported syntax as ScopError."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.origin = scope.origin

    def __call__(self, node: ast.expr) -> X.Expr:
        method: Callable[[ast.expr], X.Expr] | None = getattr(self, "_" + type(node).__name__.lower(),
                                                               None)
        if method is None:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"unsupported expression "
                                    f"'{ast.unparse(node)}'", node, "loop nests may use arithmetic, "
                                    "comparisons, array elements, math functions and `a if c else b`")
        return method(node)

    def _constant(self, node: ast.Constant) -> X.Expr:
        v = node.value
        if isinstance(v, bool):
            return X.Const(int(v), DType.BOOL)
        if isinstance(v, int):
            return X.Const(v, DType.INT64)
        if isinstance(v, float):
            return X.Const(v, DType.FLOAT64)
        raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"unsupported constant {v!r}", node,
                                "only int, float and bool literals are allowed")

    def _name(self, node: ast.Name) -> X.Expr:
        s, n = self.scope, node.id
        if n in s.iterators or n in s.params or n in s.scalars:
            return X.Var(n)
        if n in s.aliases:
            return s.aliases[n]
        if n in s.locals:
            return X.Access(n, ())
        if n in s.arrays:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"whole-array use of '{n}'", node,
                                    f"use its elements, e.g. {n}[i]")
        if n in s.namespace.constants:
            value = s.namespace.constants[n]
            return X.Const(value, DType.FLOAT64 if isinstance(value, float) else DType.INT64)
        hint = ("loop iterators exist only inside their loop" if s.store_counts.get(n) is None else
                "assign it before this use")
        raise self.origin.error(ScopReason.UNKNOWN_NAME, f"unknown name '{n}'", node,
                                hint + "; sizes must be int arguments or come from A.shape")

    def _attribute(self, node: ast.Attribute) -> X.Expr:
        if isinstance(node.value, ast.Name) and node.value.id in self.scope.namespace.modules \
                and node.attr in CONSTANTS:
            return X.Const(CONSTANTS[node.attr], DType.FLOAT64)
        if node.attr == "shape":
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "use of a whole shape tuple", node,
                                    "read one extent, A.shape[0], or unpack at the top: N, M = A.shape")
        raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"unsupported attribute "
                                f"'{ast.unparse(node)}'", node)

    def _subscript(self, node: ast.Subscript) -> X.Expr:
        shape = self.shape_ref(node)
        if shape is not None:
            return self.scope.extent(*shape)
        return self.access(node)

    def shape_ref(self, node: ast.expr) -> tuple[str, int] | None:
        """(array, dim) for `A.shape[k]` and `len(A)`; None for anything else."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" \
                and len(node.args) == 1 and not node.keywords:
            return (self.array_name(node.args[0]), 0)
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "shape"):
            return None
        array = self.array_name(node.value.value)
        k = node.slice
        if not (isinstance(k, ast.Constant) and isinstance(k.value, int)) and not (
                isinstance(k, ast.UnaryOp) and isinstance(k.op, ast.USub)
                and isinstance(k.operand, ast.Constant) and isinstance(k.operand.value, int)):
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "shape index must be a constant",
                                    node, "write A.shape[0], A.shape[1], ...")
        dim = ast.literal_eval(k)
        rank = len(self.scope.arrays[array].shape)
        if not -rank <= dim < rank:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"'{array}' has {rank} dimensions",
                                    node)
        return (array, dim % rank)

    def array_name(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name) and node.id in self.scope.arrays:
            return node.id
        if isinstance(node, ast.Name) and node.id not in self.scope.locals \
                and node.id not in self.scope.params and node.id not in self.scope.scalars:
            raise self.origin.error(ScopReason.UNKNOWN_NAME, f"unknown array '{node.id}'", node)
        raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"'{ast.unparse(node)}' is not an "
                                "array argument", node, "only array arguments can be indexed")

    def access(self, node: ast.Subscript) -> X.Access:
        """`A[i, j]` and `A[i][j]` -> Access('A', (i, j))."""
        parts: list[ast.expr] = []
        base: ast.expr = node
        while isinstance(base, ast.Subscript):
            idx = base.slice
            parts[:0] = idx.elts if isinstance(idx, ast.Tuple) else [idx]
            base = base.value
        name = self.array_name(base)
        indices = []
        for dim, p in enumerate(parts):
            if isinstance(p, ast.Slice) or (isinstance(p, ast.Constant) and p.value is Ellipsis):
                raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"slice of '{name}'", node,
                                        "write an explicit loop over the elements")
            indices.append(self.index(name, dim, p))
        return X.Access(name, tuple(indices))

    def index(self, array: str, dim: int, node: ast.expr) -> X.Expr:
        e = self(node)
        if isinstance(e, X.Const) and not e.dtype.is_float and int(e.value) < 0:
            shape = self.scope.arrays[array].shape        # A[-1]: Python counts from the end
            if dim >= len(shape) or shape[dim] is None:
                raise self.origin.error(ScopReason.NON_AFFINE_SUBSCRIPT, f"negative index into '{array}' "
                                        "of unknown extent", node, f"write {array}[N - 1] explicitly")
            return fold("+", shape[dim], e)  # type: ignore[arg-type]
        return e

    def _binop(self, node: ast.BinOp) -> X.Expr:
        a, b = self(node.left), self(node.right)
        if isinstance(node.op, ast.Pow):
            return self.power(a, b)
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"unsupported operator in "
                                    f"'{ast.unparse(node)}'", node, "use + - * / // % **")
        return fold(op, a, b)

    @staticmethod
    def power(a: X.Expr, b: X.Expr) -> X.Expr:
        """x**2 -> x*x; other powers -> pow(x, y) with a float constant exponent."""
        if isinstance(b, X.Const) and not b.dtype.is_float and int(b.value) == 2:
            return X.Binary("*", a, a)
        if isinstance(b, X.Const):
            b = X.Const(float(b.value), DType.FLOAT64)
        return X.Call("pow", (a, b))

    def condition(self, node: ast.expr) -> X.Expr:
        """A test (`if`, `while`, `not`, `a if c else b`): and/or/not of truth values, which stays affine
        where the operands are (`if n and m:`), unlike the values of `and`/`or`."""
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            out = self.condition(node.values[0])
            for v in node.values[1:]:
                out = X.Logical(op, out, self.condition(v))
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return X.Unary("not", self.condition(node.operand))
        return truth(self(node))

    def _unaryop(self, node: ast.UnaryOp) -> X.Expr:
        if isinstance(node.op, ast.Not):
            return X.Unary("not", self.condition(node.operand))
        e = self(node.operand)
        if isinstance(node.op, ast.UAdd):
            return e
        if isinstance(node.op, ast.USub):
            if isinstance(e, X.Const) and e.dtype != DType.BOOL:
                return X.Const(-e.value, e.dtype)
            return X.Unary("neg", e)
        raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "bitwise operators are not supported",
                                node)

    def _boolop(self, node: ast.BoolOp) -> X.Expr:
        """Python's value semantics: `x or y` is `x if x else y`, `x and y` is `y if x else x` (chained
        from the right); a plain Logical where every operand is already a boolean (comparisons)."""
        op = "and" if isinstance(node.op, ast.And) else "or"
        values = [self(v) for v in node.values]
        out = values[-1]
        for v in reversed(values[:-1]):
            if is_boolean(v) and is_boolean(out):
                out = X.Logical(op, v, out)
            else:
                out = X.Select(truth(v), v, out) if op == "or" else X.Select(truth(v), out, v)
        return out

    def _compare(self, node: ast.Compare) -> X.Expr:
        """Chained comparisons: `0 <= i < N` -> (0 <= i) and (i < N)."""
        terms: list[X.Expr] = []
        lhs = self(node.left)
        for op, right in zip(node.ops, node.comparators):
            name = _CMPOPS.get(type(op))
            if name is None:
                raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"unsupported comparison in "
                                        f"'{ast.unparse(node)}'", node, "use < <= > >= == !=")
            rhs = self(right)
            terms.append(X.Compare(name, lhs, rhs))
            lhs = rhs
        out = terms[0]
        for t in terms[1:]:
            out = X.Logical("and", out, t)
        return out

    def _ifexp(self, node: ast.IfExp) -> X.Expr:
        return X.Select(self.condition(node.test), self(node.body), self(node.orelse))

    def _call(self, node: ast.Call) -> X.Expr:
        shape = self.shape_ref(node)
        if shape is not None:
            return self.scope.extent(*shape)
        func = self.callee(node)
        if node.keywords:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"keyword arguments in a call to "
                                    f"'{ast.unparse(node.func)}'", node)
        args = tuple(self(a) for a in node.args)
        return self.apply(func, args, node)

    def callee(self, node: ast.Call) -> str:
        """The polyopt name of a pure function: 'min', 'sqrt', 'cast:float32', ... or SIDE_EFFECT_CALL."""
        f, ns = node.func, self.scope.namespace
        if isinstance(f, ast.Name):
            if f.id in ns.functions:
                mod, attr = ns.functions[f.id]
                return self._qualified(mod, attr, node)
            shadowed = f.id in self.scope.locals or f.id in self.scope.params or f.id in self.scope.arrays
            if not shadowed and f.id in ("min", "max", "abs"):
                return f.id
            if not shadowed and f.id == "float":
                return PYTHON_FLOAT
            if not shadowed and f.id in _BUILTIN_CASTS:
                return "cast:" + _BUILTIN_CASTS[f.id].value
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ns.modules:
            return self._qualified(ns.modules[f.value.id], f.attr, node)
        raise self.origin.error(ScopReason.SIDE_EFFECT_CALL, f"call to '{ast.unparse(f)}' is not a known "
                                "pure math function", node, _MATH_HINT)

    def _qualified(self, module: str, attr: str, node: ast.Call) -> str:
        if module == "numpy" and attr in NUMPY_CASTS:
            return "cast:" + NUMPY_CASTS[attr].value
        name = TABLES[module].get(attr)
        if name is None:
            raise self.origin.error(ScopReason.SIDE_EFFECT_CALL, f"call to '{module}.{attr}' is not "
                                    "supported", node, _MATH_HINT)
        return "math." + name if module == "math" else name

    def apply(self, func: str, args: tuple[X.Expr, ...], node: ast.Call) -> X.Expr:
        if func == PYTHON_FLOAT or func.startswith("math."):
            # Python converts the arguments to float (double) and returns a Python float: math.exp of a
            # float32 element is computed in double, and the result meets float32 values as a weak scalar
            if func == PYTHON_FLOAT and len(args) != 1:
                raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "float() takes one argument here",
                                        node)
            doubles = tuple(X.Cast(DType.FLOAT64, a) for a in args)
            value = doubles[0] if func == PYTHON_FLOAT else self.apply(func[5:], doubles, node)
            return X.Call(PYTHON_FLOAT, (value,))
        want = 2 if func in _TWO_ARGS else 1
        if len(args) != want and not (func in ("min", "max") and len(args) > 2):
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"'{ast.unparse(node.func)}' takes "
                                    f"{want} argument(s) here, got {len(args)}", node,
                                    "min/max need two or more scalar arguments" if want == 2 else "")
        if func.startswith("cast:"):
            return X.Cast(DType(func[5:]), args[0])
        if func in ("minimum", "maximum"):
            return X.Binary(func, *args)            # made final by finish_numpy_minmax, once types are known
        if func in ("min", "max"):
            out = args[0]
            for a in args[1:]:
                out = X.Binary(func, out, a)
            return out
        if func == "pow":
            return self.power(*args)
        return X.Call(func, args)


def infer_dtype(e: X.Expr, var: Callable[[str], DType], array: Callable[[str], DType | None]) \
        -> DType | None:
    """The type of an expression (C rules, Python true division); None while a local is untyped."""
    if isinstance(e, X.Const):
        return e.dtype
    if isinstance(e, X.Var):
        return var(e.name)
    if isinstance(e, X.Access):
        return array(e.array)
    if isinstance(e, X.Cast):
        return e.dtype
    if isinstance(e, (X.Compare, X.Logical)) or (isinstance(e, X.Unary) and e.op == "not"):
        return DType.BOOL
    kids = [infer_dtype(c, var, array) for c in X.children(e)]
    if isinstance(e, X.Select):
        kids = kids[1:]
    known = [k for k in kids if k is not None]
    if not known:
        return None
    out = known[0]
    for k in known[1:]:
        out = DType.promote(out, k)
    if isinstance(e, X.Call) and e.func != "abs":
        return out if out.is_float else DType.FLOAT64
    if isinstance(e, X.Binary) and e.op == "truediv" and not out.is_float:
        return DType.FLOAT64
    return DType.INT32 if out == DType.BOOL and isinstance(e, X.Binary) else out


def finish_division(e: X.Expr, var: Callable[[str], DType], array: Callable[[str], DType | None]) \
        -> X.Expr:
    """Replace the internal 'truediv' by '/', casting integer dividends to float64."""
    def fn(x: X.Expr) -> X.Expr | None:
        if not (isinstance(x, X.Binary) and x.op == "truediv"):
            return None
        a, b = infer_dtype(x.lhs, var, array), infer_dtype(x.rhs, var, array)
        if (a is None or not a.is_float) and (b is None or not b.is_float):
            return X.Binary("/", X.Cast(DType.FLOAT64, x.lhs), x.rhs)
        return X.Binary("/", x.lhs, x.rhs)
    return X.transform(e, fn)


def finish_python_floats(e: X.Expr, var: Callable[[str], DType], array: Callable[[str], DType | None]) \
        -> X.Expr:
    """Drop the PYTHON_FLOAT markers (after finish_weak_floats has read them), and the conversions to
    float64 inside them that are no-ops (the argument of math.sqrt is a float64 already)."""
    def no_op_casts(x: X.Expr) -> X.Expr | None:
        if isinstance(x, X.Cast) and x.dtype == DType.FLOAT64 and infer_dtype(x.operand, var, array) == x.dtype:
            return x.operand
        return None

    def fn(x: X.Expr) -> X.Expr | None:
        if isinstance(x, X.Call) and x.func == PYTHON_FLOAT:
            return X.transform(x.args[0], no_op_casts)
        return None
    return X.transform(e, fn)


def finish_numpy_minmax(e: X.Expr, var: Callable[[str], DType], array: Callable[[str], DType | None]) \
        -> X.Expr:
    """Replace the internal 'maximum'/'minimum' (np.maximum/np.minimum) by IR with numpy's semantics:
    Binary('max'/'min') on integers; on floats Call('maximum'/'minimum') (X.NUMPY_FUNCTIONS: a NaN on
    either side propagates; Binary 'max' is Python's builtin max, which keeps `a` unless `b > a`). A
    call evaluates each argument once: spelled out as a Select, nested np.maximum copied its operands
    four times per level (a chain of 8 took 5.6 s and 21 MB of expression)."""
    def fn(x: X.Expr) -> X.Expr | None:
        if not (isinstance(x, X.Binary) and x.op in ("maximum", "minimum")):
            return None
        a, b = infer_dtype(x.lhs, var, array), infer_dtype(x.rhs, var, array)
        if a is not None and b is not None and not a.is_float and not b.is_float:
            return X.Binary(x.op[:3], x.lhs, x.rhs)
        return X.Call(x.op, (x.lhs, x.rhs))
    return X.transform(e, fn)


_WEAK_OPS = ("+", "-", "*", "/", "truediv", "floordiv", "%", "mod", "min", "max", "maximum", "minimum")


def is_weak_float(e: X.Expr, weak_names: frozenset[str] = frozenset()) -> bool:
    """Whether `e` is a Python float as numpy sees it: arithmetic on float literals, module constants
    (math.pi), arguments typed as Python floats and locals that only ever hold such values (`weak_names`
    names both; int literals may take part; an expression of int literals alone is an int, not a float)."""
    def kind(x: X.Expr) -> str | None:
        """'float' or 'int' for a Python number, None for anything else (an array element, a call)."""
        if isinstance(x, X.Const):
            return {DType.FLOAT64: "float", DType.INT64: "int"}.get(x.dtype)
        if isinstance(x, X.Access):
            return "float" if not x.indices and x.array in weak_names else None
        if isinstance(x, X.Var):
            return "float" if x.name in weak_names else None
        if isinstance(x, X.Call) and x.func == PYTHON_FLOAT:
            return "float"
        if isinstance(x, (X.Binary, X.Unary, X.Select)):     # `a if c else b`: whatever c is
            kids = [kind(c) for c in ((x.if_true, x.if_false) if isinstance(x, X.Select) else X.children(x))]
            return None if None in kids else ("float" if "float" in kids else "int")
        return None
    return kind(e) == "float"


def finish_weak_floats(e: X.Expr, var: Callable[[str], DType], array: Callable[[str], DType | None],
                       weak_names: frozenset[str] = frozenset()) -> X.Expr:
    """numpy 2 (NEP 50) treats a Python float as a "weak" scalar: combined with a float32 value (an
    element of a float32 array) it is first converted to float32, and the operation or comparison is done
    in float32: np.float32(x) * 0.2 is float32(x) * float32(0.2), and np.float32(0.1) > 0.1 is False. C
    would compute both in double. So the Python float side of such an operation is cast to float32 (a
    float expression of literals keeps its double value up to that cast, as Python computes it)."""
    def f32(x: X.Expr) -> bool:
        return infer_dtype(x, var, array) == DType.FLOAT32 and not is_weak_float(x, weak_names)

    def narrowed(x: X.Expr) -> X.Expr:
        return X.Cast(DType.FLOAT32, x)

    def fn(x: X.Expr) -> X.Expr | None:
        if isinstance(x, (X.Binary, X.Compare)) and (isinstance(x, X.Compare) or x.op in _WEAK_OPS):
            if is_weak_float(x.lhs, weak_names) and f32(x.rhs):
                return X.rebuild(x, (narrowed(x.lhs), x.rhs))
            if is_weak_float(x.rhs, weak_names) and f32(x.lhs):
                return X.rebuild(x, (x.lhs, narrowed(x.rhs)))
        if isinstance(x, X.Call) and any(f32(a) for a in x.args):
            return X.rebuild(x, tuple(narrowed(a) if is_weak_float(a, weak_names) else a for a in x.args))
        return None
    return X.transform(e, fn)
