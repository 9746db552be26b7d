"""Features of a transformed loop nest (AutoTVM's "itervar" features over polyopt's loop AST).

For the dominant statement site (dominant_site: deepest domain, then most loop iterations), per loop
level (innermost first, so that the loops that matter most line up across kernels of different depth;
padded to MAX_DEPTH): extent,
level, annotation one-hot (serial, parallel, vector, unroll, gpu block,
gpu thread), unroll factor, top-down and bottom-up trip-count products; per array access slot (the
write first, then reads in body order; MAX_ACCESSES slots): stride of that loop in elements, footprint in
elements and in cache lines of one iteration of that loop (analytic box of the affine subscripts over
the inner loops' extents), reuse (accesses per element of footprint); the working set of one iteration of
that loop (all accesses, in cache lines). Totals over all statement sites: flops, bytes (compulsory:
distinct array elements), arithmetic intensity, loops, sites, parallel work per thread; and an analytic
memory-traffic estimate per cache level (host L1/L2/L3 sizes): the data of one iteration of the
outermost loop whose iteration working set fits in the cache is assumed loaded once per iteration, so
traffic = iterations of that loop x its working set, reported as bytes per flop; and the register tile
around the dominant statement (flops per operand load, accumulators, register pressure). Those numbers mean the
same on every kernel, which is what lets a model trained on some kernels rank another's candidates.
Every value goes through log2(x + 1). FEATURE_VERSION changes whenever the layout changes.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from typing import Mapping

import numpy as np

from polyopt import expr as X
from polyopt.codegen.loop_ast import LoopProgram
from polyopt.model import Scop
from polyopt.search.inputs import array_shape
from polyopt.search.loopinfo import Leaf, body_flops, dim_coefficients, leaves

FEATURE_VERSION = 6
MAX_DEPTH = 10
MAX_ACCESSES = 4
CACHE_LINE = 64
_ANNOT = ("serial", "parallel", "vector", "unroll", "gpu_block", "gpu_thread")
_LOOP_FIELDS = ("extent", "level", *(f"ann_{a}" for a in _ANNOT), "unroll_factor", "prod_outer", "prod_inner",
                "ws_lines")
_ACC_FIELDS = ("stride", "footprint", "lines", "reuse")
_TOTALS = ("flops", "bytes", "intensity", "n_loops", "n_sites", "depth", "work_per_thread",
           "inner_lines", "parallel_extent", "vector_extent", "vector_stride_max", "unroll_product",
           "traffic_l1_per_flop", "traffic_l2_per_flop", "traffic_l3_per_flop", "inner_stride_max",
           "inner_unit_stride", "inner_extent", "inner_reduction", "inner_vectorizable",
           "est_compute_per_flop", "est_memory_per_flop", "est_cycles_per_flop",
           "reg_flops_per_load", "reg_accumulators", "reg_operands", "reg_pressure", "reg_block",
           "loop_entries_per_flop", "loop_branches_per_flop", "bound_ops_per_flop")

# Analytic estimate (cycles per flop of the dominant statement): compute at VECTOR_LANES flops per cycle
# when the effective innermost loop (after LLVM's full unrolling of short loops: effective_inner) can
# vectorize (unit or zero strides, and no reduction unless the vector mark allows reassociation), else 1; memory: loads from L1 (every access, vectorized or not), and the
# traffic into L1, L2 and L3, each over the bandwidth of the level it comes from (bytes per cycle); the
# estimate is the larger of the two (a roofline). Only ratios matter to the ranking model.
VECTOR_LANES = 8.0
SCALAR_LOAD_BYTES_PER_CYCLE = 16.0             # two 8-byte loads a cycle from L1
BYTES_PER_CYCLE = (32.0, 16.0, 4.0)            # L2 -> L1, L3 -> L2, DRAM -> L3


@lru_cache(maxsize=1)
def feature_names() -> tuple[str, ...]:
    names: list[str] = []
    for lv in range(MAX_DEPTH):
        names += [f"L{lv}.{f}" for f in _LOOP_FIELDS]
        names += [f"L{lv}.A{a}.{f}" for a in range(MAX_ACCESSES) for f in _ACC_FIELDS]
    names += [f"total.{t}" for t in _TOTALS]
    return tuple(names)


def n_features() -> int:
    return len(feature_names())


def _annotation(loop: object) -> tuple[list[float], float]:
    from polyopt.codegen.loop_ast import For

    assert isinstance(loop, For)
    gpu = loop.gpu_mapping or ""
    hot = [0.0] * len(_ANNOT)
    if loop.is_parallel:
        hot[1] = 1.0
    if loop.is_vector:
        hot[2] = 1.0
    if loop.unroll > 1:
        hot[3] = 1.0
    if gpu.startswith("block"):
        hot[4] = 1.0
    if gpu.startswith("thread"):
        hot[5] = 1.0
    if not any(hot):
        hot[0] = 1.0
    return hot, float(loop.unroll)


def _accesses(program: LoopProgram, leaf: Leaf) -> list[X.Access]:
    target, value = program.instance(leaf.call)
    reads = list(X.accesses(value))
    return [target] + reads


def _footprint(acc: X.Access, shape: tuple[int, ...], itemsize: int, leaf: Leaf, env: dict[str, float],
               inner_from: int) -> tuple[float, float]:
    """(elements, cache lines) touched by loops inner_from.. of the leaf: a box over the subscripts."""
    if not acc.indices:
        return 1.0, 1.0
    ranges = [1.0] * len(acc.indices)
    for lv in leaf.loops[inner_from:]:
        coef = dim_coefficients(acc, lv.loop.iterator, env)
        span = max(lv.extent - 1.0, 0.0) * lv.loop.step
        for d, c in enumerate(coef):
            ranges[d] += abs(c) * span
    ranges = [min(r, float(shape[d])) if d < len(shape) else r for d, r in enumerate(ranges)]
    elems = float(np.prod(ranges))
    last = ranges[-1]
    lines = math.ceil(last * itemsize / CACHE_LINE) * float(np.prod(ranges[:-1])) if len(ranges) > 1 else \
        math.ceil(last * itemsize / CACHE_LINE)
    return elems, max(lines, 1.0)


def _level_features(program: LoopProgram, leaf: Leaf, shapes: dict[str, tuple[int, ...]],
                    sizes: dict[str, int]) -> tuple[np.ndarray, list[float]]:
    """Rows per loop level, innermost loop first; and the working set (bytes) of one iteration of each
    loop, outermost first, with the whole nest's working set first (index 0 = whole nest)."""
    width = len(_LOOP_FIELDS) + MAX_ACCESSES * len(_ACC_FIELDS)
    out = np.zeros((MAX_DEPTH, width))
    env = dict(leaf.env)
    every = _accesses(program, leaf)
    accs = every[:MAX_ACCESSES]
    extents = [lv.extent for lv in leaf.loops]
    depth = len(leaf.loops)
    distinct = _distinct(every)
    ws_bytes = [sum(_footprint(a, shapes.get(a.array, ()), sizes.get(a.array, 8), leaf, env, 0)[1]
                    for a in distinct) * CACHE_LINE]
    for k, lv in enumerate(leaf.loops):
        ws_lines = sum(_footprint(a, shapes.get(a.array, ()), sizes.get(a.array, 8), leaf, env, k + 1)[1]
                       for a in distinct)
        ws_bytes.append(ws_lines * CACHE_LINE)
        row_index = depth - 1 - k
        if row_index >= MAX_DEPTH:
            continue
        hot, unroll = _annotation(lv.loop)
        outer = float(np.prod(extents[:k + 1]))
        inner = float(np.prod(extents[k:]))
        row = [lv.extent, depth - 1 - k, *hot, unroll, outer, inner, ws_lines]
        for acc in accs:
            shape = shapes.get(acc.array, ())
            elems, lines = _footprint(acc, shape, sizes.get(acc.array, 8), leaf, env, k + 1)
            touches = float(np.prod(extents[k + 1:])) if k + 1 < len(extents) else 1.0
            row += [_stride(acc, shape, lv.loop.iterator, env) * lv.loop.step, elems, lines,
                    touches / max(elems, 1.0)]
        row += [0.0] * (width - len(row))
        out[row_index] = row
    return out, ws_bytes


def _stride(acc: X.Access, shape: tuple[int, ...], iterator: str, env: dict[str, float]) -> float:
    """Elements between the addresses of consecutive iterations of the loop (row-major)."""
    coef = dim_coefficients(acc, iterator, env)
    return sum(abs(c) * float(np.prod(shape[d + 1:])) if d < len(shape) else abs(c) for d, c in enumerate(coef))


def _distinct(accs: list[X.Access]) -> list[X.Access]:
    """Accesses with duplicates removed (a read of the written element counts once)."""
    seen: set[str] = set()
    out = []
    for a in accs:
        key = repr(a)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


def dominant_site(program: LoopProgram, sites: list[Leaf]) -> Leaf:
    """The statement site the features describe: a statement of the deepest iteration domain (it
    dominates asymptotically), then the site with the most loop iterations around it. Guards are not
    counted in a site's iterations, so depth comes first: a `C *= beta` under `if (k == 0)` inside the
    k loop must not outweigh the update it initializes."""
    return max(sites, key=lambda lf: (len(program.scop.statement(lf.call.statement).iterators), lf.instances))


@lru_cache(maxsize=1)
def cache_sizes() -> tuple[float, float, float]:
    """Host data cache sizes in bytes (L1d and L2 per core, L3), with Zen-like defaults."""
    out = []
    for name, default in (("SC_LEVEL1_DCACHE_SIZE", 48 << 10), ("SC_LEVEL2_CACHE_SIZE", 1 << 20),
                          ("SC_LEVEL3_CACHE_SIZE", 32 << 20)):
        try:
            v = os.sysconf(name)
        except (ValueError, OSError):
            v = 0
        out.append(float(v if v and v > 0 else default))
    return out[0], out[1], out[2]


def traffic(leaf: Leaf, ws_bytes: list[float], cache: float) -> float:
    """Bytes moved into a cache of `cache` bytes: per iteration of the outermost loop whose iteration
    working set fits, that working set (the whole nest's once, when it fits as a whole)."""
    if ws_bytes[0] <= cache:
        return ws_bytes[0]
    iterations = 1.0
    for k, lv in enumerate(leaf.loops):
        iterations *= max(lv.extent, 1.0)
        if ws_bytes[k + 1] <= cache:
            return iterations * ws_bytes[k + 1]
    return iterations * ws_bytes[-1]


def _totals(program: LoopProgram, sites: list[Leaf], main: Leaf, shapes: dict[str, tuple[int, ...]],
            sizes: dict[str, int], threads: int, ws_bytes: list[float]) -> list[float]:
    flops = 0.0
    loops_seen: set[int] = set()
    for leaf in sites:
        flops += leaf.instances * body_flops(program.scop.statement(leaf.call.statement).value)
        loops_seen.update(id(lv.loop) for lv in leaf.loops)
    used = {a.array for s in program.scop.statements for a in s.reads + s.writes}
    nbytes = sum(float(np.prod(shapes[a])) * sizes[a] for a in used if a in shapes)
    par = [k for k, lv in enumerate(main.loops) if lv.loop.is_parallel or lv.loop.gpu_mapping]
    par_ext = main.loops[par[0]].extent if par else 1.0
    inner = float(np.prod([lv.extent for lv in main.loops[par[0] + 1:]])) if par else main.instances
    work = math.ceil(par_ext / max(1, threads)) * inner if par else main.instances
    vec = [lv for lv in main.loops if lv.loop.is_vector]
    env = dict(main.env)
    vstride = max((_stride(a, shapes.get(a.array, ()), vec[0].loop.iterator, env) for a in _accesses(program, main)),
                  default=0.0) if vec else 0.0
    last = len(main.loops) - 1
    inner_lines = 0.0
    for acc in _accesses(program, main):
        inner_lines += _footprint(acc, shapes.get(acc.array, ()), sizes.get(acc.array, 8), main, env,
                                  max(last, 0))[1]
    unroll = float(np.prod([lv.loop.unroll for lv in main.loops]))
    main_flops = max(main.instances * body_flops(program.scop.statement(main.call.statement).value), 1.0)
    per_flop = [traffic(main, ws_bytes, c) / main_flops for c in cache_sizes()]
    inner_stride, reduction, vectorizable, inner_extent = 0.0, 0.0, 0.0, 0.0
    if main.loops:
        lv = main.loops[effective_inner(main)]
        strides = [_stride(a, shapes.get(a.array, ()), lv.loop.iterator, env) * lv.loop.step
                   for a in _accesses(program, main)]
        inner_stride = max(strides, default=0.0)
        inner_extent = lv.extent
        reduction = float(bool(strides) and strides[0] == 0.0 and lv.extent > 1)
        reassoc = any(a == "vectorize:reassoc" for a in lv.loop.annotations)
        vectorizable = float(inner_stride <= 1.0 and (not reduction or reassoc) and lv.extent >= 4)
    compute = 1.0 / (VECTOR_LANES if vectorizable else 1.0)
    loads = main.instances * sum(sizes.get(a.array, 8) for a in _accesses(program, main)) / main_flops
    load_cycles = loads / (SCALAR_LOAD_BYTES_PER_CYCLE * (VECTOR_LANES if vectorizable else 1.0))
    memory = max([load_cycles] + [t / b for t, b in zip(per_flop, BYTES_PER_CYCLE)])
    return [flops, nbytes, flops / max(nbytes, 1.0), len(loops_seen), len(sites), len(main.loops), work,
            inner_lines, par_ext, vec[0].extent if vec else 0.0, vstride, unroll,
            *(1000.0 * t for t in per_flop), inner_stride, float(inner_stride <= 1.0),
            inner_extent, reduction, vectorizable,
            1000.0 * compute, 1000.0 * memory, 1000.0 * max(compute, memory)]


FULL_UNROLL_EXTENT = 8      # LLVM's O3 pipeline fully unrolls constant-trip loops this short


def effective_inner(leaf: Leaf) -> int:
    """Index in leaf.loops of the loop that LLVM's loop vectorizer sees as innermost: inner loops that run
    at most FULL_UNROLL_EXTENT times (or are unrolled by their full extent) are unrolled away first. A
    vector-marked loop whose inner loops all unroll away is that loop even when it is short."""
    loops = leaf.loops
    k = len(loops) - 1
    while k > 0 and not loops[k].loop.is_vector and (
            loops[k].extent <= FULL_UNROLL_EXTENT or loops[k].loop.unroll >= loops[k].extent):
        k -= 1
    return max(k, 0)


def register_block(program: LoopProgram, leaf: Leaf, shapes: dict[str, tuple[int, ...]]) -> list[float]:
    """The register tile around the dominant statement: the loops inside the innermost loop L that is
    neither unrolled nor vectorized (L runs the micro-kernel; the loops inside it are unrolled or are the
    vector loop, so their iterations live in registers). Per iteration of L: flops over distinct operand
    loads (vector loads count once per VECTOR_LANES unit-stride elements), the accumulators (elements
    that do not change with L: kept in registers across it), operands, and the sum (register pressure).
    [flops per load, accumulators, operands, pressure, points in the block]."""
    loops = list(leaf.loops)
    k = len(loops) - 1
    while k >= 0 and (loops[k].loop.unroll > 1 or loops[k].loop.is_vector):
        k -= 1
    block = loops[k + 1:]
    env = dict(leaf.env)
    main_it = loops[k].loop.iterator if k >= 0 else None
    points = float(np.prod([max(lv.extent, 1.0) for lv in block])) if block else 1.0
    flops = points * body_flops(program.scop.statement(leaf.call.statement).value)
    acc_regs = operand_loads = 0.0
    for acc in _distinct(_accesses(program, leaf)):
        distinct = 1.0
        for lv in block:
            coef = dim_coefficients(acc, lv.loop.iterator, env)
            if not any(coef):
                continue
            n = max(lv.extent, 1.0)
            if lv.loop.is_vector and _stride(acc, shapes.get(acc.array, ()), lv.loop.iterator, env) <= 1.0:
                n = math.ceil(n / VECTOR_LANES)
            distinct *= n
        invariant = main_it is not None and not any(dim_coefficients(acc, main_it, env))
        if invariant:
            acc_regs += distinct
        else:
            operand_loads += distinct
    return [flops / max(operand_loads, 1.0), acc_regs, operand_loads, acc_regs + operand_loads, points]


_BOUND_OPS = ("min", "max", "floordiv", "/", "%", "mod")


def _bound_ops(e: X.Expr) -> int:
    """min/max/division operations (and selects) in a loop bound: work done on every loop entry."""
    count, stack = 0, [e]
    while stack:
        x = stack.pop()
        if (isinstance(x, X.Binary) and x.op in _BOUND_OPS) or isinstance(x, X.Select):
            count += 1
        stack.extend(X.children(x))
    return count


def loop_overhead(program: LoopProgram, leaf: Leaf) -> list[float]:
    """Per flop of the site: loop entries, loop-back branches (loops LLVM does not unroll away, divided
    by their unroll factor and, when vectorized, VECTOR_LANES), and min/max/div operations of loop bounds
    evaluated on entry. Short inner loops of skewed or tiled nests show up here, not in the traffic."""
    flops = max(leaf.instances * body_flops(program.scop.statement(leaf.call.statement).value), 1.0)
    entries = branches = bounds = 0.0
    outer = 1.0
    for lv in leaf.loops:
        loop = lv.loop
        if not loop.degenerate:
            entries += outer
            bounds += outer * (_bound_ops(loop.init) + _bound_ops(loop.cond))
            if lv.extent > FULL_UNROLL_EXTENT and loop.unroll < lv.extent:
                branches += outer * lv.extent / (max(loop.unroll, 1) * (VECTOR_LANES if loop.is_vector else 1.0))
        outer *= max(lv.extent, 1.0)
    return [1000.0 * entries / flops, 1000.0 * branches / flops, 1000.0 * bounds / flops]


HEAVY_SHARE = 0.1


def heavy_sites(program: LoopProgram, sites: list[Leaf]) -> list[tuple[Leaf, float]]:
    """(site, flops) of the sites of the deepest iteration domains with at least HEAVY_SHARE of the
    largest such site's flops: the statements that decide the running time."""
    depth = max(len(program.scop.statement(lf.call.statement).iterators) for lf in sites)
    deep = [(lf, lf.instances * body_flops(program.scop.statement(lf.call.statement).value)) for lf in sites
            if len(program.scop.statement(lf.call.statement).iterators) == depth]
    top = max(f for _, f in deep)
    return [(lf, f) for lf, f in deep if f >= HEAVY_SHARE * top] or deep[:1]


def extract(program: LoopProgram, *, threads: int | None = None) -> np.ndarray:
    """The feature vector (float64, length n_features()) of a concrete loop program."""
    scop = program.scop
    params = program.params
    shapes = {a.name: array_shape(scop, a.name, params) for a in scop.arrays}
    sizes = {a.name: a.dtype.itemsize for a in scop.arrays}
    sites = list(leaves(program))
    if not sites:
        return np.zeros(n_features())
    main = dominant_site(program, sites)
    per_site = {id(main): _level_features(program, main, shapes, sizes)}
    levels = per_site[id(main)][0]
    rows, weights = [], []
    for leaf, flops in heavy_sites(program, sites):
        if id(leaf) not in per_site:
            per_site[id(leaf)] = _level_features(program, leaf, shapes, sizes)
        ws_bytes = per_site[id(leaf)][1]
        rows.append(_totals(program, sites, leaf, shapes, sizes, threads or os.cpu_count() or 1, ws_bytes)
                    + register_block(program, leaf, shapes) + loop_overhead(program, leaf))
        weights.append(max(flops, 1e-9))
    totals = np.asarray(rows).T @ (np.asarray(weights) / sum(weights))
    levels = levels.ravel()
    vec = np.concatenate([levels, totals])
    return np.log2(np.abs(vec) + 1.0) * np.sign(vec)


def count_flops(scop: Scop, params: Mapping[str, int]) -> float:
    """Floating-point operations of the untransformed kernel (instances x body operations)."""
    import islpy as isl

    from polyopt.codegen.loop_ast import build_loop_ast

    sched = isl.Schedule.from_domain(scop.domain).insert_partial_schedule(
        isl.MultiUnionPwAff.from_union_map(scop.schedule_map))
    program = build_loop_ast(scop, sched, dict(params))
    return sum(leaf.instances * body_flops(scop.statement(leaf.call.statement).value) for leaf in leaves(program))
