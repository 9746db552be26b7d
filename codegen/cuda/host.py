"""The CUDA backend's entry point and runtime: compile_cuda -> CudaKernel.

Generating CUDA C and PTX never needs a GPU or pycuda: the source comes from the mapped-kernel IR, PTX from
`nvcc -ptx -arch=sm_90` (cached on disk by source hash), registers and shared memory from `ptxas -v`.
Running and timing need pycuda and an NVIDIA driver; pycuda is imported only then, and its absence (or a
missing device) raises BackendUnavailableError that says how to install it.

Host side: the loops outside the kernels (e.g. a stencil's time loop, or the sequence of 2mm's two
products) run in Python, launching one kernel per iteration on the default stream, in order; arrays are
copied to the device once per call and written arrays copied back (device arrays — anything with
`__cuda_array_interface__`: pycuda GPUArray, cupy, torch — are used in place, without copies).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import islpy as isl
import numpy as np
from polyopt.codegen.loop_ast import build_loop_ast

from polyopt import expr as X
from polyopt.codegen.binding import bind_arguments, values_by_name
from polyopt.errors import ArgumentError, BackendUnavailableError, CodegenError, KernelTimeoutError
from polyopt.expr import DType
from polyopt.model import Scop

from .cuda_printer import kernel_signature, print_program
from .emulate import _NP, emulate, eval_int, run_host
from .kernel_ir import GpuProgram, build_gpu_program
from .mapping import GpuMapping, map_to_gpu
from .timing import BusyWait, spin_for

log = logging.getLogger("polyopt.codegen.cuda")

INSTALL_HINT = ("install the CUDA extra on a machine with an NVIDIA GPU and driver: "
                "pip install polyopt[cuda]")
MAX_BLOCK_Z = 64                 # CUDA: blockDim.z <= 64 (x, y <= 1024)
MAX_REGISTERS_PER_BLOCK = 65536
MAX_STATIC_SHARED = 48 * 1024


# ----------------------------------------------------------------------------------------- toolchain

def cache_dir() -> Path:
    base = os.environ.get("POLYOPT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "polyopt")
    p = Path(base) / "cuda"
    p.mkdir(parents=True, exist_ok=True)
    return p


def find_tool(name: str) -> str | None:
    env = os.environ.get(f"POLYOPT_{name.upper()}")
    if env:
        return env
    found = shutil.which(name)
    if found:
        return found
    for base in (os.environ.get("CUDA_HOME"), "/usr/local/cuda", "/usr/local/cuda/bin"):
        if base:
            for cand in (Path(base) / "bin" / name, Path(base) / name):
                if cand.exists():
                    return str(cand)
    return None


def _run_tool(cmd: list[str], timeout: float | None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CodegenError(f"{Path(cmd[0]).name} took longer than {timeout:g} s on the generated kernel "
                           "(a very large unrolled body?)") from None


def compile_ptx(source: str, arch: str = "sm_90", timeout: float | None = None) -> str:
    """PTX of a CUDA translation unit (nvcc -ptx; NVRTC through cuda.bindings when nvcc is missing).
    timeout: seconds nvcc may take (CodegenError beyond); None waits."""
    key = hashlib.sha256(f"{arch}\n{source}".encode()).hexdigest()[:24]
    path = cache_dir() / f"{key}.ptx"
    if path.exists():
        return path.read_text()
    nvcc = find_tool("nvcc")
    if nvcc:
        with tempfile.TemporaryDirectory() as tmp:
            cu, out = Path(tmp) / "k.cu", Path(tmp) / "k.ptx"
            cu.write_text(source)
            res = _run_tool([nvcc, "-ptx", f"-arch={arch}", "-O3", "-o", str(out), str(cu)], timeout)
            if res.returncode != 0:
                raise CodegenError(f"nvcc failed on the generated CUDA:\n{res.stderr[-4000:]}")
            ptx = out.read_text()
    else:
        ptx = _nvrtc(source, arch)
    tmp_path = path.with_suffix(f".tmp{os.getpid()}")
    tmp_path.write_text(ptx)
    tmp_path.replace(path)
    return ptx


def _nvrtc(source: str, arch: str) -> str:
    try:
        from cuda.bindings import nvrtc  # type: ignore[import-not-found]
    except ImportError:
        raise BackendUnavailableError("compiling CUDA needs nvcc (the CUDA toolkit; set POLYOPT_NVCC or put "
                                      "nvcc on PATH) or NVRTC (pip install cuda-bindings)") from None
    err, prog = nvrtc.nvrtcCreateProgram(source.encode(), b"k.cu", 0, [], [])
    opts = [f"--gpu-architecture=compute_{arch.split('_')[1]}".encode(), b"-default-device"]
    (err,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        _e, n = nvrtc.nvrtcGetProgramLogSize(prog)
        buf = b" " * n
        nvrtc.nvrtcGetProgramLog(prog, buf)
        raise CodegenError(f"NVRTC failed on the generated CUDA:\n{buf.decode(errors='replace')}")
    _e, n = nvrtc.nvrtcGetPTXSize(prog)
    buf = b" " * n
    nvrtc.nvrtcGetPTX(prog, buf)
    return buf.decode().rstrip("\x00")


def wait_for(event: Any, timeout: float | None, what: str = "kernel", *, poll: float = 2e-4,
             clock: Any = time.monotonic, sleep: Any = time.sleep) -> None:
    """Wait until a recorded CUDA event completes: synchronize() without a timeout, else poll query()
    and raise KernelTimeoutError when it has not completed after `timeout` seconds."""
    if timeout is None:
        event.synchronize()
        return
    deadline = clock() + timeout
    while not event.query():
        if clock() > deadline:
            raise KernelTimeoutError(f"{what} did not finish within {timeout:g} s on the GPU (the device may "
                                     "still be running it; restart the process to free it)")
        sleep(poll)


@dataclass(frozen=True)
class ResourceUsage:
    """What ptxas reports for one kernel."""

    registers: int
    shared_bytes: int
    spill_stores: int = 0
    spill_loads: int = 0
    stack_bytes: int = 0


def ptx_resources(ptx: str, arch: str = "sm_90", timeout: float | None = None) -> dict[str, ResourceUsage]:
    """Registers, shared memory and spills per kernel from `ptxas -v` (cached); timeout as compile_ptx's."""
    key = hashlib.sha256(f"{arch}\n{ptx}".encode()).hexdigest()[:24]
    path = cache_dir() / f"{key}.ptxas.txt"
    if path.exists():
        text = path.read_text()
    else:
        ptxas = find_tool("ptxas")
        if not ptxas:
            raise BackendUnavailableError("reading register use needs ptxas from the CUDA toolkit "
                                          "(set POLYOPT_PTXAS or put ptxas on PATH)")
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "k.ptx"
            src.write_text(ptx)
            res = _run_tool([ptxas, "-v", f"-arch={arch}", str(src), "-o", str(Path(tmp) / "k.cubin")], timeout)
        if res.returncode != 0:
            raise CodegenError(f"ptxas failed:\n{res.stderr[-4000:]}")
        text = res.stderr + res.stdout
        path.write_text(text)
    return parse_ptxas(text)


def parse_ptxas(text: str) -> dict[str, ResourceUsage]:
    out: dict[str, ResourceUsage] = {}
    current = None
    vals: dict[str, int] = {}
    for line in text.splitlines():
        m = re.search(r"(?:Compiling entry function|Function properties for) '?([\w$]+)'?", line)
        if m:
            if current and current != m.group(1) and current not in out:
                out[current] = _usage(vals)
            if current != m.group(1):
                vals = {}
            current = m.group(1)
        for key, pat in (("reg", r"Used (\d+) registers"), ("smem", r"(\d+) bytes smem"),
                         ("ss", r"(\d+) bytes spill stores"), ("sl", r"(\d+) bytes spill loads"),
                         ("stack", r"(\d+) bytes stack frame")):
            m2 = re.search(pat, line)
            if m2 and current:
                vals[key] = int(m2.group(1))
        if current and "Used" in line and "registers" in line:
            out[current] = _usage(vals)
    if current and current not in out:
        out[current] = _usage(vals)
    return out


def _usage(v: dict[str, int]) -> ResourceUsage:
    return ResourceUsage(v.get("reg", 0), v.get("smem", 0), v.get("ss", 0), v.get("sl", 0), v.get("stack", 0))


# ----------------------------------------------------------------------------------------- runtime

class _Runtime:
    _instance: _Runtime | None = None

    def __init__(self) -> None:
        try:
            import pycuda.driver as drv  # type: ignore[import-not-found]
        except Exception as e:  # ImportError, or a driver failure raised at import
            raise BackendUnavailableError(f"running CUDA kernels needs pycuda, which could not be imported "
                                          f"({type(e).__name__}: {e}); {INSTALL_HINT}") from None
        try:
            drv.init()
            if drv.Device.count() < 1:
                raise BackendUnavailableError(f"no CUDA device found; {INSTALL_HINT}")
            try:
                import pycuda.autoprimaryctx  # type: ignore[import-not-found]
            except ImportError:  # pragma: no cover - old pycuda
                import pycuda.autoinit  # type: ignore[import-not-found]  # noqa: F401
        except BackendUnavailableError:
            raise
        except Exception as e:
            raise BackendUnavailableError(f"no usable CUDA device ({type(e).__name__}: {e}); "
                                          f"{INSTALL_HINT}") from None
        self.drv = drv
        self._busy_wait: BusyWait | None = None

    def busy_wait(self, ns: int) -> None:
        """Keep the default stream busy for `ns` nanoseconds (see timing.py)."""
        if self._busy_wait is None:
            self._busy_wait = BusyWait(self.drv)
        self._busy_wait(ns)

    @classmethod
    def get(cls) -> _Runtime:
        if cls._instance is None:
            cls._instance = _Runtime()
        return cls._instance


def gpu_available() -> bool:
    """Whether kernels can run here (pycuda importable and a device present)."""
    try:
        _Runtime.get()
        return True
    except BackendUnavailableError:
        return False


@dataclass(frozen=True)
class LaunchConfig:
    kernel: str
    grid: tuple[int, int, int] | tuple[str, str, str]
    block: tuple[int, int, int]
    shared_bytes: int
    single_thread: bool


def bind(scop: Scop, args: tuple, kwargs: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, Any],
                                                                       dict[str, Any]]:
    """(params, scalars, arrays) from a call in the source function's argument order."""
    if all(isinstance(a, np.ndarray) or np.isscalar(a) for a in list(args) + list(kwargs.values())):
        b = bind_arguments(scop, args, kwargs)
        return dict(b.params), dict(b.scalars), dict(b.arrays)
    vals = values_by_name(scop, args, kwargs)
    params = {p: int(vals[p]) for p in scop.params if p in vals}
    arrays = {a.name: vals[a.name] for a in scop.array_arguments if a.name in vals}
    missing = [a.name for a in scop.array_arguments if a.name not in arrays]
    if missing:
        raise ArgumentError(f"{scop.name}() missing array argument(s) {', '.join(missing)}")
    for a in scop.array_arguments:        # infer sizes from shapes like (N, M)
        shape = _shape_of(arrays[a.name])
        for s, n in zip(a.shape, shape):
            if isinstance(s, X.Var) and s.name in scop.params and s.name not in params:
                params[s.name] = int(n)
    missing = [p for p in scop.params if p not in params]
    if missing:
        raise ArgumentError(f"{scop.name}() missing size argument(s) {', '.join(missing)}")
    scalars = {s.name: vals[s.name] for s in scop.scalar_arguments if s.name in vals}
    missing = [s.name for s in scop.scalar_arguments if s.name not in scalars]
    if missing:
        raise ArgumentError(f"{scop.name}() missing scalar argument(s) {', '.join(missing)}")
    for a in scop.array_arguments:
        _check_array(scop, a.name, arrays[a.name], params)
    return params, scalars, arrays


def _shape_of(v: Any) -> tuple[int, ...]:
    if hasattr(v, "__cuda_array_interface__"):
        return tuple(v.__cuda_array_interface__["shape"])
    return tuple(np.shape(v))


def _check_array(scop: Scop, name: str, v: Any, params: Mapping[str, int]) -> None:
    arr = scop.array(name)
    want = np.dtype(_NP[arr.dtype])
    if hasattr(v, "__cuda_array_interface__"):
        iface = v.__cuda_array_interface__
        got = np.dtype(iface["typestr"])
        strides = iface.get("strides")
        if strides is not None and strides != _c_strides(tuple(iface["shape"]), got.itemsize):
            raise ArgumentError(f"device array {name} must be C-contiguous")
    elif isinstance(v, np.ndarray):
        got = v.dtype
    else:
        raise ArgumentError(f"argument {name} must be a numpy array or a device array, not {type(v).__name__}")
    if got != want:
        raise ArgumentError(f"argument {name} has dtype {got}, the kernel expects {want}")
    shape = _shape_of(v)
    if len(shape) != arr.rank:
        raise ArgumentError(f"argument {name} has {len(shape)} dimensions, the kernel expects {arr.rank}")
    for d, (s, n) in enumerate(zip(arr.shape, shape)):
        if s is not None and d > 0 and eval_int(s, params) != n:
            raise ArgumentError(f"argument {name} has extent {n} in dimension {d}, expected {eval_int(s, params)}")


def _c_strides(shape: tuple[int, ...], item: int) -> tuple[int, ...]:
    out, acc = [], item
    for n in reversed(shape):
        out.append(acc)
        acc *= n
    return tuple(reversed(out))


class CudaKernel:
    """A compiled GPU program: call it like the CPU kernel (numpy arrays updated in place)."""

    def __init__(self, scop: Scop, program: GpuProgram, source: str, schedule: isl.Schedule,
                 arch: str = "sm_90") -> None:
        self.scop = scop
        self.program = program
        self.cuda_source = source
        self.schedule = schedule
        self.arch = arch
        self.build_timeout: float | None = None     # seconds nvcc / ptxas may take on this kernel
        self._module = None
        self._funcs: dict[str, Any] = {}
        self._signatures: dict[str, tuple] = {}
        self._grids: dict[str, tuple[int, ...]] = {}

    @property
    def options(self) -> GpuMapping:
        return self.program.options

    @cached_property
    def ptx(self) -> str:
        return compile_ptx(self.cuda_source, self.arch, self.build_timeout)

    @cached_property
    def resources(self) -> dict[str, ResourceUsage]:
        """Per kernel: registers per thread, static shared memory per block, spills (from ptxas -v)."""
        return ptx_resources(self.ptx, self.arch, self.build_timeout)

    def launch_config(self, params: Mapping[str, int] | None = None) -> list[LaunchConfig]:
        env = dict(self.program.params)
        env.update(params or {})
        out = []
        for k in self.program.kernels:
            try:
                grid: tuple = tuple(eval_int(ext, env) for _lo, ext in k.grid)
            except (KeyError, CodegenError):
                grid = tuple(X.to_c(ext) for _lo, ext in k.grid)
            out.append(LaunchConfig(k.name, grid, k.block, k.shared_bytes, k.single_thread))
        return out

    def can_launch(self) -> tuple[bool, str]:
        """Whether every kernel fits the sm_90 per-block limits (uses ptxas)."""
        for k in self.program.kernels:           # launch limits first: no ptxas needed to refuse these
            if k.threads > 1024:
                return False, f"{k.name}: {k.threads} threads per block"
            if k.block[2] > MAX_BLOCK_Z:
                return False, f"{k.name}: block z dimension {k.block[2]} > {MAX_BLOCK_Z}"
        res = self.resources
        for k in self.program.kernels:
            r = res.get(k.name)
            if r is None:
                continue
            if r.registers * k.threads > MAX_REGISTERS_PER_BLOCK:
                return False, f"{k.name}: {r.registers} registers x {k.threads} threads > 65536"
            if r.shared_bytes > MAX_STATIC_SHARED:
                return False, f"{k.name}: {r.shared_bytes} bytes of shared memory"
        return True, ""

    # -- CPU emulation
    def emulate(self, *args: Any, check_races: bool = True, **kwargs: Any) -> None:
        """Run the mapped kernels on the CPU (tiny sizes), updating numpy arrays in place."""
        params, scalars, arrays = bind(self.scop, args, kwargs)
        self._check_params(params)
        emulate(self.program, arrays, scalars, params, check_races=check_races)

    def _check_params(self, params: Mapping[str, int]) -> None:
        for p, v in self.program.params.items():
            if params.get(p, v) != v:
                raise CodegenError(f"this kernel was specialised for {p}={v}, called with {p}={params[p]}")

    # -- GPU
    def _load(self) -> Any:
        rt = _Runtime.get()
        if self._module is None:
            try:
                self._module = rt.drv.module_from_buffer(self.ptx.encode())
            except Exception as e:
                raise CodegenError(f"loading the PTX failed: {e}") from e
            for k in self.program.kernels:
                f = self._module.get_function(k.name)
                sig = kernel_signature(self.program, k)
                f.prepare("".join(_fmt(a) for a in sig))
                self._funcs[k.name] = f
                self._signatures[k.name] = sig
        return rt

    @property
    def _first_kernel_name(self) -> str:
        """What a timeout message calls the program."""
        return self.program.kernels[0].name if self.program.kernels else "kernel"

    def __call__(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> None:
        """Run on the GPU, numpy arrays updated in place. timeout: seconds the kernels may take
        (KernelTimeoutError beyond; the device may still be busy with them)."""
        rt = self._load()
        params, scalars, arrays = bind(self.scop, args, kwargs)
        self._check_params(params)
        ptrs, back, keep = self._device_arrays(rt, arrays, params)
        done = rt.drv.Event()
        self._run(params, scalars, ptrs)
        done.record()
        wait_for(done, timeout, self._first_kernel_name)
        for name, (host, dev) in back.items():
            rt.drv.memcpy_dtoh(host, dev)
        del keep

    def benchmark(self, *args: Any, repeat: int = 5, warmup: int = 1, timeout: float | None = None,
                  hide_launch: bool = True, **kwargs: Any) -> list[float]:
        """Seconds per call of the whole program (host loops included), timed with CUDA events; data
        stays on the device between repetitions. timeout: seconds one call may take (see __call__).

        hide_launch: the GPU time of the call's kernels (and the gaps between them), without the host's
        time to issue the first launch: a busy-wait kernel keeps the stream occupied while the host
        enqueues the call (timing.py). False: from the host's start of the call to the end of its last
        kernel, launch overhead included."""
        rt = self._load()
        params, scalars, arrays = bind(self.scop, args, kwargs)
        self._check_params(params)
        ptrs, _back, keep = self._device_arrays(rt, arrays, params)
        name = self._first_kernel_name
        start, end = rt.drv.Event(), rt.drv.Event()
        times = []
        host_seconds: float | None = None
        for i in range(warmup + repeat):
            if hide_launch:
                rt.busy_wait(spin_for(host_seconds))
            start.record()
            t0 = time.perf_counter()
            self._run(params, scalars, ptrs)
            host_seconds = time.perf_counter() - t0
            end.record()
            wait_for(end, timeout, name)
            if i >= warmup:
                times.append(end.time_since(start) / 1000.0)
        del keep
        return times

    def _device_arrays(self, rt: _Runtime, arrays: Mapping[str, Any], params: Mapping[str, int]):
        drv = rt.drv
        ptrs: dict[str, int] = {}
        back: dict[str, tuple] = {}
        keep: list = []
        written = {a for k in self.program.kernels for a in k.written}
        for name, v in arrays.items():
            if hasattr(v, "__cuda_array_interface__"):
                ptrs[name] = int(v.__cuda_array_interface__["data"][0])
                continue
            host = np.ascontiguousarray(v)
            if host is not v and name in written:
                raise ArgumentError(f"array {name} is written: pass a C-contiguous array")
            dev = drv.mem_alloc(max(host.nbytes, 1))
            drv.memcpy_htod(dev, host)
            keep.append(dev)
            ptrs[name] = int(dev)
            if name in written:
                back[name] = (host, dev)
        for a in self.scop.local_arrays:
            n = 1
            for s in a.shape:
                n *= eval_int(s, params)
            dev = drv.mem_alloc(max(n * a.dtype.itemsize, 1))
            drv.memset_d8(dev, 0, max(n * a.dtype.itemsize, 1))
            keep.append(dev)
            ptrs[a.name] = int(dev)
        return ptrs, back, keep

    def _run(self, params: Mapping[str, int], scalars: Mapping[str, Any], ptrs: Mapping[str, int]) -> None:
        prog = self.program
        env: dict[str, int] = {**prog.params, **params}
        run_host(prog, env, lambda k, env: self._launch(prog.kernels[k], env, scalars, ptrs))

    def _grid(self, k, env: Mapping[str, int]) -> tuple[int, ...]:
        """The launch grid; computed once when it depends on the specialised sizes only."""
        grid = self._grids.get(k.name)
        if grid is None:
            grid = tuple(eval_int(ext, env) for _lo, ext in k.grid)
            if all(X.free_vars(ext) <= self.program.params.keys() for _lo, ext in k.grid):
                self._grids[k.name] = grid
        return grid

    def _launch(self, k, env, scalars, ptrs) -> None:
        grid = self._grid(k, env)
        if min(grid) <= 0:
            return
        vals = []
        for a in self._signatures[k.name]:
            if a.kind == "array":
                vals.append(ptrs[a.name])
            elif a.kind == "scalar":
                vals.append(_NP[a.dtype](scalars[a.name]))
            else:
                vals.append(int(env[a.name]))
        try:
            self._funcs[k.name].prepared_call(grid, k.block, *vals)
        except Exception as e:
            raise CodegenError(f"launching {k.name} (grid {grid}, block {k.block}) failed: {e}") from e


def _fmt(a) -> str:
    if a.kind == "array":
        return "P"
    if a.kind == "scalar":
        return {DType.FLOAT32: "f", DType.FLOAT64: "d", DType.INT32: "i", DType.INT64: "q",
                DType.BOOL: "B"}[a.dtype]
    return "i" if a.ctype == "int" else "q"


def compile_cuda(scop: Scop, schedule_tree: Any, *, params: Mapping[str, int] | None = None,
                 options: GpuMapping | Mapping[str, Any] | None = None, deps: Any = None,
                 arch: str = "sm_90") -> CudaKernel:
    """Map a schedule to the GPU, generate CUDA C, and return the (lazily compiled) kernel.

    params: size values to specialise for (constant bounds: faster code; the kernel then only accepts
    these sizes); None gives a size-generic kernel. options: GpuMapping or a dict of its fields."""
    if isinstance(options, Mapping):
        options = GpuMapping(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
    options = options or GpuMapping()
    mapped = map_to_gpu(scop, schedule_tree, deps, options, params=params)
    prog = build_loop_ast(scop, mapped, params)
    gp = build_gpu_program(prog, options)  # loop_ast attaches each mark to its own loop only
    src = print_program(gp)
    return CudaKernel(scop, gp, src, mapped, arch)
