"""Tutorial 2 — the polyhedral model: domains, accesses, dependences and schedules.

Run it:  python docs/tutorials/02_polyhedral_model.py

Every statement instance is an integer point of an *iteration domain* (an isl set over the loop
iterators, parametric in the sizes); every array reference is an *access relation* from instances to
array elements; *dependences* are pairs of instances that must stay ordered; a *schedule* assigns each
instance a time (a multi-dimensional date), and any schedule that keeps every dependence ordered
computes the same result. polyopt keeps all four as isl objects.
"""

import os

import numpy as np

import polyopt

SMALL = os.environ.get("POLYOPT_DOCS_SMALL") == "1"


def smooth(T: int, N: int, A: "float64[N]", B: "float64[N]"):
    """A 1-D Jacobi stencil: B from A, then A from B, T times."""
    for t in range(T):
        for i in range(1, N - 1):
            B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1])
        for i in range(1, N - 1):
            A[i] = B[i]


scop = polyopt.from_python(smooth)

print("== parameters and context (what the sizes may be)")
print(" ", scop.params, scop.context)

print("\n== iteration domains: one integer point per statement instance")
for s in scop.statements:
    print(f"  {s.name}  {s.text.strip() or ''}")
    print(f"      domain   {s.domain}")
    print(f"      original {s.schedule}")

print("\n== access relations: instance -> array element")
for s in scop.statements:
    for w in s.writes:
        print(f"  {s.name} writes {w.relation}")
    for r in s.reads:
        print(f"  {s.name} reads  {r.relation}")

print("\n== dependences (RAW value-based; WAR/WAW memory-based), summarised per statement pair")
deps = polyopt.dependences(scop)
for d in deps.summaries:
    carried = ", ".join(d.carried_by) or "no loop (loop-independent)"
    print(f"  {d.kind} {d.source} -> {d.sink} on {', '.join(d.arrays)}: carried by {carried}; "
          f"direction {d.direction}, distance {d.distance}")
print("  as one isl union map:", deps.all)

print("\n== the original schedule as a schedule tree (bands are loops, sequences are statement order)")
original = polyopt.Candidate("original").apply(scop)   # a polyopt.Schedule
print(original)
print("  band paths:", original.bands())

print("\n== a heuristic schedule: the isl scheduler (Pluto-like: minimise dependence distances)")
cand = polyopt.schedule(scop, "isl")
print("  candidate:", cand)
sched = cand.apply(scop)
print(sched)
polyopt.check_legal(scop, sched)       # raises IllegalTransformError if a dependence is violated
print("  legal: every dependence stays ordered")

print("\n== the loop nest polyopt generates for it (C view of the same code the LLVM backend emits)")
kernel = polyopt.compile(scop, cand)
print(kernel.c_source)

# The compiled kernel computes what the Python function computes:
n, steps = (20, 3) if SMALL else (1000, 50)
rng = np.random.default_rng(1)
A0 = rng.random(n)
A1, B1 = A0.copy(), np.zeros(n)
kernel(T=steps, A=A1, B=B1)
A2, B2 = A0.copy(), np.zeros(n)
smooth(steps, n, A2, B2)
assert np.allclose(A1, A2) and np.allclose(B1, B2)
print("compiled == interpreted Python: OK")
