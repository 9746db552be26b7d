import numpy as np

from polyopt.search import backend
from polyopt.search.measure import FaultInjector, MeasureErrorNo, MeasureOptions, MeasureTask, Measurer
from polyopt.search.space import SearchSpace
from polyopt.search.testing import gemm
from polyopt.transforms import Candidate

P = {"NI": 32, "NJ": 32, "NK": 32}


def _distinct_candidates(scop, n: int, seed: int) -> list[str]:
    """n different sampled candidates (JSON keys) of scop at sizes P."""
    space = SearchSpace(scop, P)
    rng = np.random.default_rng(seed)
    cands: list[str] = []
    while len(cands) < n:
        k = space.key(space.sample(rng))
        if k not in cands:
            cands.append(k)
    return cands


def test_crash_hang_wrong_answer_are_recorded_and_tuning_continues():
    scop = gemm()
    cands = _distinct_candidates(scop, 7, seed=0)
    faults = FaultInjector(((cands[0], "run-abort"), (cands[1], "run-hang"), (cands[2], "run-wrong"),
                            (cands[3], "build-abort"), (cands[4], "build-hang")))
    opts = MeasureOptions(build_timeout=15, run_timeout=3, min_time=0.01, build_workers=2, faults=faults)
    ref = backend.candidate_to_json(Candidate("original"))
    seen = []
    with Measurer(MeasureTask(scop, "cpu", tuple(P.items())), opts, reference=ref) as m:
        res = m.measure(cands + ['{"base": "original", "trace": [{"op": "tile", "band": [7], "sizes": [4]}]}'],
                        on_result=lambda i, r: seen.append(i))
    codes = [r.error for r in res]
    assert codes[:5] == [MeasureErrorNo.RUNTIME_DEVICE, MeasureErrorNo.RUN_TIMEOUT, MeasureErrorNo.WRONG_ANSWER,
                         MeasureErrorNo.COMPILE_HOST, MeasureErrorNo.BUILD_TIMEOUT]
    assert "SIGABRT" in res[0].message                             # which signal ended the run
    assert res[5].ok and res[6].ok and res[5].median > 0           # later candidates still measured
    assert codes[7] == MeasureErrorNo.INSTANTIATION_ERROR            # no band at that path
    assert seen == list(range(8))


def test_machine_code_features_survive_a_crashing_or_hanging_compiler():
    scop = gemm()
    cands = _distinct_candidates(scop, 5, seed=1)
    faults = FaultInjector(((cands[1], "build-abort"), (cands[3], "build-hang")))
    opts = MeasureOptions(build_timeout=3, build_workers=2, faults=faults)
    with Measurer(MeasureTask(scop, "cpu", tuple(P.items())), opts) as m:
        out = m.machine_code(cands)
    assert out[1] is None and out[3] is None
    assert all(out[i] is not None and np.isfinite(out[i]).all() for i in (0, 4))


def test_the_check_can_skip_an_outputs_rounding_noise():
    """gramschmidt with m < n: the columns of Q past rank m orthogonalise rounding noise, and a schedule that
    reassociates its reductions (vectorized with reassoc) changes them completely. Checked whole, such a
    candidate is a wrong answer; checked on the determined columns (SuiteKernel.checked), it is right."""
    from polyopt import kernels
    from polyopt.cli.common import load_scop
    from polyopt.search.measure import checked_ranges

    scop = load_scop("suite:gramschmidt")
    sizes = {"m": 40, "n": 60}
    cand = ('{"base":"pluto","trace":[{"band":[0,0,0,0,1,0],"dim":0,"op":"vectorize","reassoc":true},'
            '{"band":[0,0,1,0,1,0],"dim":0,"op":"vectorize","reassoc":true},'
            '{"band":[0,0,1,0,2,0],"dim":0,"op":"vectorize","reassoc":true}],"version":1}')
    region = checked_ranges(kernels.get("gramschmidt").checked_region(sizes))
    results = {}
    for name, checked in (("whole", ()), ("determined", region)):
        opts = MeasureOptions(min_time=0.001, build_workers=1, checked=checked)
        with Measurer(MeasureTask(scop, "cpu", tuple(sizes.items())), opts,
                      reference=backend.candidate_to_json(Candidate("original"))) as m:
            results[name] = m.measure([cand])[0]
    assert results["whole"].error == MeasureErrorNo.WRONG_ANSWER
    assert results["determined"].ok
