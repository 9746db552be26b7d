"""The search space of one (Scop, target, sizes): knobs derived from the base schedules' bands.

For every base schedule that builds (original, isl, pluto, polly variants) the outermost bands are the
tuning sites (for the original schedule, perfectly nested single loops are first joined into one band).
Knobs per site: member permutation (only the legal ones), cache-level tile size per member (favouring
divisors of the extent), register-level tile size per member (a power of two, halved until it divides the
cache tile), vectorized member of the innermost band
(none / innermost / second innermost) with or without reassociation, unroll factor of the innermost
loop, parallel member of the outer band, separation of full tiles, guard-free loops (isl's `separate` on the
innermost loop or on every point loop), distribution of the innermost loop over its statements (where the
site's loops lead down to several statements), and packing (Promote) per array.

A point is (base index, knob values); it maps to a Candidate whose trace is built step by step on the
real schedule (paths of inner bands are read from the schedule after each step). Points whose candidate
is illegal are rejected (results cached per point); sample and mutate only return legal points.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any, Hashable, Mapping

import islpy as isl
import numpy as np

from polyopt.dataflow import dependences
from polyopt.model import Scop
from polyopt.schedule_tree import chain_end
from polyopt.search import backend

log = logging.getLogger(__name__)

TILE_SIZES = (8, 16, 32, 64, 128, 256)
REG_SIZES = (1, 2, 4, 8)   # powers of two: space_trace halves one until it divides its cache tile
UNROLL = (1, 2, 4, 8)
SEP_LOOPS = ("none", "innermost", "point")   # isl `separate` on no loop / the innermost / every point loop
MAX_PERM_MEMBERS = 4


@dataclass(frozen=True)
class Knob:
    name: str
    choices: tuple[Hashable, ...]
    weights: tuple[float, ...] = ()

    def sample(self, rng: np.random.Generator) -> Hashable:
        if self.weights:
            p = np.asarray(self.weights) / sum(self.weights)
            return self.choices[int(rng.choice(len(self.choices), p=p))]
        return self.choices[int(rng.integers(len(self.choices)))]


@dataclass(frozen=True)
class Site:
    """One outermost band of a base schedule: where it is, how it was formed, its members' extents."""

    path: tuple[int, ...]
    joins: int                      # Join records that merged single loops into this band
    extents: tuple[int, ...]
    arrays: tuple[str, ...]
    fissionable: bool = False       # a chain of loops down to several statements (Fission applies)
    nested_reductions: tuple[tuple[int, ...], ...] = ()   # innermost bands below it that vectorize with reassoc


@dataclass(frozen=True)
class BaseSpace:
    base: str
    sites: tuple[Site, ...]
    knobs: tuple[Knob, ...]

    @property
    def size(self) -> int:
        return math.prod(len(k.choices) for k in self.knobs)


Point = tuple[int, tuple[Hashable, ...]]


class SearchSpace:
    """Knobs over the legal transformations of one SCoP at fixed sizes (all random choices seeded by the
    caller's numpy Generator)."""

    def __init__(self, scop: Scop, params: Mapping[str, int], *, target: str = "cpu",
                 bases: tuple[str, ...] = ("original", "isl", "pluto", "polly"), packing: bool = False,
                 max_tries: int = 200, mutate_tries: int = 20, fast_legality: bool = True) -> None:
        self.scop = scop
        self.params = dict(params)
        self.target = target
        self.packing = packing
        self.max_tries = max_tries
        self.mutate_tries = mutate_tries    # a move that finds no legal neighbour soon stays put
        self.bases: tuple[BaseSpace, ...] = tuple(b for b in (self._base_space(n) for n in bases)
                                                  if b is not None)
        if not self.bases:
            raise ValueError(f"no base schedule of {scop.name} gives a search space")
        self._cand: dict[Point, tuple[str, Any, Any] | None] = {}
        self._prefixes: dict[Any, Any] = {"fast": fast_legality}
        self._verified: dict[Point, bool] = {}

    # --- construction -----------------------------------------------------------------------------
    def _base_space(self, base: str) -> BaseSpace | None:
        from polyopt.transforms import Candidate, Join

        try:
            sched = backend.apply(self.scop, Candidate(base))
        except Exception as e:  # noqa: BLE001 - a base that does not build is just left out
            log.info("base %s unavailable for %s: %s", base, self.scop.name, e)
            return None
        sites, trace = [], []
        for info in _outer_bands(sched):
            joins = 0
            while True:
                try:
                    trial = Candidate(base, tuple(trace) + (Join(info.path),))
                    sched2 = backend.apply(self.scop, trial)
                except Exception:  # noqa: BLE001 - nothing left to join
                    break
                trace.append(Join(info.path))
                joins += 1
                sched = sched2
            sites.append(Site(info.path, joins, _band_extents(sched, info.path, self.params),
                              _arrays_of(self.scop, info.statements),
                              fissionable=_fissionable(self.scop, sched, info),
                              nested_reductions=_nested_reductions(self.scop, sched, info.path)))
        knobs: list[Knob] = []
        for k, site in enumerate(sites):
            knobs += self._site_knobs(base, k, site, sites)
        return BaseSpace(base, tuple(sites), tuple(knobs))

    def _site_knobs(self, base: str, k: int, site: Site, sites: list[Site]) -> list[Knob]:
        n = len(site.extents)
        perms = list(itertools.permutations(range(n))) if n <= MAX_PERM_MEMBERS else [tuple(range(n))]
        perms = [p for p in perms if self._perm_legal(base, sites, k, p)]
        out = [Knob(f"s{k}.perm", tuple(perms))]
        for d, ext in enumerate(site.extents):
            sizes = sorted({s for s in TILE_SIZES if s < ext} | _divisors(ext, 8, min(512, ext - 1)))
            choices = (1,) + tuple(sizes)
            weights = (2.0,) + tuple(2.0 if ext % s == 0 else 1.0 for s in sizes)
            out.append(Knob(f"s{k}.tile{d}", choices, weights))
            out.append(Knob(f"s{k}.reg{d}", REG_SIZES))
        out += [Knob(f"s{k}.vec", ("none", "inner", "inner-1") if n > 1 else ("none", "inner")),
                Knob(f"s{k}.reassoc", (False, True)), Knob(f"s{k}.unroll", UNROLL),
                Knob(f"s{k}.parallel", (-1,) + tuple(range(min(n, 2)))),
                Knob(f"s{k}.separate", (False, True))]
        if self.target == "cpu":
            out.append(Knob(f"s{k}.sep_loops", SEP_LOOPS, (4.0, 1.0, 1.0)))
            if site.nested_reductions:
                out.append(Knob(f"s{k}.nested_vec", (False, True)))
            if site.fissionable:
                out.append(Knob(f"s{k}.fission", (False, True), (3.0, 1.0)))
        if self.packing:
            out += [Knob(f"s{k}.pack.{a}", (False, True)) for a in site.arrays]
        return out

    def _perm_legal(self, base: str, sites: list[Site], k: int, perm: tuple[int, ...]) -> bool:
        from polyopt.transforms import Candidate, Permute

        if perm == tuple(range(len(perm))):
            return True
        try:
            backend.apply(self.scop, Candidate(base, self._joins(sites) + (Permute(sites[k].path, perm),)))
            return True
        except Exception:  # noqa: BLE001
            return False

    @staticmethod
    def _joins(sites: tuple[Site, ...] | list[Site]) -> tuple[Any, ...]:
        from polyopt.transforms import Join

        return tuple(Join(s.path) for s in sites for _ in range(s.joins))

    # --- the space protocol ------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of knob combinations (before legality filtering and candidate deduplication)."""
        return sum(b.size for b in self.bases)

    def raw_sample(self, rng: np.random.Generator) -> Point:
        b = int(rng.integers(len(self.bases)))
        return b, tuple(k.sample(rng) for k in self.bases[b].knobs)

    def sample(self, rng: np.random.Generator) -> Point:
        """A uniformly drawn (divisor-weighted) legal point."""
        for _ in range(self.max_tries):
            p = self.raw_sample(rng)
            if self.is_legal(p):
                return p
        return 0, tuple(k.choices[0] for k in self.bases[0].knobs)   # identity point of the first base

    def mutate(self, point: Point, rng: np.random.Generator) -> Point:
        """A legal point that differs in one knob (or in the base, rarely); `point` itself when
        mutate_tries draws were all illegal (each costs a dependence check: ~35 ms on jacobi-2d)."""
        for _ in range(self.mutate_tries):
            b, vals = point
            knobs = self.bases[b].knobs
            if len(self.bases) > 1 and rng.random() < 1.0 / (len(knobs) + 1):
                q = self.raw_sample(rng)
            else:
                j = int(rng.integers(len(knobs)))
                alts = [c for c in knobs[j].choices if c != vals[j]]
                if not alts:
                    continue
                q = (b, vals[:j] + (alts[int(rng.integers(len(alts)))],) + vals[j + 1:])
            if self.is_legal(q):
                return q
        return point

    def neighbours(self, point: Point) -> list[Point]:
        """Every legal point that differs from `point` in exactly one knob."""
        b, vals = point
        out = []
        for j, knob in enumerate(self.bases[b].knobs):
            for c in knob.choices:
                if c != vals[j]:
                    q = (b, vals[:j] + (c,) + vals[j + 1:])
                    if self.is_legal(q):
                        out.append(q)
        return out

    def knobs(self, point: Point) -> tuple[Hashable, ...]:
        return (point[0],) + point[1]

    def describe(self, point: Point) -> dict[str, Hashable]:
        b, vals = point
        return {"base": self.bases[b].base, **{k.name: v for k, v in zip(self.bases[b].knobs, vals)}}

    def is_legal(self, point: Point) -> bool:
        return self._resolve(point) is not None

    def key(self, point: Point) -> str:
        """The canonical candidate JSON (equal for points that give the same candidate)."""
        r = self._resolve(point)
        return r[0] if r is not None else f"illegal:{point!r}"

    def candidate(self, point: Point) -> Any:
        r = self._resolve(point)
        if r is None:
            from polyopt.errors import IllegalTransformError

            raise IllegalTransformError(f"point {self.describe(point)} is illegal")
        return r[1]

    def schedule(self, point: Point) -> Any:
        """The (legal) Schedule of a point, as built while checking it."""
        r = self._resolve(point)
        return r[2] if r is not None else None

    @property
    def fast_legality(self) -> bool:
        return bool(self._prefixes.get("fast", True))

    def verify(self, point: Point) -> bool:
        """Full legality check of a point's candidate (every step checked against the dependences), for
        points found legal by the fast shape-memoized path. A point that fails is illegal from now on,
        and the fast path is switched off for this space."""
        if point in self._verified:
            return self._verified[point]
        r = self._resolve(point)
        ok = r is not None
        if ok and self.fast_legality:
            try:
                backend.apply(self.scop, r[1])
            except Exception as e:  # noqa: BLE001
                log.warning("fast legality admitted an illegal candidate (%s); checking every step from now on",
                            e)
                self._prefixes["fast"] = False
                self._cand[point] = None
                ok = False
        self._verified[point] = ok
        return ok

    def _resolve(self, point: Point) -> tuple[str, Any, Any] | None:
        if point not in self._cand:
            try:
                cand, sched = self._build(point)
                self._cand[point] = (backend.candidate_to_json(cand), cand, sched)
            except Exception as e:  # noqa: BLE001 - illegal (or unbuildable) point
                log.debug("illegal point %s: %s", point, e)
                self._cand[point] = None
        return self._cand[point]

    def _build(self, point: Point) -> tuple[Any, Any]:
        from polyopt.search.space_trace import build_candidate

        b, vals = point
        bs = self.bases[b]
        values = {k.name: v for k, v in zip(bs.knobs, vals)}
        return build_candidate(self.scop, bs.base, bs.sites, self._joins(bs.sites), values, self._prefixes)


def _outer_bands(sched: Any) -> list[Any]:
    """Bands with no band above them (one per outermost loop nest)."""
    infos = sched.band_infos()
    out = []
    for info in infos:
        if not any(o.path == info.path[:len(o.path)] and o.path != info.path for o in infos):
            out.append(info)
    return out


def _nested_reductions(scop: Scop, sched: Any, path: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Innermost bands strictly below the band at `path` (the inner loops of a nest whose outer loop is
    sequential: durbin's and trisolv's reductions) whose last member may be vectorized with reassociation
    on the base schedule. They are not tuning sites of their own; the s.nested_vec knob marks them all."""
    from polyopt.errors import IllegalTransformError
    from polyopt.transforms import InvalidTransformError, Vectorize, apply_transform

    infos = sched.band_infos()
    below = [i for i in infos if i.path[:len(path)] == path and i.path != path]
    leaves = [i for i in below if not any(o.path[:len(i.path)] == i.path and o.path != i.path for o in infos)]
    out = []
    for info in leaves:
        try:
            apply_transform(sched, Vectorize(info.path, info.n_member - 1, True), dependences(scop))
        except (IllegalTransformError, InvalidTransformError):
            continue
        out.append(info.path)
    return tuple(out)


def _fissionable(scop: Scop, sched: Any, info: Any) -> bool:
    """Several statements of one loop depth (sweeps fused into one band, as in skewed stencils), with only
    bands and marks between the band and them. Fused statements of different depths (lu) are left alone:
    there the knob only diluted the search (48-trial runs ended 14% slower on lu, 3 seeds)."""
    depths = {len(scop.statement(s).iterators) for s in info.statements}
    return len(info.statements) > 1 and len(depths) == 1 and \
        chain_end(sched.node(info.path)).get_type() == isl.schedule_node_type.leaf


def _band_extents(sched: Any, path: tuple[int, ...], params: Mapping[str, int]) -> tuple[int, ...]:
    """Range size of every member of the band at `path`, for the given parameter values."""
    node = sched.node(path)
    mupa = node.band_get_partial_schedule()
    umap = isl.UnionMap.from_multi_union_pw_aff(mupa)
    dom = node.get_domain()
    fixed = isl.Set(f"[{', '.join(params)}] -> {{ : {' and '.join(f'{k} = {v}' for k, v in params.items())} }}")
    rng = umap.intersect_domain(dom).range().intersect_params(fixed)
    sets: list[isl.Set] = []
    rng.foreach_set(sets.append)
    out = []
    for d in range(node.band_n_member()):
        lo, hi = math.inf, -math.inf
        for s in sets:
            s = s.project_out(isl.dim_type.param, 0, s.dim(isl.dim_type.param))
            mn, mx = s.dim_min_val(d).to_python(), s.dim_max_val(d).to_python()
            lo, hi = min(lo, mn), max(hi, mx)
        out.append(int(hi - lo + 1) if math.isfinite(lo) else 1)
    return tuple(out)


def _arrays_of(scop: Scop, statements: tuple[str, ...]) -> tuple[str, ...]:
    names: list[str] = []
    for s in statements:
        st = scop.statement(s)
        for a in st.reads + st.writes:
            if a.array not in names and scop.array(a.array).rank >= 1:
                names.append(a.array)
    return tuple(names)


def _divisors(n: int, lo: int, hi: int) -> set[int]:
    return {d for d in range(lo, hi + 1) if n % d == 0}
