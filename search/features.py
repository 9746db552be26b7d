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
memory-traffic estimate per cache level (host L1/L2/L3 sizes): for the outermost loop whose two
consecutive iterations' working sets fit in the cache, its first iteration's working set plus what each
further iteration adds, once per iteration of the loops around it (`traffic`), as bytes per flop; the
register tile around the dominant statement (flops per operand load, accumulators, register pressure);
loop overhead; and an analytic cycle estimate built from those (ANALYTIC_COST). Those numbers mean the
same on every kernel, which is what lets a model trained on some kernels rank another's candidates.
Every value goes through log2(x + 1).

A tuning record stores record_feature_names(): these loop-nest features, then the machine-code features of
asm_features (what LLVM made of the nest; they need a compile). FEATURE_VERSION numbers that layout and
changes whenever a layout or a meaning changes in either part (v8: the machine-code part was added; v9: the
innermost loop no longer counts as vectorizable when a guard inside it tests its iterator, or when another
statement in it writes what this one reads a few iterations later, or the other way round; v10: trip and
instance counts are sampled down the loop nest (loopinfo), no longer evaluated once at mid-range, which
counted a piece of a tiled triangular nest as if it ran over the whole nest; v11: an inner loop carrying a
recurrence through the previous iteration's store is charged its latency over the recurrences in flight;
v12: loops that LLVM unrolls completely cost no loop overhead, and a guard around any statement of the
innermost loop, not only the dominant one, keeps that loop from vectorizing; v13: a recurrence carried by
a short loop that LLVM unrolls away is charged too when the loop around it continues the chain, and a
short vector loop with a guard or a loop inside it does not vectorize; v14: the traffic into each cache
level is at most one cache line per access; v15: a short loop unrolls away only while the unrolled copies
stay within LLVM's full-unroll threshold, so the 8-wide loop around an unrolled 4 x 2 register tile is
the one the vectorizer takes).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np

from polyopt import expr as X
from polyopt.codegen.loop_ast import LoopProgram
from polyopt.model import Scop
from polyopt.search.inputs import array_shape
from polyopt.search.inner_loop import (FULL_UNROLL_EXTENT, VECTOR_LANES, carried_between_statements,
                                       carried_read, chain_latency, chains_in_flight, effective_inner,
                                       fully_unrolled, guarded_inside, short_vector_loop_blocked,
                                       unrolled_recurrence)
from polyopt.search.loopinfo import Leaf, body_flops, dim_coefficients, leaves

FEATURE_VERSION = 15
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

# Analytic estimate (cycles per flop of the dominant statement; ANALYTIC_COST, the cost model's prior):
# compute at VECTOR_LANES flops per cycle when the effective innermost loop (after LLVM's full unrolling
# of short loops: inner_loop.effective_inner) can vectorize (unit or zero strides, no short flow dependence it
# carries, within the statement or between two statements fused in it, no guard inside it that tests
# its iterator, no guard or loop inside it when it is a short vector loop LLVM unrolls away, and no
# reduction unless a vectorize:reassoc mark around it allows reassociation), else 1, and no faster than
# the recurrence's chain_latency per iteration over the accumulators when it is a scalar reduction or a
# short flow dependence (also one carried by an unrolled strip, unrolled_recurrence); memory:
# loads from L1 (every access, vectorized or not), and the traffic into L1, L2 and L3 (the sliding-window
# model of `traffic`), each over the bandwidth of the level it comes from (bytes per cycle); the larger
# of the two (a roofline), plus loop overhead (OVERHEAD_CYCLES per loop entry, loop-back branch and
# bound operation). Only ratios matter to the ranking model. v7 (2026-11-27) added the reassoc scope,
# the flow dependence, the window traffic model, the reduction chain and the overhead: the estimate's
# pairwise order agrees with measurements on 0.668 of the pairs of the seven benchmark kernels' random
# samples (ties half; v6: 0.546).
SCALAR_LOAD_BYTES_PER_CYCLE = 16.0             # two 8-byte loads a cycle from L1
BYTES_PER_CYCLE = (32.0, 16.0, 4.0)            # L2 -> L1, L3 -> L2, DRAM -> L3
ANALYTIC_COST = "total.est_cycles_per_flop"     # the estimate the cost model uses as its prior
OVERHEAD_CYCLES = (10.0, 1.0, 1.0)             # a loop entry (exit mispredict), a loop-back branch, a bound op


@lru_cache(maxsize=1)
def feature_names() -> tuple[str, ...]:
    names: list[str] = []
    for lv in range(MAX_DEPTH):
        names += [f"L{lv}.{f}" for f in _LOOP_FIELDS]
        names += [f"L{lv}.A{a}.{f}" for a in range(MAX_ACCESSES) for f in _ACC_FIELDS]
    names += [f"total.{t}" for t in _TOTALS]
    return tuple(names)


def n_features() -> int:
    """Length of the loop-nest part (extract's vector)."""
    return len(feature_names())


def record_feature_names() -> tuple[str, ...]:
    """What a tuning record's feature vector holds: the loop-nest features, then the machine code's."""
    from polyopt.search.asm_features import ASM_FEATURE_NAMES

    return feature_names() + ASM_FEATURE_NAMES


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


def _ranges(acc: X.Access, leaf: Leaf, env: dict[str, float], inner_from: int) -> list[float]:
    """Per subscript, how many values it takes while loops inner_from.. of the leaf run (affine box,
    not clamped to the array's extent)."""
    ranges = [1.0] * len(acc.indices)
    for lv in leaf.loops[inner_from:]:
        span = max(lv.extent - 1.0, 0.0) * lv.loop.step
        for d, c in enumerate(dim_coefficients(acc, lv.loop.iterator, env)):
            ranges[d] += abs(c) * span
    return ranges


def _footprint(acc: X.Access, shape: tuple[int, ...], itemsize: int, leaf: Leaf, env: dict[str, float],
               inner_from: int) -> tuple[float, float]:
    """(elements, cache lines) touched by loops inner_from.. of the leaf: a box over the subscripts."""
    if not acc.indices:
        return 1.0, 1.0
    ranges = [min(r, float(shape[d])) if d < len(shape) else r
              for d, r in enumerate(_ranges(acc, leaf, env, inner_from))]
    elems = float(np.prod(ranges))
    last = ranges[-1]
    lines = math.ceil(last * itemsize / CACHE_LINE) * float(np.prod(ranges[:-1])) if len(ranges) > 1 else \
        math.ceil(last * itemsize / CACHE_LINE)
    return elems, max(lines, 1.0)


def _step_lines(acc: X.Access, shape: tuple[int, ...], itemsize: int, leaf: Leaf, env: dict[str, float],
                k: int) -> float:
    """Cache lines that one more iteration of loop k adds to the access's footprint (loops inside k
    running fully): the lines a cache holding two consecutive iterations loads per step. Lines are
    counted as expected over alignments (a run of r elements touches 1 + (r-1)*itemsize/64 lines), so
    A[j][k] stepping k adds an eighth of a line per row of doubles, not zero or one."""
    if not acc.indices:
        return 0.0
    ranges = _ranges(acc, leaf, env, k + 1)
    step = [abs(c) * leaf.loops[k].loop.step for c in dim_coefficients(acc, leaf.loops[k].loop.iterator, env)]

    def lines(r: list[float]) -> float:
        r = [min(x, float(shape[d])) if d < len(shape) else x for d, x in enumerate(r)]
        return float(np.prod(r[:-1])) * (1.0 + (r[-1] - 1.0) * itemsize / CACHE_LINE)
    return max(lines([r + s for r, s in zip(ranges, step)]) - lines(ranges), 0.0)


def _level_features(program: LoopProgram, leaf: Leaf, shapes: dict[str, tuple[int, ...]],
                    sizes: dict[str, int]) -> tuple[np.ndarray, tuple[list[float], list[float]]]:
    """Rows per loop level, innermost loop first; and (ws_bytes, step_bytes): the working set (bytes) of
    one iteration of each loop, outermost first, with the whole nest's working set first (index 0 =
    whole nest), and the bytes one more iteration of each loop adds to it (_step_lines)."""
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
    step_bytes: list[float] = []
    for k, lv in enumerate(leaf.loops):
        ws_lines = sum(_footprint(a, shapes.get(a.array, ()), sizes.get(a.array, 8), leaf, env, k + 1)[1]
                       for a in distinct)
        ws_bytes.append(ws_lines * CACHE_LINE)
        step_bytes.append(CACHE_LINE * sum(_step_lines(a, shapes.get(a.array, ()), sizes.get(a.array, 8), leaf,
                                                       env, k) for a in distinct))
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
    return out, (ws_bytes, step_bytes)


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
    """Host data cache sizes in bytes (L1d and L2 per core, L3), read from Linux's sysfs, with Zen 5's
    sizes as defaults where it does not say (Python's os.sysconf knows no cache names)."""
    sizes = dict(zip((1, 2, 3), (48 << 10, 1 << 20, 32 << 20)))
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            text = (index / "size").read_text().strip().upper()
        except (OSError, ValueError):
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if level in sizes and kind in ("Data", "Unified") and digits.isdigit() and int(digits) > 0:
            sizes[level] = int(digits) * scale
    return float(sizes[1]), float(sizes[2]), float(sizes[3])


def traffic(leaf: Leaf, ws_bytes: list[float], step_bytes: list[float], cache: float) -> float:
    """Bytes moved into a cache of `cache` bytes (the whole nest's working set when it fits): for the
    outermost loop k that can keep two consecutive iterations' working sets, its first iteration's
    working set plus what each further iteration adds (step_bytes[k]), once per iteration of the loops
    around k. Data shared by neighbouring iterations (a row's cache line stepped along by k) is loaded
    once, not once per iteration."""
    if ws_bytes[0] <= cache:
        return ws_bytes[0]
    iterations = 1.0
    for k, lv in enumerate(leaf.loops):
        extent = max(lv.extent, 1.0)
        if ws_bytes[k + 1] + step_bytes[k] <= cache:
            return iterations * (ws_bytes[k + 1] + (extent - 1.0) * step_bytes[k])
        iterations *= extent
    return iterations * ws_bytes[-1]


def _totals(program: LoopProgram, sites: list[Leaf], main: Leaf, shapes: dict[str, tuple[int, ...]],
            sizes: dict[str, int], threads: int, ws_bytes: list[float], step_bytes: list[float],
            accumulators: float, overhead: list[float]) -> list[float]:
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
    accesses = _accesses(program, main)
    vstride = max((_stride(a, shapes.get(a.array, ()), vec[0].loop.iterator, env) for a in accesses),
                  default=0.0) if vec else 0.0
    last = len(main.loops) - 1
    inner_lines = 0.0
    for acc in accesses:
        inner_lines += _footprint(acc, shapes.get(acc.array, ()), sizes.get(acc.array, 8), main, env,
                                  max(last, 0))[1]
    unroll = float(np.prod([lv.loop.unroll for lv in main.loops]))
    main_flops = max(main.instances * body_flops(program.scop.statement(main.call.statement).value), 1.0)
    per_flop = [traffic(main, ws_bytes, step_bytes, c) / main_flops for c in cache_sizes()]
    # Each access brings at most one cache line into each level: the sliding-window model can exceed that
    # where the box footprints of skewed subscripts overlap little (a skewed jacobi-2d tile: 350 bytes per
    # flop into L2, 109 into L1, against at most 77; it ran at about 1 cycle per flop, estimated 22).
    cap = main.instances * len(accesses) * CACHE_LINE / main_flops
    per_flop = [min(t, cap) for t in per_flop]
    inner_stride, reduction, vectorizable, inner_extent = 0.0, 0.0, 0.0, 0.0
    carried: X.Access | None = None
    k = 0
    if main.loops:
        k = effective_inner(program, main)
        lv = main.loops[k]
        strides = [_stride(a, shapes.get(a.array, ()), lv.loop.iterator, env) * lv.loop.step
                   for a in accesses]
        inner_stride = max(strides, default=0.0)
        inner_extent = lv.extent
        reduction = float(bool(strides) and strides[0] == 0.0 and lv.extent > 1)
        reassoc = any("vectorize:reassoc" in outer.loop.annotations for outer in main.loops)
        carried = carried_read(program, main, k)
        chains = chains_in_flight(main, k)
        if carried is None:
            carried, chains = unrolled_recurrence(program, main, k)
        vectorizable = float(inner_stride <= 1.0 and (not reduction or reassoc) and lv.extent >= 4
                             and carried is None and not guarded_inside(main, k, sites)
                             and not carried_between_statements(program, main, k, sites)
                             and not short_vector_loop_blocked(main, k, sites))
    compute = 1.0 / (VECTOR_LANES if vectorizable else 1.0)
    if reduction and not vectorizable:      # each iteration waits for the previous one's result
        target, value = program.instance(main.call)
        body = max(body_flops(value), 1)
        compute = max(compute, chain_latency(value, target) / (body * max(accumulators, 1.0)))
    if carried is not None:     # a recurrence through the previous iteration's store (seidel's A[i][j-1])
        _, value = program.instance(main.call)
        compute = max(compute, chain_latency(value, carried) / (max(body_flops(value), 1) * chains))
    loads = main.instances * sum(sizes.get(a.array, 8) for a in accesses) / main_flops
    load_cycles = loads / (SCALAR_LOAD_BYTES_PER_CYCLE * (VECTOR_LANES if vectorizable else 1.0))
    memory = max([load_cycles] + [t / b for t, b in zip(per_flop, BYTES_PER_CYCLE)])
    return [flops, nbytes, flops / max(nbytes, 1.0), len(loops_seen), len(sites), len(main.loops), work,
            inner_lines, par_ext, vec[0].extent if vec else 0.0, vstride, unroll,
            *(1000.0 * t for t in per_flop), inner_stride, float(inner_stride <= 1.0),
            inner_extent, reduction, vectorizable,
            1000.0 * compute, 1000.0 * memory,
            1000.0 * max(compute, memory) + float(np.dot(OVERHEAD_CYCLES, overhead))]


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
    evaluated on entry. Short inner loops of skewed or tiled nests show up here, not in the traffic. A loop
    with a constant trip count that LLVM unrolls completely (inner_loop.fully_unrolled) costs nothing:
    charging its entries (v11) made register-tiled gemm candidates look 10x slower than they ran; a short
    loop whose bounds depend on outer iterators (a partial tile) stays a loop."""
    flops = max(leaf.instances * body_flops(program.scop.statement(leaf.call.statement).value), 1.0)
    entries = branches = bounds = 0.0
    outer = 1.0
    unrolled = fully_unrolled(program, leaf, varying_bounds=False)
    for lv, unrolled_away in zip(leaf.loops, unrolled):
        loop = lv.loop
        if not loop.degenerate and not unrolled_away:
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
        ws_bytes, step_bytes = per_site[id(leaf)][1]
        block, overhead = register_block(program, leaf, shapes), loop_overhead(program, leaf)
        rows.append(_totals(program, sites, leaf, shapes, sizes, threads or os.cpu_count() or 1, ws_bytes,
                            step_bytes, block[1], overhead) + block + overhead)
        weights.append(max(flops, 1e-9))
    totals = np.asarray(rows).T @ (np.asarray(weights) / sum(weights))
    levels = levels.ravel()
    vec = np.concatenate([levels, totals])
    return np.log2(np.abs(vec) + 1.0) * np.sign(vec)


COUNT_OPERATIONS = 10_000_000   # isl work allowed for counting a domain exactly (lu at n=700: 0.5 s)


def count_flops(scop: Scop, params: Mapping[str, int]) -> float:
    """Floating-point operations of the kernel (instances x body operations): instance counts exact from
    isl where counting takes at most COUNT_OPERATIONS, else sampled over the untransformed loops."""
    import islpy as isl

    from polyopt.codegen.loop_ast import build_loop_ast, isl_operation_cap

    domain = scop.domain.intersect_params(scop.parameter_point(params)) if scop.params else scop.domain
    sets: list[isl.Set] = []
    domain.foreach_set(sets.append)
    try:
        with isl_operation_cap(scop.domain.get_ctx(), COUNT_OPERATIONS):
            counts: dict[str, int] | None = {st.get_tuple_name(): st.count_val().to_python() for st in sets}
    except (isl.Error, TypeError, ValueError):
        counts = None       # too many points to count in the budget (or an unbounded set): sample
    if counts is not None:
        return float(sum(int(n) * body_flops(scop.statement(name).value) for name, n in counts.items()))
    sched = isl.Schedule.from_domain(scop.domain).insert_partial_schedule(
        isl.MultiUnionPwAff.from_union_map(scop.schedule_map))
    program = build_loop_ast(scop, sched, dict(params))
    return sum(leaf.instances * body_flops(scop.statement(leaf.call.statement).value) for leaf in leaves(program))
