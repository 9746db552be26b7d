"""Loop ASTs for features built in a worker process with a time limit (search.ast_worker)."""
import time

import numpy as np
import pytest

from polyopt.cli.common import load_scop
from polyopt.errors import CodegenError
from polyopt.search import backend
from polyopt.search.ast_worker import LoopAstWorker
from polyopt.search.featurize import Featurizer
from polyopt.search.testing import gemm

# heat-3d, time-skewed tiles with full-tile separation and `separate` on every point loop: isl works on its
# loop AST for minutes (86 s and more on a Zen 5 core) before its operation cap notices.
SLOW = ('{"base":"pluto","trace":[{"band":[0],"op":"permute","order":[3,1,2,0]},'
        '{"band":[0],"op":"tile","sizes":[9,32,8,50]},{"band":[0,0],"op":"tile","sizes":[1,1,2,2]},'
        '{"band":[0],"inner":0,"op":"separate_full_tiles"},{"band":[0,0,0],"dim":3,"op":"vectorize","reassoc":false},'
        '{"band":[0,0,0,0],"dim":0,"factor":8,"op":"unroll"},{"band":[0,0],"op":"separate"}],"version":1}')


@pytest.mark.parametrize("cand", ['{"base":"original","trace":[]}',
                                  '{"base":"original","trace":[{"band":[0],"op":"join"},{"band":[0],"op":"join"},'
                                  '{"band":[0],"op":"tile","sizes":[16,8,8]},{"band":[0],"inner":0,'
                                  '"op":"separate_full_tiles"},{"band":[0,0],"dim":1,"op":"vectorize","reassoc":false},'
                                  '{"band":[0],"dim":0,"op":"parallel"}],"version":1}'])
def test_worker_builds_the_same_loop_program(cand):
    scop, params = gemm(), {"NI": 40, "NJ": 48, "NK": 36}
    with LoopAstWorker(scop, params) as w:
        sched = backend.apply(scop, backend.candidate_from_json(cand))
        here = backend.loop_program(scop, sched, params)
        there = w.build(sched.tree)
    assert there.body == here.body and there.param_values == here.param_values
    a = Featurizer(scop, params, threads=1, ast_timeout=30.0)
    try:
        assert np.array_equal(a.one(backend.candidate_from_json(cand)),
                              Featurizer(scop, params, threads=1).one(backend.candidate_from_json(cand)))
    finally:
        a.close()


def test_a_slow_loop_ast_is_cut_at_the_time_limit_and_the_next_build_works():
    scop, params = load_scop("suite:heat-3d"), {"tsteps": 100, "n": 100}
    sched = backend.apply(scop, backend.candidate_from_json(SLOW))
    quick = backend.apply(scop, backend.candidate_from_json('{"base":"original","trace":[]}'))
    with LoopAstWorker(scop, params, timeout=2.0) as w:
        w.build(quick.tree)                       # the worker is up: the limit times isl alone
        t0 = time.monotonic()
        with pytest.raises(CodegenError, match="more than 2 s"):
            w.build(sched.tree)
        assert time.monotonic() - t0 < 10 and w.n_timeouts == 1
        assert w.build(quick.tree).body             # a fresh worker took over
    fz = Featurizer(scop, params, threads=1, ast_timeout=2.0)
    try:
        assert fz.one(backend.candidate_from_json(SLOW)) is None    # no features: the explorer skips it
    finally:
        fz.close()


def test_without_a_worker_the_featurizer_builds_in_its_own_process(monkeypatch, caplog):
    """A Scop the worker cannot receive (here: pickling refused) must not cost the tuner its features."""
    scop, params = gemm(), {"NI": 40, "NJ": 48, "NK": 36}

    def refuse(self, protocol):
        raise TypeError("this Scop does not pickle")

    cand = backend.candidate_from_json('{"base":"original","trace":[]}')
    expected = Featurizer(scop, params, threads=1).one(cand)
    monkeypatch.setattr(type(scop), "__reduce_ex__", refuse)
    fz = Featurizer(scop, params, threads=1, ast_timeout=5.0)
    try:
        with caplog.at_level("WARNING"):
            got = fz.one(cand)
    finally:
        fz.close()
    assert got is not None and np.array_equal(got, expected)
    assert "did not start" in caplog.text and "in this process" in caplog.text
