"""Knob values -> Candidate: the trace is built step by step on the real schedule (each step checked for
legality by polyopt.transforms.apply_transform), so band paths are always the ones that exist.

Fast legality: the dependence check of a step dominates the cost of a proposal (about 6 ms a step), and
its verdict hardly ever depends on the exact sizes in the trace: tiling a permutable band is legal for
any sizes, unrolling never reorders, a parallel or vector mark on a tile or point loop is legal or not
whatever the tile size, except for sizes not larger than a dependence distance. So each verdict is also
memoized under the trace's *shape* (sizes of 8 and more, and unroll factors, abstracted; smaller sizes
kept exact), and a later step of the same shape is applied without the check. This is a heuristic: the
tuner re-checks every candidate in full before measuring it (SearchSpace.verify), and a mismatch turns
the shortcut off for the rest of the session."""

from __future__ import annotations

from typing import Any, Hashable, Mapping, Sequence

from polyopt.dataflow import dependences
from polyopt.model import Scop
from polyopt.transforms import (Candidate, Fission, Parallel, Permute, Promote, Separate, SeparateFullTiles,
                                Split, Tile, Unroll, Vectorize, apply_candidate, apply_transform)


PrefixCache = dict  # (base, trace prefix) -> Schedule, or the exception that step raised;
#                    ("shape", base, abstract trace) -> True (legal) or the exception; "fast" -> bool
SIZE_EXACT_BELOW = 8


def _abstract(t: Any) -> Any:
    """A step with the sizes that cannot change its legality abstracted (see the module docstring)."""
    if isinstance(t, Tile):
        return ("tile", t.band, tuple(min(int(s), SIZE_EXACT_BELOW) for s in t.sizes))
    if isinstance(t, Unroll):
        return ("unroll", t.band, t.dim)
    return t


class _Builder:
    """Replays a trace step by step; results of every prefix are memoized in `cache` (points that differ
    in one knob share most of their prefix)."""

    def __init__(self, scop: Scop, base: str, joins: tuple[Any, ...], cache: PrefixCache) -> None:
        self.deps = dependences(scop)
        self.base = base
        self.cache = cache
        self.trace: list[Any] = list(joins)
        key = (base, tuple(joins))
        if key not in cache:
            cache[key] = apply_candidate(scop, Candidate(base, tuple(joins)), self.deps)
        self.sched = cache[key]

    def step(self, t: Any) -> None:
        trace = tuple(self.trace) + (t,)
        key = (self.base, trace)
        hit = self.cache.get(key)
        if hit is None:
            fast = self.cache.get("fast", True)
            shape = ("shape", self.base, tuple(_abstract(s) for s in trace))
            verdict = self.cache.get(shape) if fast else None
            if isinstance(verdict, Exception):
                hit = verdict
            else:
                try:
                    hit = apply_transform(self.sched, t, self.deps, check=verdict is not True)
                except Exception as e:  # noqa: BLE001 - memoize failures too
                    hit = e
                if verdict is None:
                    self.cache[shape] = hit if isinstance(hit, Exception) else True
            if len(self.cache) > 50000:
                self.cache.clear()
                self.cache["fast"] = fast
            self.cache[key] = hit
        if isinstance(hit, Exception):
            raise hit
        self.sched = hit
        self.trace.append(t)

    def candidate(self) -> Candidate:
        return Candidate(self.base, tuple(self.trace))


def build_candidate(scop: Scop, base: str, sites: Sequence[Any], joins: tuple[Any, ...],
                    values: Mapping[str, Hashable], cache: PrefixCache | None = None) -> tuple[Candidate, Any]:
    """The candidate of one point and its Schedule (raises IllegalTransformError / InvalidTransformError
    if illegal)."""
    b = _Builder(scop, base, joins, cache if cache is not None else {})
    for k, site in enumerate(sites):
        _site(b, k, site, values)
    return b.candidate(), b.sched


def _site(b: _Builder, k: int, site: Any, v: Mapping[str, Hashable]) -> None:
    p = tuple(site.path)
    n = len(site.extents)
    if v.get(f"s{k}.nested_vec", False):       # first, while the nested bands are where the base has them
        for q in site.nested_reductions:
            b.step(Vectorize(q, b.sched.node(q).band_n_member() - 1, True))
    perm = tuple(v[f"s{k}.perm"])  # type: ignore[arg-type]
    if perm != tuple(range(n)):
        b.step(Permute(p, perm))
    t1 = tuple(int(v[f"s{k}.tile{perm[d]}"]) for d in range(n))  # type: ignore[arg-type]
    reg = tuple(int(v[f"s{k}.reg{perm[d]}"]) for d in range(n))  # type: ignore[arg-type]
    reg = tuple(_dividing(r, t) for r, t in zip(reg, t1))
    tiled = any(t > 1 for t in t1)
    inner = p
    if tiled:
        b.step(Tile(p, t1))
        inner = p + (0,)
        if any(r > 1 for r in reg):
            b.step(Tile(inner, reg))
            inner = inner + (0,)
        if v[f"s{k}.separate"]:
            b.step(SeparateFullTiles(p))
    _inner_loops(b, k, inner, n, v, outer_is_inner=not tiled)
    if tiled:
        for key, on in v.items():
            if key.startswith(f"s{k}.pack.") and on:
                b.step(Promote(p + (0,), key.split(".", 2)[2]))
    _fission_and_separation(b, k, p + (0,) if tiled else p, v, register_tiled=tiled and any(r > 1 for r in reg))
    par = int(v[f"s{k}.parallel"])  # type: ignore[arg-type]
    if par >= 0:
        vec = str(v[f"s{k}.vec"])
        if not tiled and vec != "none" and par >= _vec_dim(vec, n):
            raise _invalid("the parallel loop would be inside the vector loop")
        b.step(Parallel(p, par))


def _dividing(reg: int, tile: int) -> int:
    """The register tile size actually used: the largest power of two up to `reg` that divides the cache tile
    (1 when the member is not tiled). A register tile that does not divide its cache tile leaves a partial
    register tile in every cache tile, and its nested floor expressions can cost isl tens of seconds per
    loop AST (heat-3d: cache tile 27x10x11x16 with register tile 8x2x8x1 took 37 s; 24x10x16x16, 0.8 s)."""
    if tile <= 1:
        return 1
    while reg > 1 and (reg >= tile or tile % reg):
        reg //= 2
    return max(reg, 1)


def _fission_and_separation(b: _Builder, k: int, point: tuple[int, ...], v: Mapping[str, Hashable], *,
                            register_tiled: bool) -> None:
    """Distribute the innermost loop over its statements (s.fission), and isl's `separate` on the
    innermost loop(s) or on every loop from the point band down (s.sep_loops). Fission is for the long
    innermost loop of a fused band (skewed stencils); inside a register tile, whose short loops LLVM
    unrolls anyway, it only adds code, so it is refused there."""
    fission = bool(v.get(f"s{k}.fission", False))
    sep = str(v.get(f"s{k}.sep_loops", "none"))
    if fission and register_tiled:
        raise _invalid("fission inside a register tile")
    if fission or sep == "innermost":
        q = _innermost_band(b.sched, point)
        n = b.sched.node(q).band_n_member()
        if n > 1:
            b.step(Split(q, n - 1))
            q = q + (0,)
        targets = [q]
        if fission:
            b.step(Fission(q))
            targets = [q + (i, 0) for i in range(b.sched.node(q).n_children())]
        if sep == "innermost":
            for t in targets:
                b.step(Separate(t))
    if sep == "point":
        b.step(Separate(point))


def _innermost_band(sched: Any, path: tuple[int, ...]) -> tuple[int, ...]:
    """The last band of the chain of single-child bands (marks skipped) that starts at `path`."""
    import islpy as isl

    while True:
        node = sched.node(path)
        if node.n_children() != 1:
            return path
        below = sched.node(path + (0,))
        if below.get_type() != isl.schedule_node_type.band:
            return path
        path = path + (0,)


def _vec_dim(vec: str, n: int) -> int:
    return n - 1 if vec == "inner" else max(0, n - 2)


def _inner_loops(b: _Builder, k: int, q: tuple[int, ...], n: int, v: Mapping[str, Hashable],
                 outer_is_inner: bool) -> None:
    """Vectorize / unroll in the innermost band q (n members)."""
    vec = str(v[f"s{k}.vec"])
    unroll = int(v[f"s{k}.unroll"])  # type: ignore[arg-type]
    if vec != "none":
        d = _vec_dim(vec, n)
        b.step(Vectorize(q, d, bool(v[f"s{k}.reassoc"])))
        vpath = q if d == 0 else q + (0,)
        if unroll > 1:
            b.step(Unroll(vpath if d == n - 1 else vpath + (0,), 0, unroll))
    elif unroll > 1:
        b.step(Unroll(q, n - 1, unroll))
    elif v[f"s{k}.reassoc"]:
        raise _invalid("reassoc without a vector loop (duplicate of reassoc=False)")


def _invalid(msg: str) -> Exception:
    from polyopt.transforms import InvalidTransformError

    return InvalidTransformError(msg)
