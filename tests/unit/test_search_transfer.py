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
