"""Python statements -> loop-tree nodes (Loop, If, Assign), with size bindings and scalar locals.

Besides loops, ifs and assignments, a kernel body may contain statements that produce no node:
`N, M = A.shape` / `N = A.shape[0]` / `n = len(x)` (size parameters read off arrays), single
top-level integer definitions over sizes (`M = N - 1`: inlined), top-level `assert` on sizes
(assumptions), a docstring, `pass`, and a final `return`.
"""

from __future__ import annotations

import ast

from polyopt import expr as X
from polyopt.errors import ScopReason
from polyopt.expr import DType
from polyopt.frontend.python_exprs import ExprLowerer, fold
from polyopt.frontend.python_scope import Scope
from polyopt.frontend.python_types import annotation_spec
from polyopt.frontend.tree import Assign, If, Loop, Node

_AUGOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "truediv", ast.FloorDiv: "floordiv",
           ast.Mod: "mod"}
_REJECTED = {
    ast.While: ("while loops are not supported", "use `for i in range(...)` with affine bounds"),
    ast.Break: ("break is not supported", "express the exit as a loop bound or an if condition"),
    ast.Continue: ("continue is not supported", "guard the rest of the body with an if instead"),
    ast.Return: ("return before the end of the function", "only a final `return` is allowed"),
    ast.Try: ("try is not supported", ""), ast.With: ("with is not supported", ""),
    ast.Raise: ("raise is not supported", ""), ast.Delete: ("del is not supported", ""),
    ast.Global: ("global is not supported", "pass values as arguments"),
    ast.Nonlocal: ("nonlocal is not supported", "pass values as arguments"),
    ast.FunctionDef: ("nested functions are not supported", ""),
    ast.ClassDef: ("class definitions are not supported", ""),
    ast.Import: ("import inside the kernel", "import at module level"),
    ast.ImportFrom: ("import inside the kernel", "import at module level"),
    ast.Assert: ("assert inside the loop nest", "put assertions on sizes at the top of the function"),
}
_BAD_LOOP_HINT = "write `for i in range(hi)`, `range(lo, hi)` or `range(lo, hi, step)` with a constant step"


def store_counts(fdef: ast.FunctionDef) -> dict[str, int]:
    """How often each plain name is assigned in the function (loop targets excluded)."""
    counts: dict[str, int] = {}
    for node in ast.walk(fdef):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    counts[n.id] = counts.get(n.id, 0) + 1
    return counts


class StatementLowerer:
    """Lowers a function body; collects scalar locals (with annotated dtypes), their assigned values
    (for type inference) and assumptions."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.origin = scope.origin
        self.expr = ExprLowerer(scope)
        self.annotated: dict[str, DType] = {}
        self.values: dict[str, list[X.Expr]] = {}
        self.assumptions: list[X.Expr] = []

    def body(self, fdef: ast.FunctionDef) -> tuple[Node, ...]:
        stmts = list(fdef.body)
        if stmts and isinstance(stmts[-1], ast.Return):
            last = stmts[-1]
            if last.value is not None and not (isinstance(last.value, ast.Constant)
                                               and last.value.value is None):
                raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "a kernel cannot return a value",
                                        last, "write results into array arguments; use a bare `return`")
            stmts.pop()
        return self.block(stmts, top=True)

    def block(self, stmts: list[ast.stmt], top: bool = False) -> tuple[Node, ...]:
        out: list[Node] = []
        for s in stmts:
            out.extend(self.statement(s, top))
        return tuple(out)

    def statement(self, s: ast.stmt, top: bool) -> list[Node]:
        if isinstance(s, ast.For):
            return [self.loop(s)]
        if isinstance(s, ast.If):
            return self.branch(s)
        if isinstance(s, ast.Assign):
            return self.assign(s, top)
        if isinstance(s, ast.AugAssign):
            return [self.augassign(s)]
        if isinstance(s, ast.AnnAssign):
            return self.annassign(s, top)
        if isinstance(s, ast.Pass):
            return []
        if isinstance(s, ast.Expr):
            return self.expression_statement(s)
        if isinstance(s, ast.Assert) and top:
            return self.assertion(s)
        message, hint = _REJECTED.get(type(s), (f"unsupported statement '{type(s).__name__}'", ""))
        raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, message, s, hint)

    def node_info(self, s: ast.stmt) -> dict[str, object]:
        return {"location": self.origin.location(s), "text": self.origin.text(s)}

    # -- loops and branches -------------------------------------------------------------------------

    def loop(self, s: ast.For) -> Loop:
        if not isinstance(s.target, ast.Name):
            raise self.origin.error(ScopReason.BAD_LOOP, "the loop target must be a single name", s,
                                    _BAD_LOOP_HINT)
        if s.orelse:
            raise self.origin.error(ScopReason.BAD_LOOP, "for ... else is not supported", s)
        name = s.target.id
        if self.scope.is_size(name):
            raise self.origin.error(ScopReason.LOOP_BOUND_WRITE, f"the loop assigns the size '{name}'",
                                    s, "use a fresh name for the loop iterator")
        init, cond, step = self.range_header(s.iter, name)
        self.scope.iterators.append(name)
        try:
            body = self.block(s.body)
        finally:
            self.scope.iterators.pop()
        return Loop(name, init, cond, step, body, **self.node_info(s))  # type: ignore[arg-type]

    def range_header(self, it: ast.expr, name: str) -> tuple[X.Expr, X.Expr, int]:
        """(init, cond, step) of `range(...)` or `reversed(range(lo, hi))`."""
        reverse = _is_call(it, "reversed") and len(it.args) == 1  # type: ignore[attr-defined]
        call = it.args[0] if reverse else it  # type: ignore[attr-defined]
        if not _is_call(call, "range") or call.keywords or not 1 <= len(call.args) <= 3:
            raise self.origin.error(ScopReason.BAD_LOOP, f"loop over '{ast.unparse(it)}', not over "
                                    "range(...)", it, _BAD_LOOP_HINT)
        args = [self.expr(a) for a in call.args]
        lo, hi = (X.Const(0), args[0]) if len(args) == 1 else (args[0], args[1])
        step = args[2] if len(args) == 3 else X.Const(1)
        if not (isinstance(step, X.Const) and not step.dtype.is_float and int(step.value) != 0):
            raise self.origin.error(ScopReason.BAD_LOOP, f"the range step '{ast.unparse(call.args[2])}' "
                                    "is not a non-zero integer constant", it, _BAD_LOOP_HINT)
        k = int(step.value)
        if reverse and k != 1:
            raise self.origin.error(ScopReason.BAD_LOOP, "reversed(range(...)) with a step", it,
                                    "write range(hi - 1, lo - 1, -1)")
        if reverse:
            return fold("-", hi, X.Const(1)), X.Compare(">=", X.Var(name), lo), -1
        return lo, X.Compare("<" if k > 0 else ">", X.Var(name), hi), k

    def branch(self, s: ast.If) -> list[Node]:
        cond = self.expr.condition(s.test)
        then, orelse = self.block(s.body), self.block(s.orelse)
        if not then and not orelse:
            return []
        return [If(cond, then, orelse, **self.node_info(s))]  # type: ignore[arg-type]

    # -- assignments --------------------------------------------------------------------------------

    def assign(self, s: ast.Assign, top: bool) -> list[Node]:
        if len(s.targets) != 1:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "chained assignment", s,
                                    "assign each target in its own statement")
        target = s.targets[0]
        if self.bind_shapes(target, s.value, s, top):
            return []
        if isinstance(target, ast.Name):
            self.check_store(target.id, s)
            if self.bind_alias(target.id, s.value, top):
                return []
        return [self.store(target, s.value, s, None)]

    def augassign(self, s: ast.AugAssign) -> Assign:
        op = _AUGOPS.get(type(s.op))
        if op is None and not isinstance(s.op, ast.Pow):
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "unsupported compound assignment",
                                    s, "use += -= *= /= //= %= **=")
        return self.store(s.target, s.value, s, op or "pow")

    def annassign(self, s: ast.AnnAssign, top: bool) -> list[Node]:
        if isinstance(s.target, ast.Name):
            spec = annotation_spec(s.annotation)
            if spec.kind not in ("param", "scalar") or spec.dtype is None:
                raise self.origin.error(ScopReason.UNSUPPORTED_TYPE, f"unsupported type for the local "
                                        f"'{s.target.id}'", s, "locals are scalars: float, int, "
                                        "\"float32\", ...")
            self.check_store(s.target.id, s)
            if s.value is not None and spec.kind == "param" and self.bind_alias(s.target.id, s.value, top):
                return []
            self.annotated[s.target.id] = spec.dtype
        if s.value is None:
            return []
        return [self.store(s.target, s.value, s, None)]

    def store(self, target: ast.expr, value: ast.expr, s: ast.stmt, op: str | None) -> Assign:
        """`target = value` or (op given) `target op= value`."""
        rhs = self.expr(value)
        if isinstance(target, ast.Name):
            self.check_store(target.id, s)
            if op is not None and target.id not in self.scope.locals:
                raise self.origin.error(ScopReason.UNKNOWN_NAME, f"'{target.id}' is updated before it "
                                        "is assigned", s, f"initialise it first: {target.id} = 0.0")
            self.scope.locals.setdefault(target.id, None)
            lhs = X.Access(target.id, ())
        elif isinstance(target, ast.Subscript):
            lhs = self.expr.access(target)
        else:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"assignment to "
                                    f"'{ast.unparse(target)}'", s, "assign array elements or local scalars")
        if op == "pow":
            rhs = self.expr.power(lhs, rhs)
        elif op is not None:
            rhs = X.Binary(op, lhs, rhs)
        if not lhs.indices:
            self.values.setdefault(lhs.array, []).append(rhs)
        return Assign(lhs, rhs, **self.node_info(s))  # type: ignore[arg-type]

    def check_store(self, name: str, s: ast.stmt) -> None:
        sc = self.scope
        if name in sc.iterators or sc.is_size(name):
            what = "the loop iterator" if name in sc.iterators else "the size"
            raise self.origin.error(ScopReason.LOOP_BOUND_WRITE, f"assignment to {what} '{name}'", s,
                                    "loop iterators and sizes are read-only; copy into a new variable")
        if name in sc.scalars:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"assignment to the scalar "
                                    f"argument '{name}'", s, "scalar arguments are read-only; use a local")
        if name in sc.arrays:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"rebinding the array argument "
                                    f"'{name}'", s, f"assign its elements: {name}[i] = ...")

    def bind_shapes(self, target: ast.expr, value: ast.expr, s: ast.stmt, top: bool) -> bool:
        """`N, M = A.shape`, `N = A.shape[0]`, `n = len(x)`: bind size names; False otherwise."""
        whole = isinstance(value, ast.Attribute) and value.attr == "shape"
        one = not whole and self.expr.shape_ref(value) is not None
        if not (whole or one):
            return False
        if not top:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "sizes read inside the loop nest", s,
                                    "read sizes at the top of the function: N, M = A.shape")
        if whole:
            array = self.expr.array_name(value.value)  # type: ignore[attr-defined]
            rank = len(self.scope.arrays[array].shape)
            names = target.elts if isinstance(target, ast.Tuple) else None
            if names is None or len(names) != rank or not all(isinstance(n, ast.Name) for n in names):
                raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, f"unpack all {rank} extents of "
                                        f"'{array}'", s, f"e.g. {', '.join('NMKL'[:rank])} = {array}.shape")
            pairs = [(n.id, (array, d)) for d, n in enumerate(names)]  # type: ignore[attr-defined]
        elif isinstance(target, ast.Name):
            pairs = [(target.id, self.expr.shape_ref(value))]  # type: ignore[list-item]
        else:
            raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "unsupported size binding", s)
        for name, (array, dim) in pairs:
            self.check_store(name, s)
            if name in self.scope.locals:
                raise self.origin.error(ScopReason.LOOP_BOUND_WRITE, f"'{name}' is a size and a variable",
                                        s, "use different names")
            known = self.scope.arrays[array].shape[dim] is not None
            extent = self.scope.extent(array, dim, None if known else name)
            if known or extent != X.Var(name):
                self.scope.aliases[name] = extent
        return True

    def bind_alias(self, name: str, value: ast.expr, top: bool) -> bool:
        """A single top-level integer definition over sizes (`M = N - 1`) is inlined."""
        if not top or self.scope.store_counts.get(name, 0) != 1 or name in self.scope.locals:
            return False
        e = self.expr(value)
        pure = all(isinstance(x, (X.Const, X.Var, X.Binary, X.Unary)) for x in X.walk(e))
        if not pure or any(x.dtype.is_float for x in X.walk(e) if isinstance(x, X.Const)) \
                or any(v not in self.scope.params for v in X.free_vars(e)) \
                or any(isinstance(x, X.Binary) and x.op == "truediv" for x in X.walk(e)):
            return False
        self.scope.aliases[name] = e
        return True

    # -- other statements ---------------------------------------------------------------------------

    def expression_statement(self, s: ast.Expr) -> list[Node]:
        v = s.value
        if isinstance(v, ast.Constant) and (isinstance(v.value, str) or v.value is Ellipsis):
            return []                                           # docstrings and string comments
        if isinstance(v, ast.Call):
            self.expr.callee(v)                                 # SIDE_EFFECT_CALL unless pure math
        raise self.origin.error(ScopReason.UNSUPPORTED_STATEMENT, "an expression statement has no effect",
                                s, "assign the value to something")

    def assertion(self, s: ast.Assert) -> list[Node]:
        cond = self.expr.condition(s.test)
        if any(v not in self.scope.params for v in X.free_vars(cond)) \
                or any(isinstance(x, (X.Access, X.Call)) for x in X.walk(cond)):
            raise self.origin.error(ScopReason.NON_AFFINE_CONDITION, "assertions may only relate sizes",
                                    s, "e.g. assert N >= 4")
        self.assumptions.append(cond)
        return []


def _is_call(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
