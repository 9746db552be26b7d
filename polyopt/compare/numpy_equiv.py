"""numpy/BLAS formulations of suite kernels: the "what a library call gives" contender.

Each function takes every argument by name (as polyopt.kernels.make_inputs gives them) and updates the
output arrays in place, leaving them as the C kernel would (scratch arrays included)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Values = Mapping[str, Any]


def _gemm(v: Values) -> None:
    C = v["C"]
    C[...] = v["beta"] * C + v["alpha"] * (v["A"] @ v["B"])


def _2mm(v: Values) -> None:
    v["tmp"][...] = v["alpha"] * (v["A"] @ v["B"])
    v["D"][...] = v["beta"] * v["D"] + v["tmp"] @ v["C"]


def _3mm(v: Values) -> None:
    np.matmul(v["A"], v["B"], out=v["E"])
    np.matmul(v["C"], v["D"], out=v["F"])
    np.matmul(v["E"], v["F"], out=v["G"])


def _syrk(v: Values) -> None:
    C, A = v["C"], v["A"]
    low = np.tril_indices(C.shape[0])
    C[low] = (v["beta"] * C + v["alpha"] * (A @ A.T))[low]


def _syr2k(v: Values) -> None:
    C, A, B = v["C"], v["A"], v["B"]
    low = np.tril_indices(C.shape[0])
    C[low] = (v["beta"] * C + v["alpha"] * (A @ B.T + B @ A.T))[low]


def _mvt(v: Values) -> None:
    A = v["A"]
    v["x1"] += A @ v["y_1"]
    v["x2"] += A.T @ v["y_2"]


def _atax(v: Values) -> None:
    np.matmul(v["A"], v["x"], out=v["tmp"])
    np.matmul(v["A"].T, v["tmp"], out=v["y"])


def _bicg(v: Values) -> None:
    np.matmul(v["r"], v["A"], out=v["s"])
    np.matmul(v["A"], v["p"], out=v["q"])


def _gesummv(v: Values) -> None:
    np.matmul(v["A"], v["x"], out=v["tmp"])
    v["y"][...] = v["alpha"] * v["tmp"] + v["beta"] * (v["B"] @ v["x"])


def _gemver(v: Values) -> None:
    A = v["A"]
    A += np.outer(v["u1"], v["v1"]) + np.outer(v["u2"], v["v2"])
    v["x"] += v["beta"] * (A.T @ v["y"]) + v["z"]
    v["w"] += v["alpha"] * (A @ v["x"])


def _doitgen(v: Values) -> None:
    A = v["A"]
    nr, nq, np_ = A.shape
    flat = A.reshape(nr * nq, np_)
    flat[...] = flat @ v["C4"]
    v["sum"][...] = flat[-1]


def _trmm(v: Values) -> None:
    A, B = v["A"], v["B"]
    strict_lower = np.tril(A, -1)
    B[...] = v["alpha"] * (B + strict_lower.T @ B)


EQUIVALENTS: dict[str, Callable[[Values], None]] = {
    "gemm": _gemm, "2mm": _2mm, "3mm": _3mm, "syrk": _syrk, "syr2k": _syr2k, "mvt": _mvt, "atax": _atax,
    "bicg": _bicg, "gesummv": _gesummv, "gemver": _gemver, "doitgen": _doitgen, "trmm": _trmm,
}
"""Suite kernel name -> in-place numpy formulation."""


def equivalent(kernel: str) -> Callable[[Values], None] | None:
    return EQUIVALENTS.get(kernel)
