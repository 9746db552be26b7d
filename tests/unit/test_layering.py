"""One import root: polyopt.search and polyopt.codegen exist, top-level search/codegen do not."""

import importlib
import subprocess
import sys

import pytest


def test_subpackages_import_under_polyopt():
    assert importlib.import_module("polyopt.search").__name__ == "polyopt.search"
    assert importlib.import_module("polyopt.codegen").__name__ == "polyopt.codegen"


@pytest.mark.parametrize("name", ["search", "codegen"])
def test_top_level_names_do_not_exist(name, tmp_path):
    # run from an empty directory so the repository checkout is not on sys.path
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('{name}') is None else 1)"
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path).returncode == 0


def test_import_polyopt_is_light(tmp_path):
    code = ("import sys, polyopt; heavy = {'llvmlite', 'xgboost', 'pycuda', 'matplotlib'} & set(sys.modules);"
            "sys.exit(1 if heavy else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path).returncode == 0


def test_public_functions_are_not_shadowed_by_submodules():
    import polyopt
    import polyopt.dataflow  # noqa: F401  (importing submodules must not replace the functions)
    import polyopt.schedule_tree  # noqa: F401
    import polyopt.schedulers  # noqa: F401

    for name in ("from_c", "from_python", "dependences", "schedule", "check_legal", "compile", "tune"):
        assert callable(getattr(polyopt, name)) and not isinstance(getattr(polyopt, name), type(polyopt)), name
