"""Tuning for CUDA GPUs: the GPU mapping search space, its features, measurement with CudaKernel.benchmark.

A point is a GpuMapping of the base schedule (the original loop order; PPCG-style mapping, legal by
construction and checked by codegen.cuda's check_mapping): per mapped parallel dimension a tile size and
a per-thread register tile (threads = tile / reg), the tile of the sequential members (seq_tile),
coarsening (cyclic / blocked), shared-memory promotion on/off, register promotion on/off, unroll of the
innermost sequential loop, vector loads. Static constraints (threads per block in [32, 1024], the register
tile dividing the tile) are checked when a point is drawn; whether it can launch (ptxas registers x
threads, static shared memory) is checked with `CudaKernel.can_launch()` before it is measured, and
points that cannot launch are dropped (never measured, never counted as trials).

Features (GPU_FEATURE_VERSION): the mapping knobs and what follows analytically from them and the mapped
extents (threads per block, work per thread, blocks, waves on the device, wasted fraction of the last
tile), the built kernel's block/thread shape and shared-memory bytes (from the kernel IR), and ptxas'
registers, spills and shared memory per kernel. The explorer scores thousands of points, so those from a
build (kernel IR, ptxas) are NaN (xgboost: missing) for points not built yet; they are filled for every
measured record.

Measurement runs in this process on the current CUDA device: each candidate is checked on fresh inputs
(write-only outputs poisoned with NaN) against the default mapping's kernel on the same inputs, then timed
with CUDA events around GPU time only (codegen.cuda.timing hides the host's launch work; warm-up, then
repeats until `min_time`), median. A run longer than `run_timeout` is a
RUN_TIMEOUT result, and tuning stops there (the device may still be busy with that kernel). Targets are keyed by GPU model,
compute capability and timing method ("cuda:NVIDIA_H200:sm_90:gputime"). Without pycuda or a GPU, `tune(target="cuda")` raises
BackendUnavailableError before doing anything else.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from polyopt.search.inputs import array_outputs, measure_inputs, poison_outputs

from polyopt.errors import CodegenError, KernelTimeoutError
from polyopt.model import Scop

log = logging.getLogger(__name__)

GPU_FEATURE_VERSION = 1002
MAX_DIMS = 3
TILES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
REGS = (1, 2, 4, 8)
SEQ_TILES = (0, 4, 8, 16, 32)
UNROLLS = (0, 2, 4, 8)
SPLITS = (1, 2, 4, 8, 16, 32)
N_SM = {"9.0": 132}          # SMs per compute capability (H100/H200); others: 100


def require_gpu() -> tuple[str, str]:
    """(GPU name, 'sm_XY') of device 0, or BackendUnavailableError saying how to get a GPU backend."""
    from polyopt.codegen.cuda.host import _Runtime

    rt = _Runtime.get()
    dev = rt.drv.Context.get_device() if hasattr(rt.drv.Context, "get_device") else rt.drv.Device(0)
    major, minor = dev.compute_capability()
    return dev.name(), f"sm_{major}{minor}"


# How GPU records were timed: "gputime" = CudaKernel.benchmark(hide_launch=True), GPU time only. Records
# of databases written before this key existed hold launch-included times under "cuda:<GPU>:<sm_XY>" and
# so never mix with these (neither as "already measured" nor as training data).
GPU_TIMING_METHOD = "gputime"


def gpu_target_fingerprint(name: str, arch: str) -> str:
    """The target key of GPU records: GPU model, compute capability and timing method."""
    return f"cuda:{name.replace(' ', '_')}:{arch}:{GPU_TIMING_METHOD}"


# ------------------------------------------------------------------------------------------ space

@dataclass(frozen=True)
class GpuKnob:
    name: str
    choices: tuple[Hashable, ...]


GpuPoint = tuple[Hashable, ...]


class GpuSpace:
    """GpuMapping knobs of one (scop, sizes); `extents` are the mapped parallel extents (x, y, z)."""

    def __init__(self, scop: Scop, params: Mapping[str, int], *, arch: str = "sm_90",
                 max_tries: int = 500) -> None:
        self.scop, self.params, self.arch = scop, dict(params), arch
        self.max_tries = max_tries
        self.extents = mapped_extents(scop, self.params)
        n = len(self.extents)
        knobs: list[GpuKnob] = []
        for d, ext in enumerate(self.extents):
            tiles = sorted({t for t in TILES if t <= 2 * ext} | {t for t in range(2, min(ext, 256) + 1)
                                                                if ext % t == 0 and t % 7 == 0})
            knobs += [GpuKnob(f"tile{d}", tuple(tiles)), GpuKnob(f"reg{d}", REGS)]
        knobs += [GpuKnob("seq_tile", SEQ_TILES), GpuKnob("coarsening", ("cyclic", "blocked")),
                  GpuKnob("shared", (True, False)), GpuKnob("private", (True, False)),
                  GpuKnob("unroll", UNROLLS), GpuKnob("vector_loads", (True, False))]
        self.reduction_extent = split_applicable(scop, self.params, self.extents)
        self.can_split = self.reduction_extent > 0
        if self.can_split:
            knobs.append(GpuKnob("split", SPLITS))
        self.knob_list = tuple(knobs)
        self.n_dims = n
        self._names = tuple(k.name for k in knobs)

    @property
    def size(self) -> int:
        return math.prod(len(k.choices) for k in self.knob_list)

    def values(self, point: GpuPoint) -> dict[str, Hashable]:
        return dict(zip(self._names, point))

    def mapping(self, point: GpuPoint) -> Any:
        from polyopt.codegen.cuda import GpuMapping

        v = self.values(point)
        tiles = tuple(int(v[f"tile{d}"]) for d in range(self.n_dims))
        threads = tuple(max(1, int(v[f"tile{d}"]) // int(v[f"reg{d}"])) for d in range(self.n_dims))
        return GpuMapping(tile=tiles, threads=threads, seq_tile=int(v["seq_tile"]),
                          coarsening=str(v["coarsening"]), shared=bool(v["shared"]),
                          private=bool(v["private"]), unroll=int(v["unroll"]),
                          vector_loads=bool(v["vector_loads"]), split=int(v.get("split", 1)))

    def is_legal(self, point: GpuPoint) -> bool:
        """Static checks: the register tile divides the tile, 32..1024 threads per block (fewer only when
        the whole iteration space is smaller); a split reduction has private accumulators, a k-tile and
        a free grid dimension (with three mapped dimensions, one fits in a single tile)."""
        v = self.values(point)
        if int(v.get("split", 1)) > 1:
            if not v["private"] or not int(v["seq_tile"]):
                return False
            if self.n_dims >= 3 and not any(int(v[f"tile{d}"]) >= self.extents[d] for d in range(3)):
                return False
        threads = 1
        for d in range(self.n_dims):
            t, r = int(v[f"tile{d}"]), int(v[f"reg{d}"])
            if r > t or t % r:
                return False
            threads *= t // r
            if d == 2 and t // r > 64:        # CUDA: blockDim.z <= 64
                return False
        lo = min(32, math.prod(self.extents))
        return lo <= threads <= 1024

    def key(self, point: GpuPoint) -> str:
        return candidate_json(self.mapping(point))

    def knobs(self, point: GpuPoint) -> tuple[Hashable, ...]:
        return tuple(point)

    def raw_sample(self, rng: np.random.Generator) -> GpuPoint:
        return tuple(k.choices[int(rng.integers(len(k.choices)))] for k in self.knob_list)

    def sample(self, rng: np.random.Generator) -> GpuPoint:
        for _ in range(self.max_tries):
            p = self.raw_sample(rng)
            if self.is_legal(p):
                return p
        return self.default_point()

    def mutate(self, point: GpuPoint, rng: np.random.Generator) -> GpuPoint:
        for _ in range(self.max_tries):
            j = int(rng.integers(len(self.knob_list)))
            alts = [c for c in self.knob_list[j].choices if c != point[j]]
            if not alts:
                continue
            q = point[:j] + (alts[int(rng.integers(len(alts)))],) + point[j + 1:]
            if self.is_legal(q):
                return q
        return point

    def seed_points(self) -> list[GpuPoint]:
        """Register-tiled mappings that are good starting points on NVIDIA GPUs, measured first (a random
        space of ~10^7 points rarely reaches them within a few dozen trials). Only points that fit the
        extents and pass the static checks.

        - 1-2 mapped dimensions (gemm-like): the largest blocks of 8x8 (then 4x4, 2x2) outputs per
          thread with 256 (or 128) threads, a k-tile of 8, shared tiles and vector loads (the family of
          the best hand-picked sgemm mapping on the H200: 128x128 tiles, 16x16 threads, k-tile 8).
        - 3 mapped dimensions (conv-like: x, y, output channels): 8-16 outputs per thread (2 along x
          and/or y, 4-8 output channels), whole rows when they are short (<= 64).
        Where the blocks alone would leave the GPU's SMs idle, the same mapping with the reduction
        split in parts (split-K) comes too; for conv-like nests the most parts come first."""
        out: list[GpuPoint] = []
        if self.n_dims < 3:
            variants = [dict(v, split=split) for v in self._gemm_seeds() for split in (1, self._split_for(v))]
        else:   # deep layers: the most parts first (measured best on all split layers on the H200)
            base = self._conv_seeds()
            variants = [dict(v, split=split) for split in (SPLITS[-1], 0, 1) for v in base]
            variants = [dict(v, split=v["split"] or self._split_for(v)) for v in variants]
        for w in variants:
            if int(w["split"]) > 1 and not self.can_split:
                continue
            parts = math.ceil(self.reduction_extent / int(w["seq_tile"])) if self.can_split else 1
            w["split"] = min(int(w["split"]), max(1, 2 ** int(math.log2(max(1, parts)))))
            point = tuple(w.get(name, 1) for name in self._names)
            if self._fits(w) and self.is_legal(point) and point not in out:
                out.append(point)
        return out

    def _fits(self, v: Mapping[str, Hashable]) -> bool:
        for d in range(self.n_dims):
            if v[f"tile{d}"] not in self.knob_list[2 * d].choices or \
                    v[f"reg{d}"] not in self.knob_list[2 * d + 1].choices:
                return False
        return True

    def _split_for(self, v: Mapping[str, Hashable]) -> int:
        """The smallest split that gives at least two blocks per SM (1 when the blocks already do)."""
        blocks = math.prod(math.ceil(e / int(v[f"tile{d}"])) for d, e in enumerate(self.extents))
        sms = N_SM.get(self.arch[3:4] + "." + self.arch[4:], 100)
        split = 1
        while blocks * split < 2 * sms and split < SPLITS[-1]:
            split *= 2
        return split

    def _common(self) -> dict[str, Hashable]:
        return {"seq_tile": 8, "coarsening": "cyclic", "shared": True, "private": True, "unroll": 0,
                "vector_loads": True}

    def _gemm_seeds(self) -> list[dict[str, Hashable]]:
        out = []
        n = self.n_dims
        shapes = [(8, 16), (8, 8), (4, 16), (4, 8), (2, 16)]     # (per-thread outputs, threads) per dim
        for reg, thr in shapes:
            for lead in range(min(n, 2)):
                tiles = [reg * thr if d < 2 else 1 for d in range(n)]
                if n >= 2 and lead == 1:
                    tiles[0] = reg * max(1, thr // 2)       # a half-height block (128 threads)
                v = self._common()
                for d in range(n):
                    v[f"tile{d}"] = tiles[d]
                    v[f"reg{d}"] = reg if tiles[d] >= reg else 1
                if all(int(v[f"tile{d}"]) <= max(self.extents[d], 1) for d in range(n)):
                    out.append(v)
        return out

    def _conv_seeds(self) -> list[dict[str, Hashable]]:
        out = []
        ex, ey, ef = self.extents[:3]
        for rx, ry, rf, tf in [(2, 2, 4, 16), (1, 2, 8, 32), (2, 1, 4, 16), (1, 1, 8, 32), (2, 2, 2, 8),
                               (1, 1, 4, 16)]:
            tx = ex if ex <= 64 else 32          # whole rows when short: x leaves the grid for split-K
            ty = ey if ey <= 14 else 8
            if tx > 32 and rx == 1:
                continue
            if tx % rx or ty % ry or tf > 2 * ef:
                continue
            threads = (tx // rx) * (ty // ry) * (tf // rf)
            if threads > 512 and ty > 4:            # too many threads: halve the rows per block
                ty //= 2
                threads //= 2
            if not 64 <= threads <= 512:
                continue
            v = self._common()
            v.update({"tile0": tx, "reg0": rx, "tile1": ty, "reg1": ry, "tile2": tf, "reg2": rf})
            out.append(v)
        return out

    def default_point(self) -> GpuPoint:
        """The point closest to GpuMapping's defaults that passes the static checks."""
        v: dict[str, Hashable] = {"seq_tile": 8, "coarsening": "cyclic", "shared": True, "private": True,
                                  "unroll": 0, "vector_loads": True}
        for d, ext in enumerate(self.extents):
            v[f"tile{d}"] = min((t for t in self.knob_list[2 * d].choices if t >= min(ext, 16)), default=16)
            v[f"reg{d}"] = 1
        point = tuple(v.get(n, 1) for n in self._names)     # split: 1
        return point if self.is_legal(point) else self.sample(np.random.default_rng(0))

    # -- features
    def features(self, point: GpuPoint, built: Built | None = None) -> np.ndarray:
        return gpu_features(self, point, built)


def candidate_json(mapping: Any) -> str:
    """The canonical candidate text of a GPU point (the database key)."""
    d = {k: list(v) if isinstance(v, tuple) else v for k, v in mapping.to_dict().items()}
    return json.dumps({"base": "original", "gpu": d}, sort_keys=True, separators=(",", ":"))


def mapping_from_json(text: str) -> Any:
    from polyopt.codegen.cuda import GpuMapping

    d = json.loads(text)["gpu"]
    return GpuMapping(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def split_applicable(scop: Scop, params: Mapping[str, int], extents: tuple[int, ...]) -> int:
    """The iterations of the '+' reduction that GpuMapping.split can run in parts (0: none)."""
    from polyopt.codegen.cuda import GpuMapping, original_schedule
    from polyopt.codegen.cuda.mapping import map_to_gpu

    tiles = tuple(max(1, e) for e in extents) or (1,)
    opts = GpuMapping(tile=tiles, threads=(1,) * len(tiles), seq_tile=1, shared=False, private=True, split=2)
    plans: list = []
    try:
        map_to_gpu(scop, original_schedule(scop), None, opts, params=dict(params), plans=plans)
    except CodegenError:
        return 0
    return max((p.reduction_extent for p in plans), default=0)


def mapped_extents(scop: Scop, params: Mapping[str, int]) -> tuple[int, ...]:
    """Extents of the loops the mapping puts on the grid (x, y, z): the launch grid of a mapping with
    1 x 1 x 1 tiles (trailing dimensions of extent 1 dropped)."""
    from polyopt.codegen.cuda import GpuMapping, compile_cuda, original_schedule

    opts = GpuMapping(tile=(1, 1, 1), threads=(1, 1, 1), seq_tile=0, shared=False, private=False)
    k = compile_cuda(scop, original_schedule(scop), params=dict(params), options=opts)
    best: tuple[int, ...] = (1,)
    for cfg in k.launch_config(dict(params)):
        ext = tuple(int(g) if isinstance(g, (int, np.integer)) else 1 for g in cfg.grid)
        if math.prod(ext) > math.prod(best):
            best = ext
    n = max(1, len(best))
    while n > 1 and best[n - 1] <= 1:
        n -= 1
    return tuple(int(e) for e in best[:n])


# -------------------------------------------------------------------------------------- features

@dataclass
class Built:
    """A built candidate: the kernel, whether it can launch, per-kernel resources."""

    kernel: Any
    launchable: bool
    why: str = ""
    resources: dict[str, Any] = field(default_factory=dict)


_DIM_FIELDS = ("extent", "tile", "threads", "per_thread", "blocks", "waste")
_GLOBAL = ("threads_per_block", "work_per_thread", "blocks", "waves", "seq_tile", "unroll", "cyclic", "shared",
           "private", "vector_loads", "flops_per_block", "n_dims", "split")
_BUILT = ("ir_shared_bytes", "ir_block_threads", "n_kernels", "registers", "regs_x_threads", "spills",
          "ptx_shared_bytes", "occupancy_blocks")


def gpu_feature_names() -> tuple[str, ...]:
    names = [f"D{d}.{f}" for d in range(MAX_DIMS) for f in _DIM_FIELDS]
    return tuple(names + [f"g.{g}" for g in _GLOBAL] + [f"b.{b}" for b in _BUILT])


def gpu_features(space: GpuSpace, point: GpuPoint, built: Built | None = None) -> np.ndarray:
    v = space.values(point)
    rows: list[float] = []
    threads = work = blocks = 1.0
    for d in range(MAX_DIMS):
        if d < space.n_dims:
            ext, t, r = space.extents[d], int(v[f"tile{d}"]), int(v[f"reg{d}"])
            nb = math.ceil(ext / t)
            rows += [ext, t, t // r, r, nb, nb * t / ext]
            threads, work, blocks = threads * (t // r), work * r, blocks * nb
        else:
            rows += [1, 1, 1, 1, 1, 1]
    split = int(v.get("split", 1))
    blocks *= split
    sms = N_SM.get(space.arch[3:4] + "." + space.arch[4:], 100)
    per_sm = max(1, 2048 // max(1, int(threads)))
    waves = blocks / (sms * per_sm)
    total_points = max(1.0, float(np.prod(space.extents)))
    rows += [threads, work, blocks, waves, int(v["seq_tile"]), int(v["unroll"]), v["coarsening"] == "cyclic",
             bool(v["shared"]), bool(v["private"]), bool(v["vector_loads"]), 1.0 / blocks * total_points,
             space.n_dims, split]
    if built is None or built.kernel is None:
        rows += [math.nan] * len(_BUILT)
    else:
        ks = built.kernel.program.kernels
        main = max(ks, key=lambda k: k.threads)
        regs = max((r.registers for r in built.resources.values()), default=math.nan)
        spills = sum(r.spill_stores + r.spill_loads for r in built.resources.values())
        pshared = max((r.shared_bytes for r in built.resources.values()), default=math.nan)
        occ = min(32, 65536 // max(1, int(regs or 1) * main.threads), 2048 // max(1, main.threads),
                  (228 * 1024) // max(1, int(pshared or 0) + 1024)) if built.resources else math.nan
        rows += [main.shared_bytes, main.threads, len(ks), regs, regs * main.threads, spills, pshared, occ]
    out = np.asarray(rows, dtype=np.float64)
    return np.log2(np.abs(out) + 1.0)


BUILD_TIMEOUT = 10.0     # seconds nvcc or ptxas may spend on one candidate (huge unrolled bodies: dropped)


def compile_point(space: GpuSpace, point: GpuPoint, build_timeout: float | None = BUILD_TIMEOUT) -> Any:
    """The CudaKernel of a point (mapping, loop AST, CUDA C; uses isl: call from one thread only)."""
    from polyopt.codegen.cuda import compile_cuda, original_schedule

    kernel = compile_cuda(space.scop, original_schedule(space.scop), params=space.params,
                          options=space.mapping(point), arch=space.arch)
    kernel.build_timeout = build_timeout
    return kernel


def launch_check(kernel: Any) -> Built:
    """PTX and ptxas resources of a kernel (subprocesses: may run in worker threads), can it launch."""
    ok, why = kernel.can_launch()
    return Built(kernel, ok, why, dict(kernel.resources))


def build(space: GpuSpace, point: GpuPoint) -> Built:
    """Compile a point (CUDA C, then PTX and ptxas resources) and check that it can launch."""
    return launch_check(compile_point(space, point))


# ----------------------------------------------------------------------------------- measurement

@dataclass(frozen=True)
class GpuMeasureOptions:
    min_time: float = 0.05          # seconds of kernel time to accumulate per candidate
    min_repeats: int = 3
    max_repeats: int = 100
    check: bool = True
    check_seed: int = 12345
    rtol: float | None = None       # default 1e-3 for float, 1e-9 for double
    run_timeout: float = 10.0       # seconds one run may take on the GPU (RUN_TIMEOUT beyond)


class GpuMeasurer:
    """Checks and times built candidates on the current GPU (in this process)."""

    def __init__(self, scop: Scop, params: Mapping[str, int], reference: Any, options: GpuMeasureOptions,
                 inputs: Any = None) -> None:
        self.scop, self.params, self.reference, self.opts = scop, dict(params), reference, options
        self.inputs = inputs
        self.checks = 0
        self._timing_args: dict[str, Any] | None = None

    def _make(self, seed: int) -> dict[str, Any]:
        if self.inputs is not None:
            return self.inputs(self.scop, self.params, seed)
        return measure_inputs(self.scop, self.params, seed)

    def measure(self, kernel: Any) -> Any:
        from polyopt.search.measure import MeasureErrorNo, MeasureResult

        t0 = time.perf_counter()
        try:
            if self.opts.check and self.reference is not None and kernel is not self.reference:
                self.checks += 1
                msg = self._check(kernel, self.opts.check_seed + 7919 * self.checks)
                if msg:
                    return MeasureResult(MeasureErrorNo.WRONG_ANSWER, (), msg, 0.0, time.perf_counter() - t0)
            return MeasureResult(MeasureErrorNo.NO_ERROR, self._time(kernel), "", 0.0, time.perf_counter() - t0)
        except KernelTimeoutError as e:
            return MeasureResult(MeasureErrorNo.RUN_TIMEOUT, (), str(e)[:500], 0.0, time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - a failing candidate is a result, never an exception
            return MeasureResult(MeasureErrorNo.RUNTIME_DEVICE, (), f"{type(e).__name__}: {e}"[:500], 0.0,
                                 time.perf_counter() - t0)

    def _check(self, kernel: Any, seed: int) -> str:
        inputs = self._make(seed)
        ref = poison_outputs(self.scop, {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                                         for k, v in inputs.items()})
        got = poison_outputs(self.scop, {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                                         for k, v in inputs.items()})
        self.reference(**ref, timeout=self.opts.run_timeout)
        kernel(**got, timeout=self.opts.run_timeout)
        from polyopt.search.measure import _compare

        bad = [a for a in array_outputs(self.scop)
               if not _compare(np.asarray(got[a]), np.asarray(ref[a]), self.opts.rtol)]
        return f"output mismatch in {', '.join(bad)} (check seed {seed})" if bad else ""

    def _time(self, kernel: Any) -> tuple[float, ...]:
        if self._timing_args is None:
            self._timing_args = self._make(self.opts.check_seed)
        args = self._timing_args
        limit = self.opts.run_timeout
        times = list(kernel.benchmark(**args, repeat=self.opts.min_repeats, warmup=1, timeout=limit))
        med = float(np.median(times))
        if sum(times) < self.opts.min_time and med > 0:
            more = int(min(self.opts.max_repeats, math.ceil(self.opts.min_time / med)))
            times += list(kernel.benchmark(**args, repeat=more, warmup=0, timeout=limit))
        return tuple(float(t) for t in times)
