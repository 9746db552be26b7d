"""What calling a compiled kernel from Python costs beyond its own run (not a test).

    python benchmarks/call_overhead.py [--arrays 2,6] [--calls 20000]

For an axpy-like kernel over tiny arrays (16 elements, so the loop itself takes well under a microsecond)
with 2..N arrays, prints the median over 5 batches of: a call by keyword (sizes read off the shapes), a
positional call, and the bare ctypes call of the compiled function with prepared arguments (what is left
when every argument check is skipped). The difference is the binding's checks: dtypes, shapes,
contiguity, writeability, the kernel's assumptions on the sizes, and overlap of written arrays.
"""
from __future__ import annotations

import argparse
import statistics
import textwrap
import timeit

import numpy as np


def kernel_source(n_arrays: int) -> str:
    """def kern(n, a, x0 .. x{k-1}): x{k-1}[i] += a * (x0[i] + ... + x{k-2}[i])."""
    names = [f"x{j}" for j in range(n_arrays)]
    args = ", ".join(f'{x}: "float64[n]"' for x in names)
    total = " + ".join(f"{x}[i]" for x in names[:-1])
    return textwrap.dedent(f"""\
        def kern(n: int, a: float, {args}):
            for i in range(n):
                {names[-1]}[i] += a * ({total})
        """)


def per_call_us(fn, calls: int) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(timeit.repeat(fn, number=calls, repeat=5)) / calls * 1e6


def main() -> None:
    import polyopt

    ap = argparse.ArgumentParser()
    ap.add_argument("--arrays", default="2,6", help="comma-separated array counts")
    ap.add_argument("--calls", type=int, default=20000)
    args = ap.parse_args()
    print("arrays | keyword call (us) | positional call (us) | bare ctypes call (us)")
    for n_arrays in (int(a) for a in args.arrays.split(",")):
        scop = polyopt.from_python_source(kernel_source(n_arrays))
        kernel = polyopt.compile(scop, polyopt.schedule(scop, "original"))
        arrays = {f"x{j}": np.random.rand(16) for j in range(n_arrays)}
        positional = (16, 1.5, *arrays.values())
        kernel(a=1.5, **arrays)
        bound = kernel.bind(a=1.5, **arrays)
        native, c_args = kernel.native(bound.params), kernel.c_arguments(bound)
        kw = per_call_us(lambda: kernel(a=1.5, **arrays), args.calls)
        pos = per_call_us(lambda: kernel(*positional), args.calls)
        bare = per_call_us(lambda: native(*c_args), args.calls)
        print(f"{n_arrays} | {kw:.2f} | {pos:.2f} | {bare:.2f}")


if __name__ == "__main__":
    main()
