"""polyopt.search: the learned optimizer (search space, features, cost model, explorer, measurement,
tuning database and the tuning loop). Submodules import lazily; `from polyopt.search import tune`."""

from __future__ import annotations

from typing import Any

__all__ = ["tune", "TuneResult", "Database", "SearchSpace", "XGBoostCostModel", "RandomCostModel",
           "MeasureErrorNo", "MeasureResult", "FEATURE_VERSION"]

_WHERE = {"tune": "tuner", "TuneResult": "tuner", "Database": "database", "SearchSpace": "space",
          "XGBoostCostModel": "cost_model", "RandomCostModel": "cost_model", "MeasureErrorNo": "measure",
          "MeasureResult": "measure", "FEATURE_VERSION": "features"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"polyopt.search.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'polyopt.search' has no attribute {name!r}")
