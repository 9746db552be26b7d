"""Schedule trees: the original schedule, paths, text round trips, transformation records and their
application (structure of the resulting trees)."""

from __future__ import annotations

import islpy as isl
import numpy as np
import pytest

from polyopt import kernels
from polyopt.errors import IllegalTransformError
from polyopt.frontend.c_frontend import from_c
from polyopt.codegen.c_printer import print_c
from polyopt.codegen.loop_ast import build_loop_ast
from polyopt.interpret import make_inputs, poison_outputs, run_schedule
from polyopt.legality import violations
from polyopt.schedule_tree import Schedule
from polyopt.transforms import (
    TRANSFORMS,
    Candidate,
    Distribute,
    Fission,
    Fuse,
    GpuMap,
    InvalidTransformError,
    Join,
    Parallel,
    Permute,
    Promote,
    Separate,
    SeparateFullTiles,
    Skew,
    Split,
    StripMine,
    Tile,
    Unroll,
    UnrollAndJam,
    Vectorize,
    Wavefront,
    apply_transform,
    base_schedule,
    isl_schedule_options,
    transform_from_dict,
    transform_to_dict,
)


def suite_scop(name: str):
    return from_c(str(kernels.get(name).c_path))


@pytest.fixture(scope="module")
def gemm():
    return suite_scop("gemm")


def _run(scop, sched: Schedule, params: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    arrays, scalars = make_inputs(scop, params, seed)
    return run_schedule(scop, sched.tree, params, poison_outputs(scop, arrays), scalars)


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_original_tree_mirrors_the_source_loops(gemm):
    # gemm: for i { for j S0; for k { for j S1 } }
    o = Schedule.original(gemm)
    infos = o.band_infos()
    assert [b.path for b in infos] == [(0,), (0, 0, 0, 0), (0, 0, 1, 0), (0, 0, 1, 0, 0)]
    assert all(b.n_member == 1 for b in infos)
    assert infos[0].statements == ("S0", "S1")
    assert o.node((0, 0)).get_type() == isl.schedule_node_type.sequence
    # same order as the 2d+1 schedule: every pair ordered the same way
    smap, orig = o.map(), gemm.schedule_map
    assert smap.lex_lt_union_map(smap).is_equal(orig.lex_lt_union_map(orig))


def test_text_round_trip_and_paths(gemm):
    s = Candidate("isl", (Tile((0,), (8, 8, 8)), Parallel((0,), 0))).apply(gemm)
    t = Schedule.from_string(gemm, s.to_str())
    assert t.map().is_equal(s.map())       # isl may list the domain's statements in another order
    assert t.bands() == s.bands() and t.marks() == s.marks()
    assert ((0,), "parallel") in s.marks()
    with pytest.raises(IndexError):
        s.node((1,))


def test_every_record_round_trips_through_json():
    records = [Tile((0,), (32, 8)), Permute((0, 1), (1, 0)), Split((0,), 1), Join((0,)), Fuse((0,), 0, 2, 1),
               Distribute((0,)), Skew((0,), 1, (1, 0)), Wavefront((0,), 2), StripMine((0,), 0, 4),
               Unroll((0,), 1, 4), UnrollAndJam((0,), 0, 2), Parallel((0,), 1), Vectorize((0,), 1, True),
               SeparateFullTiles((0,)), Separate((0,)), Fission((0, 0)), Promote((0,), "A"),
               GpuMap((0,), 0, "block.x")]
    assert {type(r) for r in records} == set(TRANSFORMS)
    for r in records:
        assert transform_from_dict(transform_to_dict(r)) == r
    c = Candidate("polly", tuple(records))
    assert Candidate.from_json(c.to_json()) == c
    with pytest.raises(InvalidTransformError):
        transform_from_dict({"op": "frobnicate"})


def test_replay_is_deterministic(gemm):
    c = Candidate("pluto", (Tile((0,), (4, 8, 16)), Tile((0, 0), (2, 2, 2)), Parallel((0,), 0)))
    assert c.apply(gemm).to_str() == Candidate.from_json(c.to_json()).apply(gemm).to_str()


def test_isl_options_are_restored(gemm):
    ctx = isl.DEFAULT_CONTEXT
    before = (ctx.get_schedule_maximize_band_depth(), ctx.get_schedule_max_coefficient(),
              ctx.get_schedule_outer_coincidence(), ctx.get_schedule_serialize_sccs())
    base_schedule(gemm, "polly")
    base_schedule(gemm, "isl-nofuse")
    with pytest.raises(RuntimeError), isl_schedule_options(maximize_band_depth=1):
        raise RuntimeError
    assert (ctx.get_schedule_maximize_band_depth(), ctx.get_schedule_max_coefficient(),
            ctx.get_schedule_outer_coincidence(), ctx.get_schedule_serialize_sccs()) == before


def test_tile_twice_gives_cache_and_register_tiles(gemm):
    s = Candidate("isl", (Tile((0,), (16, 16, 16)), Tile((0, 0), (4, 8, 16)))).apply(gemm)
    assert [s.node(p).band_n_member() for p in s.bands()[:3]] == [3, 3, 3]
    assert "mod 16" in str(s.node((0,)).band_get_partial_schedule())


def test_parallel_and_vectorize_isolate_one_member(gemm):
    s = Candidate("isl", (Parallel((0,), 1),)).apply(gemm)
    infos = {b.path: b for b in s.band_infos()}
    assert infos[(0,)].n_member == 1 and infos[(0, 0)].n_member == 1 and infos[(0, 0)].marks == ("parallel",)
    assert infos[(0, 0, 0)].n_member == 1


@pytest.mark.parametrize("trace", [
    (Tile((0,), (4, 8, 16)), Tile((0, 0), (2, 2, 2)), Parallel((0,), 0), Vectorize((0, 0, 0), 1)),
    (Distribute((0,)), Permute((0, 1, 0), (1, 0, 2)), UnrollAndJam((0, 1, 0), 0, 2)),
    (StripMine((0,), 1, 4), Unroll((0,), 3, 4), SeparateFullTiles((0,)), Promote((0,), "A")),
    (Tile((0,), (8, 8, 8)), Wavefront((0,), 2), Parallel((0,), 1)),
    (Skew((0,), 1, (1, 0, 0)), Tile((0,), (4, 4, 4))),
])
def test_transformed_gemm_computes_the_same(gemm, trace):
    params = {"ni": 9, "nj": 10, "nk": 11}
    ref = _run(gemm, Schedule.original(gemm), params)
    out = _run(gemm, Candidate("isl", trace).apply(gemm), params)
    assert _same(ref, out)
    assert not np.isnan(out["C"]).any()


def test_fuse_and_distribute_in_the_original_schedule():
    scop = suite_scop("gemm")
    # original: i { sequence(j S0, k { j S1 }) } -> distribute i, then fuse it back
    s = Candidate("original", (Distribute((0,)),)).apply(scop)
    assert s.node((0,)).get_type() == isl.schedule_node_type.sequence
    back = Candidate("original", (Distribute((0,)), Fuse((0,), 0, 1))).apply(scop)
    assert back.node((0,)).get_type() == isl.schedule_node_type.band
    params = {"ni": 5, "nj": 6, "nk": 7}
    assert _same(_run(scop, Schedule.original(scop), params), _run(scop, back, params))


def test_join_makes_a_tileable_band_from_perfect_nests():
    scop = suite_scop("jacobi-1d")
    s = Candidate("original").apply(scop)
    inner = [p for p in s.bands() if len(p) > 1]
    with pytest.raises(InvalidTransformError):
        Candidate("original", (Join(inner[0]),)).apply(scop)    # a sequence follows, not a band


def test_invalid_records_are_refused(gemm):
    for t in [Tile((0,), (32, 32)), Tile((0,), (0, 1, 1)), Permute((0,), (0, 0, 1)), Tile((0, 5), (1,)),
              Parallel((0,), 7), GpuMap((0,), 0, "warp.x"), Promote((0,), "nope"), Split((0,), 3)]:
        with pytest.raises(IllegalTransformError) as e:
            Candidate("isl", (t,)).apply(gemm)
        assert isinstance(e.value, InvalidTransformError)
        assert "while" in str(e.value)


JACOBI_SMALL = {"tsteps": 3, "n": 9}


def test_fission_distributes_the_innermost_loop_of_a_skewed_stencil():
    scop = suite_scop("jacobi-2d")
    trace = (Tile((0,), (2, 4, 4)), Split((0, 0), 2), Fission((0, 0, 0)))
    s = Candidate("pluto", trace).apply(scop)
    seq = s.node((0, 0, 0))
    assert seq.get_type() == isl.schedule_node_type.sequence
    assert [s.statements_at((0, 0, 0, k, 0)) for k in range(seq.n_children())] == [("S0",), ("S1",)]
    assert not violations(scop, s)
    ref = _run(scop, Schedule.original(scop), JACOBI_SMALL)
    out = _run(scop, s, JACOBI_SMALL)
    assert _same(ref, out) and not np.isnan(out["A"]).any()


def test_fission_refuses_statements_that_depend_on_each_other_both_ways():
    # isl fuses both sweeps into one band (shifted): distributing it would run every A update first
    scop = from_c("""
void k(int t, int n, double A[n][n], double B[n][n]) {
#pragma scop
  for (int s = 0; s < t; s++) {
    for (int i = 1; i < n - 1; i++)
      for (int j = 1; j < n - 1; j++)
        A[i][j] = A[i - 1][j - 1] + 0.5 * B[i + 1][j + 1];
    for (int i = 1; i < n - 1; i++)
      for (int j = 1; j < n - 1; j++)
        B[i][j] = B[i][j] * 0.25 + A[i - 1][j + 1];
  }
#pragma endscop
}
""")
    with pytest.raises(IllegalTransformError, match="depend on each other") as e:
        Candidate("isl", (Fission((0,)),)).apply(scop)
    assert {e.value.source, e.value.sink} == {"S0", "S1"}
    with pytest.raises(InvalidTransformError, match="single statement"):
        Candidate("original", (Fission((0, 0, 1, 0, 0)),)).apply(suite_scop("gemm"))
    with pytest.raises(InvalidTransformError, match="chain of loops"):
        Candidate("original", (Fission((0,)),)).apply(suite_scop("gemm"))


def test_fission_orders_the_statements_by_their_dependences():
    # S1[i] reads A[i + 1] before S0[i + 1] overwrites it; S0 shifted by one, both share loop p (S1[p]
    # first): distributed, S1's copy of the loop must come first although S0 comes first in the source
    scop = from_c("""
void k(int n, double A[n], double B[n], double C[n]) {
#pragma scop
  for (int i = 0; i < n - 1; i++) {
    A[i] = C[i] * 2.0;
    B[i] = A[i + 1] + 1.0;
  }
#pragma endscop
}
""")
    shifted = Schedule.from_string(scop, '{ domain: "%s", child: { schedule: "[n] -> [{ S0[i] -> [(i - 1)]; '
                                   'S1[i] -> [(i)] }, { S0[i] -> [(1)]; S1[i] -> [(0)] }]" } }' % scop.domain)
    assert not violations(scop, shifted)
    s = apply_transform(apply_transform(shifted, Split((0,), 1)), Fission((0, 0)))
    assert [s.statements_at((0, 0, k, 0)) for k in range(2)] == [("S1",), ("S0",)]
    assert not violations(scop, s)
    params = {"n": 7}
    assert _same(_run(scop, Schedule.original(scop), params), _run(scop, s, params))


def test_separate_hoists_the_guards_out_of_the_loops():
    scop = suite_scop("jacobi-2d")
    plain = Candidate("polly").apply(scop)
    separated = Candidate("polly", (Separate((0,)),)).apply(scop)
    params = {"tsteps": 4, "n": 12}
    c_plain = print_c(build_loop_ast(scop, plain.tree, params))
    c_sep = print_c(build_loop_ast(scop, separated.tree, params))
    assert c_plain.count("if (") > 0 and c_sep.count("if (") < c_plain.count("if (")
    assert plain.map().is_equal(separated.map())
    assert _same(_run(scop, plain, params), _run(scop, separated, params))


def test_a_loop_ast_that_needs_too_much_isl_work_is_a_clear_error(monkeypatch):
    import polyopt.codegen.loop_ast as loop_ast
    from polyopt.errors import CodegenError

    scop = suite_scop("heat-3d")
    s = Candidate("polly", (Tile((0,), (4, 8, 8, 16)), Separate((0,)))).apply(scop)
    monkeypatch.setattr(loop_ast, "MAX_AST_OPERATIONS", 1000)
    with pytest.raises(CodegenError, match="isl operations"):
        build_loop_ast(scop, s.tree, {"tsteps": 20, "n": 30})
    assert s.tree.get_ctx().get_max_operations() == 0          # the limit is lifted again afterwards
    monkeypatch.undo()
    assert build_loop_ast(scop, s.tree, {"tsteps": 20, "n": 30}).body


# --- the original schedule of guarded statements: a loop the domain pins, an empty domain ----------
_GUARDED = '''
def pinned(n: int, A: "float64[n]"):
    for i in range(n):
        if i == 3:
            A[i] = 0.0
        A[i] += 1.0

def pinned_else(n: int, k: int, A: "float64[n]", B: "float64[n]"):
    for i in range(n):
        if i == k:
            A[i] = 5.0
        else:
            B[i] = 2.0 * A[i]

def pinned_nest(n: int, m: int, A: "float64[n, m]", B: "float64[n, m]"):
    for i in range(n):
        if i == 0:
            for j in range(m):
                A[i, j] = 0.0
        for j in range(m):
            B[i, j] = A[i, j] + 1.0

def two_pins(n: int, k: int, m: int, A: "float64[n]"):
    for i in range(n):
        if i == k:
            A[0] = A[0] * 2.0 + 1.0
        if i == m:
            A[0] = A[0] * 3.0 + 5.0
'''
_EMPTY_C = """
void empty_guard(int n, double A[n], double B[n]) {
#pragma scop
  for (int i = 0; i < n; i++) { A[i] = 1.0; if (i < 0) B[i] = 7.0; A[i] += 2.0; }
#pragma endscop
}
"""


def _guarded(name: str):
    from polyopt.frontend.python_frontend import from_python_source
    return from_python_source(_GUARDED, name)


@pytest.mark.parametrize("name", ["pinned", "pinned_else", "pinned_nest", "two_pins"])
def test_original_schedule_of_a_loop_pinned_by_an_equality_keeps_the_source_order(name):
    scop = _guarded(name)
    o = Schedule.original(scop)
    smap, orig = o.map(), scop.schedule_map
    assert smap.lex_lt_union_map(smap).is_equal(orig.lex_lt_union_map(orig))


@pytest.mark.parametrize("name,sizes", [("pinned", {"n": 8}), ("pinned_else", {"n": 8, "k": 4}),
                                        ("pinned_else", {"n": 8, "k": 0}), ("pinned_nest", {"n": 5, "m": 6}),
                                        ("two_pins", {"n": 9, "k": 6, "m": 2}),
                                        ("two_pins", {"n": 9, "k": 2, "m": 6})])
@pytest.mark.parametrize("scheduler", ["original", "polly"])
def test_guarded_kernels_compile_and_match_python(name, sizes, scheduler):
    import polyopt
    ns: dict = {}
    exec(_GUARDED, ns)
    scop = _guarded(name)
    arrays, _ = make_inputs(scop, sizes, 0)
    want = {k: v.copy() for k, v in arrays.items()}
    ns[name](**sizes, **want)
    got = {k: v.copy() for k, v in arrays.items()}
    free = {k: v for k, v in sizes.items() if k in ("k", "m") and name != "pinned_nest"}   # not array extents
    polyopt.compile(scop, scheduler)(**free, **got)
    assert all(np.allclose(got[k], want[k], equal_nan=True) for k in want)


@pytest.mark.parametrize("scheduler", ["original", "polly"])
def test_a_statement_with_an_empty_domain_is_left_out_of_the_original_schedule(tmp_path, scheduler):
    import polyopt
    path = tmp_path / "empty_guard.c"
    path.write_text(_EMPTY_C)
    scop = from_c(str(path))
    assert scop.statements[1].domain.is_empty()
    A, B = np.zeros(7), np.full(7, -1.0)
    polyopt.compile(scop, scheduler)(A=A, B=B)
    assert np.array_equal(A, np.full(7, 3.0)) and np.array_equal(B, np.full(7, -1.0))
