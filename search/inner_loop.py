"""What LLVM's O3 pipeline makes of the innermost loops of a statement site, as the analytic estimate
(features.py) needs it: which loop its loop vectorizer sees as innermost once short loops are unrolled
away (effective_inner), whether that loop vectorizes (guards, short flow dependences within a statement
or between fused statements, short vector loops left to the SLP vectorizer), and the recurrences that
keep iterations from overlapping (their latency, and how many run side by side)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from polyopt import expr as X
from polyopt.codegen.loop_ast import For, LoopProgram
from polyopt.search.loopinfo import Leaf, LoopLevel, dim_coefficients, eval_expr

VECTOR_LANES = 8.0          # double elements of a vector (AVX-512)


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


def short_vector_loop_blocked(leaf: Leaf, k: int, sites: list[Leaf]) -> bool:
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
    (chains_in_flight): charged undivided, they made the ranking worse (0.607 -> 0.555 on seidel-2d, v7), because
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
                if isinstance(e, X.Call):
                    return below + (4.0 if e.func in X.NUMPY_FUNCTIONS else 20.0)   # compare and select
                return below
        return None
    return walk(value) or OP_LATENCY["+"]


FULL_UNROLL_EXTENT = 8      # LLVM's O3 pipeline fully unrolls constant-trip loops this short
FULL_UNROLL_SIZE = 300      # ... when the unrolled body stays under this many instructions (-unroll-threshold at O3)
OOO_ITERATIONS = 16         # iterations of a short loop the out-of-order window holds (Zen 5: 448 micro-ops;
#                             a seidel iteration is about 25)


def unrolled_recurrence(program: LoopProgram, leaf: Leaf, k: int) -> tuple[X.Access | None, float]:
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


def chains_in_flight(leaf: Leaf, k: int) -> float:
    """Independent recurrences in flight when loop k carries one: one per iteration of the loops inside k
    that LLVM unrolls away (a skewed seidel tile's time steps each run their own), times the instances of
    loop k the out-of-order window overlaps when loop k is short."""
    inner = float(np.prod([max(lv.extent, 1.0) for lv in leaf.loops[k + 1:]]))
    return inner * max(1.0, OOO_ITERATIONS / max(leaf.loops[k].extent, 1.0))


def body_size(program: LoopProgram, leaf: Leaf) -> int:
    """Operations and array accesses of the site's statement, its store included (index arithmetic not
    counted): a stand-in for its LLVM instruction count."""
    def size(e: X.Expr) -> int:
        if isinstance(e, (X.Var, X.Const)):
            return 0
        if isinstance(e, X.Access):
            return 1
        return 1 + sum(size(c) for c in X.children(e))
    _, value = program.instance(leaf.call)
    return 1 + size(value)


def fixed_trip(loop: For) -> bool:
    """Whether the loop's bounds are constants: no enclosing loop's iterator, and no size parameter (a
    program built for given sizes has them substituted; a generic one keeps them, and LLVM cannot unroll
    a loop whose trip count is only known at run time)."""
    return not (X.free_vars(loop.init) | (X.free_vars(loop.cond) - {loop.iterator}))


def fully_unrolled(program: LoopProgram, leaf: Leaf, *, varying_bounds: bool) -> tuple[bool, ...]:
    """Per loop of the site (outermost first), whether LLVM unrolls it completely: a loop unrolled by its
    full extent, or one of at most FULL_UNROLL_EXTENT iterations whose unrolled copies of everything inside
    stay within FULL_UNROLL_SIZE (LLVM's full-unroll threshold: an 8 x 4 x 2 register tile of gemm unrolls
    its 4 x 2 part, and the loop vectorizer takes the 8-wide loop around it). A loop that stays a loop
    counts once in the size of the loops around it. varying_bounds: whether a loop whose bounds depend on
    outer iterators (a partial tile) can count."""
    loops = leaf.loops
    out = [False] * len(loops)
    copies = float(body_size(program, leaf))
    for k in reversed(range(len(loops))):
        loop, extent = loops[k].loop, max(loops[k].extent, 1.0)
        out[k] = loop.degenerate or ((varying_bounds or fixed_trip(loop)) and (
            loop.unroll >= extent or (extent <= FULL_UNROLL_EXTENT and copies * extent <= FULL_UNROLL_SIZE)))
        if out[k]:
            copies *= extent
    return tuple(out)


def effective_inner(program: LoopProgram, leaf: Leaf) -> int:
    """Index in leaf.loops of the loop that LLVM's loop vectorizer sees as innermost: the loops inside it
    unroll away completely (fully_unrolled). A vector-marked loop whose inner loops all unroll away is that
    loop even when it is short. Unlike loop_overhead, this also skips short loops whose bounds vary:
    keeping those as the innermost loop made the held-out ranking worse (lu 0.626 -> 0.578 with v12)."""
    unrolled = fully_unrolled(program, leaf, varying_bounds=True)
    k = len(leaf.loops) - 1
    while k > 0 and not leaf.loops[k].loop.is_vector and unrolled[k]:
        k -= 1
    return max(k, 0)
