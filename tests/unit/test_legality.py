"""Legality: classic illegal requests are refused with the violated dependence named, and the refused
schedules really are wrong (forced through code generation and the interpreter)."""

from __future__ import annotations

import numpy as np
import pytest

from polyopt import kernels
from polyopt.dataflow import dependences
from polyopt.errors import IllegalTransformError
from polyopt.frontend.c_frontend import from_c
from polyopt.interpret import make_inputs, poison_outputs, run_schedule
from polyopt.legality import check_legal, is_legal, violations
from polyopt.schedule_tree import Schedule
from polyopt.transforms import Candidate, Distribute, Fuse, Join, Parallel, Permute, Tile, Vectorize
from polyopt.transforms.apply import _permute

BACKWARD = """
void two_loops(int n, double A[n], double B[n], double C[n]) {
#pragma scop
  for (int i = 0; i < n - 1; i++)
    B[i] = A[i] * 2.0;
  for (int i = 0; i < n - 1; i++)
    C[i] = B[i + 1] + 1.0;
#pragma endscop
}
"""


def suite_scop(name: str):
    return from_c(str(kernels.get(name).c_path))


def _run(scop, tree, params):
    arrays, scalars = make_inputs(scop, params, 3)
    return run_schedule(scop, tree, params, poison_outputs(scop, arrays), scalars)


def _same(a, b) -> bool:
    return all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_original_and_baselines_are_legal():
    scop = suite_scop("lu")
    assert is_legal(scop, Schedule.original(scop))
    assert is_legal(scop, scop.schedule_map)
    assert is_legal(scop, Schedule.original(scop).to_str())


def test_interchanging_seidel_is_refused_and_really_wrong():
    scop = suite_scop("seidel-2d")
    joined = Candidate("original", (Join((0, 0)),)).apply(scop)          # (i, j) band below t
    with pytest.raises(IllegalTransformError) as e:
        Candidate("original", (Join((0, 0)), Permute((0, 0), (1, 0)))).apply(scop)
    msg = str(e.value)
    assert "while permuting band (0, 0) of S0" in msg
    assert "dependence S0 -> S0 violated" in msg and "RAW" in msg
    line = scop.statements[0].location.line
    assert line > 0 and f"line {line}" in msg and "A[i][j]" in msg
    assert "e.g. S0[" in msg and e.value.source == "S0" and e.value.sink == "S0"
    # forced through: a different result
    bad = _permute(joined, Permute((0, 0), (1, 0)), dependences(scop), "")
    params = {"tsteps": 2, "n": 7}
    assert not _same(_run(scop, joined.tree, params), _run(scop, bad, params))


def test_tiling_a_non_permutable_band_is_refused():
    scop = suite_scop("seidel-2d")
    with pytest.raises(IllegalTransformError, match="negative distance"):
        Candidate("original", (Join((0, 0)), Join((0,)), Tile((0,), (4, 4, 4)))).apply(scop)



@pytest.mark.parametrize("name,params", [("seidel-2d", {"tsteps": 3, "n": 9}), ("jacobi-2d", {"tsteps": 3, "n": 9})])
def test_two_level_tiles_of_skewed_stencil_bands_are_legal(name, params):
    """Tiling is accepted on the permutability check alone (no full check of the tiled result): two tile
    levels of Pluto's skewed time band pass the full dependence check and compute the source's results."""
    scop = suite_scop(name)
    sched = Candidate("pluto", (Tile((0,), (4, 4, 3)), Tile((0, 0), (2, 2, 2)))).apply(scop)
    assert len(sched.band_infos()) == 3
    assert not violations(scop, sched)
    assert _same(_run(scop, Schedule.original(scop).tree, params), _run(scop, sched.tree, params))

def test_parallelizing_a_carried_loop_in_lu_is_refused():
    scop = suite_scop("lu")
    with pytest.raises(IllegalTransformError) as e:
        Candidate("original", (Parallel((0,), 0),)).apply(scop)
    assert "while parallelizing band (0,)" in str(e.value)
    assert "carries it" in str(e.value) and e.value.dependence
    # some loop of lu carries no dependence and may run in parallel
    assert any(_legal_parallel(scop, p) for p in Schedule.original(scop).bands())


def _legal_parallel(scop, p) -> bool:
    try:
        Candidate("original", (Parallel(p, 0),)).apply(scop)
    except IllegalTransformError:
        return False
    return True


def test_fusing_across_a_backward_dependence_is_refused_and_really_wrong():
    scop = from_c(BACKWARD)
    with pytest.raises(IllegalTransformError) as e:
        Candidate("original", (Fuse((0,), 0, 1),)).apply(scop)
    msg = str(e.value)
    assert "WAR dependence S0 -> S1" in msg or "RAW" in msg or "WAR" in msg
    assert "B[i + 1]" in msg or "B[i+1]" in msg
    from polyopt.transforms.apply import _fuse
    bad = _fuse(Schedule.original(scop), Fuse((0,), 0, 1), dependences(scop), "")
    params = {"n": 9}
    assert not _same(_run(scop, Schedule.original(scop).tree, params), _run(scop, bad, params))


def test_forward_fusion_is_accepted():
    text = BACKWARD.replace("B[i + 1]", "B[i]")
    scop = from_c(text)
    s = Candidate("original", (Fuse((0,), 0, 1), Parallel((0,), 0))).apply(scop)
    params = {"n": 9}
    assert _same(_run(scop, Schedule.original(scop).tree, params), _run(scop, s.tree, params))


def test_vectorizing_a_reduction_needs_reassoc():
    scop = suite_scop("gemm")          # isl band: (i, j, k); k carries the C[i][j] reduction
    with pytest.raises(IllegalTransformError, match="vectorizing"):
        Candidate("isl", (Distribute((0,)), Vectorize((0, 1, 0), 2))).apply(scop)
    s = Candidate("isl", (Distribute((0,)), Vectorize((0, 1, 0), 2, reassoc=True))).apply(scop)
    assert ((0, 1, 0, 0), "vectorize:reassoc") in s.marks()
    # fused with S0 (C *= beta), k also carries S0 -> S1: refused even with reassoc
    with pytest.raises(IllegalTransformError, match="S0 -> S1"):
        Candidate("isl", (Vectorize((0,), 2, reassoc=True),)).apply(scop)


def test_a_subtracting_reduction_that_reads_other_elements_of_its_array_vectorizes_with_reassoc():
    """trisolv's `x[i] -= L[i][j] * x[j]` (j < i) is a reduction into x[i] along j: it reads x, but never
    the element it updates. A statement that may read that element through another subscript is not."""
    scop = suite_scop("trisolv")
    vector_j = (0, 0, 1, 0)                 # original schedule: i, then S0; the j loop of S1; S2
    with pytest.raises(IllegalTransformError, match="S1 -> S1"):
        Candidate("original", (Vectorize(vector_j, 0),)).apply(scop)
    s = Candidate("original", (Vectorize(vector_j, 0, reassoc=True),)).apply(scop)
    assert (vector_j, "vectorize:reassoc") in s.marks()
    risky = from_c("""
void k(int n, double L[n][n], double x[n]) {
#pragma scop
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++)
      x[i] -= L[i][j] * x[j];
#pragma endscop
}""")                                       # j = i reads the element it updates
    with pytest.raises(IllegalTransformError, match="S0 -> S0"):
        Candidate("original", (Vectorize((0, 0), 0, reassoc=True),)).apply(risky)


def test_check_legal_accepts_strings_and_maps_and_names_the_violation():
    scop = suite_scop("jacobi-1d")
    text = str(scop.schedule_map)
    check_legal(scop, text)
    rev = scop.schedule_map.intersect_domain(scop.domain)
    # reverse time: the first output dimension that follows t becomes -t
    import islpy as isl
    flip = isl.UnionMap(str(rev).replace("-> [0, t,", "-> [0, -t,"))
    found = violations(scop, flip)
    assert found and found[0].kind in ("RAW", "WAR", "WAW")
    with pytest.raises(IllegalTransformError, match="e.g. S"):
        check_legal(scop, flip, stage="while testing")
