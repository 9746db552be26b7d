"""Pure functions applying transformation records to schedules; each result is checked for legality.

apply_transform(schedule, record) returns a new Schedule or raises IllegalTransformError with a stage
message ("while tiling band (0,) of S0, S1: RAW dependence S1 -> S1 violated ...") or
InvalidTransformError when the record does not fit the tree.
"""

from __future__ import annotations

from collections.abc import Callable

import islpy as isl

from polyopt import schedule_ir as ir
from polyopt.dataflow import Dependences, dependences
from polyopt.errors import IllegalTransformError
from polyopt.legality import check_legal, check_parallel, check_permutable, example
from polyopt.model import Scop
from polyopt.schedule_tree import Path, Schedule, chain_end
from polyopt.transforms import records as R
from polyopt.transforms.bases import base_schedule
from polyopt.transforms.records import InvalidTransformError

_VERBS = {"tile": "tiling", "permute": "permuting", "split": "splitting", "join": "joining",
          "fuse": "fusing the children of", "distribute": "distributing", "skew": "skewing",
          "wavefront": "wavefronting", "strip_mine": "strip-mining", "unroll": "unrolling",
          "unroll_and_jam": "unroll-and-jamming", "parallel": "parallelizing", "vectorize": "vectorizing",
          "separate_full_tiles": "separating full tiles of", "separate": "separating the loops of",
          "fission": "distributing over its statements", "promote": "promoting an array at",
          "gpu_map": "mapping to the GPU"}


def apply_candidate(scop: Scop, cand: R.Candidate, deps: Dependences | None = None) -> Schedule:
    """Replay a candidate: its base schedule, then every record of its trace, in order."""
    deps = deps or dependences(scop)
    sched = base_schedule(scop, cand.base, deps)
    for t in cand.trace:
        sched = apply_transform(sched, t, deps)
    return sched


def apply_transform(sched: Schedule, t: R.Transform, deps: Dependences | None = None, *,
                    check: bool = True) -> Schedule:
    """One legal transformation step (IllegalTransformError / InvalidTransformError otherwise). The
    result is checked against every dependence, except for the steps in SETTLED_WITHOUT_FULL_CHECK,
    whose own checks already decide it. check=False skips the full check (for callers that already know
    the step is legal, e.g. the tuner's space replaying a step whose legality was established for the
    same trace shape); records that do not fit the tree still raise InvalidTransformError."""
    deps = deps or dependences(sched.scop)
    stage = _stage(sched, t)
    fn = _APPLY.get(type(t))
    if fn is None:
        raise InvalidTransformError(f"{stage}: no implementation for {type(t).__name__}")
    try:
        tree = fn(sched, t, deps, stage)
    except isl.Error as e:
        raise InvalidTransformError(f"{stage}: isl refused: {e}") from e
    except IndexError as e:
        raise InvalidTransformError(f"{stage}: {e}") from e
    out = Schedule(sched.scop, tree)
    if check and not isinstance(t, SETTLED_WITHOUT_FULL_CHECK):
        check_legal(sched.scop, out, deps, stage=stage)
    return out


# Steps whose legality is settled without checking the whole result against every dependence (that check
# can take minutes on multi-level tiles of skewed stencil bands):
# - Tile: _tile checks that the band is permutable (no dependence inside it has a negative distance in any
#   member). Then tiling keeps every dependence ordered: tile coordinates floor(x/s) are monotone in x, and
#   where all tile coordinates agree the point loops see the original distances. Loops below the band keep
#   their parallelism: (tile, point) determines x, so the same pairs of instances share their prefix.
# - Parallel, Vectorize, GpuMap: a mark on a loop whose own check (check_parallel) ran; order unchanged.
# - Unroll, SeparateFullTiles, Separate, Promote: AST options and marks; the execution order is unchanged.
# - Split, Join: the same loops, grouped into bands differently; the execution order is unchanged.
# - Fission: only instances that share every loop above the distributed ones change their order, and
#   _fission orders the statements so that every dependence between such instances stays forward.
SETTLED_WITHOUT_FULL_CHECK = (R.Tile, R.Parallel, R.Vectorize, R.GpuMap, R.Unroll, R.SeparateFullTiles,
                              R.Separate, R.Fission, R.Split, R.Join, R.Promote)


def _stage(sched: Schedule, t: R.Transform) -> str:
    path: Path = getattr(t, "band", None) or getattr(t, "node", ())
    try:
        stmts = ", ".join(sched.statements_at(path))
    except IndexError:
        stmts = "?"
    what = "node" if isinstance(t, R.Fuse) else "band"
    return f"while {_VERBS[t.op]} {what} {path} of {stmts}"  # type: ignore[union-attr]


# --- helpers -------------------------------------------------------------------------------------------
def _band(sched: Schedule, path: Path, stage: str) -> isl.ScheduleNode:
    node = sched.node(path)
    if node.get_type() != isl.schedule_node_type.band:
        raise InvalidTransformError(f"{stage}: the node at {path} is a {node.get_type()}, not a band")
    return node


def _dim(node: isl.ScheduleNode, dim: int, stage: str) -> None:
    if not 0 <= dim < node.band_n_member():
        raise InvalidTransformError(f"{stage}: the band has {node.band_n_member()} members, no member {dim}")


def _positive(value: int, what: str, stage: str) -> None:
    if int(value) < 1:
        raise InvalidTransformError(f"{stage}: {what} must be >= 1, got {value}")


def _members(node: isl.ScheduleNode) -> list[isl.UnionPwAff]:
    mupa = node.band_get_partial_schedule()
    return [mupa.get_at(i) for i in range(node.band_n_member())]


def _mupa(members: list[isl.UnionPwAff]) -> isl.MultiUnionPwAff:
    out = isl.MultiUnionPwAff.from_union_pw_aff(members[0])
    for m in members[1:]:
        out = out.flat_range_product(isl.MultiUnionPwAff.from_union_pw_aff(m))
    return out


def _rebuild(node: isl.ScheduleNode, members: list[isl.UnionPwAff], coincident: list[bool],
             permutable: bool) -> isl.ScheduleNode:
    """Replace a band's members (keeping its AST build options); returns the new band node."""
    options = node.band_get_ast_build_options()
    node = node.delete().insert_partial_schedule(_mupa(members))
    node = node.band_set_permutable(int(permutable))
    for d, c in enumerate(coincident):
        node = node.band_member_set_coincident(d, int(c))
    if not options.is_empty():
        node = node.band_set_ast_build_options(options)
    return node


def _coincident(node: isl.ScheduleNode) -> list[bool]:
    return [bool(node.band_member_get_coincident(i)) for i in range(node.band_n_member())]


def _isolate(node: isl.ScheduleNode, dim: int) -> isl.ScheduleNode:
    """Split the band so that member `dim` is a band of its own; returns that band."""
    if dim > 0:
        node = node.band_split(dim).child(0)
    if node.band_n_member() > 1:
        node = node.band_split(1)
    return node


def _mark(node: isl.ScheduleNode, name: str) -> isl.Schedule:
    return node.insert_mark(isl.Id(name)).get_schedule()


# --- band transformations ----------------------------------------------------------------------------------
def _tile(s: Schedule, t: R.Tile, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    if len(t.sizes) != node.band_n_member():
        raise InvalidTransformError(f"{stage}: {len(t.sizes)} tile sizes for a band of "
                                    f"{node.band_n_member()} members")
    for x in t.sizes:
        _positive(x, "a tile size", stage)
    check_permutable(s.scop, s.tree, t.band, deps, stage=stage)
    mv = isl.MultiVal.zero(node.band_get_space())
    for d, size in enumerate(t.sizes):
        mv = mv.set_val(d, isl.Val(int(size)))
    node = node.band_tile(mv).band_set_permutable(1)
    return node.child(0).band_set_permutable(1).get_schedule()


def _permute(s: Schedule, t: R.Permute, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    n = node.band_n_member()
    if sorted(t.order) != list(range(n)):
        raise InvalidTransformError(f"{stage}: {list(t.order)} is not a permutation of {n} members")
    members, coinc = _members(node), _coincident(node)
    return _rebuild(node, [members[p] for p in t.order], [coinc[p] for p in t.order],
                    bool(node.band_get_permutable())).get_schedule()


def _split(s: Schedule, t: R.Split, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    if not 0 < t.at < node.band_n_member():
        raise InvalidTransformError(f"{stage}: cannot split {node.band_n_member()} members after {t.at}")
    return node.band_split(t.at).get_schedule()


def _skew_members(node: isl.ScheduleNode, dim: int, factors: tuple[int, ...]) -> list[isl.UnionPwAff]:
    members = _members(node)
    new = members[dim]
    for k, f in enumerate(factors):
        if k != dim and f:
            new = new.add(members[k].scale_val(isl.Val(int(f))))
    members[dim] = new
    return members


def _skew(s: Schedule, t: R.Skew, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    _dim(node, t.dim, stage)
    if len(t.factors) != node.band_n_member():
        raise InvalidTransformError(f"{stage}: {len(t.factors)} skew factors for "
                                    f"{node.band_n_member()} members")
    members = _skew_members(node, t.dim, t.factors)
    return _rebuild(node, members, [False] * len(members), bool(node.band_get_permutable())).get_schedule()


def _wavefront(s: Schedule, t: R.Wavefront, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    n = node.band_n_member()
    if not 2 <= t.depth <= n:
        raise InvalidTransformError(f"{stage}: wavefront depth {t.depth} for a band of {n} members")
    factors = tuple(1 if 0 < k < t.depth else 0 for k in range(n))
    members = _skew_members(node, 0, factors)
    return _rebuild(node, members, [False] * n, bool(node.band_get_permutable())).get_schedule()


def _strip_members(node: isl.ScheduleNode, dim: int, size: int) -> tuple[list[isl.UnionPwAff], list[bool]]:
    members, coinc = _members(node), _coincident(node)
    m = members[dim]
    outer = m.scale_down_val(isl.Val(size)).floor().scale_val(isl.Val(size))
    return members[:dim] + [outer] + members[dim:], coinc[:dim] + [coinc[dim]] + coinc[dim:]


def _strip_mine(s: Schedule, t: R.StripMine, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    _dim(node, t.dim, stage)
    _positive(t.size, "the strip size", stage)
    members, coinc = _strip_members(node, t.dim, int(t.size))
    return _rebuild(node, members, coinc, bool(node.band_get_permutable())).get_schedule()


def _unroll(s: Schedule, t: R.Unroll, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    _dim(node, t.dim, stage)
    _positive(t.factor, "the unroll factor", stage)
    return _mark(_isolate(node, t.dim), f"unroll:{int(t.factor)}")


def _unroll_and_jam(s: Schedule, t: R.UnrollAndJam, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    _dim(node, t.dim, stage)
    _positive(t.factor, "the unroll factor", stage)
    members, coinc = _strip_members(node, t.dim, int(t.factor))
    point = t.dim + 1
    order = [k for k in range(len(members)) if k != point] + [point]
    node = _rebuild(node, [members[k] for k in order], [coinc[k] for k in order],
                    bool(node.band_get_permutable()))
    return _mark(_isolate(node, len(members) - 1), f"unroll:{int(t.factor)}")


def _parallel(s: Schedule, t: R.Parallel, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    _dim(node, t.dim, stage)
    check_parallel(s.scop, s.tree, t.band, t.dim, deps, stage=stage)
    return _mark(_isolate(node, t.dim), "parallel")


def _vectorize(s: Schedule, t: R.Vectorize, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    _dim(node, t.dim, stage)
    check_parallel(s.scop, s.tree, t.band, t.dim, deps, allow_reductions=bool(t.reassoc), stage=stage)
    return _mark(_isolate(node, t.dim), "vectorize:reassoc" if t.reassoc else "vectorize")


def _gpu_map(s: Schedule, t: R.GpuMap, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    _dim(node, t.dim, stage)
    if t.target not in R.GPU_TARGETS:
        raise InvalidTransformError(f"{stage}: unknown GPU target '{t.target}' (one of {R.GPU_TARGETS})")
    check_parallel(s.scop, s.tree, t.band, t.dim, deps, stage=stage)
    return _mark(_isolate(node, t.dim), f"gpu:{t.target}")


def _separate(s: Schedule, t: R.SeparateFullTiles, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    if t.inner <= 0:
        return node.band_set_ast_build_options(isl.UnionSet("{ separate[x] }")).get_schedule()
    options = full_tile_isolation(node, s.scop.domain, int(t.inner), stage)
    return node.band_set_ast_build_options(options).get_schedule()


def _separate_loops(s: Schedule, t: R.Separate, deps: Dependences, stage: str) -> isl.Schedule:
    _band(s, t.band, stage)
    separate = isl.UnionSet("{ separate[x] }")

    def visit(node: isl.ScheduleNode) -> isl.ScheduleNode:
        if node.get_type() == isl.schedule_node_type.band and node.band_get_ast_build_options().is_empty():
            node = node.band_set_ast_build_options(separate)
        return _subtree_children(node, visit)

    return visit(_above_marks(s.node(t.band))).get_schedule()


def _subtree_children(node: isl.ScheduleNode, visit: Callable[[isl.ScheduleNode], isl.ScheduleNode]) \
        -> isl.ScheduleNode:
    for i in range(node.n_children()):
        node = visit(node.child(i)).parent()
    return node


def _above_marks(node: isl.ScheduleNode) -> isl.ScheduleNode:
    """The topmost of the marks directly above a node (the node itself when there is none)."""
    while node.has_parent() and node.parent().get_type() == isl.schedule_node_type.mark:
        node = node.parent()
    return node


def _fission(s: Schedule, t: R.Fission, deps: Dependences, stage: str, *, checked: bool = True) -> isl.Schedule:
    """checked=False keeps the statements in source order without looking at the dependences (for tests
    that force a refused step through)."""
    top = _above_marks(_band(s, t.band, stage))
    below = chain_end(top)
    if below.get_type() != isl.schedule_node_type.leaf:
        raise InvalidTransformError(f"{stage}: only a chain of loops down to the statements can be "
                                    f"distributed (found a {below.get_type()} below)")
    sets: list[isl.Set] = []
    top.get_domain().foreach_set(sets.append)
    if len(sets) < 2:
        raise InvalidTransformError(f"{stage}: a single statement, nothing to distribute")
    order = _fission_order(s.scop, sets, top.get_prefix_schedule_union_map(), deps if checked else None, stage)
    filters = isl.UnionSetList.alloc(top.get_ctx(), len(order))
    for st in order:
        filters = filters.add(isl.UnionSet.from_set(st))
    return top.insert_sequence(filters).get_schedule()


def _fission_order(scop: Scop, sets: list[isl.Set], prefix: isl.UnionMap, deps: Dependences | None,
                   stage: str) -> list[isl.Set]:
    """The statements in an order that keeps every dependence between instances with the same prefix
    (the loops above) forward: a topological order, source order among the free ones."""
    same = prefix.apply_range(prefix.reverse())
    source_order = {st.name: k for k, st in enumerate(scop.statements)}
    names = sorted((st.get_tuple_name() for st in sets), key=lambda n: (source_order.get(n, len(source_order)), n))
    edges: dict[tuple[str, str], isl.Map] = {}

    def add(m: isl.Map) -> None:
        a, b = m.get_tuple_name(isl.dim_type.in_), m.get_tuple_name(isl.dim_type.out)
        if a != b and a in names and b in names and not m.is_empty():
            edges[(a, b)] = m
    if deps is not None:
        deps.all.intersect(same).foreach_map(add)
    out: list[str] = []
    while len(out) < len(names):
        rest = [n for n in names if n not in out]
        free = [b for b in rest if not any((a, b) in edges for a in rest)]
        if not free:
            a, b = next((a, b) for (a, b) in sorted(edges) if a in rest and b in rest)
            raise IllegalTransformError(
                f"{stage}: {a} and {b} depend on each other inside these loops (a cycle of dependences; "
                f"e.g. {example(edges[(a, b)])}), so they cannot be distributed",
                dependence=str(edges[(a, b)]), source=a, sink=b)
        out.append(free[0])
    by_name = {st.get_tuple_name(): st for st in sets}
    return [by_name[n] for n in out]


def full_tile_isolation(node: isl.ScheduleNode, domain: isl.UnionSet, inner: int, stage: str) \
        -> isl.UnionSet:
    """isl AST build options isolating the band's iterations whose `inner` innermost loops below run
    their full (largest) extent; the rest is generated once ("atomic"). The subtree below the band
    must be a chain of bands and marks down to one leaf."""
    leaf = chain_end(node.child(0))
    if leaf.get_type() != isl.schedule_node_type.leaf:
        raise InvalidTransformError(f"{stage}: isolating full tiles needs a chain of bands below")
    sets: list[isl.Set] = []
    leaf.get_prefix_schedule_union_map().intersect_domain(domain).range().foreach_set(sets.append)
    n_p, n_b = node.get_schedule_depth(), node.band_n_member()
    if len(sets) != 1 or sets[0].dim(isl.dim_type.set) - n_p - n_b < inner:
        raise InvalidTransformError(f"{stage}: cannot isolate {inner} inner loops here")
    rng = sets[0]
    n = rng.dim(isl.dim_type.set)
    rng = rng.project_out(isl.dim_type.set, n_p + n_b, n - n_p - n_b - inner)
    first = n_p + n_b
    prefixes = rng.project_out(isl.dim_type.set, first, inner)
    box = prefixes.insert_dims(isl.dim_type.set, first, inner)
    for d in range(first, first + inner):
        lo, hi = _constant(rng.dim_min(d), False), _constant(rng.dim_max(d), True)
        if lo is None or hi is None:
            raise InvalidTransformError(f"{stage}: inner loop {d} has no constant extent")
        c = isl.Constraint.inequality_alloc(box.get_space())
        box = box.add_constraint(c.set_coefficient_val(isl.dim_type.set, d, 1).set_constant_val(-lo))
        c = isl.Constraint.inequality_alloc(box.get_space())
        box = box.add_constraint(c.set_coefficient_val(isl.dim_type.set, d, -1).set_constant_val(hi))
    bad = box.subtract(rng).project_out(isl.dim_type.set, first, inner)
    full = prefixes.subtract(bad).coalesce()
    iso = isl.Map.from_domain(full).move_dims(isl.dim_type.out, 0, isl.dim_type.in_, n_p, n_b)
    option = isl.UnionSet.from_set(iso.wrap().set_tuple_name("isolate"))
    return option.union(isl.UnionSet("{ atomic[x] }"))


def _constant(pa: isl.PwAff, largest: bool) -> int | None:
    """The extreme constant piece of a bound (pieces that depend on parameters only cover degenerate
    sizes; an inexact box only makes the isolated part smaller or less clean, never wrong)."""
    vals: list[int] = []
    pa.foreach_piece(lambda _s, aff: vals.append(int(aff.get_constant_val().to_python()))
                     if aff.is_cst() else None)
    if not vals:
        return None
    return max(vals) if largest else min(vals)


def _promote(s: Schedule, t: R.Promote, deps: Dependences, stage: str) -> isl.Schedule:
    node = _band(s, t.band, stage)
    names = set(s.statements_at(t.band))
    used = {a.array for st in s.scop.statements if st.name in names for a in st.reads + st.writes}
    if t.array not in used:
        raise InvalidTransformError(f"{stage}: array '{t.array}' is not accessed below this band")
    return _mark(node, f"promote:{t.array}")


# --- structural transformations (on the plain mirror of the tree) ----------------------------------------
def _join(s: Schedule, t: R.Join, deps: Dependences, stage: str) -> isl.Schedule:
    tree = s.ir
    band = ir.get(tree, t.band)
    if not isinstance(band, ir.Band) or not isinstance(band.child, ir.Band):
        raise InvalidTransformError(f"{stage}: needs a band directly above another band")
    inner = band.child
    mupa = isl.MultiUnionPwAff(band.schedule).flat_range_product(isl.MultiUnionPwAff(inner.schedule))
    coinc = _pad(band.coincident, mupa_len(band)) + _pad(inner.coincident, mupa_len(inner))
    new = ir.Band(str(mupa), inner.child, False, coinc, "")
    return ir.to_isl(ir.put(tree, t.band, new))


def mupa_len(band: ir.Band) -> int:
    return int(isl.MultiUnionPwAff(band.schedule).dim(isl.dim_type.set))


def _pad(c: tuple[bool, ...], n: int) -> tuple[bool, ...]:
    return tuple(c) + (False,) * (n - len(c))


def _distribute(s: Schedule, t: R.Distribute, deps: Dependences, stage: str) -> isl.Schedule:
    tree = s.ir
    band = ir.get(tree, t.band)
    if not isinstance(band, ir.Band):
        raise InvalidTransformError(f"{stage}: the node at {t.band} is not a band")
    below = ir.skip_marks(band.child)
    if not isinstance(below, (ir.Sequence, ir.Set)):
        raise InvalidTransformError(f"{stage}: no sequence directly below the band to distribute over")
    mupa = isl.MultiUnionPwAff(band.schedule)
    kids = tuple(ir.Filter(f.filter, ir.Band(str(mupa.intersect_domain(isl.UnionSet(f.filter))), f.child,
                                             band.permutable, band.coincident, band.options))
                 for f in below.children)
    return ir.to_isl(ir.put(tree, t.band, type(below)(kids)))


def _fuse(s: Schedule, t: R.Fuse, deps: Dependences, stage: str) -> isl.Schedule:
    tree = s.ir
    seq = ir.get(tree, t.node)
    if not isinstance(seq, ir.Sequence):
        raise InvalidTransformError(f"{stage}: the node at {t.node} is not a sequence")
    if not 0 <= t.first < t.last < len(seq.children) or t.depth < 1:
        raise InvalidTransformError(f"{stage}: cannot fuse children {t.first}..{t.last} (depth {t.depth}) "
                                    f"of a sequence of {len(seq.children)}")
    outer: isl.MultiUnionPwAff | None = None
    rest: list[ir.Filter] = []
    for f in seq.children[t.first:t.last + 1]:
        band = ir.skip_marks(f.child)
        if not isinstance(band, ir.Band) or mupa_len(band) < t.depth:
            raise InvalidTransformError(f"{stage}: child '{f.filter}' does not start with a band of "
                                        f">= {t.depth} members")
        mupa = isl.MultiUnionPwAff(band.schedule)
        n = mupa_len(band)
        head = mupa.drop_dims(isl.dim_type.set, t.depth, n - t.depth)
        outer = head if outer is None else outer.union_add(head)
        tail: ir.Node = band.child
        if n > t.depth:
            tail = ir.Band(str(mupa.drop_dims(isl.dim_type.set, 0, t.depth)), band.child, band.permutable,
                           _pad(band.coincident, n)[t.depth:], "")
        rest.append(ir.Filter(f.filter, tail))
    assert outer is not None
    fused: ir.Node = ir.Band(str(outer), ir.Sequence(tuple(rest)))
    if t.first == 0 and t.last == len(seq.children) - 1:
        return ir.to_isl(ir.put(tree, t.node, fused))
    union = isl.UnionSet(rest[0].filter)
    for f in rest[1:]:
        union = union.union(isl.UnionSet(f.filter))
    kids = seq.children[:t.first] + (ir.Filter(str(union), fused),) + seq.children[t.last + 1:]
    return ir.to_isl(ir.put(tree, t.node, ir.Sequence(kids)))


_APPLY: dict[type, Callable[[Schedule, object, Dependences, str], isl.Schedule]] = {
    R.Tile: _tile, R.Permute: _permute, R.Split: _split, R.Join: _join, R.Fuse: _fuse,
    R.Distribute: _distribute, R.Skew: _skew, R.Wavefront: _wavefront, R.StripMine: _strip_mine,
    R.Unroll: _unroll, R.UnrollAndJam: _unroll_and_jam, R.Parallel: _parallel, R.Vectorize: _vectorize,
    R.SeparateFullTiles: _separate, R.Separate: _separate_loops, R.Fission: _fission, R.Promote: _promote,
    R.GpuMap: _gpu_map,
}  # type: ignore[dict-item]
