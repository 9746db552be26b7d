"""Tutorial 3 — transformations: tile, interchange, fuse, skew, fission, and what an illegal one reports.

Run it:  python docs/tutorials/03_transformations.py

A schedule is a Candidate: a base schedule ("original", "isl", "pluto", "polly", ...) plus a trace of
typed transformation records. Records address a band of the schedule tree by its path (child indices
from the root; `Schedule.bands()` lists them). Applying a candidate replays the trace and checks every
step against the exact dependences: an illegal step raises IllegalTransformError naming the violated
dependence, with a concrete pair of statement instances.
"""

import os

import numpy as np

import polyopt
from polyopt.transforms import Candidate, Fission, Fuse, Join, Permute, Separate, Skew, Split, Tile

SMALL = os.environ.get("POLYOPT_DOCS_SMALL") == "1"
N = 40 if SMALL else 400
rng = np.random.default_rng(0)


def check(scop, candidate, reference, **arrays):
    """Compile `candidate`, run it on copies of `arrays`, compare with the Python `reference`."""
    got = {k: v.copy() for k, v in arrays.items()}
    want = {k: v.copy() for k, v in arrays.items()}
    polyopt.compile(scop, candidate)(**got)
    reference(arrays[next(iter(arrays))].shape[0], *want.values())
    assert all(np.allclose(got[k], want[k]) for k in arrays), f"{candidate} computed something else"
    print(f"   verified against the Python function: {candidate}")


# ---------------------------------------------------------------------------------------------------
print("== 1. tiling and interchange on a matrix product")


def matmul(N: int, C: "float64[N, N]", A: "float64[N, N]", B: "float64[N, N]"):
    for i in range(N):
        for j in range(N):
            for k in range(N):
                C[i, j] += A[i, k] * B[k, j]


mm = polyopt.from_python(matmul)
original = Candidate("original")
print("   bands of the original schedule (one per loop):", original.apply(mm).bands())
# Join the three single-loop bands into one band (i, j, k) — always legal for a perfect nest —
# interchange j and k (i, k, j: unit stride on B and C), then tile all three by 32.
tiled = original.then(Join((0,)), Join((0,)), Permute((0,), (0, 2, 1)), Tile((0,), (32, 32, 32)))
print("   after join, permute, tile:", tiled.apply(mm).bands(), "(tile loops, then point loops)")
print("   generated loops:\n" + "\n".join("      " + line for line in
                                          polyopt.compile(mm, tiled).c_source.splitlines()
                                          if "for (" in line))
check(mm, tiled, matmul, C=rng.random((N, N)), A=rng.random((N, N)), B=rng.random((N, N)))

# ---------------------------------------------------------------------------------------------------
print("\n== 2. fusion of two loops (producer/consumer)")


def two_loops(N: int, A: "float64[N]", B: "float64[N]", C: "float64[N]"):
    for i in range(N):
        B[i] = A[i] * 2.0
    for i in range(N):
        C[i] = B[i] + 1.0


pc = polyopt.from_python(two_loops)
print("   bands before:", Candidate("original").apply(pc).bands(), "(a sequence of two loops at path (0,))")
fused = Candidate("original").then(Fuse((0,), 0, 1))
print("   bands after fusing children 0..1 of the sequence:", fused.apply(pc).bands())
check(pc, fused, two_loops, A=rng.random(N), B=np.zeros(N), C=np.zeros(N))

# ---------------------------------------------------------------------------------------------------
print("\n== 3. an illegal interchange, and skewing that makes it legal")


def shift(N: int, A: "float64[N, N]"):
    for i in range(1, N):
        for j in range(N - 1):
            A[i, j] = A[i - 1, j + 1] + 1.0


sh = polyopt.from_python(shift)
# dependence distance (1, -1): iteration (i, j) reads what (i-1, j+1) wrote.
joined = Candidate("original").then(Join((0,)))
try:
    joined.then(Permute((0,), (1, 0))).apply(sh)
except polyopt.IllegalTransformError as e:
    print("   interchange refused:\n      " + str(e).replace("; ", ";\n      "))
    print("   violated dependence (e.dependence):", e.dependence)
# Skew j by i (j' = j + i): the distance becomes (1, 0); interchanging is now legal.
skewed = joined.then(Skew((0,), 1, (1, 0)), Permute((0,), (1, 0)))
print("   skew then interchange:", skewed)
check(sh, skewed, shift, A=rng.random((N, N)))

# ---------------------------------------------------------------------------------------------------
print("\n== 4. a time-skewed stencil: distribute its fused inner loop (fission), hoist the guards (separate)")


def jacobi_2d(N: int, A: "float64[N, N]", B: "float64[N, N]"):
    for t in range(4):
        for i in range(1, N - 1):
            for j in range(1, N - 1):
                B[i, j] = 0.2 * (A[i, j] + A[i, j - 1] + A[i, j + 1] + A[i + 1, j] + A[i - 1, j])
        for i in range(1, N - 1):
            for j in range(1, N - 1):
                A[i, j] = 0.2 * (B[i, j] + B[i, j - 1] + B[i, j + 1] + B[i + 1, j] + B[i - 1, j])


jac = polyopt.from_python(jacobi_2d)
# The `pluto` base skews the two sweeps into one band (t, 2t + i, 2t + j) and fuses them: every iteration
# of the inner loop updates B[i][j] and then A[i - 1][j - 1]. That fused loop reads in one iteration what
# the previous one stored, and LLVM does not vectorize it (3x slower at 800 x 800). Fission gives each
# statement its own copy of the innermost loop (in an order the dependences inside the loop allow; refused
# when they go both ways); Separate asks the code generator for loops without guards inside.
skewed = Candidate("pluto")
print("   pluto's band:", skewed.apply(jac).bands())
split = skewed.then(Split((0,), 2), Fission((0, 0)), Separate((0,)))
print("   innermost loops after split, fission, separate:\n" + "\n".join(
    "      " + line.strip() for line in polyopt.compile(jac, split).c_source.splitlines() if "for (long c2" in line))
M = 12 if SMALL else 200
check(jac, split, jacobi_2d, A=rng.random((M, M)), B=np.zeros((M, M)))
