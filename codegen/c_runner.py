"""Compile C source with the system compiler into a cached shared library and call it through ctypes.

The compiler is `gcc` unless the `CC` (or `cc`) environment variable names another; libraries are cached
under `$POLYOPT_CACHE_DIR/c` (default ~/.cache/polyopt/c), keyed by a hash of source, compiler and flags.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from polyopt.errors import BackendUnavailableError, CodegenError

log = logging.getLogger(__name__)

DEFAULT_FLAGS = ("-O2", "-std=gnu99", "-fopenmp", "-fPIC", "-march=native")


def cache_dir() -> Path:
    root = os.environ.get("POLYOPT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "polyopt")
    path = Path(root) / "c"
    path.mkdir(parents=True, exist_ok=True)
    return path


def c_compiler() -> str:
    """The C compiler command: $CC / $cc, else gcc, else cc."""
    for var in ("CC", "cc"):
        if os.environ.get(var):
            return os.environ[var]
    for name in ("gcc", "cc"):
        if shutil.which(name):
            return name
    raise BackendUnavailableError("no C compiler found: install gcc or set CC")


def compile_shared(source: str, *, flags: Sequence[str] = DEFAULT_FLAGS, compiler: str | None = None,
                   libs: Sequence[str] = ("-lm",)) -> Path:
    """Compile C source into a shared library (cached); returns its path."""
    cc = compiler or c_compiler()
    key = hashlib.sha256("\0".join([source, cc, *flags, *libs]).encode()).hexdigest()[:20]
    out = cache_dir() / f"k_{key}.so"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "kernel.c"
        src.write_text(source)
        tmp_out = Path(tmp) / "kernel.so"
        cmd = [cc, *flags, "-shared", str(src), "-o", str(tmp_out), *libs]
        log.debug("compiling: %s", " ".join(cmd))
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        except FileNotFoundError as e:
            raise BackendUnavailableError(f"C compiler '{cc}' not found: install it or set CC") from e
        if res.returncode != 0:
            raise CodegenError(f"while compiling C with {cc}: {res.stderr.strip()[:4000]}")
        shutil.move(str(tmp_out), str(out.with_suffix(".tmp")))
        os.replace(out.with_suffix(".tmp"), out)
    return out


@dataclass(frozen=True, eq=False)
class CFunction:
    """A loaded entry point; keeps its library alive."""

    library: ctypes.CDLL
    function: ctypes._CFuncPtr  # type: ignore[name-defined]
    path: Path

    def __call__(self, *args: object) -> None:
        self.function(*args)


def load_function(path: Path, name: str, argtypes: Sequence[type]) -> CFunction:
    """dlopen a library (libgomp is preloaded globally for OpenMP code) and type its entry point."""
    _preload_gomp()
    lib = ctypes.CDLL(str(path))
    try:
        fn = getattr(lib, name)
    except AttributeError as e:
        raise CodegenError(f"symbol '{name}' not found in {path}") from e
    fn.argtypes = list(argtypes)
    fn.restype = None
    return CFunction(lib, fn, path)


def _preload_gomp() -> None:
    try:
        ctypes.CDLL("libgomp.so.1", mode=ctypes.RTLD_GLOBAL)
    except OSError:  # pragma: no cover - gcc links libgomp itself when -fopenmp works
        pass
