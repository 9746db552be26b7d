"""`polyopt compare` end to end: every contender present for every kernel, verified against the reference
build before it is timed, and compilers that are missing reported as skipped with a note."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from polyopt.compare.contenders import ALL_NAMES, C_NAMES
from polyopt.compare.toolchain import C_COMPILERS, availability

KERNELS = ("gemm", "jacobi-2d", "lu")
HEURISTICS = ("polyopt-original", "polyopt-isl", "polyopt-pluto", "polyopt-polly")


@pytest.fixture(scope="module")
def cli_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("compare")
    proc = subprocess.run([sys.executable, "-m", "polyopt.cli", "compare", "--kernels", ",".join(KERNELS),
                           "--size", "SMALL", "--repeats", "2", "--threads", "1", "--out", str(out), "--json"],
                          check=False, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), out


def _by(report: dict) -> dict[tuple[str, str], dict]:
    return {(m["kernel"], m["contender"]): m for m in report["measurements"]}


def test_every_contender_present_for_every_kernel(cli_report: tuple[dict, Path]) -> None:
    report, _ = cli_report
    assert tuple(report["kernels"]) == KERNELS
    assert tuple(report["contenders"]) == ALL_NAMES
    by = _by(report)
    assert set(by) == {(k, c) for k in KERNELS for c in ALL_NAMES}


def test_compilers_verified_or_skipped_with_a_note(cli_report: tuple[dict, Path]) -> None:
    by = _by(cli_report[0])
    for name in C_NAMES:
        missing = availability(C_COMPILERS[name])
        for k in KERNELS:
            m = by[k, name]
            if missing:
                assert m["status"] == "skipped" and m["note"], m
            else:
                assert m["status"] == "ok", m
                assert m["max_error"] is not None and m["max_error"] < 1e-6
                assert len(m["times"]) == 2 and all(t > 0 for t in m["times"])


def test_polyopt_heuristics_and_numpy_verified(cli_report: tuple[dict, Path]) -> None:
    by = _by(cli_report[0])
    for k in KERNELS:
        for name in HEURISTICS:
            assert by[k, name]["status"] == "ok", by[k, name]
        for name in ("polyopt-tuned", "polyopt-tuned-par"):
            assert by[k, name]["status"] == "skipped" and "trials" in by[k, name]["note"]
    assert by["gemm", "numpy"]["status"] == "ok"
    assert by["lu", "numpy"]["status"] == "skipped" and "numpy" in by["lu", "numpy"]["note"]


def test_geomeans_and_files(cli_report: tuple[dict, Path]) -> None:
    report, out = cli_report
    assert report["geomean"]["gcc"]["gcc"] == pytest.approx(1.0)
    if not availability(C_COMPILERS["polly"]):
        assert report["geomean"]["polly"]["polly"] == pytest.approx(1.0)
        assert math.isfinite(report["geomean"]["gcc"]["polly"])
    for name in ("table.md", "table.csv", "report.json", "speedup.png", "report.html"):
        assert (out / name).stat().st_size > 0, name
    md = (out / "table.md").read_text()
    assert "| **geomean vs gcc** |" in md
    html = (out / "report.html").read_text()
    assert "polyopt-polly" in html and "data:image/png;base64" in html


def test_wrong_contender_is_reported_not_timed(tmp_path: Path) -> None:
    """A C file whose 'optimised' builds differ from the reference must show up as wrong."""
    src = tmp_path / "racy.c"
    src.write_text("""
void racy(int n, double A[n]) {
#pragma scop
  for (int i = 0; i < n; i++)
    A[i] = A[i] * 2.0 + 1.0;
#pragma endscop
#ifdef __OPTIMIZE__
#if !defined(__NO_INLINE__) && defined(__clang__)
  A[0] = -1.0;   /* only the clang builds compute something else */
#endif
#endif
}
""")
    from polyopt.compare import compare
    r = compare([src], "MINI", "gcc,clang,polyopt-original", repeats=1, params={"n": 64})
    assert r.get("racy", "gcc").status == "ok"
    assert r.get("racy", "polyopt-original").status == "ok"
    clang = r.get("racy", "clang")
    if availability(C_COMPILERS["clang"]):
        assert clang.status == "skipped"
    else:
        assert clang.status == "wrong" and clang.times == () and "differs" in clang.note


def test_tuned_contender_with_a_tiny_budget(tmp_path: Path) -> None:
    from polyopt.compare import compare
    r = compare(["gemm"], "MINI", "gcc,polyopt-tuned", repeats=1, trials=3, db=tmp_path / "t.db")
    m = r.get("gemm", "polyopt-tuned")
    assert m.status == "ok", m.note
    assert len(m.history) >= 1 and m.schedule
    assert (tmp_path / "t.db").exists()


def test_param_sets_the_size_of_a_suite_kernel() -> None:
    from polyopt.compare import compare
    r = compare(["gemm"], "MINI", "gcc", repeats=1, params={"ni": 48, "nk": 40})
    assert r.get("gemm", "gcc").status == "ok"
    from polyopt import kernels
    gemm = kernels.get("gemm")
    nj = gemm.sizes("MINI")["nj"]  # not named: stays MINI's
    assert r.flops["gemm"] == gemm.flops({"ni": 48, "nj": nj, "nk": 40}) != gemm.flops(gemm.sizes("MINI"))
    assert "ni=48" in r.size


def test_param_that_no_kernel_has_is_an_error() -> None:
    from polyopt.compare import compare
    from polyopt.errors import PolyoptError
    with pytest.raises(PolyoptError, match="not a size parameter"):
        compare(["gemm"], "MINI", "gcc", repeats=1, params={"N": 48})


def test_gramschmidt_compares_only_its_well_determined_columns() -> None:
    """At m < n the trailing columns of Q are rounding noise of unit length: a change of one ulp in A (as
    a different rounding order gives, so gcc -O3 and clang were all reported wrong) changes them
    completely, and the rest hardly at all."""
    import numpy as np

    from polyopt import kernels
    from polyopt.compare.workload import check_outputs, reference_outputs, suite_workload
    w = suite_workload("gramschmidt", "MINI")
    m, n = w.params["m"], w.params["n"]
    assert m < n
    reference = reference_outputs(w)
    values = w.fresh()
    values["A"] = np.nextafter(values["A"], np.inf)
    kernels.python_function("gramschmidt")(**values)
    assert np.abs(values["Q"][:, m:] - reference["Q"][:, m:]).max() > 1e-3   # the noise is real
    assert check_outputs(w, values, reference)[0]
    values["Q"][1, m - 1] += 1e-3                                             # an error where it counts
    ok, _, why = check_outputs(w, values, reference)
    assert not ok and why.startswith("Q:")
