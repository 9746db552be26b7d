"""tune(..., time_budget=S) / `polyopt tune --time-budget S`: tuning stops after S seconds, inside a batch,
with every measurement made kept in the result and the database."""

import json
import time

import pytest
from polyopt.search.database import Database
from polyopt.search.measure import MeasureOptions
from polyopt.search.testing import gemm
from polyopt.search.tuner import TuneOptions, Tuner, tune

from polyopt.cli import main
from tests.unit.test_search_seeds import P, _FakeMeasurer

SLOW = 0.1          # seconds the fake measurer takes per candidate


class _SlowMeasurer(_FakeMeasurer):
    def measure(self, cands, on_result=None, *, cutoff=True):
        def slow(i, r):
            time.sleep(SLOW)
            if on_result:
                on_result(i, r)
        return super().measure(cands, slow, cutoff=cutoff)


BUDGET = 3.0        # seconds: the tuner's own start (baseline, features) must leave room for a few measurements
                    # on a loaded 2-core machine (with 1 s, a load of 3-4 left room for two)


def test_tuning_stops_inside_a_batch_when_the_budget_is_spent(tmp_path):
    fake = _SlowMeasurer()
    opts = TuneOptions(trials=500, batch_size=16, strategy="random", seed=0, transfer=False, seeds=False,
                       baselines=("original",), measure=MeasureOptions(threads=1), time_budget=BUDGET)
    tuner = Tuner(gemm(), "cpu", P, Database(tmp_path / "t.db"), opts, measurer=fake)
    t0 = time.monotonic()
    result = tuner.run()
    elapsed = time.monotonic() - t0
    n = len(result.history)
    assert 3 <= n <= BUDGET / SLOW + 1                      # about budget / SLOW measurements, not 500
    assert len(fake.batches[-1]) == 16 and n % 16 != 1      # the last batch was cut short
    assert elapsed < BUDGET + 3 * SLOW + 1.0 and not result.interrupted
    assert len(Database(tmp_path / "t.db").records(gemm().fingerprint)) == n   # all of them recorded


def test_a_budget_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match="time_budget"):
        tune(gemm(), params=P, trials=4, time_budget=0)


def test_cli_time_budget_ends_a_long_tuning(tmp_path, capsys):
    t0 = time.monotonic()
    rc = main(["tune", "suite:gemm", "--size", "MINI", "--trials", "100000", "--time-budget", "3",
               "--db", str(tmp_path / "cli.db"), "--threads", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["best_time"] > 0 and 2 < out["trials"] < 100000 and not out["interrupted"]
    assert time.monotonic() - t0 < 60


def test_a_budget_spent_on_the_baselines_stops_before_the_rest(tmp_path):
    fake = _SlowMeasurer()
    opts = TuneOptions(trials=50, batch_size=16, strategy="random", seed=0, transfer=False, seeds=False,
                       baselines=("original", "polly", "pluto", "isl"), measure=MeasureOptions(threads=1),
                       time_budget=0.05)
    result = Tuner(gemm(), "cpu", P, Database(tmp_path / "t.db"), opts, measurer=fake).run()
    assert sum(len(b) for b in fake.batches) == 1                   # one baseline measured, then nothing
    assert list(result.baselines) == ["original"] and len(result.history) == 1 and not result.interrupted
