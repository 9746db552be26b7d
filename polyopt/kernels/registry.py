"""polyopt's classic kernel suite: 30 loop nests with the math of the standard polyhedral benchmark
suite (PolyBench/C 4.2), each written twice, in C (polyopt/kernels/c/<name>.c) and in Python
(polyopt/kernels/python/<module>.py), with the same argument order, statement order and expressions,
so that both frontends build the same model.

Every function takes its integer sizes first, then its floating-point scalars, then its arrays, in
that order (`arguments`). `make_inputs` gives valid inputs for any dataset size; the Python functions,
run directly on those numpy arrays, are the reference oracle at small sizes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SIZES", "SuiteKernel", "c_source", "dataset", "get", "make_inputs", "names", "python_function",
           "suite"]

SIZES = ("MINI", "SMALL", "MEDIUM", "LARGE", "EXTRALARGE")
"""The dataset names, smallest first."""

_C_DIR = Path(__file__).resolve().parent / "c"

Sizes = Mapping[str, int]
Init = Callable[[Sizes, np.random.Generator], dict]
ScalarValue = float | Callable[[Sizes], float]


@dataclass(frozen=True)
class SuiteKernel:
    """One kernel of the suite.

    params: the integer size arguments, in signature order. scalars: the floating-point scalar
    arguments in signature order with the value used for inputs (a number, or a function of the sizes,
    as for covariance's float_n). arrays: (name, shape as size names) of every array argument in
    signature order. outputs: the arrays the kernel writes (the results to compare; scratch arrays
    such as durbin's z are included when written). dtype: the element type ('float64', 'float32' or
    'int32'). flops: approximate arithmetic operation count for given sizes (integer operations for the
    int kernels). init: (sizes, rng) -> {array name: values} for every array argument.
    same_fingerprint: whether the C and Python versions are expected to give the same model
    fingerprint (see note when not). rtol: a relative tolerance suitable to compare a transformed
    kernel's outputs with the original's (0 for exact integer results)."""

    name: str
    category: str
    c_path: Path
    python_module: str
    c_function: str
    python_function_name: str
    params: tuple[str, ...]
    scalars: Mapping[str, ScalarValue]
    arrays: tuple[tuple[str, tuple[str, ...]], ...]
    outputs: tuple[str, ...]
    dtype: str
    datasets: Mapping[str, Mapping[str, int]]
    flops: Callable[[Sizes], float] = field(compare=False, repr=False)
    init: Init = field(compare=False, repr=False)
    same_fingerprint: bool = True
    note: str = ""
    rtol: float = 1e-7
    checked: Callable[[Sizes], Mapping[str, tuple[slice, ...]]] | None = field(default=None, compare=False,
                                                                               repr=False)
    """(sizes) -> {output: index} restricting the comparison of that output to its well-determined part
    (None: every element of every output is compared)."""

    def checked_region(self, sizes: Sizes) -> dict[str, tuple[slice, ...]]:
        """The index of each output's part that a comparison checks; outputs not named are checked whole."""
        return dict(self.checked(sizes)) if self.checked else {}

    @property
    def arguments(self) -> tuple[str, ...]:
        """Every argument name in signature order (sizes, scalars, arrays)."""
        return self.params + tuple(self.scalars) + tuple(a for a, _ in self.arrays)

    @property
    def array_shapes(self) -> dict[str, tuple[str, ...]]:
        return dict(self.arrays)

    def sizes(self, size: str | Sizes = "MINI") -> dict[str, int]:
        """The size values (in params order) of a dataset name, or of a mapping giving every size."""
        if isinstance(size, str):
            if size.upper() not in self.datasets:
                raise KeyError(f"unknown dataset size '{size}'; expected one of {', '.join(SIZES)}")
            size = self.datasets[size.upper()]
        missing = [p for p in self.params if p not in size]
        if missing:
            raise KeyError(f"{self.name}: sizes missing {', '.join(missing)}")
        return {p: int(size[p]) for p in self.params}

    def shape(self, array: str, sizes: Sizes) -> tuple[int, ...]:
        return tuple(int(sizes[s]) for s in self.array_shapes[array])

    def scalar_values(self, sizes: Sizes) -> dict[str, float]:
        return {k: float(v(sizes) if callable(v) else v) for k, v in self.scalars.items()}

    def gflop(self, size: str | Sizes = "LARGE") -> float:
        return self.flops(self.sizes(size)) / 1e9


# ---------------------------------------------------------------------------------------------------------
# input generators

def _u(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.uniform(0.0, 1.0, size=shape)


@dataclass(frozen=True)
class _Uniform:
    """An init giving uniform [0, 1) values to the named arrays and zeros to `zeros`; bound to the
    kernel's shape table when the suite is built."""

    names: tuple[str, ...]
    zeros: tuple[str, ...] = ()

    def bind(self, shapes: Mapping[str, tuple[str, ...]]) -> Init:
        def init(sizes: Sizes, rng: np.random.Generator) -> dict:
            dims = {a: tuple(int(sizes[d]) for d in shapes[a]) for a in self.names + self.zeros}
            out = {a: _u(rng, *dims[a]) for a in self.names}
            out.update({a: np.zeros(dims[a]) for a in self.zeros})
            return out
        return init


def _uniform(*names: str, zeros: tuple[str, ...] = ()) -> _Uniform:
    return _Uniform(names, zeros)


def _init_spd(sizes: Sizes, rng: np.random.Generator) -> dict:
    """A symmetric positive-definite matrix (cholesky)."""
    n = sizes["n"]
    m = rng.uniform(-1.0, 1.0, size=(n, n))
    return {"A": m @ m.T / n + np.eye(n)}


def _dominant(n: int, rng: np.random.Generator) -> np.ndarray:
    """A strictly diagonally dominant matrix: LU without pivoting is stable."""
    return rng.uniform(-1.0, 1.0, size=(n, n)) + n * np.eye(n)


def _init_lu(sizes: Sizes, rng: np.random.Generator) -> dict:
    return {"A": _dominant(sizes["n"], rng)}


def _init_ludcmp(sizes: Sizes, rng: np.random.Generator) -> dict:
    n = sizes["n"]
    return {"A": _dominant(n, rng), "b": rng.uniform(-1.0, 1.0, size=n), "x": np.zeros(n),
            "y": np.zeros(n)}


def _init_trisolv(sizes: Sizes, rng: np.random.Generator) -> dict:
    n = sizes["n"]
    L = np.tril(rng.uniform(-1.0, 1.0, size=(n, n)), -1) / n + np.diag(rng.uniform(1.0, 2.0, size=n))
    return {"L": L, "x": np.zeros(n), "b": rng.uniform(-1.0, 1.0, size=n)}


def _init_durbin(sizes: Sizes, rng: np.random.Generator) -> dict:
    """r[k] = c_k 0.3^(k+1) with c_k in [0.5, 1]: the Toeplitz matrix with unit diagonal and r off the
    diagonal is strictly diagonally dominant (sum of 2 * 0.3^k < 1), so the recursion is stable."""
    n = sizes["n"]
    r = rng.uniform(0.5, 1.0, size=n) * 0.3 ** np.arange(1, n + 1)
    return {"r": r, "y": np.zeros(n), "z": np.zeros(n)}


def _init_gramschmidt(sizes: Sizes, rng: np.random.Generator) -> dict:
    m, n = sizes["m"], sizes["n"]
    return {"A": rng.uniform(-1.0, 1.0, size=(m, n)) + np.eye(m, n), "R": np.zeros((n, n)),
            "Q": np.zeros((m, n))}


def _gramschmidt_checked(sizes: Sizes) -> dict[str, tuple[slice, ...]]:
    """With m < n, the columns past rank m orthogonalise rounding noise (their Q columns are noise of unit
    length, and so are A's): only the first min(m, n) columns of Q and A and rows of R are determined."""
    r = min(sizes["m"], sizes["n"])
    return {"Q": (slice(None), slice(0, r)), "A": (slice(None), slice(0, r)), "R": (slice(0, r), slice(None))}


def _init_stats(*extra: str) -> Init:
    """data with per-column scale in [1, 2] (standard deviations far above the 0.1 guard)."""
    def init(sizes: Sizes, rng: np.random.Generator) -> dict:
        m, n = sizes["m"], sizes["n"]
        data = rng.normal(size=(n, m)) * rng.uniform(1.0, 2.0, size=m) + rng.uniform(-1.0, 1.0, size=m)
        out = {"data": data, extra[0]: np.zeros((m, m))}
        out.update({a: np.zeros(m) for a in extra[1:]})
        return out
    return init


def _init_adi(sizes: Sizes, rng: np.random.Generator) -> dict:
    n = sizes["n"]
    return {"u": _u(rng, n, n), "v": np.zeros((n, n)), "p": np.zeros((n, n)), "q": np.zeros((n, n))}


FW_INFINITY = 1 << 29
"""floyd-warshall's 'no edge' weight: twice it still fits an int32."""


def _init_floyd(sizes: Sizes, rng: np.random.Generator) -> dict:
    n = sizes["n"]
    path = rng.integers(1, 100, size=(n, n), dtype=np.int32)
    path[rng.uniform(size=(n, n)) < 0.3] = FW_INFINITY
    np.fill_diagonal(path, 0)
    return {"path": path}


def _init_nussinov(sizes: Sizes, rng: np.random.Generator) -> dict:
    n = sizes["n"]
    return {"seq": rng.integers(0, 4, size=n, dtype=np.int32), "table": np.zeros((n, n), dtype=np.int32)}


def _init_deriche(sizes: Sizes, rng: np.random.Generator) -> dict:
    w, h = sizes["w"], sizes["h"]
    z = np.zeros((w, h), dtype=np.float32)
    return {"imgIn": rng.uniform(0.0, 1.0, size=(w, h)).astype(np.float32), "imgOut": z,
            "y1": z.copy(), "y2": z.copy()}


# ---------------------------------------------------------------------------------------------------------
# the suite

def _ds(names: tuple[str, ...], *rows: tuple[int, ...]) -> dict[str, dict[str, int]]:
    assert len(rows) == len(SIZES)
    return {size: dict(zip(names, row)) for size, row in zip(SIZES, rows)}


_N5 = (40, 120, 400, 2000, 4000)          # the common one-size ladder (mvt, gemver, lu, ...)
_MN = ((20, 30), (60, 80), (200, 240), (1000, 1200), (2000, 2600))   # (m, n) of symm/syrk/trmm/...
_STATS = ((28, 32), (80, 100), (240, 260), (1200, 1400), (2600, 3000))
_ATAX = ((38, 42), (116, 124), (390, 410), (1900, 2100), (1800, 2200))


def _one(values: tuple[int, ...]) -> dict[str, dict[str, int]]:
    return _ds(("n",), *((v,) for v in values))


def _mn(rows: tuple[tuple[int, int], ...]) -> dict[str, dict[str, int]]:
    return _ds(("m", "n"), *rows)


AB = {"alpha": 1.5, "beta": 1.2}


def _spec() -> list[dict[str, Any]]:
    """The suite's table; shapes are size names; init is an Init or a _uniform(...) description."""
    return [
        # ---- datamining
        dict(name="correlation", category="datamining", params=("m", "n"),
             scalars={"float_n": lambda s: float(s["n"])},
             arrays=(("data", ("n", "m")), ("corr", ("m", "m")), ("mean", ("m",)), ("stddev", ("m",))),
             outputs=("corr", "mean", "stddev", "data"), datasets=_mn(_STATS),
             flops=lambda s: 7 * s["m"] * s["n"] + s["m"] * (s["m"] - 1) * s["n"],
             init=_init_stats("corr", "mean", "stddev")),
        dict(name="covariance", category="datamining", params=("m", "n"),
             scalars={"float_n": lambda s: float(s["n"])},
             arrays=(("data", ("n", "m")), ("cov", ("m", "m")), ("mean", ("m",))),
             outputs=("cov", "mean", "data"), datasets=_mn(_STATS),
             flops=lambda s: 2 * s["m"] * s["n"] + s["m"] * (s["m"] + 1) / 2 * (2 * s["n"] + 1),
             init=_init_stats("cov", "mean")),
        # ---- linear-algebra/blas
        dict(name="gemm", category="blas", params=("ni", "nj", "nk"), scalars=AB,
             arrays=(("C", ("ni", "nj")), ("A", ("ni", "nk")), ("B", ("nk", "nj"))), outputs=("C",),
             datasets=_ds(("ni", "nj", "nk"), (20, 25, 30), (60, 70, 80), (200, 220, 240),
                          (1000, 1100, 1200), (2000, 2300, 2600)),
             flops=lambda s: s["ni"] * s["nj"] * (1 + 3 * s["nk"]), init=_uniform("C", "A", "B")),
        dict(name="gemver", category="blas", params=("n",), scalars=AB,
             arrays=(("A", ("n", "n")), ("u1", ("n",)), ("v1", ("n",)), ("u2", ("n",)), ("v2", ("n",)),
                     ("w", ("n",)), ("x", ("n",)), ("y", ("n",)), ("z", ("n",))),
             outputs=("A", "x", "w"), datasets=_one(_N5), flops=lambda s: 10 * s["n"] ** 2 + s["n"],
             init=_uniform("A", "u1", "v1", "u2", "v2", "w", "x", "y", "z")),
        dict(name="gesummv", category="blas", params=("n",), scalars=AB,
             arrays=(("A", ("n", "n")), ("B", ("n", "n")), ("tmp", ("n",)), ("x", ("n",)), ("y", ("n",))),
             outputs=("tmp", "y"), datasets=_one((30, 90, 250, 1300, 2800)),
             flops=lambda s: 4 * s["n"] ** 2 + 3 * s["n"], init=_uniform("A", "B", "x", zeros=("tmp", "y"))),
        dict(name="symm", category="blas", params=("m", "n"), scalars=AB,
             arrays=(("C", ("m", "n")), ("A", ("m", "m")), ("B", ("m", "n"))), outputs=("C",),
             datasets=_mn(_MN), flops=lambda s: 2.5 * s["m"] * (s["m"] - 1) * s["n"] + 6 * s["m"] * s["n"],
             init=_uniform("C", "A", "B")),
        dict(name="syr2k", category="blas", params=("n", "m"), scalars=AB,
             arrays=(("C", ("n", "n")), ("A", ("n", "m")), ("B", ("n", "m"))), outputs=("C",),
             datasets=_mn(_MN),
             flops=lambda s: s["n"] * (s["n"] + 1) / 2 * (1 + 6 * s["m"]), init=_uniform("C", "A", "B")),
        dict(name="syrk", category="blas", params=("n", "m"), scalars=AB,
             arrays=(("C", ("n", "n")), ("A", ("n", "m"))), outputs=("C",), datasets=_mn(_MN),
             flops=lambda s: s["n"] * (s["n"] + 1) / 2 * (1 + 3 * s["m"]), init=_uniform("C", "A")),
        dict(name="trmm", category="blas", params=("m", "n"), scalars={"alpha": 1.5},
             arrays=(("A", ("m", "m")), ("B", ("m", "n"))), outputs=("B",), datasets=_mn(_MN),
             flops=lambda s: s["m"] * (s["m"] - 1) * s["n"] + s["m"] * s["n"], init=_uniform("A", "B")),
        # ---- linear-algebra/kernels
        dict(name="2mm", category="kernels", params=("ni", "nj", "nk", "nl"), scalars=AB,
             arrays=(("tmp", ("ni", "nj")), ("A", ("ni", "nk")), ("B", ("nk", "nj")), ("C", ("nj", "nl")),
                     ("D", ("ni", "nl"))), outputs=("tmp", "D"),
             datasets=_ds(("ni", "nj", "nk", "nl"), (16, 18, 22, 24), (40, 50, 70, 80), (180, 190, 210, 220),
                          (800, 900, 1100, 1200), (1600, 1800, 2200, 2400)),
             flops=lambda s: 3 * s["ni"] * s["nj"] * s["nk"] + s["ni"] * s["nl"] * (1 + 2 * s["nj"]),
             init=_uniform("A", "B", "C", "D", zeros=("tmp",))),
        dict(name="3mm", category="kernels", params=("ni", "nj", "nk", "nl", "nm"), scalars={},
             arrays=(("E", ("ni", "nj")), ("A", ("ni", "nk")), ("B", ("nk", "nj")), ("F", ("nj", "nl")),
                     ("C", ("nj", "nm")), ("D", ("nm", "nl")), ("G", ("ni", "nl"))), outputs=("E", "F", "G"),
             datasets=_ds(("ni", "nj", "nk", "nl", "nm"), (16, 18, 20, 22, 24), (40, 50, 60, 70, 80),
                          (180, 190, 200, 210, 220), (800, 900, 1000, 1100, 1200),
                          (1600, 1800, 2000, 2200, 2400)),
             flops=lambda s: 2 * (s["ni"] * s["nj"] * s["nk"] + s["nj"] * s["nl"] * s["nm"]
                                  + s["ni"] * s["nl"] * s["nj"]),
             init=_uniform("A", "B", "C", "D", zeros=("E", "F", "G"))),
        dict(name="atax", category="kernels", params=("m", "n"), scalars={},
             arrays=(("A", ("m", "n")), ("x", ("n",)), ("y", ("n",)), ("tmp", ("m",))), outputs=("y", "tmp"),
             datasets=_mn(_ATAX), flops=lambda s: 4 * s["m"] * s["n"], init=_uniform("A", "x", zeros=("y", "tmp"))),
        dict(name="bicg", category="kernels", params=("m", "n"), scalars={},
             arrays=(("A", ("n", "m")), ("s", ("m",)), ("q", ("n",)), ("p", ("m",)), ("r", ("n",))),
             outputs=("s", "q"), datasets=_mn(_ATAX), flops=lambda s: 4 * s["m"] * s["n"],
             init=_uniform("A", "p", "r", zeros=("s", "q"))),
        dict(name="doitgen", category="kernels", params=("nr", "nq", "np"), scalars={},
             arrays=(("A", ("nr", "nq", "np")), ("C4", ("np", "np")), ("sum", ("np",))), outputs=("A", "sum"),
             datasets=_ds(("nq", "nr", "np"), (8, 10, 12), (20, 25, 30), (40, 50, 60), (140, 150, 160),
                          (220, 250, 270)),
             flops=lambda s: 2 * s["nr"] * s["nq"] * s["np"] ** 2, init=_uniform("A", "C4", zeros=("sum",))),
        dict(name="mvt", category="kernels", params=("n",), scalars={},
             arrays=(("x1", ("n",)), ("x2", ("n",)), ("y_1", ("n",)), ("y_2", ("n",)), ("A", ("n", "n"))),
             outputs=("x1", "x2"), datasets=_one(_N5), flops=lambda s: 4 * s["n"] ** 2,
             init=_uniform("x1", "x2", "y_1", "y_2", "A")),
        # ---- linear-algebra/solvers
        dict(name="cholesky", category="solvers", params=("n",), scalars={}, arrays=(("A", ("n", "n")),),
             outputs=("A",), datasets=_one(_N5), flops=lambda s: s["n"] ** 3 / 3 + s["n"] ** 2,
             init=_init_spd),
        dict(name="durbin", category="solvers", params=("n",), scalars={},
             arrays=(("r", ("n",)), ("y", ("n",)), ("z", ("n",))), outputs=("y",), datasets=_one(_N5),
             flops=lambda s: 2 * s["n"] ** 2 + 6 * s["n"], init=_init_durbin,
             note="z is a scratch argument (a local array in the classic code)"),
        dict(name="gramschmidt", category="solvers", params=("m", "n"), scalars={},
             arrays=(("A", ("m", "n")), ("R", ("n", "n")), ("Q", ("m", "n"))), outputs=("A", "R", "Q"),
             datasets=_mn(_MN), flops=lambda s: 3 * s["m"] * s["n"] + 2 * s["m"] * s["n"] * (s["n"] - 1),
             init=_init_gramschmidt, checked=_gramschmidt_checked,
             note="the classic datasets have m < n: the columns past rank m orthogonalise to rounding "
                  "noise, so comparisons check the first min(m, n) columns of Q and A and rows of R"),
        dict(name="lu", category="solvers", params=("n",), scalars={}, arrays=(("A", ("n", "n")),),
             outputs=("A",), datasets=_one(_N5), flops=lambda s: 2 * s["n"] ** 3 / 3, init=_init_lu),
        dict(name="ludcmp", category="solvers", params=("n",), scalars={},
             arrays=(("A", ("n", "n")), ("b", ("n",)), ("x", ("n",)), ("y", ("n",))), outputs=("A", "x", "y"),
             datasets=_one(_N5), flops=lambda s: 2 * s["n"] ** 3 / 3 + 2 * s["n"] ** 2, init=_init_ludcmp),
        dict(name="trisolv", category="solvers", params=("n",), scalars={},
             arrays=(("L", ("n", "n")), ("x", ("n",)), ("b", ("n",))), outputs=("x",), datasets=_one(_N5),
             flops=lambda s: s["n"] ** 2 + s["n"], init=_init_trisolv),
        # ---- medley
        dict(name="deriche", category="medley", params=("w", "h"), scalars={"alpha": 0.25},
             arrays=(("imgIn", ("w", "h")), ("imgOut", ("w", "h")), ("y1", ("w", "h")), ("y2", ("w", "h"))),
             outputs=("imgOut", "y1", "y2"), dtype="float32",
             datasets=_ds(("w", "h"), (64, 64), (192, 128), (720, 480), (4096, 2160), (7680, 4320)),
             flops=lambda s: 32 * s["w"] * s["h"], init=_init_deriche, rtol=1e-3,
             note="constants are integer literals and 2^-alpha is exp2(-alpha) in both versions, so that "
                  "no float literal (1.0f in C, a double in Python) tells the two apart"),
        dict(name="floyd-warshall", category="medley", params=("n",), scalars={},
             arrays=(("path", ("n", "n")),), outputs=("path",), dtype="int32",
             datasets=_one((60, 180, 500, 2800, 5600)), flops=lambda s: 2 * s["n"] ** 3,
             init=_init_floyd, rtol=0.0),
        dict(name="nussinov", category="medley", params=("n",), scalars={},
             arrays=(("seq", ("n",)), ("table", ("n", "n"))), outputs=("table",), dtype="int32",
             datasets=_one((60, 180, 500, 2500, 5500)), flops=lambda s: s["n"] ** 3 / 3 + 8 * s["n"] ** 2,
             init=_init_nussinov, rtol=0.0),
        # ---- stencils
        dict(name="adi", category="stencils", params=("tsteps", "n"), scalars={},
             arrays=(("u", ("n", "n")), ("v", ("n", "n")), ("p", ("n", "n")), ("q", ("n", "n"))),
             outputs=("u", "v", "p", "q"),
             datasets=_ds(("tsteps", "n"), (20, 20), (40, 60), (100, 200), (500, 1000), (1000, 2000)),
             flops=lambda s: 34 * s["tsteps"] * (s["n"] - 2) ** 2, init=_init_adi, rtol=1e-6),
        dict(name="fdtd-2d", category="stencils", params=("tmax", "nx", "ny"), scalars={},
             arrays=(("ex", ("nx", "ny")), ("ey", ("nx", "ny")), ("hz", ("nx", "ny")), ("_fict_", ("tmax",))),
             outputs=("ex", "ey", "hz"),
             datasets=_ds(("tmax", "nx", "ny"), (20, 20, 30), (40, 60, 80), (100, 200, 240),
                          (500, 1000, 1200), (1000, 2000, 2600)),
             flops=lambda s: s["tmax"] * (3 * (s["nx"] - 1) * s["ny"] + 3 * s["nx"] * (s["ny"] - 1)
                                          + 5 * (s["nx"] - 1) * (s["ny"] - 1)),
             init=_uniform("ex", "ey", "hz", "_fict_")),
        dict(name="heat-3d", category="stencils", params=("tsteps", "n"), scalars={},
             arrays=(("A", ("n", "n", "n")), ("B", ("n", "n", "n"))), outputs=("A", "B"),
             datasets=_ds(("tsteps", "n"), (20, 10), (40, 20), (100, 40), (500, 120), (1000, 200)),
             flops=lambda s: 30 * s["tsteps"] * (s["n"] - 2) ** 3, init=_uniform("A", "B")),
        dict(name="jacobi-1d", category="stencils", params=("tsteps", "n"), scalars={},
             arrays=(("A", ("n",)), ("B", ("n",))), outputs=("A", "B"),
             datasets=_ds(("tsteps", "n"), (20, 30), (40, 120), (100, 400), (500, 2000), (1000, 4000)),
             flops=lambda s: 6 * s["tsteps"] * (s["n"] - 2), init=_uniform("A", "B")),
        dict(name="jacobi-2d", category="stencils", params=("tsteps", "n"), scalars={},
             arrays=(("A", ("n", "n")), ("B", ("n", "n"))), outputs=("A", "B"),
             datasets=_ds(("tsteps", "n"), (20, 30), (40, 90), (100, 250), (500, 1300), (1000, 2800)),
             flops=lambda s: 10 * s["tsteps"] * (s["n"] - 2) ** 2, init=_uniform("A", "B")),
        dict(name="seidel-2d", category="stencils", params=("tsteps", "n"), scalars={},
             arrays=(("A", ("n", "n")),), outputs=("A",),
             datasets=_ds(("tsteps", "n"), (20, 40), (40, 120), (100, 400), (500, 2000), (1000, 4000)),
             flops=lambda s: 9 * s["tsteps"] * (s["n"] - 2) ** 2, init=_uniform("A")),
    ]


def _module_name(name: str) -> str:
    return {"2mm": "two_mm", "3mm": "three_mm"}.get(name, name.replace("-", "_"))


def _make(row: dict[str, Any]) -> SuiteKernel:
    name = row.pop("name")
    init = row.pop("init")
    if isinstance(init, _Uniform):
        init = init.bind(dict(row["arrays"]))
    module = _module_name(name)
    row.setdefault("dtype", "float64")
    return SuiteKernel(name=name, c_path=_C_DIR / f"{name}.c", python_module=f"polyopt.kernels.python.{module}",
                       c_function="kernel_" + name.replace("-", "_"), python_function_name=module,
                       init=init, **row)


@lru_cache(maxsize=1)
def suite() -> tuple[SuiteKernel, ...]:
    """All kernels, grouped by category."""
    return tuple(_make(dict(row)) for row in _spec())


def names() -> tuple[str, ...]:
    return tuple(k.name for k in suite())


def get(name: str) -> SuiteKernel:
    for k in suite():
        if k.name == name:
            return k
    raise KeyError(f"unknown suite kernel '{name}'; known: {', '.join(names())}")


def c_source(name: str) -> str:
    """The C text of a kernel."""
    return get(name).c_path.read_text()


def python_function(name: str) -> Callable[..., None]:
    """The Python function of a kernel."""
    k = get(name)
    return getattr(importlib.import_module(k.python_module), k.python_function_name)


def dataset(name: str, size: str | Sizes = "MINI") -> dict[str, int]:
    """The size values of a kernel at a dataset size."""
    return get(name).sizes(size)


def make_inputs(name: str, size: str | Sizes = "MINI", seed: int = 0) -> dict[str, Any]:
    """Every argument of a kernel by name, in signature order: sizes (int), scalars (float) and freshly
    generated, valid input arrays (C-contiguous, of the kernel's dtype). `size` is a dataset name or a
    mapping giving every size parameter."""
    k = get(name)
    sizes = k.sizes(size)
    rng = np.random.default_rng(seed)
    arrays = k.init(sizes, rng)
    missing = [a for a, _ in k.arrays if a not in arrays]
    if missing:
        raise AssertionError(f"{name}: init gave no values for {', '.join(missing)}")
    out: dict[str, Any] = dict(sizes)
    out.update(k.scalar_values(sizes))
    for a, _ in k.arrays:
        value = np.ascontiguousarray(arrays[a], dtype=np.dtype(k.dtype))
        shape = k.shape(a, sizes)
        if value.shape != shape:
            raise AssertionError(f"{name}: init gave {a} of shape {value.shape}, expected {shape}")
        out[a] = value
    return out
