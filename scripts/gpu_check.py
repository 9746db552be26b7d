#!/usr/bin/env python3
"""GPU check of polyopt's CUDA backend (run on a lent H100/H200; finishes in < 5 minutes).

Sections (each time-boxed, each in try/except so one failure does not stop the rest):
  a) correctness of generated kernels vs numpy / the reference interpreter at small sizes
  b) sgemm / dgemm at 1024, 2048, 4096 with a few mapping configs vs torch.matmul (TF32 off)
  c) the 12 ResNet-18 conv layers (batch 1, fp32, NCHW, pad K//2) vs torch conv2d (cuDNN)
  d) jacobi-2d vs a hand-written CUDA kernel
Prints progress; writes a JSON summary to $OUT/gpu_results.json when $OUT is set.

Run from the repository root (after the wheels in ../shared/wheels/device-cp312 are installed):
  python3 scripts/gpu_check.py [a b c d]     (the sections to run; all by default)
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T0 = time.time()
RESULTS: dict = {"sections": {}, "errors": []}


def say(*a) -> None:
    print(f"[{time.time() - T0:6.1f}s]", *a, flush=True)


def _bootstrap() -> None:
    """Import polyopt from the checkout even when it is not pip-installed (codegen/ -> polyopt.codegen)."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "unit"))
    # always this checkout's codegen/search (an editable install may map polyopt.codegen elsewhere)
    if "polyopt.codegen" in sys.modules:
        return
    for name, folder in (("polyopt.codegen", ROOT / "codegen"), ("polyopt.search", ROOT / "search")):
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)


_bootstrap()

import numpy as np
from polyopt.codegen.cuda import GpuMapping, compile_cuda, original_schedule

from polyopt.builder import build_scop
from polyopt.expr import Access, Binary, Compare, Const, DType, Var
from polyopt.frontend.tree import Argument, ArrayDecl, Assign, KernelSource, Loop


def section(name: str, budget: float):
    def deco(fn):
        def run():
            say(f"=== {name} (budget {budget:.0f}s)")
            t = time.time()
            out: dict = {"rows": []}
            RESULTS["sections"][name] = out
            try:
                fn(out, t + budget)
            except Exception as e:  # keep going
                out["error"] = f"{type(e).__name__}: {e}"
                RESULTS["errors"].append(f"{name}: {out['error']}")
                traceback.print_exc()
            out["seconds"] = round(time.time() - t, 1)
            say(f"=== {name} done in {out['seconds']}s")
        return run
    return deco


_NS_PER_SLEEP_CYCLE: list[float] = []


def _torch_busy_wait(ns: int) -> None:
    """torch.cuda._sleep for about `ns` nanoseconds (its unit is clock cycles: calibrated once)."""
    import torch
    if not _NS_PER_SLEEP_CYCLE:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda._sleep(1000)
        a.record()
        torch.cuda._sleep(2_000_000)
        b.record()
        b.synchronize()
        _NS_PER_SLEEP_CYCLE.append(a.elapsed_time(b) * 1e6 / 2_000_000)
    torch.cuda._sleep(max(1, int(ns / _NS_PER_SLEEP_CYCLE[0])))


def torch_time(fn, reps: int = 20, hide_launch: bool = True) -> float:
    """Median seconds of one call of a torch function between CUDA events. hide_launch: GPU time only: a
    busy-wait keeps the stream occupied while the host issues the call, exactly as CudaKernel.benchmark
    does for polyopt's kernels (polyopt.codegen.cuda.timing); False: launch overhead included."""
    import torch
    from polyopt.codegen.cuda.timing import spin_for
    fn()
    torch.cuda.synchronize()
    ts = []
    host = None
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        if hide_launch:
            _torch_busy_wait(spin_for(host))
        a.record()
        t0 = time.perf_counter()
        fn()
        host = time.perf_counter() - t0
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) / 1000)
    return float(np.median(ts))


def cudnn_conv_time(x, w, stride: int, pad: int, hide_launch: bool = True) -> tuple[float, dict]:
    """cuDNN's time for a conv2d: the faster of torch's heuristic algorithm choice (cudnn.benchmark=False,
    torch's default) and cuDNN's own autotuning (benchmark=True). Returns (seconds, {mode: seconds})."""
    import torch
    import torch.nn.functional as Fn
    times = {}
    before = torch.backends.cudnn.benchmark
    try:
        for mode in (False, True):
            torch.backends.cudnn.benchmark = mode
            Fn.conv2d(x, w, stride=stride, padding=pad)      # autotunes here when mode is True
            times[f"benchmark={mode}"] = torch_time(lambda: Fn.conv2d(x, w, stride=stride, padding=pad),
                                                    hide_launch=hide_launch)
    finally:
        torch.backends.cudnn.benchmark = before
    return min(times.values()), times


# ------------------------------------------------------------------------------------------- kernels

V = Var


def _loop(v, hi, body):
    return Loop(v, Const(0), Compare("<", V(v), hi if not isinstance(hi, str) else V(hi)), 1, body)


def gemm_acc(dt: DType):
    a = lambda n, i, j: Access(n, (V(i), V(j)))
    src = KernelSource("sgemm" if dt == DType.FLOAT32 else "dgemm",
                       (Argument("N", "param", DType.INT64), Argument("C", "array", dt),
                        Argument("A", "array", dt), Argument("B", "array", dt)),
                       tuple(ArrayDecl(n, dt, (V("N"), V("N"))) for n in "CAB"),
                       (_loop("i", "N", (_loop("j", "N", (_loop("k", "N", (
                           Assign(a("C", "i", "j"), Binary("+", a("C", "i", "j"),
                                                           Binary("*", a("A", "i", "k"), a("B", "k", "j")))),)),)),)),))
    return build_scop(src)


def conv(F, Cin, HO, K, s):
    """out[f][y][x] += W[f][c][ky][kx] * inp[c][y*s+ky][x*s+kx] over a pre-padded input."""
    dt = DType.FLOAT32
    HP = (HO - 1) * s + K
    y = Binary("+", Binary("*", Const(s), V("y")), V("ky"))
    x = Binary("+", Binary("*", Const(s), V("x")), V("kx"))
    out = Access("out", (V("f"), V("y"), V("x")))
    body = Assign(out, Binary("+", out, Binary("*", Access("W", (V("f"), V("c"), V("ky"), V("kx"))),
                                                 Access("inp", (V("c"), y, x)))))
    nest = _loop("f", Const(F), (_loop("y", Const(HO), (_loop("x", Const(HO), (_loop("c", Const(Cin), (
        _loop("ky", Const(K), (_loop("kx", Const(K), (body,)),)),)),)),)),))
    src = KernelSource("conv", (Argument("out", "array", dt), Argument("W", "array", dt),
                                Argument("inp", "array", dt)),
                       (ArrayDecl("out", dt, (Const(F), Const(HO), Const(HO))),
                        ArrayDecl("W", dt, (Const(F), Const(Cin), Const(K), Const(K))),
                        ArrayDecl("inp", dt, (Const(Cin), Const(HP), Const(HP)))), (nest,))
    return build_scop(src), HP


GEMM_CONFIGS = [     # the first 5 also run at n = 1024, 2048
    GpuMapping(tile=(128, 128), threads=(16, 16), seq_tile=8),      # 8x8/thread, swizzled A^T/B, k unrolled
    GpuMapping(tile=(128, 128), threads=(32, 8), seq_tile=8),
    GpuMapping(tile=(64, 64), threads=(16, 16), seq_tile=16),       # 4x4/thread
    GpuMapping(tile=(64, 256), threads=(8, 32), seq_tile=8),        # 8x8/thread, warp = 8x4 threads
    GpuMapping(tile=(128, 64), threads=(16, 8), seq_tile=8),        # 8x8/thread, 128 threads
    GpuMapping(tile=(128, 128), threads=(16, 16), seq_tile=8, coarsening="blocked"),
    GpuMapping(tile=(128, 128), threads=(16, 16), seq_tile=16),
]
GEMM_SPLITS = {1024: 4, 2048: 2}     # split-K variants of the first three configs at these sizes
DGEMM_CONFIGS = [    # doubles take 2 registers: smaller register tiles
    GpuMapping(tile=(64, 64), threads=(16, 16), seq_tile=16, shared_layout=False, unroll=1),  # best before
    GpuMapping(tile=(64, 64), threads=(16, 16), seq_tile=16),       # 4x4/thread
    GpuMapping(tile=(64, 64), threads=(16, 16), seq_tile=8),
    GpuMapping(tile=(32, 32), threads=(16, 16), seq_tile=16),       # 2x2/thread
    GpuMapping(tile=(64, 32), threads=(16, 16), seq_tile=16),       # 4x2
    GpuMapping(tile=(32, 64), threads=(8, 16), seq_tile=16),        # 4x4, 128 threads
    GpuMapping(tile=(64, 128), threads=(16, 16), seq_tile=8),       # 4x8
]


def gemm_configs(dt: DType, n: int) -> list:
    base = GEMM_CONFIGS if dt == DType.FLOAT32 else DGEMM_CONFIGS
    cfgs = list(base if n == 4096 else base[:5])
    if n in GEMM_SPLITS:
        cfgs += [replace(c, split=GEMM_SPLITS[n]) for c in base[:3]]
    return cfgs


def prebuild(jobs: list, workers: int = 12) -> list:
    """compile_cuda every (scop, params, options) job here (isl: one thread), then nvcc + ptxas in a
    thread pool (one job per distinct source); returns the kernels, or the exception of each job."""
    from concurrent.futures import ThreadPoolExecutor
    kernels = []
    for scop, params, opts in jobs:
        try:
            kernels.append(compile_cuda(scop, original_schedule(scop), params=params, options=opts))
        except Exception as e:  # noqa: BLE001
            kernels.append(e)
    unique = list({k.cuda_source: k for k in kernels if not isinstance(k, Exception)}.values())

    def ptx(k):
        try:
            k.can_launch()
        except Exception:  # noqa: BLE001 - reported again when the job runs
            pass
    with ThreadPoolExecutor(max_workers=workers) as ex:
        list(ex.map(ptx, unique))
    return kernels


def _res_text(cfg: dict) -> str:
    res = list(cfg.get("resources", {}).values())
    if not res:
        return ""
    r = res[0]
    return f"[{r['registers']} regs, {r['shared_bytes']} B smem, {r['spill_stores']} B spills]"


@section("a_correctness", 50)
def correctness(out, deadline):
    import cuda_scops as S
    from polyopt.codegen.cuda.emulate import _NP, eval_int
    from polyopt.codegen.loop_ast import build_loop_ast
    cases = [("gemm_f32", S.gemm(DType.FLOAT32), {"N": 67}, None), ("gemm_f64", S.gemm(DType.FLOAT64), {"N": 67}, None),
             ("gemm_acc", S.gemm_acc(DType.FLOAT32), {"N": 130}, None), ("2mm", S.mm2(), {"N": 45}, None),
             ("jacobi2d", S.jacobi2d(), {"N": 40, "T": 4}, None)]
    cases += _suite_cases()
    for name, scop, params, inputs in cases:
        if time.time() > deadline:
            out["rows"].append({"kernel": name, "status": "skipped (time box)"})
            continue
        for opts in (GpuMapping(), GpuMapping(tile=(64, 64), threads=(16, 16), seq_tile=8)):
            row = {"kernel": name, "options": opts.to_dict(), "params": params}
            try:
                rng = np.random.default_rng(0)
                if inputs is None:
                    arrays = {a.name: rng.random(tuple(eval_int(x, params) for x in a.shape)).astype(_NP[a.dtype])
                              for a in scop.array_arguments}
                    scalars = {a.name: 1.5 for a in scop.scalar_arguments}
                else:
                    arrays = {a.name: np.array(inputs[a.name], copy=True) for a in scop.array_arguments}
                    scalars = {a.name: inputs[a.name] for a in scop.scalar_arguments}
                ref = {k: v.copy() for k, v in arrays.items()}
                from polyopt.interpret import run_loop_program as interpret
                interpret(build_loop_ast(scop, original_schedule(scop), params), ref, scalars)
                k = compile_cuda(scop, original_schedule(scop), params=params, options=opts)
                args = {**arrays, **scalars, **params}
                k(**args)
                err = max(float(np.max(np.abs(arrays[n].astype(np.float64) - ref[n]) / (1 + np.abs(ref[n]))))
                          if arrays[n].size else 0.0 for n in ref)
                row.update(status="ok" if err < 1e-3 else "WRONG", max_rel_err=err)
            except Exception as e:
                row.update(status="error", error=f"{type(e).__name__}: {e}")
            say(name, row.get("status"), row.get("max_rel_err", row.get("error", "")))
            out["rows"].append(row)


def _suite_cases():
    """Every suite kernel through the Python frontend (no C preprocessor needed), MINI sizes, valid inputs."""
    out = []
    try:
        from polyopt import kernels as K
        from polyopt.frontend.python_frontend import from_python
        for k in K.suite():
            try:
                scop = from_python(K.python_function(k.name))
                # gramschmidt's MINI has m < n: the trailing columns are rounding noise; use m > n
                size = {"m": 30, "n": 20} if k.name == "gramschmidt" else "MINI"
                inputs = K.make_inputs(k.name, size, seed=0)
                params = {p: int(inputs[p]) for p in scop.params}
                out.append((f"suite:{k.name}", scop, params, inputs))
            except Exception as e:
                say("suite kernel", k.name, "unavailable:", e)
    except Exception as e:
        say("kernel suite unavailable:", e)
    return out


@section("b_gemm", 90)
def gemm_bench(out, deadline):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for dt, tdt in ((DType.FLOAT32, torch.float32), (DType.FLOAT64, torch.float64)):
        scop = gemm_acc(dt)
        for n in (1024, 2048, 4096):
            if time.time() > deadline:
                out["rows"].append({"dtype": dt.value, "n": n, "status": "skipped (time box)"})
                continue
            A = torch.rand(n, n, device="cuda", dtype=tdt)
            B = torch.rand(n, n, device="cuda", dtype=tdt)
            t_cublas = torch_time(lambda: torch.matmul(A, B))
            ref = torch.matmul(A, B)
            flops = 2.0 * n ** 3
            row = {"dtype": dt.value, "n": n, "cublas_s": t_cublas, "cublas_tflops": flops / t_cublas / 1e12,
                   "configs": []}
            best = None
            configs = gemm_configs(dt, n)
            built = prebuild([(scop, {"N": n}, o) for o in configs])
            for opts, k in zip(configs, built):
                if time.time() > deadline:
                    break
                cfg = {"options": opts.to_dict()}
                try:
                    if isinstance(k, Exception):
                        raise k
                    ok, why = k.can_launch()
                    cfg["resources"] = {kk: r.__dict__ for kk, r in k.resources.items()}
                    if not ok:
                        cfg["status"] = f"cannot launch: {why}"
                        row["configs"].append(cfg)
                        continue
                    C = torch.zeros(n, n, device="cuda", dtype=tdt)
                    k(N=n, C=C, A=A, B=B)
                    torch.cuda.synchronize()
                    err = float((C - ref).abs().max() / ref.abs().max())
                    ts = k.benchmark(N=n, C=C, A=A, B=B, repeat=10, warmup=2)
                    t = float(np.median(ts))
                    cfg.update(status="ok" if err < 1e-4 else "WRONG", rel_err=err, seconds=t,
                               tflops=flops / t / 1e12, pct_cublas=100 * t_cublas / t)
                    if best is None or t < best:
                        best = t
                except Exception as e:
                    cfg.update(status="error", error=f"{type(e).__name__}: {e}")
                say(dt.value, n, cfg.get("status"), f"{cfg.get('tflops', 0):.2f} TFLOP/s",
                    f"{cfg.get('pct_cublas', 0):.0f}% of cuBLAS ({row['cublas_tflops']:.1f})", opts.tile,
                    opts.threads, opts.seq_tile, opts.coarsening, f"split {opts.split}", _res_text(cfg),
                    cfg.get("error", ""))
                row["configs"].append(cfg)
            if best:
                row["best_tflops"] = flops / best / 1e12
                row["best_pct_cublas"] = 100 * t_cublas / best
                say(f"{dt.value} n={n}: best {row['best_tflops']:.2f} TFLOP/s = {row['best_pct_cublas']:.0f}% of "
                    f"cuBLAS ({row['cublas_tflops']:.2f})")
            out["rows"].append(row)


RESNET = [("C1", 224, 3, 64, 7, 2), ("C2", 56, 64, 64, 3, 1), ("C3", 56, 64, 64, 1, 1), ("C4", 56, 64, 128, 3, 2),
          ("C5", 56, 64, 128, 1, 2), ("C6", 28, 128, 128, 3, 1), ("C7", 28, 128, 256, 3, 2),
          ("C8", 28, 128, 256, 1, 2), ("C9", 14, 256, 256, 3, 1), ("C10", 14, 256, 512, 3, 2),
          ("C11", 14, 256, 512, 1, 2), ("C12", 7, 512, 512, 3, 1)]
CONV_CONFIGS = [     # tile/threads in (x, y, f) order; c tiled by seq_tile; ky, kx loops below
    GpuMapping(tile=(16, 8, 8), threads=(16, 8, 2), seq_tile=8),      # best before on 5 layers
    GpuMapping(tile=(8, 8, 32), threads=(8, 8, 4), seq_tile=16),      # best before on C1, C3
    GpuMapping(tile=(4, 4, 64), threads=(4, 4, 16), seq_tile=16),     # best before on C11
]


def conv_configs(scop) -> list:
    """The fixed configs plus the GPU search's seed mappings of this layer (split-K ones included)."""
    from polyopt.search.gpu import GpuSpace
    space = GpuSpace(scop, {})
    return CONV_CONFIGS + [space.mapping(p) for p in space.seed_points()]


@section("c_resnet_conv", 150)
def resnet(out, deadline):
    import torch
    import torch.nn.functional as Fn
    torch.backends.cudnn.allow_tf32 = False
    per_layer = max(5.0, (deadline - time.time()) / len(RESNET))
    for name, H, Cin, F, K, s in RESNET:
        if time.time() > deadline:
            out["rows"].append({"layer": name, "status": "skipped (time box)"})
            continue
        layer_deadline = min(deadline, time.time() + per_layer)
        pad = K // 2
        HO = (H + 2 * pad - K) // s + 1
        x = torch.rand(1, Cin, H, H, device="cuda")
        w = torch.rand(F, Cin, K, K, device="cuda")
        t_cudnn, _modes = cudnn_conv_time(x, w, s, pad)
        ref = Fn.conv2d(x, w, stride=s, padding=pad)[0]
        scop, HP = conv(F, Cin, HO, K, s)
        xp = Fn.pad(x, (pad, pad, pad, pad))[0][:, :HP, :HP].contiguous()
        row = {"layer": name, "cudnn_us": t_cudnn * 1e6, "configs": []}
        best = None
        configs = conv_configs(scop)
        built = prebuild([(scop, {}, o) for o in configs])
        for opts, k in zip(configs, built):
            if time.time() > layer_deadline:
                break
            cfg = {"options": opts.to_dict()}
            try:
                if isinstance(k, Exception):
                    raise k
                ok, why = k.can_launch()
                cfg["resources"] = {kk: r.__dict__ for kk, r in k.resources.items()}
                if not ok:
                    cfg["status"] = f"cannot launch: {why}"
                    row["configs"].append(cfg)
                    continue
                o = torch.zeros(F, HO, HO, device="cuda")
                k(out=o, W=w.contiguous(), inp=xp)
                torch.cuda.synchronize()
                err = float((o - ref).abs().max() / ref.abs().max())
                t = float(np.median(k.benchmark(out=o, W=w, inp=xp, repeat=30, warmup=3)))
                cfg.update(status="ok" if err < 1e-4 else "WRONG", rel_err=err, us=t * 1e6,
                           vs_cudnn=t_cudnn / t)
                if cfg["status"] == "ok" and (best is None or t < best):
                    best = t
            except Exception as e:
                cfg.update(status="error", error=f"{type(e).__name__}: {e}")
            say("  ", name, opts.tile, opts.threads, opts.seq_tile, f"split {opts.split}", cfg.get("status"),
                f"{cfg.get('us', 0):.1f} us", f"{cfg.get('vs_cudnn', 0):.2f}x cuDNN", _res_text(cfg),
                cfg.get("error", "")[:200])
            row["configs"].append(cfg)
        if best:
            row["best_us"] = best * 1e6
            row["best_vs_cudnn"] = t_cudnn / best
        say(name, f"cuDNN {t_cudnn * 1e6:.1f} us", f"best {row.get('best_us', float('nan')):.1f} us",
            [c.get("status") for c in row["configs"]])
        out["rows"].append(row)
    ratios = [r["best_vs_cudnn"] for r in out["rows"] if r.get("best_vs_cudnn")]
    if ratios:
        out["geomean_vs_cudnn"] = float(np.exp(np.mean(np.log(ratios))))
        say(f"conv layers: best of the configs = {out['geomean_vs_cudnn']:.2f}x cuDNN's speed (geomean over "
            f"{len(ratios)} layers)")


HAND_JACOBI = r"""
extern "C" __global__ void jac(const float* __restrict__ A, float* __restrict__ B, int n) {
  int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y * blockDim.y + threadIdx.y;
  if (i >= 1 && i < n - 1 && j >= 1 && j < n - 1)
    B[i * n + j] = 0.2f * (A[i * n + j] + A[i * n + j - 1] + A[i * n + j + 1] + A[(i + 1) * n + j] + A[(i - 1) * n + j]);
}
"""


@section("d_stencils", 60)
def stencils(out, deadline):
    import cuda_scops as S
    import torch
    from pycuda.compiler import SourceModule
    n, T = 4096, 10
    scop = S.jacobi2d(DType.FLOAT32)
    A = torch.rand(n, n, device="cuda")
    B = torch.rand(n, n, device="cuda")
    mod = SourceModule(HAND_JACOBI, no_extern_c=True, options=["-O3"])
    jac = mod.get_function("jac")
    grid = ((n + 31) // 32, (n + 7) // 8)

    def hand():
        for _ in range(T):
            jac(np.uintp(A.data_ptr()), np.uintp(B.data_ptr()), np.int32(n), block=(32, 8, 1), grid=grid)
            jac(np.uintp(B.data_ptr()), np.uintp(A.data_ptr()), np.int32(n), block=(32, 8, 1), grid=grid)
    t_hand = torch_time(hand, reps=5)
    row = {"kernel": "jacobi-2d", "n": n, "T": T, "hand_s": t_hand, "configs": []}
    for opts in (GpuMapping(tile=(32, 8), threads=(32, 8)), GpuMapping(tile=(64, 16), threads=(32, 8)),
                 GpuMapping(tile=(32, 8), threads=(32, 8), shared=False)):
        if time.time() > deadline:
            break
        cfg = {"options": opts.to_dict()}
        try:
            k = compile_cuda(scop, original_schedule(scop), params={"N": n, "T": T}, options=opts)
            t = float(np.median(k.benchmark(T=T, N=n, A=A, B=B, repeat=5, warmup=1)))
            cfg.update(status="ok", seconds=t, vs_hand=t_hand / t)
        except Exception as e:
            cfg.update(status="error", error=f"{type(e).__name__}: {e}")
        say("jacobi-2d", cfg.get("status"), f"{cfg.get('vs_hand', 0):.2f}x of hand-written")
        row["configs"].append(cfg)
    out["rows"].append(row)
    out["rows"].append(heat3d(deadline))


HAND_HEAT3D = r"""
extern "C" __global__ void heat(const double* __restrict__ A, double* __restrict__ B, int n) {
  int k = blockIdx.x * blockDim.x + threadIdx.x, j = blockIdx.y * blockDim.y + threadIdx.y, i = blockIdx.z;
  if (i >= 1 && i < n - 1 && j >= 1 && j < n - 1 && k >= 1 && k < n - 1) {
    long long c = ((long long)i * n + j) * n + k, p = (long long)n * n;
    B[c] = 0.125 * (A[c + p] - 2.0 * A[c] + A[c - p]) + 0.125 * (A[c + n] - 2.0 * A[c] + A[c - n])
         + 0.125 * (A[c + 1] - 2.0 * A[c] + A[c - 1]) + A[c];
  }
}
"""
HEAT3D_MAPPINGS = (GpuMapping(tile=(32, 8, 1), threads=(32, 8, 1)), GpuMapping(tile=(32, 8, 4), threads=(32, 8, 1)),
                   GpuMapping(tile=(64, 8, 1), threads=(32, 8, 1)), GpuMapping(tile=(32, 8, 1), threads=(32, 8, 1),
                                                                               shared=False),
                   GpuMapping(tile=(32, 4, 4), threads=(32, 4, 2), shared=False))


def heat3d(deadline: float) -> dict:
    """PolyBench heat-3d (float64, the suite's Python kernel) against a one-thread-per-point CUDA kernel:
    time and agreement of A after T steps."""
    import torch
    from polyopt import kernels as K
    from polyopt.frontend.python_frontend import from_python
    from pycuda.compiler import SourceModule
    n, T = 256, 10
    scop = from_python(K.python_function("heat-3d"))
    A0 = torch.rand(n, n, n, device="cuda", dtype=torch.float64)
    B0 = torch.rand(n, n, n, device="cuda", dtype=torch.float64)
    heat = SourceModule(HAND_HEAT3D, no_extern_c=True, options=["-O3"]).get_function("heat")
    grid = ((n + 31) // 32, (n + 7) // 8, n)

    def hand(A, B):
        for _ in range(T):
            heat(np.uintp(A.data_ptr()), np.uintp(B.data_ptr()), np.int32(n), block=(32, 8, 1), grid=grid)
            heat(np.uintp(B.data_ptr()), np.uintp(A.data_ptr()), np.int32(n), block=(32, 8, 1), grid=grid)
    A, B = A0.clone(), B0.clone()
    hand(A, B)
    torch.cuda.synchronize()
    want = A.clone()
    A, B = A0.clone(), B0.clone()
    t_hand = torch_time(lambda: hand(A, B), reps=5)
    row = {"kernel": "heat-3d", "n": n, "T": T, "dtype": "float64", "hand_s": t_hand, "configs": []}
    for opts in HEAT3D_MAPPINGS:
        if time.time() > deadline:
            break
        cfg = {"options": opts.to_dict()}
        try:
            k = compile_cuda(scop, original_schedule(scop), params={"tsteps": T, "n": n}, options=opts)
            A, B = A0.clone(), B0.clone()
            k(tsteps=T, n=n, A=A, B=B)
            torch.cuda.synchronize()
            err = float((A - want).abs().max() / want.abs().max())
            t = float(np.median(k.benchmark(tsteps=T, n=n, A=A, B=B, repeat=5, warmup=1)))
            cfg.update(status="ok" if err < 1e-12 else "WRONG", rel_err=err, seconds=t, vs_hand=t_hand / t)
        except Exception as e:
            cfg.update(status="error", error=f"{type(e).__name__}: {e}")
        say("heat-3d", opts.tile, opts.threads, "shared" if opts.shared else "no shared", cfg.get("status"),
            f"{cfg.get('vs_hand', 0):.2f}x of hand-written", cfg.get("error", "")[:200])
        row["configs"].append(cfg)
    return row


def compile_only() -> None:
    """Every GEMM/conv config through compile_cuda + nvcc + ptxas (no GPU): `gpu_check.py --compile-only`."""
    bad = 0
    jobs = [(f"{dt.value} n={n}", gemm_acc(dt), {"N": n}, o)
            for dt in (DType.FLOAT32, DType.FLOAT64) for n in (1024, 2048, 4096) for o in gemm_configs(dt, n)]
    for name, H, Cin, F, K, s in RESNET:
        pad = K // 2
        HO = (H + 2 * pad - K) // s + 1
        scop, _hp = conv(F, Cin, HO, K, s)
        jobs += [(name, scop, {}, o) for o in conv_configs(scop)]
    built = prebuild([(scop, params, opts) for _n, scop, params, opts in jobs])
    for (name, scop, params, opts), k in zip(jobs, built):
        cfg: dict = {}
        try:
            if isinstance(k, Exception):
                raise k
            ok, why = k.can_launch()
            cfg["resources"] = {kk: r.__dict__ for kk, r in k.resources.items()}
            status = "ok" if ok else f"cannot launch: {why}"
        except Exception as e:
            status = f"error {type(e).__name__}: {e}"[:300]
        bad += status != "ok"
        say(name, opts.tile, opts.threads, opts.seq_tile, opts.coarsening, f"split {opts.split}", status,
            _res_text(cfg))
    say(f"{len(jobs)} configs compiled, {bad} not launchable or failed")


def main() -> None:
    if "--compile-only" in sys.argv:
        compile_only()
        return
    try:
        import torch
        RESULTS["device"] = torch.cuda.get_device_name(0)
        say("device:", RESULTS["device"])
    except Exception as e:
        RESULTS["errors"].append(f"torch: {e}")
    chosen = [a for a in sys.argv[1:] if not a.startswith("-")]      # e.g. `gpu_check.py b c`: those only
    for key, fn in (("a", correctness), ("b", gemm_bench), ("c", resnet), ("d", stencils)):
        if not chosen or key in chosen:
            fn()
    RESULTS["total_seconds"] = round(time.time() - T0, 1)
    outdir = os.environ.get("OUT")
    if outdir:
        Path(outdir).mkdir(parents=True, exist_ok=True)
        Path(outdir, "gpu_results.json").write_text(json.dumps(RESULTS, indent=1, default=str))
        say("wrote", Path(outdir, "gpu_results.json"))
    print(json.dumps({k: v for k, v in RESULTS.items() if k != "sections"}, default=str))


if __name__ == "__main__":
    main()
