"""Tutorial 1 — quick start: optimize a Python loop nest and a C file.

Run it:  python docs/tutorials/01_quickstart.py      (POLYOPT_DOCS_SMALL=1 for tiny sizes)

polyopt takes a loop nest written as a plain Python function over numpy arrays (or a C function with a
`#pragma scop` region), builds its polyhedral model, picks a schedule and compiles it to native code
through LLVM. The compiled kernel is called like the original function, on the same numpy arrays.
"""

import os
import tempfile
import time
from pathlib import Path

import numpy as np

import polyopt

SMALL = os.environ.get("POLYOPT_DOCS_SMALL") == "1"
N = 48 if SMALL else 512


# 1. A Python loop nest. Sizes are plain ints; array annotations give the element type and the shape
#    in terms of the sizes, so polyopt can check the arrays you pass.
def gemm(ni: int, nj: int, nk: int, alpha: float, beta: float,
         C: "float64[ni, nj]", A: "float64[ni, nk]", B: "float64[nk, nj]"):
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
            for k in range(nk):
                C[i, j] += alpha * A[i, k] * B[k, j]


scop = polyopt.from_python(gemm)
print(f"model of {scop.name}: parameters {scop.params}, {len(scop.statements)} statements")
for s in scop.statements:
    print(f"  {s.name}: {s.domain}")

# 2. A schedule: here the Polly-style heuristic (tiling, and for a matrix product Polly's BLIS-like
#    packing and register tiling). It is a Candidate: a base schedule plus a trace of transformations.
cand = polyopt.schedule(scop, "polly")
print("schedule:", cand)

# 3. Compile it for this CPU, specialised to the sizes we will run (params=...).
rng = np.random.default_rng(0)
A, B, C0 = rng.random((N, N)), rng.random((N, N)), rng.random((N, N))
kernel = polyopt.compile(scop, cand, params={"ni": N, "nj": N, "nk": N})

kernel(alpha=1.5, beta=1.2, C=C0.copy(), A=A, B=B)  # warm-up (first call binds and checks sizes)
C = C0.copy()
t = time.perf_counter()
kernel(alpha=1.5, beta=1.2, C=C, A=A, B=B)        # sizes are read off the arrays
elapsed = time.perf_counter() - t
expected = 1.2 * C0 + 1.5 * (A @ B)
assert np.allclose(C, expected), "the compiled kernel must compute what the Python function computes"
print(f"gemm {N}x{N}x{N}: {elapsed * 1e3:.2f} ms, {2 * N**3 / elapsed / 1e9:.2f} GFLOP/s, matches numpy")

# 4. The same from C: any C function whose loop nest sits between '#pragma scop' and '#pragma endscop'.
C_SOURCE = """
void scale_rows(int n, int m, double alpha, double A[n][m], double s[n])
{
#pragma scop
  for (int i = 0; i < n; i++) {
    s[i] = 0.0;
    for (int j = 0; j < m; j++) {
      A[i][j] = alpha * A[i][j];
      s[i] += A[i][j];
    }
  }
#pragma endscop
}
"""
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "scale_rows.c"
    path.write_text(C_SOURCE)
    cscop = polyopt.from_c(str(path))
print(f"C model: {cscop.name}({', '.join(a.name for a in cscop.arguments)})")

ckernel = polyopt.compile(cscop, polyopt.schedule(cscop, "isl"))
M = np.arange(12.0).reshape(3, 4)
s = np.zeros(3)
ckernel(alpha=2.0, A=M, s=s)
assert np.allclose(s, 2.0 * np.arange(12.0).reshape(3, 4).sum(axis=1))
print("row sums:", s)
print("done: see 02_polyhedral_model.py for what the model contains")
