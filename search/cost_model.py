"""Cost models that rank candidates from their features.

`CostModel` is a two-method protocol: fit(X, y, groups) and predict(X) -> scores (higher = faster).
y is throughput (1 / seconds or GFLOP/s; 0 for failed candidates); groups names the workload of each row.

XGBoostCostModel follows AutoTVM: rank:pairwise, max_depth 3, eta 0.3, gamma 1e-4, min_child_weight 1,
labels = throughput / best throughput of the same workload. xgboost >= 2 rejects float relevance labels in
its ranking metrics, so the normalized labels are quantized to integer relevance 0..RELEVANCE_LEVELS.
xgboost >= 2 also changed what rank:pairwise learns from: by default (lambdarank_pair_method="topk") only
pairs that involve a group's top 32 documents by label. A tuning workload is one group of hundreds of
candidates, so the model never learned to order the rest (within-kernel pairwise accuracy 0.68 on the
records of gemm/2mm/syrk/lu). PAIR_METHOD="mean" samples PAIRS_PER_SAMPLE pairs for every candidate, as
AutoTVM's xgboost 0.x did: 0.78 on the same records (benchmarks/feature_check.py).
nthread=1 by default: never train with several threads while kernels are timed on the same machine.

Prior: with XGBParams.prior_column set (the CPU tuner sets it to the features' analytic cycle estimate,
ANALYTIC_COST, log2 scale), every margin starts at -prior_scale x that column and the trees learn the
corrections. On kernels it was not trained on this ranks better: leave-one-kernel-out pairwise accuracy
over the seven benchmark kernels' random samples 0.623 -> 0.680 at prior_scale 4 (within-kernel 0.72
either way; benchmarks/ranking_check.py).

Transfer: a base model trained on records of other workloads; its learned margin (without its prior) is
added to the new model's margin with weight 1 / 2**(n / 64), n = number of measurements of the new
workload (AutoTVM).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

RELEVANCE_LEVELS = 30
PAIR_METHOD = "mean"
PAIRS_PER_SAMPLE = 8
PRIOR_SCALE = 4.0


class CostModel(Protocol):
    def fit(self, X: np.ndarray, y: np.ndarray, groups: Sequence[str]) -> None: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...


def normalize_per_group(y: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Throughput divided by the best throughput of its group: values in [0, 1]."""
    y = np.asarray(y, dtype=np.float64)
    out = np.zeros_like(y)
    g = np.asarray(list(groups))
    for name in np.unique(g):
        idx = g == name
        best = y[idx].max() if idx.any() else 0.0
        if best > 0:
            out[idx] = np.clip(y[idx] / best, 0.0, 1.0)
    return out


def relevance_labels(y_norm: np.ndarray) -> np.ndarray:
    """Normalized throughput as integer relevance levels 0..RELEVANCE_LEVELS (xgboost>=2 ranking)."""
    return np.rint(np.asarray(y_norm) * RELEVANCE_LEVELS).astype(np.int64)


@dataclass(frozen=True)
class XGBParams:
    max_depth: int = 3
    eta: float = 0.3
    gamma: float = 1e-4
    min_child_weight: float = 1.0
    subsample: float = 1.0
    num_rounds: int = 80
    nthread: int = 1
    objective: str = "rank:pairwise"
    prior_column: int | None = None     # a feature column holding an analytic cost (log2 scale)
    prior_scale: float = PRIOR_SCALE    # margin prior: -prior_scale x that column (0: no prior)


class XGBoostCostModel:
    """Gradient-boosted ranking model over candidate features (refit from scratch on every fit)."""

    def __init__(self, params: XGBParams | None = None, *, seed: int = 0,
                 base: "XGBoostCostModel | None" = None, transfer_halflife: float = 64.0) -> None:
        self.params = params or XGBParams()
        self.seed = seed
        self.base = base
        self.transfer_halflife = transfer_halflife
        self.n_train = 0
        self._booster = None
        self.n_features: int | None = None

    @property
    def fitted(self) -> bool:
        return self._booster is not None

    @property
    def can_rank(self) -> bool:
        """Fitted, or holding a fitted transfer base model: that one ranks before any measurement."""
        return self.fitted or (self.base is not None and self.base.fitted)

    def _xgb_params(self) -> dict[str, object]:
        p = self.params
        out: dict[str, object] = {"objective": p.objective, "max_depth": p.max_depth, "eta": p.eta,
                                  "gamma": p.gamma, "min_child_weight": p.min_child_weight,
                                  "subsample": p.subsample, "nthread": p.nthread, "seed": self.seed,
                                  "tree_method": "hist", "verbosity": 0}
        if p.objective.startswith("rank:"):
            out["eval_metric"] = "ndcg"
            out["lambdarank_pair_method"] = PAIR_METHOD
            out["lambdarank_num_pair_per_sample"] = PAIRS_PER_SAMPLE
        return out

    def _matrix(self, X: np.ndarray, **kwargs: object) -> object:
        """An xgboost DMatrix built on the model's threads. xgboost's default (every core) starts an
        OpenMP thread pool, and a process forked after that hangs in its first DMatrix: `polyopt
        compare` forks a child for the tuned contender after a script has tuned in the same process."""
        import xgboost as xgb

        return xgb.DMatrix(X, nthread=self.params.nthread, **kwargs)

    def _base_weight(self) -> float:
        return 0.0 if self.base is None or not self.base.fitted else 0.5 ** (self.n_train / self.transfer_halflife)

    def prior(self, X: np.ndarray) -> np.ndarray | None:
        """The analytic prior's margin (cheaper estimated cost = higher score), or None without one."""
        col, scale = self.params.prior_column, self.params.prior_scale
        if col is None or scale == 0.0:
            return None
        return -scale * np.nan_to_num(np.asarray(X, dtype=np.float32)[:, col])

    def learned(self, X: np.ndarray) -> np.ndarray:
        """What the trees add to the margins (zeros before the first fit)."""
        if self._booster is None:
            return np.zeros(len(X))
        return self._booster.predict(self._matrix(np.asarray(X, dtype=np.float32)), output_margin=True)

    def _base_margin(self, X: np.ndarray) -> np.ndarray | None:
        """Prior plus the transfer model's learned part (weighted): the margin the trees start from."""
        parts = [m for m in (self.prior(X),) if m is not None]
        w = self._base_weight()
        if w > 0.0:
            parts.append(w * self.base.learned(X))  # type: ignore[union-attr]
        return sum(parts) if parts else None  # type: ignore[return-value]

    def fit(self, X: np.ndarray, y: np.ndarray, groups: Sequence[str]) -> None:
        import xgboost as xgb

        X = np.asarray(X, dtype=np.float32)
        if len(X) == 0:
            return
        self.n_features = X.shape[1]
        order = np.argsort(np.asarray(list(groups)), kind="stable")  # qid must be contiguous
        X, y = X[order], np.asarray(y, dtype=np.float64)[order]
        g = [list(groups)[i] for i in order]
        norm = normalize_per_group(y, g)
        labels = relevance_labels(norm) if self.params.objective.startswith("rank:") else norm
        _, qid = np.unique(np.asarray(g), return_inverse=True)
        self.n_train = len(X)
        dm = self._matrix(X, label=labels, qid=qid)
        margin = self._base_margin(X)
        if margin is not None:
            dm.set_base_margin(margin)
        self._booster = xgb.train(self._xgb_params(), dm, num_boost_round=self.params.num_rounds)

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        margin = self._base_margin(X)
        if self._booster is None:
            return margin if margin is not None else np.zeros(len(X))
        out = self._booster.predict(self._matrix(X), output_margin=True)
        return out + margin if margin is not None else out

    def save(self, path: str | os.PathLike[str]) -> None:
        """The booster as xgboost JSON plus a sidecar .meta.json (params, n_features)."""
        if self._booster is None:
            raise ValueError("cannot save an unfitted cost model")
        path = Path(path)
        self._booster.save_model(str(path))
        meta = {"params": self.params.__dict__, "seed": self.seed, "n_features": self.n_features,
                "n_train": self.n_train}
        path.with_suffix(".meta.json").write_text(json.dumps(meta))

    @staticmethod
    def load(path: str | os.PathLike[str]) -> "XGBoostCostModel":
        import xgboost as xgb

        path = Path(path)
        meta_path = path.with_suffix(".meta.json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        model = XGBoostCostModel(XGBParams(**meta.get("params", {})), seed=int(meta.get("seed", 0)))
        booster = xgb.Booster()
        booster.load_model(str(path))
        booster.set_param({"nthread": model.params.nthread})
        model._booster = booster
        model.n_features = meta.get("n_features")
        model.n_train = int(meta.get("n_train", 0))
        return model


class RandomCostModel:
    """Uniform random scores (the ablation baseline): the explorer then behaves like random search."""

    def __init__(self, *, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)

    def fit(self, X: np.ndarray, y: np.ndarray, groups: Sequence[str]) -> None:
        return None

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._rng.random(len(X))


def pairwise_accuracy(scores: np.ndarray, y: np.ndarray, groups: Sequence[str] | None = None,
                      min_ratio: float = 1.0) -> float:
    """Fraction of pairs (same group, different y) that the scores order like y; a pair the scores tie
    counts half (as in AUC: a model that cannot tell two candidates apart is guessing). min_ratio > 1:
    only pairs whose larger y exceeds min_ratio x the smaller (or the smaller is 0), i.e. pairs apart by
    more than the measurement noise."""
    scores, y = np.asarray(scores, dtype=np.float64), np.asarray(y, dtype=np.float64)
    g = np.asarray(list(groups)) if groups is not None else np.zeros(len(y))
    good, total = 0.0, 0
    for name in np.unique(g):
        idx = np.flatnonzero(g == name)
        s, t = scores[idx], y[idx]
        ds = np.sign(s[:, None] - s[None, :])
        dt = np.sign(t[:, None] - t[None, :])
        hi, lo = np.maximum(t[:, None], t[None, :]), np.minimum(t[:, None], t[None, :])
        mask = np.triu((dt != 0) & ((hi > lo * min_ratio) | (lo <= 0)), 1)
        total += int(mask.sum())
        good += float(((ds == dt) & mask).sum()) + 0.5 * float(((ds == 0) & mask).sum())
    return good / total if total else float("nan")
