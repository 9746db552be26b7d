"""Numbers about a concrete loop AST: per statement site, its instance count and mean loop trip counts
(estimated by sampling walks down the loop nest), a representative iteration, affine subscript
coefficients, and flop counts of statement bodies.

Why sampled: isl splits a tiled triangular nest (lu) into pieces, each under loops and guards that hold
only for some iterations of the loops above. Trip counts evaluated once, at the middle of the enclosing
loops' ranges, multiply every piece's loops as if each ran over the whole nest: one lu candidate counted
8.4e9 instances of a 2.6e8-flop kernel. A walk picks one iteration of each loop on the way down (the
extent at the values picked above) and dies where a loop is empty or a guard fails; the product of the
extents it saw is an unbiased estimate of the iterations below (Knuth's tree-size estimator). SAMPLE_WALKS
walks at fixed low-discrepancy positions keep the features deterministic."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, Mapping

import numpy as np

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


def eval_array(e: X.Expr, env: Mapping[str, np.ndarray | float]) -> np.ndarray:
    """eval_expr over arrays of iterator values (one per sampled walk)."""
    if isinstance(e, X.Const):
        return np.asarray(float(e.value))
    if isinstance(e, X.Var):
        return np.asarray(env.get(e.name, 0.0), dtype=np.float64)
    if isinstance(e, X.Cast):
        return eval_array(e.operand, env)
    if isinstance(e, X.Unary):
        v = eval_array(e.operand, env)
        return -v if e.op == "neg" else (v == 0).astype(np.float64)
    if isinstance(e, X.Select):
        return np.where(eval_array(e.cond, env) != 0, eval_array(e.if_true, env), eval_array(e.if_false, env))
    if isinstance(e, X.Compare):
        a, b = eval_array(e.lhs, env), eval_array(e.rhs, env)
        ops = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
               "!=": np.not_equal}
        return ops[e.op](a, b).astype(np.float64)
    if isinstance(e, X.Logical):
        a, b = eval_array(e.lhs, env) != 0, eval_array(e.rhs, env) != 0
        return (a & b if e.op == "and" else a | b).astype(np.float64)
    if isinstance(e, X.Binary):
        a, b = eval_array(e.lhs, env), eval_array(e.rhs, env)
        if e.op in ("floordiv", "/", "%", "mod"):
            safe = np.where(b == 0, 1.0, b)
            out = np.floor_divide(a, safe) if e.op in ("floordiv", "/") else np.mod(a, safe)
            return np.where(b == 0, 0.0, out)
        fn = {"+": np.add, "-": np.subtract, "*": np.multiply, "min": np.minimum, "max": np.maximum}.get(e.op)
        if fn is not None:
            return fn(a, b)
    return np.asarray(0.0)


def upper_bound_array(cond: X.Expr, it: str, env: Mapping[str, np.ndarray | float]) -> np.ndarray:
    """upper_bound over arrays of iterator values."""
    if isinstance(cond, X.Logical) and cond.op == "and":
        return np.minimum(upper_bound_array(cond.lhs, it, env), upper_bound_array(cond.rhs, it, env))
    if isinstance(cond, X.Compare):
        if isinstance(cond.lhs, X.Var) and cond.lhs.name == it:
            v = eval_array(cond.rhs, env)
            return v - 1 if cond.op == "<" else v
        if isinstance(cond.rhs, X.Var) and cond.rhs.name == it:
            v = eval_array(cond.lhs, env)
            return v - 1 if cond.op == ">" else v
    return np.asarray(env.get(it, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class LoopLevel:
    """One loop on the path to a statement, with its trip count (the mean over the loop's entries, as
    sampled) and its start value at the site's representative iteration."""

    loop: For
    extent: float
    start: float


@dataclass(frozen=True)
class Leaf:
    """A statement instance site with the loops around it (outermost first)."""

    call: StatementCall
    loops: tuple[LoopLevel, ...]
    env: tuple[tuple[str, float], ...]   # iterators at the representative iteration, plus parameters
    guards: tuple[tuple[int, frozenset[str]], ...] = ()   # enclosing ifs: (loops around it, its variables)
    count: float | None = None           # sampled instance count (0: no walk reached the site)

    @property
    def instances(self) -> float:
        if self.count is not None:
            return self.count
        n = 1.0
        for lv in self.loops:
            n *= lv.extent
        return n


SAMPLE_WALKS = 1024
_MAX_LEVELS = 64
# Walk s picks, at loop level k, the iteration at fraction frac(0.5 + s * alpha_k) of the loop's range:
# a Kronecker lattice (alpha_k: fractional parts of square roots of primes), the same for every program.
_PRIMES = [p for p in range(2, 400) if all(p % q for q in range(2, int(p ** 0.5) + 1))][:_MAX_LEVELS]
_LATTICE = np.mod(0.5 + np.arange(SAMPLE_WALKS)[:, None] * np.mod(np.sqrt(_PRIMES), 1.0)[None, :], 1.0)


def leaves(program: LoopProgram) -> Iterator[Leaf]:
    """Every statement call with its enclosing loops: trip counts and instance count sampled (see the
    module docstring), the representative iteration at mid-range of the enclosing loops where that
    iteration reaches the call (else the first sampled walk that does)."""
    env = {k: float(v) for k, v in program.params.items()}
    for leaf, path in _walk(program.body, (), env, (), ()):
        yield _sampled(leaf, path, env)


Guards = tuple[tuple[int, frozenset[str]], ...]
Path = tuple[tuple[LoopNode, bool], ...]   # the For and If nodes above a call (If: whether in `then`)


def _walk(nodes: tuple[LoopNode, ...], loops: tuple[LoopLevel, ...], env: dict[str, float],
          guards: Guards, path: Path) -> Iterator[tuple[Leaf, Path]]:
    for n in nodes:
        if isinstance(n, For):
            start = eval_expr(n.init, env)
            if n.degenerate:
                extent = 1.0
            else:
                hi = upper_bound(n.cond, n.iterator, {**env, n.iterator: start})
                extent = max(0.0, (hi - start) // max(1, n.step) + 1)
            mid = start + n.step * ((max(extent, 1.0) - 1) // 2)
            yield from _walk(n.body, loops + (LoopLevel(n, extent, start),), {**env, n.iterator: mid}, guards,
                             path + ((n, True),))
        elif isinstance(n, If):
            inner = guards + ((len(loops), frozenset(X.free_vars(n.cond))),)
            yield from _walk(n.then, loops, env, inner, path + ((n, True),))
            yield from _walk(n.orelse, loops, env, inner, path + ((n, False),))
        elif isinstance(n, Mark):
            yield from _walk(n.body, loops, env, guards, path)
        elif isinstance(n, StatementCall):
            yield Leaf(n, loops, tuple(sorted(env.items())), guards), path


def _sampled(leaf: Leaf, path: Path, params: dict[str, float]) -> Leaf:
    """The leaf with sampled trip counts and instance count. Row SAMPLE_WALKS of the walks is the
    mid-range walk (the representative iteration when it reaches the call)."""
    rows = SAMPLE_WALKS + 1
    env: dict[str, np.ndarray | float] = dict(params)
    alive = np.ones(rows, dtype=bool)
    weight = np.ones(rows)
    iterations, starts = [], []
    k = 0
    for node, then in path:
        if isinstance(node, If):
            holds = np.broadcast_to(eval_array(node.cond, env) != 0, (rows,))
            alive &= holds if then else ~holds
            continue
        assert isinstance(node, For)
        start = np.broadcast_to(eval_array(node.init, env), (rows,)).astype(np.float64)
        if node.degenerate:
            extent = np.ones(rows)
        else:
            hi = np.broadcast_to(upper_bound_array(node.cond, node.iterator, {**env, node.iterator: start}), (rows,))
            extent = np.maximum(0.0, np.floor_divide(hi - start, max(1, node.step)) + 1)
        alive &= extent > 0
        weight = np.where(alive, weight * extent, 0.0)
        iterations.append(float(weight[:SAMPLE_WALKS].mean()))
        pick = np.empty(rows)
        pick[:SAMPLE_WALKS] = np.floor(_LATTICE[:, min(k, _MAX_LEVELS - 1)] * np.maximum(extent[:SAMPLE_WALKS], 1.0))
        pick[SAMPLE_WALKS] = (max(extent[SAMPLE_WALKS], 1.0) - 1) // 2
        env[node.iterator] = start + node.step * pick
        starts.append(start)
        k += 1
    count = float(np.where(alive, weight, 0.0)[:SAMPLE_WALKS].mean())
    if count <= 0.0:            # a rare piece (no walk reached it): its mid-range numbers, no weight
        return replace(leaf, count=0.0)
    rep = SAMPLE_WALKS if alive[SAMPLE_WALKS] else int(np.flatnonzero(alive[:SAMPLE_WALKS])[0])
    loops, before = [], 1.0
    for lv, its, st in zip(leaf.loops, iterations, starts):
        loops.append(LoopLevel(lv.loop, its / before if before > 0 else 0.0, float(st[rep])))
        before = its
    values = {name: float(np.broadcast_to(v, (rows,))[rep]) for name, v in env.items()}
    return replace(leaf, loops=tuple(loops), env=tuple(sorted(values.items())), count=count)


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
