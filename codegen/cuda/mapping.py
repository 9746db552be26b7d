"""GPU mapping on isl schedule trees (PPCG-style): which loops become the grid, which the threads.

`map_to_gpu` walks a schedule tree from the root. Bands whose members carry no dependence (checked on the
dependences, not on the scheduler's coincidence flags) are tiled: the tile loops go to the grid
("gpu:block.x|y|z" marks), the point loops to the threads ("gpu:thread.x|y|z"). The other members of a
permutable band are tiled too and run sequentially inside the kernel (the k-tile loop of gemm); members
that are neither stay below, untiled. Sequential bands above a parallel band become host loops (one kernel
launch per iteration, e.g. the time loop of a stencil); a subtree with no parallel loop at all becomes a
one-block, one-thread kernel ("gpu:kernel", logged as slow).

Thread coarsening is explicit in the tree: with tile T and B threads along a dimension, each thread owns
R = T/B points, `cyclic` (thread t gets t, t+B, ...: consecutive threads touch consecutive elements, so
global and shared accesses stay coalesced / conflict-free) or `blocked` (t*R .. t*R+R-1). The R-loops are
placed innermost, below the sequential point loops, and marked "unroll:R": that turns the thread's points
into a register tile (an outer-product micro-kernel for gemm). Promotion decisions are marks too:
"promote:<array>" (shared memory, above the thread loops: one copy per block and sequential tile) and
"private:<array>" (registers, above the sequential tile loops: loaded once per thread, stored at the end).
Whether a promotion fits (footprint, budget) is decided when the kernel is built (kernel_ir.py).

Every mapped tree is checked (`check_mapping`): the whole schedule respects all dependences, and every
band under a gpu mark has zero dependence distance among instances that share its outer schedule prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import islpy as isl

from polyopt import expr as X
from polyopt.errors import CodegenError, IllegalTransformError
from polyopt.legality import reduction_pairs
from polyopt.model import Scop

from .split import plan_split

log = logging.getLogger("polyopt.codegen.cuda")

DIMS = ("x", "y", "z")


@dataclass(frozen=True)
class GpuMapping:
    """Mapping options (the GPU search space). Per-dimension tuples are in x, y, z order; x is the
    dimension chosen for coalescing.

    Fields::

        tile:       points of the mapped parallel loops per block
        threads:    block dimensions; the register tile per thread is tile/threads along each dimension
        seq_tile:   tile size of the non-parallel members of a permutable mapped band (gemm's k); 0: untiled
        coarsening: "cyclic" or "blocked" distribution of a block's points over its threads
        shared:     True (promote read-only arrays with reuse), False, or the names of arrays to promote
        private:    keep a thread's tile of written arrays (accumulators) in registers
        unroll:     unroll factor of the innermost sequential point loop (0: unroll it fully when it is a
                    single-member tile of at most 16 points, else leave it to nvcc; 1: never)
        shared_layout: store shared tiles so that a thread's register-tile operands are contiguous (the
                    thread-indexed dimension innermost, swizzled for cyclic coarsening): 128-bit shared loads
        split:      split-K: run the outermost sequential member (a '+' reduction: gemm's k, conv's input
                    channels) in this many parts on different blocks of a free grid dimension; each block
                    adds its partial sums to the output with atomicAdd (the sum is reassociated). Needs
                    constant bounds (or params), private accumulators, and a free grid dimension: with
                    three mapped dimensions, one of them must fit in a single tile
    """

    tile: tuple[int, ...] = (32, 32, 4)
    threads: tuple[int, ...] = (32, 8, 1)
    seq_tile: int = 32
    coarsening: str = "cyclic"
    shared: bool | tuple[str, ...] = True
    private: bool = True
    unroll: int = 0
    shared_budget: int = 48 * 1024
    max_private: int = 128
    max_threads: int = 1024
    vector_loads: bool = True
    shared_layout: bool = True
    split: int = 1

    def __post_init__(self) -> None:
        if self.coarsening not in ("cyclic", "blocked"):
            raise ValueError(f"coarsening must be 'cyclic' or 'blocked', not {self.coarsening!r}")
        if not self.tile or not self.threads or any(int(v) < 1 for v in self.tile + self.threads):
            raise ValueError("tile and threads must be non-empty tuples of positive integers")
        if int(self.split) < 1:
            raise ValueError(f"split must be a positive number of parts, not {self.split!r}")

    def dims_for(self, n: int) -> tuple[list[int], list[int]]:
        """(tile, threads) for a band with n mapped dimensions (x first). Unused thread dimensions are
        folded into the last mapped one so that a 1-d band still gets a full block."""
        tiles = [int(self.tile[min(d, len(self.tile) - 1)]) for d in range(n)]
        thr = [int(self.threads[d]) if d < len(self.threads) else 1 for d in range(n)]
        spare = 1
        for d in range(n, len(self.threads)):
            spare *= int(self.threads[d])
        if spare > 1:
            thr[n - 1] *= spare
            tiles[n - 1] *= spare
        out_t = []
        for t, b in zip(tiles, thr):
            b = min(b, t)
            if t % b:
                raise CodegenError(f"tile size {t} is not a multiple of the {b} threads mapped to it")
            out_t.append(b)
        total = 1
        for b in out_t:
            total *= b
        if total > self.max_threads:
            raise CodegenError(f"{total} threads per block exceeds the limit {self.max_threads}")
        return tiles, out_t

    def to_dict(self) -> dict[str, object]:
        """The fields as plain values; split is left out when it is 1, so that the candidate keys of
        tuning records written before split existed stay the same."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()
                if not (k == "split" and v == 1)}


@dataclass
class _Plan:
    """What was decided for one mapped band (for logs and tests)."""

    members: list[int] = field(default_factory=list)     # band members mapped, in x, y, z order
    tiles: list[int] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)
    private: list[str] = field(default_factory=list)
    reduction_extent: int = 0        # split reductions: iterations of the split member


def _deps_map(scop: Scop, deps: object) -> isl.UnionMap:
    if deps is None:
        from polyopt.dataflow import dependences
        deps = dependences(scop)
    if isinstance(deps, isl.UnionMap):
        return deps
    return deps.all


def _schedule_of(schedule_tree: object) -> isl.Schedule:
    if isinstance(schedule_tree, isl.Schedule):
        return schedule_tree
    for attr in ("tree", "schedule", "isl_schedule"):
        val = getattr(schedule_tree, attr, None)
        if isinstance(val, isl.Schedule):
            return val
    raise CodegenError(f"expected an isl.Schedule (or an object with .tree), got {type(schedule_tree)}")


def member_is_parallel(node: isl.ScheduleNode, member: int, deps: isl.UnionMap) -> bool:
    """No dependence between instances that share the outer prefix has a non-zero distance here."""
    dom = node.get_domain()
    d = deps.intersect_domain(dom).intersect_range(dom)
    if d.is_empty():
        return True
    prefix = node.get_prefix_schedule_union_map()
    d = d.intersect(prefix.apply_range(prefix.reverse()))
    if d.is_empty():
        return True
    upa = node.band_get_partial_schedule().get_at(member)
    m = isl.UnionMap.from_union_pw_aff(upa)
    moved = d.apply_domain(m).apply_range(m)
    params = moved.get_space()
    neq = isl.UnionMap("{ [a] -> [b] : a != b }").align_params(params)
    return moved.intersect(neq).is_empty()


def _mupa(upas: list[isl.UnionPwAff], like: isl.MultiUnionPwAff) -> isl.MultiUnionPwAff:
    space = like.get_space()
    n = space.dim(isl.dim_type.set)
    space = space.drop_dims(isl.dim_type.set, 0, n).add_dims(isl.dim_type.set, len(upas))
    lst = isl.UnionPwAffList.alloc(isl.DEFAULT_CONTEXT, len(upas))
    for u in upas:
        lst = lst.add(u)
    return isl.MultiUnionPwAff.from_union_pw_aff_list(space, lst)


def _linear(e: X.Expr) -> dict[str, int] | None:
    """Coefficients of an affine index expression (key '' is the constant), or None."""
    if isinstance(e, X.Const) and not e.dtype.is_float:
        return {"": int(e.value)}
    if isinstance(e, X.Var):
        return {e.name: 1}
    if isinstance(e, X.Cast):
        return _linear(e.operand)
    if isinstance(e, X.Unary) and e.op == "neg":
        a = _linear(e.operand)
        return None if a is None else {k: -v for k, v in a.items()}
    if isinstance(e, X.Binary) and e.op in ("+", "-"):
        a, b = _linear(e.lhs), _linear(e.rhs)
        if a is None or b is None:
            return None
        out = dict(a)
        for k, v in b.items():
            out[k] = out.get(k, 0) + (v if e.op == "+" else -v)
        return out
    if isinstance(e, X.Binary) and e.op == "*":
        a, b = _linear(e.lhs), _linear(e.rhs)
        if a is None or b is None:
            return None
        if set(a) <= {""}:
            return {k: v * a.get("", 0) for k, v in b.items()}
        if set(b) <= {""}:
            return {k: v * b.get("", 0) for k, v in a.items()}
    return None


CONSTANT = "<constant>"


def _member_iterator(upa: isl.UnionPwAff, stmt_name: str, iterators: tuple[str, ...]) -> str | None:
    """The statement iterator a band member equals (coefficient 1, nothing else), if any."""
    found: list[str | None] = []

    def piece(pa: isl.PwAff) -> None:
        if pa.get_space().get_tuple_name(isl.dim_type.in_) != stmt_name:
            return
        for _set, aff in pa.get_pieces():
            coefs = [aff.get_coefficient_val(isl.dim_type.in_, k).to_python() for k in range(len(iterators))]
            nz = [k for k, c in enumerate(coefs) if c != 0]
            if not nz:
                found.append(CONSTANT)
            else:
                found.append(iterators[nz[0]] if len(nz) == 1 and coefs[nz[0]] == 1 else None)
    upa.foreach_pw_aff(piece)
    return found[0] if found and all(f == found[0] for f in found) else None


def _coalescing_score(scop: Scop, node: isl.ScheduleNode, member: int) -> int:
    """How many accesses become stride-1 (innermost subscript) if this member is threadIdx.x."""
    upa = node.band_get_partial_schedule().get_at(member)
    names = set()
    node.get_domain().foreach_set(lambda s: names.add(s.get_tuple_name()))
    score = 0
    for st in scop.statements:
        if st.name not in names:
            continue
        it = _member_iterator(upa, st.name, st.iterators)
        if it is None or it == CONSTANT:
            continue
        for acc in st.reads + st.writes:
            idx = acc.expr.indices
            if not idx:
                continue
            forms = [_linear(i) for i in idx]
            last = forms[-1]
            if last is not None and abs(last.get(it, 0)) == 1 and all(
                    f is not None and f.get(it, 0) == 0 for f in forms[:-1]):
                score += 2
            elif any(f is None or f.get(it, 0) != 0 for f in forms[:-1]):
                score -= 1
    return score


def _accesses_in(scop: Scop, node: isl.ScheduleNode) -> tuple[dict[str, list], dict[str, list], list]:
    names = set()
    node.get_domain().foreach_set(lambda s: names.add(s.get_tuple_name()))
    stmts = [s for s in scop.statements if s.name in names]
    reads: dict[str, list] = {}
    writes: dict[str, list] = {}
    for s in stmts:
        for a in s.reads:
            reads.setdefault(a.array, []).append((s, a))
        for a in s.writes:
            writes.setdefault(a.array, []).append((s, a))
    return reads, writes, stmts


def _invariant_in(s, acc, upa: isl.UnionPwAff) -> bool:
    it = _member_iterator(upa, s.name, s.iterators)
    if it is None:
        return False
    if it == CONSTANT:
        return True
    forms = [_linear(i) for i in acc.expr.indices]
    return all(f is not None and f.get(it, 0) == 0 for f in forms)


def _choose_promotions(scop: Scop, node: isl.ScheduleNode, mapped: list[int], seq: list[int],
                       options: GpuMapping) -> tuple[list[str], list[str]]:
    reads, writes, _ = _accesses_in(scop, node)
    mupa = node.band_get_partial_schedule()
    shared: list[str] = []
    if options.shared:
        wanted = options.shared if isinstance(options.shared, tuple) else None
        for name, accs in reads.items():
            if name in writes or not scop.array(name).shape:
                continue
            if wanted is not None:
                if name in wanted:
                    shared.append(name)
                continue
            distinct = {X.to_c(a.expr) for _s, a in accs}
            reuse = any(all(_invariant_in(s, a, mupa.get_at(m)) for s, a in accs) for m in mapped)
            if reuse or len(distinct) > 1:
                shared.append(name)
    private: list[str] = []
    if options.private and seq:
        for name, accs in writes.items():
            if not scop.array(name).shape:
                continue
            if all(_invariant_in(s, a, mupa.get_at(q)) for q in seq for s, a in accs):
                private.append(name)
    return sorted(shared), sorted(private)


def _map_band(scop: Scop, node: isl.ScheduleNode, par: list[int], deps: isl.UnionMap,
              options: GpuMapping, plans: list[_Plan],
              params: Mapping[str, int] | None = None) -> isl.ScheduleNode:
    n = node.band_n_member()
    permutable = bool(node.band_get_permutable()) or n == 1
    if not permutable:
        lead = 0
        while lead < n and lead in par:
            lead += 1
        par = list(range(lead))
        if lead < n:
            node = node.band_split(lead)   # node keeps the leading parallel members; the rest below
            n = lead
    par = par[:3]
    seq = [m for m in range(n) if m not in par]
    order = sorted(par, key=lambda m: (-_coalescing_score(scop, node, m), -m))
    x = order[0]
    rest = sorted((m for m in par if m != x), reverse=True)      # innermost member next -> y, z
    mapped = [x] + rest
    tiles, threads = options.dims_for(len(mapped))
    shared, private = _choose_promotions(scop, node, mapped, seq if options.seq_tile else [], options)
    plans.append(_Plan(mapped, tiles, threads, shared, private))

    mupa = node.band_get_partial_schedule()
    f = [mupa.get_at(m) for m in range(n)]
    split = None
    if options.split > 1:
        stmts = _accesses_in(scop, node)[2]
        split = plan_split(node, stmts, f, mapped, tiles, seq, private if options.private else [],
                           options.split, options.seq_tile, params)
        plans[-1].reduction_extent = split.extent
    node = node.delete()
    loops_below = _has_band(node)
    # bottom-up: register loops, sequential point loops, thread loops, sequential tile loops, block loops
    for d in reversed(range(len(mapped))):
        t, b = tiles[d], threads[d]
        r = t // b
        if r == 1:
            continue
        fd = f[mapped[d]]
        if options.coarsening == "cyclic":
            reg = fd.mod_val(isl.Val(t)).scale_down_val(isl.Val(b)).floor()
        else:
            reg = fd.mod_val(isl.Val(r))
        node = node.insert_partial_schedule(_mupa([reg], mupa)).insert_mark(isl.Id(f"unroll:{r}"))
    if seq:
        unroll = options.unroll
        if unroll == 0 and 0 < options.seq_tile <= 16 and not loops_below:
            # auto (only when no loop is left below: gemm's k within a tile, not conv's c with ky, kx
            # below): unroll the sequential point loops, one band per member (same order as the
            # permutable band: legal), innermost first; the outermost of several stays a loop
            for q in reversed(seq):
                node = node.insert_partial_schedule(_mupa([f[q]], mupa))
                if len(seq) == 1 or q != seq[0]:
                    node = node.insert_mark(isl.Id(f"unroll:{options.seq_tile}"))
        else:
            node = node.insert_partial_schedule(_mupa([f[q] for q in seq], mupa))
            if unroll > 1 and len(seq) == 1:
                node = node.insert_mark(isl.Id(f"unroll:{unroll}"))
    for d in reversed(range(len(mapped))):
        t, b = tiles[d], threads[d]
        r = t // b
        fd = f[mapped[d]]
        if options.coarsening == "cyclic" or r == 1:
            thr = fd.mod_val(isl.Val(b)) if r > 1 else fd.mod_val(isl.Val(t))
        else:
            thr = fd.mod_val(isl.Val(t)).scale_down_val(isl.Val(r)).floor()
        node = node.insert_partial_schedule(_mupa([thr], mupa)).insert_mark(isl.Id(f"gpu:thread.{DIMS[d]}"))
    for a in reversed(shared):
        node = node.insert_mark(isl.Id(f"promote:{a}"))
    if seq and options.seq_tile:
        tiled = [f[q].scale_down_val(isl.Val(options.seq_tile)).floor() for q in seq]
        node = node.insert_partial_schedule(_mupa(tiled, mupa))
    for a in reversed(private):
        node = node.insert_mark(isl.Id(f"private:{a}"))
    if split is not None:
        part = f[seq[0]].scale_down_val(isl.Val(split.length)).floor()
        node = node.insert_partial_schedule(_mupa([part], mupa)).insert_mark(
            isl.Id(f"gpu:split.{DIMS[split.grid_dim]}"))
    for d in reversed(range(len(mapped))):
        if split is not None and d == split.dropped:
            continue          # one tile: its block loop would run once; its grid dimension runs the split
        blk = f[mapped[d]].scale_down_val(isl.Val(tiles[d])).floor()
        node = node.insert_partial_schedule(_mupa([blk], mupa)).insert_mark(isl.Id(f"gpu:block.{DIMS[d]}"))
    return node


def _has_band(node: isl.ScheduleNode) -> bool:
    if node.get_type() == isl.schedule_node_type.band:
        return True
    return any(_has_band(node.child(c)) for c in range(node.n_children()))


def _has_parallel_band(node: isl.ScheduleNode, deps: isl.UnionMap) -> bool:
    if node.get_type() == isl.schedule_node_type.band:
        if any(member_is_parallel(node, m, deps) for m in range(node.band_n_member())):
            return True
    return any(_has_parallel_band(node.child(c), deps) for c in range(node.n_children()))


def _nonnegative(node: isl.ScheduleNode, deps: isl.UnionMap) -> bool:
    """Every dependence among instances sharing the outer prefix has distance >= 0 in every member
    (the band is permutable: it may be tiled)."""
    dom = node.get_domain()
    d = deps.intersect_domain(dom).intersect_range(dom)
    prefix = node.get_prefix_schedule_union_map()
    d = d.intersect(prefix.apply_range(prefix.reverse()))
    if d.is_empty():
        return True
    mupa = node.band_get_partial_schedule()
    for m in range(node.band_n_member()):
        mm = isl.UnionMap.from_union_pw_aff(mupa.get_at(m))
        moved = d.apply_domain(mm).apply_range(mm)
        neg = isl.UnionMap("{ [a] -> [b] : b < a }").align_params(moved.get_space())
        if not moved.intersect(neg).is_empty():
            return False
    return True


def _merge_chain(node: isl.ScheduleNode, deps: isl.UnionMap) -> isl.ScheduleNode:
    """Fuse a chain of nested bands (one child each) into one band when the result is permutable, so that
    nested parallel loops (i)(j)(k) of the source order can be tiled and mapped together."""
    while node.n_children() == 1 and node.child(0).get_type() == isl.schedule_node_type.band:
        child = node.child(0)
        if child.get_domain().is_equal(node.get_domain()) is False:
            break
        merged = node.band_get_partial_schedule().flat_range_product(child.band_get_partial_schedule())
        trial = node.child(0).delete().parent().delete().insert_partial_schedule(merged)
        if not _nonnegative(trial, deps):
            break
        node = trial.band_set_permutable(1)
    return node


def _visit(scop: Scop, node: isl.ScheduleNode, deps: isl.UnionMap, options: GpuMapping,
           plans: list[_Plan], params: Mapping[str, int] | None = None) -> isl.ScheduleNode:
    """Map the subtree at node; returns the node at the same position."""
    t = node.get_type()
    if t == isl.schedule_node_type.band:
        if not node.band_get_permutable() and node.band_n_member() > 1 and _nonnegative(node, deps):
            node = node.band_set_permutable(1)
        node = _merge_chain(node, deps)
        n = node.band_n_member()
        par = [m for m in range(n) if member_is_parallel(node, m, deps)]
        permutable = bool(node.band_get_permutable()) or n == 1
        usable = par if permutable else [m for m in range(n) if all(k in par for k in range(m + 1))]
        if usable:
            return _map_band(scop, node, usable, deps, options, plans, params)
        if not _has_parallel_band(node.child(0), deps):
            names = set()
            node.get_domain().foreach_set(lambda s: names.add(s.get_tuple_name()))
            log.warning("no parallel loop for statement(s) %s: they run in one GPU thread (correct, slow)",
                        ", ".join(sorted(names)))
            return node.insert_mark(isl.Id("gpu:kernel"))
        # sequential band above parallel work: host loop(s)
    elif t == isl.schedule_node_type.leaf:
        names = set()
        node.get_domain().foreach_set(lambda s: names.add(s.get_tuple_name()))
        if names:
            log.warning("statement(s) %s outside any loop run in one GPU thread", ", ".join(sorted(names)))
        return node.insert_mark(isl.Id("gpu:kernel"))
    elif t == isl.schedule_node_type.mark and node.mark_get_id().get_name().startswith("gpu:"):
        return node
    for c in range(node.n_children()):
        node = _visit(scop, node.child(c), deps, options, plans, params).parent()
    return node


def map_to_gpu(scop: Scop, schedule_tree: object, deps: object = None,
               options: GpuMapping | None = None, *, plans: list | None = None,
               params: Mapping[str, int] | None = None) -> isl.Schedule:
    """The schedule tree with GPU marks (blocks, threads, promotion, unrolling); checked for legality.
    params: size values the kernel will be specialised for (needed by `split` with parametric bounds)."""
    options = options or GpuMapping()
    sched = _schedule_of(schedule_tree)
    if is_mapped(sched):
        return sched
    dmap = _deps_map(scop, deps)
    out_plans = [] if plans is None else plans
    try:
        root = _visit(scop, sched.get_root(), dmap, options, out_plans, params)
        mapped = root.get_schedule()
    except isl.Error as e:  # pragma: no cover - isl internal failure
        raise CodegenError(f"while mapping the schedule to the GPU: {e}") from e
    check_mapping(scop, mapped, dmap)
    for p in out_plans:
        log.info("GPU mapping: members %s tiles %s threads %s shared %s private %s",
                 p.members, p.tiles, p.threads, p.shared, p.private)
    return mapped


def is_mapped(sched: isl.Schedule) -> bool:
    found = []

    def walk(n: isl.ScheduleNode) -> None:
        if n.get_type() == isl.schedule_node_type.mark and n.mark_get_id().get_name().startswith("gpu:"):
            found.append(n)
            return
        for c in range(n.n_children()):
            walk(n.child(c))
    walk(sched.get_root())
    return bool(found)


def check_mapping(scop: Scop, mapped: isl.Schedule, deps: object = None) -> None:
    """Raise IllegalTransformError unless the mapped schedule respects every dependence and every
    block/thread-mapped loop carries none."""
    dmap = _deps_map(scop, deps)
    smap = mapped.get_map().intersect_domain(scop.domain)
    viol = dmap.intersect(smap.lex_ge_union_map(smap))
    if not viol.is_empty():
        raise IllegalTransformError(f"the mapped schedule reverses a dependence: {viol.sample()}",
                                    dependence=str(viol))

    atomic: list[isl.UnionMap] = []      # '+' reduction pairs, computed at the first split mark

    def walk(n: isl.ScheduleNode) -> None:
        if n.get_type() == isl.schedule_node_type.mark:
            name = n.mark_get_id().get_name()
            if name.startswith(("gpu:block", "gpu:thread", "gpu:split")):
                band = n.child(0)
                if band.get_type() != isl.schedule_node_type.band or band.band_n_member() != 1:
                    raise CodegenError(f"mark {name} must sit above a one-member band")
                carried = dmap
                if name.startswith("gpu:split"):     # partial sums meet in atomicAdd: '+' reductions only
                    if not atomic:
                        atomic.append(reduction_pairs(scop, ("+",)))
                    carried = dmap.subtract(atomic[0])
                if not member_is_parallel(band, 0, carried):
                    raise IllegalTransformError(f"the loop mapped to {name[4:]} carries a dependence")
        for c in range(n.n_children()):
            walk(n.child(c))
    walk(mapped.get_root())


def original_schedule(scop: Scop) -> isl.Schedule:
    """The source order as a schedule tree (bands for loops, sequences for statement order), built from
    the statements' 2d+1 schedules; unlike a single flat band, it exposes each loop nest separately."""
    def piece(st, pos: int) -> isl.UnionPwAff:
        pma = isl.PwMultiAff.from_map(st.schedule)
        return isl.UnionPwAff.from_pw_aff(pma.get_pw_aff(pos))

    def build(stmts: list, level: int) -> isl.Schedule:
        groups: dict[int, list] = {}
        for st in stmts:
            c = st.schedule.plain_get_val_if_fixed(isl.dim_type.out, 2 * level).to_python()
            groups.setdefault(int(c), []).append(st)
        parts = []
        for c in sorted(groups):
            grp = groups[c]
            dom = isl.UnionSet.empty(scop.context.get_space())
            for st in grp:
                dom = dom.union(isl.UnionSet.from_set(st.domain))
            if all(st.depth > level for st in grp):
                inner = build(grp, level + 1)
                upa = None
                for st in grp:
                    p = piece(st, 2 * level + 1)
                    upa = p if upa is None else upa.union_add(p)
                mupa = isl.MultiUnionPwAff.from_union_pw_aff_list(
                    isl.Space.set_alloc(isl.DEFAULT_CONTEXT, 0, 1).align_params(upa.get_space()),
                    isl.UnionPwAffList.alloc(isl.DEFAULT_CONTEXT, 1).add(upa))
                parts.append(inner.insert_partial_schedule(mupa))
            else:
                parts.append(isl.Schedule.from_domain(dom))
        out = parts[0]
        for p in parts[1:]:
            out = out.sequence(p)
        return out
    return build(list(scop.statements), 0)
