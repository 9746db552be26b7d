"""Typed, frozen, JSON round-trippable transformation records, and Candidate (a base schedule plus a
trace of records). The functions that apply them live in polyopt.transforms.apply.

Bands are named by path (see polyopt.schedule_tree): child indices from the domain node, marks skipped.
Transformations that isolate one member (Parallel, Vectorize, Unroll, UnrollAndJam, GpuMap) split the
band: with `dim = d` of an n-member band at path p, members [0, d) stay at p, member d moves to
p + (0,) (or stays at p when d = 0) and members (d, n) go one level deeper again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from polyopt.errors import IllegalTransformError

Path = tuple[int, ...]
GPU_TARGETS = ("block.x", "block.y", "block.z", "thread.x", "thread.y", "thread.z")


class InvalidTransformError(IllegalTransformError):
    """A transformation that does not fit the schedule (no band at that path, wrong number of sizes,
    bad permutation ...). A subclass of IllegalTransformError so that search code skipping illegal
    candidates skips these too."""


@dataclass(frozen=True)
class Tile:
    """Rectangular tiling of every member of a band (tile band at `band`, point band below it).
    Multi-level tiling: tile again the point band `band + (0,)`."""

    band: Path
    sizes: tuple[int, ...]
    op: ClassVar[str] = "tile"


@dataclass(frozen=True)
class Permute:
    """Reorder the members of a band: new member k is old member order[k]."""

    band: Path
    order: tuple[int, ...]
    op: ClassVar[str] = "permute"


@dataclass(frozen=True)
class Split:
    """Split a band after `at` members (always legal)."""

    band: Path
    at: int
    op: ClassVar[str] = "split"


@dataclass(frozen=True)
class Join:
    """Merge a band with the band directly below it (perfectly nested loops; always legal)."""

    band: Path
    op: ClassVar[str] = "join"


@dataclass(frozen=True)
class Fuse:
    """Fuse children first..last (inclusive) of the sequence at `node`: their outermost `depth` band
    members become one shared band above a sequence of the remaining subtrees."""

    node: Path
    first: int
    last: int
    depth: int = 1
    op: ClassVar[str] = "fuse"


@dataclass(frozen=True)
class Distribute:
    """Distribute a band over the sequence directly below it (one copy of the loops per child)."""

    band: Path
    op: ClassVar[str] = "distribute"


@dataclass(frozen=True)
class Skew:
    """member[dim] += sum_k factors[k] * member[k] (factors[dim] is ignored; unimodular)."""

    band: Path
    dim: int
    factors: tuple[int, ...]
    op: ClassVar[str] = "skew"


@dataclass(frozen=True)
class Wavefront:
    """member[0] := member[0] + ... + member[depth-1]: after it, members 1.. carry no dependence
    within a wavefront of a permutable band (time-tiled stencils become parallel)."""

    band: Path
    depth: int = 2
    op: ClassVar[str] = "wavefront"


@dataclass(frozen=True)
class StripMine:
    """Insert member size*floor(m/size) in front of member `dim` (same order: always legal)."""

    band: Path
    dim: int
    size: int
    op: ClassVar[str] = "strip_mine"


@dataclass(frozen=True)
class Unroll:
    """Mark member `dim` of the band "unroll:factor" (isolated into its own band)."""

    band: Path
    dim: int
    factor: int
    op: ClassVar[str] = "unroll"


@dataclass(frozen=True)
class UnrollAndJam:
    """Strip-mine member `dim` by `factor`, sink the point loop innermost in the band, mark it
    "unroll:factor" (needs the members it moves across to be permutable)."""

    band: Path
    dim: int
    factor: int
    op: ClassVar[str] = "unroll_and_jam"


@dataclass(frozen=True)
class Parallel:
    """Mark member `dim` "parallel" (refused when it carries a dependence)."""

    band: Path
    dim: int = 0
    op: ClassVar[str] = "parallel"


@dataclass(frozen=True)
class Vectorize:
    """Mark member `dim` "vectorize" (or "vectorize:reassoc", which may carry reductions)."""

    band: Path
    dim: int
    reassoc: bool = False
    op: ClassVar[str] = "vectorize"


@dataclass(frozen=True)
class SeparateFullTiles:
    """Ask the AST generator to separate full tiles from partial ones. inner=0: isl option `separate`
    on the band's own loops; inner=n: isolate (isl option `isolate`) the band's iterations whose n
    innermost point loops below run their full extent, so that code runs with constant trip counts
    and no min()/guards (Polly's full/partial tile separation of the register tile)."""

    band: Path
    inner: int = 0
    op: ClassVar[str] = "separate_full_tiles"


@dataclass(frozen=True)
class Separate:
    """Ask the AST generator to split every loop of the band at `band` and of the bands below it (isl
    option `separate`) wherever the set of statements or the bounds of the loops inside change, so that
    no guard is left inside those loops (more code, simpler loops; never changes the order)."""

    band: Path
    op: ClassVar[str] = "separate"


@dataclass(frozen=True)
class Fission:
    """Distribute the loops at `band` (a band or mark with a single chain of bands and marks below it,
    down to several statements) over its statements: one copy of those loops per statement, in an
    order that the dependences between them at this depth allow (source order among the free ones).
    Refused when the statements depend on each other both ways there."""

    band: Path
    op: ClassVar[str] = "fission"


@dataclass(frozen=True)
class Promote:
    """Mark "promote:<array>" above the band: backends copy the array's footprint into a local
    buffer there (a copy: legal w.r.t. dependences)."""

    band: Path
    array: str
    op: ClassVar[str] = "promote"


@dataclass(frozen=True)
class GpuMap:
    """Mark member `dim` "gpu:<target>" (block.x ... thread.z); refused when it carries a dependence."""

    band: Path
    dim: int
    target: str
    op: ClassVar[str] = "gpu_map"


Transform = (Tile | Permute | Split | Join | Fuse | Distribute | Skew | Wavefront | StripMine | Unroll
             | UnrollAndJam | Parallel | Vectorize | SeparateFullTiles | Separate | Fission | Promote | GpuMap)
TRANSFORMS: tuple[type, ...] = (Tile, Permute, Split, Join, Fuse, Distribute, Skew, Wavefront, StripMine,
                                Unroll, UnrollAndJam, Parallel, Vectorize, SeparateFullTiles, Separate, Fission,
                                Promote, GpuMap)
_BY_OP: dict[str, type] = {t.op: t for t in TRANSFORMS}  # type: ignore[attr-defined]


def transform_to_dict(t: Transform) -> dict[str, Any]:
    out: dict[str, Any] = {"op": t.op}
    for f in fields(t):
        v = getattr(t, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def transform_from_dict(d: dict[str, Any]) -> Transform:
    d = dict(d)
    cls = _BY_OP.get(str(d.pop("op", "")))
    if cls is None:
        raise InvalidTransformError(f"unknown transformation record {d!r}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in d:
            v = d[f.name]
            kwargs[f.name] = tuple(int(x) for x in v) if isinstance(v, list) else v
    try:
        return cls(**kwargs)  # type: ignore[no-any-return]
    except TypeError as e:
        raise InvalidTransformError(f"bad {cls.op} record {d!r}: {e}") from None  # type: ignore[attr-defined]


def describe(t: Transform) -> str:
    """Short text, e.g. `tile (0,) [32, 32]`."""
    args = ", ".join(f"{f.name}={getattr(t, f.name)!r}" for f in fields(t))
    return f"{t.op}({args})"


BASES = ("original", "isl", "isl-nofuse", "isl-maxfuse", "pluto", "polly")


@dataclass(frozen=True)
class Candidate:
    """A base schedule choice plus a trace of transformations; replaying is deterministic."""

    base: str
    trace: tuple[Transform, ...] = ()
    VERSION: ClassVar[int] = 1

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.VERSION, "base": self.base,
                "trace": [transform_to_dict(t) for t in self.trace]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Candidate:
        return Candidate(str(d["base"]), tuple(transform_from_dict(t) for t in d.get("trace", ())))

    @staticmethod
    def from_json(text: str) -> Candidate:
        return Candidate.from_dict(json.loads(text))

    def then(self, *ts: Transform) -> Candidate:
        return Candidate(self.base, self.trace + ts)

    def apply(self, scop: Any, deps: Any = None) -> Any:
        """The Schedule of this candidate for `scop` (IllegalTransformError if a step is illegal)."""
        from polyopt.transforms.apply import apply_candidate
        return apply_candidate(scop, self, deps)

    def __str__(self) -> str:
        return self.base + "".join(" | " + describe(t) for t in self.trace)
