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
level is at most one cache line per access).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from typing import Mapping

import numpy as np

from polyopt import expr as X
from polyopt.codegen.loop_ast import For, LoopProgram
from polyopt.model import Scop
from polyopt.search.inputs import array_shape
from polyopt.search.loopinfo import Leaf, LoopLevel, body_flops, dim_coefficients, eval_expr, leaves

FEATURE_VERSION = 14
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
# of short loops: effective_inner) can vectorize (unit or zero strides, no short flow dependence it
# carries, within the statement or between two statements fused in it, no guard inside it that tests
# its iterator, no guard or loop inside it when it is a short vector loop LLVM unrolls away, and no
# reduction unless a vectorize:reassoc mark around it allows reassociation), else 1, and no faster than
# the recurrence's chain_latency per iteration over the accumulators when it is a scalar reduction or a
# short flow dependence (also one carried by an unrolled strip, _unrolled_recurrence); memory:
# loads from L1 (every access, vectorized or not), and the traffic into L1, L2 and L3 (the sliding-window
# model of `traffic`), each over the bandwidth of the level it comes from (bytes per cycle); the larger
# of the two (a roofline), plus loop overhead (OVERHEAD_CYCLES per loop entry, loop-back branch and
# bound operation). Only ratios matter to the ranking model. v7 (2026-11-27) added the reassoc scope,
# the flow dependence, the window traffic model, the reduction chain and the overhead: the estimate's
# pairwise order agrees with measurements on 0.668 of the pairs of the seven benchmark kernels' random
# samples (ties half; v6: 0.546).
VECTOR_LANES = 8.0
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
        k = effective_inner(main)
        lv = main.loops[k]
        strides = [_stride(a, shapes.get(a.array, ()), lv.loop.iterator, env) * lv.loop.step
                   for a in accesses]
        inner_stride = max(strides, default=0.0)
        inner_extent = lv.extent
        reduction = float(bool(strides) and strides[0] == 0.0 and lv.extent > 1)
        reassoc = any("vectorize:reassoc" in outer.loop.annotations for outer in main.loops)
        carried = carried_read(program, main, k)
        chains = _chains(main, k)
        if carried is None:
            carried, chains = _unrolled_recurrence(program, main, k)
        vectorizable = float(inner_stride <= 1.0 and (not reduction or reassoc) and lv.extent >= 4
                             and carried is None and not guarded_inside(main, k, sites)
                             and not carried_between_statements(program, main, k, sites)
                             and not _short_vector_loop_blocked(main, k, sites))
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


def carried_read(program: LoopProgram, leaf: Leaf, k: int) -> X.Access | None:
    """The read through which loop k of the leaf carries a short flow dependence of the statement on
    itself: a read of the written array at the element that an earlier iteration of loop k (1 to
    VECTOR_LANES-1 back, the other loops fixed) wrote. Such a loop (seidel's j: A[i][j] reads A[i][j-1])
    neither vectorizes nor overlaps its iterations. Only uniform pairs count (same iterator
    coefficients; a constant offset), as in stencils. None when there is no such read."""
    target, value = program.instance(leaf.call)
    return _short_carried_read(target, value, leaf.loops, k, dict(leaf.env))


def _short_carried_read(target: X.Access, value: X.Expr, loops: tuple[LoopLevel, ...], k: int,
                        env: Mapping[str, float]) -> X.Access | None:
    """A read in `value` of the element that `target` was written at 1 to VECTOR_LANES-1 iterations of
    loops[k] earlier (uniform pairs only; see carried_read)."""
    coefs = [dim_coefficients(target, lv.loop.iterator, env) for lv in loops]
    step = [c * loops[k].loop.step for c in coefs[k]]
    written = [eval_expr(i, env) for i in target.indices]
    for read in X.accesses(value):
        if read.array != target.array or len(read.indices) != len(target.indices):
            continue
        if any(dim_coefficients(read, lv.loop.iterator, env) != c for lv, c in zip(loops, coefs)):
            continue
        offset = [eval_expr(i, env) - w for i, w in zip(read.indices, written)]
        ratios = {o / c for o, c in zip(offset, step) if c}
        if any(o and not c for o, c in zip(offset, step)) or len(ratios) != 1:
            continue
        back = ratios.pop()
        if back == int(back) and -VECTOR_LANES < back < 0:
            return read
    return None


def varying_guard(leaf: Leaf, k: int) -> bool:
    """Whether an `if` inside loop k of the leaf tests the iterator of loop k or of a loop inside it.
    LLVM hoists an invariant test out of the loop (unswitching), not this one, and the loop vectorizes
    badly if at all: heat-3d's skewed band, with such guards around its two statements, ran 3x slower
    than with the guards separated out of the loops (isl's `separate`)."""
    inner = {lv.loop.iterator for lv in leaf.loops[k:]}
    return any(depth > k and bool(names & inner) for depth, names in leaf.guards)


def sites_in_loop(leaf: Leaf, k: int, sites: list[Leaf]) -> list[Leaf]:
    """The statement sites that run inside loop k of the leaf (the leaf itself and fused neighbours)."""
    loop = leaf.loops[k].loop
    return [lf for lf in sites if len(lf.loops) > k and lf.loops[k].loop is loop]


def _short_vector_loop_blocked(leaf: Leaf, k: int, sites: list[Leaf]) -> bool:
    """Whether loop k is a vector-marked loop short enough for LLVM to unroll completely (the full
    unroller runs before the loop vectorizer), with a guard (any: LLVM does not unswitch it first) or a
    loop inside it. The unrolled copies are then left to the SLP vectorizer, which packs straight-line
    code only. Measured on gemm 800^3: a 4-wide j loop around `if (k == 0) C *= beta` and the update ran in
    283 ms (no vector code; the vectorizer took the strided loop outside instead); an 8-wide j loop around
    an unrolled k loop, 143 ms; the same tiles with the vector loop innermost and unguarded, 12-40 ms."""
    lv = leaf.loops[k]
    if not (lv.loop.is_vector and lv.extent <= FULL_UNROLL_EXTENT):
        return False
    guarded = any(depth > k for lf in sites_in_loop(leaf, k, sites) for depth, _ in lf.guards)
    return guarded or k < len(leaf.loops) - 1


def guarded_inside(leaf: Leaf, k: int, sites: list[Leaf]) -> bool:
    """varying_guard for any statement site that runs in loop k of the leaf, its own or a fused
    neighbour's. LLVM if-converts the whole body: gemm's `C[i][j] *= beta` under `if (k == 0)` inside the
    unrolled k copies of the update made every access of the vector loop a masked load, store or gather
    (218 ms at 800^3, where other vectorized gemm candidates ran in 12-60 ms)."""
    return any(varying_guard(lf, k) for lf in sites_in_loop(leaf, k, sites))


def carried_between_statements(program: LoopProgram, leaf: Leaf, k: int, sites: list[Leaf]) -> bool:
    """Whether loop k of the leaf also runs another statement, and one of the two reads what the other
    wrote 1 to VECTOR_LANES-1 iterations of loop k earlier (the other loops fixed). LLVM does not vectorize
    such a fused loop (a dependence that prevents store-to-load forwarding): jacobi-2d's two sweeps, skewed
    and fused into one loop, ran 3x slower than with that loop distributed over them (Fission)."""
    for other in (lf for lf in sites_in_loop(leaf, k, sites) if lf.call != leaf.call):
        env = {**dict(other.env), **dict(leaf.env)}
        for writer, reader in ((leaf, other), (other, leaf)):
            target, _ = program.instance(writer.call)
            _, value = program.instance(reader.call)
            if _short_carried_read(target, value, leaf.loops[:k + 1], k, env) is not None:
                return True
    return False


def carries_flow_dependence(program: LoopProgram, leaf: Leaf, k: int) -> bool:
    """Whether loop k carries a short flow dependence of the statement on itself (carried_read)."""
    return carried_read(program, leaf, k) is not None


OP_LATENCY = {"+": 4.0, "-": 4.0, "*": 4.0, "/": 13.0}   # cycles (Zen-like, double); a math call: 20


def chain_latency(value: X.Expr, read: X.Access) -> float:
    """Cycles from a read to the statement's result through the operations above it in the body: the
    recurrence an iteration waits for when the read is what the previous iteration wrote (a reduction's
    C in C + a*b: one add, 4 cycles; seidel's A[i][j-1]: six adds and the division by 9, 37 cycles).
    Reductions divide it by their accumulators; seidel-like carried reads by the recurrences in flight
    (_chains): charged undivided, they made the ranking worse (0.607 -> 0.555 on seidel-2d, v7), because
    unrolled time steps run independent recurrences side by side."""
    def walk(e: X.Expr) -> float | None:
        if e == read:
            return 0.0
        for child in X.children(e):
            if isinstance(e, X.Access):
                continue
            below = walk(child)
            if below is not None:
                if isinstance(e, X.Binary):
                    return below + OP_LATENCY.get(e.op, 4.0)
                return below + (20.0 if isinstance(e, X.Call) else 0.0)
        return None
    return walk(value) or OP_LATENCY["+"]


FULL_UNROLL_EXTENT = 8      # LLVM's O3 pipeline fully unrolls constant-trip loops this short
OOO_ITERATIONS = 16         # iterations of a short loop the out-of-order window holds (Zen 5: 448 micro-ops;
#                             a seidel iteration is about 25)


def _unrolled_recurrence(program: LoopProgram, leaf: Leaf, k: int) -> tuple[X.Access | None, float]:
    """The read and the number of independent chains of a short flow dependence carried by a loop j inside
    loop k that LLVM unrolls away, when loop k moves the written element the same way as loop j (seidel's
    j strip of 8 under a loop stepping 8 along j): unrolling copies the chain, it does not break it, and
    the chain goes on across loop k's iterations. The other loops inside k each run their own chain.
    Without this, that seidel-2d candidate was estimated the fastest of 96 and ran 3.2x slower than the
    best (58 ms). When loop k moves the element another way, the strips are independent and out-of-order
    execution overlaps them (a strip of 8 along j under a time loop ran in 22 ms): (None, 1)."""
    target, _ = program.instance(leaf.call)
    env = dict(leaf.env)
    for j in range(len(leaf.loops) - 1, k, -1):
        read = carried_read(program, leaf, j)
        if read is None:
            continue
        inner = float(np.prod([max(lv.extent, 1.0) for i, lv in enumerate(leaf.loops) if i > k and i != j]))
        along_j = dim_coefficients(target, leaf.loops[j].loop.iterator, env)
        along_k = dim_coefficients(target, leaf.loops[k].loop.iterator, env)
        ratios = {b / a for a, b in zip(along_j, along_k) if a}
        same_way = len(ratios) == 1 and ratios.pop() > 0 and all(b == 0 for a, b in zip(along_j, along_k) if not a)
        if same_way:
            return read, inner
    return None, 1.0


def _chains(leaf: Leaf, k: int) -> float:
    """Independent recurrences in flight when loop k carries one: one per iteration of the loops inside k
    that LLVM unrolls away (a skewed seidel tile's time steps each run their own), times the instances of
    loop k the out-of-order window overlaps when loop k is short."""
    inner = float(np.prod([max(lv.extent, 1.0) for lv in leaf.loops[k + 1:]]))
    return inner * max(1.0, OOO_ITERATIONS / max(leaf.loops[k].extent, 1.0))


def effective_inner(leaf: Leaf) -> int:
    """Index in leaf.loops of the loop that LLVM's loop vectorizer sees as innermost: inner loops that run
    at most FULL_UNROLL_EXTENT times (or are unrolled by their full extent) are unrolled away first. A
    vector-marked loop whose inner loops all unroll away is that loop even when it is short. Unlike
    loop_overhead (fixed_trip), this also skips short loops whose bounds vary: keeping those as the
    innermost loop made the held-out ranking worse (lu 0.626 -> 0.578 when tried with v12)."""
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


def fixed_trip(loop: For) -> bool:
    """Whether the loop's bounds are constants: no enclosing loop's iterator, and no size parameter (a
    program built for given sizes has them substituted; a generic one keeps them, and LLVM cannot unroll
    a loop whose trip count is only known at run time)."""
    return not (X.free_vars(loop.init) | (X.free_vars(loop.cond) - {loop.iterator}))


def loop_overhead(program: LoopProgram, leaf: Leaf) -> list[float]:
    """Per flop of the site: loop entries, loop-back branches (loops LLVM does not unroll away, divided
    by their unroll factor and, when vectorized, VECTOR_LANES), and min/max/div operations of loop bounds
    evaluated on entry. Short inner loops of skewed or tiled nests show up here, not in the traffic. A loop
    with a constant trip count that LLVM unrolls completely (at most FULL_UNROLL_EXTENT, or unrolled by its
    extent) costs nothing: charging its entries (v11) made register-tiled gemm candidates look 10x slower
    than they ran; a short loop whose bounds depend on outer iterators (a partial tile) stays a loop."""
    flops = max(leaf.instances * body_flops(program.scop.statement(leaf.call.statement).value), 1.0)
    entries = branches = bounds = 0.0
    outer = 1.0
    for lv in leaf.loops:
        loop = lv.loop
        unrolled_away = fixed_trip(loop) and (lv.extent <= FULL_UNROLL_EXTENT or loop.unroll >= lv.extent)
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
