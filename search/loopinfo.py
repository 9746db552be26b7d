"""Numbers about a concrete loop AST: loop extents (evaluated at the middle of the enclosing loops' ranges),
affine subscript coefficients, flop counts of statement bodies, and exact instance counts (sympy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

from polyopt import expr as X
from polyopt.codegen.loop_ast import For, If, LoopNode, LoopProgram, Mark, StatementCall

_ARITH = ("+", "-", "*", "/", "floordiv", "%", "mod", "min", "max")


def eval_expr(e: X.Expr, env: Mapping[str, float]) -> float:
    """Value of an integer expression of loop iterators and parameters (floats allowed in env)."""
    if isinstance(e, X.Const):
        return float(e.value)
    if isinstance(e, X.Var):
        return float(env.get(e.name, 0.0))
    if isinstance(e, (X.Cast,)):
        return eval_expr(e.operand, env)
    if isinstance(e, X.Unary):
        v = eval_expr(e.operand, env)
        return -v if e.op == "neg" else float(not v)
    if isinstance(e, X.Select):
        return eval_expr(e.if_true, env) if eval_expr(e.cond, env) else eval_expr(e.if_false, env)
    if isinstance(e, X.Compare):
        a, b = eval_expr(e.lhs, env), eval_expr(e.rhs, env)
        return float({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[e.op])
    if isinstance(e, X.Logical):
        a, b = eval_expr(e.lhs, env), eval_expr(e.rhs, env)
        return float((a and b) if e.op == "and" else (a or b))
    if isinstance(e, X.Binary):
        a, b = eval_expr(e.lhs, env), eval_expr(e.rhs, env)
        if e.op in ("floordiv", "/"):
            return float(a // b) if b else 0.0
        if e.op in ("%", "mod"):
            return float(a % b) if b else 0.0
        return {"+": a + b, "-": a - b, "*": a * b, "min": min(a, b), "max": max(a, b)}[e.op]
    return 0.0


def upper_bound(cond: X.Expr, it: str, env: Mapping[str, float]) -> float:
    """The largest iterator value the loop condition admits (conjunctions: the minimum)."""
    if isinstance(cond, X.Logical) and cond.op == "and":
        return min(upper_bound(cond.lhs, it, env), upper_bound(cond.rhs, it, env))
    if isinstance(cond, X.Compare):
        if isinstance(cond.lhs, X.Var) and cond.lhs.name == it:
            v = eval_expr(cond.rhs, env)
            return {"<": v - 1, "<=": v}.get(cond.op, v)
        if isinstance(cond.rhs, X.Var) and cond.rhs.name == it:
            v = eval_expr(cond.lhs, env)
            return {">": v - 1, ">=": v}.get(cond.op, v)
    return eval_expr(X.Binary("+", X.Var(it), X.Const(0)), env)


@dataclass(frozen=True)
class LoopLevel:
    """One loop on the path to a statement, with its estimated trip count and start value."""

    loop: For
    extent: float
    start: float


@dataclass(frozen=True)
class Leaf:
    """A statement instance site with the loops around it (outermost first)."""

    call: StatementCall
    loops: tuple[LoopLevel, ...]
    env: tuple[tuple[str, float], ...]   # iterators at the middle of their ranges, plus parameters
    guards: tuple[tuple[int, frozenset[str]], ...] = ()   # enclosing ifs: (loops around it, its variables)

    @property
    def instances(self) -> float:
        n = 1.0
        for lv in self.loops:
            n *= lv.extent
        return n


def leaves(program: LoopProgram) -> Iterator[Leaf]:
    """Every statement call with its enclosing loops, extents evaluated at mid-range of outer loops."""
    env = {k: float(v) for k, v in program.params.items()}
    yield from _walk(program.body, (), env, ())


Guards = tuple[tuple[int, frozenset[str]], ...]


def _walk(nodes: tuple[LoopNode, ...], loops: tuple[LoopLevel, ...], env: dict[str, float],
          guards: Guards) -> Iterator[Leaf]:
    for n in nodes:
        if isinstance(n, For):
            start = eval_expr(n.init, env)
            if n.degenerate:
                extent = 1.0
            else:
                hi = upper_bound(n.cond, n.iterator, {**env, n.iterator: start})
                extent = max(0.0, (hi - start) // max(1, n.step) + 1)
            mid = start + n.step * ((max(extent, 1.0) - 1) // 2)
            yield from _walk(n.body, loops + (LoopLevel(n, extent, start),), {**env, n.iterator: mid}, guards)
        elif isinstance(n, If):
            inner = guards + ((len(loops), frozenset(X.free_vars(n.cond))),)
            yield from _walk(n.then, loops, env, inner)
            yield from _walk(n.orelse, loops, env, inner)
        elif isinstance(n, Mark):
            yield from _walk(n.body, loops, env, guards)
        elif isinstance(n, StatementCall):
            yield Leaf(n, loops, tuple(sorted(env.items())), guards)


def body_flops(value: X.Expr) -> int:
    """Arithmetic operations in a statement body (subscripts excluded; a math call counts one)."""
    count = 0
    stack = [value]
    while stack:
        e = stack.pop()
        if isinstance(e, X.Access):
            continue
        if isinstance(e, X.Binary) and e.op in _ARITH:
            count += 1
        elif isinstance(e, X.Call):
            count += 1
        elif isinstance(e, X.Unary) and e.op == "neg":
            count += 1
        stack.extend(X.children(e))
    return count


def linear_index(access: X.Access, shape: tuple[int, ...], env: Mapping[str, float]) -> float:
    """Row-major element offset of an access at the iterator values of env."""
    off = 0.0
    for d, idx in enumerate(access.indices):
        off = off * (shape[d] if d < len(shape) else 1) + eval_expr(idx, env)
    return off


def dim_coefficients(access: X.Access, it: str, env: Mapping[str, float]) -> tuple[float, ...]:
    """Per subscript, how much it changes when iterator `it` grows by one (affine subscripts)."""
    env1 = {**env, it: env.get(it, 0.0) + 1.0}
    return tuple(eval_expr(i, env1) - eval_expr(i, env) for i in access.indices)
