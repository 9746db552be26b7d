"""Tutorial 6 — comparing against gcc, GCC Graphite, clang, clang+Polly and numpy.

Run it:  python docs/tutorials/06_compare.py      (POLYOPT_DOCS_SMALL=1: two kernels, tiny sizes)
Same from the shell:  polyopt compare --kernels gemm,jacobi-2d,lu --size SMALL --out compare-out

polyopt.compare runs every contender in one harness on the same inputs: the C compilers build the very
C source of the kernel as shared libraries called through ctypes; polyopt's schedules go through its own
LLVM backend; numpy/BLAS formulations stand in for "call a library". Each contender's outputs are checked
against the unoptimised gcc -O2 build before any time counts; a contender that fails to build or gives a
wrong answer is reported, never timed; a compiler that is not installed is skipped with a note.
"""

import os
import tempfile
from pathlib import Path

from polyopt.compare import compare, write_report

SMALL = os.environ.get("POLYOPT_DOCS_SMALL") == "1"


def main() -> None:
    if SMALL:
        kernels, size, repeats, trials = ["mvt", "jacobi-2d"], "MINI", 2, 0
    else:
        kernels, size, repeats, trials = ["gemm", "mvt", "jacobi-2d", "lu"], "SMALL", 5, 16
    contenders = ["gcc", "graphite", "clang", "polly", "polly-par", "polyopt-original", "polyopt-polly",
                  "polyopt-tuned", "numpy"]

    def progress(m) -> None:
        status = f"{m.median * 1e3:.3f} ms" if m.ok else f"{m.status}: {m.note.splitlines()[0][:70]}"
        print(f"  {m.kernel:<10} {m.contender:<18} {status}")

    report = compare(kernels, size, contenders, threads=1, repeats=repeats, trials=trials,
                     progress=progress)

    # The table: median times and speedups over gcc -O3; geometric means over gcc -O3 and clang+Polly.
    print()
    print(report.to_markdown())

    # The numbers, for scripts.
    print("geomean speedup of clang+Polly over gcc -O3:", report.geomean("polly", "gcc"))
    print("geomean speedup of polyopt's Polly-style schedule over clang+Polly:",
          report.geomean("polyopt-polly", "polly"))
    for kernel in report.kernels:
        m = report.get(kernel, "polly")
        print(f"  {kernel}: clang+Polly {m.status}, max relative error vs reference {m.max_error}")

    # Everything in one folder: table.md, table.csv, report.json, speedup.png (tuning.png when tuned),
    # and report.html with the schedules each polyopt contender chose and the code it generated.
    out = Path(tempfile.mkdtemp(prefix="polyopt-compare-"))
    paths = write_report(report, out)
    print("wrote:", ", ".join(p.name for p in paths.values()), "in", out)


if __name__ == "__main__":   # measuring runs in child processes (and the tuner in worker processes)
    main()
