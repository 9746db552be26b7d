"""Schedule trees: the original schedule, paths, text round trips, transformation records and their
application (structure of the resulting trees)."""

from __future__ import annotations

import islpy as isl
import numpy as np
import pytest

from polyopt import kernels
from polyopt.errors import IllegalTransformError
from polyopt.frontend.c_frontend import from_c
from polyopt.interpret import make_inputs, poison_outputs, run_schedule
from polyopt.schedule_tree import Schedule
from polyopt.transforms import (
    TRANSFORMS,
    Candidate,
    Distribute,
    Fuse,
    GpuMap,
    InvalidTransformError,
    Join,
    Parallel,
    Permute,
    Promote,
    SeparateFullTiles,
    Skew,
    Split,
    StripMine,
    Tile,
    Unroll,
    UnrollAndJam,
    Vectorize,
    Wavefront,
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
               SeparateFullTiles((0,)), Promote((0,), "A"), GpuMap((0,), 0, "block.x")]
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
