"""The simulated-annealing explorer: elites restart chains where measurements found good points."""

import numpy as np

from polyopt.search.explorer import SAOptions, SimulatedAnnealing


class Line:
    """Points 0..9999; a move goes at most 3 steps; knobs are the point itself."""

    def sample(self, rng):
        return int(rng.integers(10000))

    def mutate(self, p, rng):
        return int(min(9999, max(0, p + int(rng.integers(-3, 4)))))

    def key(self, p):
        return str(p)

    def knobs(self, p):
        return (p,)


def score(points):
    return -np.abs(np.asarray(points, dtype=float) - 5000.0)


def test_elite_chains_search_around_the_best_measured_points():
    opts = SAOptions(n_chains=4, n_steps=3, early_stop=10, epsilon=0.0, elite_chains=2)
    near = SimulatedAnnealing(Line(), options=opts, seed=1).next_batch(score, 4, {"4998"}, elites=[4998])
    assert min(abs(p - 5000) for p in near) <= 5, near             # the elite's chain found the peak
    far = SimulatedAnnealing(Line(), options=opts, seed=1).next_batch(score, 4, set())
    assert not any(abs(p - 5000) <= 10 for p in far), far          # random starts: nowhere near


def test_elites_are_ignored_without_elite_chains_and_never_returned():
    opts = SAOptions(n_chains=4, n_steps=3, early_stop=10, epsilon=0.0, elite_chains=0)
    sa = SimulatedAnnealing(Line(), options=opts, seed=1)
    far = sa.next_batch(score, 4, set(), elites=[4998])
    assert not any(abs(p - 5000) <= 10 for p in far)
    opts = SAOptions(n_chains=4, n_steps=3, early_stop=10, epsilon=0.0, elite_chains=4)
    exclude = {"4998"}
    got = SimulatedAnnealing(Line(), options=opts, seed=2).next_batch(score, 4, exclude, elites=[4998])
    assert 4998 not in got and all(str(p) in exclude for p in got)


def test_time_budget_bounds_a_round_of_slow_scoring():
    import time

    def slow(points):
        time.sleep(0.05)
        return score(points)
    sa = SimulatedAnnealing(Line(), options=SAOptions(n_chains=4, n_steps=50, early_stop=100), seed=0)
    sa.with_time_budget(0.2)
    t0 = time.perf_counter()
    assert len(sa.next_batch(slow, 4, set())) == 4
    assert time.perf_counter() - t0 < 1.0          # 50 steps would take 2.5 s


def test_time_budget_bounds_a_step_of_slow_moves():
    """A move can cost seconds (a stencil's dependence checks): the budget is checked before every chain's
    move, not only between steps; the chains that did not move keep their points."""
    import time

    class SlowLine(Line):
        def mutate(self, p, rng):
            time.sleep(0.1)
            return super().mutate(p, rng)
    sa = SimulatedAnnealing(SlowLine(), options=SAOptions(n_chains=16, n_steps=5, early_stop=100), seed=0)
    sa.with_time_budget(0.2)
    t0 = time.perf_counter()
    assert len(sa.next_batch(score, 4, set())) == 4
    assert time.perf_counter() - t0 < 1.0          # one step of 16 moves would take 1.6 s


def test_a_stop_request_ends_the_round_at_the_next_move():
    """Ctrl-C during annealing (should_stop turns true) ends the round before the next chain's move; the
    round still returns a batch from what it has scored."""
    import time

    class SlowLine(Line):
        def mutate(self, p, rng):
            time.sleep(0.1)
            return super().mutate(p, rng)
    stop = {"now": False}
    sa = SimulatedAnnealing(SlowLine(), options=SAOptions(n_chains=16, n_steps=50, early_stop=100), seed=0,
                            should_stop=lambda: stop["now"])
    stop["now"] = True
    t0 = time.perf_counter()
    assert len(sa.next_batch(score, 4, set())) == 4
    assert time.perf_counter() - t0 < 0.5          # one step of 16 moves alone would take 1.6 s
