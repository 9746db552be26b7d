"""The Python frontend: styles of writing the same loop nest, supported syntax, and rejections with the
right reason code and real-file line numbers."""

import inspect
import math

import islpy as isl
import numpy as np
import pytest

from polyopt import expr as X
from polyopt.errors import ScopError, ScopReason
from polyopt.expr import DType
from polyopt.frontend.python_frontend import (
    PythonKernel,
    from_python,
    from_python_source,
    kernel,
    python_kernel_source,
    shape_params,
)
from polyopt.frontend.tree import Assign, If, Loop

# -- gemm in several styles -------------------------------------------------------------------------


def gemm_annotated(ni: int, nj: int, nk: int, alpha: float, beta: float,
                   C: "float64[ni, nj]", A: "float64[ni, nk]", B: "float64[nk, nj]"):
    """Sizes as arguments, A[i, j] subscripts."""
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
            for k in range(nk):
                C[i, j] += alpha * A[i, k] * B[k, j]


def gemm_chained(ni: int, nj: int, nk: int, alpha: float, beta: float,
                 C: "double[ni][nj]", A: "f64[ni][nk]", B: "float64[nk][nj]"):
    for i in range(0, ni, 1):
        for j in range(0, nj):
            C[i][j] = C[i][j] * beta
            for k in range(nk):
                C[i][j] = C[i][j] + alpha * A[i][k] * B[k][j]
    return


def gemm_shapes(alpha: float, beta: float, C: "float64[:, :]", A: "float64[:, :]", B: "float64[:, :]"):
    ni, nk = A.shape
    nj = B.shape[1]
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
            for k in range(nk):
                C[i, j] += alpha * A[i, k] * B[k, j]
    return None


def gemm_untyped(ni, nj, nk, alpha, beta, C, A, B):
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
            for k in range(nk):
                C[i, j] += alpha * A[i, k] * B[k, j]


def gemm_named_extents(alpha: float, beta: float, C: "float64[ni, nj]", A: "float64[ni, nk]",
                       B: "float64[nk, nj]"):
    for i in range(ni):  # noqa: F821 -- sizes named by the annotations
        for j in range(nj):  # noqa: F821
            C[i, j] *= beta
            for k in range(nk):  # noqa: F821
                C[i, j] += alpha * A[i, k] * B[k, j]


def _gemm_args(n=(4, 5, 6)):
    ni, nj, nk = n
    rng = np.random.default_rng(0)
    return (ni, nj, nk, 1.5, 0.5, rng.random((ni, nj)), rng.random((ni, nk)), rng.random((nk, nj)))


def _assert_same_model(a, b):
    assert a.fingerprint == b.fingerprint
    assert len(a.statements) == len(b.statements)
    for s, t in zip(a.statements, b.statements):
        assert s.domain.is_equal(t.domain), (s.domain, t.domain)
        assert s.schedule.is_equal(t.schedule)
    assert a.reads.is_equal(b.reads) and a.writes.is_equal(b.writes)


def gemm_examples(alpha, beta, C, A, B):
    """Everything typed by example arguments, sizes read off the arrays."""
    ni, nk = A.shape
    nj = B.shape[1]
    for i in range(ni):
        for j in range(nj):
            C[i, j] *= beta
            for k in range(nk):
                C[i, j] += alpha * A[i, k] * B[k, j]


def test_gemm_styles_agree():
    base = from_python(gemm_annotated)
    assert base.params == ("ni", "nj", "nk")
    assert [s.depth for s in base.statements] == [2, 3]
    assert base.statements[1].domain.is_equal(
        isl.Set("[ni, nj, nk] -> { S1[i, j, k] : 0 <= i < ni and 0 <= j < nj and 0 <= k < nk }"))
    args = _gemm_args()
    others = [from_python(gemm_chained), from_python(gemm_named_extents),
              from_python(gemm_shapes, *args[3:]), from_python(gemm_examples, *args[3:])]
    for other in others:
        _assert_same_model(base, other)


def test_gemm_with_untyped_arrays_has_unknown_extents():
    """Int sizes beside arrays typed only by examples: the extents stay unknown (no guessing from the
    example's values), so the sizes are not known to be array extents and the context does not assume
    them positive; the statements are the same and so is the fingerprint (it leaves the context out)."""
    base, other = from_python(gemm_annotated), from_python(gemm_untyped, *_gemm_args())
    assert {a.name: a.shape for a in other.arrays}["A"] == (None, None)
    assert other.context.is_equal(isl.Set("[ni, nj, nk] -> { : }"))
    assert base.fingerprint == other.fingerprint
    ctx = base.context
    for s, t in zip(base.statements, other.statements, strict=True):
        assert s.domain.is_equal(t.domain.intersect_params(ctx))
        assert s.schedule.is_equal(t.schedule.intersect_params(ctx))
    assert base.reads.intersect_params(ctx).is_equal(other.reads.intersect_params(ctx))
    assert base.writes.intersect_params(ctx).is_equal(other.writes.intersect_params(ctx))


def test_gemm_fingerprint_differs_for_other_math():
    def gemm_transposed(ni: int, nj: int, nk: int, alpha: float, beta: float,
                        C: "float64[ni, nj]", A: "float64[nk, ni]", B: "float64[nk, nj]"):
        for i in range(ni):
            for j in range(nj):
                C[i, j] *= beta
                for k in range(nk):
                    C[i, j] += alpha * A[k, i] * B[k, j]
    assert from_python(gemm_transposed).fingerprint != from_python(gemm_annotated).fingerprint


def test_shape_params_recorded():
    args = _gemm_args()
    assert shape_params(gemm_shapes, *args[3:]) == {"ni": ("A", 0), "nk": ("A", 1), "nj": ("B", 1)}
    assert shape_params(gemm_named_extents) == {"ni": ("C", 0), "nj": ("C", 1), "nk": ("A", 1)}
    assert shape_params(gemm_annotated) == {}
    src = python_kernel_source(gemm_shapes, *args[3:])
    assert [a.name for a in src.arguments] == ["alpha", "beta", "C", "A", "B", "ni", "nk", "nj"]
    assert [a.kind for a in src.arguments][-3:] == ["param"] * 3
    assert src.arrays[1].shape == (X.Var("ni"), X.Var("nk"))


def test_example_types_and_inline_shape():
    def scale(x, y, a):
        for i in range(x.shape[0]):
            y[i] = a * x[i]
    x32 = np.ones(7, np.float32)
    src = python_kernel_source(scale, x32, np.zeros(7, np.float32), np.float32(2.0))
    kinds = {a.name: (a.kind, a.dtype) for a in src.arguments}
    assert kinds == {"x": ("array", DType.FLOAT32), "y": ("array", DType.FLOAT32),
                     "a": ("scalar", DType.FLOAT32), "x_shape0": ("param", DType.INT64)}
    assert shape_params(scale, x32, x32.copy(), 2.0) == {"x_shape0": ("x", 0)}


def test_annotation_forms():
    def f(n: int, x: "float32[n]", B: "int32[N][M]", alpha: "float32", beta: float, k: "i64"):
        for i in range(n):
            x[i] = alpha * beta + B[i, k]
    src = python_kernel_source(f)
    kinds = {a.name: (a.kind, a.dtype) for a in src.arguments}
    assert kinds["x"] == ("array", DType.FLOAT32) and kinds["B"] == ("array", DType.INT32)
    assert kinds["alpha"] == ("scalar", DType.FLOAT32) and kinds["beta"] == ("scalar", DType.FLOAT64)
    assert kinds["k"] == ("param", DType.INT64) and kinds["N"] == ("param", DType.INT64)
    assert {a.name: a.shape for a in src.arrays}["B"] == (X.Var("N"), X.Var("M"))


# -- loops and branches -----------------------------------------------------------------------------


def _domain(fn, k=0, *args):
    return from_python(fn, *args).statements[k].domain


def test_range_forms():
    def one(N: int, A: "float64[N]"):
        for i in range(N):
            A[i] = 0.0

    def two(N: int, A: "float64[N]"):
        for i in range(0, N):
            A[i] = 0.0

    def stepped(N: int, A: "float64[N]"):
        for i in range(1, N, 3):
            A[i] = 0.0

    def backwards(N: int, A: "float64[N]"):
        for i in range(N - 1, -1, -1):
            A[i] = 0.0

    def rev(N: int, A: "float64[N]"):
        for i in reversed(range(N)):
            A[i] = 0.0
    full = isl.Set("[N] -> { S0[i] : 0 <= i < N }")
    assert _domain(one).is_equal(full) and _domain(two).is_equal(full)
    assert from_python(one).fingerprint == from_python(two).fingerprint
    assert _domain(stepped).is_equal(isl.Set("[N] -> { S0[i] : 1 <= i < N and (i - 1) mod 3 = 0 }"))
    assert _domain(backwards).is_equal(full)
    back = from_python(backwards)
    assert back.statements[0].schedule.is_equal(isl.Map("[N] -> { S0[i] -> [0, -i, 0] : 0 <= i < N }"))
    assert back.fingerprint != from_python(one).fingerprint
    assert from_python(rev).fingerprint == back.fingerprint
    loop = python_kernel_source(backwards).body[0]
    assert isinstance(loop, Loop) and loop.step == -1 and loop.cond == X.Compare(">", X.Var("i"), X.Const(-1))


def test_min_max_and_floordiv_bounds():
    def band(N: int, A: "float64[N, N]"):
        for i in range(N // 2):
            for j in range(max(0, i - 2), min(N, i + 3, 2 * N - 1)):
                A[i, j] = 1.0
    expected = isl.Set("[N] -> { S0[i, j] : 0 <= i < floor(N / 2) and 0 <= j and j >= i - 2 and j < N "
                       "and j < i + 3 and j < 2 * N - 1 }")
    assert _domain(band).is_equal(expected)


def test_if_elif_else_and_chained_comparisons():
    def branches(N: int, A: "float64[N]"):
        for i in range(N):
            if i < 3:
                A[i] = 1.0
            elif 3 <= i < 5 and not i == 4:
                A[i] = 2.0
            else:
                A[i] = 3.0
    scop = from_python(branches)
    doms = [s.domain for s in scop.statements]
    assert doms[0].is_equal(isl.Set("[N] -> { S0[i] : 0 <= i < N and i < 3 }"))
    assert doms[1].is_equal(isl.Set("[N] -> { S1[i] : 0 <= i < N and i = 3 }"))
    assert doms[2].is_equal(isl.Set("[N] -> { S2[i] : 0 <= i < N and (i = 4 or i >= 5) }"))
    node = python_kernel_source(branches).body[0].body[0]
    assert isinstance(node, If) and isinstance(node.orelse[0], If)


def test_locations_point_into_this_file():
    src = python_kernel_source(gemm_annotated)
    first = inspect.getsourcelines(gemm_annotated)[1]
    loop = src.body[0]
    assert loop.location.file == __file__
    assert loop.location.line == first + 3 and loop.text == "for i in range(ni):"
    stmt = loop.body[0].body[0]
    assert isinstance(stmt, Assign) and stmt.text == "C[i, j] *= beta"
    assert stmt.location.line == first + 5 and stmt.location.column == 13


# -- statements and expressions ---------------------------------------------------------------------


def test_scalar_temporaries():
    def gemm_acc(ni: int, nj: int, nk: int, C: "float32[ni, nj]", A: "float32[ni, nk]",
                 B: "float32[nk, nj]"):
        for i in range(ni):
            for j in range(nj):
                s = 0
                for k in range(nk):
                    s += A[i, k] * B[k, j]
                C[i, j] = s
    src = python_kernel_source(gemm_acc)
    local = [a for a in src.arrays if not a.is_argument]
    assert [(a.name, a.shape) for a in local] == [("s", ())]
    assert local[0].dtype == DType.FLOAT32           # int literal, then float32 products: promoted
    scop = from_python(gemm_acc)
    assert scop.statements[1].target == X.Access("s", ())
    assert X.Access("s", ()) in X.accesses(scop.statements[1].value)
    assert scop.local_arrays[0].name == "s"

    def typed(n: int, x: "float64[n]"):
        t: "float32" = 0.0
        u = 1.5
        w = x[0]
        k = 0
        for i in range(n):
            t += x[i]
            k += 1
            x[i] = u * w + k
    types = {a.name: a.dtype for a in python_kernel_source(typed).arrays if not a.is_argument}
    assert types == {"t": DType.FLOAT32, "u": DType.FLOAT64, "w": DType.FLOAT64, "k": DType.INT64}


def test_math_calls_and_operators():
    def ops(n: int, x: "float64[n]", y: "float64[n]", m: "int64[n]"):
        for i in range(n):
            y[i] = math.sqrt(x[i]) + np.exp(x[i]) + abs(x[i]) + x[i] ** 2 + x[i] ** 0.5
            y[i] = min(x[i], 1.0, y[i]) - max(x[i], 0.0) + np.maximum(x[i], y[i])
            y[i] = -x[i] if x[i] > 0 and x[i] < 1 else float(m[i]) + int(x[i])
            m[i] = m[i] // 2 + m[i] % 3 + i / 2
            y[i] /= 3
    body = python_kernel_source(ops).body[0].body
    v0 = body[0].value
    calls = {c.func for c in X.walk(v0) if isinstance(c, X.Call)}
    assert calls == {"sqrt", "exp", "abs", "pow"}
    assert X.Binary("*", X.Access("x", (X.Var("i"),)), X.Access("x", (X.Var("i"),))) in list(X.walk(v0))
    assert X.Call("pow", (X.Access("x", (X.Var("i"),)), X.Const(0.5, DType.FLOAT64))) in list(X.walk(v0))
    ops1 = [e.op for e in X.walk(body[1].value) if isinstance(e, X.Binary)]
    assert ops1.count("min") == 2 and ops1.count("max") == 1     # np.maximum on floats: NaN propagates
    x, y = X.Access("x", (X.Var("i"),)), X.Access("y", (X.Var("i"),))
    assert X.Call("maximum", (x, y)) in list(X.walk(body[1].value))
    v2 = body[2].value
    assert isinstance(v2, X.Select) and isinstance(v2.cond, X.Logical)
    assert {e.dtype for e in X.walk(v2) if isinstance(e, X.Cast)} == {DType.FLOAT64, DType.INT64}
    v3 = body[3].value
    ops3 = {e.op for e in X.walk(v3) if isinstance(e, X.Binary)}
    assert {"floordiv", "mod", "/"} <= ops3 and "truediv" not in ops3
    assert X.Binary("/", X.Cast(DType.FLOAT64, X.Var("i")), X.Const(2)) in list(X.walk(v3))
    assert body[4].value == X.Binary("/", X.Access("y", (X.Var("i"),)), X.Const(3))
    from_python(ops)                                     # the builder accepts it all


def test_source_text_with_imports_and_constants():
    text = '''
import numpy as xp
from math import sqrt as root
TILE = 4

def norm(n: int, x: "float64[n]", out: "float64[1]"):
    """Docstring."""
    pass
    acc = 0.0
    for i in range(0, n, TILE):
        acc += root(x[i]) + xp.log(x[i]) * xp.pi
    out[0] = acc

def other():
    pass
'''
    scop = from_python_source(text, "norm", filename="k.py")
    assert scop.statements[1].domain.is_equal(isl.Set("[n] -> { S1[i] : 0 <= i < n and i mod 4 = 0 }"))
    calls = {c.func for c in X.walk(scop.statements[1].value) if isinstance(c, X.Call)}
    assert calls == {"sqrt", "log"}
    assert scop.statements[1].location.line == 11 and scop.statements[1].location.file == "k.py"
    with pytest.raises(ScopError) as err:
        from_python_source(text)
    assert err.value.reason == ScopReason.NO_SCOP and "norm" in err.value.hint


def test_assert_becomes_assumption_and_derived_sizes():
    def f(N: int, A: "float64[N]"):
        assert N >= 8
        M = N - 2
        for i in range(1, M):
            A[i] = A[i - 1] + A[i + 1]
    src = python_kernel_source(f)
    assert src.assumptions == (X.Compare(">=", X.Var("N"), X.Const(8)),)
    scop = from_python(f)
    assert scop.context.is_equal(isl.Set("[N] -> { : N >= 8 }"))
    assert scop.statements[0].domain.is_equal(isl.Set("[N] -> { S0[i] : N >= 8 and 1 <= i < N - 2 }"))


def test_negative_constant_index_counts_from_end():
    def last(N: int, A: "float64[N]", B: "float64[N]"):
        for i in range(N):
            B[i] = A[-1]
    value = python_kernel_source(last).body[0].body[0].value
    assert value == X.Access("A", (X.Binary("+", X.Var("N"), X.Const(-1)),))


# -- the decorator ----------------------------------------------------------------------------------


@kernel
def saxpy(a, x, y):
    for i in range(len(x)):
        y[i] += a * x[i]
    return None


@kernel
def annotated_copy(n: int, src: "float64[n]", dst: "float64[n]"):
    for i in range(n):
        dst[i] = src[i]


def test_decorator_runs_python_and_builds_scop():
    assert isinstance(saxpy, PythonKernel) and saxpy.__name__ == "saxpy"
    x = np.arange(5.0)
    y = np.ones(5)
    assert saxpy(2.0, x, y) is None
    np.testing.assert_array_equal(y, 1.0 + 2.0 * np.arange(5.0))     # ran the original Python
    assert saxpy.__wrapped__(0.0, x, y) is None
    scop = saxpy.scop
    assert scop is saxpy.scop and from_python(saxpy) is scop
    assert scop.statements[0].domain.is_equal(isl.Set("[x_shape0] -> { S0[i] : 0 <= i < x_shape0 }"))
    assert saxpy.shape_params == {"x_shape0": ("x", 0)}
    assert saxpy.source.name == "saxpy" and saxpy.source.language == "python"
    assert annotated_copy.scop.params == ("n",)              # no call needed with annotations
    out = np.zeros(3)
    annotated_copy(3, np.array([1.0, 2.0, 3.0]), out)
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


def test_decorator_with_parentheses_and_untyped_scop_before_call():
    @kernel()
    def f(n, x):
        for i in range(n):
            x[i] = 0.0
    with pytest.raises(ScopError) as err:
        f.scop
    assert err.value.reason == ScopReason.UNSUPPORTED_TYPE
    f(2, np.ones(2))
    assert f.scop.params == ("n",)


# -- rejections -------------------------------------------------------------------------------------


def _line_of(fn, marker: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    hits = [first + k for k, line in enumerate(lines) if marker in line]
    assert len(hits) == 1, marker
    return hits[0]


def _reject(fn, reason: ScopReason, marker: str, *args):
    with pytest.raises(ScopError) as err:
        from_python(fn, *args)
    e = err.value
    assert e.reason == reason, str(e)
    assert e.location.file == __file__
    assert e.location.line == _line_of(fn, marker), str(e)
    assert marker.split("#")[0].strip() in e.text or e.text.startswith("def ")
    assert str(e).startswith(f"{__file__}:{e.location.line}")
    return e


def test_reject_while():
    def f(N: int, A: "float64[N]"):
        i = 0
        while i < N:  # here
            A[i] = 0.0
    e = _reject(f, ScopReason.UNSUPPORTED_STATEMENT, "while i < N:")
    assert "range" in e.hint


def test_reject_break_continue_return_try_with():
    def brk(N: int, A: "float64[N]"):
        for i in range(N):
            break

    def cont(N: int, A: "float64[N]"):
        for i in range(N):
            continue

    def ret(N: int, A: "float64[N]"):
        for i in range(N):
            return

    def tri(N: int, A: "float64[N]"):
        try:
            A[0] = 1.0
        except IndexError:
            pass

    def wit(N: int, A: "float64[N]"):
        with open("x"):
            A[0] = 1.0

    def early(N: int, A: "float64[N]"):
        if N > 2:
            return
        A[0] = 1.0

    for fn, marker in ((brk, "break"), (cont, "continue"), (ret, "            return"), (tri, "try:"),
                       (wit, "with open"), (early, "            return")):
        _reject(fn, ScopReason.UNSUPPORTED_STATEMENT, marker)


def test_reject_return_value():
    def f(N: int, A: "float64[N]"):
        for i in range(N):
            A[i] = 0.0
        return A
    _reject(f, ScopReason.UNSUPPORTED_STATEMENT, "return A")


def test_reject_side_effect_calls():
    def printing(N: int, A: "float64[N]"):
        for i in range(N):
            print(A[i])

    def helper(N: int, A: "float64[N]"):
        for i in range(N):
            A[i] = sorted(A[i])

    def method(N: int, A: "float64[N]"):
        for i in range(N):
            A[i] = A.sum()
    _reject(printing, ScopReason.SIDE_EFFECT_CALL, "print(A[i])")
    e = _reject(helper, ScopReason.SIDE_EFFECT_CALL, "sorted(")
    assert "math" in e.hint
    _reject(method, ScopReason.SIDE_EFFECT_CALL, "A.sum()")


def test_reject_bad_loops():
    def over_array(N: int, A: "float64[N]"):
        for a in A:
            A[0] = a

    def var_step(N: int, k: int, A: "float64[N]"):
        for i in range(0, N, k):
            A[i] = 0.0

    def zero_step(N: int, A: "float64[N]"):
        for i in range(0, N, 0):
            A[i] = 0.0

    def for_else(N: int, A: "float64[N]"):
        for i in range(N):
            A[i] = 0.0
        else:
            A[0] = 1.0
    _reject(over_array, ScopReason.BAD_LOOP, "for a in A")
    _reject(var_step, ScopReason.BAD_LOOP, "range(0, N, k)")
    _reject(zero_step, ScopReason.BAD_LOOP, "range(0, N, 0)")
    _reject(for_else, ScopReason.BAD_LOOP, "for i in range(N):")


def test_reject_loop_bound_writes():
    def iterator(N: int, A: "float64[N]"):
        for i in range(N):
            i = i + 1  # write
            A[i] = 0.0

    def size(N: int, A: "float64[N]"):
        for i in range(N):
            N -= 1
            A[i] = 0.0

    def shape_size(A: "float64[:]"):
        n = A.shape[0]
        for i in range(n):
            n = 4
    _reject(iterator, ScopReason.LOOP_BOUND_WRITE, "i = i + 1")
    _reject(size, ScopReason.LOOP_BOUND_WRITE, "N -= 1")
    _reject(shape_size, ScopReason.LOOP_BOUND_WRITE, "n = 4")


def test_reject_unknown_names():
    def f(N: int, A: "float64[N]"):
        for i in range(N):
            A[i] = undefined_thing * 2.0  # noqa: F821

    def after_loop(N: int, A: "float64[N]"):
        for i in range(N):
            A[i] = 0.0
        A[0] = A[i]

    def unassigned(N: int, A: "float64[N]"):
        for i in range(N):
            s += A[i]  # noqa: F821
    _reject(f, ScopReason.UNKNOWN_NAME, "undefined_thing")
    _reject(after_loop, ScopReason.UNKNOWN_NAME, "A[0] = A[i]")
    _reject(unassigned, ScopReason.UNKNOWN_NAME, "s += A[i]")


def test_reject_aliasing():
    def f(N, A, B):
        for i in range(N):
            B[i] = A[i]
    A = np.zeros(4)
    e = _reject(f, ScopReason.ALIASING, "def f(N, A, B):", 4, A, A)
    assert "'A' and 'B'" in e.message
    _reject(f, ScopReason.ALIASING, "def f(N, A, B):", 4, A, A[1:])
    from_python(f, 4, A, np.zeros(4))                    # distinct arrays are fine


def test_builder_errors_carry_python_locations():
    def subscript(N: int, A: "float64[N]"):
        for i in range(N):
            A[i * i] = 0.0

    def data_if(N: int, A: "float64[N]"):
        for i in range(N):
            if A[i] > 0:
                A[i] = 0.0

    def bound(N: int, A: "float64[N]"):
        for i in range(N * N):
            A[0] = 0.0

    def true_div_bound(N: int, A: "float64[N]"):
        for i in range(N / 2):
            A[i] = 0.0
    _reject(subscript, ScopReason.NON_AFFINE_SUBSCRIPT, "A[i * i]")
    e = _reject(data_if, ScopReason.DATA_DEPENDENT_CONTROL, "if A[i] > 0")
    assert "select" in e.hint
    _reject(bound, ScopReason.NON_AFFINE_BOUND, "range(N * N)")
    _reject(true_div_bound, ScopReason.NON_AFFINE_BOUND, "range(N / 2)")


def test_reject_untyped_and_bad_types():
    def f(N, A):
        for i in range(N):
            A[i] = 0.0
    e = _reject(f, ScopReason.UNSUPPORTED_TYPE, "def f(N, A):")
    assert "annotate" in e.hint
    _reject(f, ScopReason.UNSUPPORTED_TYPE, "def f(N, A):", 3, np.zeros(3, np.complex128))
    _reject(f, ScopReason.UNSUPPORTED_TYPE, "def f(N, A):", 3, "abc")

    def g(N: int, A: "float64[N]"):
        for i in range(N):
            A[i] = 0.0
    _reject(g, ScopReason.UNSUPPORTED_TYPE, "def g(N: int", 3, np.zeros(3, np.float32))


def test_reject_syntax_and_missing_source():
    with pytest.raises(ScopError) as err:
        from_python_source("def f(N: int):\n    for i in range(N:\n        pass\n", filename="bad.py")
    assert err.value.reason == ScopReason.SYNTAX and err.value.location.line == 2
    f = eval("lambda n: n")
    with pytest.raises(ScopError) as err:
        from_python(f, 3)
    assert err.value.reason == ScopReason.NO_SCOP


# -- oracle: the modelled program computes what the Python function computes ------------------------


def mixed(n: int, x: "float64[n]", m: "int64[n]", y: "float64[n]"):
    s = 0
    for i in range(n - 1, -1, -1):
        if i < 2:
            y[i] = x[i] / 2 + i / 3
        elif 2 <= i < 5 and not i == 3:
            y[i] = math.sqrt(x[i]) + min(x[i], 0.5) - m[i] % 3 + (-m[i]) // 2
        else:
            y[i] = x[i] ** 2 if x[i] > 0.5 else abs(x[i] - 1.0) + float(m[i]) / 4
        s += y[i] * 0.5
        m[i] = m[i] // 2 - i % 3
    for j in range(max(0, n - 4), n):
        y[j] = y[j] + s


def stencil_shapes(A: "float64[:, :]", B: "float64[:, :]"):
    N, M = A.shape
    for t in range(2):
        for i in range(1, N - 1):
            for j in range(1, min(M - 1, i + 3)):
                B[i, j] = 0.25 * (A[i - 1][j] + A[i + 1][j] + A[i][j - 1] + A[i][j + 1])
        for i in range(1, N - 1):
            for j in range(1, min(M - 1, i + 3)):
                A[i, j] = B[i, j]


@pytest.mark.parametrize("fn, make", [
    (mixed, lambda rng: (9, rng.random(9), rng.integers(-20, 20, 9), np.full(9, np.nan))),
    (stencil_shapes, lambda rng: (rng.random((7, 6)), np.zeros((7, 6)))),
    (gemm_untyped, lambda rng: _gemm_args()),
])
def test_model_computes_what_python_computes(fn, make):
    interpret = pytest.importorskip("polyopt.interpret")
    schedule = pytest.importorskip("polyopt.schedule_tree")
    loop_ast = pytest.importorskip("polyopt.codegen.loop_ast")
    args = make(np.random.default_rng(3))
    names = list(inspect.signature(fn).parameters)
    expected = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    fn(*expected)
    scop = from_python(fn, *args)
    given = dict(zip(names, args))
    params = {p: given[p] if p in given else given[a].shape[d]
              for p in scop.params for a, d in [shape_params(fn, *args).get(p, ("", 0))]}
    arrays = {k: v.copy() for k, v in given.items() if isinstance(v, np.ndarray)}
    scalars = {a.name: given[a.name] for a in scop.scalar_arguments}
    program = loop_ast.build_loop_ast(scop, schedule.Schedule.original(scop).tree, params)
    interpret.run_loop_program(program, arrays, scalars)
    for name, value in zip(names, expected):
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(arrays[name], value, rtol=1e-12, err_msg=name)


def test_ndarray_annotations_take_dtype_and_rank_from_examples():
    def f(n: int, A: np.ndarray, x: "NDArray[np.float32]"):
        for i in range(n):
            x[i] = A[i, 0]
    src = python_kernel_source(f, 3, np.zeros((3, 2), np.int32), np.zeros(3, np.float32))
    assert {a.name: (a.dtype, len(a.shape)) for a in src.arrays} == {"A": (DType.INT32, 2),
                                                                     "x": (DType.FLOAT32, 1)}
    with pytest.raises(ScopError) as err:
        python_kernel_source(f)
    assert err.value.reason == ScopReason.UNSUPPORTED_TYPE and "'A'" in err.value.message


def test_a_local_variable_in_a_condition_or_subscript_is_named_as_such():
    """j = i + 1 then `if j < n`: the error says j is a local variable whose value polyopt does not track
    (it used to say the condition depends on array data, and a subscript got the A[B[i]] hint)."""
    import polyopt
    from polyopt.errors import ScopError

    src = ("def f(n: int, A: 'float64[n]', B: 'float64[n]'):\n"
           "    for i in range(n):\n"
           "        j = i + 1\n"
           "        if j < n:\n"
           "            B[i] = A[i]\n")
    with pytest.raises(ScopError) as e:
        polyopt.from_python_source(src)
    assert e.value.reason.value == "non-affine-condition" and "'j' is a local variable" in e.value.hint
