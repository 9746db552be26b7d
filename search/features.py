"""Features of a transformed loop nest (AutoTVM's "itervar" features over polyopt's loop AST).

For the dominant statement site (the one with the most instances), per loop level (outermost first,
padded to MAX_DEPTH): extent, level, annotation one-hot (serial, parallel, vector, unroll, gpu block,
gpu thread), unroll factor, top-down and bottom-up trip-count products; per array access slot (the
write first, then reads in body order; MAX_ACCESSES slots): stride of that loop in elements, footprint in
elements and in cache lines of one iteration of that loop (analytic box of the affine subscripts over
the inner loops' extents), reuse (accesses per element of footprint). Totals over all statement sites:
flops, bytes (compulsory: distinct array elements), arithmetic intensity, loops, sites, parallel work per
thread. Every value goes through log2(x + 1). FEATURE_VERSION changes whenever the layout changes.
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

FEATURE_VERSION = 1
MAX_DEPTH = 10
MAX_ACCESSES = 4
CACHE_LINE = 64
_ANNOT = ("serial", "parallel", "vector", "unroll", "gpu_block", "gpu_thread")
_LOOP_FIELDS = ("extent", "level", *(f"ann_{a}" for a in _ANNOT), "unroll_factor", "prod_outer", "prod_inner")
_ACC_FIELDS = ("stride", "footprint", "lines", "reuse")
_TOTALS = ("flops", "bytes", "intensity", "n_loops", "n_sites", "depth", "work_per_thread",
           "inner_lines", "parallel_extent", "vector_extent", "vector_stride_max", "unroll_product")


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
    reads = [a for a in X.accesses(value) if a.indices or True]
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
                    sizes: dict[str, int]) -> np.ndarray:
    width = len(_LOOP_FIELDS) + MAX_ACCESSES * len(_ACC_FIELDS)
    out = np.zeros((MAX_DEPTH, width))
    env = dict(leaf.env)
    accs = _accesses(program, leaf)[:MAX_ACCESSES]
    extents = [lv.extent for lv in leaf.loops]
    for k, lv in enumerate(leaf.loops[:MAX_DEPTH]):
        hot, unroll = _annotation(lv.loop)
        outer = float(np.prod(extents[:k + 1]))
        inner = float(np.prod(extents[k:]))
        row = [lv.extent, k, *hot, unroll, outer, inner]
        for acc in accs:
            shape = shapes.get(acc.array, ())
            coef = dim_coefficients(acc, lv.loop.iterator, env)
            stride = 0.0
            for d, c in enumerate(coef):
                stride += abs(c) * float(np.prod(shape[d + 1:])) if d < len(shape) else abs(c)
            elems, lines = _footprint(acc, shape, sizes.get(acc.array, 8), leaf, env, k + 1)
            touches = float(np.prod(extents[k + 1:])) if k + 1 < len(extents) else 1.0
            row += [stride * lv.loop.step, elems, lines, touches / max(elems, 1.0)]
        row += [0.0] * (width - len(row))
        out[k] = row
    return out


def _totals(program: LoopProgram, sites: list[Leaf], shapes: dict[str, tuple[int, ...]],
            sizes: dict[str, int], threads: int) -> list[float]:
    flops = 0.0
    loops_seen: set[int] = set()
    for leaf in sites:
        flops += leaf.instances * body_flops(program.scop.statement(leaf.call.statement).value)
        loops_seen.update(id(lv.loop) for lv in leaf.loops)
    used = {a.array for s in program.scop.statements for a in s.reads + s.writes}
    nbytes = sum(float(np.prod(shapes[a])) * sizes[a] for a in used if a in shapes)
    main = max(sites, key=lambda lf: lf.instances)
    par = [k for k, lv in enumerate(main.loops) if lv.loop.is_parallel or lv.loop.gpu_mapping]
    par_ext = main.loops[par[0]].extent if par else 1.0
    inner = float(np.prod([lv.extent for lv in main.loops[par[0] + 1:]])) if par else main.instances
    work = math.ceil(par_ext / max(1, threads)) * inner if par else main.instances
    vec = [lv for lv in main.loops if lv.loop.is_vector]
    env = dict(main.env)
    vstride = 0.0
    if vec:
        for acc in _accesses(program, main):
            coef = dim_coefficients(acc, vec[0].loop.iterator, env)
            shape = shapes.get(acc.array, ())
            vstride = max(vstride, sum(abs(c) * float(np.prod(shape[d + 1:])) for d, c in enumerate(coef)))
    last = len(main.loops) - 1
    inner_lines = 0.0
    for acc in _accesses(program, main):
        inner_lines += _footprint(acc, shapes.get(acc.array, ()), sizes.get(acc.array, 8), main, env,
                                  max(last, 0))[1]
    unroll = float(np.prod([lv.loop.unroll for lv in main.loops]))
    return [flops, nbytes, flops / max(nbytes, 1.0), len(loops_seen), len(sites), len(main.loops), work,
            inner_lines, par_ext, vec[0].extent if vec else 0.0, vstride, unroll]


def extract(program: LoopProgram, *, threads: int | None = None) -> np.ndarray:
    """The feature vector (float64, length n_features()) of a concrete loop program."""
    scop = program.scop
    params = program.params
    shapes = {a.name: array_shape(scop, a.name, params) for a in scop.arrays}
    sizes = {a.name: a.dtype.itemsize for a in scop.arrays}
    sites = list(leaves(program))
    if not sites:
        return np.zeros(n_features())
    main = max(sites, key=lambda lf: lf.instances)
    levels = _level_features(program, main, shapes, sizes).ravel()
    totals = np.asarray(_totals(program, sites, shapes, sizes, threads or os.cpu_count() or 1))
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
