"""Choosing what to measure next: simulated annealing over the space with the cost model as energy.

AutoTVM's explorer: parallel chains that persist across refits (each round continues from where the
chains stopped), temperature falls linearly 1 -> 0 over the steps of a round, a round stops early when
the top list has not changed for `early_stop` steps; a move changes one knob. The batch is the top of the
visited points by predicted score, chosen greedily with a bonus for knob values the batch does not cover
yet (diversity), plus about 5% uniformly random points (epsilon-greedy). Points already measured or
already chosen are never returned again (dedupe by the space's key, i.e. the candidate's trace JSON).

The defaults are smaller than AutoTVM's (128 chains x 500 steps) because scoring a point here builds a
real loop AST (isl AST generation: about 30 ms for gemm, 150 ms for a time-tiled jacobi-2d at MEDIUM),
not a feature lookup; legality of a move is cheap once its trace shape is known (space_trace's fast
legality). Measured on the 2-core machine: 13.7 proposals/s for gemm, 4.7 for jacobi-2d, so 16 x 20 is
what a round of 64 measurements affords. The fields of SAOptions restore AutoTVM's sizes. The GPU space
(polyopt.search.gpu) scores from knob-level features without a build and uses 32 x 40.

Elites: the tuner passes the best measured points of the task; each round, up to `elite_chains` chains
restart from them (the chains with the lowest predicted score give way). With few chains and steps,
annealing from random starts rarely reaches the region measurements already found good; starting
there makes each round a model-filtered local search around the incumbents (Ansor's evolutionary search
does the same with its population), while the other chains keep exploring.

Time budget: where scoring a point is slow (lu: ~0.3 s of isl AST generation per point), a round of 16 x 8
would take far longer than measuring its batch; the tuner bounds each round's annealing by the time the
last batch took to measure, so proposing never costs more than measuring.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Generic, Hashable, Protocol, Sequence, TypeVar

import numpy as np

P = TypeVar("P", bound=Hashable)


class Space(Protocol[P]):
    def sample(self, rng: np.random.Generator) -> P: ...

    def mutate(self, point: P, rng: np.random.Generator) -> P: ...

    def key(self, point: P) -> str: ...

    def knobs(self, point: P) -> tuple[Hashable, ...]: ...


ScoreFn = Callable[[Sequence[P]], np.ndarray]


@dataclass(frozen=True)
class SAOptions:
    n_chains: int = 16
    n_steps: int = 20
    early_stop: int = 6
    epsilon: float = 0.05
    diversity: float = 0.5        # weight of the knob-coverage bonus (0: pure top-k)
    pool_factor: int = 3          # the diverse pick looks at the top pool_factor x batch points
    elite_chains: int = 0         # chains restarted from the best measured points each round
    time_budget: float | None = None   # seconds a round may anneal (at least one step is taken)


class SimulatedAnnealing(Generic[P]):
    """Persistent-chain simulated annealing; call next_batch once per measurement round."""

    def __init__(self, space: Space[P], *, options: SAOptions | None = None, seed: int = 0,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.space = space
        self.options = options or SAOptions()
        self.should_stop = should_stop or (lambda: False)     # true: end the round now (Ctrl-C)
        self.rng = np.random.default_rng(seed)
        self.chains: list[P] = []

    def with_time_budget(self, seconds: float | None) -> None:
        """Bound the annealing time of the following rounds (None: n_steps steps)."""
        self.options = replace(self.options, time_budget=seconds)

    def next_batch(self, score: ScoreFn, batch_size: int, exclude: set[str],
                   elites: Sequence[P] = ()) -> list[P]:
        """Up to batch_size new points (keys not in exclude); exclude is updated with them. elites: the
        best measured points, best first (see the module docstring)."""
        opts = self.options
        n_random = int(round(opts.epsilon * batch_size)) if batch_size >= 4 else 0
        visited = self._anneal(score, exclude, list(elites)[:opts.elite_chains])
        chosen = self._pick(visited, batch_size - n_random, exclude)
        chosen += self._random(batch_size - len(chosen), exclude)
        return chosen

    def _anneal(self, score: ScoreFn, exclude: set[str], elites: list[P]) -> dict[str, tuple[float, P]]:
        opts = self.options
        while len(self.chains) < opts.n_chains:
            self.chains.append(self.space.sample(self.rng))
        cur = np.asarray(score(self.chains), dtype=np.float64)
        if elites:
            keys = {self.space.key(p) for p in self.chains}
            fresh = [e for e in elites if self.space.key(e) not in keys]
            if fresh:
                worst = np.argsort(cur)[:len(fresh)]          # the lowest-scored chains give way
                fresh = fresh[:len(worst)]
                fresh_scores = np.asarray(score(fresh), dtype=np.float64)
                for k, e, v in zip(worst, fresh, fresh_scores):
                    self.chains[int(k)], cur[int(k)] = e, v
        visited: dict[str, tuple[float, P]] = {}
        self._visit(visited, self.chains, cur, exclude)
        last_top, still = self._top_keys(visited), 0
        start = time.perf_counter()
        for step in range(opts.n_steps):
            if step and self._over(start):
                break
            temp = 1.0 - step / max(1, opts.n_steps)
            new = [p if k and self._over(start) else self.space.mutate(p, self.rng)
                   for k, p in enumerate(self.chains)]
            new_scores = np.asarray(score(new), dtype=np.float64)
            self._visit(visited, new, new_scores, exclude)
            accept = self._accept(cur, new_scores, temp)
            for k in np.flatnonzero(accept):
                self.chains[k], cur[k] = new[k], new_scores[k]
            top = self._top_keys(visited)
            still = still + 1 if top == last_top else 0
            last_top = top
            if still >= opts.early_stop:
                break
        return visited

    def _over(self, start: float) -> bool:
        """The round's time budget is spent, or a stop was requested (checked before every chain's move:
        one move of a stencil chain can cost seconds of dependence checks, so a whole step may not fit
        the budget)."""
        budget = self.options.time_budget
        return self.should_stop() or (budget is not None and time.perf_counter() - start > budget)

    def _accept(self, cur: np.ndarray, new: np.ndarray, temp: float) -> np.ndarray:
        finite_new = np.where(np.isfinite(new), new, -np.inf)
        finite_cur = np.where(np.isfinite(cur), cur, -np.inf)
        with np.errstate(over="ignore", invalid="ignore"):
            delta = finite_new - finite_cur
            prob = np.where(delta >= 0, 1.0, np.exp(delta / max(temp, 1e-5)))
        prob = np.where(np.isnan(prob), np.isfinite(finite_new).astype(float), prob)
        return self.rng.random(len(cur)) < prob

    def _visit(self, visited: dict[str, tuple[float, P]], points: Sequence[P], scores: np.ndarray,
               exclude: set[str]) -> None:
        for p, s in zip(points, scores):
            if not math.isfinite(float(s)):
                continue
            k = self.space.key(p)
            if k not in exclude and k not in visited:
                visited[k] = (float(s), p)

    @staticmethod
    def _top_keys(visited: dict[str, tuple[float, P]], n: int = 16) -> tuple[str, ...]:
        return tuple(k for k, _ in sorted(visited.items(), key=lambda kv: -kv[1][0])[:n])

    def _pick(self, visited: dict[str, tuple[float, P]], n: int, exclude: set[str]) -> list[P]:
        ranked = sorted(visited.items(), key=lambda kv: -kv[1][0])[:max(n, 1) * self.options.pool_factor]
        if not ranked or n <= 0:
            return []
        scores = np.array([s for _, (s, _) in ranked])
        spread = float(scores.max() - scores.min()) or 1.0
        norm = (scores - scores.min()) / spread
        covered: set[tuple[int, Hashable]] = set()
        chosen: list[P] = []
        remaining = list(range(len(ranked)))
        while remaining and len(chosen) < n:
            def gain(i: int) -> float:
                knobs = self.space.knobs(ranked[i][1][1])
                new = sum((j, v) not in covered for j, v in enumerate(knobs)) / max(1, len(knobs))
                return norm[i] + self.options.diversity * new
            best = max(remaining, key=gain)
            remaining.remove(best)
            key, (_, point) = ranked[best]
            if key in exclude:
                continue
            exclude.add(key)
            chosen.append(point)
            covered.update(enumerate(self.space.knobs(point)))
        return chosen

    def _random(self, n: int, exclude: set[str], max_tries: int = 50) -> list[P]:
        out: list[P] = []
        tries = 0
        while len(out) < n and tries < max_tries * max(1, n):
            tries += 1
            p = self.space.sample(self.rng)
            k = self.space.key(p)
            if k not in exclude:
                exclude.add(k)
                out.append(p)
        return out


def random_batch(space: Space[P], rng: np.random.Generator, n: int, exclude: set[str],
                 max_tries: int = 50) -> list[P]:
    """n uniformly sampled new points (random search)."""
    out: list[P] = []
    tries = 0
    while len(out) < n and tries < max_tries * max(1, n):
        tries += 1
        p = space.sample(rng)
        k = space.key(p)
        if k not in exclude:
            exclude.add(k)
            out.append(p)
    return out
