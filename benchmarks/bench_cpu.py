"""CPU gemm benchmark (not a test): C = alpha*A*B + beta*C through polyopt's LLVM backend under the
baseline schedules and a hand-written register-tiled schedule, against numpy.matmul (OpenBLAS, 1 and 2
threads), gcc -O3 -march=native and clang-19 -O3 -march=native -mllvm -polly on the same C loop nest.

    python benchmarks/bench_cpu.py [--sizes 1024 2048] [--dtypes float64 float32] [--repeats 3]

Prints GFLOP/s (2*N^3 / median time). Run it on a quiet machine: timings of parallel code in particular
are meaningless while other processes use the cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

import islpy as isl
import numpy as np
from polyopt.codegen.api import compile as compile_kernel
from polyopt.codegen.c_printer import print_c
from polyopt.codegen.c_runner import compile_shared, load_function
from polyopt.codegen.common import abi_arguments
from polyopt.codegen.loop_ast import build_loop_ast

from polyopt.builder import build_scop
from polyopt.expr import Access, Binary, Compare, Const, DType, Var
from polyopt.frontend.tree import Argument, ArrayDecl, Assign, KernelSource, Loop
from polyopt.model import Scop

# register tile (mr x nr) and cache tiles per element type, found by a small sweep on the 2-core host
TILES = {"float64": dict(mc=64, nc=512, kc=128, mr=4, nr=32), "float32": dict(mc=64, nc=256, kc=256, mr=4, nr=64)}


def gemm_scop(dtype: DType) -> Scop:
    """PolyBench gemm (i, then j: C *= beta; k, j: C += alpha*A*B), built directly from the loop tree."""
    def acc(a: str, *ix: str) -> Access:
        return Access(a, tuple(Var(i) for i in ix))

    def loop(i: str, n: str, body: tuple) -> Loop:  # type: ignore[type-arg]
        return Loop(i, Const(0), Compare("<", Var(i), Var(n)), 1, body)

    args = tuple(Argument(n, "param", DType.INT64) for n in ("ni", "nj", "nk")) + (
        Argument("alpha", "scalar", dtype), Argument("beta", "scalar", dtype),
        Argument("C", "array", dtype), Argument("A", "array", dtype), Argument("B", "array", dtype))
    arrays = (ArrayDecl("C", dtype, (Var("ni"), Var("nj"))), ArrayDecl("A", dtype, (Var("ni"), Var("nk"))),
              ArrayDecl("B", dtype, (Var("nk"), Var("nj"))))
    update = Binary("+", acc("C", "i", "j"), Binary("*", Binary("*", Var("alpha"), acc("A", "i", "k")),
                                                     acc("B", "k", "j")))
    body = (loop("i", "ni", (loop("j", "nj", (Assign(acc("C", "i", "j"),
                                                      Binary("*", acc("C", "i", "j"), Var("beta"))),)),
                             loop("k", "nk", (loop("j", "nj", (Assign(acc("C", "i", "j"), update),)),)))),)
    return build_scop(KernelSource("gemm", args, arrays, body))


def register_tiled(scop: Scop, *, mc: int, nc: int, kc: int, mr: int, nr: int, parallel: bool) -> isl.Schedule:
    """S0 (C *= beta) first, then S1 under (it | jt, kt | ir, jr | k | i [unroll:mr] | j [unroll:nr]):
    cache tiles mc x nc x kc, and a constant mr x nr point nest that LLVM unrolls into a register tile."""
    prefix = "[ni, nj, nk] -> "
    d0 = scop.domain.intersect(isl.UnionSet(prefix + "{ S0[i, j] }"))
    d1 = scop.domain.intersect(isl.UnionSet(prefix + "{ S1[i, k, j] }"))
    s0 = isl.Schedule.from_domain(d0).insert_partial_schedule(
        isl.MultiUnionPwAff(prefix + "[{ S0[i, j] -> [(i)] }, { S0[i, j] -> [(j)] }]"))

    def band(*exprs: str) -> isl.MultiUnionPwAff:
        return isl.MultiUnionPwAff(prefix + "[%s]" % ", ".join("{ S1[i, k, j] -> [(%s)] }" % e for e in exprs))

    node = isl.Schedule.from_domain(d1).get_root().child(0)
    node = node.insert_partial_schedule(band(f"j - {nr}*floor(j/{nr})")).insert_mark(isl.Id(f"unroll:{nr}"))
    node = node.insert_partial_schedule(band(f"i - {mr}*floor(i/{mr})")).insert_mark(isl.Id(f"unroll:{mr}"))
    node = node.insert_partial_schedule(band("k"))
    node = node.insert_partial_schedule(band(f"floor(i/{mr})", f"floor(j/{nr})"))
    node = node.insert_partial_schedule(band(f"floor(j/{nc})", f"floor(k/{kc})"))
    node = node.insert_partial_schedule(band(f"floor(i/{mc})"))
    if parallel:
        node = node.insert_mark(isl.Id("parallel"))
    return s0.sequence(node.get_schedule())


def median_time(run: Callable[[], None], repeats: int) -> float:
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    times = [first]
    for _ in range(repeats - 1 if first < 5 else 0):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def baseline_schedules(scop: Scop) -> dict[str, object]:
    try:
        from polyopt.schedulers import schedule as run_scheduler
    except ImportError:
        from polyopt.dataflow import dependences
        deps = dependences(scop)
        sc = isl.ScheduleConstraints.on_domain(scop.domain).set_context(scop.context)
        sc = sc.set_validity(deps.all).set_proximity(deps.all).set_coincidence(deps.raw)
        return {"original": "original", "isl": sc.compute_schedule()}
    out: dict[str, object] = {}
    for name in ("original", "isl", "pluto", "polly"):
        try:
            out[name] = run_scheduler(scop, name)
        except Exception as e:  # noqa: BLE001 - a missing baseline is reported, not fatal
            print(f"  note: scheduler {name} failed: {e}", file=sys.stderr)
    return out


NUMPY_SNIPPET = """
import sys, time, numpy as np
n, dt, reps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0); A = rng.random((n, n)).astype(dt); B = rng.random((n, n)).astype(dt)
C = np.empty((n, n), dt); np.matmul(A, B, out=C); ts = []
for _ in range(reps):
    t = time.perf_counter(); np.matmul(A, B, out=C); ts.append(time.perf_counter() - t)
print(float(np.median(ts)))
"""


def numpy_time(n: int, dtype: str, threads: int, repeats: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", NUMPY_SNIPPET, str(n), dtype, str(repeats)], env=env,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def c_variants(scop: Scop) -> dict[str, tuple[str, tuple[str, ...]]]:
    out = {}
    if shutil.which("gcc"):
        out["gcc -O3 -march=native"] = ("gcc", ("-O3", "-march=native", "-fPIC"))
    if shutil.which("clang-19"):
        out["clang-19 -O3 -march=native -polly"] = ("clang-19", ("-O3", "-march=native", "-fPIC", "-mllvm",
                                                                   "-polly"))
    return out


def bench_one(dtype: str, n: int, repeats: int) -> dict[str, float]:
    dt = DType(dtype)
    scop = gemm_scop(dt)
    rng = np.random.default_rng(1)
    A, B, C0 = (rng.random((n, n)).astype(dtype) for _ in range(3))
    ref = 1.5 * (A.astype(np.float64) @ B.astype(np.float64)) + 0.5 * C0
    rtol = 1e-9 if dt == DType.FLOAT64 else 1e-4
    flops = 2.0 * n ** 3
    results: dict[str, float] = {}
    params = dict(ni=n, nj=n, nk=n)

    def measure(label: str, fn: Callable[[np.ndarray], None]) -> None:
        C = C0.copy()
        fn(C)
        if not np.allclose(C, ref, rtol=rtol, atol=rtol * n):
            print(f"  WARNING: {label} gives wrong results", file=sys.stderr)
        results[label] = flops / median_time(lambda: fn(C0.copy()), repeats) / 1e9
        print(f"  {dtype} N={n} {label}: {results[label]:.1f} GFLOP/s", file=sys.stderr, flush=True)

    for name, sched in baseline_schedules(scop).items():
        k = compile_kernel(scop, sched, "cpu", params=params, threads=1)
        measure(f"polyopt {name} (1 thread)", lambda C, k=k: k(n, n, n, 1.5, 0.5, C, A, B))
    for threads in (1, 2):
        k = compile_kernel(scop, register_tiled(scop, **TILES[dtype], parallel=True), "cpu", params=params,
                           threads=threads)
        measure(f"polyopt register-tiled ({threads} thread{'s' * (threads > 1)})",
                lambda C, k=k: k(n, n, n, 1.5, 0.5, C, A, B))
    source = print_c(build_loop_ast(scop, isl.Schedule.from_domain(scop.domain).insert_partial_schedule(
        isl.MultiUnionPwAff.from_union_map(scop.schedule_map))), specialized=False)
    argtypes = [a.ctype for a in abi_arguments(scop)]
    for label, (cc, flags) in c_variants(scop).items():
        fn = load_function(compile_shared(source, flags=flags, compiler=cc), "kernel", argtypes)
        measure(label, lambda C, fn=fn: fn(n, n, n, 1.5, 0.5, C.ctypes.data, A.ctypes.data, B.ctypes.data))
    for threads in (1, 2):
        results[f"numpy.matmul ({threads} thread{'s' * (threads > 1)})"] = flops / numpy_time(
            n, dtype, threads, max(repeats, 3)) / 1e9
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    columns = [(d, n) for d in args.dtypes for n in args.sizes]
    table: dict[str, dict[tuple[str, int], float]] = {}
    for d, n in columns:
        for label, gf in bench_one(d, n, args.repeats).items():
            table.setdefault(label, {})[(d, n)] = gf
    head = "| variant | " + " | ".join(f"{d} N={n}" for d, n in columns) + " |"
    print("GFLOP/s, median of repeats (2*N^3 / time)\n" + head)
    print("|" + "---|" * (len(columns) + 1))
    for label, row in table.items():
        print(f"| {label} | " + " | ".join(f"{row[c]:.1f}" if c in row else "-" for c in columns) + " |")


if __name__ == "__main__":
    main()
