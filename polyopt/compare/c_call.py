"""Calling a C kernel in a shared library through ctypes on numpy arrays.

At the ABI level a C99 variable-length-array parameter `double A[n][m]` is a `double *`, so a
C-contiguous numpy array of the right dtype is passed as a pointer; sizes are C `int` (or `long`),
scalars `double`/`float`, exactly as the signature declares them."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from polyopt import expr as X
from polyopt.errors import ArgumentError, CodegenError
from polyopt.model import Scop

_SCALAR_CTYPES = {X.DType.INT32: ctypes.c_int, X.DType.INT64: ctypes.c_long,
                  X.DType.FLOAT32: ctypes.c_float, X.DType.FLOAT64: ctypes.c_double,
                  X.DType.BOOL: ctypes.c_int}
_NUMPY = {X.DType.INT32: np.int32, X.DType.INT64: np.int64, X.DType.FLOAT32: np.float32,
          X.DType.FLOAT64: np.float64, X.DType.BOOL: np.bool_}


@dataclass(frozen=True)
class CArg:
    """One parameter of the C function, in signature order."""

    name: str
    kind: str            # 'param' | 'scalar' | 'array'
    ctype: Any
    dtype: np.dtype


def c_signature(scop: Scop) -> tuple[CArg, ...]:
    """The C-level signature of the kernel a Scop was extracted from."""
    out = []
    for a in scop.arguments:
        if a.kind == "array":
            dtype = np.dtype(_NUMPY[scop.array(a.name).dtype])
            out.append(CArg(a.name, "array", ctypes.c_void_p, dtype))
        else:
            out.append(CArg(a.name, a.kind, _SCALAR_CTYPES[a.dtype], np.dtype(_NUMPY[a.dtype])))
    return tuple(out)


def suite_signature(kernel: Any) -> tuple[CArg, ...]:
    """The C signature of a suite kernel (polyopt.kernels.SuiteKernel), without running a frontend:
    sizes are `int`, scalars and arrays have the kernel's element type (int kernels take double scalars)."""
    elem = np.dtype(kernel.dtype)
    scalar = ctypes.c_float if elem == np.float32 else ctypes.c_double
    out = [CArg(p, "param", ctypes.c_int, np.dtype(np.int32)) for p in kernel.params]
    out += [CArg(s, "scalar", scalar, np.dtype(np.float32 if scalar is ctypes.c_float else np.float64))
            for s in kernel.scalars]
    out += [CArg(a, "array", ctypes.c_void_p, elem) for a, _ in kernel.arrays]
    return tuple(out)


def load_function(library: Path, function: str,
                  sig: tuple[CArg, ...]) -> Callable[[Mapping[str, Any]], None]:
    """`run(values)`: calls `function` in `library` with the arguments named in `values`."""
    lib = ctypes.CDLL(str(library))
    try:
        fn = getattr(lib, function)
    except AttributeError:
        raise CodegenError(f"{library.name} has no function '{function}'") from None
    fn.argtypes = [a.ctype for a in sig]
    fn.restype = None

    def run(values: Mapping[str, Any]) -> None:
        fn(*[_convert(a, values) for a in sig])

    run.library = lib  # type: ignore[attr-defined]  # keep the library alive with the callable
    return run


def _convert(arg: CArg, values: Mapping[str, Any]) -> Any:
    if arg.name not in values:
        raise ArgumentError(f"missing argument '{arg.name}'")
    v = values[arg.name]
    if arg.kind != "array":
        return arg.ctype(int(v) if arg.dtype.kind in "iub" else float(v))
    if not isinstance(v, np.ndarray):
        raise ArgumentError(f"argument '{arg.name}' must be a numpy array, got {type(v).__name__}")
    if v.dtype != arg.dtype:
        raise ArgumentError(f"array '{arg.name}' has dtype {v.dtype}, the C function expects {arg.dtype}")
    if not v.flags.c_contiguous:
        raise ArgumentError(f"array '{arg.name}' is not C-contiguous")
    return v.ctypes.data


def set_openmp_threads(library_fn: Callable[..., None], threads: int) -> None:
    """Pin an OpenMP runtime linked into a loaded library (libomp or libgomp) to `threads` threads."""
    lib = getattr(library_fn, "library", None)
    setter = getattr(lib, "omp_set_num_threads", None) if lib is not None else None
    if setter is not None:
        setter.argtypes = [ctypes.c_int]
        setter(int(threads))
