"""Legality of schedules with respect to the exact dependences of a SCoP.

A schedule is legal when every dependence source runs strictly before its sink (checked on the flat,
padded schedule map), when no loop marked parallel / vectorize / gpu carries a dependence (a
`vectorize:reassoc` loop may carry reductions), and, before tiling, when the band is permutable
(every dependence not carried by an outer loop has a non-negative distance in every member). A
violation raises IllegalTransformError naming the dependence: its kind, source and sink statements
with their source lines, a concrete violated instance and the isl relation.
"""

from __future__ import annotations

from dataclasses import dataclass

import islpy as isl

from polyopt import expr as X
from polyopt.dataflow import KINDS, Dependences, dependences
from polyopt.errors import IllegalTransformError
from polyopt.model import Scop, Statement
from polyopt.schedule_tree import Path, Schedule, node_at

ScheduleLike = Schedule | isl.Schedule | isl.UnionMap | str
PARALLEL_MARKS = ("parallel", "vectorize", "vectorize:reassoc")


@dataclass(frozen=True)
class Violation:
    """One violated dependence: kind, statements, a concrete instance and the isl relation."""

    kind: str
    source: str
    sink: str
    example: str
    relation: str
    what: str          # "order", "parallel loop", "vector loop", "permutable band"

    def describe(self, scop: Scop) -> str:
        src, dst = scop.statement(self.source), scop.statement(self.sink)
        return (f"{self.kind} dependence {self.source} -> {self.sink} violated ({self.what}): "
                f"{_where(src)} must run before {_where(dst)}; "
                f"e.g. {self.example}; dependence: {self.relation}")

    def error(self, scop: Scop, stage: str = "") -> IllegalTransformError:
        msg = self.describe(scop)
        return IllegalTransformError(f"{stage}: {msg}" if stage else msg, dependence=self.relation,
                                     source=self.source, sink=self.sink)


def _where(s: Statement) -> str:
    line = f"line {s.location.line}" if s.location.line else "line ?"
    text = s.text.strip() or X.to_c(s.target) + " = " + X.to_c(s.value)
    return f"{s.name} ({line}: `{text}`)"


# --- entry points ------------------------------------------------------------------------------------
def check_legal(scop: Scop, schedule: ScheduleLike, deps: Dependences | None = None, *,
                stage: str = "") -> None:
    """Raise IllegalTransformError (prefixed by `stage`) if the schedule violates a dependence."""
    found = violations(scop, schedule, deps, first_only=True)
    if found:
        raise found[0].error(scop, stage)


def is_legal(scop: Scop, schedule: ScheduleLike, deps: Dependences | None = None) -> bool:
    return not violations(scop, schedule, deps, first_only=True)


def violations(scop: Scop, schedule: ScheduleLike, deps: Dependences | None = None, *,
               first_only: bool = False) -> tuple[Violation, ...]:
    """Every (kind, source, sink) dependence the schedule violates, order first, then marks."""
    deps = deps or dependences(scop)
    tree, smap = _normalize(scop, schedule)
    out = list(order_violations(smap.intersect_domain(scop.domain), deps, first_only))
    if tree is not None and not (first_only and out):
        out += mark_violations(scop, tree, deps, first_only)
    return tuple(out[:1] if first_only else out)


def _normalize(scop: Scop, schedule: ScheduleLike) -> tuple[isl.Schedule | None, isl.UnionMap]:
    if isinstance(schedule, Schedule):
        return schedule.tree, schedule.map()
    if isinstance(schedule, str):
        text = schedule.strip()
        schedule = isl.Schedule(text) if "domain" in text.split(":", 1)[0] else isl.UnionMap(text)
    if isinstance(schedule, isl.Schedule):
        return schedule, schedule.get_map()
    return None, schedule


# --- order ---------------------------------------------------------------------------------------------
def order_violations(smap: isl.UnionMap, deps: Dependences, first_only: bool = False) -> list[Violation]:
    """Dependences s -> t with sched(s) >=lex sched(t)."""
    if _all_ordered(deps.all, smap):
        return []
    ge = smap.lex_ge_union_map(smap)
    out: list[Violation] = []
    for kind in KINDS:
        bad = deps.of_kind(kind).intersect(ge)
        if bad.is_empty():
            continue
        out += _describe(kind, bad, "order", first_only)
        if first_only:
            break
    return out


def _all_ordered(rel: isl.UnionMap, smap: isl.UnionMap) -> bool:
    """Fast path: every pair of rel is mapped to strictly increasing (padded) schedule vectors."""
    if rel.is_empty():
        return True
    if not rel.domain().union(rel.range()).is_subset(smap.domain()):
        return False                   # an instance the schedule does not cover
    img = rel.apply_domain(smap).apply_range(smap)
    spaces: list[isl.Map] = []
    img.foreach_map(spaces.append)
    return all(m.is_subset(isl.Map.lex_lt(m.get_space().domain())) for m in spaces)


def _describe(kind: str, bad: isl.UnionMap, what: str, first_only: bool) -> list[Violation]:
    maps: list[isl.Map] = []
    bad.foreach_map(maps.append)
    maps.sort(key=lambda m: (_key(m.get_tuple_name(isl.dim_type.in_)), _key(m.get_tuple_name(isl.dim_type.out))))
    out = []
    for m in maps[:1] if first_only else maps:
        out.append(Violation(kind, m.get_tuple_name(isl.dim_type.in_), m.get_tuple_name(isl.dim_type.out),
                             example(m), str(m.coalesce()), what))
    return out


def _key(name: str) -> tuple[int, str]:
    return (int(name[1:]), name) if name[1:].isdigit() else (1 << 30, name)


def example(m: isl.Map | isl.UnionMap) -> str:
    """A concrete instance of a (non-empty) relation with its parameters, e.g.
    `S1[0, 1] -> S2[0, 0] (N = 2)`."""
    bm = m.sample()

    def fixed(t: isl.dim_type, k: int) -> str:
        v = bm.plain_get_val_if_fixed(t, k)
        return str(v.to_python()) if v.is_int() else "?"
    dt = isl.dim_type
    src = ", ".join(fixed(dt.in_, k) for k in range(bm.dim(dt.in_)))
    dst = ", ".join(fixed(dt.out, k) for k in range(bm.dim(dt.out)))
    params = ", ".join(f"{bm.get_dim_name(dt.param, k)} = {fixed(dt.param, k)}" for k in range(bm.dim(dt.param)))
    text = f"{bm.get_tuple_name(dt.in_)}[{src}] -> {bm.get_tuple_name(dt.out)}[{dst}]"
    return text + (f" ({params})" if params else "")


# --- loops: carried dependences ------------------------------------------------------------------
def carried(scop: Scop, tree: isl.Schedule, path: Path, dim: int, deps: Dependences | None = None,
            kind: str | None = None) -> isl.UnionMap:
    """Dependences (of one kind, or all) carried by member `dim` of the band at `path`: both ends
    reach the band, equal schedule prefix up to the member, different value at the member."""
    deps = deps or dependences(scop)
    node = node_at(tree, path)
    rel = deps.all if kind is None else deps.of_kind(kind)
    return _carried_at(node, dim, rel)


def _band_prefix(node: isl.ScheduleNode, upto: int) -> isl.UnionMap:
    """Outer prefix schedule followed by band members [0, upto)."""
    outer = node.get_prefix_schedule_union_map()
    if upto == 0:
        return outer
    mupa = node.band_get_partial_schedule()
    n = node.band_n_member()
    part = isl.UnionMap.from_multi_union_pw_aff(mupa.drop_dims(isl.dim_type.set, upto, n - upto))
    return outer.flat_range_product(part)


def _same(m: isl.UnionMap) -> isl.UnionMap:
    return m.apply_range(m.reverse())


def _carried_at(node: isl.ScheduleNode, dim: int, rel: isl.UnionMap) -> isl.UnionMap:
    dom = node.get_domain()
    inside = rel.intersect_domain(dom).intersect_range(dom)
    before = inside.intersect(_same(_band_prefix(node, dim)))
    return before.subtract(_same(_band_prefix(node, dim + 1)))


def uncarried_kinds(scop: Scop, tree: isl.Schedule, path: Path, dim: int,
                    deps: Dependences | None = None, *, allow_reductions: bool = False,
                    reduction_ops: tuple[str, ...] | None = None) -> list[Violation]:
    """Dependences carried at a loop that forbid running its iterations in parallel (empty: parallel).
    With allow_reductions, those between instances of one reduction (of reduction_ops) are allowed."""
    deps = deps or dependences(scop)
    node = node_at(tree, path)
    out: list[Violation] = []
    allowed = reduction_pairs(scop, reduction_ops or REDUCTION_OPS) if allow_reductions else None
    for kind in KINDS:
        bad = _carried_at(node, dim, deps.of_kind(kind))
        if allowed is not None:
            bad = bad.subtract(allowed)
        if not bad.is_empty():
            what = f"loop {dim} of band {path} carries it"
            out += _describe(kind, bad, what, True)
    return out


REDUCTION_OPS = ("+", "-", "*", "min", "max")


def reduction_pairs(scop: Scop, ops: tuple[str, ...] = REDUCTION_OPS) -> isl.UnionMap:
    """Pairs of instances of the same reduction statement (with an operator of `ops`) that update the
    same element: the dependences a reassociating (vector) loop, or a GPU split reduction ('+' only:
    partial sums meet in atomicAdd), may carry. A reduction may read other elements of its target array
    (trisolv's `x[i] -= L[i][j] * x[j]`) when no instance reads the element it updates: two instances that
    update the same element then never read it through those reads, and the dependences those reads
    make with other elements' updates are not pairs, so they stay to be respected."""
    out = isl.UnionMap.empty(scop.context.get_space())
    for s in scop.statements:
        if reduction_other_reads(s, ops) is not None:
            w = isl.UnionMap.from_map(s.writes[0].relation)
            out = out.union(w.apply_range(w.reverse()))
    return out


def is_reduction(s: Statement, ops: tuple[str, ...] = REDUCTION_OPS) -> bool:
    """`t = t op e` (op in `ops`, chains of one op; for '-', t is the leftmost operand), t's array not read
    in e, no other write."""
    return reduction_other_reads(s, ops) == []


def reduction_other_reads(s: Statement, ops: tuple[str, ...] = REDUCTION_OPS) -> list[isl.Map] | None:
    """For a statement `t = t op e` (op in `ops`, chains of one op; '-' only with t the leftmost operand),
    the access relations of e's reads of t's array (other elements of it); None if it is no reduction."""
    if not isinstance(s.value, X.Binary) or s.value.op not in ops or len(s.writes) != 1:
        return None
    op, target = s.value.op, s.target
    operands: list[X.Expr] = []

    def flatten(e: X.Expr) -> None:
        if isinstance(e, X.Binary) and e.op == op:
            flatten(e.lhs)
            if op == "-":               # t - a - b: only the left spine continues the chain
                operands.append(e.rhs)
            else:
                flatten(e.rhs)
        else:
            operands.append(e)
    flatten(s.value)
    if op == "-" and operands[0] != target:
        return None
    inner = [a for e in operands if e != target for a in X.accesses(e)]
    if sum(e == target for e in operands) != 1 or any(a == target for a in inner):
        return None
    write = s.writes[0].relation
    others = [r.relation for r in s.reads if r.expr.array == target.array and r.expr != target]
    # a read that can hit the very element its own instance updates makes e depend on t: no reduction
    if any(not r.intersect(write).is_empty() for r in others):
        return None
    return others


# --- marks and bands ---------------------------------------------------------------------------------
def mark_violations(scop: Scop, tree: isl.Schedule, deps: Dependences, first_only: bool = False) \
        -> list[Violation]:
    """Loops under parallel / vectorize / gpu marks that carry dependences."""
    out: list[Violation] = []
    for path, name in Schedule(scop, tree).marks():
        if name not in PARALLEL_MARKS and not name.startswith("gpu:"):
            continue
        split = name.startswith("gpu:split")           # partial sums meet in atomicAdd: '+' only
        found = uncarried_kinds(scop, tree, path, 0, deps, allow_reductions=split or name == "vectorize:reassoc",
                                reduction_ops=("+",) if split else None)
        for v in found:
            what = {"parallel": "parallel loop"}.get(name, f"'{name}' loop")
            out.append(Violation(v.kind, v.source, v.sink, v.example, v.relation, f"{what} at band {path}"))
        if first_only and out:
            break
    return out


def permutability_violations(scop: Scop, tree: isl.Schedule, path: Path,
                             deps: Dependences | None = None) -> list[Violation]:
    """Dependences inside the band (not carried by outer loops) with a negative distance in some member:
    a band with none of these can be tiled and its members freely permuted."""
    deps = deps or dependences(scop)
    node = node_at(tree, path)
    dom = node.get_domain()
    mupa = node.band_get_partial_schedule()
    out: list[Violation] = []
    for kind in KINDS:
        rel = deps.of_kind(kind).intersect_domain(dom).intersect_range(dom)
        rel = rel.intersect(_same(node.get_prefix_schedule_union_map()))
        for d in range(node.band_n_member()):
            member = isl.UnionMap.from_union_pw_aff(mupa.get_at(d))
            bad = rel.intersect(member.lex_gt_union_map(member))
            if not bad.is_empty():
                out += _describe(kind, bad, f"member {d} of band {path} has a negative distance", True)
                return out
    return out


def check_permutable(scop: Scop, tree: isl.Schedule, path: Path, deps: Dependences | None = None, *,
                     stage: str = "") -> None:
    found = permutability_violations(scop, tree, path, deps)
    if found:
        raise found[0].error(scop, stage)


def check_parallel(scop: Scop, tree: isl.Schedule, path: Path, dim: int, deps: Dependences | None = None,
                   *, allow_reductions: bool = False, stage: str = "") -> None:
    found = uncarried_kinds(scop, tree, path, dim, deps, allow_reductions=allow_reductions)
    if found:
        raise found[0].error(scop, stage)
