"""The explorer proposes rerank_pool x batch points; the machine-code model picks the batch measured."""

import numpy as np
from polyopt.search.database import Database
from polyopt.search.features import record_feature_names
from polyopt.search.measure import MeasureOptions
from polyopt.search.testing import gemm
from polyopt.search.tuner import TuneOptions, Tuner

from tests.unit.test_search_seeds import _FakeMeasurer

P = {"NI": 64, "NJ": 48, "NK": 40}


def _tuner(tmp_path, pool: int) -> tuple[Tuner, _FakeMeasurer]:
    fake = _FakeMeasurer()
    opts = TuneOptions(trials=1 + 3 * 8, batch_size=8, strategy="model", seed=0, transfer=False, seeds=False,
                       baselines=("original",), measure=MeasureOptions(threads=1), rerank_pool=pool)
    return Tuner(gemm(), "cpu", P, Database(tmp_path / f"p{pool}.db"), opts, measurer=fake), fake


def test_the_batch_is_the_full_models_best_of_the_pool(tmp_path):
    t, fake = _tuner(tmp_path, pool=3)
    asked, checks = [], []
    real_next, real_rerank = t.explorer.next_batch, t._rerank

    def next_batch(score, n, exclude, elites=()):
        out = real_next(score, n, exclude, elites)
        asked.append((n, [t.space.key(p) for p in out]))
        return out

    def rerank(points, n):
        X = np.asarray([t._record_features(p) for p in points])
        scores = t.full_model.predict(X)
        chosen = real_rerank(points, n)
        keys = {t.space.key(p) for p in chosen}
        picked = [s for p, s in zip(points, scores) if t.space.key(p) in keys]
        left = [s for p, s in zip(points, scores) if t.space.key(p) not in keys]
        checks.append(len(chosen) == n and min(picked) >= max(left))
        return chosen
    t.explorer.next_batch, t._rerank = next_batch, rerank
    t.run()
    assert [n for n, _ in asked] == [24, 24]             # after the random first round: 3 x 8 a round
    assert checks == [True, True]
    assert set(fake.batches[-1]) <= set(asked[-1][1]) and len(fake.batches[-1]) == 8
    assert not (set(asked[-1][1]) - set(fake.batches[-1])) & t.state.exclude   # the others may come back
    recs = t.db.records(t.scop.fingerprint)
    assert len(recs) == 25 and all(len(r.features) == len(record_feature_names()) for r in recs)
    assert all(np.isfinite(r.features).all() for r in recs)


def test_pool_1_measures_the_explorers_choice(tmp_path):
    t, fake = _tuner(tmp_path, pool=1)
    calls = []
    real = t.full_model.predict
    t.full_model.predict = lambda X: calls.append(1) or real(X)
    t.run()
    assert [len(b) for b in fake.batches] == [1, 8, 8, 8] and not calls
