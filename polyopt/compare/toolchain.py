"""The C compilers polyopt is compared against: finding them on PATH, probing optional features
(Polly, OpenMP, Graphite) once, and building a C file into a shared library for ctypes."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from polyopt.errors import BackendUnavailableError, PolyoptError

BUILD_TIMEOUT_S = 180


class BuildError(PolyoptError):
    """A C compiler rejected the source or the flags; the message carries its diagnostics."""


@dataclass(frozen=True)
class CompilerSpec:
    """One way to build the C source: which executables to try (first found wins) and the flags."""

    name: str
    executables: tuple[str, ...]
    flags: tuple[str, ...]
    install_hint: str = ""

    def label(self) -> str:
        exe = find_executable(self.executables) or self.executables[0]
        return " ".join((exe, *self.flags))


_CLANG = ("clang-19", "clang")
_POLLY_HINT = "install clang-19 and libpolly-19-dev (Debian/Ubuntu)"

C_COMPILERS: dict[str, CompilerSpec] = {
    "gcc": CompilerSpec("gcc", ("gcc",), ("-O3", "-march=native"), "install gcc"),
    # -ffast-math lets the compiler reassociate reductions and vectorize them, as polyopt's schedules
    # may (checked against the same tolerance)
    "gcc-fast": CompilerSpec("gcc-fast", ("gcc",), ("-O3", "-march=native", "-ffast-math"), "install gcc"),
    "graphite": CompilerSpec("graphite", ("gcc",), ("-O3", "-march=native", "-floop-nest-optimize"),
                             "install a gcc built with isl (Graphite)"),
    "clang": CompilerSpec("clang", _CLANG, ("-O3", "-march=native"), "install clang-19"),
    "polly": CompilerSpec("polly", _CLANG, ("-O3", "-march=native", "-mllvm", "-polly"), _POLLY_HINT),
    "polly-fast": CompilerSpec("polly-fast", _CLANG, ("-O3", "-march=native", "-ffast-math", "-mllvm", "-polly"),
                               _POLLY_HINT),
    "polly-par": CompilerSpec("polly-par", _CLANG,
                              ("-O3", "-march=native", "-mllvm", "-polly", "-mllvm", "-polly-parallel",
                               "-fopenmp"), _POLLY_HINT + " and libomp-19-dev"),
}

REFERENCE = CompilerSpec("reference", ("gcc", "cc", *_CLANG), ("-O2",), "install gcc")
"""The unoptimised build every contender's output is checked against (no loop transformations,
no vectorisation of reductions, no FP reassociation)."""

_PROBE_SOURCE = """
void probe(int n, double A[n][n]) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      A[i][j] += 1.0;
}
"""


def find_executable(names: tuple[str, ...]) -> str | None:
    """The first of `names` found on PATH."""
    for name in names:
        path = shutil.which(name)
        if path:
            return name
    return None


@functools.cache
def availability(spec: CompilerSpec) -> str:
    """'' when the compiler exists and accepts its flags, else a note saying why it is skipped."""
    exe = find_executable(spec.executables)
    if exe is None:
        return f"{' / '.join(spec.executables)} not found on PATH ({spec.install_hint})"
    with tempfile.TemporaryDirectory(prefix="polyopt-probe-") as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(_PROBE_SOURCE)
        try:
            _run_compiler(exe, spec.flags, src, Path(tmp) / "probe.so")
        except BuildError as e:
            first = str(e).strip().splitlines()[-1] if str(e).strip() else "unknown error"
            return f"{exe} {' '.join(spec.flags)} does not work here: {first} ({spec.install_hint})"
    return ""


def require(spec: CompilerSpec) -> str:
    """The executable for `spec`, or BackendUnavailableError with the reason."""
    note = availability(spec)
    if note:
        raise BackendUnavailableError(note)
    exe = find_executable(spec.executables)
    assert exe is not None
    return exe


def cache_dir() -> Path:
    """$POLYOPT_CACHE_DIR/compare, else ~/.cache/polyopt/compare: built libraries, keyed by compiler
    version, flags and source text (Polly takes seconds per kernel; a rerun should not pay again)."""
    root = os.environ.get("POLYOPT_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "polyopt"
    path = base / "compare"
    path.mkdir(parents=True, exist_ok=True)
    return path


@functools.cache
def compiler_version(exe: str) -> str:
    try:
        proc = subprocess.run([exe, "--version"], check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return exe
    return (proc.stdout.strip().splitlines() or [exe])[0]


def build_shared(spec: CompilerSpec, source: Path, out_dir: Path | None = None,
                 extra: tuple[str, ...] = ()) -> Path:
    """Compile `source` into a shared library (cached by compiler version, flags and source text)."""
    exe = require(spec)
    flags = (*spec.flags, *extra)
    text = "\0".join((compiler_version(exe), *flags, source.read_text(errors="replace")))
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    out = Path(out_dir or cache_dir()) / f"{source.stem}-{spec.name}-{key}.so"
    if not out.exists():
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        _run_compiler(exe, flags, source, tmp)
        os.replace(tmp, out)
    return out


def _run_compiler(exe: str, flags: tuple[str, ...], source: Path, out: Path) -> None:
    cmd = [exe, *flags, "-shared", "-fPIC", "-o", str(out), str(source), "-lm"]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{' '.join(cmd)}: timed out after {BUILD_TIMEOUT_S} s") from None
    except OSError as e:
        raise BuildError(f"{' '.join(cmd)}: {e}") from None
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()[-2000:]}")


_IMPL_PREFIX = "polyopt_sized_"


def specialized_source(source: Path, function: str, signature: Sequence[tuple[str, str, str]],
                       sizes: Mapping[str, int], out_dir: Path | None = None) -> Path:
    """A copy of `source` whose `function` has its size parameters fixed to `sizes`, for compilers whose
    polyhedral optimiser gives up on VLA bounds that are function arguments (Polly: "assumption false").

    The original function is renamed, made static always_inline, and called by a wrapper of the same
    name and ABI that passes the sizes as constants: after inlining every bound is a constant.
    `signature`: (name, kind 'param'|'scalar'|'array', C type of a param/scalar) in signature order."""
    text = source.read_text(encoding="latin-1")    # byte for byte: the copy keeps non-UTF-8 literals as they are
    head = re.compile(r"(^|\n)([ \t]*)((?:static\s+|inline\s+)*)(void)\s+" + re.escape(function) + r"\s*\(")
    m = head.search(text)
    if m is None:
        raise BuildError(f"{source}: cannot find 'void {function}(' to specialise its sizes")
    impl = _IMPL_PREFIX + function
    text = (text[:m.start(2)] + "static inline __attribute__((always_inline)) void " + impl + "("
            + text[m.end():])
    params, args = [], []
    for name, kind, ctype in signature:
        if kind == "array":
            params.append(f"void *{name}")
            args.append(name)
        else:
            params.append(f"{ctype} {name}")
            args.append(str(int(sizes[name])) if kind == "param" else name)
    text += (f"\n\n/* sizes fixed by polyopt compare: {dict(sizes)} */\nvoid {function}({', '.join(params)})\n"
             f"{{\n  {impl}({', '.join(args)});\n}}\n")
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    out = Path(out_dir or cache_dir()) / f"{source.stem}-sized-{key}.c"
    if not out.exists():
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="latin-1")
        os.replace(tmp, out)
    return out
