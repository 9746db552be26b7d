"""The comparison report: geomean math, speedups, markdown/CSV/JSON output, contender resolution, and the
numpy formulations against the suite's Python versions."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from polyopt.compare.contenders import ALL_NAMES, resolve
from polyopt.compare.numpy_equiv import EQUIVALENTS
from polyopt.compare.report import ComparisonReport, Measurement, geomean
from polyopt.errors import PolyoptError


def _report() -> ComparisonReport:
    ms = (
        Measurement("gemm", "gcc", "ok", times=(4.0, 2.0, 3.0)),            # median 3
        Measurement("gemm", "polly", "ok", times=(1.0,)),
        Measurement("gemm", "polyopt-polly", "ok", times=(0.5, 0.5)),
        Measurement("lu", "gcc", "ok", times=(2.0,)),
        Measurement("lu", "polly", "ok", times=(4.0,)),
        Measurement("lu", "polyopt-polly", "wrong", note="A: differs from the reference", max_error=0.3),
        Measurement("gemm", "graphite", "skipped", note="gcc not found on PATH"),
        Measurement("lu", "graphite", "skipped", note="gcc not found on PATH"),
    )
    return ComparisonReport("SMALL", 1, 3, 0, ("gemm", "lu"), ("gcc", "graphite", "polly", "polyopt-polly"),
                            {"gcc": "gcc -O3", "polly": "clang -O3 -mllvm -polly"}, ms, {"gemm": 6e9})


def test_geomean_math() -> None:
    assert geomean([2.0, 8.0]) == pytest.approx(4.0)
    assert geomean([3.0]) == pytest.approx(3.0)
    assert geomean([]) is None
    assert geomean([None, 0.0, math.inf, 5.0]) == pytest.approx(5.0)   # only positive finite values
    assert geomean([0.5, 2.0]) == pytest.approx(1.0)


def test_speedups_and_geomeans() -> None:
    r = _report()
    assert r.get("gemm", "gcc").median == 3.0
    assert r.speedup("gemm", "polly") == pytest.approx(3.0)
    assert r.speedup("lu", "polly") == pytest.approx(0.5)
    assert r.geomean("polly", "gcc") == pytest.approx(math.sqrt(3.0 * 0.5))
    assert r.speedup("lu", "polyopt-polly") is None             # wrong answers are never timed
    assert r.geomean("polyopt-polly", "gcc") == pytest.approx(6.0)  # over the kernels it passed
    assert r.geomean("polyopt-polly", "polly") == pytest.approx(2.0)
    assert r.geomean("graphite", "gcc") is None
    assert r.gflops("gemm", "polly") == pytest.approx(6.0)


def test_markdown_table() -> None:
    md = _report().to_markdown()
    lines = md.splitlines()
    assert "| kernel | gcc | graphite | polly | polyopt-polly |" in lines
    row = next(line for line in lines if line.startswith("| gemm |"))
    assert "3e+03 (1.00x)" in row and "1e+03 (3.00x)" in row and "skipped" in row
    assert "WRONG" in next(line for line in lines if line.startswith("| lu |"))
    assert any(line.startswith("| **geomean vs gcc** |") and "**1.22x**" in line for line in lines)
    assert any(line.startswith("| **geomean vs polly** |") for line in lines)
    assert "gcc not found on PATH" in md and "differs from the reference" in md


def test_csv_rows_and_geomeans() -> None:
    rows = list(csv.DictReader(io.StringIO(_report().to_csv())))
    by = {(r["kernel"], r["contender"]): r for r in rows}
    assert float(by["gemm", "polly"]["speedup_vs_gcc"]) == pytest.approx(3.0)
    assert float(by["gemm", "polly"]["speedup_vs_polly"]) == pytest.approx(1.0)
    assert float(by["gemm", "gcc"]["median_s"]) == 3.0 and by["gemm", "gcc"]["repeats"] == "3"
    assert by["lu", "polyopt-polly"]["status"] == "wrong" and by["lu", "polyopt-polly"]["median_s"] == ""
    assert float(by["geomean", "polly"]["speedup_vs_gcc"]) == pytest.approx(math.sqrt(1.5), rel=1e-5)
    assert by["geomean", "graphite"]["speedup_vs_gcc"] == ""


def test_json_round_trip() -> None:
    r = _report()
    d = json.loads(r.to_json())
    assert d["geomean"]["gcc"]["polly"] == pytest.approx(math.sqrt(1.5))
    back = ComparisonReport.from_dict(d)
    assert back.measurements == r.measurements and back.kernels == r.kernels
    assert back.to_markdown() == r.to_markdown()


def test_history_with_failed_trials_round_trips() -> None:
    m = Measurement("gemm", "polyopt-tuned", "ok", times=(1.0,), history=(2.0, math.inf, 1.0))
    d = json.loads(json.dumps(m.to_dict()))              # inf is stored as null: valid JSON
    assert Measurement.from_dict(d).history == (2.0, math.inf, 1.0)


def test_resolve_contenders() -> None:
    assert resolve(None) == ALL_NAMES
    assert resolve("polly,gcc") == ("gcc", "polly")            # report order, not command-line order
    assert resolve(["compilers", "numpy", "gcc"])[-1] == "numpy"
    assert "polyopt-tuned-par" in resolve("tuned")
    with pytest.raises(PolyoptError, match="unknown contender"):
        resolve("icc")


@pytest.mark.parametrize("name", sorted(EQUIVALENTS))
def test_numpy_equivalents_match_python_kernels(name: str) -> None:
    from polyopt import kernels
    ref = kernels.make_inputs(name, "MINI", seed=3)
    got = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in ref.items()}
    kernels.python_function(name)(**ref)
    EQUIVALENTS[name](got)
    for out in kernels.get(name).outputs:
        np.testing.assert_allclose(got[out], ref[out], rtol=1e-9, atol=1e-9, err_msg=f"{name}: {out}")


def test_the_size_label_names_the_param_values_and_drops_a_dataset_size_they_fully_override():
    from polyopt.compare.api import _size_label

    assert _size_label("small", None, all_set=False) == "SMALL"
    assert _size_label("SMALL", {"n": 700}, all_set=True) == "n=700"
    assert _size_label("SMALL", {"ni": 8}, all_set=False) == "SMALL with ni=8"
