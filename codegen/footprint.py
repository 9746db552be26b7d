"""Footprint boxes of an array below a loop of a LoopProgram, by interval analysis of the affine
subscripts over the inner loop ranges (backend-neutral; the LLVM backend packs promoted arrays with it).

For loop `n` and array `A`, `footprint_box` gives per dimension the lowest and highest index the loop
touches, as expressions of the variables outside `n` (outer iterators, sizes), and a constant bound on
the box's width, so that a buffer of fixed size can hold the copy. The box may over-approximate (guards
are ignored); callers clamp it to the array's extents before reading it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from polyopt import expr as X
from polyopt.codegen.common import upper_bound
from polyopt.codegen.loop_ast import For, If, LoopNode, LoopProgram, Mark, StatementCall

Form = dict[str, int]          # linear form: variable -> coefficient, "" -> constant
MAX_FORMS = 16


@dataclass(frozen=True)
class Box:
    """Per access group (its guards on outer variables, lowest and highest index per dimension, as
    expressions of the variables outside the loop) and a constant width per dimension that every group
    fits in. The union of the groups whose guards hold may be wider: callers check at run time."""

    groups: tuple[tuple[tuple[X.Expr, ...], tuple[X.Expr, ...], tuple[X.Expr, ...]], ...]
    widths: tuple[int, ...]


def accesses_below(program: LoopProgram, nodes: tuple[LoopNode, ...]):  # type: ignore[no-untyped-def]
    """(loops around it inside `nodes`, guards on outer variables above it, access, is the write) for
    every array access below nodes."""
    def walk(ns: tuple[LoopNode, ...], loops: tuple[For, ...], guards: tuple[X.Expr, ...] = ()):  # type: ignore[no-untyped-def]
        inner = {f.iterator for f in loops}
        for n in ns:
            if isinstance(n, For):
                yield from walk(n.body, loops + (n,), guards)
            elif isinstance(n, If):
                outer = not (X.free_vars(n.cond) & inner)     # a guard on outer variables only
                yield from walk(n.then, loops, guards + ((n.cond,) if outer else ()))
                yield from walk(n.orelse, loops,
                                guards + ((X.Unary("not", n.cond),) if outer else ()))
            elif isinstance(n, Mark):
                yield from walk(n.body, loops, guards)
            elif isinstance(n, StatementCall):
                target, value = program.instance(n)
                accs = [target] + X.accesses(value)
                for i in target.indices:
                    accs += X.accesses(i)
                for a in accs:
                    yield loops, guards, a, a is target
    yield from walk(nodes, ())


def footprint_box(program: LoopProgram, loop: For, array: str) -> Box | None:
    """The box of `array` read by `loop` (all its iterations); None when the array is written below the
    loop, a subscript or bound is not affine, or an access has no constant width."""
    groups = []
    widths: list[int] = []
    for loops, guards, acc, is_write in accesses_below(program, (loop,)):
        if acc.array != array:
            continue
        if is_write or not acc.indices:
            return None
        ranges: dict[str, tuple[X.Expr, X.Expr]] = {}
        for f in loops:
            r = _loop_range(f, ranges)
            if r is None:
                return None
            ranges[f.iterator] = r
        lows, highs = [], []
        for d, idx in enumerate(acc.indices):
            lo, hi = _bound(idx, ranges, False), _bound(idx, ranges, True)
            w = None if lo is None or hi is None else _max_width(hi, lo)
            if w is None:
                return None
            lows.append(lo)
            highs.append(hi)
            if len(widths) <= d:
                widths.append(w)
            widths[d] = max(widths[d], w)
        groups.append((guards, tuple(lows), tuple(highs)))
    if not groups:
        return None
    return Box(tuple(dict.fromkeys(groups)), tuple(widths))


def _loop_range(f: For, ranges: dict[str, tuple[X.Expr, X.Expr]]) -> tuple[X.Expr, X.Expr] | None:
    lo = _bound(f.init, ranges, False)
    if f.degenerate:
        hi = _bound(f.init, ranges, True)
    else:
        ub = upper_bound(f)
        if ub is None:
            return None
        bound, inclusive = ub
        if not inclusive:
            bound = X.Binary("-", bound, X.Const(1, X.DType.INT64))
        hi = _bound(bound, ranges, True)
    return None if lo is None or hi is None else (lo, hi)


def _bound(e: X.Expr, ranges: dict[str, tuple[X.Expr, X.Expr]], upper: bool) -> X.Expr | None:
    """An upper (lower) bound of e over the loop ranges, as an expression of the outer variables."""
    if isinstance(e, X.Const):
        return e
    if isinstance(e, X.Var):
        return ranges[e.name][1 if upper else 0] if e.name in ranges else e
    if isinstance(e, X.Cast):
        return _bound(e.operand, ranges, upper)
    if isinstance(e, X.Unary) and e.op == "neg":
        b = _bound(e.operand, ranges, not upper)
        return None if b is None else X.Unary("neg", b)
    if not isinstance(e, X.Binary):
        return None
    if e.op in ("+", "min", "max"):
        a, b = _bound(e.lhs, ranges, upper), _bound(e.rhs, ranges, upper)
    elif e.op == "-":
        a, b = _bound(e.lhs, ranges, upper), _bound(e.rhs, ranges, not upper)
    elif e.op == "*" and isinstance(e.lhs, X.Const) or e.op == "*" and isinstance(e.rhs, X.Const):
        c, other = (e.lhs, e.rhs) if isinstance(e.lhs, X.Const) else (e.rhs, e.lhs)
        b = _bound(other, ranges, upper if c.value >= 0 else not upper)
        return None if b is None else X.Binary("*", c, b)
    else:
        return None
    return None if a is None or b is None else X.Binary(e.op, a, b)


def _forms(e: X.Expr, upper: bool) -> list[Form] | None:
    """Linear forms each of which bounds e from above (upper) or below; None if there is none."""
    if isinstance(e, X.Const):
        return [{"": int(e.value)}]
    if isinstance(e, X.Var):
        return [{e.name: 1}]
    if isinstance(e, X.Unary) and e.op == "neg":
        inner = _forms(e.operand, not upper)
        return None if inner is None else [_scale(f, -1) for f in inner]
    if not isinstance(e, X.Binary):
        return None
    if e.op == ("min" if upper else "max"):            # any arm bounds it
        a, b = _forms(e.lhs, upper), _forms(e.rhs, upper)
        return (a or []) + (b or []) or None
    if e.op in ("min", "max"):                         # max of upper bounds / min of lower bounds
        a, b = _forms(e.lhs, upper), _forms(e.rhs, upper)
        if a is None or b is None:
            return None
        out = []
        for x, y in itertools.product(a, b):
            diff = _add(x, _scale(y, -1))
            if all(v == 0 for k, v in diff.items() if k):
                out.append(x if (diff.get("", 0) >= 0) == upper else y)
        return out[:MAX_FORMS] or None
    if e.op in ("+", "-"):
        a, b = _forms(e.lhs, upper), _forms(e.rhs, upper if e.op == "+" else not upper)
        if a is None or b is None:
            return None
        sign = 1 if e.op == "+" else -1
        return [_add(x, _scale(y, sign)) for x, y in itertools.islice(itertools.product(a, b), MAX_FORMS)]
    if e.op == "*" and (isinstance(e.lhs, X.Const) or isinstance(e.rhs, X.Const)):
        c, other = (e.lhs, e.rhs) if isinstance(e.lhs, X.Const) else (e.rhs, e.lhs)
        inner = _forms(other, upper if c.value >= 0 else not upper)
        return None if inner is None else [_scale(f, int(c.value)) for f in inner]
    return None


def _max_width(hi: X.Expr, lo: X.Expr) -> int | None:
    """A constant bound on hi - lo + 1 (None if no pair of bounding forms differs by a constant)."""
    ups, downs = _forms(hi, True), _forms(lo, False)
    if not ups or not downs:
        return None
    best: int | None = None
    for u, d in itertools.product(ups, downs):
        diff = _add(u, _scale(d, -1))
        if all(v == 0 for k, v in diff.items() if k):
            w = diff.get("", 0) + 1
            best = w if best is None else min(best, w)
    return None if best is None else max(best, 1)


def _scale(f: Form, c: int) -> Form:
    return {k: v * c for k, v in f.items()}


def _add(a: Form, b: Form) -> Form:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out
