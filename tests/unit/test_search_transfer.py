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


def _gemm_records_at(db: Database, target: str, params: dict, n: int) -> None:
    """n measured candidates of gemm itself at other sizes."""
    scop = gemm()
    space, fz = SearchSpace(scop, params), Featurizer(scop, params, threads=1)
    rng = np.random.default_rng(1)
    seen: set[str] = set()
    while len(seen) < n:
        p = space.sample(rng)
        key = space.key(p)
        if key in seen:
            continue
        seen.add(key)
        nest = fz.one(space.candidate(p), key, space.schedule(p))
        f = np.concatenate([nest, np.full(len(record_feature_names()) - len(nest), np.nan)])
        db.add(TuningRecord(scop.fingerprint, params_key(params), target, key, FEATURE_VERSION,
                            (0.01 + 0.01 * rng.random(),), 0, "", 0, versions_json(), 0.0,
                            tuple(float(x) for x in f), 1))


def test_this_kernels_records_at_other_sizes_are_learned_from_alone(tmp_path):
    db = Database(tmp_path / "siblings.db")
    opts = TuneOptions(trials=1, strategy="model", seed=0, baselines=("original",), measure=MeasureOptions(threads=1),
                       min_transfer_records=64, min_sibling_records=32)
    t = Tuner(gemm(), "cpu", P, db, opts, measurer=_FakeMeasurer())
    _other_kernel_records(db, t.target_fp)
    _gemm_records_at(db, t.target_fp, P, 8)                            # this very task: never transfer
    _gemm_records_at(db, t.target_fp, {"NI": 32, "NJ": 32, "NK": 32}, 31)
    recs, source = t._transfer_records()
    assert source == "other kernels" and {r.workload for r in recs} == {copy2d(transpose=True).fingerprint}
    _gemm_records_at(db, t.target_fp, {"NI": 16, "NJ": 24, "NK": 8}, 1)   # the 32nd record at another size
    recs, source = t._transfer_records()
    assert source == "this kernel at other sizes" and len(recs) == 32
    assert {r.params for r in recs} == {params_key({"NI": 32, "NJ": 32, "NK": 32}),
                                        params_key({"NI": 16, "NJ": 24, "NK": 8})}
    fast, _ = t._transfer_models()
    assert fast is not None and fast.can_rank
