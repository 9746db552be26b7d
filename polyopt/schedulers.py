"""Baseline schedulers in the style of the source order, isl, Pluto and Polly. Each returns a Candidate:
a base schedule plus a replayable trace, so heuristics and tuned schedules compare like with like.

* original     the source order
* isl          isl's scheduler, defaults (validity = proximity = all, coincidence = RAW + WAW);
               isl-nofuse / isl-maxfuse: the same with serialize_sccs / whole_component
* pluto        isl (coincidence = all); tile permutable bands of >= 2 members by 32; intra-tile
               reordering (the member with most stride-1 accesses innermost in the point band);
               mark the outermost parallel loop of every nest
* polly        isl under Polly's options (maximize_band_depth, max coefficient / constant 20,
               outer_coincidence 0, coincidence = all); tile bands of >= 2 members by 32, mark the
               outermost parallel loop; BLIS-style matmul treatment when C[i][j] += A[i][k]*B[k][j]
               is recognised: cache tiles Mc x Nc x Kc, register tiles Mr x Nr, packing of A and B
               as promote marks, micro-kernel (k, i, j) with j vectorised and i unrolled.
               Jacobi-style stencils (a time loop around loops that are all parallel) keep the source
               order with the outermost parallel loop marked: skewed 32^d time tiles ran at 0.11x (heat-3d),
               0.26x (jacobi-1d) and 0.91x (jacobi-2d) of gcc -O3 at LARGE on a 32 MB-L3 machine, the
               source order at 0.98-1.02x. Gauss-Seidel-style ones (seidel-2d: 1.37x) keep time tiles.
               Bands that touch each element of their 2-D arrays once (matrix-vector products) are not
               tiled: their reuse is in vectors (mvt 0.71x -> 1.24x gcc untiled).
"""

from __future__ import annotations

import math

from collections.abc import Sequence
from dataclasses import dataclass

import islpy as isl

from polyopt import expr as X
from polyopt.dataflow import Dependences, dependences
from polyopt.errors import IllegalTransformError
from polyopt.legality import permutability_violations, uncarried_kinds
from polyopt.model import Scop, Statement
from polyopt.schedule_tree import Path, Schedule
from polyopt.transforms import records as R
from polyopt.transforms.apply import apply_transform
from polyopt.transforms.bases import base_schedule

SCHEDULERS = ("original", "isl", "isl-nofuse", "isl-maxfuse", "pluto", "polly")


@dataclass(frozen=True)
class BlisParams:
    """Polly's matmul parameters: Mr x Nr register tile, Mc x Nc x Kc cache tile (defaults: AVX2, double)."""

    mr: int = 4
    nr: int = 8
    mc: int = 64
    nc: int = 256
    kc: int = 256

    @staticmethod
    def for_vector_bits(bits: int, element_bytes: int = 8) -> "BlisParams":
        """Polly's micro-kernel formula (MatmulOptimizer: FMA latency 8, throughput 1) for a vector width:
        Nr = ceil(sqrt(Nvec * 8) / Nvec) * Nvec, Mr = ceil(Nvec * 8 / Nr). Cache tiles as clang-19 Polly
        chose on the 2-core AVX-512 host (Mc 128, Kc 192, Nc 2048) and anchors.md's AVX2 ones."""
        nvec = max(1, bits // (8 * element_bytes))
        nr = math.ceil(math.sqrt(nvec * 8) / nvec) * nvec
        mr = math.ceil(nvec * 8 / nr)
        if bits >= 512:
            return BlisParams(mr=mr, nr=nr, mc=128, nc=2048, kc=192)
        return BlisParams(mr=mr, nr=nr, mc=64, nc=256, kc=256)

    @staticmethod
    def for_host(element_bytes: int = 8) -> "BlisParams":
        """The parameters Polly would pick on this machine's widest vector unit."""
        return BlisParams.for_vector_bits(host_vector_bits(), element_bytes)


def host_vector_bits() -> int:
    """512 with AVX-512F, 256 with AVX2, else 128 (read from /proc/cpuinfo; 256 when unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return 256
    return 512 if "avx512f" in flags else 256 if "avx2" in flags or not flags else 128


def schedule(scop: Scop, name: str, *, tile_sizes: Sequence[int] | None = None,
             deps: Dependences | None = None, blis: BlisParams | None = None) -> R.Candidate:
    """The candidate a baseline scheduler picks for `scop` (name: see SCHEDULERS)."""
    name = name.strip().lower()
    if name not in SCHEDULERS:
        raise R.InvalidTransformError(f"unknown scheduler '{name}' (known: {', '.join(SCHEDULERS)})")
    deps = deps or dependences(scop)
    if name in ("original", "isl", "isl-nofuse", "isl-maxfuse") and not tile_sizes:
        return R.Candidate(name)
    if name == "polly" and not tile_sizes and streaming_time_loop(scop, deps):
        tr = _Trace(scop, "original", deps)       # Jacobi-style stencil: no time tiles (see the docstring)
        mark_outermost_parallel(tr)
        return tr.cand
    tr = _Trace(scop, name, deps)
    sizes = tuple(tile_sizes) if tile_sizes else (32,)
    if name == "polly" and _blis(tr, blis or _host_blis(scop), sizes):
        return tr.cand
    tile_outer_bands(tr, sizes, reorder=name == "pluto", separate=True, stream=name == "polly" and not tile_sizes)
    if name in ("pluto", "polly"):
        mark_outermost_parallel(tr, wavefront=name == "pluto")
    return tr.cand


class _Trace:
    """A candidate under construction: every step is applied (and checked) as it is added."""

    def __init__(self, scop: Scop, base: str, deps: Dependences) -> None:
        self.scop, self.deps = scop, deps
        self.cand = R.Candidate(base)
        self.sched = base_schedule(scop, base, deps)

    def add(self, t: R.Transform) -> None:
        self.sched = apply_transform(self.sched, t, self.deps)
        self.cand = self.cand.then(t)

    def attempt(self, *ts: R.Transform) -> bool:
        """Apply all of ts, or none of them when one is illegal."""
        sched, cand = self.sched, self.cand
        try:
            for t in ts:
                self.add(t)
        except IllegalTransformError:
            self.sched, self.cand = sched, cand
            return False
        return True


def _sizes_for(sizes: tuple[int, ...], n: int) -> tuple[int, ...]:
    return tuple(sizes[k] if k < len(sizes) else sizes[-1] for k in range(n))


def streams_matrices(scop: Scop, sched: Schedule, path: Path) -> bool:
    """A band that touches each element of its multi-dimensional arrays once (matrix-vector products:
    atax, bicg, mvt, gemver): the only reuse it carries is in vectors, which stay in cache anyway, so
    tiles buy nothing and cut the streamed inner loop short."""
    node = sched.node(path)
    band = node.get_prefix_schedule_union_map().flat_range_product(
        isl.UnionMap.from_multi_union_pw_aff(node.band_get_partial_schedule()))
    names = set(sched.statements_at(path))
    multi = 0
    for st in scop.statements:
        if st.name not in names:
            continue
        for acc in st.reads + st.writes:
            if len(scop.array(acc.array).shape) < 2:
                continue
            multi += 1
            rel = isl.UnionMap.from_map(acc.relation).intersect_domain(scop.domain)
            if not band.intersect_domain(scop.domain).reverse().apply_range(rel).is_injective():
                return False
    return multi > 0


def tile_outer_bands(tr: _Trace, sizes: tuple[int, ...], *, reorder: bool = False,
                     exclude: Path | None = None, separate: bool = False, stream: bool = False) -> None:
    """Tile every outermost permutable band of >= 2 members; with reorder, move the member with the
    most stride-1 accesses innermost in the point band (Pluto's intra-tile reordering); with separate,
    the AST generator splits the point loops of skewed bands (time-tiled stencils) into full and
    partial parts, so the statement guards leave the innermost loop and it vectorizes. (Unskewed bands
    keep one loop version: separation made syrk 10% slower.)"""
    chosen: list[tuple[Path, int]] = []
    for info in tr.sched.band_infos():
        p = info.path
        if info.n_member < 2 or any(p[:len(c)] == c for c, _ in chosen):
            continue
        if exclude is not None and p[:len(exclude)] == exclude:
            continue
        if permutability_violations(tr.scop, tr.sched.tree, p, tr.deps):
            continue
        if stream and streams_matrices(tr.scop, tr.sched, p):
            continue
        chosen.append((p, info.n_member))
    for p, n in reversed(chosen):
        inner = stride_one_member(tr.scop, tr.sched, p) if reorder else n - 1
        skewed = separate and is_skewed(tr.scop, tr.sched, p)
        if not tr.attempt(R.Tile(p, _sizes_for(sizes, n))):
            continue
        if inner != n - 1:
            tr.attempt(R.Permute(p + (0,), tuple([k for k in range(n) if k != inner] + [inner])))
        if skewed:
            tr.attempt(R.SeparateFullTiles(p + (0,)))


def mark_outermost_parallel(tr: _Trace, exclude: Path | None = None, *, wavefront: bool = False) -> None:
    """Mark, in every loop nest, the outermost loop that carries no dependence. With wavefront, a nest
    without one whose outer band is permutable gets a wavefront on that band (tiles of time-iterated
    stencils), after which its second member is parallel."""
    found: list[tuple[Path, int]] = []
    fronts: list[Path] = []

    def walk(path: Path) -> None:
        if exclude is not None and path[:len(exclude)] == exclude:
            return
        node = tr.sched.node(path)
        if node.get_type() == isl.schedule_node_type.band:
            for d in range(node.band_n_member()):
                if not uncarried_kinds(tr.scop, tr.sched.tree, path, d, tr.deps):
                    found.append((path, d))
                    return
        for i in range(node.n_children()):
            walk(path + (i,))
    walk((0,))
    if wavefront:
        nests = _nests(tr.sched)
        fronts = [p for p in nests if not any(f[:len(p)] == p for f, _ in found)
                  and tr.sched.node(p).band_n_member() >= 2]
    for p in sorted([q for q, _ in found] + fronts, reverse=True):
        if p in fronts:
            tr.attempt(R.Wavefront(p, 2), R.Parallel(p, 1))
        else:
            tr.attempt(R.Parallel(p, dict(found)[p]))


def streaming_time_loop(scop: Scop, deps: Dependences) -> bool:
    """A Jacobi-style time-iterated stencil: in the source order, the outermost loop (time) carries
    dependences and every loop inside it is parallel (each time step reads the previous one's arrays
    only). Its loops stream and vectorize as they are; skewed time tiles only pay when a time step's data
    do not stay in cache."""
    sched = base_schedule(scop, "original", deps)
    infos = sched.band_infos()
    if len(infos) < 2 or infos[0].path != (0,) or infos[0].n_member != 1:
        return False
    if not uncarried_kinds(scop, sched.tree, (0,), 0, deps):
        return False                       # the outer loop is parallel: not a time loop
    return all(not uncarried_kinds(scop, sched.tree, b.path, m, deps)
               for b in infos[1:] for m in range(b.n_member))


def _nests(sched: Schedule) -> list[Path]:
    """The outermost band of every loop nest."""
    out: list[Path] = []
    for p in sched.bands():
        if not any(p[:len(q)] == q for q in out):
            out.append(p)
    return out


# --- access analysis -------------------------------------------------------------------------------------
def _coefficients(pa: isl.PwAff, n_in: int) -> list[int]:
    out: list[list[int]] = []
    pa.foreach_piece(lambda _s, aff: out.append(
        [int(aff.get_coefficient_val(isl.dim_type.in_, k).to_python()) for k in range(n_in)]))
    return out[0] if out else [0] * n_in


def _member_coefficients(upa: isl.UnionPwAff, s: Statement) -> list[int] | None:
    """Iterator coefficients of a band member for statement s (None if the member does not cover s)."""
    pas: list[isl.PwAff] = []
    upa.foreach_pw_aff(lambda pa: pas.append(pa) if pa.domain().get_tuple_name() == s.name else None)
    return _coefficients(pas[0], s.depth) if pas else None


def _member_iterator(upa: isl.UnionPwAff, s: Statement) -> int | None:
    """The iterator index a band member follows for statement s (None if not a single iterator)."""
    nz = [k for k, c in enumerate(_member_coefficients(upa, s) or ()) if c]
    return nz[0] if len(nz) == 1 else None


def _stride_score(s: Statement, it: int) -> int:
    score = 0
    for acc in s.reads + s.writes:
        rank = acc.relation.dim(isl.dim_type.out)
        if rank == 0:
            continue
        pma = isl.PwMultiAff.from_map(acc.relation)
        co = [_coefficients(pma.get_pw_aff(d), s.depth)[it] for d in range(rank)]
        if any(co[:-1]):
            score -= 1
        elif abs(co[-1]) == 1:
            score += 1
    return score


def is_skewed(scop: Scop, sched: Schedule, path: Path) -> bool:
    """Whether some member of the band follows a combination of iterators for some statement."""
    node = sched.node(path)
    mupa = node.band_get_partial_schedule()
    names = set(sched.statements_at(path))
    for d in range(node.band_n_member()):
        for s in scop.statements:
            co = _member_coefficients(mupa.get_at(d), s) if s.name in names else None
            if co is not None and sum(c != 0 for c in co) > 1:
                return True
    return False


def stride_one_member(scop: Scop, sched: Schedule, path: Path) -> int:
    """The band member to put innermost for spatial locality: the one with the most stride-1
    accesses (members that follow no single iterator count as none); the current innermost member
    unless another is strictly better and has some stride-1 access."""
    node = sched.node(path)
    mupa = node.band_get_partial_schedule()
    names = set(sched.statements_at(path))
    n = node.band_n_member()
    scores = []
    for d in range(n):
        score = 0
        for s in scop.statements:
            if s.name in names:
                it = _member_iterator(mupa.get_at(d), s)
                score += _stride_score(s, it) if it is not None else 0
        scores.append(score)
    best = max(range(n), key=lambda d: (scores[d], d))
    return best if scores[best] > max(scores[n - 1], 0) else n - 1


# --- Polly's matmul (BLIS) treatment ---------------------------------------------------------------------
def matmul_statement(scop: Scop) -> tuple[Statement, tuple[int, int, int]] | None:
    """The statement C[i][j] (+)= ... A[i][k] * B[k][j] ... and its (i, j, k) iterator indices."""
    for s in scop.statements:
        found = _match_matmul(s)
        if found is not None:
            return s, found
    return None


def _match_matmul(s: Statement) -> tuple[int, int, int] | None:
    if s.depth != 3 or not isinstance(s.value, X.Binary) or s.value.op != "+":
        return None
    t = s.target
    if len(t.indices) != 2 or not all(isinstance(x, X.Var) for x in t.indices):
        return None
    if s.value.lhs == t:
        other = s.value.rhs
    elif s.value.rhs == t:
        other = s.value.lhs
    else:
        return None
    accs = [a for a in X.accesses(other) if a.indices]
    if len(accs) != 2 or any(a.array == t.array for a in accs):
        return None
    its = s.iterators
    i, j = (its.index(x.name) for x in t.indices)  # type: ignore[union-attr]
    rest = [k for k in range(3) if k not in (i, j)]
    if len(rest) != 1:
        return None
    k = rest[0]
    want = {(its[i], its[k]), (its[k], its[j])}
    got = {tuple(x.name if isinstance(x, X.Var) else "" for x in a.indices) for a in accs}
    return (i, j, k) if got == want else None


def _host_blis(scop: Scop) -> BlisParams:
    found = matmul_statement(scop)
    size = scop.array(found[0].target.array).dtype.itemsize if found else 8
    return BlisParams.for_host(size)


def _blis(tr: _Trace, p: BlisParams, sizes: tuple[int, ...]) -> bool:
    found = matmul_statement(tr.scop)
    if found is None:
        return False
    s, ijk = found
    band = next((b for b in tr.sched.band_infos() if s.name in b.statements and b.n_member >= 3), None)
    if band is None:
        return False
    path = band.path
    if len(band.statements) > 1:
        if not tr.attempt(R.Distribute(path)):
            return False
        path = next(b.path for b in tr.sched.band_infos() if b.statements == (s.name,)
                    and b.path[:len(band.path)] == band.path)
    node = tr.sched.node(path)
    if node.band_n_member() != 3:
        return False
    mupa = node.band_get_partial_schedule()
    follows = [_member_iterator(mupa.get_at(d), s) for d in range(3)]
    if sorted(x for x in follows if x is not None) != [0, 1, 2]:
        return False
    tile_outer_bands(tr, sizes, exclude=path)
    mark_outermost_parallel(tr, exclude=path)
    return _blis_steps(tr, path, [follows.index(x) for x in ijk], p)


def _blis_steps(tr: _Trace, q: Path, order: list[int], p: BlisParams) -> bool:
    steps: list[R.Transform] = [
        R.Permute(q, tuple(order)),                      # (i, j, k)
        R.Tile(q, (p.mc, p.nc, p.kc)),                   # cache tiles (ic, jc, pc) / point (i, j, k)
        R.Permute(q, (1, 2, 0)),                         # jc, pc, ic
        R.Tile(q + (0,), (p.mr, p.nr, p.kc)),            # register tiles (ir, jr, kr) / micro (i, j, k)
        R.Permute(q + (0,), (1, 0, 2)),                  # jr, ir, kr
        R.Permute(q + (0, 0), (2, 0, 1)),                # micro-kernel k, i, j
        R.Split(q, 2),                                   # (jc, pc) | (ic)
        R.Promote(q + (0,), _array(tr.scop, q, "B")),    # pack the Kc x Nc panel of B per (jc, pc)
        R.Promote(q + (0, 0), _array(tr.scop, q, "A")),  # pack the Mc x Kc block of A per ic
        R.Unroll(q + (0, 0, 0), 1, p.mr),                # micro: k | i (unrolled) | j
        R.Vectorize(q + (0, 0, 0, 0, 0), 0),             # j: the SIMD loop
        R.SeparateFullTiles(q + (0, 0), 2),              # full Mr x Nr tiles: constant i, j loops
        R.Parallel(q, 0),                                # jc
    ]
    for t in steps:
        if not tr.attempt(t) and t.op in ("permute", "tile", "split"):
            break                                        # later paths depend on this step
    return True


def _array(scop: Scop, q: Path, role: str) -> str:
    """The name of the A (role 'A': indexed [i][k]) or B ([k][j]) operand of the matmul statement."""
    found = matmul_statement(scop)
    assert found is not None
    s, (i, j, k) = found
    its = s.iterators
    want = (its[i], its[k]) if role == "A" else (its[k], its[j])
    for a in X.accesses(s.value):
        if tuple(x.name if isinstance(x, X.Var) else "" for x in a.indices) == want:
            return a.array
    return role
