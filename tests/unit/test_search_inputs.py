"""Measurement inputs: the suite's own generators, NaN poisoning of write-only outputs, and fresh inputs
for every output check."""

import concurrent.futures as cf

import numpy as np
from polyopt.search import backend
from polyopt.search.inputs import measure_inputs, poison_outputs, suite_kernel_name, write_only_arrays
from polyopt.search.measure import MeasureOptions, Measurer, MeasureTask
from polyopt.search.testing import gemm

from polyopt import kernels
from polyopt.cli.common import load_scop
from polyopt.transforms import Candidate


def test_suite_kernels_get_their_own_inputs():
    scop = load_scop("suite:lu")
    assert suite_kernel_name(scop) == "lu"
    got = measure_inputs(scop, {"n": 40}, 3)
    want = kernels.make_inputs("lu", {"n": 40}, 3)
    assert np.array_equal(got["A"], want["A"])
    assert not np.array_equal(got["A"], measure_inputs(scop, {"n": 40}, 4)["A"])   # fresh per seed
    assert suite_kernel_name(gemm()) is None                                         # not a suite kernel


def test_write_only_arrays_are_poisoned():
    scop = load_scop("suite:2mm")
    assert "tmp" in write_only_arrays(scop) and "D" not in write_only_arrays(scop)
    args = poison_outputs(scop, measure_inputs(scop, kernels.dataset("2mm", "MINI"), 0))
    assert np.isnan(args["tmp"]).all() and np.isfinite(args["D"]).all()


def _thread_pool(workers: int) -> cf.Executor:
    return cf.ThreadPoolExecutor(max_workers=workers)


def test_every_check_uses_fresh_inputs():
    scop = gemm()
    P = {"NI": 12, "NJ": 12, "NK": 12}
    seeds = []

    def inputs(s, params, seed):
        seeds.append(seed)
        return measure_inputs(s, params, seed)

    ref = backend.candidate_to_json(Candidate("original"))
    from polyopt.search.space import SearchSpace

    space = SearchSpace(scop, P, bases=("original",))
    tiled = space.key(space.sample(np.random.default_rng(0)))
    opts = MeasureOptions(min_time=0.0, min_repeats=1, build_workers=1)
    with Measurer(MeasureTask(scop, "cpu", tuple(P.items()), inputs), opts, reference=ref,
                  executor_factory=_thread_pool) as m:
        res = m.measure([ref, tiled])
    assert all(r.ok for r in res), res
    check_seeds = [s for s in seeds if s != opts.check_seed]       # check_seed itself: timing inputs
    assert len(check_seeds) == 2 and len(set(check_seeds)) == 2     # one fresh draw per check
