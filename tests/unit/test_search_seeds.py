"""Seed points: legal, distinct, vectorizable structured candidates, measured first by the model strategy."""

import numpy as np
from polyopt.search.database import Database
from polyopt.search.features import feature_names
from polyopt.search.featurize import Featurizer
from polyopt.search.measure import MeasureErrorNo, MeasureOptions, MeasureResult
from polyopt.search.seeds import seed_points
from polyopt.search.space import SearchSpace
from polyopt.search.testing import gemm
from polyopt.search.tuner import TuneOptions, Tuner

P = {"NI": 64, "NJ": 48, "NK": 40}


def _seeds(scop, per_base=2, seed=0):
    space = SearchSpace(scop, P)
    fz = Featurizer(scop, P, threads=1)
    pts = seed_points(space, lambda p: fz.one(space.candidate(p), space.key(p), space.schedule(p)),
                      per_base=per_base, rng=np.random.default_rng(seed))
    return space, fz, pts


def test_seeds_are_distinct_legal_points_of_two_families():
    """Vector-strip seeds (their vector loop has unit strides) and one register-block seed per base."""
    scop = gemm()
    space, fz, pts = _seeds(scop)
    assert 0 < len(pts) <= 3 * len(space.bases)
    keys = [space.key(p) for p in pts]
    assert len(set(keys)) == len(keys)
    vec = feature_names().index("total.inner_vectorizable")
    blocks = 0
    for p in pts:
        assert space.verify(p)                                     # full dependence check
        assert '"op":"vectorize"' in space.key(p)
        if '"sizes":[8,8,8]' in space.key(p):
            blocks += 1
        else:
            assert fz.one(space.candidate(p), space.key(p), space.schedule(p))[vec] > 0
    assert 0 < blocks <= len(space.bases)
    assert [space.key(p) for p in _seeds(gemm())[2]] == keys       # deterministic for one rng seed



def test_a_fused_stencil_band_gets_a_time_tile_seed_with_its_inner_loop_distributed():
    """jacobi-2d's skewed bases fuse both sweeps in one band; their vector-strip seeds never vectorize
    (the fused inner loop), so without the time-tile seed no seed of those bases was measured at all."""
    from polyopt.cli.common import load_scop

    scop = load_scop("suite:jacobi-2d")
    params = {"tsteps": 20, "n": 120}
    space = SearchSpace(scop, params)
    fz = Featurizer(scop, params, threads=1)
    pts = seed_points(space, lambda p: fz.one(space.candidate(p), space.key(p), space.schedule(p)),
                      rng=np.random.default_rng(0))
    stencil = [p for p in pts if '"op":"fission"' in space.key(p)]
    assert stencil, [space.key(p) for p in pts]
    vec = feature_names().index("total.inner_vectorizable")
    for p in stencil:
        assert space.verify(p)                                     # full dependence check
        assert '"op":"tile"' in space.key(p)
        assert fz.one(space.candidate(p), space.key(p), space.schedule(p))[vec] > 0


class _FakeMeasurer:
    """Times from a fixed rule instead of running code: this test is about what the tuner proposes."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def measure(self, cands, on_result=None, *, cutoff=True):
        self.batches.append(list(cands))
        out = []
        for i, c in enumerate(cands):
            r = MeasureResult(MeasureErrorNo.NO_ERROR, (1.0 + len(c) % 7,))
            if on_result:
                on_result(i, r)
            out.append(r)
        return out

    def machine_code(self, cands):
        """Compiled in this process (the real measurer uses its build workers)."""
        from polyopt.search import backend
        from polyopt.search.asm_features import compiled_features

        scop, params = gemm(), P               # the workload every test of this fake tunes
        return [compiled_features(scop, backend.apply(scop, backend.candidate_from_json(c)), params)
                for c in cands]

    def close(self) -> None:
        pass


def _first_batch(tmp_path, strategy, seeds=True):
    fake = _FakeMeasurer()
    opts = TuneOptions(trials=1 + 8, batch_size=8, strategy=strategy, seed=0, transfer=False, seeds=seeds,
                       baselines=("original",), measure=MeasureOptions(threads=1))
    Tuner(gemm(), "cpu", P, Database(tmp_path / f"{strategy}{seeds}.db"), opts, measurer=fake).run()
    assert [len(b) for b in fake.batches] == [1, 8]        # the baseline, then the first round
    return fake.batches[1]


def test_model_strategy_measures_seeds_first_and_random_strategy_never(tmp_path):
    space, _, pts = _seeds(gemm(), seed=0)
    keys = {space.key(p) for p in pts}
    first = _first_batch(tmp_path, "model")
    assert len(first) == 8
    assert len(keys & set(first)) == 4                # half the first batch, the rest random
    assert not keys & set(_first_batch(tmp_path, "random"))
    assert not keys & set(_first_batch(tmp_path, "model", seeds=False))
