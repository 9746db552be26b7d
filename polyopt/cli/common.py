"""Helpers shared by the subcommands: turning a command-line target into a Scop, parsing --param."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
from pathlib import Path

from polyopt.errors import PolyoptError, ScopError, ScopReason, SourceLocation
from polyopt.model import Scop

TARGET_HELP = ("a C file with a '#pragma scop' region, a Python file or module with the function "
               "(path.py:function or package.module:function), or a bundled kernel (suite:gemm)")


def load_scop(target: str, function: str | None = None) -> Scop:
    """The Scop named by a CLI target (see TARGET_HELP)."""
    if target.startswith("suite:"):
        from polyopt import kernels
        name = target.split(":", 1)[1]
        try:
            kernel = kernels.get(name)
        except KeyError:
            names = ", ".join(k.name for k in kernels.suite())
            raise ScopError(ScopReason.NO_SCOP, f"no bundled kernel '{name}'", hint=f"one of: {names}") \
                from None
        from polyopt.frontend.c_frontend import from_c
        return from_c(str(kernel.c_path), function)
    path, _, func = target.partition(":") if not os.path.exists(target) else (target, "", "")
    func = func or function or ""
    if path.endswith((".c", ".h")) or (os.path.exists(path) and path.endswith(".i")):
        if not os.path.exists(path):
            raise ScopError(ScopReason.NO_SCOP, f"no such file: {path}", location=SourceLocation(path))
        from polyopt.frontend.c_frontend import from_c
        return from_c(path, func or None)
    return _load_python(path, func, target)


def _load_python(path: str, func: str, target: str) -> Scop:
    from polyopt.frontend.python_frontend import from_python_source
    if path.endswith(".py"):
        if not os.path.exists(path):
            raise ScopError(ScopReason.NO_SCOP, f"no such file: {path}", location=SourceLocation(path))
        return from_python_source(Path(path).read_text(), func or None, filename=path)
    if not func:
        raise ScopError(ScopReason.NO_SCOP, f"cannot tell what '{target}' is",
                        hint=f"give {TARGET_HELP}")
    try:
        spec = importlib.util.find_spec(path)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise ScopError(ScopReason.NO_SCOP, f"no module named '{path}'", hint=f"give {TARGET_HELP}")
    return from_python_source(Path(spec.origin).read_text(), func, filename=spec.origin)


def parse_params(items: list[str] | None) -> dict[str, int]:
    """['N=1024', 'M=512'] -> {'N': 1024, 'M': 512}"""
    out: dict[str, int] = {}
    for item in items or []:
        name, eq, value = item.partition("=")
        if not eq or not value.strip().lstrip("-").isdigit():
            raise PolyoptError(f"--param expects NAME=INTEGER, got '{item}'")
        out[name.strip()] = int(value)
    return out


def add_target_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help=TARGET_HELP)
    parser.add_argument("--function", help="which function, when the file has several")


def suite_params(target: str, size: str | None) -> dict[str, int]:
    """Default sizes of a bundled kernel (suite:NAME) for a dataset size name."""
    if not target.startswith("suite:"):
        return {}
    from polyopt import kernels
    kernel = kernels.get(target.split(":", 1)[1])
    return dict(kernel.datasets[(size or "SMALL").upper()])


