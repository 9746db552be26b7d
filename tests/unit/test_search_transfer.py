"""Transfer: a base model trained on other workloads' records ranks the very first round of a new task."""

import numpy as np
from polyopt.search import tuner as tuner_module
from polyopt.search.database import Database, TuningRecord, params_key, versions_json
from polyopt.search.asm_features import compiled_features
from polyopt.search.features import FEATURE_VERSION, feature_names, record_feature_names
from polyopt.search.featurize import Featurizer
from polyopt.search.measure import MeasureOptions
from polyopt.search.space import SearchSpace
from polyopt.search.testing import copy2d, gemm
from polyopt.search.tuner import TuneOptions, Tuner

from tests.unit.test_search_seeds import _FakeMeasurer

P = {"NI": 64, "NJ": 48, "NK": 40}


def _other_kernel_records(db: Database, target: str, n: int = 80) -> None:
    """n measured candidates of another workload: vectorizable inner loops are fast."""
    scop, params = copy2d(transpose=True), {"N": 64}
    space, fz = SearchSpace(scop, params), Featurizer(scop, params, threads=1)
    vec = feature_names().index("total.inner_vectorizable")
    rng = np.random.default_rng(0)
    seen: set[str] = set()
    while len(seen) < n:
        p = space.sample(rng)
        key = space.key(p)
        if key in seen:
            continue
        seen.add(key)
        nest = fz.one(space.candidate(p), key, space.schedule(p))
        f = np.concatenate([nest, compiled_features(scop, space.schedule(p), params)])
        secs = 0.01 if f[vec] > 0 else 0.08 + 0.001 * rng.random()
        db.add(TuningRecord(scop.fingerprint, params_key(params), target, key, FEATURE_VERSION, (secs,), 0, "",
                            0, versions_json(), 0.0, tuple(float(x) for x in f), 1))


def _first_round_is_random(tmp_path, monkeypatch, transfer: bool) -> bool:
    calls = []
    real = tuner_module.random_batch

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)
    monkeypatch.setattr(tuner_module, "random_batch", spy)
    db = Database(tmp_path / f"t{transfer}.db")
    opts = TuneOptions(trials=1 + 8, batch_size=8, strategy="model", seed=0, transfer=transfer, seeds=False,
                       baselines=("original",), measure=MeasureOptions(threads=1), min_transfer_records=64)
    t = Tuner(gemm(), "cpu", P, db, opts, measurer=_FakeMeasurer())
    _other_kernel_records(db, t.target_fp)
    t.model, t.full_model = t._make_models()   # the records arrived after construction: build them again
    t.run()
    mine = db.records(t.scop.fingerprint)
    assert mine and all(len(r.features) == len(record_feature_names()) for r in mine)
    return bool(calls)


def test_a_transfer_model_ranks_the_first_round(tmp_path, monkeypatch):
    assert not _first_round_is_random(tmp_path, monkeypatch, transfer=True)
    assert _first_round_is_random(tmp_path, monkeypatch, transfer=False)


def test_records_of_an_earlier_feature_version_are_skipped_with_a_warning(tmp_path, caplog):
    """After an upgrade that changed the features, the other workloads' records cannot train the transfer
    model (their vectors mean something else): the tuner says so instead of silently tuning without."""
    import logging

    from polyopt.search.database import TuningRecord, params_key, versions_json

    db = Database(tmp_path / "old.db")
    opts = TuneOptions(trials=1, strategy="model", seed=0, transfer=True, seeds=False, baselines=("original",),
                       measure=MeasureOptions(threads=1), min_transfer_records=4)
    t = Tuner(gemm(), "cpu", P, db, opts, measurer=_FakeMeasurer())
    width, original = len(record_feature_names()), '{"base": "original", "trace": []}'
    for i in range(8):
        db.add(TuningRecord("other-kernel", params_key({"N": 64 + i}), t.target_fp, original, FEATURE_VERSION - 1,
                            (0.01 * (i + 1),), 0, "", 0, versions_json(), 0.0, (0.5,) * width, 1))
    with caplog.at_level(logging.WARNING, logger="polyopt.search.tuner"):
        assert t._transfer_models() == (None, None)
    assert "8 records of other workloads" in caplog.text and f"version {FEATURE_VERSION - 1}" in caplog.text


def test_resumed_measurements_of_an_earlier_feature_version_are_featurized_again(tmp_path):
    """A task resumed after an upgrade: its earlier measurements still count (never measured again), but
    their feature vectors, of the same length and another meaning, are not used as they are: the tuner
    computes them again and writes them back with the current version, the times untouched."""
    from polyopt.search.database import TuningRecord, params_key, versions_json

    db = Database(tmp_path / "resume.db")
    opts = TuneOptions(trials=1, strategy="model", seed=0, transfer=False, seeds=False, baselines=(),
                       measure=MeasureOptions(threads=1))
    t = Tuner(gemm(), "cpu", P, db, opts, measurer=_FakeMeasurer())
    width = len(record_feature_names())
    old, new = '{"base": "original", "trace": []}', '{"base": "polly", "trace": []}'
    for cand, version in ((old, FEATURE_VERSION - 1), (new, FEATURE_VERSION)):
        db.add(TuningRecord(t.scop.fingerprint, params_key(t.params), t.target_fp, cand, version, (0.01,), 0, "",
                            0, versions_json(), 0.0, (0.5,) * width, t.threads))
    t._load_previous()
    assert len(t.state.history) == 2 and len(t.state.exclude) == 2
    assert [x is None for x in t.state.X] == [True, False]      # the stale vector is not used as it is
    t._refeaturize_stale()
    fresh = t.state.X[0]
    assert fresh is not None and not np.allclose(fresh, 0.5)
    stored = {r.candidate: r for r in db.records(t.scop.fingerprint)}
    assert all(r.feature_version == FEATURE_VERSION for r in stored.values())
    assert stored[t.state.history[0].candidate].times == (0.01,)
    assert np.allclose(stored[t.state.history[0].candidate].features, fresh, atol=1e-5, equal_nan=True)
