"""Dependences of suite kernels against hand-derived truth."""

import islpy as isl
import pytest

from polyopt import kernels
from polyopt.dataflow import dependences
from polyopt.frontend.c_frontend import from_c


def deps_of(name):
    return dependences(from_c(str(kernels.get(name).c_path)))


def summary(deps, kind, src, dst):
    found = [s for s in deps.summaries if (s.kind, s.source, s.sink) == (kind, src, dst)]
    assert len(found) == 1, f"{kind} {src}->{dst} not found among {[(s.kind, s.source, s.sink) for s in deps.summaries]}"
    return found[0]


def carried_loops(deps):
    return {loop for s in deps.summaries for loop in s.carried_by}


def test_gemm_only_k_carries_and_update_j_is_free():
    d = deps_of("gemm")
    upd = summary(d, "RAW", "S1", "S1")
    assert upd.common_loops == ("i", "k", "j") and upd.carried_by == ("k",)
    assert upd.direction == ("=", "<", "=") and upd.distance == (0, 1, 0)
    init = summary(d, "RAW", "S0", "S1")
    assert init.carried_by == () and init.loop_independent
    assert carried_loops(d) == {"k"}
    # exact value-based flow: S1 at k reads the value written at k - 1 only
    want = isl.Map("[ni, nj, nk] -> { S1[i, k, j] -> S1[i, k + 1, j] : ni > 0 and nj > 0 and nk > 0 "
                   "and 0 <= i < ni and 0 <= j < nj and 0 <= k < nk - 1 }")
    got = d.raw.extract_map(want.get_space())
    assert got.is_equal(want)


def test_seidel_2d_carries_on_all_three_loops():
    d = deps_of("seidel-2d")
    assert set(summary(d, "RAW", "S0", "S0").carried_by) == {"t", "i", "j"}


def test_jacobi_1d_time_loop_carries_and_statement_order_is_loop_independent():
    d = deps_of("jacobi-1d")
    assert summary(d, "RAW", "S0", "S1").carried_by == ()
    assert summary(d, "RAW", "S1", "S0").carried_by == ("t",)
    assert carried_loops(d) == {"t"}


def test_jacobi_2d_only_time_carries():
    assert carried_loops(deps_of("jacobi-2d")) == {"t"}


def test_heat_3d_only_time_carries():
    assert carried_loops(deps_of("heat-3d")) == {"t"}


def test_mvt_reductions_carried_by_inner_loop_only():
    d = deps_of("mvt")
    assert summary(d, "RAW", "S0", "S0").carried_by == ("j",)
    assert summary(d, "RAW", "S1", "S1").carried_by == ("j",)
    assert not any(s.source != s.sink for s in d.summaries)


def test_atax_y_reduction_is_carried_by_i():
    d = deps_of("atax")
    assert summary(d, "RAW", "S3", "S3").carried_by == ("i",)
    assert summary(d, "RAW", "S2", "S2").carried_by == ("j",)
    assert summary(d, "RAW", "S2", "S3").loop_independent


def test_2mm_producer_consumer_share_no_loop():
    d = deps_of("2mm")
    flow = summary(d, "RAW", "S1", "S3")
    assert flow.common_loops == () and flow.arrays == ("tmp",)
    assert carried_loops(d) == {"k"}


def test_trisolv_solution_flows_across_rows():
    d = deps_of("trisolv")
    assert summary(d, "RAW", "S2", "S1").carried_by == ("i",)
    assert summary(d, "RAW", "S1", "S1").carried_by == ("j",)


def test_lu_outer_loop_carries():
    d = deps_of("lu")
    assert "i" in summary(d, "RAW", "S2", "S2").carried_by
    assert summary(d, "RAW", "S2", "S0").carried_by == ("i",)


def test_floyd_warshall_k_carries_all_updates():
    d = deps_of("floyd-warshall")
    raw = summary(d, "RAW", "S0", "S0")
    assert raw.carried_by[0] == "k" and raw.direction[0] == "<="
    assert summary(d, "WAW", "S0", "S0").carried_by == ("k",)


def test_syrk_j_loop_of_update_carries_nothing():
    d = deps_of("syrk")
    assert summary(d, "RAW", "S1", "S1").carried_by == ("k",)


def test_no_dependence_between_independent_statements():
    # doitgen's sum[] is reused for every (r, q): memory-based WAR/WAW are carried by r and q,
    # but no value flows between (r, q) iterations (exact value-based RAW)
    d = deps_of("doitgen")
    raw_carried = {loop for s in d.summaries if s.kind == "RAW" for loop in s.carried_by}
    assert not ({"r", "q"} & raw_carried)
    assert {"r", "q"} <= carried_loops(d)


@pytest.mark.parametrize("name", [k.name for k in kernels.suite()])
def test_dependences_of_every_suite_kernel_are_forward_in_source_order(name):
    scop = from_c(str(kernels.get(name).c_path))
    d = dependences(scop)
    s = scop.schedule_map
    assert d.all.intersect(s.lex_ge_union_map(s)).is_empty()
