"""The classic kernel suite: registry consistency, the Python kernels against independent numpy
formulations, the C kernels (compiled with gcc, called through ctypes) against the Python kernels, and
both frontends agreeing on every kernel's model."""

from __future__ import annotations

import ctypes
import inspect
import re
import shutil
import subprocess

import numpy as np
import pytest

from polyopt import kernels as K
from polyopt.kernels.registry import FW_INFINITY, SIZES

NAMES = K.names()
EXPECTED = {"gemm", "2mm", "3mm", "atax", "bicg", "mvt", "gemver", "gesummv", "syrk", "syr2k", "trmm", "symm",
            "doitgen", "lu", "ludcmp", "cholesky", "trisolv", "durbin", "gramschmidt", "covariance",
            "correlation", "jacobi-1d", "jacobi-2d", "heat-3d", "seidel-2d", "fdtd-2d", "adi",
            "floyd-warshall", "nussinov", "deriche"}


def run_python(name: str, size="MINI", seed: int = 0) -> tuple[dict, dict]:
    """(inputs before, arguments after) of the Python kernel run as plain Python."""
    args = K.make_inputs(name, size, seed)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in args.items()}
    K.python_function(name)(**args)
    return before, args


# ------------------------------------------------------------------------------------------- registry

def test_suite_is_complete_and_unique():
    assert set(NAMES) == EXPECTED
    assert len(NAMES) == len(set(NAMES)) == 30
    for name in NAMES:
        assert K.get(name).name == name
    with pytest.raises(KeyError):
        K.get("no-such-kernel")


def test_anchor_sizes():
    assert K.dataset("gemm", "LARGE") == {"ni": 1000, "nj": 1100, "nk": 1200}
    assert K.dataset("2mm", "LARGE") == {"ni": 800, "nj": 900, "nk": 1100, "nl": 1200}
    for name in ("syrk", "syr2k", "trmm"):
        assert K.dataset(name, "LARGE") == {"m": 1000, "n": 1200}
    assert K.dataset("lu", "LARGE") == K.dataset("cholesky", "LARGE") == {"n": 2000}
    assert K.dataset("jacobi-2d", "LARGE") == {"tsteps": 500, "n": 1300}
    assert K.dataset("seidel-2d", "LARGE") == {"tsteps": 500, "n": 2000}
    assert K.dataset("heat-3d", "LARGE") == {"tsteps": 500, "n": 120}
    assert K.dataset("fdtd-2d", "LARGE") == {"tmax": 500, "nx": 1000, "ny": 1200}
    assert {K.get(n).dtype for n in NAMES} == {"float64", "float32", "int32"}
    assert K.get("deriche").dtype == "float32"
    assert K.get("floyd-warshall").dtype == K.get("nussinov").dtype == "int32"


@pytest.mark.parametrize("name", NAMES)
def test_registry_entry(name):
    k = K.get(name)
    assert set(k.datasets) == set(SIZES)
    for size in SIZES:
        assert set(k.datasets[size]) == set(k.params)
        assert k.flops(k.datasets[size]) > 0
    # dataset sizes grow
    for p in k.params:
        values = [k.datasets[s][p] for s in SIZES[:4]]
        assert values == sorted(values), (p, values)
    assert set(k.outputs) <= {a for a, _ in k.arrays}
    for _, shape in k.arrays:
        assert set(shape) <= set(k.params)
    assert k.same_fingerprint or k.note
    # the Python function's signature is the kernel's argument list, annotated as documented
    fn = K.python_function(name)
    sig = inspect.signature(fn)
    assert tuple(sig.parameters) == k.arguments
    dt = k.dtype
    for a, shape in k.arrays:
        assert sig.parameters[a].annotation == f"{dt}[{', '.join(shape)}]"
    for p in k.params:
        assert sig.parameters[p].annotation in (int, "int")
    for s in k.scalars:
        assert sig.parameters[s].annotation in ((float, "float") if dt != "float32" else ("float32",))
    # the C function's signature too
    text = K.c_source(name)
    assert "#pragma scop" in text and "#pragma endscop" in text
    m = re.search(r"void\s+(\w+)\s*\(([^)]*)\)", text)
    assert m and m.group(1) == k.c_function
    c_args = [re.match(r"\s*(\w+)\s+(\w+)", a).group(2) for a in m.group(2).split(",")]
    assert tuple(c_args) == k.arguments


@pytest.mark.parametrize("name", NAMES)
def test_make_inputs(name):
    k = K.get(name)
    a = K.make_inputs(name, "MINI", seed=3)
    b = K.make_inputs(name, "MINI", seed=3)
    c = K.make_inputs(name, "MINI", seed=4)
    assert tuple(a) == k.arguments
    sizes = k.datasets["MINI"]
    for p in k.params:
        assert a[p] == sizes[p] and isinstance(a[p], int)
    for s in k.scalars:
        assert isinstance(a[s], float)
    differs = False
    for arr, shape in k.arrays:
        assert isinstance(a[arr], np.ndarray) and a[arr].flags.c_contiguous
        assert a[arr].dtype == np.dtype(k.dtype)
        assert a[arr].shape == tuple(sizes[d] for d in shape)
        assert np.all(np.isfinite(a[arr]))
        np.testing.assert_array_equal(a[arr], b[arr])
        differs = differs or not np.array_equal(a[arr], c[arr])
    assert differs, "the seed does not change the inputs"


# ------------------------------------------------------------------------- Python kernels as oracles

@pytest.mark.parametrize("name", NAMES)
def test_python_kernel_runs_and_is_finite(name):
    k = K.get(name)
    before, after = run_python(name)
    for o in k.outputs:
        assert np.all(np.isfinite(after[o])), o
    assert any(not np.array_equal(before[o], after[o]) for o in k.outputs)


def _close(actual, expected, rtol=1e-10, atol=1e-10):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def ref_gemm(a):
    return {"C": a["alpha"] * a["A"] @ a["B"] + a["beta"] * a["C"]}


def ref_2mm(a):
    tmp = a["alpha"] * a["A"] @ a["B"]
    return {"tmp": tmp, "D": a["beta"] * a["D"] + tmp @ a["C"]}


def ref_3mm(a):
    E, F = a["A"] @ a["B"], a["C"] @ a["D"]
    return {"E": E, "F": F, "G": E @ F}


def ref_atax(a):
    tmp = a["A"] @ a["x"]
    return {"tmp": tmp, "y": a["A"].T @ tmp}


def ref_bicg(a):
    return {"s": a["A"].T @ a["r"], "q": a["A"] @ a["p"]}


def ref_mvt(a):
    return {"x1": a["x1"] + a["A"] @ a["y_1"], "x2": a["x2"] + a["A"].T @ a["y_2"]}


def ref_gemver(a):
    A = a["A"] + np.outer(a["u1"], a["v1"]) + np.outer(a["u2"], a["v2"])
    x = a["x"] + a["beta"] * A.T @ a["y"] + a["z"]
    return {"A": A, "x": x, "w": a["w"] + a["alpha"] * A @ x}


def ref_gesummv(a):
    return {"y": a["alpha"] * a["A"] @ a["x"] + a["beta"] * a["B"] @ a["x"], "tmp": a["A"] @ a["x"]}


def ref_syrk(a):
    full = a["alpha"] * a["A"] @ a["A"].T + a["beta"] * a["C"]
    return {"C": np.tril(full) + np.triu(a["C"], 1)}


def ref_syr2k(a):
    full = a["alpha"] * (a["A"] @ a["B"].T + a["B"] @ a["A"].T) + a["beta"] * a["C"]
    return {"C": np.tril(full) + np.triu(a["C"], 1)}


def ref_trmm(a):
    U = np.eye(a["m"]) + np.tril(a["A"], -1).T
    return {"B": a["alpha"] * U @ a["B"]}


def ref_symm(a):
    S = np.tril(a["A"]) + np.tril(a["A"], -1).T
    return {"C": a["alpha"] * S @ a["B"] + a["beta"] * a["C"]}


def ref_doitgen(a):
    out = np.einsum("rqs,sp->rqp", a["A"], a["C4"])
    return {"A": out, "sum": out[-1, -1]}


def ref_covariance(a):
    d = a["data"]
    return {"cov": np.cov(d, rowvar=False), "mean": d.mean(axis=0), "data": d - d.mean(axis=0)}


def ref_correlation(a):
    return {"corr": np.corrcoef(a["data"], rowvar=False), "mean": a["data"].mean(axis=0),
            "stddev": a["data"].std(axis=0)}


def ref_jacobi_1d(a):
    A, B = a["A"].copy(), a["B"].copy()
    for _ in range(a["tsteps"]):
        B[1:-1] = 0.33333 * (A[:-2] + A[1:-1] + A[2:])
        A[1:-1] = 0.33333 * (B[:-2] + B[1:-1] + B[2:])
    return {"A": A, "B": B}


def ref_jacobi_2d(a):
    A, B = a["A"].copy(), a["B"].copy()
    for _ in range(a["tsteps"]):
        B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1])
        A[1:-1, 1:-1] = 0.2 * (B[1:-1, 1:-1] + B[1:-1, :-2] + B[1:-1, 2:] + B[2:, 1:-1] + B[:-2, 1:-1])
    return {"A": A, "B": B}


def ref_heat_3d(a):
    A, B = a["A"].copy(), a["B"].copy()

    def step(src, dst):
        c = src[1:-1, 1:-1, 1:-1]
        dst[1:-1, 1:-1, 1:-1] = (0.125 * (src[2:, 1:-1, 1:-1] - 2.0 * c + src[:-2, 1:-1, 1:-1])
                                 + 0.125 * (src[1:-1, 2:, 1:-1] - 2.0 * c + src[1:-1, :-2, 1:-1])
                                 + 0.125 * (src[1:-1, 1:-1, 2:] - 2.0 * c + src[1:-1, 1:-1, :-2]) + c)
    for _ in range(a["tsteps"]):
        step(A, B)
        step(B, A)
    return {"A": A, "B": B}


def ref_trisolv(a):
    return {"x": np.linalg.solve(np.tril(a["L"]), a["b"])}


def ref_durbin(a):
    n, r = a["n"], a["r"]
    T = np.array([[1.0 if i == j else r[abs(i - j) - 1] for j in range(n)] for i in range(n)])
    return {"y": np.linalg.solve(T, -r)}


def ref_ludcmp(a):
    return {"x": np.linalg.solve(a["A"], a["b"])}


def ref_nussinov(a):
    """A memoised recursive formulation of the same recurrence."""
    n, seq = a["n"], a["seq"]
    T = np.zeros((n, n), dtype=np.int64)
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            best = max(T[i, j - 1], T[i + 1, j])
            pair = T[i + 1, j - 1] + (1 if (i < j - 1 and seq[i] + seq[j] == 3) else 0)
            best = max(best, pair)
            for k in range(i + 1, j):
                best = max(best, T[i, k] + T[k + 1, j])
            T[i, j] = best
    return {"table": T}


def ref_floyd_warshall(a):
    P = a["path"].astype(np.int64)
    for k in range(a["n"]):
        P = np.minimum(P, P[:, k:k + 1] + P[k:k + 1, :])
    return {"path": P}


REFERENCES = {
    "gemm": ref_gemm, "2mm": ref_2mm, "3mm": ref_3mm, "atax": ref_atax, "bicg": ref_bicg, "mvt": ref_mvt,
    "gemver": ref_gemver, "gesummv": ref_gesummv, "syrk": ref_syrk, "syr2k": ref_syr2k, "trmm": ref_trmm,
    "symm": ref_symm, "doitgen": ref_doitgen, "covariance": ref_covariance, "correlation": ref_correlation,
    "jacobi-1d": ref_jacobi_1d, "jacobi-2d": ref_jacobi_2d, "heat-3d": ref_heat_3d, "trisolv": ref_trisolv,
    "durbin": ref_durbin, "ludcmp": ref_ludcmp, "nussinov": ref_nussinov, "floyd-warshall": ref_floyd_warshall,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_python_kernel_matches_numpy(name):
    assert name in NAMES
    before, after = run_python(name, seed=1)
    for out, expected in REFERENCES[name](before).items():
        if K.get(name).dtype == "int32":
            np.testing.assert_array_equal(after[out], expected, err_msg=out)
        else:
            _close(after[out], expected, rtol=1e-9, atol=1e-9)


def test_cholesky_factorises():
    before, after = run_python("cholesky", seed=2)
    L = np.tril(after["A"])
    _close(L @ L.T, before["A"], rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(np.triu(after["A"], 1), np.triu(before["A"], 1))


@pytest.mark.parametrize("name", ["lu", "ludcmp"])
def test_lu_factorises(name):
    before, after = run_python(name, seed=2)
    n = before["n"]
    L, U = np.tril(after["A"], -1) + np.eye(n), np.triu(after["A"])
    _close(L @ U, before["A"], rtol=1e-10, atol=1e-10)


def test_gramschmidt_on_a_tall_matrix():
    """The classic datasets have m < n (rank-deficient); check the QR property where it is defined."""
    before, after = run_python("gramschmidt", size={"m": 30, "n": 20}, seed=2)
    Q, R = after["Q"], after["R"]
    _close(Q.T @ Q, np.eye(20), rtol=1e-9, atol=1e-9)
    _close(Q @ np.triu(R), before["A"], rtol=1e-9, atol=1e-9)


def ref_deriche(a):
    """The four recursive passes vectorised across rows / columns, in double precision."""
    al = a["alpha"]
    k = (1 - np.exp(-al)) ** 2 / (1 + 2 * al * np.exp(-al) - np.exp(2 * al))
    a1, a2, a3, a4 = k, k * np.exp(-al) * (al - 1), k * np.exp(-al) * (al + 1), -k * np.exp(-2 * al)
    b1, b2 = 2.0 ** -al, -np.exp(-2 * al)

    def causal(x, c0, c1):          # filter along axis 1, forwards
        y = np.zeros_like(x)
        ym1 = ym2 = xm1 = np.zeros(x.shape[0])
        for j in range(x.shape[1]):
            y[:, j] = c0 * x[:, j] + c1 * xm1 + b1 * ym1 + b2 * ym2
            xm1, ym2, ym1 = x[:, j], ym1, y[:, j]
        return y

    def anticausal(x, c0, c1):      # filter along axis 1, backwards
        y = np.zeros_like(x)
        yp1 = yp2 = xp1 = xp2 = np.zeros(x.shape[0])
        for j in range(x.shape[1] - 1, -1, -1):
            y[:, j] = c0 * xp1 + c1 * xp2 + b1 * yp1 + b2 * yp2
            xp2, xp1, yp2, yp1 = xp1, x[:, j], yp1, y[:, j]
        return y

    img = a["imgIn"].astype(np.float64)
    rows = causal(img, a1, a2) + anticausal(img, a3, a4)
    y1, y2 = causal(rows.T, a1, a2).T, anticausal(rows.T, a3, a4).T
    return {"imgOut": y1 + y2, "y1": y1, "y2": y2}


def test_deriche_matches_numpy():
    before, after = run_python("deriche", seed=1)
    for out, expected in ref_deriche(before).items():
        np.testing.assert_allclose(after[out], expected, rtol=1e-4, atol=1e-5, err_msg=out)


def test_make_inputs_validity():
    a = K.make_inputs("cholesky")
    assert np.all(np.linalg.eigvalsh(a["A"]) > 0)
    a = K.make_inputs("floyd-warshall")
    assert a["path"].min() >= 0 and 2 * int(a["path"].max()) < 2 ** 31 and a["path"].max() == FW_INFINITY
    a = K.make_inputs("nussinov")
    assert set(np.unique(a["seq"])) <= {0, 1, 2, 3}
    a = K.make_inputs("correlation")
    assert np.all(a["data"].std(axis=0) > 0.1) and a["float_n"] == float(a["n"])
    with pytest.raises(KeyError):
        K.make_inputs("gemm", "HUGE")
    with pytest.raises(KeyError):
        K.make_inputs("gemm", {"ni": 3})


# -------------------------------------------------------------------------- C kernels through ctypes

GCC = shutil.which("gcc")
needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc is not installed")
C_TYPES = {"float64": ctypes.c_double, "float32": ctypes.c_float, "int32": ctypes.c_int}


@pytest.fixture(scope="module")
def c_library(tmp_path_factory) -> ctypes.CDLL:
    """Every suite kernel compiled into one shared library (gcc -O2 -std=c99)."""
    out = tmp_path_factory.mktemp("suite") / "libsuite.so"
    files = [str(K.get(n).c_path) for n in NAMES]
    subprocess.run([GCC, "-O2", "-shared", "-fPIC", "-std=c99", "-Wall", "-Wno-unknown-pragmas", "-Werror",
                    "-o", str(out), *files, "-lm"], check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(out))


@needs_gcc
@pytest.mark.parametrize("name", NAMES)
def test_c_compiles_standalone(name, tmp_path):
    r = subprocess.run([GCC, "-std=c99", "-O1", "-fsyntax-only", "-Wall", "-Wextra", "-Wno-unknown-pragmas",
                        "-Werror", str(K.get(name).c_path)], check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def call_c(lib: ctypes.CDLL, name: str, args: dict) -> None:
    k = K.get(name)
    fn = getattr(lib, k.c_function)
    types, values = [], []
    for p in k.params:
        types.append(ctypes.c_int)
        values.append(int(args[p]))
    for s in k.scalars:
        types.append(C_TYPES[k.dtype] if k.dtype != "int32" else ctypes.c_double)
        values.append(float(args[s]))
    for a, _ in k.arrays:
        arr = args[a]
        assert arr.flags.c_contiguous and arr.dtype == np.dtype(k.dtype)
        types.append(ctypes.c_void_p)
        values.append(arr.ctypes.data)
    fn.argtypes, fn.restype = types, None
    fn(*values)


@needs_gcc
@pytest.mark.parametrize("name", NAMES)
def test_c_matches_python(name, c_library):
    """Same inputs, same math: the C and Python versions agree (to rounding of the libm calls)."""
    k = K.get(name)
    size = {"m": 30, "n": 20} if name == "gramschmidt" else "MINI"
    c_args = K.make_inputs(name, size, seed=5)
    py_args = K.make_inputs(name, size, seed=5)
    call_c(c_library, name, c_args)
    K.python_function(name)(**py_args)
    for a, _ in k.arrays:
        if k.dtype == "int32":
            np.testing.assert_array_equal(c_args[a], py_args[a], err_msg=a)
        elif k.dtype == "float32":   # Python keeps the coefficients and locals in double precision
            np.testing.assert_allclose(c_args[a], py_args[a], rtol=1e-4, atol=1e-5, err_msg=a)
        else:
            np.testing.assert_allclose(c_args[a], py_args[a], rtol=1e-12, atol=1e-12, err_msg=a)


@needs_gcc
def test_c_matches_python_gramschmidt_classic_size(c_library):
    """At the classic (rank-deficient) size only the well-defined leading columns are comparable."""
    c_args, py_args = K.make_inputs("gramschmidt", seed=5), K.make_inputs("gramschmidt", seed=5)
    call_c(c_library, "gramschmidt", c_args)
    K.python_function("gramschmidt")(**py_args)
    m = c_args["m"]
    np.testing.assert_allclose(c_args["R"][:m, :m], py_args["R"][:m, :m], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(c_args["Q"][:, :m], py_args["Q"][:, :m], rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------------------- both frontends agree

def _frontends():
    from polyopt.frontend.c_frontend import from_c
    from polyopt.frontend.python_frontend import from_python
    return from_c, from_python


@pytest.mark.parametrize("name", NAMES)
def test_both_frontends_parse_and_agree(name):
    from_c, from_python = _frontends()
    k = K.get(name)
    c_scop = from_c(k.c_path, function=k.c_function)
    py_scop = from_python(K.python_function(name))
    for scop in (c_scop, py_scop):
        assert scop.params == k.params
        assert {a.name for a in scop.arrays if a.is_argument} >= {a for a, _ in k.arrays}
        assert len(scop.statements) > 0
    assert len(c_scop.statements) == len(py_scop.statements)
    if k.same_fingerprint:
        assert c_scop.fingerprint == py_scop.fingerprint, (
            f"{name}: C and Python models differ\n--- C\n{c_scop.canonical_text}\n--- Python\n"
            f"{py_scop.canonical_text}")
