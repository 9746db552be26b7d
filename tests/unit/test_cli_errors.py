"""The command line and polyopt.tune on bad input: a clear polyopt error and a non-zero exit, never a raw
traceback; candidate files in every form polyopt prints them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import polyopt
from polyopt.cli import main
from polyopt.errors import ArgumentError, PolyoptError

GEMM_C = """#define NN 10
void kernel_gemm(int ni, int nj, int nk, double alpha, double beta,
                 double C[ni][nj], double A[ni][nk], double B[nk][nj])
{
  int i, j, k;
#pragma scop
  for (i = 0; i < ni; i++) {
    for (j = 0; j < nj; j++)
      C[i][j] *= beta;
    for (k = 0; k < nk; k++)
      for (j = 0; j < nj; j++)
        C[i][j] += alpha * A[i][k] * B[k][j];
  }
#pragma endscop
}
"""
SIZES = ["--param", "ni=8", "--param", "nj=8", "--param", "nk=8"]
VECTOR_PY = '''
def scale(n: int, A: "float64[n]"):
    for i in range(n):
        A[i] = 2.0 * A[i]
'''


@pytest.fixture
def gemm_c(tmp_path):
    path = tmp_path / "gemm.c"
    path.write_text(GEMM_C)
    return str(path)


def _error(capsys, argv: list[str]) -> str:
    """stderr of a command that must fail with exit status 2 (polyopt's errors and argparse's)."""
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("option,value", [("--trials", "0"), ("--trials", "-3"), ("--batch-size", "0"),
                                          ("--seed", "-1"), ("--threads", "-2"), ("--threads", "0"),
                                          ("--time-budget", "0"), ("--timeout", "0"), ("--trials", "x")])
def test_tune_rejects_bad_numbers_before_any_work(gemm_c, tmp_path, capsys, option, value):
    err = _error(capsys, ["tune", gemm_c, *SIZES, "--db", str(tmp_path / "t.db"), option, value])
    assert f"argument {option}: expected" in err
    assert not (tmp_path / "t.db").exists()


def test_tune_without_a_size_says_which_are_missing(gemm_c, tmp_path, capsys):
    err = _error(capsys, ["tune", gemm_c, "--param", "ni=8", "--db", str(tmp_path / "t.db")])
    assert "polyopt tune: error:" in err and "--param nj=N --param nk=N" in err


@pytest.mark.parametrize("param", ["nn=7", "NN=3"])    # a misspelling; a #define, not a size parameter
def test_an_unknown_param_lists_the_size_parameters(gemm_c, tmp_path, capsys, param):
    err = _error(capsys, ["tune", gemm_c, *SIZES, "--param", param, "--db", str(tmp_path / "t.db")])
    assert f"no size parameter '{param.split('=')[0]}'" in err and "ni, nj, nk" in err
    err = _error(capsys, ["compile", gemm_c, "--emit", "c", "--param", param])
    assert "ni, nj, nk" in err


def test_compare_rejects_bad_numbers(capsys):
    assert "argument --threads: expected" in _error(capsys, ["compare", "--threads", "0"])
    assert "argument --repeats: expected" in _error(capsys, ["compare", "--repeats", "-1"])


def test_a_param_given_twice_is_rejected(gemm_c, tmp_path, capsys):
    err = _error(capsys, ["tune", gemm_c, *SIZES, "--param", "ni=6", "--db", str(tmp_path / "t.db")])
    assert "--param ni is given twice" in err


def test_compile_entry_must_be_a_c_identifier(gemm_c, capsys):
    assert "expected a C identifier, got '1bad'" in _error(capsys, ["compile", gemm_c, "--entry", "1bad"])


def test_best_does_not_create_a_missing_database(gemm_c, tmp_path, capsys):
    db = tmp_path / "nope.db"
    assert "no tuning database at" in _error(capsys, ["best", gemm_c, "--db", str(db)])
    assert not db.exists()


def test_a_missing_candidate_file_is_a_clear_error(gemm_c, tmp_path, capsys):
    err = _error(capsys, ["schedule", gemm_c, "--candidate", str(tmp_path / "missing.json")])
    assert "--candidate: cannot read" in err


def test_schedule_checks_param_names_whatever_it_emits(gemm_c, capsys):
    for emit in ("tree", "json", "c"):
        err = _error(capsys, ["schedule", gemm_c, "--emit", emit, "--param", "NX=4"])
        assert "no size parameter 'NX'" in err
    assert main(["schedule", gemm_c, "--emit", "tree", "--param", "ni=4"]) == 0
    assert "--param applies to --emit c and ast only" in capsys.readouterr().err


def test_schedule_replays_its_own_json_and_best_json(gemm_c, tmp_path, capsys):
    assert main(["schedule", gemm_c, "--scheduler", "pluto", "--emit", "json"]) == 0
    emitted = capsys.readouterr().out
    (tmp_path / "c.json").write_text(emitted)
    assert main(["schedule", gemm_c, "--scheduler", "pluto", "--emit", "c"]) == 0
    want = capsys.readouterr().out
    assert main(["schedule", gemm_c, "--candidate", str(tmp_path / "c.json"), "--emit", "c"]) == 0
    assert capsys.readouterr().out == want
    best = {"kernel": "kernel_gemm", "params": {}, "best_time": 1e-3,
            "candidate": json.loads(emitted)["candidate"]}          # the shape of `polyopt best --json`
    assert main(["schedule", gemm_c, "--candidate", json.dumps(best), "--emit", "c"]) == 0
    assert capsys.readouterr().out == want


def test_source_files_with_bytes_that_are_not_utf8(tmp_path, capsys):
    path = tmp_path / "k.py"
    path.write_bytes(b"# caf\xe9 \xff\n" + VECTOR_PY.encode())
    assert main(["show", f"{path}:scale"]) == 0
    assert "S0" in capsys.readouterr().out
    path = tmp_path / "k.c"
    path.write_bytes(b"/* caf\xe9 \xff */\n" + GEMM_C.encode())
    assert main(["compile", str(path), "--emit", "c"]) == 0
    assert "void kernel(" in capsys.readouterr().out


def test_a_closed_pipe_ends_quietly(gemm_c):
    r, w = os.pipe()
    os.close(r)                                         # the reader is gone before anything is written
    try:
        p = subprocess.run([sys.executable, "-m", "polyopt.cli", "show", gemm_c], stdout=w,
                           stderr=subprocess.PIPE, timeout=120, cwd=os.path.dirname(gemm_c))
    finally:
        os.close(w)
    assert p.returncode == 141 and p.stderr == b""


# --- the same checks in the Python API ------------------------------------------------------------
@pytest.fixture(scope="module")
def scale():
    return polyopt.from_python_source(VECTOR_PY, "scale")


@pytest.mark.parametrize("kwargs,match", [
    ({"trials": 0}, "trials"), ({"trials": -3}, "trials"), ({"batch_size": 0}, "batch_size"),
    ({"seed": -1}, "seed"), ({"threads": -2}, "threads"), ({"time_budget": 0}, "time_budget"),
    ({"timeout": 0.0}, "timeout"), ({"strategy": "best"}, "strategy"), ({"target": "tpu"}, "target"),
    ({"params": {"n": 8, "nn": 7}}, "no size parameter 'nn'; its size parameters: n"),
    ({"params": {}}, "missing n"), ({"params": {"n": 5.5}}, "non-negative integer"),
    ({"params": {"n": 8.0}}, "non-negative integer"),                 # as compile and kernel calls: pass n=8
    ({"params": {"n": -4}}, "non-negative integer"), ({"params": {"n": 0}}, "outside what scale allows"),
])
def test_tune_api_rejects_bad_arguments_with_polyopt_errors(scale, tmp_path, kwargs, match):
    args = {"params": {"n": 8}, **kwargs}
    with pytest.raises(ArgumentError, match=match) as e:
        polyopt.tune(scale, db=str(tmp_path / "t.db"), **args)
    assert isinstance(e.value, PolyoptError)
    assert not (tmp_path / "t.db").exists()


def test_the_summary_lists_the_most_common_failures():
    """A run whose trials all fail says why (here the signal that ended the kernel), not only how many."""
    from polyopt.cli.tune_cmd import common_errors
    from polyopt.search.tuner import Trial

    crash = "run process crashed: killed by SIGFPE (integer division by zero or overflow)"
    history = [Trial(0, "{}", 4, float("inf"), 0.0, crash), Trial(1, "{}", 0, 1e-3, 1.0),
               Trial(2, "{}", 4, float("inf"), 0.0, crash), Trial(3, "{}", 2, float("inf"), 0.0, "")]
    assert common_errors(history) == [(crash, 2), ("error 2", 1)]


def test_defines_and_include_dirs_reach_the_c_preprocessor(tmp_path, capsys):
    """-D and -I do for the command line what defines= and include_dirs= do for from_c."""
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "scale.h").write_text("#define SCALE 2.0\n")
    src = tmp_path / "k.c"
    src.write_text('#include "scale.h"\nvoid k(double A[N]) {\n#pragma scop\n'
                   "  for (int i = 0; i < N; i++) A[i] = A[i] * SCALE;\n#pragma endscop\n}\n")
    assert main(["show", str(src), "-D", "N=10", "-I", str(tmp_path / "inc")]) == 0
    assert "A[10]" in capsys.readouterr().out
    assert main(["show", str(src), "-DN=10"]) != 0          # scale.h not found without -I


def test_a_directory_is_not_read_as_c_text(tmp_path, capsys):
    (tmp_path / "dir.c").mkdir()
    assert main(["show", str(tmp_path / "dir.c")]) != 0
    assert "is a directory" in capsys.readouterr().err


def test_best_without_the_tuned_sizes_lists_them(tmp_path, capsys):
    """`polyopt best` for sizes never tuned says which sizes the database has, as --param options."""
    src = tmp_path / "k.py"
    src.write_text(VECTOR_PY)
    db = str(tmp_path / "t.db")
    polyopt.tune(polyopt.from_python_source(VECTOR_PY, "scale"), params={"n": 64}, trials=1, db=db,
                 transfer=False, threads=1)
    capsys.readouterr()
    assert main(["best", f"{src}:scale", "--db", db, "--param", "n=32", "--threads", "1"]) == 1
    assert "it has --param n=64" in capsys.readouterr().out
