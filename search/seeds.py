"""Seed points: the structured candidates a performance engineer would try first, measured in the first
model-guided round so that the model starts from a good region instead of a lucky one.

A seed of a base schedule vectorizes the innermost loop of every band over its whole extent (with
reassociation, so that a reduction can vectorize too) and unrolls it by UNROLL; the member just outside it
gets a small cache tile (TILE_MIDDLE rows of the vectorized arrays stay in L1) and the others TILE_OUTER;
the outer band is parallel when more than one thread runs. Member permutations are drawn from each band's
legal ones. A seed is kept only when the features say that the loop LLVM vectorizes has unit (or zero)
strides and can vectorize; the kept ones are ordered by the features' analytic cycles per flop, at most
`per_base` per base, distinct candidates only. Every seed is a point of the space (legal like any other).

Measured on gemm 800^3 (1 thread, Zen5): tile (32, 8, whole) seeds ran in 12-14 ms against 20 ms for the
`polly` baseline, while 64^3 tiles with the same vector loop ran in 190 ms. syrk has no permutation that
gives a unit-stride vector loop (A[j][k] under a j loop); there a second family helps, the register block
(_block_values: 8x8x8 register tiles, 15 ms against 27 ms for `polly`), which is slow on gemm (57-400 ms).
Each base gets one register-block seed, after its best vector-strip seed.

Skewed stencils need the fission: the fused inner loop of `pluto`'s jacobi-2d reads, in its second
statement, what the first stored one iteration earlier, and LLVM will not vectorize a loop whose store
cannot forward to that load (ForwardButPreventsForwarding): 640-690 ms at tsteps=200, n=800, against
217-235 ms for the same time tiles with the innermost loop distributed (Cascade Lake, 1 thread; the best
original schedule measured 228-261 ms in the same runs). The vector-strip seeds of such a base were never
vectorizable, so they were dropped, and 300 trials visited the time-tiled base once: a base whose band
has a fission knob gets a third family, the time-tile seed (_stencil_values).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence

import numpy as np
from polyopt.search.features import feature_names
from polyopt.search.space import Knob, Point, SearchSpace

TILE_OUTER = 32        # cache tile of the members outside the two innermost
TILE_MIDDLE = 8        # cache tile of the member just outside the vector loop
UNROLL = 4
DRAWS_PER_BASE = 24
BLOCK_REG = 8          # register block of the second family: BLOCK_REG^n points per micro-kernel
BLOCK_TILE = 64
STENCIL_TIME = 16      # time steps per tile of the time-tile seed
STENCIL_MIDDLE = 32    # points per tile of its members between time and the innermost

Featurize = Callable[[Point], "np.ndarray | None"]


def _closest(choices: Sequence[Hashable], target: int) -> Hashable:
    sized = [c for c in choices if isinstance(c, int) and c > 1]
    return min(sized, key=lambda c: (abs(math.log2(c / target)), -c)) if sized else choices[0]


def _either(knob: Knob, value: Hashable) -> Hashable:
    """value if the knob offers it, else the knob's first (neutral) choice."""
    return value if value in knob.choices else knob.choices[0]


def _fill(space: SearchSpace, b: int, threads: int, family: Mapping[str, Callable[[Knob], Hashable]]) -> list[Hashable]:
    """Knob values of base b: family[kind](knob) for the kinds a family sets (perm, tile, reg, vec, unroll),
    and for every family reassociation on, the outer member parallel when threads > 1, the rest off."""
    out: list[Hashable] = []
    for knob in space.bases[b].knobs:
        name = knob.name.partition(".")[2]
        kind = next((k for k in family if name.startswith(k)), None)
        if kind is not None:
            out.append(family[kind](knob))
        elif name == "reassoc":
            out.append(True)
        elif name == "parallel":
            out.append(0 if threads > 1 and 0 in knob.choices else -1)
        else:                                       # separate, pack.*: off
            out.append(knob.choices[0])
    return out


def _values(space: SearchSpace, b: int, rng: np.random.Generator, threads: int) -> Point:
    """A vector-strip seed of base b with a random legal-looking permutation (see the module docstring)."""
    knobs = space.bases[b].knobs
    out = _fill(space, b, threads, {
        "perm": lambda k: k.choices[int(rng.integers(len(k.choices)))],
        "tile": lambda k: _closest(k.choices, TILE_OUTER),      # the two innermost members' are set below
        "reg": lambda k: 1,
        "vec": lambda k: "inner",
        "unroll": lambda k: _either(k, UNROLL)})
    by_name = {k.name: j for j, k in enumerate(knobs)}
    for j, knob in enumerate(knobs):
        site, _, name = knob.name.partition(".")
        perm = out[j]
        if name != "perm" or not perm:
            continue
        inner = by_name.get(f"{site}.tile{perm[-1]}")             # type: ignore[index]
        if inner is not None:
            out[inner] = 1                                         # the vector loop runs the whole extent
        middle = by_name.get(f"{site}.tile{perm[-2]}") if len(perm) > 1 else None  # type: ignore[index,arg-type]
        if middle is not None:
            out[middle] = _closest(knobs[middle].choices, TILE_MIDDLE)
    return b, tuple(out)


def _block_values(space: SearchSpace, b: int, threads: int) -> Point:
    """The register-block seed of base b: its own member order, BLOCK_TILE cache tiles, a BLOCK_REG
    register tile on every member, the second innermost point loop vectorized, the innermost unrolled by
    2 (syrk 600^2: 15 ms against 27 ms for `polly`; the vector-strip seeds do not apply there)."""
    return b, tuple(_fill(space, b, threads, {
        "perm": lambda k: k.choices[0],
        "tile": lambda k: _closest(k.choices, BLOCK_TILE),
        "reg": lambda k: _either(k, BLOCK_REG),
        "vec": lambda k: "inner-1" if "inner-1" in k.choices else "inner",
        "unroll": lambda k: _either(k, 2)}))


def _stencil_values(space: SearchSpace, b: int, threads: int) -> Point | None:
    """The time-tile seed of a base whose band fuses the sweeps of a stencil (it has a fission knob):
    the base's own member order (time first), STENCIL_TIME time steps and STENCIL_MIDDLE points of the
    middle members per tile, the innermost member as long as the knob allows, and the innermost loop
    distributed over the statements so that LLVM vectorizes each sweep (see the module docstring).
    None for a base without a fission knob."""
    knobs = space.bases[b].knobs
    if not any(k.name.endswith(".fission") for k in knobs):
        return None
    tiles = [k for k in knobs if k.name.partition(".")[2].startswith("tile")]

    def tile(k: Knob) -> Hashable:
        if k is tiles[0]:
            return _closest(k.choices, STENCIL_TIME)
        if k is tiles[-1]:
            return max((c for c in k.choices if isinstance(c, int)), default=k.choices[0])
        return _closest(k.choices, STENCIL_MIDDLE)
    return b, tuple(_fill(space, b, threads, {
        "perm": lambda k: k.choices[0],
        "tile": tile,
        "reg": lambda k: 1,
        "vec": lambda k: "none",
        "reassoc": lambda k: False,
        "unroll": lambda k: 1,
        "fission": lambda k: True}))


def seed_points(space: SearchSpace, featurize: Featurize, *, threads: int = 1, per_base: int = 2,
                rng: np.random.Generator | None = None) -> list[Point]:
    """Per base: the time-tile seed (fused stencil sweeps only), the best vector-strip seed, the
    register-block seed, then further vector-strip seeds up to per_base of them; bases interleaved in
    that order."""
    rng = rng or np.random.default_rng(0)
    names = feature_names()
    vectorizable = names.index("total.inner_vectorizable")
    unit = names.index("total.inner_unit_stride")
    cycles = names.index("total.est_cycles_per_flop")
    per: list[list[Point]] = []
    seen: set[str] = set()
    stencil_nests: set[bytes] = set()
    for b in range(len(space.bases)):
        scored: list[tuple[float, int, Point]] = []
        for i in range(DRAWS_PER_BASE):
            p = _values(space, b, rng, threads)
            if not space.is_legal(p):
                continue
            key = space.key(p)
            if key in seen:
                continue
            seen.add(key)
            x = featurize(p)
            if x is None or x[vectorizable] <= 0 or x[unit] <= 0:
                continue
            scored.append((float(x[cycles]), i, p))
        strips = [p for _, _, p in sorted(scored, key=lambda t: t[:2])[:per_base]]
        block = _block_values(space, b, threads)
        if space.is_legal(block) and space.key(block) not in seen and featurize(block) is not None:
            seen.add(space.key(block))
            strips.insert(min(1, len(strips)), block)
        stencil = _stencil_values(space, b, threads)
        if stencil is not None and space.is_legal(stencil) and space.key(stencil) not in seen:
            seen.add(space.key(stencil))
            x = featurize(stencil)
            if x is not None and x.tobytes() not in stencil_nests:    # bases that schedule alike: once
                stencil_nests.add(x.tobytes())
                strips.insert(0, stencil)
        per.append(strips)
    out: list[Point] = []
    for k in range(max((len(ps) for ps in per), default=0)):
        out += [ps[k] for ps in per if k < len(ps)]
    return out

