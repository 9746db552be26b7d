"""Schedules: an immutable wrapper around an isl schedule tree of one SCoP.

Nodes are addressed by *paths*: tuples of child indices starting at the domain node, so `(0,)` is the
node directly below the domain, `(0, 1, 0)` the node below the second filter of a sequence there, and
so on. Mark nodes are transparent: they are skipped and never counted, so inserting an annotation
(parallel, vectorize, unroll, promote ...) does not move any other node. Paths are deterministic, so
a trace of transformations that names bands by path replays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import islpy as isl

from polyopt import schedule_ir as ir
from polyopt.model import Scop, Statement

Path = tuple[int, ...]


@dataclass(frozen=True)
class BandInfo:
    """One band of a schedule: where it is, how many members, the marks directly above it and the
    statements it schedules."""

    path: Path
    n_member: int
    marks: tuple[str, ...]
    statements: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Schedule:
    """A schedule tree of `scop` (immutable; every transformation returns a new Schedule)."""

    scop: Scop
    tree: isl.Schedule

    # --- construction -------------------------------------------------------------------------
    @staticmethod
    def original(scop: Scop) -> Schedule:
        """The source order as a tree: one single-member band per source loop, sequence nodes for
        statement order (built from each statement's 2d+1 schedule and loop identities)."""
        stmts = [s for s in scop.statements if not s.domain.is_empty()]   # never run: no place needed
        node = _original_node(stmts, 0) if stmts else ir.Leaf()
        return Schedule(scop, ir.to_isl(ir.Tree(str(scop.domain), node)))

    @staticmethod
    def from_string(scop: Scop, text: str) -> Schedule:
        """A schedule from its isl text form (as printed by to_str)."""
        return Schedule(scop, isl.Schedule(text))

    @staticmethod
    def from_ir(scop: Scop, tree: ir.Tree) -> Schedule:
        return Schedule(scop, ir.to_isl(tree))

    # --- views --------------------------------------------------------------------------------
    def to_str(self) -> str:
        return str(self.tree.to_str())

    def __str__(self) -> str:
        return self.to_str()

    def map(self) -> isl.UnionMap:
        """The flat schedule: a union map padded to one range dimension across statements."""
        return self.tree.get_map().intersect_domain(self.scop.domain)

    @cached_property
    def ir(self) -> ir.Tree:
        return ir.from_isl(self.tree)

    def node(self, path: Path) -> isl.ScheduleNode:
        """The isl node at a path (marks skipped); IndexError when there is none."""
        return node_at(self.tree, path)

    def bands(self) -> tuple[Path, ...]:
        """Paths of every band, in pre-order."""
        return tuple(b.path for b in self.band_infos())

    def band_infos(self) -> tuple[BandInfo, ...]:
        out: list[BandInfo] = []
        _walk_bands(self.tree.get_root(), (), (), out)
        return tuple(out)

    def marks(self) -> tuple[tuple[Path, str], ...]:
        """(path of the band below, mark name) for every mark that sits above a band."""
        return tuple((b.path, m) for b in self.band_infos() for m in b.marks)

    def statements_at(self, path: Path) -> tuple[str, ...]:
        return _statement_names(self.node(path).get_domain())


def node_at(tree: isl.Schedule, path: Path) -> isl.ScheduleNode:
    """Navigate an isl tree by path (marks skipped, not counted)."""
    if not path or path[0] != 0:
        raise IndexError(f"path {path} must start with 0 (the domain node's only child)")
    node = _skip(tree.get_root().child(0))
    for i in path[1:]:
        if i < 0 or i >= node.n_children():
            raise IndexError(f"no child {i} below {node.get_type()} in path {path}")
        node = _skip(node.child(i))
    return node


def chain_end(node: isl.ScheduleNode) -> isl.ScheduleNode:
    """The first node at or below `node` that is not a band or mark with a single child: the leaf when
    only loops (and marks) lie between `node` and its statements."""
    while node.get_type() in (isl.schedule_node_type.band, isl.schedule_node_type.mark) \
            and node.n_children() == 1:
        node = node.child(0)
    return node


def _skip(n: isl.ScheduleNode) -> isl.ScheduleNode:
    while n.get_type() == isl.schedule_node_type.mark:
        n = n.child(0)
    return n


def _walk_bands(n: isl.ScheduleNode, path: Path, marks: tuple[str, ...], out: list[BandInfo]) -> None:
    t = n.get_type()
    if t == isl.schedule_node_type.mark:
        _walk_bands(n.child(0), path, marks + (n.mark_get_id().get_name(),), out)
        return
    if t == isl.schedule_node_type.band:
        out.append(BandInfo(path, n.band_n_member(), marks, _statement_names(n.get_domain())))
    for i in range(n.n_children()):
        _walk_bands(n.child(i), path + (i,), (), out)


def _statement_names(dom: isl.UnionSet) -> tuple[str, ...]:
    names: list[str] = []
    dom.foreach_set(lambda s: names.append(s.get_tuple_name()))
    return tuple(sorted(names, key=_stmt_key))


def _stmt_key(name: str) -> tuple[int, str]:
    return (int(name[1:]), name) if name[1:].isdigit() else (1 << 30, name)


# --- the original schedule -------------------------------------------------------------------------
def _dim_kind(stmt: Statement, d: int) -> tuple[str, int]:
    """('const', v) when output dimension d of the 2d+1 schedule is the integer v on all of the
    statement's domain, else ('loop', 0). A loop dimension pinned by the domain (if i == 3) counts as a
    constant; one pinned to a size parameter (if i == k) as a loop, since its place varies with k."""
    m = stmt.schedule
    n_out = m.dim(isl.dim_type.out)
    if d >= n_out:
        return ("const", 0)
    vals = m.range().project_out(isl.dim_type.set, d + 1, n_out - d - 1).project_out(isl.dim_type.set, 0, d)
    vals = vals.project_out(isl.dim_type.param, 0, vals.dim(isl.dim_type.param))
    v = vals.sample_point().get_coordinate_val(isl.dim_type.set, 0).to_python()
    if vals.is_equal(isl.Set(f"{{ [{v}] }}")):
        return ("const", int(v))
    return ("loop", 0)


def _width(stmts: list[Statement]) -> int:
    return max(s.schedule.dim(isl.dim_type.out) for s in stmts)


def _original_node(stmts: list[Statement], d: int) -> ir.Node:
    """The tree of the (non-empty) statements from schedule dimension d down. Statements that share all
    positions before d sit in the same loops, so a dimension that is a loop for one of them and a
    constant for another is a loop whose iterator the domain pins (if i == 3): a band member for all,
    the constant being its value there."""
    if d >= _width(stmts):
        return ir.Leaf()
    kinds = [_dim_kind(s, d) for s in stmts]
    if any(k[0] == "loop" for k in kinds):
        return ir.Band(_member_text(stmts, d), _original_node(stmts, d + 1))
    groups: dict[int, list[Statement]] = {}
    for s, (_, v) in zip(stmts, kinds):
        groups.setdefault(v, []).append(s)
    if len(groups) == 1:
        return _original_node(stmts, d + 1)
    kids = tuple(ir.Filter(_domain_text(g), _original_node(g, d + 1)) for _, g in sorted(groups.items()))
    return ir.Sequence(kids)


def _member_text(stmts: list[Statement], d: int) -> str:
    umap: isl.UnionMap | None = None
    for s in stmts:
        m = s.schedule
        n = m.dim(isl.dim_type.out)
        one = m.project_out(isl.dim_type.out, d + 1, n - d - 1).project_out(isl.dim_type.out, 0, d)
        u = isl.UnionMap.from_map(one)
        umap = u if umap is None else umap.union(u)
    assert umap is not None
    return str(isl.MultiUnionPwAff.from_union_map(umap))


def _domain_text(stmts: list[Statement]) -> str:
    out: isl.UnionSet | None = None
    for s in stmts:
        u = isl.UnionSet.from_set(s.domain)
        out = u if out is None else out.union(u)
    assert out is not None
    return str(out)
