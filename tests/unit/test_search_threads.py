"""The thread count is part of a measurement's key: a tuning with another thread count never reuses
(nor is blocked by) the records of a serial one."""

from polyopt.search.database import Database
from polyopt.search.measure import MeasureOptions
from polyopt.search.testing import gemm
from polyopt.search.tuner import tune


def test_parallel_tuning_does_not_reuse_serial_records(tmp_path):
    db = tmp_path / "t.db"
    P = {"NI": 24, "NJ": 24, "NK": 24}
    mo = MeasureOptions(min_time=0.005, min_repeats=2, build_workers=1)
    kw = dict(params=P, trials=5, db=str(db), strategy="random", batch_size=4, transfer=False,
              baselines=("original",), measure_options=mo)
    serial = tune(gemm(), threads=1, **kw)
    assert len(serial.history) == 5
    again = tune(gemm(), threads=1, **kw)                 # resumed: everything already measured
    assert len(again.history) == 5 and Database(db).count() == 5
    par = tune(gemm(), threads=2, **kw)                   # new key: measured anew, original included
    recs = Database(db).records()
    assert len(par.history) == 5 and len(recs) == 10
    assert sorted(r.threads for r in recs) == [1] * 5 + [2] * 5
    orig = [r for r in recs if '"trace":[]' in r.candidate and '"original"' in r.candidate]
    assert {r.threads for r in orig} == {1, 2}
