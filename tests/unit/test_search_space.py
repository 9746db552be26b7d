import numpy as np
import pytest

from polyopt.legality import is_legal
from polyopt.search.space import SearchSpace
from polyopt.search.testing import gemm, seidel1d
from polyopt.transforms import Candidate


@pytest.mark.parametrize("make,params", [(gemm, {"NI": 64, "NJ": 48, "NK": 40}), (seidel1d, {"T": 8, "N": 64})])
def test_samples_are_legal_and_replay(make, params):
    scop = make()
    space = SearchSpace(scop, params)
    assert space.size > 1
    rng = np.random.default_rng(0)
    for _ in range(12):
        p = space.sample(rng)
        cand = space.candidate(p)
        again = Candidate.from_json(cand.to_json())      # the trace JSON replays to a legal schedule
        assert is_legal(scop, again.apply(scop))
        assert space.key(p) == space.key(p)


def test_sampling_is_seeded_and_mutate_changes_one_knob():
    space = SearchSpace(gemm(), {"NI": 64, "NJ": 48, "NK": 40})
    a = [space.sample(np.random.default_rng(3)) for _ in range(1)]
    b = [space.sample(np.random.default_rng(3)) for _ in range(1)]
    assert a == b
    rng = np.random.default_rng(1)
    p = space.sample(rng)
    for _ in range(5):
        q = space.mutate(p, rng)
        assert space.is_legal(q)
        if q[0] == p[0]:
            assert sum(x != y for x, y in zip(p[1], q[1])) <= 1


def test_illegal_points_are_filtered():
    scop = seidel1d()      # t and i both carry dependences: interchange is illegal, no parallel loop
    space = SearchSpace(scop, {"T": 8, "N": 64}, bases=("original",))
    perms = space.bases[0].knobs[0].choices
    assert perms == ((0, 1),)
    for q in space.neighbours(space.sample(np.random.default_rng(0))):
        assert "parallel" not in space.candidate(q).to_json() or is_legal(scop, space.candidate(q).apply(scop))


def test_fast_legality_agrees_with_checking_every_step():
    """The shape-memoized legality shortcut gives the same verdicts as the full check, and every point
    it admits passes SearchSpace.verify (a full replay with every step checked)."""
    import numpy as np

    from polyopt.search.space import SearchSpace
    from polyopt.search.testing import gemm, seidel1d

    for scop, params in ((gemm(), {"NI": 40, "NJ": 48, "NK": 36}), (seidel1d(), {"T": 20, "N": 60})):
        fast = SearchSpace(scop, params, fast_legality=True)
        slow = SearchSpace(scop, params, fast_legality=False)
        rng = np.random.default_rng(1)
        points = [fast.raw_sample(rng) for _ in range(60)]
        for p in points:       # mutations of a few legal points too: these share trace shapes
            if fast.is_legal(p):
                points += [fast.mutate(p, rng) for _ in range(3)]
                break
        verdicts = [(fast.is_legal(p), slow.is_legal(p)) for p in points]
        assert all(a == b for a, b in verdicts), [p for p, (a, b) in zip(points, verdicts) if a != b]
        assert all(fast.verify(p) for p in points if fast.is_legal(p)) and fast.fast_legality


@pytest.mark.parametrize("knobs", [{"fission": True}, {"fission": True, "sep_loops": "innermost"},
                                   {"sep_loops": "point"}, {"tile0": 8, "tile1": 8, "tile2": 16, "fission": True}])
def test_fission_and_separation_points_compile_and_compute_the_same(knobs):
    """Distributing the innermost loop of the skewed jacobi-2d band and separating its loops: legal points
    whose LLVM kernels give the original's results (outputs poisoned with NaN first)."""
    from polyopt import kernels
    from polyopt.frontend.c_frontend import from_c
    from polyopt.search import backend
    from polyopt.search.inputs import measure_inputs, poison_outputs

    scop = from_c(str(kernels.get("jacobi-2d").c_path))
    params = {"tsteps": 5, "n": 30}
    space = SearchSpace(scop, params, bases=("pluto",))
    names = [k.name for k in space.bases[0].knobs]
    assert "s0.fission" in names and "s0.sep_loops" in names
    point = (0, tuple(knobs.get(k.name.split(".", 1)[1], k.choices[0]) for k in space.bases[0].knobs))
    assert space.is_legal(point) and space.verify(point)
    ops = [t.op for t in space.candidate(point).trace]
    assert ("fission" in ops) == ("fission" in knobs) and ("separate" in ops) == ("sep_loops" in knobs)

    def run(schedule):
        args = poison_outputs(scop, measure_inputs(scop, params, 3))
        backend.call_kernel(backend.compile_kernel(scop, schedule, "cpu", params, threads=1), args)
        return args

    ref = run(backend.apply(scop, Candidate("original")))
    out = run(space.schedule(point))
    for name in ("A", "B"):
        assert not np.isnan(out[name]).any()
        np.testing.assert_allclose(out[name], ref[name], rtol=1e-12)


def test_register_tiles_divide_their_cache_tiles():
    """A register tile size is halved until it divides its cache tile: a partial register tile in every
    cache tile is slow code, and its nested floors cost isl tens of seconds per loop AST."""
    import json

    space = SearchSpace(gemm(), {"NI": 64, "NJ": 48, "NK": 40}, bases=("original",))
    b = space.bases[0]
    values = {k.name: k.choices[0] for k in b.knobs}
    values.update({"s0.tile0": 12, "s0.tile1": 16, "s0.tile2": 10, "s0.reg0": 8, "s0.reg1": 8, "s0.reg2": 8})
    point = (0, tuple(values[k.name] for k in b.knobs))
    trace = json.loads(space.key(point))["trace"]
    tiles = [t["sizes"] for t in trace if t["op"] == "tile"]
    assert tiles == [[12, 16, 10], [4, 8, 2]]


def test_reductions_in_nested_loops_can_be_vectorized_with_reassociation():
    """trisolv's only outermost loop is i, which carries everything; its reduction into x[i] is the nested
    j loop. The space marks it vectorize:reassoc through the s0.nested_vec knob, and the kernel computes
    the same (NaN-poisoned outputs, fresh inputs)."""
    from polyopt.cli.common import load_scop
    from polyopt.interpret import make_inputs, poison_outputs, run_schedule

    scop = load_scop("suite:trisolv")
    space = SearchSpace(scop, {"n": 40}, bases=("original",))
    assert space.bases[0].sites[0].nested_reductions == ((0, 0, 1, 0),)
    rng = np.random.default_rng(0)
    points = [space.sample(rng) for _ in range(40)]
    marked = [p for p in points if space.describe(p).get("s0.nested_vec")]
    assert marked, "no sampled point turned the knob on"
    sched = space.schedule(marked[0])
    assert any(m == "vectorize:reassoc" and sched.statements_at(q) == ("S1",) for q, m in sched.marks())
    assert is_legal(scop, sched)
    from polyopt.search import backend

    params = {"n": 40}
    arrays, scalars = make_inputs(scop, params, 3)
    want = run_schedule(scop, Candidate("original").apply(scop).tree, params, poison_outputs(scop, arrays),
                        scalars)
    kernel = backend.compile_kernel(scop, sched, "cpu", params, threads=1)   # LLVM: reassociated, vectorized
    got = {**poison_outputs(scop, {k: np.copy(v) for k, v in arrays.items()}), **scalars, **params}
    backend.call_kernel(kernel, got)
    np.testing.assert_allclose(got["x"], want["x"], rtol=1e-10)
