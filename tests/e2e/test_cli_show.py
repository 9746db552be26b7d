"""`polyopt show` on every suite kernel (C and Python forms) and on rejected input."""

import json
import subprocess
import sys

import pytest

from polyopt import kernels
from polyopt.cli import main


@pytest.mark.parametrize("name", [k.name for k in kernels.suite()])
def test_show_json_for_c_and_python_forms(name, capsys):
    k = kernels.get(name)
    assert main(["show", str(k.c_path), "--json"]) == 0
    from_c = json.loads(capsys.readouterr().out)
    py_file = sys.modules[k.python_module].__file__ if k.python_module in sys.modules else None
    if py_file is None:
        import importlib
        py_file = importlib.import_module(k.python_module).__file__
    assert main(["show", f"{py_file}:{k.python_function_name}", "--json"]) == 0
    from_py = json.loads(capsys.readouterr().out)
    assert from_c["fingerprint"] == from_py["fingerprint"]
    assert len(from_c["statements"]) == len(from_py["statements"]) > 0
    assert "for (" in from_c["code"]
    assert {d["kind"] for d in from_c["dependences"]} <= {"RAW", "WAR", "WAW"}


def test_show_text_lists_dependences(capsys):
    assert main(["show", "suite:gemm"]) == 0
    out = capsys.readouterr().out
    assert "RAW S1 -> S1 on C: carried by k" in out and "original loop nest:" in out


def test_rejected_input_exits_nonzero_with_reason(tmp_path):
    src = tmp_path / "bad.c"
    src.write_text("void f(int n, double A[n], int B[n]) {\n#pragma scop\n  for (int i = 0; i < n; i++)\n"
                   "    A[B[i]] = 0.0;\n#pragma endscop\n}\n")
    r = subprocess.run([sys.executable, "-m", "polyopt.cli", "show", str(src), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    err = json.loads(r.stdout)["error"]
    assert err["reason"] == "non-affine-subscript" and err["line"] == 4 and err["file"] == str(src)
