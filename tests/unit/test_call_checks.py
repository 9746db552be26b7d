"""What a kernel call and polyopt.compile check before running code that would give wrong answers:
arrays sharing memory (the code assumes noalias), sizes outside int64 or not integers, unknown size
names, and entry points given a plain function instead of a Scop."""

import numpy as np
import pytest

import polyopt
from polyopt.errors import ArgumentError, NotAScopError, PolyoptError


def shift(n: int, A: "float64[n]", B: "float64[n]"):
    for i in range(1, n):
        B[i] = A[i - 1] + 1.0


def dot(n: int, x: "float64[n]", y: "float64[n]", out: "float64[1]"):
    for i in range(n):
        out[0] += x[i] * y[i]


def repeat(T: int, A: "float64[4]"):
    for t in range(T):
        A[0] += 1.0


def scale(n: int, A: "float64[n]", k: int):
    for i in range(n):
        A[i] = A[i] * k


@pytest.fixture(scope="module", params=["cpu", "c"])
def target(request):
    return request.param


# -- aliasing --------------------------------------------------------------------------------------

def test_same_array_twice_is_rejected(target):
    kernel = polyopt.compile(polyopt.from_python(shift), target=target)
    X = np.zeros(5)
    with pytest.raises(ArgumentError, match="share memory") as e:
        kernel(A=X, B=X)
    assert e.value.hint and "copy()" in e.value.hint
    assert np.all(X == 0.0)                                   # nothing ran


def test_overlapping_views_are_rejected(target):
    kernel = polyopt.compile(polyopt.from_python(shift), target=target)
    X = np.zeros(6)
    with pytest.raises(ArgumentError, match="'A' and 'B' share memory"):
        kernel(A=X[:5], B=X[1:])
    kernel(A=X[:3], B=X[3:])                                   # disjoint halves of one buffer are fine
    np.testing.assert_array_equal(X, [0, 0, 0, 0, 1, 1])


def test_arrays_that_are_only_read_may_alias(target):
    kernel = polyopt.compile(polyopt.from_python(dot), target=target)
    x, out = np.arange(4.0), np.zeros(1)
    kernel(x=x, y=x, out=out)
    assert out[0] == 14.0
    with pytest.raises(ArgumentError, match="writes 'out'"):
        kernel(x=x, y=x, out=x[:1])


def test_cuda_binding_rejects_aliasing():
    from polyopt.codegen.cuda.host import bind
    X = np.zeros(5)
    with pytest.raises(ArgumentError, match="share memory"):
        bind(polyopt.from_python(shift), (), {"A": X, "B": X})


# -- sizes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("T", [2**64 + 2, 2**63, -2**63 - 1])
def test_size_outside_int64_is_rejected(target, T):
    kernel = polyopt.compile(polyopt.from_python(repeat), target=target)
    A = np.zeros(4)
    with pytest.raises(ArgumentError, match="outside the range of int64") as e:
        kernel(T=T, A=A)
    assert e.value.hint
    kernel(T=np.int64(2), A=A)
    assert A[0] == 2.0


def test_integer_arguments_are_checked():
    kernel = polyopt.compile(polyopt.from_python(scale))
    A = np.ones(3)
    with pytest.raises(ArgumentError, match="outside the range of int64"):
        kernel(A=A, k=2**64 + 3)
    with pytest.raises(ArgumentError, match="must be an integer, got 2.5"):
        kernel(A=A, k=2.5)
    with pytest.raises(ArgumentError, match="must be an integer") as e:
        kernel(A=A, k=3.0)
    assert "k=3" in e.value.hint
    kernel(A=A, k=3)
    np.testing.assert_array_equal(A, np.full(3, 3.0))


def test_integer_scalars_are_checked():
    from polyopt.codegen.binding import _as_scalar
    from polyopt.expr import DType
    assert _as_scalar("s", 3.0, DType.INT32) == 3 and _as_scalar("s", 2, DType.FLOAT64) == 2.0
    with pytest.raises(ArgumentError, match="fraction"):
        _as_scalar("s", 2.5, DType.INT64)
    with pytest.raises(ArgumentError, match="outside the range of int32"):
        _as_scalar("s", 2**31, DType.INT32)


def test_compile_params_are_validated():
    scop = polyopt.from_python(shift)
    with pytest.raises(ArgumentError, match="must be an integer, got 4.5"):
        polyopt.compile(scop, params={"n": 4.5})
    with pytest.raises(ArgumentError, match="'n' must be an integer") as e:
        polyopt.compile(scop, params={"n": 4.0})
    assert "n=4" in e.value.hint
    with pytest.raises(ArgumentError, match="no size parameter.*'q'") as e:
        polyopt.compile(scop, params={"n": 4, "q": 3})
    assert "n" in e.value.hint
    with pytest.raises(ArgumentError, match="outside the range"):
        polyopt.compile(scop, params={"n": 2**64 + 2})
    with pytest.raises(ArgumentError, match="no size parameter"):
        polyopt.compile(scop, "original", "cuda", params={"m": 3})
    kernel = polyopt.compile(scop, params={"n": np.int64(4)})
    A, B = np.arange(4.0), np.zeros(4)
    kernel(A=A, B=B)
    np.testing.assert_array_equal(B, [0, 1, 2, 3])


# -- a function where a Scop is expected -----------------------------------------------------------

@pytest.mark.parametrize("call", [lambda f: polyopt.compile(f), lambda f: polyopt.schedule(f, "polly"),
                                  lambda f: polyopt.dependences(f), lambda f: polyopt.tune(f, trials=1),
                                  lambda f: polyopt.is_legal(f, "original")],
                         ids=["compile", "schedule", "dependences", "tune", "is_legal"])
def test_function_instead_of_scop(call):
    with pytest.raises(NotAScopError, match=r"from_python\(shift\)") as e:
        call(shift)
    assert isinstance(e.value, TypeError) and isinstance(e.value, PolyoptError)
    with pytest.raises(TypeError, match="got a str"):
        call("gemm.c")
