import numpy as np

from polyopt.search.cost_model import (RandomCostModel, XGBoostCostModel, normalize_per_group,
                                       pairwise_accuracy, relevance_labels)


def _problem(seed, n=300, groups=3):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 12))
    y = np.exp(3 * X[:, 0] - 2 * X[:, 1] + X[:, 2] * X[:, 3])
    g = [f"k{i % groups}" for i in range(n)]
    return X, y * (1 + np.arange(n) % groups), g    # groups on different scales


def test_labels_normalized_per_group_and_integer():
    y = np.array([1.0, 2.0, 10.0, 20.0, 0.0])
    norm = normalize_per_group(y, ["a", "a", "b", "b", "b"])
    assert np.allclose(norm, [0.5, 1.0, 0.5, 1.0, 0.0])
    assert relevance_labels(norm).dtype.kind == "i"


def test_xgboost_ranks_synthetic_problem(tmp_path):
    X, y, g = _problem(0)
    m = XGBoostCostModel(seed=0)
    m.fit(X[:200], y[:200], g[:200])
    acc = pairwise_accuracy(m.predict(X[200:]), y[200:], g[200:])
    assert acc > 0.8
    assert pairwise_accuracy(RandomCostModel(seed=0).predict(X[200:]), y[200:], g[200:]) < 0.65
    m.save(tmp_path / "m.json")
    assert np.allclose(XGBoostCostModel.load(tmp_path / "m.json").predict(X[200:]), m.predict(X[200:]))


def test_ranks_the_slow_candidates_of_one_large_workload_too():
    """One workload of 200 candidates is one ranking group: the model must order all of it, not only the
    top 32 by label (xgboost >= 2's default pair sampling learned nothing about the rest: 0.55 here)."""
    rng = np.random.default_rng(0)
    X = rng.random((300, 6))
    y = np.exp(3 * X[:, 0] + X[:, 1])
    m = XGBoostCostModel(seed=0)
    m.fit(X[:200], y[:200], ["w"] * 200)
    slow = y[200:] < np.median(y[200:])
    assert pairwise_accuracy(m.predict(X[200:][slow]), y[200:][slow]) > 0.8


def test_transfer_base_model_helps_with_few_records():
    X, y, g = _problem(1, n=400)
    base = XGBoostCostModel(seed=0)
    base.fit(X[:300], y[:300], g[:300])
    new = XGBoostCostModel(seed=0, base=base)
    new.fit(X[300:310], y[300:310], ["new"] * 10)
    assert 0 < new._base_weight() <= 1
    acc = pairwise_accuracy(new.predict(X[310:]), y[310:])
    assert acc > 0.75


def test_prior_ranks_before_any_fit_and_trees_learn_its_corrections(tmp_path):
    """With a prior column (an analytic cost: lower = faster), an unfitted model ranks by it; a fitted one
    starts from it and learns what it misses (here: column 1 matters too). The prior is saved with the model."""
    from polyopt.search.cost_model import XGBParams

    rng = np.random.default_rng(3)
    X = rng.random((300, 4))
    X[:, 0] *= 8                                     # the "analytic cost", log2 scale
    y = 1.0 / (2 ** X[:, 0] * (1 + 2 * X[:, 1]))     # true time: the prior's cost times a factor it misses
    params = XGBParams(prior_column=0)
    prior_only = XGBoostCostModel(params, seed=0)
    assert not prior_only.fitted
    assert pairwise_accuracy(prior_only.predict(X), y) > 0.8
    m = XGBoostCostModel(params, seed=0)
    m.fit(X[:200], y[:200], ["w"] * 200)
    fitted = pairwise_accuracy(m.predict(X[200:]), y[200:])
    assert fitted > pairwise_accuracy(prior_only.predict(X[200:]), y[200:])
    m.save(tmp_path / "m.json")
    loaded = XGBoostCostModel.load(tmp_path / "m.json")
    assert loaded.params.prior_column == 0 and np.allclose(loaded.predict(X[200:]), m.predict(X[200:]))


def test_transfer_adds_the_base_models_learned_part_not_its_prior_again():
    from polyopt.search.cost_model import XGBParams

    X, y, g = _problem(1)
    params = XGBParams(prior_column=0)
    base = XGBoostCostModel(params, seed=0)
    base.fit(X, y, g)
    new = XGBoostCostModel(params, seed=0, base=base)
    assert np.allclose(new.predict(X[:10]), new.prior(X[:10]) + base.learned(X[:10]))
    assert np.allclose(base.predict(X[:10]), base.prior(X[:10]) + base.learned(X[:10]))


def test_pairwise_accuracy_counts_a_tie_in_the_scores_half():
    y = np.array([1.0, 2.0, 3.0])
    assert pairwise_accuracy(np.array([1.0, 2.0, 3.0]), y) == 1.0
    assert pairwise_accuracy(np.array([3.0, 2.0, 1.0]), y) == 0.0
    assert pairwise_accuracy(np.zeros(3), y) == 0.5                  # no information: a coin flip
    assert pairwise_accuracy(np.array([1.0, 1.0, 3.0]), y) == (0.5 + 1 + 1) / 3
    assert np.isnan(pairwise_accuracy(np.array([1.0, 2.0]), np.array([5.0, 5.0])))   # equal y: no pair to count
    y = np.array([1.0, 1.05, 2.0])                                   # only (1, 2) and (1.05, 2) are 10% apart
    assert pairwise_accuracy(np.array([2.0, 1.0, 3.0]), y, min_ratio=1.1) == 1.0
    assert pairwise_accuracy(np.array([2.0, 1.0, 3.0]), y) == 2 / 3


def _fit_in_child(conn) -> None:  # type: ignore[no-untyped-def]
    X, y, g = _problem(2)
    m = XGBoostCostModel(seed=0)
    m.fit(X, y, g)
    conn.send(float(m.predict(X[:1])[0]))


def test_a_process_forked_after_fitting_can_fit_again():
    """`polyopt compare` forks a child that tunes after the calling script may have tuned: xgboost's
    default DMatrix starts an OpenMP pool, and a forked child's first DMatrix then hung forever."""
    import multiprocessing

    X, y, g = _problem(1, n=3000)
    XGBoostCostModel(seed=0).fit(X, y, g)
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_fit_in_child, args=(sender,))
    child.start()
    try:
        assert receiver.poll(60), "the forked child hung in xgboost"
        assert np.isfinite(receiver.recv())
    finally:
        child.kill()
        child.join()
