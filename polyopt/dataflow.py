"""Exact dependences of a SCoP through isl's dataflow analysis, with readable per-pair summaries."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cached_property

import islpy as isl

from polyopt.model import Scop, Statement

KINDS = ("RAW", "WAR", "WAW")


@dataclass(frozen=True)
class DependenceSummary:
    """One (kind, source statement, sink statement) dependence in words and vectors."""

    kind: str                      # RAW (value-based flow), WAR or WAW (memory-based)
    source: str
    sink: str
    arrays: tuple[str, ...]
    common_loops: tuple[str, ...]  # iterator names (of the source) of the loops both statements share
    carried_by: tuple[str, ...]    # which of the common loops carry some instance ('' if loop-independent)
    loop_independent: bool         # some instance is not carried by any common loop
    direction: tuple[str, ...]     # per common loop: '=', '<' (positive distance), '>', '*' (mixed)
    distance: tuple[int | None, ...]  # per common loop: the constant distance, or None
    relation: str                  # the isl map, as text

    def to_dict(self) -> dict[str, object]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True, eq=False)
class Dependences:
    """RAW (value-based), WAR and WAW (memory-based) dependences as isl union maps."""

    scop: Scop
    raw: isl.UnionMap
    war: isl.UnionMap
    waw: isl.UnionMap

    @cached_property
    def all(self) -> isl.UnionMap:
        """Every dependence: the validity constraints of any reordering."""
        return self.raw.union(self.war).union(self.waw).coalesce()

    def of_kind(self, kind: str) -> isl.UnionMap:
        return {"RAW": self.raw, "WAR": self.war, "WAW": self.waw}[kind]

    @cached_property
    def summaries(self) -> tuple[DependenceSummary, ...]:
        out = []
        for kind in KINDS:
            for m in _maps(self.of_kind(kind)):
                out.append(_summarize(self.scop, kind, m))
        return tuple(out)

    def is_empty(self) -> bool:
        return self.all.is_empty()


_CACHE: "weakref.WeakKeyDictionary[Scop, Dependences]" = weakref.WeakKeyDictionary()


def dependences(scop: Scop) -> Dependences:
    """The exact dependences of a SCoP under its original schedule (cached per Scop object)."""
    cached = _CACHE.get(scop)
    if cached is not None:
        return cached
    sched = scop.schedule_map
    reads, writes = scop.reads, scop.writes

    def flow(sink: isl.UnionMap, src: isl.UnionMap, must: bool) -> isl.UnionMap:
        info = isl.UnionAccessInfo.from_sink(sink)
        info = info.set_must_source(src) if must else info.set_may_source(src)
        return info.set_schedule_map(sched).compute_flow().get_may_dependence()

    raw = _gist(flow(reads, writes, True), scop)
    war = _gist(flow(writes, reads, False), scop)
    waw = _gist(flow(writes, writes, True), scop)
    deps = Dependences(scop, raw, war, waw)
    _CACHE[scop] = deps
    return deps


def _gist(m: isl.UnionMap, scop: Scop) -> isl.UnionMap:
    return m.intersect_params(scop.context).coalesce()


def _maps(u: isl.UnionMap) -> list[isl.Map]:
    out: list[isl.Map] = []
    u.foreach_map(out.append)
    return sorted(out, key=lambda m: (_stmt_index(m.get_tuple_name(isl.dim_type.in_)),
                                      _stmt_index(m.get_tuple_name(isl.dim_type.out))))


def _stmt_index(name: str) -> int:
    return int(name[1:]) if name[1:].isdigit() else 0


def _summarize(scop: Scop, kind: str, m: isl.Map) -> DependenceSummary:
    src = scop.statement(m.get_tuple_name(isl.dim_type.in_))
    dst = scop.statement(m.get_tuple_name(isl.dim_type.out))
    c = src.common_depth(dst)
    deltas = _common_deltas(m, src, dst, c)
    direction, distance, carried = [], [], []
    for d in range(c):
        direction.append(_direction(deltas, d))
        distance.append(_constant(deltas, d))
        if not _carried_at(deltas, d).is_empty():
            carried.append(src.iterators[d])
    independent = not _prefix_zero(deltas, c).is_empty() if c else True
    return DependenceSummary(kind, src.name, dst.name, _arrays(scop, kind, src, dst),
                             src.iterators[:c], tuple(carried), independent, tuple(direction),
                             tuple(distance), str(m))


def _common_deltas(m: isl.Map, src: Statement, dst: Statement, c: int) -> isl.Set:
    """Distance vectors over the c common loops (sink minus source)."""
    m = m.project_out(isl.dim_type.in_, c, src.depth - c).project_out(isl.dim_type.out, c, dst.depth - c)
    m = m.reset_tuple_id(isl.dim_type.in_).reset_tuple_id(isl.dim_type.out)
    return m.deltas()


def _with(deltas: isl.Set, d: int, text: str) -> isl.Set:
    """deltas restricted by a constraint on dimension d ('> 0', '< 0', '= 0')."""
    n = deltas.dim(isl.dim_type.set)
    names = [f"x{k}" for k in range(n)]
    params = [deltas.get_dim_name(isl.dim_type.param, k) for k in range(deltas.dim(isl.dim_type.param))]
    pre = f"[{', '.join(params)}] -> " if params else ""
    cons = isl.Set(f"{pre}{{ [{', '.join(names)}] : x{d} {text} }}")
    return deltas.intersect(cons.align_params(deltas.get_space()))


def _prefix_zero(deltas: isl.Set, d: int) -> isl.Set:
    out = deltas
    for k in range(d):
        out = _with(out, k, "= 0")
    return out


def _carried_at(deltas: isl.Set, d: int) -> isl.Set:
    return _with(_prefix_zero(deltas, d), d, "> 0")


def _direction(deltas: isl.Set, d: int) -> str:
    signs = "".join(s for s, t in (("<", "> 0"), ("=", "= 0"), (">", "< 0"))
                    if not _with(deltas, d, t).is_empty())
    return {"<": "<", "=": "=", ">": ">", "<=": "<=", "=>": ">=", "<>": "!=", "": "="}.get(signs, "*")


def _constant(deltas: isl.Set, d: int) -> int | None:
    if deltas.is_empty():
        return None
    lo, hi = deltas.dim_min(d), deltas.dim_max(d)
    if lo.is_cst() and hi.is_cst() and lo.plain_is_equal(hi):
        vals: list[int] = []
        lo.foreach_piece(lambda _set, aff: vals.append(aff.get_constant_val().to_python()))
        return int(vals[0]) if len(set(vals)) == 1 else None
    return None


def _arrays(scop: Scop, kind: str, src: Statement, dst: Statement) -> tuple[str, ...]:
    a = {r.array for r in (src.writes if kind in ("RAW", "WAW") else src.reads)}
    b = {r.array for r in (dst.reads if kind == "RAW" else dst.writes)}
    return tuple(sorted(a & b))
