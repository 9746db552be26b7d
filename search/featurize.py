"""Candidate -> feature vector, through the real transformed loop AST, cached by candidate JSON."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Mapping, Sequence

import numpy as np

from polyopt.model import Scop
from polyopt.search import backend
from polyopt.search.features import extract, n_features

log = logging.getLogger(__name__)


class Featurizer:
    """Features of candidates of one (scop, params); None for a candidate that cannot be built."""

    def __init__(self, scop: Scop, params: Mapping[str, int], *, threads: int | None = None,
                 cache_size: int = 20000) -> None:
        self.scop = scop
        self.params = dict(params)
        self.threads = threads
        self._cache: OrderedDict[str, np.ndarray | None] = OrderedDict()
        self._size = cache_size
        self.n_built = 0

    def one(self, candidate: Any, key: str | None = None, schedule: Any = None) -> np.ndarray | None:
        """Features of a candidate (pass its Schedule when it is already built)."""
        key = key or backend.candidate_to_json(candidate)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            if schedule is None:
                schedule = backend.apply(self.scop, candidate)
            program = backend.loop_program(self.scop, schedule, self.params)
            vec: np.ndarray | None = extract(program, threads=self.threads)
            self.n_built += 1
        except Exception as e:  # noqa: BLE001 - an unbuildable candidate just gets no features
            log.debug("no features for %s: %s", key, e)
            vec = None
        self._cache[key] = vec
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return vec

    def matrix(self, candidates: Sequence[Any], keys: Sequence[str] | None = None) -> np.ndarray:
        """Rows of features; a row of NaN where a candidate has none."""
        out = np.full((len(candidates), n_features()), np.nan)
        for i, c in enumerate(candidates):
            v = self.one(c, keys[i] if keys is not None else None)
            if v is not None:
                out[i] = v
        return out
