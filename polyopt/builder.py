"""Build the polyhedral model (Scop) from a frontend's loop tree: affinity checks, isl domains, the
original 2d+1 schedule, access relations, and the canonical text behind the fingerprint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import islpy as isl

from polyopt import expr as X
from polyopt.errors import ScopError, ScopReason, SourceLocation
from polyopt.frontend.tree import ArrayDecl, Argument, Assign, If, KernelSource, Loop, Node
from polyopt.model import AccessRelation, Array, Scop, Statement


class NotAffine(Exception):
    """Internal: an expression is outside the affine fragment; carries the offending sub-expression."""

    def __init__(self, expr: X.Expr, reads_memory: bool) -> None:
        self.expr = expr
        self.reads_memory = reads_memory
        super().__init__(X.to_c(expr))


Sign = Callable[[str], int]
"""Where an isl expression text is evaluated: 1 if it is >= 0 at every point, -1 if <= 0, 0 if unknown."""


def affine_text(e: X.Expr, names: set[str], sign: Sign | None = None) -> str:
    """isl text of an affine (quasi-affine, piecewise) expression over `names`, or NotAffine. C's integer
    `/` and `%` truncate toward zero; `sign` lets a dividend of known sign use one floor (see _c_div)."""
    def text(x: X.Expr) -> str:
        return affine_text(x, names, sign)
    if isinstance(e, X.Const) and not e.dtype.is_float:
        return str(int(e.value))
    if isinstance(e, X.Const) and float(e.value).is_integer():
        return str(int(e.value))
    if isinstance(e, X.Var) and e.name in names:
        return e.name
    if isinstance(e, X.Cast) and not e.dtype.is_float:
        return text(e.operand)
    if isinstance(e, X.Unary) and e.op == "neg":
        return f"-({text(e.operand)})"
    if isinstance(e, X.Binary):
        a, b = e.lhs, e.rhs
        if e.op in ("+", "-"):
            return f"({text(a)}) {e.op} ({text(b)})"
        if e.op in ("min", "max"):
            return f"{e.op}({text(a)}, {text(b)})"
        if e.op == "*":
            if _is_int_const(a):
                return f"{int(a.value)} * ({text(b)})"  # type: ignore[union-attr]
            if _is_int_const(b):
                return f"{int(b.value)} * ({text(a)})"  # type: ignore[union-attr]
        if e.op == "floordiv" and _is_int_const(b) and int(b.value) > 0:  # type: ignore[union-attr]
            return f"floor(({text(a)}) / {int(b.value)})"  # type: ignore[union-attr]
        if e.op == "mod" and _is_int_const(b) and int(b.value) > 0:  # type: ignore[union-attr]
            return f"(({text(a)}) mod {int(b.value)})"  # type: ignore[union-attr]
        if e.op in ("/", "%") and isinstance(b, X.Const) and not b.dtype.is_float and b.value != 0 \
                and not _has_float(a):
            return _c_div(e.op, text(a), int(b.value), sign)
    raise NotAffine(e, any(isinstance(x, X.Access) for x in X.walk(e)))


def condition_text(e: X.Expr, names: set[str], sign: Sign | None = None) -> str:
    """isl constraint text of an affine condition, or NotAffine."""
    if isinstance(e, X.Compare):
        lhs, rhs = affine_text(e.lhs, names, sign), affine_text(e.rhs, names, sign)
        return f"({lhs}) {e.op.replace('==', '=')} ({rhs})"
    if isinstance(e, X.Logical):
        return f"(({condition_text(e.lhs, names, sign)}) {e.op} ({condition_text(e.rhs, names, sign)}))"
    if isinstance(e, X.Unary) and e.op == "not":
        return f"(not ({condition_text(e.operand, names, sign)}))"
    if isinstance(e, X.Const):
        return "(0 = 0)" if e.value else "(1 = 0)"
    raise NotAffine(e, any(isinstance(x, X.Access) for x in X.walk(e)))


def _c_div(op: str, num: str, d: int, sign: Sign | None) -> str:
    """isl text of C's `num / d` or `num % d` (d != 0): the quotient truncates toward zero, floor(num / |d|)
    where num >= 0 and ceil(num / |d|) where num <= 0, a piecewise expression where the sign is unknown;
    `num / -d == -(num / d)`, and `num % d == num - d * (num / d)` has the sign of num."""
    s = 0 if sign is None else sign(num)
    floor, ceil = f"floor(({num}) / {abs(d)})", f"-floor((-({num})) / {abs(d)})"
    q = floor if s > 0 else ceil if s < 0 else f"min({ceil}, max({floor}, 0))"
    if op == "%":
        return f"(({num}) mod {abs(d)})" if s > 0 else f"(({num}) - {abs(d)} * ({q}))"
    return q if d > 0 else f"-({q})"


def _has_float(e: X.Expr) -> bool:
    """Whether an expression holds a floating constant or cast (C then divides in floating point)."""
    return any(isinstance(x, (X.Const, X.Cast)) and x.dtype.is_float for x in X.walk(e))


def _is_int_const(e: X.Expr) -> bool:
    return isinstance(e, X.Const) and (not e.dtype.is_float or float(e.value).is_integer())


@dataclass(frozen=True)
class _Frame:
    """What encloses a statement: loop iterators, constraints, and the 2d+1 schedule prefix."""

    iterators: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    schedule: tuple[str, ...] = ()
    loop_ids: tuple[int, ...] = ()


class _Builder:
    def __init__(self, src: KernelSource) -> None:
        self.src = src
        self.params = tuple(a.name for a in src.arguments if a.kind == "param")
        self.scalars = {a.name for a in src.arguments if a.kind == "scalar"}
        self.arrays = {a.name: a for a in src.arrays}
        self.prefix = f"[{', '.join(self.params)}] -> " if self.params else ""
        self.raw: list[tuple[str, _Frame, Assign]] = []
        self.loops_seen = 0
        self.ctx = isl.Set(f"{self.prefix}{{ : }}")    # the context, set by build()

    def error(self, reason: ScopReason, msg: str, node: Node, hint: str = "") -> ScopError:
        return ScopError(reason, msg, location=node.location, text=node.text, hint=hint)

    def walk(self, nodes: tuple[Node, ...], frame: _Frame, start: int = 0) -> None:
        for pos, node in enumerate(nodes, start):
            here = replace(frame, schedule=frame.schedule + (str(pos),))
            if isinstance(node, Loop):
                self.loop(node, here)
            elif isinstance(node, If):
                self.branch(node, here)
            else:
                self.raw.append((f"S{len(self.raw)}", here, node))

    def names(self, frame: _Frame) -> set[str]:
        return set(self.params) | set(frame.iterators)

    def sign(self, iterators: tuple[str, ...], constraints: tuple[str, ...]) -> Sign:
        """The Sign of expressions evaluated at the points of these constraints, under the context (the
        set is built at the first division, so code without one pays nothing)."""
        space = f"{self.prefix}{{ [{', '.join(iterators)}] : "
        cache: list[isl.Set] = []

        def sign(num: str) -> int:
            if not cache:
                cache.append(isl.Set(space + (" and ".join(constraints) or "0 = 0") + " }")
                             .intersect_params(self.ctx))
            where = cache[0]
            if where.intersect(isl.Set(f"{space}({num}) < 0 }}")).is_empty():
                return 1
            return -1 if where.intersect(isl.Set(f"{space}({num}) > 0 }}")).is_empty() else 0
        return sign

    def loop(self, node: Loop, frame: _Frame) -> None:
        i = node.iterator
        if i in self.params or i in self.arrays or i in self.scalars or i in frame.iterators:
            raise self.error(ScopReason.BAD_LOOP, f"loop iterator '{i}' shadows another name", node,
                             "use a fresh name for each nested loop iterator")
        if node.step == 0:
            raise self.error(ScopReason.BAD_LOOP, "loop step is zero", node)
        names = self.names(frame)
        try:
            init = affine_text(node.init, names, self.sign(frame.iterators, frame.constraints))
        except NotAffine as e:
            raise self.bound_error(node, e) from None
        first = f"{i} >= {init}" if node.step > 0 else f"{i} <= {init}"
        try:
            cond = condition_text(node.cond, names | {i},
                                  self.sign(frame.iterators + (i,), frame.constraints + (first,)))
        except NotAffine as e:
            raise self.bound_error(node, e) from None
        if i not in X.free_vars(node.cond):
            raise self.error(ScopReason.BAD_LOOP, f"the loop condition does not test the iterator '{i}'",
                             node, "write the exit test on the loop iterator, e.g. i < N")
        cons = [first, cond]
        if abs(node.step) != 1:
            cons.append(f"(({i}) - ({init})) mod {abs(node.step)} = 0")
        sched = i if node.step > 0 else f"-{i}"
        inner = _Frame(frame.iterators + (i,), frame.constraints + tuple(cons), frame.schedule + (sched,),
                       frame.loop_ids + (self.loops_seen,))
        self.loops_seen += 1
        bounded = isl.Set(f"{self.prefix}{{ [{', '.join(inner.iterators)}] : "
                          f"{' and '.join(inner.constraints)} }}")
        if not bounded.is_bounded() and not bounded.is_empty():
            raise self.error(ScopReason.BAD_LOOP, f"loop over '{i}' has no finite bound", node,
                             "the exit condition must bound the iterator in the direction of the step")
        self.walk(node.body, inner)

    def local_hint(self, e: X.Expr) -> str:
        """A hint for an expression that reads local scalars (whose values polyopt does not track), or ''."""
        names = sorted({a.array for a in X.accesses(e) if a.array in self.arrays and not self.arrays[a.array].shape
                        and not self.arrays[a.array].is_argument})
        if not names:
            return ""
        what = f"'{names[0]}' is a local variable" if len(names) == 1 else \
            f"{', '.join(repr(n) for n in names)} are local variables"
        return (f"{what}: polyopt does not track local variables' values in loop bounds, conditions and "
                "subscripts; write the expression assigned to it there instead")

    def bound_error(self, node: Loop, e: NotAffine) -> ScopError:
        if e.reads_memory and self.local_hint(e.expr):
            return self.error(ScopReason.NON_AFFINE_BOUND, f"loop bound reads a local variable: "
                              f"{X.to_c(e.expr)}", node, self.local_hint(e.expr))
        if e.reads_memory:
            return self.error(ScopReason.DATA_DEPENDENT_CONTROL,
                              f"loop bound depends on array data: {X.to_c(e.expr)}", node,
                              "loop bounds must be affine in outer iterators and size parameters")
        return self.error(ScopReason.NON_AFFINE_BOUND, f"loop bound is not affine: {X.to_c(e.expr)}", node,
                          "bounds may use +, -, multiplication by constants, min/max, / and % by integer "
                          "constants, of iterators and integer size parameters")

    def branch(self, node: If, frame: _Frame) -> None:
        try:
            cond = condition_text(node.cond, self.names(frame), self.sign(frame.iterators, frame.constraints))
        except NotAffine as e:
            if e.reads_memory and self.local_hint(e.expr):
                raise self.error(ScopReason.NON_AFFINE_CONDITION, f"condition reads a local variable: "
                                 f"{X.to_c(e.expr)}", node, self.local_hint(e.expr)) from None
            if e.reads_memory:
                raise self.error(ScopReason.DATA_DEPENDENT_CONTROL,
                                 f"condition depends on array data: {X.to_c(e.expr)}", node,
                                 "rewrite as a select in the statement body: A[i] = c ? x : A[i]") from None
            raise self.error(ScopReason.NON_AFFINE_CONDITION, f"condition is not affine: "
                             f"{X.to_c(e.expr)}", node, "conditions must compare affine expressions "
                             "of iterators and size parameters") from None
        # a branch opens a constant schedule dimension: its statements keep their textual order
        self.walk(node.then, replace(frame, constraints=frame.constraints + (cond,)))
        if node.orelse:
            self.walk(node.orelse, replace(frame, constraints=frame.constraints + (f"not {cond}",)),
                      start=len(node.then))

    def statement(self, name: str, frame: _Frame, node: Assign, width: int) -> Statement:
        tup = f"{name}[{', '.join(frame.iterators)}]"
        cons = " and ".join(frame.constraints) if frame.constraints else "0 = 0"
        domain = isl.Set(f"{self.prefix}{{ {tup} : {cons} }}")
        sched = list(frame.schedule) + ["0"] * (width - len(frame.schedule))
        schedule = isl.Map(f"{self.prefix}{{ {tup} -> [{', '.join(sched)}] }}").intersect_domain(domain)
        self.check_target(node, frame)
        writes = (self.relation(node.target, tup, frame, domain, node),)
        reads = tuple(self.relation(a, tup, frame, domain, node) for a in self.reads_of(node))
        return Statement(name, frame.iterators, domain, schedule, node.target, node.value, reads, writes,
                         node.location, node.text, frame.loop_ids)

    def check_target(self, node: Assign, frame: _Frame) -> None:
        t = node.target.array
        if t in self.params or t in frame.iterators:
            raise self.error(ScopReason.LOOP_BOUND_WRITE, f"assignment to '{t}', which controls loops or "
                             "subscripts", node, "copy it into a new variable before the loop nest")
        if t in self.scalars:
            raise self.error(ScopReason.UNSUPPORTED_STATEMENT, f"assignment to the scalar argument '{t}'",
                             node, "scalar arguments are read-only; use a local variable")
        if t not in self.arrays:
            raise self.error(ScopReason.UNKNOWN_NAME, f"assignment to unknown variable '{t}'", node)

    def reads_of(self, node: Assign) -> list[X.Access]:
        out = X.accesses(node.value)
        out += [a for i in node.target.indices for a in X.accesses(i)]
        seen: list[X.Access] = []
        for a in out:
            if a not in seen:
                seen.append(a)
        return seen

    def relation(self, acc: X.Access, tup: str, frame: _Frame, domain: isl.Set, node: Assign) \
            -> AccessRelation:
        decl = self.arrays.get(acc.array)
        if decl is None:
            raise self.error(ScopReason.UNKNOWN_NAME, f"unknown array or variable '{acc.array}'", node)
        if len(acc.indices) != len(decl.shape):
            raise self.error(ScopReason.NON_AFFINE_SUBSCRIPT, f"'{acc.array}' has {len(decl.shape)} "
                             f"dimensions but is accessed with {len(acc.indices)} subscripts", node)
        subs = []
        sign = self.sign(frame.iterators, frame.constraints)
        for idx in acc.indices:
            try:
                subs.append(affine_text(idx, self.names(frame), sign))
            except NotAffine as e:
                hint = self.local_hint(e.expr) or (
                    "indirect accesses (A[B[i]]) are outside the polyhedral model" if e.reads_memory
                    else "subscripts must be affine in iterators and size parameters")
                raise self.error(ScopReason.NON_AFFINE_SUBSCRIPT, f"subscript of '{acc.array}' is not "
                                 f"affine: {X.to_c(e.expr)}", node, hint) from None
        rel = isl.Map(f"{self.prefix}{{ {tup} -> {acc.array}[{', '.join(subs)}] }}")
        rel = rel.intersect_domain(domain).coalesce()
        return AccessRelation(acc, rel)

    def check_values(self) -> None:
        known = set(self.params) | self.scalars
        for _, frame, node in self.raw:
            for e in X.walk(node.value):
                if isinstance(e, X.Var) and e.name not in known and e.name not in frame.iterators:
                    raise self.error(ScopReason.UNKNOWN_NAME, f"unknown name '{e.name}'", node)
                if isinstance(e, X.Call) and e.func not in X.MATH_FUNCTIONS + X.NUMPY_FUNCTIONS:
                    raise self.error(ScopReason.SIDE_EFFECT_CALL, f"call to '{e.func}' may have side "
                                     "effects", node, f"only pure math functions are allowed: "
                                     f"{', '.join(X.MATH_FUNCTIONS)}")

    def build(self) -> tuple[Statement, ...]:
        self.ctx = self.context()
        self.walk(self.src.body, _Frame())
        if not self.raw:
            raise ScopError(ScopReason.NO_SCOP, f"'{self.src.name}' has no statements to model",
                            location=SourceLocation(self.src.file), hint="give a loop nest with assignments")
        self.check_values()
        width = max(len(f.schedule) for _, f, _ in self.raw)
        return tuple(self.statement(n, f, node, width) for n, f, node in self.raw)

    def context(self) -> isl.Set:
        # sizes that are array extents are assumed positive (an array of extent 0 holds nothing);
        # other integer arguments (offsets, flags) stay unconstrained. Kernels check calls against this.
        extents = {v for d in self.src.arrays for e in d.shape if e is not None for v in X.free_vars(e)}
        cons = [f"{p} >= 1" for p in self.params if p in extents]
        for e in self.src.assumptions:
            cons.append(condition_text(e, set(self.params)))
        body = " and ".join(cons) if cons else ""
        return isl.Set(f"{self.prefix}{{ : {body} }}" if body else f"{self.prefix}{{ : }}")


def build_scop(src: KernelSource) -> Scop:
    """The Scop of a loop tree (raises ScopError for anything outside the model)."""
    builder = _Builder(src)
    statements = builder.build()
    context = builder.context()
    statements = tuple(_gist(s, context) for s in statements)
    used = {a.array for s in statements for a in s.reads + s.writes}
    arrays = tuple(Array(d.name, d.dtype, d.shape, d.is_argument) for d in src.arrays
                   if d.name in used or d.is_argument)
    scop = Scop(src.name, builder.params, context, arrays, statements, src.arguments, src.language,
                src.file)
    return replace(scop, canonical_text=canonical_text(src))


def _gist(s: Statement, context: isl.Set) -> Statement:
    dom = s.domain.intersect_params(context).coalesce()
    return replace(s, domain=dom, schedule=s.schedule.intersect_domain(dom))


def canonical_text(src: KernelSource) -> str:
    """A text that is equal for two kernels that differ only in names and surface syntax."""
    names = _canonical_names(src)
    args = tuple(Argument(names.get(a.name, a.name), a.kind, a.dtype) for a in src.arguments)
    args = tuple(sorted(args, key=lambda a: a.name))
    arrays = tuple(ArrayDecl(names[a.name], a.dtype, tuple(X.rename(s, names) if s is not None else None
                                                            for s in a.shape), a.is_argument)
                   for a in src.arrays if a.name in names)
    body = tuple(_rename_node(n, names, 0) for n in src.body)
    canon = KernelSource("kernel", args, arrays, body, "canonical", "<canonical>",
                         tuple(X.rename(e, names) for e in src.assumptions))
    b = _Builder(canon)
    stmts = b.build()
    # the context is left out: it holds assumptions derived from declarations (array extents), which
    # differ between ways of writing the same kernel; calls are checked against it anyway
    lines = [f"{a.name}:{a.dtype.value}:{len(a.shape)}" for a in sorted(arrays, key=lambda a: a.name)]
    lines += [f"{a.name}:{a.kind}:{a.dtype.value}" for a in args if a.kind == "scalar"]
    for s in stmts:
        lines += [str(s.domain.coalesce()), str(s.schedule.coalesce()), X.to_c(s.target), X.to_c(s.value)]
    return "\n".join(lines)


def _canonical_names(src: KernelSource) -> dict[str, str]:
    """Parameters, scalars and arrays renamed by order of first use in the loop tree."""
    kinds = {a.name: a.kind for a in src.arguments}
    arrays = {a.name for a in src.arrays}
    names: dict[str, str] = {}
    counters = {"param": 0, "scalar": 0, "array": 0}

    def see(name: str) -> None:
        if name in names:
            return
        kind = "array" if name in arrays else kinds.get(name)
        if kind is None:
            return
        names[name] = {"param": "p", "scalar": "s", "array": "a"}[kind] + str(counters[kind])
        counters[kind] += 1

    def see_expr(e: X.Expr) -> None:
        for x in X.walk(e):
            see(x.array if isinstance(x, X.Access) else x.name if isinstance(x, X.Var) else "")

    def visit(nodes: tuple[Node, ...]) -> None:
        for n in nodes:
            if isinstance(n, Loop):
                see_expr(n.init)
                see_expr(n.cond)
                visit(n.body)
            elif isinstance(n, If):
                see_expr(n.cond)
                visit(n.then)
                visit(n.orelse)
            else:
                see_expr(n.target)
                see_expr(n.value)
    visit(src.body)
    for a in src.arguments:
        see(a.name)
    return names


def _rename_node(n: Node, names: dict[str, str], depth: int) -> Node:
    if isinstance(n, Loop):
        inner = {**names, n.iterator: f"i{depth}"}
        return Loop(f"i{depth}", X.rename(n.init, names), X.rename(n.cond, inner), n.step,
                    tuple(_rename_node(c, inner, depth + 1) for c in n.body))
    if isinstance(n, If):
        return If(X.rename(n.cond, names), tuple(_rename_node(c, names, depth) for c in n.then),
                  tuple(_rename_node(c, names, depth) for c in n.orelse))
    target = X.rename(n.target, names)
    assert isinstance(target, X.Access)
    return Assign(target, X.rename(n.value, names))
