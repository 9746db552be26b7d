"""Python semantics the compiled kernels must keep: the values of `and`/`or`, np.maximum/np.minimum
with NaN (against the builtin max/min), and the source function's default argument values. The
reference is the Python function itself, run on copies of the same arrays."""

import inspect
import math

import numpy as np
import pytest

import polyopt
from polyopt import expr as X
from polyopt.codegen.api import schedule_tree
from polyopt.codegen.loop_ast import build_loop_ast
from polyopt.frontend.python_frontend import python_kernel_source
from polyopt.interpret import run_loop_program

NAN = math.nan
VALUES = np.array([0.0, 2.0, NAN, -1.0, -0.0, 5.0])


def or_value(n: int, A: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = A[i] or 7.0


def and_value(n: int, A: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = A[i] and 3.0


def chained(n: int, A: "float64[n]", C: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = A[i] and C[i] or -4.0


def chained_or(n: int, A: "float64[n]", C: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = A[i] or C[i] or 9.0


def mixed(n: int, A: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = i > 1 and A[i]


def condition(n: int, A: "float64[n]", C: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = 1.0 if A[i] and not (C[i] or A[i] < 0) else -1.0


def np_maximum(n: int, A: "float64[n]", C: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = np.maximum(A[i], C[i]) + np.minimum(A[i], C[i])


def builtin_max(n: int, A: "float64[n]", C: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = max(A[i], C[i]) + min(A[i], C[i])


def fmax(n: int, A: "float64[n]", C: "float64[n]", B: "float64[n]"):
    for i in range(n):
        B[i] = np.fmax(A[i], C[i]) + np.fmin(A[i], C[i])


def _inputs(fn):
    rng = np.random.default_rng(0)
    n = VALUES.size
    a, c = np.tile(VALUES, n), np.repeat(VALUES, n)            # every pair of VALUES
    rng.shuffle(a)
    arrays = {"A": a, "B": np.full(n * n, 99.0)}
    if "C" in fn.__annotations__:
        arrays["C"] = c
    return n * n, arrays


def _python(fn, n, arrays):
    out = {k: v.copy() for k, v in arrays.items()}
    with np.errstate(invalid="ignore"):
        fn(n, **out) if "C" not in out else fn(n, A=out["A"], C=out["C"], B=out["B"])
    return out["B"]


KERNELS = [or_value, and_value, chained, chained_or, mixed, condition, np_maximum, builtin_max, fmax]


@pytest.mark.parametrize("fn", KERNELS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("scheduler", polyopt.SCHEDULERS)
def test_every_scheduler_gives_pythons_answer(fn, scheduler):
    n, arrays = _inputs(fn)
    want = _python(fn, n, arrays)
    scop = polyopt.from_python(fn)
    out = {k: v.copy() for k, v in arrays.items()}
    polyopt.compile(scop, polyopt.schedule(scop, scheduler))(n, **out)
    np.testing.assert_array_equal(out["B"], want)


@pytest.mark.parametrize("fn", KERNELS, ids=lambda f: f.__name__)
def test_c_target_and_interpreter_give_pythons_answer(fn):
    n, arrays = _inputs(fn)
    want = _python(fn, n, arrays)
    scop = polyopt.from_python(fn)
    out = {k: v.copy() for k, v in arrays.items()}
    polyopt.compile(scop, "original", "c")(n, **out)
    np.testing.assert_array_equal(out["B"], want)
    ref = {k: v.copy() for k, v in arrays.items()}
    with np.errstate(invalid="ignore"):
        run_loop_program(build_loop_ast(scop, schedule_tree(scop, "original"), {"n": n}), ref)
    np.testing.assert_array_equal(ref["B"], want)


def test_boolean_operands_stay_logical_and_conditions_affine():
    def f(n: int, m: int, A: "float64[n]", B: "bool[n]"):
        for i in range(n):
            B[i] = i > 0 and i < m or i == 3
            if n and m:
                A[i] = 1.0
    src = python_kernel_source(f)
    loop = src.body[0]
    assert isinstance(loop.body[0].value, X.Logical)
    assert isinstance(loop.body[1].cond, X.Logical)
    polyopt.from_python(f)                                     # the `if n and m` test is affine


def test_maximum_on_integers_is_plain_max_in_bounds():
    def f(n: int, A: "float64[n, n]"):
        for i in range(n):
            for j in range(np.maximum(0, i - 1), np.minimum(n, i + 2)):
                A[i, j] = 1.0
    scop = polyopt.from_python(f)
    A = np.zeros((5, 5))
    polyopt.compile(scop)(A=A)
    want = np.zeros((5, 5))
    f(5, want)
    np.testing.assert_array_equal(A, want)


def test_cuda_source_keeps_builtin_max_semantics():
    scop = polyopt.from_python(builtin_max)
    src = polyopt.compile(scop, "original", "cuda").cuda_source
    assert "fmax(" not in src and "fmin(" not in src
    assert "double polyopt_max(double a, double b) { return b > a ? b : a; }" in src


def max_chain(n: int, A: "float64[n, n]", B: "float64[n, n]"):
    for i in range(1, n - 1):
        for j in range(1, n - 1):
            B[i, j] = np.maximum(np.maximum(np.maximum(np.maximum(np.maximum(np.maximum(np.maximum(np.maximum(
                A[i - 1, j - 1], A[i - 1, j]), A[i - 1, j + 1]), A[i, j - 1]), A[i, j]), A[i, j + 1]),
                A[i + 1, j - 1]), A[i + 1, j]), np.minimum(A[i + 1, j + 1], 0.9))


def test_nested_np_maximum_stays_small_and_propagates_nan():
    """A 3x3 max-pool written as a chain of np.maximum: each call is one IR node, so the model stays small
    (spelled out as selects, the operands were copied four times per level: 21 MB, 5.6 s)."""
    scop = polyopt.from_python(max_chain)
    assert len(str(scop.statements[0].value)) < 3000
    a = np.random.default_rng(2).random((40, 40))
    a[5, 5], a[20, 30] = NAN, -0.0
    want = np.zeros_like(a)
    max_chain(40, a, want)
    for kernel in (polyopt.compile(scop), polyopt.compile(scop, "original", "c")):
        out = np.full_like(a, NAN)
        out[0], out[-1], out[:, 0], out[:, -1] = 0.0, 0.0, 0.0, 0.0
        kernel(A=a.copy(), B=out)
        np.testing.assert_array_equal(out, want)
    src = polyopt.compile(scop, "original", "cuda").cuda_source
    assert src.count("polyopt_maximum(") >= 8 and "fmax(" not in src


# -- default argument values -----------------------------------------------------------------------

def scaled(n: int, A: "float64[n]", alpha: float = 2.0, k: int = -3, off: float = 1):
    for i in range(n):
        A[i] = A[i] * alpha + k + off


@pytest.mark.parametrize("target", ["cpu", "c"])
def test_defaults_fill_omitted_arguments(target):
    kernel = polyopt.compile(polyopt.from_python(scaled), target=target)
    A = np.ones(4)
    kernel(A=A)
    np.testing.assert_array_equal(A, np.full(4, 0.0))
    kernel(A=A, alpha=3.0, k=1)
    np.testing.assert_array_equal(A, np.full(4, 2.0))
    kernel(4, A, 1.0)
    np.testing.assert_array_equal(A, np.full(4, 0.0))


def test_defaults_from_source_text():
    scop = polyopt.from_python_source("def f(A: 'float64[n]', beta: float = -0.5):\n"
                                      "    for i in range(A.shape[0]):\n        A[i] *= beta\n")
    assert {a.name: a.default for a in scop.arguments}["beta"] == -0.5
    A = np.ones(3)
    polyopt.compile(scop)(A=A)
    np.testing.assert_array_equal(A, np.full(3, -0.5))


def test_size_default_is_used():
    def f(A: "float64[10]", n: int = 4):
        for i in range(n):
            A[i] = 1.0
    A = np.zeros(10)
    polyopt.compile(polyopt.from_python(f))(A=A)
    assert A.sum() == 4.0


# numpy 2 (NEP 50): a Python float meeting a float32 value is converted to float32 first, and the
# operation runs in float32. Computing in double and rounding at the store (C's rule) differs from numpy
# in the last bit for about a third of the elements, and a comparison with 0.1 can flip.
def f32_literals(n: int, A: "float32[n]", B: "float32[n]"):
    for i in range(n):
        B[i] = (A[i] + 0.1) * 0.3 / 0.7 - math.pi


def f32_compare(n: int, A: "float32[n]", B: "float32[n]"):
    for i in range(n):
        B[i] = 1.0 if A[i] > 0.1 else (2.0 if A[i] == 0.2 else 0.0)


def f32_weak_local(n: int, A: "float32[n]", B: "float32[n]"):
    c = 0.1 * 3.0                  # a Python float: numpy converts it to float32 where it meets A[i]
    for i in range(n):
        B[i] = np.maximum(A[i] - c, 0.05) + np.fmin(A[i], 0.35)


def f32_accumulator(n: int, A: "float32[n]", B: "float32[n]"):
    for i in range(n):
        s = 0.0                    # becomes a float32 at its first update, as in numpy
        for j in range(i + 1):
            s = s + A[j] / 0.3       # (no a * b + c: LLVM may fuse that into one FMA)
        B[i] = s


def f32_weak_argument(n: int, A: "float32[n]", B: "float32[n]", c: float = 0.3):
    d = c * 7.0                    # an argument annotated `float` is a Python float too, and so is d
    for i in range(n):
        B[i] = A[i] / c - d


def f32_weak_conditional(n: int, A: "float32[n]", B: "float32[n]"):
    for i in range(n):
        B[i] = A[i] / (0.3 if A[i] > 0.5 else 0.7)      # a Python float, whichever branch runs


def f32_math_functions(n: int, A: "float32[n]", B: "float32[n]"):
    for i in range(n):                 # math.* computes in double and returns a Python float
        B[i] = math.exp(A[i]) + math.sqrt(A[i]) - float(A[i]) / 3.0 + A[i] / float(n)


F32_KERNELS = [f32_literals, f32_compare, f32_weak_local, f32_accumulator, f32_weak_argument,
               f32_weak_conditional, f32_math_functions]


def _f32_inputs():
    a = np.random.default_rng(1).random(301).astype(np.float32)
    a[:4] = np.float32(0.1), np.float32(0.2), np.float32(0.35), np.float32(0.05)
    return a


@pytest.mark.parametrize("fn", F32_KERNELS, ids=lambda f: f.__name__)
def test_float32_with_python_floats_matches_numpy_bit_for_bit(fn):
    a = _f32_inputs()
    want = np.full(a.size, 99.0, np.float32)
    fn(a.size, a.copy(), want)
    scop = polyopt.from_python(fn)
    for kernel in (polyopt.compile(scop, "original"), polyopt.compile(scop, "original", "c")):
        out = np.full(a.size, np.nan, np.float32)
        kernel(a.size, A=a.copy(), B=out)
        np.testing.assert_array_equal(out, want)
    ref = {"A": a.copy(), "B": np.full(a.size, np.nan, np.float32)}
    floats = {k: p.default for k, p in inspect.signature(fn).parameters.items() if isinstance(p.default, float)}
    run_loop_program(build_loop_ast(scop, schedule_tree(scop, "original"), {"n": a.size}), ref, floats)
    np.testing.assert_array_equal(ref["B"], want)
