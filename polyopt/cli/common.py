"""Helpers shared by the subcommands: turning a command-line target into a Scop, parsing --param."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyopt.codegen.binding import check_size_names
from polyopt.errors import PolyoptError, ScopError, ScopReason, SourceLocation
from polyopt.model import Scop

TARGET_HELP = ("a C file with a '#pragma scop' region, a Python file or module with the function "
               "(path.py:function or package.module:function), or a bundled kernel (suite:gemm)")


def load_scop(target: str, function: str | None = None, *, defines: dict[str, str] | None = None,
              include_dirs: tuple[str, ...] = ()) -> Scop:
    """The Scop named by a CLI target (see TARGET_HELP); defines and include_dirs (-D, -I) reach the C
    preprocessor of a C file."""
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
    if os.path.isdir(path):
        raise ScopError(ScopReason.NO_SCOP, f"{path} is a directory", location=SourceLocation(path),
                        hint=f"give {TARGET_HELP}")
    if path.endswith((".c", ".h")) or (os.path.exists(path) and path.endswith(".i")):
        if not os.path.exists(path):
            raise ScopError(ScopReason.NO_SCOP, f"no such file: {path}", location=SourceLocation(path))
        from polyopt.frontend.c_frontend import from_c
        return from_c(path, func or None, defines=defines, include_dirs=include_dirs)
    return _load_python(path, func, target)


def scop_of(args: argparse.Namespace) -> Scop:
    """The Scop of a command's target, --function, -D and -I arguments (add_target_argument)."""
    defines = dict(d.split("=", 1) if "=" in d else (d, "1") for d in (args.define or ()))
    return load_scop(args.target, args.function, defines=defines, include_dirs=tuple(args.include or ()))


def _load_python(path: str, func: str, target: str) -> Scop:
    from polyopt.frontend.python_frontend import from_python_source
    if path.endswith(".py"):
        if not os.path.exists(path):
            raise ScopError(ScopReason.NO_SCOP, f"no such file: {path}", location=SourceLocation(path))
        return from_python_source(_read_text(Path(path)), func or None, filename=path)
    if not func:
        raise ScopError(ScopReason.NO_SCOP, f"cannot tell what '{target}' is",
                        hint=f"give {TARGET_HELP}")
    try:
        spec = importlib.util.find_spec(path)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise ScopError(ScopReason.NO_SCOP, f"no module named '{path}'", hint=f"give {TARGET_HELP}")
    return from_python_source(_read_text(Path(spec.origin)), func, filename=spec.origin)


def _read_text(path: Path) -> str:
    """A source file's text; bytes that are not UTF-8 (in a comment, say) become U+FFFD."""
    return path.read_bytes().decode("utf-8", errors="replace")


def parse_params(items: list[str] | None, scop: Scop | None = None) -> dict[str, int]:
    """['N=1024', 'M=512'] -> {'N': 1024, 'M': 512}; a name given twice, or (with `scop`) one that is
    not a size parameter of the kernel, is an error."""
    out: dict[str, int] = {}
    for item in items or []:
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not name or not value.strip().lstrip("-").isdigit():
            raise PolyoptError(f"--param expects NAME=INTEGER, got '{item}'")
        if name in out:
            raise PolyoptError(f"--param {name} is given twice")
        if scop is not None:
            try:
                check_size_names(scop, [name])
            except PolyoptError as e:
                raise PolyoptError(f"--param {name}: {e}") from None
        out[name] = int(value)
    return out


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return int(_checked(text, int, lambda v: v >= 1, "an integer >= 1"))


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return int(_checked(text, int, lambda v: v >= 0, "an integer >= 0"))


def positive_float(text: str) -> float:
    """argparse type: a number > 0 (seconds)."""
    return float(_checked(text, float, lambda v: v > 0, "a positive number"))


def _checked(text: str, kind: Callable[[str], Any], ok: Callable[[Any], bool], what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'")
    return value


def c_identifier(text: str) -> str:
    """argparse type: a C identifier (a name the exported function can have)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise argparse.ArgumentTypeError(f"expected a C identifier, got '{text}'")
    return text


def add_target_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help=TARGET_HELP)
    parser.add_argument("--function", help="which function, when the file has several")
    parser.add_argument("-D", dest="define", action="append", metavar="NAME[=VALUE]",
                        help="define a macro for a C file's preprocessor (repeatable)")
    parser.add_argument("-I", dest="include", action="append", metavar="DIR",
                        help="add a directory to a C file's include path (repeatable)")


def suite_params(target: str, size: str | None) -> dict[str, int]:
    """Default sizes of a bundled kernel (suite:NAME) for a dataset size name."""
    if not target.startswith("suite:"):
        return {}
    from polyopt import kernels
    kernel = kernels.get(target.split(":", 1)[1])
    name = (size or "SMALL").upper()
    if name not in kernel.datasets:
        raise PolyoptError(f"--size {size}: {kernel.name} has the sizes {', '.join(kernel.datasets)}")
    return dict(kernel.datasets[name])


