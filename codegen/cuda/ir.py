"""The mapped-kernel IR's data structures: a host program (loops, guards, launches) and kernels (loops
bound to blocks/threads or sequential, guards, statements, barriers, copies to/from promoted buffers).
Built by kernel_ir.build_gpu_program (promotions by promote.py); consumed by the CUDA printer and the CPU
emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from polyopt import expr as X
from polyopt.expr import DType
from polyopt.model import Scop

from .mapping import GpuMapping

TID = {"x": "_tx", "y": "_ty", "z": "_tz"}        # thread-id variables inside IR expressions


@dataclass(frozen=True)
class Buffer:
    """A promoted copy of part of an array: shared memory (per block) or registers (per thread)."""

    name: str
    array: str
    dtype: DType
    shape: tuple[int, ...]
    space: str                            # "shared" | "register"
    offset: tuple[X.Expr, ...]            # global index of element 0 along each dimension
    stride: tuple[int, ...]               # global index = offset + stride * buffer index
    guard: X.Expr | None = None           # register: which elements (_e0, _e1, ...) this thread owns
    vector: int = 1                       # shared copy-in width (4: float4 loads)
    perm: tuple[int, ...] = ()            # shared layout: stored dim k holds logical dim perm[k] (() = same)
    swizzle: tuple = ()                   # shared layout: (logical dim, thread var, B, c), see promote.py
    accumulate: bool = False              # register: partial sums of a split reduction (start at 0,
                                          # atomicAdd to global memory at the end)

    @property
    def stored_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[d] for d in self.perm) if self.perm else self.shape

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


@dataclass(frozen=True)
class KFor:
    var: str
    init: X.Expr
    cond: X.Expr
    step: int
    body: tuple[KNode, ...]
    kind: str = "seq"                     # seq | block | thread
    dim: str = ""
    unroll: int = 0
    trip: int | None = None               # maximal trip count when known
    lo: X.Expr | None = None              # block loops: iterator value of block 0


@dataclass(frozen=True)
class KIf:
    cond: X.Expr
    then: tuple[KNode, ...]
    orelse: tuple[KNode, ...] = ()


@dataclass(frozen=True)
class KStmt:
    name: str
    target: X.Access
    value: X.Expr
    thread_guard: tuple[str, ...] = ()    # thread dimensions that must be 0


@dataclass(frozen=True)
class KBarrier:
    pass


@dataclass(frozen=True)
class KCopy:
    buffer: str
    direction: str                        # "in" (global -> buffer) | "out"


KNode = Union[KFor, KIf, KStmt, KBarrier, KCopy]


@dataclass(frozen=True)
class Kernel:
    name: str
    body: tuple[KNode, ...]
    block: tuple[int, int, int]
    grid: tuple[tuple[X.Expr, X.Expr], ...]     # per x, y, z: (lowest block iterator, number of blocks)
    buffers: tuple[Buffer, ...]
    arrays: tuple[str, ...]                     # global arrays, in argument order
    written: tuple[str, ...]
    scalars: tuple[str, ...]
    params: tuple[str, ...]
    host_vars: tuple[str, ...]
    single_thread: bool = False

    def buffer(self, name: str) -> Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)

    @property
    def threads(self) -> int:
        return self.block[0] * self.block[1] * self.block[2]

    @property
    def shared_bytes(self) -> int:
        return sum(b.nbytes for b in self.buffers if b.space == "shared")


@dataclass(frozen=True)
class HostFor:
    var: str
    init: X.Expr
    cond: X.Expr
    step: int
    body: tuple[HostNode, ...]


@dataclass(frozen=True)
class HostIf:
    cond: X.Expr
    then: tuple[HostNode, ...]
    orelse: tuple[HostNode, ...] = ()


@dataclass(frozen=True)
class Launch:
    kernel: int


HostNode = Union[HostFor, HostIf, Launch]


@dataclass(frozen=True, eq=False)
class GpuProgram:
    scop: Scop
    host: tuple[HostNode, ...]
    kernels: tuple[Kernel, ...]
    param_values: tuple[tuple[str, int], ...]
    index_type: str                              # "int" or "long"
    options: GpuMapping = field(default_factory=GpuMapping)

    @property
    def params(self) -> dict[str, int]:
        return dict(self.param_values)
